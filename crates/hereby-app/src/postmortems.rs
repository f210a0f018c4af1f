//! What every edge asks of post-mortems: drafting one from the timeline, writing its Timeline
//! section again, accepting the name substitutions, handing the review on, reading a revision,
//! its history, a diff and the linter's findings, the exports, the steps the actor may take
//! now, and the templates and blame rules admins keep. The API and the web UI call these and
//! only parse requests and shape answers themselves.

use std::collections::BTreeSet;

use hereby_api as api;
use hereby_core::lint::{self, BlameRule};
use hereby_core::offers::{self, PostmortemStep};
use hereby_core::types::{IncidentNumber, InstallationRole, Reason, TemplateName, UserName};
use hereby_core::{Command, Postmortem};
use hereby_store::{AdminSetting, Communications, Directory, Loaded, Outcome, Store, User};
use jiff::Timestamp;

use crate::postmortem::{
    self, BLAME_RULE_KIND, CommentRecord, RevisionRecord, StoredTemplate, TEMPLATE_KIND, Template,
};
use crate::{App, AppError, require};

/// A file an edge hands out as a download: its bytes, what they are and the name to save
/// them under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub content: Vec<u8>,
    /// The media type, with its charset for text.
    pub media_type: &'static str,
    /// The file name, e.g. `inc-7-postmortem-r3.pdf`.
    pub file_name: String,
}

/// The formats a post-mortem is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Json,
    Html,
    Pdf,
}

impl ExportFormat {
    /// The format a request names (`md` or `markdown`, `json`, `html`, `pdf`), if it is one.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "md" | "markdown" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            "html" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Json => "json",
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Json => "application/json",
            Self::Html => "text/html; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }
}

/// The current revision's text and what the linter found in it.
#[derive(Debug, Clone)]
pub struct Linted {
    pub revision: u32,
    pub body: String,
    pub findings: Vec<lint::Finding>,
    /// The text with every known person's name outside the People section replaced by their
    /// role variable (equal to `body` when nobody is named).
    pub substituted: String,
}

