//! Post-mortems over the store: the shipped templates and admins' own, rendering a draft from
//! the timeline's facts, reading revisions back from the stream, the linter's people and
//! rules, the Timeline section rewrite and diffs between revisions. What the edges ask of
//! post-mortems ([`crate::App`]'s methods in `postmortems.rs`) is built from these.
//!
//! Templates are minijinja text rendering Markdown, like message templates, but over the
//! drafting facts of `hereby_core::draft` and with a budget sized for a timeline of many
//! thousands of entries.

use std::collections::{BTreeMap, BTreeSet};

use hereby_core::draft::{self, DraftFacts, RoleVariables};
use hereby_core::lint::{self, BlameRule, Person};
use hereby_core::types::{Document, IncidentNumber, TemplateName, UserName};
use hereby_core::{Envelope, Event, Incident, Postmortem};
use hereby_store::{AdminSetting, Communications, Directory, RecordedEvent, Store, StoreError};
use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::messages::{Bounded, TemplateError, template_error};

/// The settings kind post-mortem templates are stored under.
pub const TEMPLATE_KIND: &str = "postmortem_template";
/// The settings kind admins' blame rules are stored under.
pub const BLAME_RULE_KIND: &str = "blame_rule";
/// The largest request that saves a post-mortem: the 8,000,000 characters a document may hold
/// are up to four times as many bytes in UTF-8, and JSON escaping adds a little.
pub const MAX_REQUEST: usize = 40 * 1024 * 1024;
/// The template a draft starts from unless another is named.
pub const DEFAULT_TEMPLATE: &str = "full";

struct Shipped {
    name: &'static str,
    description: &'static str,
    body: &'static str,
}

const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "full",
        description: "Every section: summary, abstract, people, impact, timeline, analysis, issues, action items, evidence, acknowledgements",
        body: include_str!("full.md"),
    },
    Shipped {
        name: "short",
        description: "A one-page review: summary, people, impact, the starred timeline, lessons and action items",
        body: include_str!("short.md"),
    },
];

/// The variables a post-mortem template may use.
pub const VARIABLES: &[(&str, &str)] = &[
    ("incident", "the incident's id, e.g. INC-7"),
    ("title", "the incident's title"),
    ("summary", "the current summary (empty when none)"),
    ("severity", "the severity now, SEV1 … SEV4"),
    ("potential", "whether the incident is marked potential"),
    ("status", "the incident's status"),
    ("visibility", "internal, restricted or public"),
    ("services", "the affected services (a list)"),
    ("declared_at", "when it was declared (UTC)"),
    (
        "resolved_at",
        "when service was restored (UTC; none before)",
    ),
    (
        "impact",
        "start, end, duration_minutes and recorded (false when declaration and resolution stand in)",
    ),
    (
        "severity_history",
        "each severity with at, severity, potential and reason",
    ),
    (
        "people",
        "who held which role: variable, person, role, from, to — the only place with real names",
    ),
    (
        "timeline",
        "entries with sequence, at, time, kind, text and starred (excluded ones are left out)",
    ),
    ("excluded_entries", "how many entries were excluded"),
    ("operations", "the operations actions, as timeline entries"),
    ("updates", "the stakeholder updates, as timeline entries"),
    (
        "action_items",
        "item, text, kind, owner, due, state and tracker_url",
    ),
    (
        "evidence",
        "attachments: name, media_type, size, sha256, added_by, at",
    ),
    ("links", "links: kind, url, title"),
    (
        "participants",
        "the role variables of everyone who took part",
    ),
];

/// A post-mortem template in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub body: String,
    /// `default`, `custom` or `changed`.
    pub origin: &'static str,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

/// What a stored template's value holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredTemplate {
    pub description: String,
    pub body: String,
}

