//! Post-mortem review meetings: an incident's agenda, minutes and next meeting, recording a
//! meeting, the calendar invitation to the next one (the same for the API, the web UI and the
//! reminders the workers send), and the overview of upcoming meetings and overdue follow-ups
//! across the incidents someone may see.

use hereby_api as api;
use hereby_core::event::FollowUpOutcome;
use hereby_core::review::{AgendaItem, agenda, closable, follow_ups_settled};
use hereby_core::types::{
    ActionState, IncidentNumber, InstallationRole, InvalidValue, Owner, Reason, ReviewDecision,
    Status, Text, UserName,
};
use hereby_core::{Command, Event, Incident};
use hereby_store::{ListQuery, Notifications, Outcome, Store, StoreError, User};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::postmortem::all_of_type;
use crate::postmortems::Download;
use crate::{App, AppError};

/// How long a review meeting is, in the invitation.
const MEETING_MINUTES: u32 = 45;

impl<S: Store + Notifications> App<S> {
    /// The invitation to an incident's next review meeting. `None` when none is planned.
    pub async fn review_invitation(
        &self,
        number: IncidentNumber,
        incident: &Incident,
        stamp: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let Some((meeting, at)) = incident.reviews.next else {
            return Ok(None);
        };
        let emails: std::collections::BTreeMap<String, String> =
            self.store.user_emails().await?.into_iter().collect();
        let person = |name: &UserName| hereby_report::ics::Attendee {
            name: name.to_string(),
            email: emails.get(name.as_str()).cloned(),
        };
        let mut invited: Vec<UserName> = Vec::new();
        let mut invite = |name: &UserName| {
            if !invited.contains(name) {
                invited.push(name.clone());
            }
        };
        if let Some(postmortem) = &incident.postmortem {
            invite(&postmortem.owner);
        }
        if let Some(commander) = incident.commander() {
            invite(commander);
        }
        for item in incident.open_follow_ups() {
            match &item.owner {
                Owner::User(user) => invite(user),
                Owner::Role(role) => incident
                    .holders_of(role.as_str())
                    .iter()
                    .for_each(&mut invite),
            }
        }
        // Only members hear of a restricted incident, in the invitation as everywhere else.
        if incident.visibility == hereby_core::types::Visibility::Restricted {
            invited.retain(|name| incident.is_member(name));
        }
        let organizer = invited.first().map(person);
        let base = self
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/');
        let mut description = format!(
            "Review meeting {meeting} of the post-mortem of {number}: {}.\nThe follow-ups:\n",
            incident.title
        );
        let items = agenda(incident, stamp);
        if items.is_empty() {
            description.push_str("(none recorded)\n");
        }
        let tracked = self
            .store
            .tracked_follow_ups(&hereby_store::TrackedQuery {
                incident: Some(number),
                limit: 10_000,
                ..hereby_store::TrackedQuery::default()
            })
            .await?;
        for item in items {
            let synced = crate::trackers::sync_of(&tracked, item.item, item.tracker.as_ref())
                .map(|row| tracker_note(row, stamp))
                .unwrap_or_default();
            description.push_str(&format!(
                "- #{} {} — owner {}, {}{}{}, open {} days{}{synced}\n",
                item.item,
                item.text,
                item.owner,
                item.state,
                item.due
                    .map(|due| format!(", due {due}"))
                    .unwrap_or_default(),
                if item.overdue { " (overdue)" } else { "" },
                item.days_open,
                item.tracker_url
                    .map(|url| format!(", {url}"))
                    .unwrap_or_default(),
            ));
        }
        let host = base
            .split("://")
            .nth(1)
            .unwrap_or("hereby.invalid")
            .split('/')
            .next()
            .unwrap_or("hereby.invalid");
        Ok(Some(hereby_report::ics::review_invite(
            &hereby_report::ics::ReviewInvite {
                uid: format!(
                    "{}-review-{meeting}@{host}",
                    number.to_string().to_lowercase()
                ),
                // Each move of the meeting is a new event on the timeline; the version number
                // tells calendars that this invitation replaces the earlier ones.
                sequence: u32::try_from(incident.version % u64::from(u32::MAX)).unwrap_or(0),
                stamp,
                starts_at: at,
                duration_minutes: MEETING_MINUTES,
                summary: format!(
                    "Post-mortem review {meeting} for {number}: {}",
                    incident.title
                ),
                description,
                url: (!base.is_empty()).then(|| format!("{base}/incidents/{number}/reviews")),
                organizer,
                attendees: invited.iter().map(person).collect(),
            },
        )))
    }
}