impl<S: Store> App<S> {
    /// An incident `actor` may see and its post-mortem; without one, the post-mortem does not
    /// exist.
    pub async fn postmortem_of(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<(Loaded, Postmortem), AppError> {
        let loaded = self.visible(actor, number).await?;
        let postmortem = loaded
            .state
            .incident()
            .and_then(|incident| incident.postmortem.clone())
            .ok_or_else(|| AppError::not_found(format!("post-mortem of {number}")))?;
        Ok((loaded, postmortem))
    }

    /// The post-mortem steps `actor` may take now on an incident they loaded through
    /// [`App::visible`]: none for those whose installation role allows no changes, otherwise
    /// what the core's rules accept.
    pub fn postmortem_steps(&self, actor: &User, loaded: &Loaded) -> BTreeSet<PostmortemStep> {
        let visible = loaded
            .state
            .incident()
            .is_some_and(|incident| incident.visible_to(&actor.name, actor.role));
        if !visible || require(actor, InstallationRole::Responder).is_err() {
            return BTreeSet::new();
        }
        offers::postmortem_steps(
            &loaded.state,
            hereby_core::Context {
                now: Timestamp::now(),
                actor: &actor.name,
                policy: &self.policy,
            },
        )
    }

    /// The text of a revision (the current one unless `revision` names an earlier one).
    pub async fn postmortem_text(
        &self,
        actor: &User,
        number: IncidentNumber,
        revision: Option<u32>,
    ) -> Result<String, AppError> {
        let (_, postmortem) = self.postmortem_of(actor, number).await?;
        let sequence = match revision {
            None => postmortem.body_sequence,
            Some(wanted) => self.revision_sequence(number, wanted).await?,
        };
        postmortem::body_at(&self.store, number, sequence).await
    }

    /// The post-mortem as the API shows it, with the text of the current revision or of the
    /// earlier one `revision` names.
    pub async fn postmortem(
        &self,
        actor: &User,
        number: IncidentNumber,
        revision: Option<u32>,
    ) -> Result<api::Postmortem, AppError> {
        let (_, postmortem) = self.postmortem_of(actor, number).await?;
        let sequence = match revision {
            None => postmortem.body_sequence,
            Some(wanted) => self.revision_sequence(number, wanted).await?,
        };
        let body = postmortem::body_at(&self.store, number, sequence).await?;
        let mut wire = postmortem::wire(number, &postmortem, body);
        if let Some(wanted) = revision {
            wire.revision = wanted;
        }
        Ok(wire)
    }

    /// Every revision and reviewer comment of the post-mortem, oldest first.
    pub async fn postmortem_history(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<(Vec<RevisionRecord>, Vec<CommentRecord>), AppError> {
        self.postmortem_of(actor, number).await?;
        Ok(postmortem::history(&self.store, number).await?)
    }

    /// A unified diff between two revisions: by default from the one before `to` to `to`, and
    /// `to` is the current one.
    pub async fn postmortem_diff(
        &self,
        actor: &User,
        number: IncidentNumber,
        from: Option<u32>,
        to: Option<u32>,
    ) -> Result<api::RevisionDiff, AppError> {
        let (_, postmortem) = self.postmortem_of(actor, number).await?;
        let to = to.unwrap_or(postmortem.revision);
        let from = from.unwrap_or(to.saturating_sub(1).max(1));
        let old = postmortem::body_at(
            &self.store,
            number,
            self.revision_sequence(number, from).await?,
        )
        .await?;
        let new = postmortem::body_at(
            &self.store,
            number,
            self.revision_sequence(number, to).await?,
        )
        .await?;
        let diff = postmortem::unified_diff(
            &old,
            &new,
            &format!("revision {from}"),
            &format!("revision {to}"),
        );
        Ok(api::RevisionDiff { from, to, diff })
    }

    /// The current revision for readers outside hereby, with a footer naming the timeline's
    /// hash-chain head.
    pub async fn postmortem_export(
        &self,
        actor: &User,
        number: IncidentNumber,
        format: ExportFormat,
    ) -> Result<Download, AppError> {
        let (loaded, postmortem) = self.postmortem_of(actor, number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let body = postmortem::body_at(&self.store, number, postmortem.body_sequence).await?;
        let head = self.store.head(number).await?;
        let meta = hereby_report::ReportMeta {
            incident: number.to_string(),
            title: postmortem::title(number, incident),
            state: postmortem.status.to_string(),
            revision: postmortem.revision,
            chain_head: hex::encode(&head.last_hash),
            chain_version: head.version,
            // To the second: the export is made by a person, not a clock race.
            generated_at: Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        let file_name = format!(
            "{}-postmortem-r{}.{}",
            number,
            postmortem.revision,
            format.extension()
        )
        .to_lowercase();
        let content = match format {
            ExportFormat::Json => {
                let document = serde_json::json!({
                    "id": number.to_string(),
                    "title": meta.title,
                    "status": meta.state,
                    "revision": postmortem.revision,
                    "owner": postmortem.owner.to_string(),
                    "approvals": postmortem.approvals.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    "reviewed_at": postmortem.reviewed_at.map(|at| at.to_string()),
                    "published_at": postmortem.published_at.map(|at| at.to_string()),
                    "chain": { "version": head.version, "head": meta.chain_head },
                    "generated_at": meta.generated_at,
                    "sections": sections(&body),
                    "body": body,
                    "footer": hereby_report::footer_line(&meta),
                });
                serde_json::to_vec(&document)
                    .map_err(|e| AppError::Internal(format!("the JSON export failed: {e}")))?
            }
            ExportFormat::Html => hereby_report::html::html_page(&meta, &body).into_bytes(),
            ExportFormat::Pdf => {
                // Laying out a long timeline takes a while: off the async threads.
                tokio::task::spawn_blocking(move || hereby_report::pdf::pdf(&meta, &body))
                    .await
                    .map_err(|e| AppError::Internal(format!("PDF rendering stopped: {e}")))?
                    .map_err(|e| AppError::Internal(format!("PDF rendering failed: {e}")))?
            }
            ExportFormat::Markdown => format!(
                "{}\n\n---\n\n{}\n",
                body.trim_end(),
                hereby_report::footer_line(&meta)
            )
            .into_bytes(),
        };
        Ok(Download {
            content,
            media_type: format.media_type(),
            file_name,
        })
    }

    /// The stream sequence of the event holding a revision's text.
    async fn revision_sequence(
        &self,
        number: IncidentNumber,
        wanted: u32,
    ) -> Result<u64, AppError> {
        let (revisions, _) = postmortem::history(&self.store, number).await?;
        revisions
            .iter()
            .find(|record| record.revision == wanted)
            .map(|record| record.sequence)
            .ok_or_else(|| {
                AppError::not_found(format!("revision {wanted} of {number}'s post-mortem"))
            })
    }
}

impl<S: Store + Directory> App<S> {
    /// Hands the review to `owner` as `actor`. A user the installation does not know is not
    /// found, rather than becoming an owner nobody can be.
    pub async fn delegate_postmortem(
        &self,
        actor: &User,
        number: IncidentNumber,
        expected_version: Option<u64>,
        owner: &str,
    ) -> Result<Outcome, AppError> {
        let to = UserName::parse(owner)?;
        self.store.user(&to).await?;
        self.act(
            actor,
            number,
            expected_version,
            Command::DelegatePostmortem { to },
        )
        .await
    }
}

impl<S: Store + Directory + Communications> App<S> {
    /// Drafts the post-mortem from the whole timeline in `template` (the default one unless
    /// named), with every known person's name outside the People section replaced by their
    /// role variable. The draft is decided against the version it was written from.
    pub async fn draft_postmortem(
        &self,
        actor: &User,
        number: IncidentNumber,
        template: Option<&str>,
    ) -> Result<Outcome, AppError> {
        let loaded = self.visible(actor, number).await?;
        require(actor, InstallationRole::Responder)?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let (name, template) = postmortem::find_template(
            &self.store,
            template.unwrap_or(postmortem::DEFAULT_TEMPLATE),
        )
        .await?;
        // The rules (resolved, not drafted yet) are decided again with the body below; checking
        // them first spares rendering a long timeline only to be refused.
        hereby_core::decide(
            &loaded.state,
            Command::DraftPostmortem {
                template: name.clone(),
                body: postmortem::document("-")?,
            },
            hereby_core::Context {
                now: Timestamp::now(),
                actor: &actor.name,
                policy: &self.policy,
            },
        )
        .map_err(AppError::Rejected)?;
        let body =
            postmortem::draft_body(&self.store, &self.policy.roles, number, incident, &template)
                .await?;
        let command = Command::DraftPostmortem {
            template: name,
            body: postmortem::document(&body)?,
        };
        self.act(actor, number, Some(loaded.version), command).await
    }

    /// Writes the Timeline section again from the events, with the current stars and
    /// exclusions, as a new revision; the other sections stay as they are.
    pub async fn refresh_postmortem_timeline(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<Outcome, AppError> {
        let (loaded, current) = self.postmortem_of(actor, number).await?;
        require(actor, InstallationRole::Responder)?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let (_, template) =
            postmortem::find_template(&self.store, current.template.as_str()).await?;
        let fresh =
            postmortem::draft_body(&self.store, &self.policy.roles, number, incident, &template)
                .await?;
        let body = postmortem::body_at(&self.store, number, current.body_sequence).await?;
        let merged = postmortem::replace_timeline(&body, &fresh)?;
        let command = Command::RevisePostmortem {
            body: postmortem::document(&merged)?,
            base_revision: Some(current.revision),
            comment: Some(Reason::parse("timeline written again from the events")?),
        };
        self.act(actor, number, Some(loaded.version), command).await
    }

    /// Replaces every known person's name in the current revision by their role variable, as
    /// a new revision. Refused when nobody is named.
    pub async fn accept_postmortem_names(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<Outcome, AppError> {
        let loaded = self.visible(actor, number).await?;
        require(actor, InstallationRole::Responder)?;
        let Some(current) = loaded
            .state
            .incident()
            .and_then(|incident| incident.postmortem.clone())
        else {
            return Err(AppError::not_found(format!("post-mortem of {number}")));
        };
        let body = postmortem::body_at(&self.store, number, current.body_sequence).await?;
        let (_, substituted) =
            postmortem::lint_body(&self.store, &self.policy.roles, number, body.clone()).await?;
        if substituted == body {
            return Err(AppError::Refused {
                code: "nothing_to_change",
                message:
                    "the post-mortem names nobody outside its People section; nothing to replace"
                        .to_owned(),
            });
        }
        let command = Command::RevisePostmortem {
            body: postmortem::document(&substituted)?,
            base_revision: Some(current.revision),
            comment: Some(Reason::parse("real names replaced by role variables")?),
        };
        self.act(actor, number, Some(loaded.version), command).await
    }

    /// The current revision with the linter's findings (blame language, real names outside
    /// the People section) and the text with the names substituted.
    pub async fn postmortem_lint(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<Linted, AppError> {
        let (_, postmortem) = self.postmortem_of(actor, number).await?;
        let body = postmortem::body_at(&self.store, number, postmortem.body_sequence).await?;
        let (findings, substituted) =
            postmortem::lint_body(&self.store, &self.policy.roles, number, body.clone()).await?;
        Ok(Linted {
            revision: postmortem.revision,
            body,
            findings,
            substituted,
        })
    }

    /// What still stands between the current text and the end of its review or its
    /// publication: the linter's findings (blame language, real names outside the People
    /// section), template hints nobody filled in (the template's own italic prompts, and
    /// `<…>` placeholders), one line each. `override_reason` is the owner's reason to go
    /// ahead anyway; the core decides.
    pub async fn postmortem_gate(
        &self,
        actor: &User,
        number: IncidentNumber,
        override_reason: Option<hereby_core::types::Reason>,
    ) -> Result<hereby_core::review::ReviewGate, AppError> {
        let linted = self.postmortem_lint(actor, number).await?;
        let (_, postmortem) = self.postmortem_of(actor, number).await?;
        // The italic prompts of the template it was drafted from (`_What happened, …_`),
        // which a finished post-mortem no longer holds.
        let prompts: Vec<String> = self
            .postmortem_templates()
            .await?
            .into_iter()
            .find(|template| template.name == postmortem.template.as_str())
            .map(|template| {
                template
                    .body
                    .lines()
                    .map(str::trim)
                    .filter(|line| {
                        line.len() > 2
                            && line.starts_with('_')
                            && line.ends_with('_')
                            && !line.contains("{{")
                            && !line.contains("{%")
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut findings: Vec<String> = linted
            .findings
            .iter()
            .map(|finding| {
                format!(
                    "line {}: `{}` ({})",
                    finding.line, finding.text, finding.message
                )
            })
            .collect();
        for (index, line) in linted.body.lines().enumerate() {
            let trimmed = line.trim();
            if prompts.iter().any(|prompt| prompt == trimmed) {
                let prompt = trimmed.trim_matches('_');
                let shown: String = prompt.chars().take(48).collect();
                findings.push(format!(
                    "line {}: the template's prompt `{shown}{}` is still there",
                    index + 1,
                    if shown.len() < prompt.len() {
                        "…"
                    } else {
                        ""
                    }
                ));
            }
            for placeholder in hereby_core::placeholders::placeholders(line) {
                findings.push(format!(
                    "line {}: `{placeholder}` is still to be filled in",
                    index + 1
                ));
            }
        }
        Ok(hereby_core::review::ReviewGate {
            findings,
            override_reason,
        })
    }
}

impl<S: Communications> App<S> {
    /// Every post-mortem template in effect: the shipped ones, replaced or joined by admins'.
    pub async fn postmortem_templates(&self) -> Result<Vec<Template>, AppError> {
        let stored = self.store.list_settings(TEMPLATE_KIND).await?;
        Ok(postmortem::effective(&stored))
    }

    /// Checks and stores a post-mortem template as `actor` (an admin), and answers with it as
    /// it is now in effect.
    pub async fn save_postmortem_template(
        &self,
        actor: &User,
        name: &str,
        description: &str,
        body: String,
    ) -> Result<Template, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = TemplateName::parse(name)?;
        postmortem::check(&body)?;
        let setting = AdminSetting {
            kind: TEMPLATE_KIND.to_owned(),
            name: name.to_string(),
            value: serde_json::to_string(&StoredTemplate {
                description: description.trim().to_owned(),
                body,
            })
            .map_err(|e| AppError::Internal(e.to_string()))?,
            updated_at: Timestamp::now(),
            updated_by: actor.name.clone(),
        };
        self.store.put_setting(&setting).await?;
        // Answered from what was stored, not read back: a concurrent removal must not turn a
        // successful save into a "not found".
        postmortem::effective(std::slice::from_ref(&setting))
            .into_iter()
            .find(|template| template.name == setting.name)
            .ok_or_else(|| AppError::Internal("a stored template did not read back".to_owned()))
    }

    /// Removes a stored post-mortem template as `actor` (an admin); a changed default is
    /// shipped again.
    pub async fn remove_postmortem_template(
        &self,
        actor: &User,
        name: &str,
    ) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        if self.store.remove_setting(TEMPLATE_KIND, name).await? {
            Ok(())
        } else {
            Err(AppError::not_found(format!(
                "stored post-mortem template `{name}`"
            )))
        }
    }

    /// The blame-language rules: the shipped ones (`default`) and admins' own (`custom`).
    pub async fn blame_rules(&self) -> Result<Vec<(BlameRule, &'static str)>, AppError> {
        Ok(postmortem::blame_rules(&self.store).await?)
    }

    /// Checks and stores a blame rule of `actor`'s (an admin's). A shipped rule cannot be
    /// added again.
    pub async fn save_blame_rule(
        &self,
        actor: &User,
        pattern: &str,
        suggestion: &str,
    ) -> Result<BlameRule, AppError> {
        require(actor, InstallationRole::Admin)?;
        let rule = BlameRule {
            pattern: pattern.trim().to_owned(),
            suggestion: suggestion.trim().to_owned(),
        };
        let invalid = |message: String| AppError::Refused {
            code: "invalid_rule",
            message,
        };
        lint::check_rule(&rule).map_err(invalid)?;
        if lint::default_blame_rules()
            .iter()
            .any(|shipped| shipped.pattern.eq_ignore_ascii_case(&rule.pattern))
        {
            return Err(invalid(format!(
                "`{}` is already a shipped rule",
                rule.pattern
            )));
        }
        self.store
            .put_setting(&AdminSetting {
                kind: BLAME_RULE_KIND.to_owned(),
                name: rule.pattern.clone(),
                value: rule.suggestion.clone(),
                updated_at: Timestamp::now(),
                updated_by: actor.name.clone(),
            })
            .await?;
        Ok(rule)
    }

    /// Removes a blame rule an admin added; the shipped ones stay.
    pub async fn remove_blame_rule(&self, actor: &User, pattern: &str) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        let pattern = pattern.trim();
        if self.store.remove_setting(BLAME_RULE_KIND, pattern).await? {
            Ok(())
        } else {
            Err(AppError::not_found(format!("added blame rule `{pattern}`")))
        }
    }
}

/// The body split at its level-2 headings: `[{heading, markdown}]`, for readers of the JSON
/// export who want one section.
fn sections(body: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut text = String::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && let Some(title) = line.strip_prefix("## ") {
            out.push(serde_json::json!({ "heading": heading, "markdown": text.trim() }));
            heading = title.trim().to_owned();
            text.clear();
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    out.push(serde_json::json!({ "heading": heading, "markdown": text.trim() }));
    out
}