/// The shipped templates, replaced or joined by the stored ones, by name.
pub fn effective(stored: &[AdminSetting]) -> Vec<Template> {
    let mut templates: BTreeMap<String, Template> = SHIPPED
        .iter()
        .map(|shipped| {
            (
                shipped.name.to_owned(),
                Template {
                    name: shipped.name.to_owned(),
                    description: shipped.description.to_owned(),
                    body: shipped.body.to_owned(),
                    origin: "default",
                    updated_at: None,
                    updated_by: None,
                },
            )
        })
        .collect();
    for setting in stored {
        // A value that no longer parses (written by a later version, say) is skipped rather
        // than failing every draft.
        let Ok(value) = serde_json::from_str::<StoredTemplate>(&setting.value) else {
            continue;
        };
        let origin = if is_default(&setting.name) {
            "changed"
        } else {
            "custom"
        };
        templates.insert(
            setting.name.clone(),
            Template {
                name: setting.name.clone(),
                description: value.description,
                body: value.body,
                origin,
                updated_at: Some(setting.updated_at),
                updated_by: Some(setting.updated_by.to_string()),
            },
        );
    }
    templates.into_values().collect()
}

/// Whether a shipped template has this name.
pub fn is_default(name: &str) -> bool {
    SHIPPED.iter().any(|shipped| shipped.name == name)
}

/// How many instructions one rendering may run: a 10,000-entry timeline needs a few hundred
/// thousand; a runaway loop still ends.
const FUEL: u64 = 50_000_000;
/// The longest template source.
const MAX_SOURCE: usize = 100_000;
/// The longest rendered post-mortem, in bytes: what a `Document` may hold at most.
const MAX_OUTPUT: usize = 8_000_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A value inside a Markdown table cell: a `|` would end the cell and a newline the row.
    env.add_filter("cell", |value: String| {
        value.replace('|', "\\|").replace(['\r', '\n'], " ")
    });
    env
}

