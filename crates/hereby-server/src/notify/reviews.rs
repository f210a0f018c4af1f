//! Reminders before post-mortem review meetings, driven by the `jobs` table (kind `review`).
//! A lead time before an incident's next meeting (at once when it is set closer than that),
//! every owner of an open follow-up (users, and role owners resolved to the role's current
//! holders, each person once) gets their open follow-ups and the meeting's iCalendar
//! invitation at their own address through each personal channel; subscriptions that ask for
//! reminders get a notice of the meeting (never about restricted incidents); a note on the
//! timeline records it.
//!
//! The incident decides, not the job: a meeting moved since re-arms the job for its new time;
//! one held, begun, or cancelled by reopening or ending the incident owes nothing. Keys name
//! the incident, the meeting and its time, so a second run of the job (or a second node)
//! queues nothing new.

use std::collections::BTreeMap;
use std::time::Duration;

use hereby_core::review::{AgendaItem, agenda};
use hereby_core::types::{ActionState, IncidentNumber, Owner, UserName, Visibility};
use hereby_core::{Incident, State};
use hereby_store::{
    AttachedDelivery, Attachment, Job, JobDone, NewDelivery, Notifications, Store, StoreError,
};
use jiff::{SignedDuration, Timestamp};

use super::Routing;
use super::timeline::note;
use crate::AppState;
use hereby_app::message::{Happening, meeting_time, render};

/// The media type of the invitation attached to the e-mails.
const INVITATION_TYPE: &str = "text/calendar; method=REQUEST; charset=utf-8";

/// When the reminder before the incident's next review meeting is due: `lead` before the
/// meeting. When the meeting is closer than that, this time has passed and the reminder goes
/// at once. `None` while no meeting is planned.
pub(crate) fn reminder_due(incident: &Incident, lead: Duration) -> Option<Timestamp> {
    let (_, at) = incident.reviews.next?;
    let lead = SignedDuration::try_from(lead).unwrap_or(SignedDuration::MAX);
    Some(at.checked_sub(lead).unwrap_or(Timestamp::MIN))
}

/// What a reminder is about, as its keys and the job's `last_key` name it.
fn meeting_key(number: IncidentNumber, meeting: u32, at: Timestamp) -> String {
    format!("review:{number}:m{meeting}:{}", at.as_microsecond())
}

/// Each person who owns an open follow-up, once, with those follow-ups as of `now` (which
/// decides the overdue marks): users by name, role owners resolved to the role's current
/// holders. A role nobody holds reaches nobody.
pub(crate) fn owners(incident: &Incident, now: Timestamp) -> BTreeMap<UserName, Vec<AgendaItem>> {
    let mut owners: BTreeMap<UserName, Vec<AgendaItem>> = BTreeMap::new();
    for item in agenda(incident, now) {
        if item.state != ActionState::Open {
            continue;
        }
        let people = match &item.owner {
            Owner::User(user) => std::slice::from_ref(user),
            Owner::Role(role) => incident.holders_of(role.as_str()),
        };
        for person in people {
            owners.entry(person.clone()).or_default().push(item.clone());
        }
    }
    owners
}

/// What one reminder sends, and to whom.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Deliveries without a file (webhooks carry the invitation in their JSON; Slack not at
    /// all).
    pub(crate) plain: Vec<NewDelivery>,
    /// E-mails, with the invitation attached.
    pub(crate) attached: Vec<AttachedDelivery>,
    /// Owners reminded at their own address.
    pub(crate) reminded: Vec<UserName>,
    /// Owners who could not be, and why.
    pub(crate) missed: Vec<(UserName, &'static str)>,
    /// How many subscriptions get the notice.
    pub(crate) subscriptions: usize,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.attached.is_empty()
    }
}

