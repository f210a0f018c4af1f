//! The post-mortem and review-meeting commands of the client: drafting, editing in `$EDITOR`,
//! the linter, the review workflow, exports (checked against the hash chain with `hereby
//! verify --head`), timeline marks, templates and blame rules, and the follow-up meetings.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use hereby_api as api;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, create_new, encode, incident_path, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum PostmortemCommand {
    /// Draft the post-mortem of a resolved incident from its timeline (you need not be the
    /// owner; the Incident Commander owns the review). Real names are replaced by role
    /// variables everywhere but the People section.
    Draft {
        /// The incident, e.g. INC-7.
        incident: String,
        /// The template to start from: full, short, or one an admin added (`hereby postmortem
        /// template list`) [default: full].
        #[arg(long, conflicts_with = "timeline_only")]
        template: Option<String>,
        /// Instead of drafting: write only the Timeline section of the existing post-mortem
        /// again from the events, with the current stars and exclusions (see `mark`); the
        /// rest of the text is kept.
        #[arg(long)]
        timeline_only: bool,
    },
    /// Print the post-mortem: status, owner, revision and approvals, then the Markdown text.
    Show {
        incident: String,
        /// An earlier revision (see `history`).
        #[arg(long)]
        revision: Option<u32>,
        /// Print only the Markdown text (e.g. to save it to a file and edit it there).
        #[arg(long)]
        body_only: bool,
    },
    /// Edit the text in $VISUAL or $EDITOR (default vi) and save it as a new revision. If
    /// someone saved a revision meanwhile, nothing is overwritten: your text is kept in a
    /// file whose path is printed.
    Edit {
        incident: String,
        /// Save this file's text instead of opening an editor; `-` reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        /// With --file: only if the post-mortem is still at this revision (refused if someone
        /// saved since, so nothing of theirs is overwritten).
        #[arg(long, requires = "file")]
        base: Option<u32>,
        /// What you changed, shown in `history`.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Check the text for blame language and real names. Exits 1 when there are findings.
    Lint {
        incident: String,
        /// Save the text with every real name replaced by its role variable as a new
        /// revision, then show what is left (blame language is for you to rewrite).
        #[arg(long)]
        fix: bool,
    },
    /// Ask for reviews (the owner; the post-mortem must be a draft).
    Submit { incident: String },
    /// Approve the current revision (a reviewer; the owner cannot approve their own).
    Approve { incident: String },
    /// End the review once a reviewer approved (the owner). The incident may then close.
    /// Refused while the linter still finds blame language, real names or unfilled template
    /// hints, unless --override-reason says why to go ahead.
    Reviewed {
        incident: String,
        /// Why to go ahead although the linter still finds something (kept on the timeline).
        #[arg(long)]
        override_reason: Option<String>,
    },
    /// Publish the reviewed post-mortem (the owner); it no longer changes after this. Gated
    /// like `reviewed`.
    Publish {
        incident: String,
        /// Why to go ahead although the linter still finds something (kept on the timeline).
        #[arg(long)]
        override_reason: Option<String>,
    },
    /// Comment on the current revision.
    Comment { incident: String, text: String },
    /// File the post-mortem in the library under tags (what it is about) and the
    /// contributing factors it names, replacing the earlier ones; allowed once published too.
    /// Without any, clears them.
    Tag {
        incident: String,
        /// A tag such as `database` (repeat for more).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// A contributing factor such as `missing-alert` (repeat for more).
        #[arg(long = "factor")]
        factors: Vec<String>,
    },
    /// The library of published post-mortems you may see, newest incident first (best match
    /// first with --search).
    Library {
        /// Only incidents affecting this service.
        #[arg(long)]
        service: Option<String>,
        /// Only these severities, comma-separated (SEV1,SEV2).
        #[arg(long)]
        severity: Option<String>,
        /// Only post-mortems filed under this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only post-mortems naming this contributing factor.
        #[arg(long)]
        factor: Option<String>,
        /// Words the post-mortem holds, in the search grammar.
        #[arg(long)]
        search: Option<String>,
    },
    /// Hand the review to someone else (the owner or the Incident Commander).
    Owner { incident: String, user: String },
    /// List the revisions (who saved each, and why) and the reviewers' comments.
    History { incident: String },
    /// Show what changed between two revisions, as a unified diff.
    Diff {
        incident: String,
        /// The older revision [default: the one before --to].
        #[arg(long)]
        from: Option<u32>,
        /// The newer revision [default: the current one].
        #[arg(long)]
        to: Option<u32>,
    },
    /// Download the post-mortem with a footer naming the timeline's hash-chain head (check
    /// it later with `hereby verify INC-7 --head HEX --at N`).
    Export {
        incident: String,
        /// md (Markdown), html or pdf.
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write here instead of standard output; must not exist yet. Needed for PDF on a
        /// terminal.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Star a timeline entry (★ in the post-mortem), exclude it from the post-mortem's
    /// timeline, or make it plain again. Then `draft --timeline-only` brings the change in.
    Mark {
        incident: String,
        /// The entry's number (`#N` in `hereby timeline`).
        sequence: u64,
        /// starred (in the post-mortem's timeline), excluded (left out) or plain.
        #[arg(value_parser = ["starred", "excluded", "plain"])]
        mark: String,
    },
    /// Post-mortem templates: list and show; admins add, change and remove them.
    #[command(subcommand)]
    Template(PostmortemTemplateCommand),
    /// The blame-language rules of the linter: list; admins add and remove their own.
    #[command(subcommand)]
    Rules(BlameRuleCommand),
}

/// The formats of `postmortem export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// Markdown, as edited.
    Md,
    /// JSON with the text split into sections.
    Json,
    /// A standalone HTML page.
    Html,
    /// PDF, for the record.
    Pdf,
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Md => "md",
            ExportFormat::Json => "json",
            ExportFormat::Html => "html",
            ExportFormat::Pdf => "pdf",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum PostmortemTemplateCommand {
    /// List the templates in effect and the variables they may use.
    List,
    /// Print one template's source.
    Show { name: String },
    /// Add a template or change one, a shipped one included (admins). Checked before it is
    /// stored: a syntax error or an unknown variable is refused with its line.
    Set {
        /// Lowercase letters, digits, `.`, `_` and `-`.
        name: String,
        /// A file with the template (Markdown with {{ variables }}); `-` reads standard input.
        #[arg(long)]
        body_file: PathBuf,
        /// What the template is for, shown in lists.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove an added template, or bring back the shipped version of a changed one (admins).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BlameRuleCommand {
    /// List the rules, shipped and added.
    List,
    /// Add a rule, or change the suggestion of an added one (admins).
    Add {
        /// Words matched case-insensitively; `{person}` stands for anyone's name or role
        /// variable, `*` for one word, e.g. "{person} dropped the ball".
        #[arg(long)]
        pattern: String,
        /// What to write instead, shown with each finding.
        #[arg(long)]
        suggestion: String,
    },
    /// Remove an added rule (shipped rules stay) (admins).
    Remove {
        /// The rule's pattern, exactly as `hereby postmortem rules list` shows it.
        #[arg(long)]
        pattern: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// Upcoming review meetings and overdue follow-ups of the incidents you may see.
    List,
    /// An incident's next review meeting, its agenda (every follow-up), the minutes of the
    /// meetings held, and whether it may close.
    Show { incident: String },
    /// Record a review meeting and what it decided, e.g. `--attendee alice --attendee bob
    /// --done 1 --wont-fix 2="replaced by the new proxy" --open 3=2027-01-15`. While a
    /// follow-up stays open the next meeting is planned one interval later.
    Record {
        incident: String,
        /// Who attended (repeat for each person).
        #[arg(long = "attendee", required = true)]
        attendees: Vec<String>,
        /// The meeting's notes (Markdown).
        #[arg(long)]
        notes: Option<String>,
        /// A follow-up that is done (its number; repeatable).
        #[arg(long)]
        done: Vec<u32>,
        /// N=REASON: a follow-up that will not be done, and why (repeatable).
        #[arg(long, value_parser = numbered)]
        wont_fix: Vec<(u32, String)>,
        /// N=YYYY-MM-DD: a follow-up that stays open, with its new due date (repeatable).
        #[arg(long, value_parser = numbered)]
        open: Vec<(u32, String)>,
        /// When the meeting took place, for one recorded afterwards, RFC 3339 (e.g.
        /// 2027-01-05T15:00:00Z) [default: now]; the next meeting follows one interval after it.
        #[arg(long)]
        at: Option<String>,
    },
    /// Set or move the next review meeting.
    Schedule {
        incident: String,
        /// RFC 3339, e.g. 2027-01-05T15:00:00Z.
        #[arg(long)]
        at: String,
    },
    /// The next meeting's calendar invitation (.ics), for your calendar or to mail around.
    Ics {
        incident: String,
        /// Write here instead of standard output; must not exist yet.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Parses `N=VALUE` (a follow-up's number and a reason or date).
fn numbered(raw: &str) -> Result<(u32, String), String> {
    let Some((item, value)) = raw.split_once('=') else {
        return Err(format!(
            "`{raw}` is not N=VALUE: give the follow-up's number, `=`, then the reason or date, \
             e.g. 2=\"replaced by the new proxy\" or 3=2027-01-15"
        ));
    };
    let item = item.trim().trim_start_matches('#');
    let item: u32 = item
        .parse()
        .map_err(|_| format!("`{item}` in `{raw}` is not a follow-up number"))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("`{raw}` has nothing after `=`"));
    }
    Ok((item, value.to_owned()))
}

/// The revision a write produced, from the entries it added.
fn revision_of(result: &api::WriteResult) -> Option<u64> {
    result
        .entries
        .iter()
        .rev()
        .find_map(|entry| entry.body.get("revision").and_then(Value::as_u64))
}

/// Reads a file's text, or standard input for `-`.
fn read_text(file: &Path) -> Result<String, Failure> {
    if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))
    }
}

