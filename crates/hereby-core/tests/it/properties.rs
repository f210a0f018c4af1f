//! Properties over random command sequences: replay is deterministic, no sequence reaches a
//! state that breaks the rules, the hash chain over what was produced verifies, and every
//! produced event survives its stored form.

use hereby_core::chain::{ChainVerifier, GENESIS, Hash, StoredLink};
use hereby_core::roles::{INCIDENT_COMMANDER, OPERATIONS};
use hereby_core::types::{
    ActionKind, FileName, LinkKind, MediaType, Owner, PostmortemStatus, Reason, RoleKey, Severity,
    Sha256Hex, Status, Target, Text, Title, Url, UserName,
};
use hereby_core::{
    Command, Context, Envelope, Event, Incident, Policy, RoleCatalogue, State, decide, evolve,
};
use jiff::SignedDuration;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::support::{declare, step_time, t0, user};

const ACTORS: &[&str] = &["alice", "bob", "carol", "dave"];

/// Commands after the opening declaration.
const MAX_STEPS: usize = 40;

fn person() -> impl Strategy<Value = UserName> {
    prop::sample::select(ACTORS).prop_map(user)
}

fn role() -> impl Strategy<Value = RoleKey> {
    prop::sample::select(
        &[
            INCIDENT_COMMANDER,
            OPERATIONS,
            "scribe",
            "communications",
            "subject_matter_expert",
            "firefighter",
        ][..],
    )
    .prop_map(|key| RoleKey::parse(key).unwrap())
}

fn reason() -> impl Strategy<Value = Reason> {
    prop::sample::select(&["false alarm", "errors are back", "tracked elsewhere"][..])
        .prop_map(|raw| Reason::parse(raw).unwrap())
}

fn text() -> impl Strategy<Value = Text> {
    prop::sample::select(&["restart it", "lag is 40s", "alert on lag"][..])
        .prop_map(|raw| Text::parse(raw).unwrap())
}

fn url() -> impl Strategy<Value = Url> {
    prop::sample::select(&["https://tracker.example/T-1", "https://tracker.example/T-2"][..])
        .prop_map(|raw| Url::parse(raw).unwrap())
}

fn owner() -> impl Strategy<Value = Owner> {
    prop_oneof![
        person().prop_map(Owner::User),
        Just(Owner::Role(RoleKey::parse(OPERATIONS).unwrap())),
        Just(Owner::Role(RoleKey::parse("firefighter").unwrap())),
    ]
}

fn item() -> impl Strategy<Value = u32> {
    1..=4u32
}

/// Impact times from half an hour before the first step to well after the last one, so a
/// time may be in the past or in the future depending on when it is used.
fn impact_time() -> impl Strategy<Value = Option<jiff::Timestamp>> {
    prop::option::of(
        prop::sample::select(&[-30i64, -5, 0, 5, 20, 45][..])
            .prop_map(|minutes| t0() + SignedDuration::from_mins(minutes)),
    )
}