/// Checks a template: it compiles, uses only known variables, and renders for a sample.
pub fn check(body: &str) -> Result<(), TemplateError> {
    let problem = |problem: String| TemplateError {
        part: "body",
        line: None,
        problem,
    };
    if body.trim().is_empty() {
        return Err(problem("must not be empty".to_owned()));
    }
    if body.len() > MAX_SOURCE {
        return Err(problem(format!("is longer than {MAX_SOURCE} bytes")));
    }
    let env = environment();
    let template = env
        .template_from_str(body)
        .map_err(|error| template_error("body", &error))?;
    let known: BTreeSet<&str> = VARIABLES.iter().map(|(name, _)| *name).collect();
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !known.contains(name.as_str()))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        return Err(TemplateError {
            part: "body",
            line: crate::messages::line_of(body, name),
            problem: format!(
                "unknown variable `{name}`; the variables are {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    render(body, &sample()).map(|_| ())
}

/// Renders a template over the facts of a draft.
pub fn render(body: &str, facts: &DraftFacts) -> Result<String, TemplateError> {
    let env = environment();
    let template = env
        .template_from_str(body)
        .map_err(|error| template_error("body", &error))?;
    let mut out = Bounded::new(MAX_OUTPUT);
    match template.render_captured_to(
        minijinja::Value::from(minijinja::value::Serde(facts)),
        &mut out,
    ) {
        Ok(_) => Ok(out.into_string()),
        Err(_) if out.overflowed() => Err(TemplateError {
            part: "body",
            line: None,
            problem: format!("renders to more than {MAX_OUTPUT} bytes"),
        }),
        Err(error) => Err(template_error("body", &error)),
    }
}

/// Facts with one of everything, for checking templates at save time.
fn sample() -> DraftFacts {
    let line = draft::TimelineLine {
        sequence: 1,
        at: "2026-01-01 10:00".to_owned(),
        time: "10:00".to_owned(),
        kind: "note_added".to_owned(),
        text: "Incident Commander: a note".to_owned(),
        starred: true,
    };
    DraftFacts {
        incident: "INC-1".to_owned(),
        title: "<title>".to_owned(),
        summary: "<summary>".to_owned(),
        severity: "SEV2".to_owned(),
        potential: false,
        status: "resolved".to_owned(),
        visibility: "internal".to_owned(),
        services: vec!["api".to_owned()],
        declared_at: "2026-01-01 10:00".to_owned(),
        resolved_at: Some("2026-01-01 11:00".to_owned()),
        impact: draft::Impact {
            start: Some("2026-01-01 09:55".to_owned()),
            end: Some("2026-01-01 10:58".to_owned()),
            duration_minutes: Some(63),
            recorded: true,
        },
        severity_history: vec![draft::SeverityStep {
            at: "2026-01-01 10:00".to_owned(),
            severity: "SEV2".to_owned(),
            potential: false,
            reason: String::new(),
        }],
        people: vec![draft::PersonRow {
            variable: "Incident Commander".to_owned(),
            person: "alice".to_owned(),
            role: "Incident Commander".to_owned(),
            from: "2026-01-01 10:00".to_owned(),
            to: String::new(),
        }],
        timeline: vec![line.clone()],
        excluded_entries: 0,
        operations: vec![line.clone()],
        updates: vec![line],
        action_items: vec![draft::ActionRow {
            item: 1,
            text: "<action>".to_owned(),
            owner: "Operations A".to_owned(),
            due: "2026-02-01".to_owned(),
            kind: "follow-up".to_owned(),
            state: "open".to_owned(),
            tracker_url: "https://tracker.example/T-1".to_owned(),
        }],
        evidence: vec![draft::EvidenceRow {
            name: "log.txt".to_owned(),
            media_type: "text/plain".to_owned(),
            size: 10,
            sha256: "0".repeat(64),
            added_by: "Operations A".to_owned(),
            at: "2026-01-01 10:10".to_owned(),
        }],
        links: vec![draft::LinkRow {
            kind: "ticket".to_owned(),
            url: "https://tracker.example/T-1".to_owned(),
            title: "T-1".to_owned(),
        }],
        participants: vec!["Incident Commander".to_owned()],
    }
}

/// Event types a draft leaves out.
const SKIPPED: &[&str] = &[
    "postmortem_drafted",
    "postmortem_revised",
    "postmortem_owner_changed",
    "postmortem_submitted",
    "postmortem_commented",
    "postmortem_tagged",
    "postmortem_approved",
    "postmortem_reviewed",
    "postmortem_published",
    "timeline_entry_marked",
    "review_meeting_scheduled",
    "review_meeting_held",
];

/// Every event of an incident's stream that a draft tells of, in order.
pub async fn entries<S: Store>(
    store: &S,
    incident: IncidentNumber,
) -> Result<Vec<(u64, Envelope)>, StoreError> {
    const PAGE: u32 = 2_000;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_stream(incident, after, PAGE).await?;
        let done = page.len() < PAGE as usize;
        for stored in &page {
            after = stored.link.sequence;
            // The post-mortem's own events (each revision holds the whole text) and the
            // review meetings are not part of what a draft tells: not decoding them spares
            // parsing megabytes per revision.
            if SKIPPED.contains(&stored.link.event_type.as_str()) {
                continue;
            }
            let event: RecordedEvent = stored.decode()?;
            all.push((event.sequence, event.into_envelope()));
        }
        if done {
            return Ok(all);
        }
    }
}

/// A fresh draft: the facts of the whole stream rendered with the template, then every
/// known person's name outside the People section replaced by their role variable.
pub async fn draft_body<S: Store + Directory + Communications>(
    store: &S,
    roles: &hereby_core::RoleCatalogue,
    number: IncidentNumber,
    incident: &Incident,
    template: &Template,
) -> Result<String, AppError> {
    let envelopes = entries(store, number).await?;
    let users: Vec<String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|user| user.name.to_string())
        .collect();
    Ok(compose(
        number, incident, &envelopes, roles, template, &users,
    )?)
}

