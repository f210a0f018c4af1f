//! Status page subscribers: what on an incident is worth telling the public (made public, a
//! public update not marked quiet, resolved, a post-mortem published; never a bare component
//! change), who hears of it (everything, chosen components, or one incident), and the life of
//! a subscription (pending until confirmed, active, unsubscribed) with its one-time codes.

use jiff::{SignedDuration, Timestamp};

use crate::Incident;
use crate::event::Event;
use crate::types::{IncidentNumber, InvalidValue, ServiceName, Status, Visibility};

/// How long a confirmation link works.
pub const CONFIRM_TTL: SignedDuration = SignedDuration::from_hours(48);

/// How long an e-mailed code to manage a subscription works.
pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(15);

/// How many wrong tries a code survives.
pub const CODE_ATTEMPTS: u32 = 5;

/// The most components one subscription names.
pub const COMPONENTS_MAX: usize = 100;

/// How a subscriber is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriberKind {
    Email,
    Webhook,
}

impl SubscriberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberKind::Email => "email",
            SubscriberKind::Webhook => "webhook",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim() {
            "email" | "e-mail" => Ok(SubscriberKind::Email),
            "webhook" => Ok(SubscriberKind::Webhook),
            other => Err(InvalidValue::new(
                "kind",
                format!("`{other}` is not a way to subscribe: use email or webhook"),
            )),
        }
    }
}

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriberState {
    /// Signed up; hears nothing until the address is confirmed (an e-mail link, or a webhook
    /// that answered the test delivery).
    Pending,
    Active,
    /// Hears nothing; a new sign-up starts over with a confirmation.
    Unsubscribed,
}

impl SubscriberState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberState::Pending => "pending",
            SubscriberState::Active => "active",
            SubscriberState::Unsubscribed => "unsubscribed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(SubscriberState::Pending),
            "active" => Some(SubscriberState::Active),
            "unsubscribed" => Some(SubscriberState::Unsubscribed),
            _ => None,
        }
    }
}

/// What a subscriber wants to hear of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interest {
    Everything,
    /// Incidents and maintenance touching any of these components.
    Components(Vec<ServiceName>),
    /// One incident, until it is over (and its post-mortem, when published).
    Incident(IncidentNumber),
}

impl Interest {
    /// An interest as a sign-up gives it: one incident, or components (none for everything).
    pub fn of(
        components: &[ServiceName],
        incident: Option<IncidentNumber>,
    ) -> Result<Interest, InvalidValue> {
        if let Some(number) = incident {
            if !components.is_empty() {
                return Err(InvalidValue::new(
                    "components",
                    "follow one incident, or choose components; not both",
                ));
            }
            return Ok(Interest::Incident(number));
        }
        if components.len() > COMPONENTS_MAX {
            return Err(InvalidValue::new(
                "components",
                format!("at most {COMPONENTS_MAX}"),
            ));
        }
        let mut named: Vec<ServiceName> = Vec::new();
        for component in components {
            if !named.contains(component) {
                named.push(component.clone());
            }
        }
        Ok(if named.is_empty() {
            Interest::Everything
        } else {
            Interest::Components(named)
        })
    }

    /// Whether a notice is for this subscriber.
    pub fn wants(&self, notice: &Notice) -> bool {
        match self {
            Interest::Everything => true,
            Interest::Components(wanted) => notice
                .components
                .iter()
                .any(|component| wanted.contains(component)),
            Interest::Incident(number) => notice.incident == Some(*number),
        }
    }
}

/// Why subscribers are told something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The incident became public (declared public, or made public later).
    IncidentPublished,
    /// A public update was posted and not marked quiet.
    Updated,
    Resolved,
    PostmortemPublished,
    /// Scheduled maintenance was announced, changed, started, completed … (its own words
    /// say which).
    Maintenance,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::IncidentPublished => "incident_published",
            NoticeKind::Updated => "incident_updated",
            NoticeKind::Resolved => "incident_resolved",
            NoticeKind::PostmortemPublished => "postmortem_published",
            NoticeKind::Maintenance => "maintenance",
        }
    }
}

/// Something subscribers may be told, with what decides who.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The incident it is about, if any.
    pub incident: Option<IncidentNumber>,
    /// The components it touches (an incident's affected services, a maintenance's
    /// components).
    pub components: Vec<ServiceName>,
}

/// What an incident's event tells subscribers, judged on the incident as the event left it:
/// only public incidents tell anything, and only these events.
pub fn notice_of(event: &Event, number: IncidentNumber, incident: &Incident) -> Option<Notice> {
    if incident.visibility != Visibility::Public {
        return None;
    }
    let kind = match event {
        Event::IncidentDeclared(_) => NoticeKind::IncidentPublished,
        Event::VisibilityChanged(change) if change.to == Visibility::Public => {
            NoticeKind::IncidentPublished
        }
        Event::UpdatePosted(update) if update.public && !update.quiet => NoticeKind::Updated,
        Event::StatusChanged(change) if change.to == Status::Resolved => NoticeKind::Resolved,
        Event::PostmortemPublished(_) => NoticeKind::PostmortemPublished,
        _ => return None,
    };
    let components = incident.services.clone();
    Some(Notice {
        kind,
        incident: Some(number),
        components,
    })
}

/// Why a one-time code or link was not accepted. Each reads the same to the person, so a
/// guesser learns nothing; the distinction is for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    Expired,
    TooManyTries,
    Wrong,
}