/// Statuses, with the ones that lead to closing weighted up so sequences get there.
fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(
        &[
            Status::Investigating,
            Status::Identified,
            Status::Monitoring,
            Status::Resolved,
            Status::Resolved,
            Status::Resolved,
            Status::Closed,
            Status::Closed,
            Status::Closed,
            Status::CalledOff,
            Status::HandedBack,
        ][..],
    )
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        1 => Just(declare("Again")),
        3 => (role(), person()).prop_map(|(role, person)| Command::AssignRole { role, person }),
        2 => (role(), person()).prop_map(|(role, person)| Command::UnassignRole { role, person }),
        3 => person().prop_map(|to| Command::RequestHandoff { to }),
        4 => Just(Command::AcceptHandoff),
        1 => prop::option::of(reason()).prop_map(|reason| Command::DeclineHandoff { reason }),
        1 => Just(Command::CancelHandoff),
        1 => (prop::sample::select(Severity::ALL), prop::option::of(any::<bool>()), reason()).prop_map(
            |(severity, potential, reason)| Command::ChangeSeverity { severity, potential, reason }
        ),
        6 => (status(), prop::option::of(reason()), any::<bool>()).prop_map(
            |(to, reason, override_close_checks)| Command::ChangeStatus {
                to,
                reason,
                override_close_checks,
            }
        ),
        2 => (impact_time(), impact_time())
            .prop_map(|(start, end)| Command::SetImpactWindow { start, end }),
        1 => text().prop_map(|text| Command::AddNote { text }),
        2 => (text(), prop::option::of(text())).prop_map(|(action, command)| {
            Command::RecordOperation {
                target: Target::parse("db-primary").unwrap(),
                action,
                command,
                witness: None,
            }
        }),
        1 => (prop::sample::select(LinkKind::ALL), url()).prop_map(|(kind, url)| {
            Command::AddLink {
                kind,
                url,
                title: Some(Title::parse("a link").unwrap()),
            }
        }),
        1 => Just(Command::AttachEvidence {
            name: FileName::parse("pg.log").unwrap(),
            media_type: MediaType::parse("text/plain").unwrap(),
            size: 10,
            sha256: Sha256Hex::parse(&"00".repeat(32)).unwrap(),
        }),
        4 => (text(), owner(), prop::sample::select(ActionKind::ALL), prop::option::of(url()))
            .prop_map(|(text, owner, kind, tracker_url)| Command::AddActionItem {
                text,
                owner,
                due: None,
                kind,
                tracker_url,
            }),
        1 => (item(), prop::option::of(owner()), any::<bool>(), prop::option::of(url())).prop_map(
            |(item, owner, due, tracker_url)| Command::UpdateActionItem {
                item,
                owner,
                due: due.then(|| "2024-06-01".parse().unwrap()),
                tracker_url,
            }
        ),
        3 => item().prop_map(|item| Command::CompleteActionItem { item }),
        2 => (item(), reason()).prop_map(|(item, reason)| Command::WontFixActionItem { item, reason }),
        2 => item().prop_map(|item| Command::ReopenActionItem { item }),
        1 => person().prop_map(|person| Command::AddMember { person }),
        1 => person().prop_map(|person| Command::RemoveMember { person }),
        2 => Just(crate::support::draft()),
        1 => Just(crate::support::revise("# Edited", None)),
        2 => Just(crate::support::submit()),
        3 => Just(crate::support::approve()),
        2 => Just(crate::support::mark_reviewed()),
        1 => Just(crate::support::publish()),
        1 => person().prop_map(|to| Command::DelegatePostmortem { to }),
        1 => (1..=8u64, prop::sample::select(&["plain", "starred", "excluded"][..]))
            .prop_map(|(sequence, mark)| crate::support::mark_entry(sequence, mark)),
        1 => (item(), prop::sample::select(&["done", "open", "wont_fix"][..])).prop_map(
            |(item, decision)| {
                let detail = match decision {
                    "open" => "2024-07-01",
                    "wont_fix" => "tracked elsewhere",
                    _ => "",
                };
                crate::support::record_meeting(&["alice", "bob"], &[(item, decision, detail)])
            }
        ),
    ]
}

/// Who asks: a named person, or whoever holds a part in the story at that moment. Naming the
/// commander and the hand-off recipient symbolically lets random sequences get past the
/// "only the IC" and "only the named person" rules often enough to reach what lies beyond.
#[derive(Debug, Clone)]
enum Who {
    Named(UserName),
    Commander,
    HandoffRecipient,
}

impl Who {
    fn resolve(&self, state: &State) -> UserName {
        let incident = state.incident();
        match self {
            Who::Named(name) => Some(name.clone()),
            Who::Commander => incident.and_then(Incident::commander).cloned(),
            Who::HandoffRecipient => incident
                .and_then(|incident| incident.pending_handoff.as_ref())
                .map(|pending| pending.to.clone()),
        }
        .unwrap_or_else(|| user("bob"))
    }
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => person().prop_map(Who::Named),
        2 => Just(Who::Commander),
        2 => Just(Who::HandoffRecipient),
    ]
}

/// A declaration by alice, then up to [`MAX_STEPS`] random commands by random actors.
fn steps() -> impl Strategy<Value = Vec<(Who, Command)>> {
    prop::collection::vec((who(), command()), 0..=MAX_STEPS).prop_map(|mut steps| {
        steps.insert(0, (Who::Named(user("alice")), declare("DB down")));
        steps
    })
}