/// Runs a `hereby postmortem …` command.
pub(crate) async fn postmortem(
    client: &Client,
    command: PostmortemCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        PostmortemCommand::Draft {
            incident,
            template,
            timeline_only: false,
        } => {
            let request = api::DraftRequest { template };
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &incident_path(&incident, "postmortem"),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                let template = result
                    .entries
                    .iter()
                    .find_map(|entry| entry.body.get("template").and_then(Value::as_str))
                    .or(request.template.as_deref())
                    .unwrap_or("full");
                println!(
                    "drafted {}'s post-mortem (revision 1) from template {template}",
                    result.id
                );
            }
        }
        PostmortemCommand::Draft {
            incident,
            timeline_only: true,
            ..
        } => {
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &incident_path(&incident, "postmortem/timeline"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                println!(
                    "wrote the Timeline section of {}'s post-mortem again (revision {})",
                    result.id,
                    revision_of(&result).map_or_else(|| "?".to_owned(), |r| r.to_string())
                );
            }
        }
        PostmortemCommand::Show {
            incident,
            revision,
            body_only,
        } => {
            let postmortem = fetch(client, &incident, revision).await?;
            if json {
                print_json(&postmortem);
            } else if body_only {
                emit(&with_newline(&postmortem.body));
            } else {
                print_postmortem(&postmortem);
            }
        }
        PostmortemCommand::Edit {
            incident,
            file,
            base,
            comment,
        } => edit(client, &incident, file, base, comment, json).await?,
        PostmortemCommand::Lint { incident, fix } => lint(client, &incident, fix, json).await?,
        PostmortemCommand::Submit { incident } => {
            step(client, &incident, "submit", "submitted for review", json).await?;
        }
        PostmortemCommand::Approve { incident } => {
            step(client, &incident, "approve", "approved", json).await?;
        }
        PostmortemCommand::Reviewed {
            incident,
            override_reason,
        } => {
            gated_step(
                client,
                &incident,
                "reviewed",
                "marked reviewed",
                override_reason,
                json,
            )
            .await?;
        }
        PostmortemCommand::Publish {
            incident,
            override_reason,
        } => {
            gated_step(
                client,
                &incident,
                "publish",
                "published",
                override_reason,
                json,
            )
            .await?;
        }
        PostmortemCommand::Comment { incident, text } => {
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &incident_path(&incident, "postmortem/comments"),
                    Some(&api::NoteRequest { text }),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                println!(
                    "commented on revision {} of {}'s post-mortem",
                    revision_of(&result).map_or_else(|| "?".to_owned(), |r| r.to_string()),
                    result.id
                );
            }
        }
        PostmortemCommand::Tag {
            incident,
            tags,
            factors,
        } => {
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&incident, "postmortem/tags"),
                    Some(&api::TagPostmortem { tags, factors }),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                println!("filed {}'s post-mortem in the library", result.id);
            }
        }
        PostmortemCommand::Library {
            service,
            severity,
            tag,
            factor,
            search,
        } => {
            let query: Vec<String> = [
                ("service", service),
                ("severity", severity),
                ("tag", tag),
                ("factor", factor),
                ("q", search),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", encode(&value))))
            .collect();
            let library: api::Library = client
                .send(
                    Method::GET,
                    &format!("/postmortems?{}", query.join("&")),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&library);
            } else {
                print_library(&library);
            }
        }
        PostmortemCommand::Owner { incident, user } => {
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&incident, "postmortem/owner"),
                    Some(&api::OwnerRequest {
                        owner: user.clone(),
                    }),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                println!("{user} now owns the review of {}'s post-mortem", result.id);
            }
        }
        PostmortemCommand::History { incident } => {
            let history: api::Revisions = client
                .send(
                    Method::GET,
                    &incident_path(&incident, "postmortem/revisions"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&history);
            } else {
                print_history(&history);
            }
        }
        PostmortemCommand::Diff { incident, from, to } => {
            let mut query = Vec::new();
            if let Some(from) = from {
                query.push(format!("from={from}"));
            }
            if let Some(to) = to {
                query.push(format!("to={to}"));
            }
            let mut path = incident_path(&incident, "postmortem/diff");
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let diff: api::RevisionDiff = client.send(Method::GET, &path, NO_BODY, None).await?;
            if json {
                print_json(&diff);
            } else if diff.diff.is_empty() {
                println!("revisions {} and {} have the same text", diff.from, diff.to);
            } else {
                emit(&with_newline(&diff.diff));
            }
        }
        PostmortemCommand::Export {
            incident,
            format,
            output,
        } => export(client, &incident, format, output.as_deref()).await?,
        PostmortemCommand::Mark {
            incident,
            sequence,
            mark,
        } => {
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&incident, &format!("timeline/{sequence}/mark")),
                    Some(&api::MarkRequest { mark: mark.clone() }),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                println!(
                    "{} entry #{sequence} is now {mark}; `hereby postmortem draft {} --timeline-only` brings it into the post-mortem",
                    result.id, result.id
                );
            }
        }
        PostmortemCommand::Template(command) => template(client, command, json).await?,
        PostmortemCommand::Rules(command) => rules(client, command, json).await?,
    }
    Ok(())
}