/// The draft of an incident's post-mortem from its events (with their sequence numbers), in
/// `template`, with the names of `users` and of everyone who took part replaced by role
/// variables outside the People section. Pure: what [`draft_body`] does after reading.
pub fn compose(
    number: IncidentNumber,
    incident: &Incident,
    envelopes: &[(u64, Envelope)],
    roles: &hereby_core::RoleCatalogue,
    template: &Template,
    users: &[String],
) -> Result<String, TemplateError> {
    let entries = listed(envelopes);
    let (mut facts, variables) = draft::facts(number, incident, &entries, roles);
    let mut people = known_people(users, &variables);
    let body = render(&template.body, &facts)?;
    let (substituted, mentioned) = lint::substitute_names_reporting(&body, &people);
    if mentioned.is_empty() {
        return Ok(substituted);
    }
    // People the record mentions who had no part (a name typed into a note) get a variable
    // of their own and a row in the People section, so that no name is left in the text.
    for (index, person) in mentioned.into_iter().enumerate() {
        let Some(person) = people.get_mut(person) else {
            continue;
        };
        let variable = format!("Person {}", draft::letters(index));
        facts.people.push(draft::PersonRow {
            variable: variable.clone(),
            person: person.names.first().cloned().unwrap_or_default(),
            role: "mentioned in the record".to_owned(),
            from: String::new(),
            to: String::new(),
        });
        person.role_variable = Some(variable);
    }
    let body = render(&template.body, &facts)?;
    Ok(lint::substitute_names(&body, &people))
}

/// Every user, with the role variable of those who took part.
fn known_people(users: &[String], variables: &RoleVariables) -> Vec<Person> {
    let mut by_name: BTreeMap<String, Option<String>> =
        users.iter().map(|name| (name.clone(), None)).collect();
    for (person, variable) in variables.iter() {
        by_name.insert(person.to_string(), Some(variable.to_owned()));
    }
    by_name
        .into_iter()
        .map(|(name, role_variable)| Person {
            names: vec![name],
            role_variable,
        })
        .collect()
}

/// Everyone the linter should recognise: every user of the installation, with the role
/// variable of those who took part.
pub async fn people<S: Directory>(
    store: &S,
    variables: &RoleVariables,
) -> Result<Vec<Person>, StoreError> {
    let users: Vec<String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|user| user.name.to_string())
        .collect();
    Ok(known_people(&users, variables))
}

/// The role variables of the incident's people, from its stream.
pub async fn role_variables<S: Store>(
    store: &S,
    roles: &hereby_core::RoleCatalogue,
    number: IncidentNumber,
) -> Result<RoleVariables, StoreError> {
    let envelopes = entries(store, number).await?;
    Ok(draft::role_variables(&listed(&envelopes), roles))
}

/// The events as the drafting functions take them.
fn listed(envelopes: &[(u64, Envelope)]) -> Vec<draft::Entry<'_>> {
    envelopes
        .iter()
        .map(|(sequence, envelope)| draft::Entry {
            sequence: *sequence,
            envelope,
        })
        .collect()
}