/// Checks every rule a state must keep, whatever led to it.
fn check_invariants(state: &State, recorded: usize) -> Result<(), TestCaseError> {
    let Some(incident) = state.incident() else {
        prop_assert_eq!(recorded, 0);
        return Ok(());
    };
    let catalogue = RoleCatalogue::default();
    prop_assert_eq!(incident.version, u64::try_from(recorded).unwrap());

    prop_assert_eq!(
        incident.holders_of(INCIDENT_COMMANDER).len(),
        1,
        "not exactly one IC"
    );
    let commander = incident.commander().unwrap();
    prop_assert!(
        !incident.holders_of(OPERATIONS).contains(commander),
        "the IC {} holds operations",
        commander
    );
    for (key, holders) in &incident.roles {
        let definition = catalogue.get(key);
        prop_assert!(definition.is_some(), "unknown role {} is held", key);
        prop_assert!(!holders.is_empty(), "role {} kept with no holder", key);
        if !definition.unwrap().multiple_holders {
            prop_assert!(
                holders.len() <= 1,
                "single-holder role {} has {:?}",
                key,
                holders
            );
        }
        let mut unique = holders.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(
            unique.len(),
            holders.len(),
            "{} is held twice by someone",
            key
        );
    }

    if let Some(pending) = &incident.pending_handoff {
        prop_assert_eq!(&pending.from, commander, "a pending hand-off from a non-IC");
        prop_assert!(&pending.to != commander, "a pending hand-off to the IC");
        prop_assert!(
            !incident.status.is_final(),
            "a pending hand-off on an ended incident"
        );
    }

    let open_follow_ups: Vec<u32> = incident.open_follow_ups().map(|item| item.item).collect();
    if incident.status == Status::Closed {
        prop_assert!(
            open_follow_ups.is_empty() || incident.close_override.is_some(),
            "closed with open follow-ups {:?} and no override",
            open_follow_ups
        );
    }
    if incident.close_override.is_some() {
        prop_assert_eq!(incident.status, Status::Closed);
    }
    let reviewed = incident.postmortem.as_ref().is_some_and(|postmortem| {
        matches!(
            postmortem.status,
            PostmortemStatus::Reviewed | PostmortemStatus::Published
        )
    });
    if incident.status == Status::Closed {
        prop_assert!(
            reviewed || incident.close_override.is_some(),
            "closed without a reviewed post-mortem and no override"
        );
    }
    if let Some(postmortem) = &incident.postmortem {
        if reviewed {
            prop_assert!(
                !postmortem.approvals.is_empty(),
                "reviewed without approval"
            );
        }
        prop_assert!(postmortem.body_sequence <= incident.version);
        prop_assert!(!incident.status.is_active() || postmortem.revision >= 1);
    }
    if incident.reviews.next.is_some() {
        prop_assert!(
            !incident.status.is_final(),
            "a review meeting planned for an ended incident"
        );
    }
    let meetings: Vec<u32> = incident
        .reviews
        .held
        .iter()
        .map(|held| held.meeting)
        .collect();
    let expected_meetings: Vec<u32> = (1..=u32::try_from(meetings.len()).unwrap()).collect();
    prop_assert_eq!(
        meetings,
        expected_meetings,
        "meetings are not numbered 1..n"
    );

    // Closed is only reached from resolved, and the resolution time is kept; the side exits
    // are only reached from active statuses, which have none.
    let resolved = matches!(incident.status, Status::Resolved | Status::Closed);
    prop_assert_eq!(
        incident.resolved_at.is_some(),
        resolved,
        "resolved_at in {}",
        incident.status
    );
    prop_assert_eq!(
        incident.ended_at.is_some(),
        incident.status.is_final(),
        "ended_at in {}",
        incident.status
    );

    let numbers: Vec<u32> = incident.action_items.keys().copied().collect();
    let expected: Vec<u32> = (1..=u32::try_from(numbers.len()).unwrap()).collect();
    prop_assert_eq!(numbers, expected, "action items are not numbered 1..n");
    for (number, item) in &incident.action_items {
        prop_assert_eq!(*number, item.item);
        prop_assert_eq!(
            item.wont_fix_reason.is_some(),
            item.state == hereby_core::types::ActionState::WontFix
        );
    }
    if let (Some(start), Some(end)) = (incident.impact.start, incident.impact.end) {
        prop_assert!(start <= end, "impact ends before it starts");
    }
    prop_assert!(incident.impact.start.is_some() || incident.impact.end.is_none());

    // The member list the stores keep for visibility agrees with `is_member`.
    let members = incident.all_members();
    for name in ACTORS {
        let person = user(name);
        prop_assert_eq!(
            members.contains(&person),
            incident.is_member(&person),
            "all_members and is_member disagree on {}",
            name
        );
    }
    Ok(())
}

