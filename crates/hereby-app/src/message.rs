//! What a notification says: a subject and a plain-text (Markdown) body per kind of event,
//! and the JSON a webhook receives. Rendered once, when the notification is queued, so a
//! retry sends exactly what the first attempt sent.

use hereby_core::Incident;
use hereby_core::review::AgendaItem;
use hereby_core::types::IncidentNumber;
use jiff::Timestamp;
use serde_json::{Value, json};

/// The kinds of notification a subscription can ask for (the API document lists the same).
pub const KINDS: &[&str] = hereby_api::vocabulary::NOTIFICATION_EVENTS;

/// What happened, with what a message needs to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Declared,
    SeverityChanged {
        from: String,
        to: String,
        reason: String,
    },
    StatusChanged {
        from: String,
        to: String,
        reason: Option<String>,
    },
    UpdatePosted {
        audience: String,
        body: String,
        public: bool,
    },
    Resolved,
    RoleAssigned {
        role: String,
        person: String,
    },
    Reminder {
        person: Option<String>,
        due: Timestamp,
    },
    /// A post-mortem review meeting is coming up. Subscriptions that ask for `reminder` get
    /// it too.
    ReviewReminder {
        meeting: u32,
        at: Timestamp,
        /// The person reminded of their own follow-ups; `None` for a subscription's notice.
        person: Option<String>,
        /// The open follow-ups: the person's own, or every one for a subscription.
        follow_ups: Vec<AgendaItem>,
        /// The meeting's iCalendar invitation, which a webhook receives as `ics`.
        ics: Option<String>,
    },
    /// Two people changed production in the same window; the Incident Commander hears of it.
    ChangeCollision {
        collision: u32,
        earlier_by: String,
        earlier_target: String,
        later_by: String,
        target: String,
    },
    /// Someone is asked to take command; they hear of it at their own address.
    HandoffRequested {
        from: String,
        to: String,
    },
    /// The person asked to take command said no; the commander hears of it.
    HandoffDeclined {
        to: String,
        reason: Option<String>,
    },
    /// An admin's test of a channel.
    Test,
}

impl Happening {
    pub fn kind(&self) -> &'static str {
        match self {
            Happening::Declared => "declared",
            Happening::SeverityChanged { .. } => "severity_changed",
            Happening::StatusChanged { .. } => "status_changed",
            Happening::UpdatePosted { .. } => "update_posted",
            Happening::Resolved => "resolved",
            Happening::RoleAssigned { .. } => "role_assigned",
            Happening::Reminder { .. } => "reminder",
            Happening::ReviewReminder { .. } => "review_reminder",
            Happening::ChangeCollision { .. } => "change_collision",
            Happening::HandoffRequested { .. } => "handoff_requested",
            Happening::HandoffDeclined { .. } => "handoff_declined",
            Happening::Test => "test",
        }
    }
}

/// A rendered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    pub payload: String,
}

/// The link to an incident's page, when the server's address is known.
pub fn incident_link(public_url: Option<&str>, number: IncidentNumber) -> Option<String> {
    public_url.map(|base| format!("{}/incidents/{number}", base.trim_end_matches('/')))
}