/// How a tracked follow-up's sync stands, in a few words for an agenda line: "; in GitHub
/// acme/api#12, synced 5 min ago" or the sync error.
pub(crate) fn tracker_note(row: &hereby_store::TrackedFollowUp, now: Timestamp) -> String {
    let issue = row.key.as_deref().unwrap_or("(being opened)");
    let when = match row.synced_at {
        Some(at) => {
            let minutes = now.duration_since(at).as_secs().max(0) / 60;
            match minutes {
                0 => "synced just now".to_owned(),
                1..=119 => format!("synced {minutes} min ago"),
                _ if minutes < 48 * 60 => format!("synced {} h ago", minutes / 60),
                _ => format!("synced {} days ago", minutes / (24 * 60)),
            }
        }
        None => "not synced yet".to_owned(),
    };
    match &row.sync_error {
        Some(error) => format!("; tracker {} {issue}, sync failed: {error}", row.tracker),
        None => format!("; tracker {} {issue}, {when}", row.tracker),
    }
}

/// Incidents read at a time for the overview.
const OVERVIEW_PAGE: u32 = 500;

/// An agenda item as the API shows it, with its tracker issue's sync state from `tracked`
/// (the incident's tracked follow-ups) when it is kept in a tracker.
fn wire_agenda(
    number: IncidentNumber,
    item: AgendaItem,
    tracked: &[hereby_store::TrackedFollowUp],
) -> api::AgendaItem {
    // A follow-up being opened in a tracker has no sync to tell of yet, but is the tracker's
    // all the same.
    let synced = item.tracker.as_ref().map(|link| {
        match crate::trackers::sync_of(tracked, item.item, Some(link)) {
            Some(row) => crate::trackers::wire(row.clone()),
            None => api::TrackedFollowUp {
                incident: number.to_string(),
                item: item.item,
                tracker: link.tracker.to_string(),
                key: link.key.as_ref().map(ToString::to_string),
                url: None,
                state: None,
                reason: None,
                synced_at: None,
                sync_error: None,
                error_at: None,
            },
        }
    });
    api::AgendaItem {
        tracked: synced,
        item: item.item,
        text: item.text,
        owner: item.owner.to_string(),
        state: item.state.to_string(),
        due: item.due.map(|due| due.to_string()),
        tracker_url: item.tracker_url.map(|url| url.to_string()),
        days_open: item.days_open,
        overdue: item.overdue,
    }
}

/// The minutes of every meeting held, from the stream.
async fn minutes<S: Store>(
    store: &S,
    number: IncidentNumber,
) -> Result<Vec<api::HeldMeeting>, StoreError> {
    let mut held = Vec::new();
    for event in all_of_type(store, number, "review_meeting_held").await? {
        if let Event::ReviewMeetingHeld(meeting) = event.event {
            held.push(api::HeldMeeting {
                meeting: meeting.meeting,
                at: event.at.to_string(),
                attendees: meeting.attendees.iter().map(|a| a.to_string()).collect(),
                notes: meeting.notes.map(|n| n.to_string()),
                outcomes: meeting
                    .outcomes
                    .into_iter()
                    .map(|outcome| api::Outcome {
                        item: outcome.item,
                        decision: outcome.decision.to_string(),
                        reason: outcome.reason.map(|r| r.to_string()),
                        due: outcome.due.map(|d| d.to_string()),
                    })
                    .collect(),
            });
        }
    }
    Ok(held)
}