fn with_newline(text: &str) -> String {
    if text.ends_with('\n') || text.is_empty() {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

async fn fetch(
    client: &Client,
    incident: &str,
    revision: Option<u32>,
) -> Result<api::Postmortem, Failure> {
    let mut path = incident_path(incident, "postmortem");
    if let Some(revision) = revision {
        path = format!("{path}?revision={revision}");
    }
    client.send(Method::GET, &path, NO_BODY, None).await
}

fn print_postmortem(postmortem: &api::Postmortem) {
    let mut text = format!(
        "{} post-mortem · {} · revision {} (template {})\nowner {} · last saved {} by {}\n\
         approvals {} · comments {}\n",
        postmortem.id,
        postmortem.status,
        postmortem.revision,
        postmortem.template,
        postmortem.owner,
        when(&postmortem.revised_at, Precision::Seconds),
        postmortem.revised_by,
        if postmortem.approvals.is_empty() {
            "none".to_owned()
        } else {
            postmortem.approvals.join(", ")
        },
        postmortem.comments
    );
    if let Some(at) = &postmortem.reviewed_at {
        text.push_str(&format!("reviewed {}\n", when(at, Precision::Seconds)));
    }
    if let Some(at) = &postmortem.published_at {
        text.push_str(&format!("published {}\n", when(at, Precision::Seconds)));
    }
    text.push('\n');
    text.push_str(&with_newline(&postmortem.body));
    emit(&text);
}

/// Writes long text to standard output; a reader that stopped early (`| head`) is not an
/// error.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// How finely [`when`] shows a time.
#[derive(Clone, Copy)]
enum Precision {
    Minutes,
    Seconds,
}

/// An RFC 3339 time from the server as people read it: `2027-01-05 15:00 UTC`. Anything
/// else is shown as given.
fn when(at: &str, precision: Precision) -> String {
    let Ok(at) = at.parse::<jiff::Timestamp>() else {
        return at.to_owned();
    };
    let format = match precision {
        Precision::Minutes => "%Y-%m-%d %H:%M UTC",
        Precision::Seconds => "%Y-%m-%d %H:%M:%S UTC",
    };
    at.strftime(format).to_string()
}

fn print_history(history: &api::Revisions) {
    println!("{:>4}  {:<23} {:<16} COMMENT", "REV", "SAVED", "BY");
    for revision in &history.revisions {
        println!(
            "{:>4}  {:<23} {:<16} {}",
            revision.revision,
            when(&revision.at, Precision::Seconds),
            revision.by,
            revision.comment.as_deref().unwrap_or("-")
        );
    }
    if history.comments.is_empty() {
        println!("\nno comments");
        return;
    }
    println!("\ncomments");
    for comment in &history.comments {
        println!(
            "  on revision {} by {} at {}:\n    {}",
            comment.revision,
            comment.by,
            when(&comment.at, Precision::Seconds),
            comment.text.replace('\n', "\n    ")
        );
    }
}

/// A workflow step without a body: submit, approve, reviewed, publish.
async fn step(
    client: &Client,
    incident: &str,
    action: &str,
    done: &str,
    json: bool,
) -> Result<(), Failure> {
    let result: api::WriteResult = client
        .send(
            Method::POST,
            &incident_path(incident, &format!("postmortem/{action}")),
            NO_BODY,
            None,
        )
        .await?;
    if json {
        print_json(&result);
    } else {
        match revision_of(&result) {
            Some(revision) => println!("{}'s post-mortem {done} (revision {revision})", result.id),
            None => println!("{}'s post-mortem {done}", result.id),
        }
    }
    Ok(())
}

/// Ending the review or publishing, with the owner's reason to go ahead over findings.
async fn gated_step(
    client: &Client,
    incident: &str,
    action: &str,
    done: &str,
    override_reason: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let request = api::GateRequest { override_reason };
    let result: api::WriteResult = client
        .send(
            Method::POST,
            &incident_path(incident, &format!("postmortem/{action}")),
            Some(&request),
            None,
        )
        .await?;
    if json {
        print_json(&result);
    } else {
        let overridden = result
            .entries
            .iter()
            .find_map(|entry| entry.body["overridden"]["findings"].as_u64());
        match (revision_of(&result), overridden) {
            (Some(revision), Some(findings)) => println!(
                "{}'s post-mortem {done} (revision {revision}) over {findings} finding{}; the reason is on the timeline",
                result.id,
                if findings == 1 { "" } else { "s" }
            ),
            (Some(revision), None) => {
                println!("{}'s post-mortem {done} (revision {revision})", result.id);
            }
            _ => println!("{}'s post-mortem {done}", result.id),
        }
    }
    Ok(())
}

/// Saves `body` as a new revision.
async fn revise(
    client: &Client,
    incident: &str,
    body: String,
    base_revision: Option<u32>,
    comment: Option<String>,
) -> Result<api::WriteResult, Failure> {
    let request = api::RevisePostmortem {
        body,
        base_revision,
        comment,
    };
    client
        .send(
            Method::PUT,
            &incident_path(incident, "postmortem"),
            Some(&request),
            None,
        )
        .await
}

fn print_saved(result: &api::WriteResult, json: bool) {
    if json {
        print_json(result);
    } else {
        println!(
            "saved {}'s post-mortem as revision {}",
            result.id,
            revision_of(result).map_or_else(|| "?".to_owned(), |r| r.to_string())
        );
    }
}

async fn edit(
    client: &Client,
    incident: &str,
    file: Option<PathBuf>,
    base: Option<u32>,
    comment: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    if let Some(file) = file {
        let body = read_text(&file)?;
        let result = revise(client, incident, body, base, comment).await?;
        print_saved(&result, json);
        return Ok(());
    }
    let current = fetch(client, incident, None).await?;
    if current.status == "published" {
        return Err(Failure::Rejected(format!(
            "{}'s post-mortem is published and no longer changes",
            current.id
        )));
    }
    let scratch = scratch_file(&current)?;
    let edited = match crate::editor::run_editor(&scratch) {
        Ok(edited) => edited,
        Err(failure) => return Err(failure),
    };
    if edited.trim_end() == current.body.trim_end() {
        let _ = std::fs::remove_file(&scratch);
        if json {
            print_json(&json!({ "id": current.id, "saved": false, "revision": current.revision }));
        } else {
            println!("no change; nothing saved");
        }
        return Ok(());
    }
    match revise(
        client,
        incident,
        edited.clone(),
        Some(current.revision),
        comment.clone(),
    )
    .await
    {
        Ok(result) => {
            let _ = std::fs::remove_file(&scratch);
            print_saved(&result, json);
            Ok(())
        }
        Err(failure) => {
            // Someone saved a newer revision while this one was edited: merge the two edits,
            // as version control merges two branches, rather than save over theirs.
            if let Ok(latest) = fetch(client, incident, None).await
                && latest.revision != current.revision
            {
                return merge_with_newer(
                    client, &current, &latest, &edited, &scratch, comment, json,
                )
                .await;
            }
            // Whatever else went wrong (the server is gone), the edit must not be lost.
            let kept = format!(
                "your edited text is kept in {}; save it with `hereby postmortem edit {} --file {} --base {}`",
                scratch.display(),
                current.id,
                scratch.display(),
                current.revision
            );
            Err(failure.followed_by(&kept))
        }
    }
}

/// Merges an edit of revision `base` with the newer revision `latest` someone else saved
/// meanwhile. Edits to different lines are saved together as a new revision on top of
/// theirs; edits to the same lines are left in the scratch file between conflict markers,
/// to be resolved and saved with `--base`, which is refused again if yet another revision
/// came in. Nothing of theirs is ever overwritten.
async fn merge_with_newer(
    client: &Client,
    base: &api::Postmortem,
    latest: &api::Postmortem,
    edited: &str,
    scratch: &Path,
    comment: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match diffy::merge(&base.body, edited, &latest.body) {
        Ok(merged) => {
            let result = revise(client, &latest.id, merged, Some(latest.revision), comment)
                .await
                .map_err(|failure| {
                    failure.followed_by(&format!(
                        "your edited text is kept in {}",
                        scratch.display()
                    ))
                })?;
            let _ = std::fs::remove_file(scratch);
            if json {
                print_json(&result);
            } else {
                println!(
                    "{} saved revision {} while you edited; your changes touched other lines and were merged with theirs: saved {}'s post-mortem as revision {}",
                    latest.revised_by,
                    latest.revision,
                    result.id,
                    revision_of(&result).map_or_else(|| "?".to_owned(), |r| r.to_string())
                );
            }
            Ok(())
        }
        Err(conflicted) => {
            std::fs::write(scratch, conflicted).map_err(|e| {
                Failure::Usage(format!(
                    "cannot write the merge to {}: {e}",
                    scratch.display()
                ))
            })?;
            Err(Failure::Rejected(format!(
                "{} saved revision {} while you edited, and some of your changes touch the same lines; nothing was saved. Both versions are in {} between <<<<<<< and >>>>>>> markers: resolve them, then save with `hereby postmortem edit {} --file {} --base {}` (refused again if someone saves meanwhile)",
                latest.revised_by,
                latest.revision,
                scratch.display(),
                latest.id,
                scratch.display(),
                latest.revision
            )))
        }
    }
}

/// A new file, readable only by us, holding the post-mortem's current text.
fn scratch_file(postmortem: &api::Postmortem) -> Result<PathBuf, Failure> {
    crate::editor::scratch(
        &format!(
            "{}-postmortem-r{}",
            postmortem.id.to_lowercase(),
            postmortem.revision
        ),
        &postmortem.body,
    )
}

async fn lint_report(client: &Client, incident: &str) -> Result<api::LintReport, Failure> {
    client
        .send(
            Method::GET,
            &incident_path(incident, "postmortem/lint"),
            NO_BODY,
            None,
        )
        .await
}

async fn lint(client: &Client, incident: &str, fix: bool, json: bool) -> Result<(), Failure> {
    let mut report = lint_report(client, incident).await?;
    if fix {
        match report.substituted.take() {
            Some(substituted) => {
                let names = report
                    .findings
                    .iter()
                    .filter(|finding| finding.kind == "name")
                    .count();
                let result = revise(
                    client,
                    incident,
                    substituted,
                    Some(report.revision),
                    Some(
                        "real names replaced by role variables (hereby postmortem lint --fix)"
                            .into(),
                    ),
                )
                .await?;
                if !json {
                    println!(
                        "replaced {names} real name{} by role variables; saved as revision {}",
                        if names == 1 { "" } else { "s" },
                        revision_of(&result).map_or_else(|| "?".to_owned(), |r| r.to_string())
                    );
                }
                report = lint_report(client, incident).await?;
            }
            None if !json => println!("no real names to replace"),
            None => {}
        }
    }
    if json {
        print_json(&report);
    } else {
        for finding in &report.findings {
            let suggestion = match (&finding.replacement, finding.suggestion.is_empty()) {
                (Some(replacement), true) => format!("write “{replacement}”"),
                (_, true) => String::new(),
                (_, false) => finding.suggestion.clone(),
            };
            println!(
                "{}:{}  {}  \"{}\"  {}{}",
                finding.line,
                finding.column,
                finding.kind,
                finding.text,
                finding.message,
                if suggestion.is_empty() {
                    String::new()
                } else {
                    format!(" — {suggestion}")
                }
            );
        }
    }
    if report.findings.is_empty() {
        if !json {
            println!("revision {}: no findings", report.revision);
        }
        return Ok(());
    }
    let names = report
        .findings
        .iter()
        .filter(|finding| finding.kind == "name")
        .count();
    Err(Failure::Rejected(format!(
        "{} finding{} in revision {}{}",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        report.revision,
        if names > 0 && !fix {
            format!("; `hereby postmortem lint {incident} --fix` replaces the real names")
        } else {
            String::new()
        }
    )))
}

/// Streams a non-JSON answer to `output`, or to standard output; a partial file is removed.
async fn download(
    client: &Client,
    path: &str,
    output: Option<&Path>,
    what: &str,
) -> Result<(), Failure> {
    let mut response = client.raw(Method::GET, path).await?;
    let broken = |e: String| Failure::Unreachable(format!("the {what} broke off: {e}"));
    match output {
        Some(file) => {
            let mut sink = create_new(file)?;
            let result = async {
                let mut bytes = 0usize;
                while let Some(chunk) = response.chunk().await.map_err(|e| broken(e.to_string()))? {
                    sink.write_all(&chunk).map_err(|e| broken(e.to_string()))?;
                    bytes += chunk.len();
                }
                sink.sync_all().map_err(|e| broken(e.to_string()))?;
                Ok::<usize, Failure>(bytes)
            }
            .await;
            match result {
                Ok(bytes) => {
                    eprintln!("hereby: wrote {} ({bytes} bytes)", file.display());
                    Ok(())
                }
                Err(failure) => {
                    let _ = std::fs::remove_file(file);
                    Err(failure)
                }
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            while let Some(chunk) = response.chunk().await.map_err(|e| broken(e.to_string()))? {
                stdout
                    .write_all(&chunk)
                    .map_err(|e| broken(e.to_string()))?;
            }
            stdout.flush().map_err(|e| broken(e.to_string()))
        }
    }
}

async fn export(
    client: &Client,
    incident: &str,
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<(), Failure> {
    use std::io::IsTerminal as _;
    if format == ExportFormat::Pdf && output.is_none() && std::io::stdout().is_terminal() {
        return Err(Failure::Usage(format!(
            "a PDF is binary and would garble the terminal: pass -o {}-postmortem.pdf, or redirect standard output",
            incident.to_lowercase()
        )));
    }
    let path = format!(
        "{}?format={}",
        incident_path(incident, "postmortem/export"),
        format.as_str()
    );
    download(client, &path, output, "export").await
}

async fn template(
    client: &Client,
    command: PostmortemTemplateCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        PostmortemTemplateCommand::List => {
            let all: api::PostmortemTemplates = client
                .send(Method::GET, "/postmortem-templates", NO_BODY, None)
                .await?;
            if json {
                print_json(&all);
            } else {
                println!("{:<24} {:<8} DESCRIPTION", "NAME", "ORIGIN");
                for template in &all.templates {
                    println!(
                        "{:<24} {:<8} {}",
                        template.name, template.origin, template.description
                    );
                }
                println!("\nVariables:");
                for variable in &all.variables {
                    println!("  {:<18} {}", variable.name, variable.description);
                }
            }
        }
        PostmortemTemplateCommand::Show { name } => {
            let all: api::PostmortemTemplates = client
                .send(Method::GET, "/postmortem-templates", NO_BODY, None)
                .await?;
            let Some(template) = all.templates.into_iter().find(|t| t.name == name) else {
                return Err(Failure::Rejected(format!(
                    "there is no post-mortem template `{name}`; `hereby postmortem template list` shows them"
                )));
            };
            if json {
                print_json(&template);
            } else {
                emit(&with_newline(&template.body));
            }
        }
        PostmortemTemplateCommand::Set {
            name,
            body_file,
            description,
        } => {
            let request = api::PutPostmortemTemplate {
                description,
                body: read_text(&body_file)?,
            };
            let stored: api::PostmortemTemplate = client
                .send(
                    Method::PUT,
                    &format!("/postmortem-templates/{}", encode(&name)),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&stored);
            } else {
                println!(
                    "post-mortem template {} stored ({}); draft with `hereby postmortem draft INC-N --template {}`",
                    stored.name, stored.origin, stored.name
                );
            }
        }
        PostmortemTemplateCommand::Remove { name } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/postmortem-templates/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&json!({ "removed": name }));
            } else {
                println!("post-mortem template {name} removed");
            }
        }
    }
    Ok(())
}

