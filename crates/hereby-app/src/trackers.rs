//! Follow-ups kept in issue trackers: asking for one to be opened, the issue's text, recording
//! the issue a tracker made, and what the tracker reports afterwards (its webhook, or the
//! reconcile poll that catches the webhooks that got lost). The rules of what a report
//! changes are the core's (`hereby_core::trackers`); this keeps the link and its sync state.

use hereby_api as api;
use hereby_core::types::{
    IncidentNumber, Reason, Text, TrackedState, TrackerName, Url, UserName, Visibility,
};
use hereby_core::{Command, Incident, RejectionCode};
use hereby_store::{NewDelivery, Notifications, Outcome, Store, TrackedFollowUp, TrackedQuery};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::channels::{ChannelConfig, invalid};
use crate::{App, AppError, User};

/// The kind of the delivery that opens a follow-up in a tracker.
pub const EXPORT_KIND: &str = "follow_up_export";

/// What a tracker is asked to make: the issue for one follow-up. The delivery's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRequest {
    pub incident: u64,
    pub item: u32,
    pub title: String,
    /// Markdown, with links back to the incident and its post-mortem.
    pub body: String,
    pub labels: Vec<String>,
}

/// The issue a tracker made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeIssue {
    /// How its API names it (an issue number, an id).
    pub external: String,
    /// How people name it, e.g. `acme/api#12`.
    pub key: String,
    pub url: String,
}

/// What a tracker says of one of its issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerReport {
    /// How the tracker's API names the issue.
    pub external: String,
    pub news: News,
    /// The webhook delivery's id, so a delivery sent twice is acted on once.
    pub delivery: Option<String>,
}

/// What a tracker's report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// Where the issue stands, with the tracker's reason for closing it and the tracker's
    /// time of its last change (an older report than one already heard changes nothing).
    State {
        state: TrackedState,
        reason: Option<String>,
        updated_at: Option<Timestamp>,
    },
    /// The issue is gone from where hereby follows it (deleted, moved), in these words: a
    /// sync error until someone unlinks the follow-up.
    Gone(String),
}

impl TrackerReport {
    /// A report of where `issue` stands.
    pub fn of(issue: IssueFacts, delivery: Option<String>) -> Self {
        let news = match issue.gone {
            Some(why) => News::Gone(why),
            None => News::State {
                state: issue.state,
                reason: issue.reason,
                updated_at: issue.updated_at,
            },
        };
        TrackerReport {
            external: issue.external,
            news,
            delivery,
        }
    }
}

/// An issue as a tracker's API or webhook describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueFacts {
    pub external: String,
    pub state: TrackedState,
    pub reason: Option<String>,
    pub updated_at: Option<Timestamp>,
    /// The issue left where hereby follows it (moved to another project), in these words.
    pub gone: Option<String>,
}

/// `text` without control characters (a NUL cannot be stored in PostgreSQL's text), at
/// most `most` characters: what a tracker says is kept as words, never as bytes.
fn words(text: &str, most: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(most)
        .collect()
}

/// A time as trackers write them: RFC 3339 (`2021-10-11T16:40:56Z`), or GitLab's older
/// `2017-09-15 16:52:00 UTC`.
pub fn tracker_time(raw: &str) -> Option<Timestamp> {
    let raw = raw.trim();
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Some(at);
    }
    let plain = raw.strip_suffix(" UTC")?.replacen(' ', "T", 1);
    format!("{plain}Z").parse().ok()
}