/// The deliveries of the reminder before `meeting` at `at`, from the incident as it is now.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    number: IncidentNumber,
    incident: &Incident,
    routing: &Routing,
    meeting: u32,
    at: Timestamp,
    ics: Option<&str>,
    public_url: Option<&str>,
    now: Timestamp,
) -> Plan {
    let key = meeting_key(number, meeting, at);
    let attachment = ics.map(|ics| Attachment {
        file_name: format!("{}-review-{meeting}.ics", number.to_string().to_lowercase()),
        media_type: INVITATION_TYPE.to_owned(),
        content: ics.to_owned(),
    });
    let mut plan = Plan::default();
    let queue = |plan: &mut Plan, delivery: NewDelivery, email: bool| match &attachment {
        Some(attachment) if email => plan.attached.push(AttachedDelivery {
            delivery,
            attachment: attachment.clone(),
        }),
        _ => plan.plain.push(delivery),
    };
    let mut personal: Vec<_> = routing.personal_channels().collect();
    personal.sort_by_key(|channel| channel.id);
    let owners = owners(incident, now);
    for (person, follow_ups) in &owners {
        // A restricted incident reaches only its members, follow-up owners included.
        if incident.visibility == Visibility::Restricted && !incident.is_member(person) {
            plan.missed.push((person.clone(), "not a member"));
            continue;
        }
        let Some(address) = routing.emails.get(person.as_str()) else {
            plan.missed.push((person.clone(), "no address"));
            continue;
        };
        if personal.is_empty() {
            plan.missed.push((person.clone(), "no personal channel"));
            continue;
        }
        let happening = Happening::ReviewReminder {
            meeting,
            at,
            person: Some(person.to_string()),
            follow_ups: follow_ups.clone(),
            ics: ics.map(str::to_owned),
        };
        let message = render(&happening, number, incident, now, public_url, true);
        for channel in &personal {
            let delivery = NewDelivery {
                key: format!("{key}:p{}:{person}", channel.id),
                channel_id: channel.id,
                recipient: Some(address.clone()),
                incident: Some(number.0),
                kind: message.kind.to_owned(),
                subject: message.subject.clone(),
                body: message.body.clone(),
                payload: message.payload.clone(),
            };
            queue(&mut plan, delivery, channel.kind == "email");
        }
        plan.reminded.push(person.clone());
    }
    let shared = Happening::ReviewReminder {
        meeting,
        at,
        person: None,
        follow_ups: agenda(incident, now)
            .into_iter()
            .filter(|item| item.state == ActionState::Open)
            .collect(),
        ics: ics.map(str::to_owned),
    };
    let message = render(&shared, number, incident, now, public_url, false);
    for subscription in &routing.subscriptions {
        // `wants` leaves out restricted incidents and the public scope.
        if !routing.wants(subscription, &shared, incident) {
            continue;
        }
        let email = routing
            .channels
            .get(&subscription.channel_id)
            .is_some_and(|channel| channel.kind == "email");
        let delivery = NewDelivery {
            key: format!("{key}:s{}", subscription.id),
            channel_id: subscription.channel_id,
            recipient: subscription.recipient.clone(),
            incident: Some(number.0),
            kind: message.kind.to_owned(),
            subject: message.subject.clone(),
            body: message.body.clone(),
            payload: message.payload.clone(),
        };
        queue(&mut plan, delivery, email);
        plan.subscriptions += 1;
    }
    plan
}