/// Runs the steps, checking after each one that a rejection changed nothing and that the
/// state keeps every invariant. Returns the final state and every recorded envelope.
fn run(steps: &[(Who, Command)]) -> Result<(State, Vec<Envelope>), TestCaseError> {
    let policy = Policy::default();
    let mut state = State::initial();
    let mut envelopes = Vec::new();
    for (index, (who, command)) in steps.iter().enumerate() {
        let now = step_time(index);
        let actor = &who.resolve(&state);
        let ctx = Context {
            now,
            actor,
            policy: &policy,
        };
        let before = state.clone();
        let outcome = decide(&state, command.clone(), ctx);
        prop_assert_eq!(
            &outcome,
            &decide(&state, command.clone(), ctx),
            "decide is not deterministic"
        );
        prop_assert_eq!(&state, &before);
        match outcome {
            Ok(events) => {
                prop_assert!(
                    !events.is_empty(),
                    "{:?} succeeded without an event",
                    command
                );
                for event in events {
                    let envelope = Envelope {
                        at: now,
                        actor: actor.clone(),
                        event,
                    };
                    state = evolve(state, &envelope);
                    envelopes.push(envelope);
                }
            }
            Err(rejection) => {
                prop_assert!(
                    index > 0,
                    "the opening declaration was rejected: {}",
                    rejection
                );
            }
        }
        check_invariants(&state, envelopes.len())?;
    }
    Ok((state, envelopes))
}

fn stored_links(incident: u64, envelopes: &[Envelope]) -> Vec<StoredLink> {
    let mut prev: Hash = GENESIS;
    envelopes
        .iter()
        .enumerate()
        .map(|(index, envelope)| {
            let mut link = StoredLink {
                incident,
                sequence: u64::try_from(index).unwrap() + 1,
                recorded_at_micros: envelope.at.as_microsecond(),
                actor: envelope.actor.to_string(),
                event_type: envelope.event.event_type().to_owned(),
                event_version: envelope.event.event_version(),
                body: envelope.event.canonical_body(),
                prev_hash: prev.to_vec(),
                hash: Vec::new(),
            };
            prev = link.fields().hash(&prev);
            link.hash = prev.to_vec();
            link
        })
        .collect()
}

fn incident_of(state: &State) -> &Incident {
    state.incident().unwrap()
}

proptest! {
    #[test]
    fn replay_is_deterministic(steps in steps()) {
        let (state, envelopes) = run(&steps)?;
        let replayed = State::replay(&envelopes);
        prop_assert_eq!(&replayed, &state);
        prop_assert_eq!(&State::replay(&envelopes), &replayed);
        prop_assert_eq!(incident_of(&state).version, u64::try_from(envelopes.len()).unwrap());
    }

    #[test]
    fn no_sequence_breaks_an_invariant(steps in steps()) {
        run(&steps)?;
    }

    #[test]
    fn the_hash_chain_always_verifies(steps in steps()) {
        let (_, envelopes) = run(&steps)?;
        let links = stored_links(42, &envelopes);
        let mut verifier = ChainVerifier::new(42);
        for link in &links {
            verifier.check(link).map_err(|broken| TestCaseError::fail(broken.to_string()))?;
        }
        let head = links.last().unwrap().hash.clone();
        prop_assert_eq!(verifier.finish(u64::try_from(links.len()).unwrap(), &head), Ok(u64::try_from(links.len()).unwrap()));
    }

    #[test]
    fn every_event_survives_its_stored_form(steps in steps()) {
        let (state, envelopes) = run(&steps)?;
        let mut decoded = Vec::new();
        for envelope in &envelopes {
            let event = &envelope.event;
            let again = Event::decode(event.event_type(), event.event_version(), &event.canonical_body());
            prop_assert_eq!(again.as_ref(), Ok(event));
            decoded.push(Envelope { event: again.unwrap(), ..envelope.clone() });
        }
        prop_assert_eq!(State::replay(&decoded), state);
    }
}