async fn rules(client: &Client, command: BlameRuleCommand, json: bool) -> Result<(), Failure> {
    match command {
        BlameRuleCommand::List => {
            let rules: api::BlameRules = client
                .send(Method::GET, "/blame-rules", NO_BODY, None)
                .await?;
            if json {
                print_json(&rules);
            } else {
                println!("{:<32} {:<8} SUGGESTION", "PATTERN", "ORIGIN");
                for rule in &rules.rules {
                    println!(
                        "{:<32} {:<8} {}",
                        rule.pattern, rule.origin, rule.suggestion
                    );
                }
            }
        }
        BlameRuleCommand::Add {
            pattern,
            suggestion,
        } => {
            let stored: api::BlameRule = client
                .send(
                    Method::PUT,
                    "/blame-rules",
                    Some(&api::PutBlameRule {
                        pattern,
                        suggestion,
                    }),
                    None,
                )
                .await?;
            if json {
                print_json(&stored);
            } else {
                println!("blame rule \"{}\" stored", stored.pattern);
            }
        }
        BlameRuleCommand::Remove { pattern } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/blame-rules?pattern={}", encode(&pattern)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&json!({ "removed": pattern }));
            } else {
                println!("blame rule \"{pattern}\" removed");
            }
        }
    }
    Ok(())
}