/// The command that records the meeting a request describes.
fn meeting_command(request: &api::RecordMeeting) -> Result<Command, InvalidValue> {
    let attendees = request
        .attendees
        .iter()
        .map(|name| UserName::parse(name))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = request
        .outcomes
        .iter()
        .map(|outcome| {
            Ok(FollowUpOutcome {
                item: outcome.item,
                decision: ReviewDecision::parse(&outcome.decision)?,
                reason: outcome.reason.as_deref().map(Reason::parse).transpose()?,
                due: outcome
                    .due
                    .as_deref()
                    .map(|raw| {
                        raw.trim().parse::<Date>().map_err(|_| InvalidValue {
                            field: "due",
                            problem: format!("`{raw}` is not a date like 2026-12-31"),
                        })
                    })
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, InvalidValue>>()?;
    Ok(Command::RecordReviewMeeting {
        attendees,
        notes: request.notes.as_deref().map(Text::parse).transpose()?,
        outcomes,
        held_at: request
            .at
            .as_deref()
            .map(str::trim)
            .filter(|at| !at.is_empty())
            .map(hereby_api::time("at"))
            .transpose()?,
    })
}

impl<S: Store + hereby_store::Directory + Notifications> App<S> {
    /// An incident's reviews: the agenda (every follow-up, open ones first), the next meeting,
    /// the minutes of those held, and whether it may close now.
    pub async fn reviews(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<api::Reviews, AppError> {
        let loaded = self.visible(actor, number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let now = Timestamp::now();
        let tracked = self.tracked_rows(number).await?;
        Ok(api::Reviews {
            id: number.to_string(),
            title: incident.title.to_string(),
            status: incident.status.to_string(),
            next: incident.reviews.next.map(|(meeting, at)| api::NextMeeting {
                meeting,
                at: at.to_string(),
                ics_url: format!("/api/v1/incidents/{number}/reviews/next.ics"),
            }),
            agenda: agenda(incident, now)
                .into_iter()
                .map(|item| wire_agenda(number, item, &tracked))
                .collect(),
            held: minutes(&self.store, number).await?,
            follow_ups_settled: follow_ups_settled(incident),
            postmortem_status: incident
                .postmortem
                .as_ref()
                .map(|postmortem| postmortem.status.to_string()),
            closable: closable(incident),
        })
    }

    /// Records a review meeting as `actor`: who came, and what became of each follow-up
    /// discussed. While a follow-up stays open, the next meeting is scheduled.
    pub async fn record_review_meeting(
        &self,
        actor: &User,
        number: IncidentNumber,
        expected_version: Option<u64>,
        request: &api::RecordMeeting,
    ) -> Result<Outcome, AppError> {
        let command = meeting_command(request)?;
        self.act(actor, number, expected_version, command).await
    }

    /// Resolved incidents `actor` may see with a meeting planned or follow-ups open, soonest
    /// meeting first, with their overdue follow-ups.
    pub async fn reviews_overview(&self, actor: &User) -> Result<api::ReviewOverview, AppError> {
        let now = Timestamp::now();
        let admin = actor.role == InstallationRole::Admin;
        let mut rows = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .store
                .list_incidents(&ListQuery {
                    limit: OVERVIEW_PAGE,
                    before,
                    statuses: vec![Status::Resolved],
                    visible_to: (!admin).then(|| actor.name.clone()),
                    ..ListQuery::default()
                })
                .await?;
            let done = page.len() < OVERVIEW_PAGE as usize;
            for summary in &page {
                before = Some(summary.number);
                let loaded = self.store.load(summary.number).await?;
                let Some(incident) = loaded.state.incident() else {
                    continue;
                };
                // Checked again on the loaded state, as every list does: the row may be older.
                if !incident.visible_to(&actor.name, actor.role) {
                    continue;
                }
                let items = agenda(incident, now);
                let open = items
                    .iter()
                    .filter(|item| item.state == ActionState::Open)
                    .count();
                if incident.reviews.next.is_none() && open == 0 {
                    continue;
                }
                rows.push((
                    incident.reviews.next.map(|(_, at)| at),
                    api::ReviewOverviewRow {
                        id: summary.number.to_string(),
                        title: incident.title.to_string(),
                        next_meeting: incident.reviews.next.map(|(_, at)| at.to_string()),
                        open_follow_ups: u32::try_from(open).unwrap_or(u32::MAX),
                        overdue_follow_ups: items
                            .into_iter()
                            .filter(|item| item.overdue)
                            .map(|item| wire_agenda(summary.number, item, &[]))
                            .collect(),
                        postmortem_status: incident
                            .postmortem
                            .as_ref()
                            .map(|postmortem| postmortem.status.to_string()),
                    },
                ));
            }
            if done {
                break;
            }
        }
        rows.sort_by_key(|(next, row)| (next.is_none(), *next, row.id.clone()));
        Ok(api::ReviewOverview {
            incidents: rows.into_iter().map(|(_, row)| row).collect(),
        })
    }
}

impl<S: Store + Notifications> App<S> {
    /// The invitation to the next review meeting of an incident `actor` may see; not found
    /// when none is planned.
    pub async fn next_meeting_ics(
        &self,
        actor: &User,
        number: IncidentNumber,
    ) -> Result<Download, AppError> {
        let loaded = self.visible(actor, number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let ics = self
            .review_invitation(number, incident, Timestamp::now())
            .await?
            .ok_or_else(|| AppError::not_found(format!("a planned review meeting of {number}")))?;
        Ok(Download {
            content: ics.into_bytes(),
            media_type: "text/calendar; charset=utf-8",
            file_name: format!("{}-review.ics", number.to_string().to_lowercase()),
        })
    }
}