/// Renders a notification about `incident`. `personal` words a role assignment for the
/// person who got the role.
pub fn render(
    happening: &Happening,
    number: IncidentNumber,
    incident: &Incident,
    at: Timestamp,
    public_url: Option<&str>,
    personal: bool,
) -> Message {
    let title = incident.title.as_str();
    let (headline, detail) = match happening {
        Happening::Declared => (
            format!("declared ({})", incident.severity.as_str()),
            incident
                .summary
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ),
        Happening::SeverityChanged { from, to, reason } => (
            format!("severity {from} → {to}"),
            format!("Reason: {reason}"),
        ),
        Happening::StatusChanged { from, to, reason } => (
            format!("status {from} → {to}"),
            reason
                .as_ref()
                .map(|r| format!("Reason: {r}"))
                .unwrap_or_default(),
        ),
        Happening::UpdatePosted { audience, body, .. } => {
            (format!("update for {audience}"), body.clone())
        }
        Happening::Resolved => (
            "resolved".to_owned(),
            "Service is restored. Follow-up work continues in the post-mortem.".to_owned(),
        ),
        Happening::RoleAssigned { role, person } if personal => (
            format!("you are now {role}"),
            format!("{person}, you were given the {role} role on this incident."),
        ),
        Happening::RoleAssigned { role, person } => {
            (format!("{person} is now {role}"), String::new())
        }
        Happening::Reminder { person, due } => (
            "stakeholder update overdue".to_owned(),
            format!(
                "{}a stakeholder update was due at {} and none has been posted since.",
                person
                    .as_ref()
                    .map(|p| format!("{p}: "))
                    .unwrap_or_default(),
                hereby_core::when::clock(*due)
            ),
        ),
        Happening::ReviewReminder {
            meeting,
            at,
            person,
            follow_ups,
            ..
        } => review_text(*meeting, *at, person.as_deref(), follow_ups),
        Happening::ChangeCollision {
            collision,
            earlier_by,
            earlier_target,
            later_by,
            target,
        } => (
            format!("change collision {collision}"),
            format!(
                "{later_by} changed {target} and {earlier_by} changed {earlier_target} in the same window, without an acknowledgement in between: a recovery cannot be attributed to either change. Coordinate the changes and acknowledge them on the incident."
            ),
        ),
        Happening::HandoffRequested { from, to } => (
            format!("{from} asks you to take command"),
            format!(
                "{to}, {from} asks you to take over as Incident Commander of {number}. Nothing changes until you accept: accept or decline on the incident's page (or `hereby role accept {number}`, `hereby role decline {number} --reason …`)."
            ),
        ),
        Happening::HandoffDeclined { to, reason } => (
            format!("{to} declined command"),
            match reason {
                Some(reason) => format!(
                    "{to} declined to take command of {number}: {reason}\nYou are still the Incident Commander; ask someone else."
                ),
                None => format!(
                    "{to} declined to take command of {number}.\nYou are still the Incident Commander; ask someone else."
                ),
            },
        ),
        Happening::Test => (
            "test notification".to_owned(),
            "This is a test of the channel's settings; no incident changed.".to_owned(),
        ),
    };
    let subject = format!("[{number}] {title}: {headline}");
    let link = incident_link(public_url, number);
    let mut body = format!(
        "{number}: {title}\nSeverity: {}\nStatus: {}\n",
        incident.severity.as_str(),
        incident.status.as_str()
    );
    if !detail.is_empty() {
        body.push('\n');
        body.push_str(&detail);
        body.push('\n');
    }
    if let Some(link) = &link {
        body.push('\n');
        body.push_str(link);
        body.push('\n');
    }
    let mut payload = json!({
        "kind": happening.kind(),
        "at": at.to_string(),
        "subject": subject,
        "text": body,
        "incident": {
            "id": number.to_string(),
            "title": title,
            "severity": incident.severity.as_str(),
            "status": incident.status.as_str(),
            "visibility": incident.visibility.as_str(),
            "url": link,
        },
    });
    if let Value::Object(fields) = &mut payload {
        let detail = match happening {
            Happening::SeverityChanged { from, to, reason } => Some((
                "severity",
                json!({ "from": from, "to": to, "reason": reason }),
            )),
            Happening::StatusChanged { from, to, reason } => Some((
                "status",
                json!({ "from": from, "to": to, "reason": reason }),
            )),
            Happening::UpdatePosted {
                audience,
                body,
                public,
            } => Some((
                "update",
                json!({ "audience": audience, "body": body, "public": public }),
            )),
            Happening::RoleAssigned { role, person } => {
                Some(("role", json!({ "role": role, "person": person })))
            }
            Happening::HandoffRequested { from, to } => {
                Some(("handoff", json!({ "from": from, "to": to })))
            }
            Happening::HandoffDeclined { to, reason } => Some((
                "handoff",
                json!({ "to": to, "declined": true, "reason": reason }),
            )),
            Happening::ChangeCollision {
                collision,
                earlier_by,
                earlier_target,
                later_by,
                target,
            } => Some((
                "collision",
                json!({
                    "collision": collision,
                    "earlier": { "by": earlier_by, "target": earlier_target },
                    "later": { "by": later_by, "target": target },
                }),
            )),
            Happening::Reminder { person, due } => Some((
                "reminder",
                json!({ "person": person, "due": due.to_string() }),
            )),
            Happening::ReviewReminder {
                meeting,
                at,
                person,
                follow_ups,
                ..
            } => Some((
                "review",
                json!({
                    "meeting": meeting,
                    "at": at.to_string(),
                    "person": person,
                    "follow_ups": follow_ups.iter().map(|item| json!({
                        "item": item.item,
                        "text": item.text,
                        "owner": item.owner.to_string(),
                        "due": item.due.map(|due| due.to_string()),
                        "overdue": item.overdue,
                        "tracker_url": item.tracker_url.as_ref().map(ToString::to_string),
                    })).collect::<Vec<_>>(),
                }),
            )),
            _ => None,
        };
        if let Some((name, value)) = detail {
            fields.insert(name.to_owned(), value);
        }
        if let Happening::ReviewReminder { ics: Some(ics), .. } = happening {
            fields.insert("ics".to_owned(), Value::String(ics.clone()));
        }
    }
    Message {
        kind: happening.kind(),
        subject,
        body,
        payload: payload.to_string(),
    }
}