fn text_of(value: &serde_json::Value, field: &str) -> Option<String> {
    match value.get(field)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A GitHub issue (from the REST API, or the `issue` of an `issues` webhook).
pub fn github_issue(issue: &serde_json::Value) -> Result<IssueFacts, String> {
    let external = issue
        .get("number")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the issue has no number")?
        .to_string();
    let state = text_of(issue, "state").ok_or("the issue has no state")?;
    let state_reason = text_of(issue, "state_reason");
    let (state, reason) = hereby_core::trackers::from_github(&state, state_reason.as_deref())
        .ok_or_else(|| format!("`{state}` is not a GitHub issue state"))?;
    Ok(IssueFacts {
        external,
        state,
        reason: reason.map(str::to_owned),
        updated_at: text_of(issue, "updated_at")
            .as_deref()
            .and_then(tracker_time),
        gone: None,
    })
}

/// A GitLab issue (from the REST API, or the `object_attributes` of an Issue Hook).
pub fn gitlab_issue(issue: &serde_json::Value) -> Result<IssueFacts, String> {
    let external = issue
        .get("iid")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the issue has no iid")?
        .to_string();
    let state = text_of(issue, "state").ok_or("the issue has no state")?;
    let state = hereby_core::trackers::from_gitlab(&state)
        .ok_or_else(|| format!("`{state}` is not a GitLab issue state"))?;
    // Moving an issue closes it where it was: the work is not done, it lives elsewhere.
    let gone = issue
        .get("moved_to_id")
        .filter(|moved| !moved.is_null())
        .map(|moved| {
            format!(
                "the issue was moved to another project (issue id {moved}); unlink the \
                 follow-up and link the new one"
            )
        });
    Ok(IssueFacts {
        external,
        state,
        reason: None,
        updated_at: text_of(issue, "updated_at")
            .as_deref()
            .and_then(tracker_time),
        gone,
    })
}

/// A generic tracker's issue: `{"id", "state": "open|done|wont_do", "reason", "updated_at"}`.
pub fn generic_issue(issue: &serde_json::Value) -> Result<IssueFacts, String> {
    let external = text_of(issue, "id")
        .filter(|id| !id.trim().is_empty() && id.len() <= 200 && !id.chars().any(char::is_control))
        .ok_or("the issue has no id (a string of at most 200 characters, no control characters)")?;
    let state = text_of(issue, "state").ok_or("the issue has no state")?;
    let state = TrackedState::parse(&state).map_err(|e| e.to_string())?;
    Ok(IssueFacts {
        external,
        state,
        reason: text_of(issue, "reason")
            .map(|reason| words(&reason, 2_000))
            .filter(|reason| !reason.trim().is_empty()),
        updated_at: match text_of(issue, "updated_at") {
            Some(raw) => {
                Some(tracker_time(&raw).ok_or_else(|| format!("`{raw}` is not an RFC 3339 time"))?)
            }
            None => None,
        },
        gone: None,
    })
}

/// What became of a tracker's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The follow-up's state changed.
    Changed,
    /// The follow-up already stood so.
    Unchanged,
    /// The delivery was handled before.
    Duplicate,
    /// Older than what was already heard of the issue.
    Stale,
    /// Not an issue hereby opened (or one no longer followed).
    Unknown,
    /// The core refused the change; the reason is kept as the follow-up's sync error.
    Refused(String),
}

impl ReportOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReportOutcome::Changed => "changed",
            ReportOutcome::Unchanged => "unchanged",
            ReportOutcome::Duplicate => "duplicate",
            ReportOutcome::Stale => "stale",
            ReportOutcome::Unknown => "unknown",
            ReportOutcome::Refused(_) => "refused",
        }
    }
}

/// The issue text for follow-up `item` of `incident`. A restricted incident's title stays in
/// hereby: the issue names only its number, and the link asks the reader to sign in.
pub fn issue_request(
    number: IncidentNumber,
    incident: &Incident,
    item: u32,
    public_url: Option<&str>,
) -> Option<IssueRequest> {
    let follow_up = incident.action_items.get(&item)?;
    let text = follow_up.text.as_str();
    let first_line = text.lines().next().unwrap_or_default().trim();
    let mut title: String = first_line.chars().take(200).collect();
    if title.is_empty() {
        title = format!("Follow-up {item} of {number}");
    }
    let base = public_url.unwrap_or("").trim_end_matches('/');
    let about = if incident.visibility == Visibility::Restricted {
        format!("{number} (restricted)")
    } else {
        format!("{number}: {}", incident.title)
    };
    let mut body = format!("{text}\n\n---\nA follow-up of {about}, kept by hereby.\n\n");
    if base.is_empty() {
        body.push_str(&format!("- Incident: {number}\n"));
    } else {
        body.push_str(&format!("- Incident: {base}/incidents/{number}\n"));
        body.push_str(&format!(
            "- Post-mortem: {base}/incidents/{number}/postmortem\n"
        ));
    }
    if let Some(due) = follow_up.due {
        body.push_str(&format!("- Due: {due}\n"));
    }
    body.push_str(&format!("- Owner in hereby: {}\n", follow_up.owner));
    body.push_str(
        "\nClose this issue when the work is done (or as not planned): hereby follows.\n",
    );
    Some(IssueRequest {
        incident: number.0,
        item,
        title,
        body,
        labels: vec!["incident-follow-up".to_owned()],
    })
}