/// `hereby verify INC-7 --head HEX [--at N]`: whether an export's footer names event N of the
/// incident's intact hash chain.
pub(crate) async fn verify_export(
    client: &Client,
    incident: &str,
    head: &str,
    at: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    let head = head.trim().to_ascii_lowercase();
    if head.len() != 64 || !head.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(Failure::Usage(format!(
            "--head must be the 64 hex digits of a SHA-256, as in the export's footer \
             (\"Timeline {incident} at event N, hash-chain head HEX\"), not `{head}`"
        )));
    }
    let verify = |at: Option<u64>| {
        let path = match at {
            Some(at) => format!("{}?at={at}", incident_path(incident, "verify")),
            None => incident_path(incident, "verify"),
        };
        async move {
            client
                .send::<api::Verification>(Method::GET, &path, NO_BODY, None)
                .await
        }
    };
    let given = at.is_some();
    let at = match at {
        Some(0) => {
            return Err(Failure::Usage(
                "--at counts events from 1, as the export's footer does".into(),
            ));
        }
        Some(at) => at,
        None => {
            let whole = verify(None).await?;
            if let Some(problem) = &whole.problem {
                if json {
                    print_json(&whole);
                }
                return Err(Failure::Rejected(problem.clone()));
            }
            whole.events
        }
    };
    let result = verify(Some(at)).await?;
    if json {
        print_json(&result);
    }
    if let Some(problem) = &result.problem {
        return Err(Failure::Rejected(format!(
            "{problem}; the export cannot be checked against a broken chain"
        )));
    }
    match &result.hash_at {
        Some(hash) if hash.eq_ignore_ascii_case(&head) => {
            if !json {
                println!(
                    "{}: the export matches event {at} of an intact hash chain",
                    result.id
                );
            }
            Ok(())
        }
        Some(hash) => Err(Failure::Rejected(format!(
            "{}: event {at} has hash {hash}, not {head}: the export does not match this incident's timeline{}",
            result.id,
            if given {
                String::new()
            } else {
                format!(
                    " (event {at} is its latest; if the incident changed after the export, pass --at with the event number in the footer)"
                )
            }
        ))),
        None => Err(Failure::Unreachable(format!(
            "the server did not give the hash of event {at} of {}; it may be older than this client",
            result.id
        ))),
    }
}