/// Whether a code issued until `expires_at`, tried `tries` times already, may be tried at
/// `now`.
pub fn code_usable(expires_at: Timestamp, tries: u32, now: Timestamp) -> Result<(), CodeRefusal> {
    if now >= expires_at {
        return Err(CodeRefusal::Expired);
    }
    if tries >= CODE_ATTEMPTS {
        return Err(CodeRefusal::TooManyTries);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{IncidentDeclared, StatusChanged, UpdatePosted, VisibilityChanged};
    use crate::types::{Audience, Reason, Severity, Text, Title, UserName};
    use crate::{Envelope, State, evolve};

    fn public_incident() -> Incident {
        let state = evolve(
            State::initial(),
            &Envelope {
                at: Timestamp::from_second(1_790_000_000).unwrap(),
                actor: UserName::parse("anna").unwrap(),
                event: Event::IncidentDeclared(IncidentDeclared {
                    title: Title::parse("Checkout down").unwrap(),
                    summary: None,
                    public_summary: None,
                    severity: Severity::Sev2,
                    potential: false,
                    services: vec![service("checkout")],
                    visibility: Visibility::Public,
                    commander: UserName::parse("anna").unwrap(),
                    triage: false,
                }),
            },
        );
        state.incident().unwrap().clone()
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse(name).unwrap()
    }

    fn notice(components: &[&str], incident: u64) -> Notice {
        Notice {
            kind: NoticeKind::Updated,
            incident: Some(IncidentNumber(incident)),
            components: components.iter().map(|c| service(c)).collect(),
        }
    }

    #[test]
    fn each_interest_hears_what_it_asked_for() {
        let table = [
            (Interest::Everything, notice(&["db"], 1), true),
            (Interest::Everything, notice(&[], 1), true),
            (
                Interest::Components(vec![service("db")]),
                notice(&["db", "api"], 1),
                true,
            ),
            (
                Interest::Components(vec![service("db")]),
                notice(&["api"], 1),
                false,
            ),
            (
                Interest::Components(vec![service("db")]),
                notice(&[], 1),
                false,
            ),
            (
                Interest::Incident(IncidentNumber(1)),
                notice(&["api"], 1),
                true,
            ),
            (
                Interest::Incident(IncidentNumber(1)),
                notice(&["api"], 2),
                false,
            ),
        ];
        for (interest, notice, wanted) in table {
            assert_eq!(interest.wants(&notice), wanted, "{interest:?} {notice:?}");
        }
        let maintenance = Notice {
            kind: NoticeKind::Maintenance,
            incident: None,
            components: vec![service("db")],
        };
        assert!(!Interest::Incident(IncidentNumber(1)).wants(&maintenance));
    }

    #[test]
    fn an_interest_is_one_incident_or_components_or_everything() {
        assert_eq!(Interest::of(&[], None), Ok(Interest::Everything));
        assert_eq!(
            Interest::of(&[service("db"), service("db")], None),
            Ok(Interest::Components(vec![service("db")]))
        );
        assert_eq!(
            Interest::of(&[], Some(IncidentNumber(4))),
            Ok(Interest::Incident(IncidentNumber(4)))
        );
        assert!(Interest::of(&[service("db")], Some(IncidentNumber(4))).is_err());
    }

    #[test]
    fn only_public_incidents_and_only_these_events_tell_subscribers() {
        let incident = public_incident();
        let update = |public, quiet| {
            Event::UpdatePosted(UpdatePosted {
                audience: Audience::parse("customers").unwrap(),
                body: Text::parse("Fixed.").unwrap(),
                public,
                quiet,
            })
        };
        let number = IncidentNumber(9);
        let kind = |event: &Event, incident: &Incident| {
            notice_of(event, number, incident).map(|notice| notice.kind)
        };
        assert_eq!(
            kind(&update(true, false), &incident),
            Some(NoticeKind::Updated)
        );
        assert_eq!(
            notice_of(&update(true, false), number, &incident)
                .unwrap()
                .components,
            vec![service("checkout")]
        );
        assert_eq!(kind(&update(true, true), &incident), None, "quiet");
        assert_eq!(kind(&update(false, false), &incident), None, "not public");
        let moved = |from, to| {
            Event::StatusChanged(StatusChanged {
                from,
                to,
                reason: None,
                overridden_follow_ups: vec![],
                overrode_postmortem: false,
            })
        };
        let resolved = moved(Status::Monitoring, Status::Resolved);
        assert_eq!(kind(&resolved, &incident), Some(NoticeKind::Resolved));
        let monitoring = moved(Status::Investigating, Status::Monitoring);
        assert_eq!(kind(&monitoring, &incident), None, "a bare status change");
        let published = Event::VisibilityChanged(VisibilityChanged {
            from: Visibility::Internal,
            to: Visibility::Public,
            reason: Reason::parse("customers notice").unwrap(),
        });
        assert_eq!(
            kind(&published, &incident),
            Some(NoticeKind::IncidentPublished)
        );
        let mut internal = incident.clone();
        internal.visibility = Visibility::Internal;
        assert_eq!(kind(&update(true, false), &internal), None);
        assert_eq!(
            kind(&resolved, &internal),
            None,
            "an internal incident says nothing"
        );
    }

    #[test]
    fn a_code_works_until_it_expires_or_is_guessed_at_too_often() {
        let at = |raw: &str| -> Timestamp { raw.parse().unwrap() };
        let expires = at("2026-12-05T10:15:00Z");
        assert_eq!(code_usable(expires, 0, at("2026-12-05T10:00:00Z")), Ok(()));
        assert_eq!(
            code_usable(expires, 0, at("2026-12-05T10:15:00Z")),
            Err(CodeRefusal::Expired)
        );
        assert_eq!(
            code_usable(expires, CODE_ATTEMPTS, at("2026-12-05T10:00:00Z")),
            Err(CodeRefusal::TooManyTries)
        );
    }
}