/// The delivery that opens follow-up `item` in the tracker channel `channel_id`, owed by the
/// export request recorded at `position`.
pub fn export_delivery(position: i64, channel_id: i64, request: &IssueRequest) -> NewDelivery {
    NewDelivery {
        key: format!("{position}:tracker"),
        channel_id,
        recipient: Some(request.item.to_string()),
        incident: Some(request.incident),
        kind: EXPORT_KIND.to_owned(),
        subject: request.title.clone(),
        body: request.body.clone(),
        payload: serde_json::to_string(request).unwrap_or_else(|_| "{}".to_owned()),
    }
}

/// The sync record of the follow-up `item` in `rows` (an incident's), if the core says it is
/// kept in that record's tracker: a record left by an unlinked follow-up is history.
pub fn sync_of<'a>(
    rows: &'a [TrackedFollowUp],
    item: u32,
    link: Option<&hereby_core::TrackerLink>,
) -> Option<&'a TrackedFollowUp> {
    let link = link?;
    rows.iter()
        .find(|row| row.item == item && row.tracker == link.tracker.as_str())
}

fn system() -> Result<UserName, AppError> {
    UserName::parse(hereby_core::roles::SYSTEM_ACTOR)
        .map_err(|_| AppError::Internal("the system's name".to_owned()))
}

/// A follow-up's sync record as the API shows it.
pub(crate) fn wire(row: TrackedFollowUp) -> api::TrackedFollowUp {
    api::TrackedFollowUp {
        incident: row.incident.to_string(),
        item: row.item,
        tracker: row.tracker,
        key: row.key,
        url: row.url,
        state: row.state,
        reason: row.reason,
        synced_at: row.synced_at.map(|at| at.to_string()),
        sync_error: row.sync_error,
        error_at: row.error_at.map(|at| at.to_string()),
    }
}

impl<S: Store + Notifications + hereby_store::Directory> App<S> {
    /// Asks, as `actor`, for follow-up `item` of `incident` to be opened in the tracker
    /// channel named `tracker`. The issue is made by the outbox; until it exists, and ever
    /// after, the follow-up's state is the tracker's to say.
    pub async fn export_follow_up(
        &self,
        actor: &User,
        incident: IncidentNumber,
        item: u32,
        tracker: &str,
        expected_version: Option<u64>,
    ) -> Result<Outcome, AppError> {
        // Who may see and change the incident is settled before anything about trackers is
        // said.
        self.visible(actor, incident).await?;
        crate::require(actor, hereby_core::types::InstallationRole::Responder)?;
        let name = TrackerName::parse(tracker)?;
        let trackers: Vec<String> = self
            .trackers()
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        if !trackers.iter().any(|known| known == name.as_str()) {
            let known = if trackers.is_empty() {
                "none is set up (hereby channel add NAME --kind github|gitlab|tracker …)".to_owned()
            } else {
                trackers.join(", ")
            };
            return Err(invalid(
                "tracker",
                format!("there is no tracker `{name}`; trackers here: {known}"),
            )
            .into());
        }
        self.act(
            actor,
            incident,
            expected_version,
            Command::ExportActionItem {
                item,
                tracker: name,
            },
        )
        .await
    }