/// Runs a `hereby review …` command.
pub(crate) async fn review(
    client: &Client,
    command: ReviewCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        ReviewCommand::List => {
            let overview: api::ReviewOverview =
                client.send(Method::GET, "/reviews", NO_BODY, None).await?;
            if json {
                print_json(&overview);
            } else {
                print_overview(&overview);
            }
        }
        ReviewCommand::Show { incident } => {
            let reviews: api::Reviews = client
                .send(
                    Method::GET,
                    &incident_path(&incident, "reviews"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&reviews);
            } else {
                print_reviews(&reviews);
            }
        }
        ReviewCommand::Record {
            incident,
            attendees,
            notes,
            done,
            wont_fix,
            open,
            at,
        } => {
            let outcomes = done
                .into_iter()
                .map(|item| api::Outcome {
                    item,
                    decision: "done".to_owned(),
                    reason: None,
                    due: None,
                })
                .chain(wont_fix.into_iter().map(|(item, reason)| api::Outcome {
                    item,
                    decision: "wont_fix".to_owned(),
                    reason: Some(reason),
                    due: None,
                }))
                .chain(open.into_iter().map(|(item, due)| api::Outcome {
                    item,
                    decision: "open".to_owned(),
                    reason: None,
                    due: Some(due),
                }))
                .collect();
            let request = api::RecordMeeting {
                attendees,
                notes,
                outcomes,
                at,
            };
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &incident_path(&incident, "reviews"),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                print_recorded(&result);
            }
        }
        ReviewCommand::Schedule { incident, at } => {
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&incident, "reviews/next"),
                    Some(&api::ScheduleMeeting { at: at.clone() }),
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                let (meeting, at) = scheduled(&result).unwrap_or((0, at));
                println!(
                    "review meeting {meeting} of {} set for {} ({}); `hereby review ics {}` gives the invitation",
                    result.id,
                    when(&at, Precision::Minutes),
                    from_now(&at),
                    result.id
                );
            }
        }
        ReviewCommand::Ics { incident, output } => {
            download(
                client,
                &incident_path(&incident, "reviews/next.ics"),
                output.as_deref(),
                "invitation",
            )
            .await?;
        }
    }
    Ok(())
}