/// A meeting time as messages show it, e.g. `2026-05-04 10:00 UTC`.
pub fn meeting_time(at: Timestamp) -> String {
    hereby_core::when::clock(at)
}

/// The headline and the text of a review-meeting reminder.
fn review_text(
    meeting: u32,
    at: Timestamp,
    person: Option<&str>,
    follow_ups: &[AgendaItem],
) -> (String, String) {
    let when = meeting_time(at);
    let mut detail = match person {
        Some(person) => format!(
            "{person}, post-mortem review meeting {meeting} is on {when}. Your open follow-ups:\n"
        ),
        None => format!("Post-mortem review meeting {meeting} is on {when}. Open follow-ups:\n"),
    };
    for item in follow_ups {
        detail.push_str(&format!("- #{} {}", item.item, item.text));
        match (&item.owner, person) {
            (hereby_core::types::Owner::User(_), Some(_)) => {}
            (owner, Some(_)) => detail.push_str(&format!(" (as {owner})")),
            (owner, None) => detail.push_str(&format!(" (owner {owner})")),
        }
        match item.due {
            Some(due) if item.overdue => detail.push_str(&format!(", due {due}: OVERDUE")),
            Some(due) => detail.push_str(&format!(", due {due}")),
            None => detail.push_str(", no due date"),
        }
        if let Some(url) = &item.tracker_url {
            detail.push_str(&format!(", {url}"));
        }
        detail.push('\n');
    }
    if person.is_some() {
        detail.push_str(
            "\nPlease bring them up to date before the meeting; the invitation is attached.",
        );
    }
    let headline = match person {
        Some(_) => format!("review meeting {meeting} on {when}, your follow-ups"),
        None => format!("review meeting {meeting} on {when}"),
    };
    (headline, detail.trim_end().to_owned())
}

/// A Microsoft Teams Workflows body: one Adaptive Card, version 1.4 (Workflows refuse newer
/// ones), the subject in bold over the text.
pub fn teams_body(subject: &str, body: &str) -> String {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": body, "wrap": true},
                ],
            },
        }],
    })
    .to_string()
}

/// A Slack or Mattermost incoming-webhook body.
pub fn slack_body(subject: &str, body: &str) -> String {
    json!({ "text": format!("*{subject}*\n{body}") }).to_string()
}