    /// Stops following the tracker issue of follow-up `item`, as `actor`, saying why: its
    /// state is kept in hereby again, and reports about the issue are ignored.
    pub async fn unlink_follow_up(
        &self,
        actor: &User,
        incident: IncidentNumber,
        item: u32,
        reason: &str,
        expected_version: Option<u64>,
    ) -> Result<Outcome, AppError> {
        let reason = Reason::parse(reason)?;
        let outcome = self
            .act(
                actor,
                incident,
                expected_version,
                Command::UnlinkTracker { item, reason },
            )
            .await?;
        if let Some(mut row) = self.tracked_row(incident, item).await? {
            row.external = None;
            row.sync_error = None;
            row.error_at = None;
            self.store.put_tracked(&row).await?;
        }
        Ok(outcome)
    }
}

impl<S: Store + Notifications> App<S> {
    /// The trackers set up here, by name, with their settings: the channels of a tracker
    /// kind. One reading for every edge that asks which trackers exist.
    pub async fn trackers(&self) -> Result<Vec<(String, ChannelConfig)>, AppError> {
        Ok(self
            .store
            .channels()
            .await?
            .into_iter()
            .filter_map(|channel| {
                let config: ChannelConfig = serde_json::from_str(&channel.config).ok()?;
                config.is_tracker().then_some((channel.name, config))
            })
            .collect())
    }

    async fn tracked_row(
        &self,
        incident: IncidentNumber,
        item: u32,
    ) -> Result<Option<TrackedFollowUp>, AppError> {
        Ok(self
            .store
            .tracked_follow_ups(&TrackedQuery {
                incident: Some(incident),
                item: Some(item),
                limit: 1,
                ..TrackedQuery::default()
            })
            .await?
            .pop())
    }

    /// The issue already made for follow-up `item` of `incident` in `tracker`, if one was: a
    /// delivery tried again after the tracker answered must not make a second one.
    pub async fn made_issue(
        &self,
        incident: IncidentNumber,
        item: u32,
        tracker: &str,
    ) -> Result<Option<MadeIssue>, AppError> {
        let row = self
            .tracked_row(incident, item)
            .await?
            .filter(|row| row.tracker == tracker);
        Ok(row.and_then(|row| {
            Some(MadeIssue {
                external: row.external?,
                key: row.key?,
                url: row.url?,
            })
        }))
    }

    /// Whether follow-up `item` of `incident` still waits for `tracker` to make its issue
    /// (the core's `awaits_issue`): an export delivery owes nothing once the follow-up was
    /// unlinked, or asked of another tracker since.
    pub async fn export_owed(
        &self,
        incident: IncidentNumber,
        item: u32,
        tracker: &str,
    ) -> Result<bool, AppError> {
        let loaded = self.store.load(incident).await?;
        Ok(loaded
            .state
            .incident()
            .and_then(|incident| incident.action_items.get(&item))
            .is_some_and(|item| hereby_core::trackers::awaits_issue(item, tracker)))
    }

