//! Post-mortem review meetings: the calendar invitation to an incident's next meeting, the
//! same for the API, the web UI and the reminders the workers send.

use hereby_core::Incident;
use hereby_core::review::agenda;
use hereby_core::types::{IncidentNumber, Owner, UserName};
use hereby_store::{Notifications, Store, StoreError};
use jiff::Timestamp;

use crate::App;

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
        for item in items {
            description.push_str(&format!(
                "- #{} {} — owner {}, {}{}{}, open {} days{}\n",
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