/// What the timeline says about a reminder.
fn note_text(meeting: u32, at: Timestamp, plan: &Plan) -> String {
    let names = |people: &[UserName]| {
        people
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = match (plan.reminded.is_empty(), plan.subscriptions) {
        (false, 0) => format!(
            "Review meeting {meeting} reminder sent to {}",
            names(&plan.reminded)
        ),
        (false, n) => format!(
            "Review meeting {meeting} reminder sent to {} and {n} subscription(s)",
            names(&plan.reminded)
        ),
        (true, 0) => format!("Review meeting {meeting} reminder sent to nobody"),
        (true, n) => format!("Review meeting {meeting} reminder sent to {n} subscription(s)"),
    };
    text.push_str(&format!(" (the meeting is at {}).", meeting_time(at)));
    if !plan.missed.is_empty() {
        let missed: Vec<String> = plan
            .missed
            .iter()
            .map(|(person, why)| format!("{person} ({why})"))
            .collect();
        text.push_str(&format!(" Not reminded: {}.", missed.join(", ")));
    }
    text
}

/// Runs one review job.
pub(super) async fn run<S: Store + Notifications>(
    state: &AppState<S>,
    job: &Job,
    now: Timestamp,
    lead: Duration,
) -> Result<(), StoreError> {
    let number = IncidentNumber(job.incident);
    let finish = |next: Option<Timestamp>, last_key: Option<String>| JobDone {
        id: job.id,
        claimed_due: job.due_at,
        next,
        last_key,
        deliveries: Vec::new(),
    };
    let incident = match state.store.load(number).await {
        Ok(loaded) => match loaded.state {
            State::Declared(incident) => incident,
            State::Initial => return state.store.finish_job(&finish(None, None), now).await,
        },
        Err(StoreError::NotFound(_)) => {
            return state.store.finish_job(&finish(None, None), now).await;
        }
        Err(error) => return Err(error),
    };
    let last = job.last_key.clone();
    // Nothing planned: held, or cancelled by reopening or ending the incident.
    let (Some((meeting, at)), Some(due)) = (incident.reviews.next, reminder_due(&incident, lead))
    else {
        return state.store.finish_job(&finish(None, last), now).await;
    };
    // Moved later since the job was armed: wait for the new time.
    if due > now {
        return state.store.finish_job(&finish(Some(due), last), now).await;
    }
    let key = meeting_key(number, meeting, at);
    // Begun already (the server was down, say): a reminder now is no use. Or reminded of.
    if at <= now || last.as_deref() == Some(key.as_str()) {
        return state.store.finish_job(&finish(None, last), now).await;
    }
    let routing = Routing::load(&state.store).await?;
    let ics = state.app.review_invitation(number, &incident, now).await?;
    let mut plan = plan(
        number,
        &incident,
        &routing,
        meeting,
        at,
        ics.as_deref(),
        state.public_url.as_deref(),
        now,
    );
    let done = JobDone {
        deliveries: std::mem::take(&mut plan.plain),
        ..finish(None, Some(key))
    };
    let planned = !plan.is_empty() || !done.deliveries.is_empty();
    let queued = state
        .store
        .finish_job_attached(&done, &plan.attached, now)
        .await?;
    if queued > 0 {
        state.outbox.wake();
    }
    // Noted once: a repeated run queues nothing new and notes nothing. A reminder that reached
    // nobody is noted too, so the timeline says why.
    if queued > 0 || (!planned && !plan.missed.is_empty()) {
        note(state, number, &note_text(meeting, at, &plan)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use expect_test::{Expect, expect};
    use hereby_core::types::{ActionKind, RoleKey, Severity, Text, Title, Url};
    use hereby_core::{Command, Context, Envelope, Policy, decide, evolve};
    use hereby_store::{Channel, Subscription};

    use super::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn user(name: &str) -> UserName {
        UserName::parse(name).unwrap()
    }

    /// An incident resolved on 2026-03-02 with three open follow-ups (one overdue, one owned
    /// by the operations role, which bob and carol hold), one done, and its first review
    /// meeting on 2026-04-01 at 10:00.
    fn resolved(visibility: Visibility) -> (Box<Incident>, Timestamp) {
        let policy = Policy::default();
        let mut state = State::initial();
        let start = at("2026-03-02T09:00:00Z");
        let follow_up = |text: &str, owner: &str, due: Option<&str>, tracker: Option<&str>| {
            Command::AddActionItem {
                text: Text::parse(text).unwrap(),
                owner: Owner::parse(owner).unwrap(),
                due: due.map(|d| d.parse().unwrap()),
                kind: ActionKind::FollowUp,
                tracker_url: tracker.map(|t| Url::parse(t).unwrap()),
            }
        };
        let steps = vec![
            Command::Declare {
                title: Title::parse("Checkout fails").unwrap(),
                summary: None,
                public_summary: None,
                severity: Severity::Sev2,
                potential: false,
                services: vec![],
                visibility,
                triage: false,
            },
            Command::AssignRole {
                role: RoleKey::parse("operations").unwrap(),
                person: user("carol"),
            },
            Command::AssignRole {
                role: RoleKey::parse("operations").unwrap(),
                person: user("bob"),
            },
            follow_up(
                "Add a circuit breaker",
                "bob",
                Some("2026-03-20"),
                Some("https://tracker.example/OPS-1"),
            ),
            follow_up("Tell the card issuer", "role:operations", None, None),
            follow_up("Alert on declines", "dave", Some("2026-04-30"), None),
            follow_up("Already done", "bob", None, None),
            Command::CompleteActionItem { item: 4 },
            Command::ChangeStatus {
                to: hereby_core::types::Status::Resolved,
                reason: None,
                override_close_checks: false,
            },
            Command::ScheduleReviewMeeting {
                at: at("2026-04-01T14:00:00Z"),
            },
        ];
        for (index, command) in steps.into_iter().enumerate() {
            let now = start + SignedDuration::from_mins(i64::try_from(index).unwrap());
            let actor = user("alice");
            let context = Context {
                now,
                actor: &actor,
                policy: &policy,
            };
            for event in decide(&state, command, context).unwrap() {
                state = evolve(
                    state,
                    &Envelope {
                        at: now,
                        actor: actor.clone(),
                        event,
                    },
                );
            }
        }
        match state {
            State::Declared(incident) => (incident, at("2026-03-30T14:00:00Z")),
            State::Initial => unreachable!(),
        }
    }

    fn routing() -> Routing {
        let channel = |id: i64, name: &str, kind: &str, personal: bool| Channel {
            id,
            name: name.to_owned(),
            kind: kind.to_owned(),
            config: "{}".to_owned(),
            personal,
            concurrency: 1,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let subscription =
            |id: i64, channel_id: i64, recipient: Option<&str>, events: &[&str]| Subscription {
                id,
                channel_id,
                recipient: recipient.map(str::to_owned),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                audience: None,
                scope: "all".to_owned(),
                created_at: Timestamp::UNIX_EPOCH,
            };
        Routing {
            channels: HashMap::from([
                (1, channel(1, "mail", "email", true)),
                (2, channel(2, "hooks", "webhook", false)),
                (3, channel(3, "chat", "slack", false)),
                (4, channel(4, "list", "email", false)),
            ]),
            subscriptions: vec![
                subscription(10, 2, None, &["reminder"]),
                subscription(11, 3, None, &["declared"]),
                subscription(12, 4, Some("team@example.com"), &["review_reminder"]),
            ],
            emails: HashMap::from([
                ("bob".to_owned(), "bob@example.com".to_owned()),
                ("carol".to_owned(), "carol@example.com".to_owned()),
            ]),
        }
    }

    fn check_plan(visibility: Visibility, expected: Expect) {
        let (incident, now) = resolved(visibility);
        let (meeting, meeting_at) = incident.reviews.next.unwrap();
        let plan = plan(
            IncidentNumber(7),
            &incident,
            &routing(),
            meeting,
            meeting_at,
            Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            Some("https://hereby.example"),
            now,
        );
        let mut lines = Vec::new();
        for (delivery, attachment) in plan
            .attached
            .iter()
            .map(|a| (&a.delivery, Some(&a.attachment)))
            .chain(plan.plain.iter().map(|d| (d, None)))
        {
            lines.push(format!(
                "{} → {} [{}]{}",
                delivery.key,
                delivery.recipient.as_deref().unwrap_or("-"),
                delivery.kind,
                attachment.map_or(String::new(), |a| format!(
                    " + {} ({})",
                    a.file_name, a.media_type
                )),
            ));
        }
        lines.push(note_text(meeting, meeting_at, &plan));
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn owners_are_users_and_role_holders_each_once() {
        let (incident, now) = resolved(Visibility::Internal);
        let owners: Vec<String> = owners(&incident, now)
            .into_iter()
            .map(|(person, items)| {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| format!("#{}{}", i.item, if i.overdue { "!" } else { "" }))
                    .collect();
                format!("{person}: {}", items.join(" "))
            })
            .collect();
        expect![[r#"
            [
                "bob: #1! #2",
                "carol: #2",
                "dave: #3",
            ]
        "#]]
        .assert_debug_eq(&owners);
    }

    #[test]
    fn the_reminder_is_due_a_lead_before_the_meeting_or_at_once() {
        let (incident, _) = resolved(Visibility::Internal);
        let day = Duration::from_secs(86_400);
        assert_eq!(
            reminder_due(&incident, 2 * day),
            Some(at("2026-03-30T14:00:00Z"))
        );
        // A meeting closer than the lead: the reminder's time has passed, it goes at once.
        assert!(reminder_due(&incident, 400 * day).unwrap() < at("2026-03-02T10:00:00Z"));
        let mut held = incident.clone();
        held.reviews.next = None;
        assert_eq!(reminder_due(&held, day), None);
    }

    #[test]
    fn each_owner_by_e_mail_with_the_invitation_and_subscribers_a_notice() {
        check_plan(
            Visibility::Internal,
            expect![[r#"
                review:INC-7:m1:1775052000000000:p1:bob → bob@example.com [review_reminder] + inc-7-review-1.ics (text/calendar; method=REQUEST; charset=utf-8)
                review:INC-7:m1:1775052000000000:p1:carol → carol@example.com [review_reminder] + inc-7-review-1.ics (text/calendar; method=REQUEST; charset=utf-8)
                review:INC-7:m1:1775052000000000:s12 → team@example.com [review_reminder] + inc-7-review-1.ics (text/calendar; method=REQUEST; charset=utf-8)
                review:INC-7:m1:1775052000000000:s10 → - [review_reminder]
                Review meeting 1 reminder sent to bob, carol and 2 subscription(s) (the meeting is at 2026-04-01 14:00 UTC). Not reminded: dave (no address)."#]],
        );
    }

    #[test]
    fn a_restricted_incident_reaches_only_its_members() {
        check_plan(
            Visibility::Restricted,
            expect![[r#"
                review:INC-7:m1:1775052000000000:p1:bob → bob@example.com [review_reminder] + inc-7-review-1.ics (text/calendar; method=REQUEST; charset=utf-8)
                review:INC-7:m1:1775052000000000:p1:carol → carol@example.com [review_reminder] + inc-7-review-1.ics (text/calendar; method=REQUEST; charset=utf-8)
                Review meeting 1 reminder sent to bob, carol (the meeting is at 2026-04-01 14:00 UTC). Not reminded: dave (not a member)."#]],
        );
    }

    #[test]
    fn the_personal_message_lists_the_owners_follow_ups() {
        let (incident, now) = resolved(Visibility::Internal);
        let (meeting, meeting_at) = incident.reviews.next.unwrap();
        let plan = plan(
            IncidentNumber(7),
            &incident,
            &routing(),
            meeting,
            meeting_at,
            Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            Some("https://hereby.example"),
            now,
        );
        let bob = &plan.attached[0].delivery;
        expect![[r#"
            [INC-7] Checkout fails: review meeting 1 on 2026-04-01 14:00 UTC, your follow-ups
            INC-7: Checkout fails
            Severity: SEV2
            Status: resolved

            bob, post-mortem review meeting 1 is on 2026-04-01 14:00 UTC. Your open follow-ups:
            - #1 Add a circuit breaker, due 2026-03-20: OVERDUE, https://tracker.example/OPS-1
            - #2 Tell the card issuer (as role:operations), no due date

            Please bring them up to date before the meeting; the invitation is attached.

            https://hereby.example/incidents/INC-7
        "#]]
        .assert_eq(&format!("{}\n{}", bob.subject, bob.body));
        let payload: serde_json::Value = serde_json::from_str(&plan.plain[0].payload).unwrap();
        assert_eq!(payload["kind"], "review_reminder");
        assert_eq!(payload["ics"], "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
        assert_eq!(payload["review"]["meeting"], 1);
        assert_eq!(payload["review"]["follow_ups"].as_array().unwrap().len(), 3);
    }
}