    /// Records the issue `tracker` made for follow-up `item`: first the link (so a retry
    /// finds it), then the event on the incident. Recording it again changes nothing; an
    /// issue the follow-up no longer waits for (unlinked meanwhile) is not followed.
    pub async fn issue_made(
        &self,
        incident: IncidentNumber,
        item: u32,
        tracker: &str,
        issue: &MadeIssue,
    ) -> Result<(), AppError> {
        let now = Timestamp::now();
        let previous = self.tracked_row(incident, item).await?;
        let linked_here = previous
            .as_ref()
            .is_some_and(|row| row.external.as_deref() == Some(issue.external.as_str()));
        if !linked_here {
            self.store
                .put_tracked(&TrackedFollowUp {
                    incident,
                    item,
                    tracker: tracker.to_owned(),
                    external: Some(issue.external.clone()),
                    key: Some(issue.key.clone()),
                    url: Some(issue.url.clone()),
                    state: Some(TrackedState::Open.as_str().to_owned()),
                    reason: None,
                    remote_updated_at: None,
                    synced_at: Some(now),
                    sync_error: None,
                    error_at: None,
                    created_at: previous.map_or(now, |row| row.created_at),
                })
                .await?;
        }
        let command = Command::RecordExport {
            item,
            tracker: TrackerName::parse(tracker)?,
            key: Text::parse(&issue.key)?,
            url: Url::parse(&issue.url)?,
        };
        match self.record(&system()?, incident, command).await {
            Ok(_) => Ok(()),
            Err(AppError::Rejected(rejection))
                if rejection.code == RejectionCode::NothingToChange =>
            {
                Ok(())
            }
            Err(AppError::Rejected(rejection)) if rejection.code == RejectionCode::NotTracked => {
                tracing::warn!(
                    %incident,
                    item,
                    tracker,
                    issue = %issue.key,
                    "a tracker made an issue for a follow-up unlinked meanwhile; it is not followed"
                );
                if let Some(mut row) = self.tracked_row(incident, item).await?
                    && row.external.as_deref() == Some(issue.external.as_str())
                {
                    row.external = None;
                    self.store.put_tracked(&row).await?;
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Acts on what `tracker` reports of one of its issues, once per delivery: the core
    /// decides what it changes; the link remembers when it was heard and any refusal.
    pub async fn tracker_reported(
        &self,
        tracker: &str,
        report: &TrackerReport,
    ) -> Result<ReportOutcome, AppError> {
        if let Some(delivery) = &report.delivery
            && self.store.tracker_delivery_seen(tracker, delivery).await?
        {
            return Ok(ReportOutcome::Duplicate);
        }
        let outcome = self.apply_report(tracker, report).await?;
        // Noted once acted on: a delivery that failed half-way is acted on when sent again.
        if let Some(delivery) = &report.delivery {
            self.store
                .note_tracker_delivery(tracker, delivery, Timestamp::now())
                .await?;
        }
        Ok(outcome)
    }

    async fn apply_report(
        &self,
        tracker: &str,
        report: &TrackerReport,
    ) -> Result<ReportOutcome, AppError> {
        let found = self
            .store
            .tracked_follow_ups(&TrackedQuery {
                issue: Some((tracker.to_owned(), report.external.clone())),
                limit: 1,
                ..TrackedQuery::default()
            })
            .await?
            .pop();
        let Some(mut row) = found else {
            return Ok(ReportOutcome::Unknown);
        };
        let (state, reason, updated_at) = match &report.news {
            News::State {
                state,
                reason,
                updated_at,
            } => (*state, reason.clone(), *updated_at),
            News::Gone(why) => {
                self.tracker_sync_failed(row.incident, row.item, tracker, why)
                    .await?;
                return Ok(ReportOutcome::Refused(why.clone()));
            }
        };
        // To the second: GitLab's hooks give seconds where its API gives milliseconds.
        if let (Some(heard), Some(now)) = (row.remote_updated_at, updated_at)
            && now.as_second() < heard.as_second()
        {
            // Heard from, all the same: the poll moves on to other issues.
            row.synced_at = Some(Timestamp::now());
            self.store.put_tracked(&row).await?;
            return Ok(ReportOutcome::Stale);
        }
        let command = Command::ReportTrackerState {
            item: row.item,
            state,
            reason: reason.as_deref().and_then(|why| Reason::parse(why).ok()),
        };
        let outcome = match self.record(&system()?, row.incident, command).await {
            Ok(_) => ReportOutcome::Changed,
            Err(AppError::Rejected(rejection))
                if rejection.code == RejectionCode::NothingToChange =>
            {
                ReportOutcome::Unchanged
            }
            // The follow-up was unlinked: what the tracker says of the issue concerns nobody.
            Err(AppError::Rejected(rejection)) if rejection.code == RejectionCode::NotTracked => {
                return Ok(ReportOutcome::Unknown);
            }
            // Expected: a tracker reopening a closed incident's follow-up.
            Err(AppError::Rejected(rejection))
                if rejection.code == RejectionCode::IncidentEnded =>
            {
                ReportOutcome::Refused(rejection.message)
            }
            Err(error) => return Err(error),
        };
        let now = Timestamp::now();
        row.state = Some(state.as_str().to_owned());
        row.reason = reason.map(|reason| words(&reason, 2_000));
        row.remote_updated_at = updated_at.or(row.remote_updated_at);
        row.synced_at = Some(now);
        match &outcome {
            ReportOutcome::Refused(message) => {
                row.sync_error = Some(message.clone());
                row.error_at = Some(now);
            }
            _ => {
                row.sync_error = None;
                row.error_at = None;
            }
        }
        self.store.put_tracked(&row).await?;
        Ok(outcome)
    }

    /// Remembers that syncing follow-up `item` failed, and why (the tracker refused the token,
    /// the issue is gone): shown on the follow-up and counted in `/metrics` until a sync works.
    pub async fn tracker_sync_failed(
        &self,
        incident: IncidentNumber,
        item: u32,
        tracker: &str,
        error: &str,
    ) -> Result<(), AppError> {
        let now = Timestamp::now();
        let mut row = self
            .tracked_row(incident, item)
            .await?
            .unwrap_or(TrackedFollowUp {
                incident,
                item,
                tracker: tracker.to_owned(),
                external: None,
                key: None,
                url: None,
                state: None,
                reason: None,
                remote_updated_at: None,
                synced_at: None,
                sync_error: None,
                error_at: None,
                created_at: now,
            });
        if row.external.is_none() {
            // Not made yet (or unlinked): the failure is the tracker's asked now.
            row.tracker = tracker.to_owned();
            row.key = None;
            row.url = None;
        }
        row.sync_error = Some(words(error, 1_000));
        row.error_at = Some(now);
        // Tried now: the poll goes on to the others and comes back after its interval.
        row.synced_at = Some(now);
        self.store.put_tracked(&row).await?;
        Ok(())
    }

    /// Tracked follow-ups whose issue was last synced before `before`, least recently synced
    /// first: the reconcile poll's work.
    pub async fn tracked_due(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<TrackedFollowUp>, AppError> {
        Ok(self
            .store
            .tracked_follow_ups(&TrackedQuery {
                synced_before: Some(before),
                limit,
                ..TrackedQuery::default()
            })
            .await?)
    }

    /// The follow-ups of `incident` kept in trackers, with their sync state, for `actor`.
    pub async fn tracked_follow_ups(
        &self,
        actor: &User,
        incident: IncidentNumber,
    ) -> Result<Vec<api::TrackedFollowUp>, AppError> {
        let loaded = self.visible(actor, incident).await?;
        let Some(declared) = loaded.state.incident() else {
            return Ok(Vec::new());
        };
        // The core says which follow-ups are tracked, and where; a row left by an unlinked
        // one is history.
        Ok(self
            .tracked_rows(incident)
            .await?
            .into_iter()
            .filter(|row| {
                declared
                    .action_items
                    .get(&row.item)
                    .and_then(|item| item.tracker.as_ref())
                    .is_some_and(|link| link.tracker.as_str() == row.tracker)
            })
            .map(wire)
            .collect())
    }

    /// The tracked follow-ups of one incident, whoever asks (for the agenda, which has
    /// already admitted its reader).
    pub async fn tracked_rows(
        &self,
        incident: IncidentNumber,
    ) -> Result<Vec<TrackedFollowUp>, AppError> {
        Ok(self
            .store
            .tracked_follow_ups(&TrackedQuery {
                incident: Some(incident),
                limit: 10_000,
                ..TrackedQuery::default()
            })
            .await?)
    }

    /// How many follow-ups each tracker failed to sync last time (every tracker named, with
    /// 0 when all is well), for `/metrics`, which only admins and the metrics token read.
    pub async fn tracker_sync_errors(
        &self,
    ) -> Result<std::collections::BTreeMap<String, u64>, AppError> {
        let mut counts = std::collections::BTreeMap::new();
        for (name, _) in self.trackers().await? {
            counts.insert(name, 0);
        }
        for (tracker, count) in self.store.tracker_sync_errors().await? {
            counts.insert(tracker, count);
        }
        Ok(counts)
    }
}