/// The shipped blame rules and the admins' own.
pub async fn blame_rules<S: Communications>(
    store: &S,
) -> Result<Vec<(BlameRule, &'static str)>, StoreError> {
    let mut rules: Vec<(BlameRule, &'static str)> = lint::default_blame_rules()
        .into_iter()
        .map(|rule| (rule, "default"))
        .collect();
    for setting in store.list_settings(BLAME_RULE_KIND).await? {
        rules.push((
            BlameRule {
                pattern: setting.name,
                suggestion: setting.value,
            },
            "custom",
        ));
    }
    Ok(rules)
}

/// The linter's findings in `body`, and `body` with every known person's name replaced by
/// their role variable. The check runs off the async threads: it takes a while on the text of
/// a long incident.
pub async fn lint_body<S: Store + Directory + Communications>(
    store: &S,
    roles: &hereby_core::RoleCatalogue,
    number: IncidentNumber,
    body: String,
) -> Result<(Vec<lint::Finding>, String), AppError> {
    let variables = role_variables(store, roles, number).await?;
    let people = people(store, &variables).await?;
    let rules: Vec<BlameRule> = blame_rules(store)
        .await?
        .into_iter()
        .map(|(rule, _)| rule)
        .collect();
    tokio::task::spawn_blocking(move || {
        (
            lint::lint(&body, &rules, &people),
            lint::substitute_names(&body, &people),
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("the linter stopped: {e}")))
}

/// The text of one revision: the body of the event at `sequence`.
pub async fn body_at<S: Store>(
    store: &S,
    incident: IncidentNumber,
    sequence: u64,
) -> Result<String, AppError> {
    let stored = store
        .read_stream(incident, sequence.saturating_sub(1), 1)
        .await?;
    let event = stored
        .first()
        .map(hereby_store::StoredEvent::decode)
        .transpose()?;
    match event.map(|event| event.event) {
        Some(Event::PostmortemDrafted(drafted)) => Ok(drafted.body.to_string()),
        Some(Event::PostmortemRevised(revised)) => Ok(revised.body.to_string()),
        _ => Err(AppError::Store(StoreError::Corrupt(format!(
            "{incident} event #{sequence} is not a post-mortem revision"
        )))),
    }
}

/// One saved revision.
#[derive(Debug, Clone)]
pub struct RevisionRecord {
    pub revision: u32,
    pub sequence: u64,
    pub at: Timestamp,
    pub by: UserName,
    pub comment: Option<String>,
}

/// One reviewer comment.
#[derive(Debug, Clone)]
pub struct CommentRecord {
    pub revision: u32,
    pub at: Timestamp,
    pub by: UserName,
    pub text: String,
}

/// Every event of one type in an incident's stream, in order, read a page at a time.
pub async fn all_of_type<S: Store>(
    store: &S,
    incident: IncidentNumber,
    event_type: &str,
) -> Result<Vec<RecordedEvent>, StoreError> {
    const PAGE: u32 = 500;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .read_stream_of_type(incident, event_type, after, PAGE)
            .await?;
        let done = page.len() < PAGE as usize;
        for stored in &page {
            let event = stored.decode()?;
            after = event.sequence;
            all.push(event);
        }
        if done {
            return Ok(all);
        }
    }
}

/// Every revision and comment of the post-mortem, from the stream.
pub async fn history<S: Store>(
    store: &S,
    incident: IncidentNumber,
) -> Result<(Vec<RevisionRecord>, Vec<CommentRecord>), StoreError> {
    let mut revisions = Vec::new();
    for event_type in ["postmortem_drafted", "postmortem_revised"] {
        for event in all_of_type(store, incident, event_type).await? {
            let (revision, comment) = match &event.event {
                Event::PostmortemDrafted(_) => (1, None),
                Event::PostmortemRevised(revised) => (
                    revised.revision,
                    revised.comment.as_ref().map(|c| c.to_string()),
                ),
                _ => continue,
            };
            revisions.push(RevisionRecord {
                revision,
                sequence: event.sequence,
                at: event.at,
                by: event.actor,
                comment,
            });
        }
    }
    revisions.sort_by_key(|record| record.revision);
    let mut comments = Vec::new();
    for event in all_of_type(store, incident, "postmortem_commented").await? {
        if let Event::PostmortemCommented(commented) = event.event {
            comments.push(CommentRecord {
                revision: commented.revision,
                at: event.at,
                by: event.actor,
                text: commented.text.to_string(),
            });
        }
    }
    Ok((revisions, comments))
}

/// The post-mortem's title line for exports.
pub fn title(number: IncidentNumber, incident: &Incident) -> String {
    format!("{number}: {}", incident.title)
}

/// The part of `body` under the `## Timeline` heading, up to the next level-2 heading.
fn timeline_section(body: &str) -> Option<(usize, usize)> {
    let start = section_start(body, "## Timeline")?;
    let rest = &body[start..];
    let end = rest
        .match_indices("\n## ")
        .next()
        .map_or(body.len(), |(at, _)| start + at + 1);
    Some((start, end))
}

fn section_start(body: &str, heading: &str) -> Option<usize> {
    if body.starts_with(heading) {
        return Some(0);
    }
    body.match_indices(&format!("\n{heading}"))
        .map(|(at, _)| at + 1)
        .find(|&at| {
            body[at + heading.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == '\n' || c == '\r' || c == ' ')
        })
}

/// `current` with its Timeline section replaced by the one in `fresh`, so that stars and
/// exclusions made after drafting reach the text without losing anyone's edits elsewhere.
pub fn replace_timeline(current: &str, fresh: &str) -> Result<String, AppError> {
    let missing = |which: &str| AppError::Refused {
        code: "no_timeline_section",
        message: format!("the {which} has no `## Timeline` section to replace"),
    };
    let (start, end) = timeline_section(current).ok_or_else(|| missing("post-mortem"))?;
    let (fresh_start, fresh_end) =
        timeline_section(fresh).ok_or_else(|| missing("template's draft"))?;
    Ok(format!(
        "{}{}{}",
        &current[..start],
        &fresh[fresh_start..fresh_end],
        &current[end..]
    ))
}

/// A unified diff of two revisions. Bounded in time: past a second the diff algorithm gives a
/// coarser (still correct) answer instead of holding the server on two huge, very different
/// texts.
pub fn unified_diff(old: &str, new: &str, from: &str, to: &str) -> String {
    similar::TextDiff::configure()
        .timeout(std::time::Duration::from_secs(1))
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string()
}

/// A checked document, or a clear error when the text is empty or too long.
pub fn document(body: &str) -> Result<Document, AppError> {
    Ok(Document::parse(body)?)
}

/// The wire shape of a post-mortem with its text.
pub fn wire(
    number: IncidentNumber,
    postmortem: &Postmortem,
    body: String,
) -> hereby_api::Postmortem {
    hereby_api::Postmortem {
        id: number.to_string(),
        status: postmortem.status.to_string(),
        owner: postmortem.owner.to_string(),
        template: postmortem.template.to_string(),
        revision: postmortem.revision,
        revised_at: postmortem.revised_at.to_string(),
        revised_by: postmortem.revised_by.to_string(),
        approvals: postmortem.approvals.iter().map(|a| a.to_string()).collect(),
        comments: postmortem.comments,
        reviewed_at: postmortem.reviewed_at.map(|at| at.to_string()),
        published_at: postmortem.published_at.map(|at| at.to_string()),
        body,
    }
}

/// The shipped template of that name, for tests and benchmarks that render without a store.
pub fn shipped(name: &str) -> Option<Template> {
    effective(&[])
        .into_iter()
        .find(|template| template.name == name)
}

/// Finds a template by name among those in effect.
pub async fn find_template<S: Communications>(
    store: &S,
    raw: &str,
) -> Result<(TemplateName, Template), AppError> {
    let not_found = || AppError::not_found(format!("post-mortem template `{raw}`"));
    let name = TemplateName::parse(raw).map_err(|_| not_found())?;
    let stored = store.list_settings(TEMPLATE_KIND).await?;
    let template = effective(&stored)
        .into_iter()
        .find(|template| template.name == name.as_str())
        .ok_or_else(not_found)?;
    Ok((name, template))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_pass_their_own_check() {
        for shipped in SHIPPED {
            assert_eq!(check(shipped.body), Ok(()), "{}", shipped.name);
        }
    }

    #[test]
    fn bad_templates_are_refused_with_their_line() {
        let unknown = check("# {{ incident }}\n{{ nope }}").unwrap_err();
        assert_eq!(unknown.line, Some(2));
        assert!(unknown.problem.contains("unknown variable `nope`"));
        assert!(check("{% for x in timeline %}").is_err());
        assert!(check("   ").is_err());
        let runaway = check(
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        );
        assert!(runaway.is_err());
    }

    #[test]
    fn the_timeline_section_is_replaced_and_the_rest_kept() {
        let current =
            "# T\n\n## Summary\nMine.\n\n## Timeline\nold 1\nold 2\n\n## Analysis\nOurs.\n";
        let fresh = "# T\n\n## Summary\n_x_\n\n## Timeline\nnew 1\n\n## Analysis\n_y_\n";
        assert_eq!(
            replace_timeline(current, fresh).unwrap(),
            "# T\n\n## Summary\nMine.\n\n## Timeline\nnew 1\n\n## Analysis\nOurs.\n"
        );
        assert!(replace_timeline("# T\n## Timelines\n", fresh).is_err());
    }
}