/// The meeting a write planned, from its `review_meeting_scheduled` entry.
fn scheduled(result: &api::WriteResult) -> Option<(u64, String)> {
    result
        .entries
        .iter()
        .filter(|entry| entry.event_type == "review_meeting_scheduled")
        .find_map(|entry| {
            Some((
                entry.body.get("meeting")?.as_u64()?,
                entry.body.get("at")?.as_str()?.to_owned(),
            ))
        })
}

/// "in 30 days", "in 3 hours", "2 days ago" from now to an RFC 3339 time.
fn from_now(at: &str) -> String {
    let Ok(at) = at.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let seconds = at.duration_since(jiff::Timestamp::now()).as_secs();
    let (amount, unit) = match seconds.abs() {
        s if s >= 86_400 => ((s + 43_200) / 86_400, "day"),
        s if s >= 3_600 => ((s + 1_800) / 3_600, "hour"),
        s => ((s + 30) / 60, "minute"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    if seconds >= 0 {
        format!("in {amount} {unit}{plural}")
    } else {
        format!("{amount} {unit}{plural} ago")
    }
}

fn print_recorded(result: &api::WriteResult) {
    for entry in &result.entries {
        match entry.event_type.as_str() {
            "review_meeting_held" => println!(
                "recorded review meeting {} of {}",
                entry
                    .body
                    .get("meeting")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                result.id
            ),
            "action_item_completed" => println!(
                "  follow-up {} done",
                entry.body.get("item").and_then(Value::as_u64).unwrap_or(0)
            ),
            "action_item_wont_fix" => println!(
                "  follow-up {} won't be done: {}",
                entry.body.get("item").and_then(Value::as_u64).unwrap_or(0),
                entry
                    .body
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            "action_item_updated" => println!(
                "  follow-up {} stays open, now due {}",
                entry.body.get("item").and_then(Value::as_u64).unwrap_or(0),
                entry.body.get("due").and_then(Value::as_str).unwrap_or("-")
            ),
            _ => {}
        }
    }
    match scheduled(result) {
        Some((meeting, at)) => println!(
            "next review meeting {meeting} {} ({})",
            from_now(&at),
            when(&at, Precision::Minutes)
        ),
        None => println!(
            "no further meeting: every follow-up is settled; once the post-mortem is reviewed, close it with `hereby status {} closed`",
            result.id
        ),
    }
}

/// A follow-up's text shortened to fit a table column.
fn cell(text: &str, width: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= width && !text.contains('\n') {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

fn print_agenda(items: &[api::AgendaItem]) {
    println!(
        "{:>4}  {:<40} {:<18} {:<9} {:<11} {:>5}  {:<8} TRACKER",
        "#", "FOLLOW-UP", "OWNER", "STATE", "DUE", "DAYS", "OVERDUE"
    );
    for item in items {
        println!(
            "{:>4}  {:<40} {:<18} {:<9} {:<11} {:>5}  {:<8} {}",
            item.item,
            cell(&item.text, 40),
            item.owner,
            item.state,
            item.due.as_deref().unwrap_or("-"),
            item.days_open,
            if item.overdue { "OVERDUE" } else { "" },
            tracker_cell(item)
        );
    }
}

/// Where a follow-up is tracked and how its sync stands: `acme/api#12 (done, synced
/// 2026-03-01T10:00:00Z)`, the sync error, or the plain tracker link.
fn tracker_cell(item: &api::AgendaItem) -> String {
    match &item.tracked {
        Some(tracked) => {
            let issue = tracked
                .key
                .clone()
                .unwrap_or_else(|| format!("being opened in {}", tracked.tracker));
            match (&tracked.sync_error, &tracked.synced_at) {
                (Some(error), _) => format!("{issue} (sync failed: {error})"),
                (None, Some(at)) => format!(
                    "{issue} ({} in {}, synced {at})",
                    tracked.state.as_deref().unwrap_or("open").replace('_', " "),
                    tracked.tracker
                ),
                (None, None) => format!("{issue} (not synced yet)"),
            }
        }
        None => item.tracker_url.clone().unwrap_or_else(|| "-".to_owned()),
    }
}

fn print_reviews(reviews: &api::Reviews) {
    println!("{}  {}  ({})", reviews.id, reviews.title, reviews.status);
    println!(
        "post-mortem {}",
        reviews
            .postmortem_status
            .as_deref()
            .unwrap_or("not drafted yet")
    );
    match &reviews.next {
        Some(next) => println!(
            "next review meeting {} on {} ({}); `hereby review ics {}` gives the invitation",
            next.meeting,
            when(&next.at, Precision::Minutes),
            from_now(&next.at),
            reviews.id
        ),
        None => println!("no review meeting planned"),
    }
    println!();
    if reviews.agenda.is_empty() {
        println!("agenda: no follow-ups recorded");
    } else {
        println!("agenda");
        print_agenda(&reviews.agenda);
    }
    if !reviews.held.is_empty() {
        println!("\nmeetings held");
        for meeting in &reviews.held {
            println!(
                "  meeting {} on {} — {}",
                meeting.meeting,
                when(&meeting.at, Precision::Minutes),
                meeting.attendees.join(", ")
            );
            if let Some(notes) = &meeting.notes {
                println!("    notes: {}", notes.replace('\n', "\n           "));
            }
            for outcome in &meeting.outcomes {
                let decided = match outcome.decision.as_str() {
                    "done" => "done".to_owned(),
                    "wont_fix" => {
                        format!("won't fix: {}", outcome.reason.as_deref().unwrap_or("-"))
                    }
                    "open" => format!("stays open, due {}", outcome.due.as_deref().unwrap_or("-")),
                    other => other.to_owned(),
                };
                println!("    #{} {decided}", outcome.item);
            }
        }
    }
    println!();
    if reviews.closable {
        println!("closable: yes — `hereby status {} closed`", reviews.id);
    } else {
        let mut why = Vec::new();
        if reviews.status != "resolved" {
            why.push(format!("the incident is {}", reviews.status));
        }
        if !reviews.follow_ups_settled {
            let open: Vec<String> = reviews
                .agenda
                .iter()
                .filter(|item| item.state == "open")
                .map(|item| item.item.to_string())
                .collect();
            why.push(format!("follow-ups {} are open", open.join(", ")));
        }
        match reviews.postmortem_status.as_deref() {
            Some("reviewed" | "published") => {}
            Some(status) => why.push(format!("the post-mortem is {status}, not reviewed")),
            None => why.push("the post-mortem is not drafted".to_owned()),
        }
        println!("closable: no — {}", why.join("; "));
    }
}

fn print_overview(overview: &api::ReviewOverview) {
    if overview.incidents.is_empty() {
        println!("no review meetings planned and no follow-ups open");
        return;
    }
    println!(
        "{:<8} {:<22} {:>4} {:>7}  {:<12} TITLE",
        "ID", "NEXT MEETING", "OPEN", "OVERDUE", "POST-MORTEM"
    );
    for row in &overview.incidents {
        let next: String = row
            .next_meeting
            .as_deref()
            .map_or_else(|| "-".to_owned(), |at| at.chars().take(16).collect());
        println!(
            "{:<8} {:<22} {:>4} {:>7}  {:<12} {}",
            row.id,
            next.replace('T', " "),
            row.open_follow_ups,
            row.overdue_follow_ups.len(),
            row.postmortem_status.as_deref().unwrap_or("-"),
            row.title
        );
        for item in &row.overdue_follow_ups {
            println!(
                "         overdue #{} {} ({}, due {})",
                item.item,
                cell(&item.text, 60),
                item.owner,
                item.due.as_deref().unwrap_or("-")
            );
        }
    }
}

/// The library as a compact list: one post-mortem per line, then the tags and factors.
fn print_library(library: &api::Library) {
    if library.postmortems.is_empty() {
        println!("No published post-mortem matches.");
    }
    for entry in &library.postmortems {
        let filed: Vec<String> = entry
            .tags
            .iter()
            .map(|tag| format!("#{tag}"))
            .chain(
                entry
                    .factors
                    .iter()
                    .map(|factor| format!("factor:{factor}")),
            )
            .collect();
        println!(
            "{:<8} {:<5} {} [{}] published {}{}",
            entry.incident,
            entry.severity,
            entry.title,
            entry.services.join(", "),
            entry.published_at.get(..10).unwrap_or(&entry.published_at),
            if filed.is_empty() {
                String::new()
            } else {
                format!(" · {}", filed.join(" "))
            }
        );
    }
    let counts = |items: &[api::TagCount]| -> String {
        items
            .iter()
            .map(|item| format!("{} ({})", item.name, item.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !library.tags.is_empty() {
        println!("tags: {}", counts(&library.tags));
    }
    if !library.factors.is_empty() {
        println!("contributing factors: {}", counts(&library.factors));
    }
    if library.capped {
        eprintln!(
            "More incidents were to be looked through than one request reads; narrow the filters."
        );
    }
}
