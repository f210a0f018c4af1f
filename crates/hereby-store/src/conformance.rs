//! The conformance story: what every [`Store`] must do, written once and run by each backend
//! against a real database of its kind (see [`conformance_tests!`](crate::conformance_tests)).
//!
//! The checks panic with a message on failure, like any test assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;

use hereby_core::chain::BreakKind;
use hereby_core::types::{
    ActionKind, IncidentNumber, InstallationRole, Owner, Reason, RoleKey, ServiceName, Severity,
    Status, Target, Text, Title, UserName, Visibility,
};
use hereby_core::{
    Command, Event, Incident, RejectionCode, RoleCatalogue, State, event::NoteAdded, evolve,
};
use jiff::Timestamp;

use crate::prepare::{replay, summarize};
use crate::{
    Directory, ExecuteError, ListQuery, NewEvents, Store, StoreError, TokenRecord, User,
    UserChange, declare, execute, verify_all, verify_incident,
};

/// What a backend's test provides: a store on a fresh, private database, raw SQL access to
/// damage it, and a way to open the same database again.
pub trait Harness: Send + Sync {
    type S: Store + Directory;
    /// The store under test.
    fn store(&self) -> &Self::S;
    /// Runs one SQL statement directly against the database, bypassing the store and the
    /// database's append-only guard, as an attacker with database access could.
    fn tamper(&self, sql: &str) -> impl Future<Output = ()> + Send;
    /// Opens a second store on the same database, as a restart or a second node would.
    fn reopen(&self) -> impl Future<Output = Self::S> + Send;
}

/// Generates one `#[tokio::test]` per conformance check. `$harness` is an expression giving a
/// future of `Option<impl Harness>`; `None` means the backend is unavailable and the test
/// returns after the harness printed why it is skipped.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@each $harness;
            lifecycle_from_declare_to_close,
            rejected_commands_change_nothing,
            concurrent_appends_have_one_winner_per_version,
            concurrent_declares_get_unique_gap_free_numbers,
            projection_matches_the_fold,
            hash_chain_verifies_and_tampering_is_detected,
            global_stream_is_ordered_and_gap_free,
            missing_incidents_and_invalid_writes_are_errors,
            reopened_store_continues_the_chain,
            long_streams_are_read_and_verified_in_pages,
            two_nodes_appending_to_the_same_incidents_stay_consistent,
            users_are_created_listed_and_updated,
            tokens_authenticate_until_revoked_or_disabled,
            first_admin_is_created_once_under_concurrency,
            restricted_incidents_are_listed_for_members_only,
            list_filters_combine_with_pagination,
            migrating_an_older_database_fills_in_incident_members,
        );
    };
    (@each $harness:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(harness) = $harness.await else { return };
                $crate::conformance::$name(&harness).await;
            }
        )+
    };
}

fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap()
}

fn role(key: &str) -> RoleKey {
    RoleKey::parse(key).unwrap()
}

fn reason(text: &str) -> Option<Reason> {
    Some(Reason::parse(text).unwrap())
}

/// A fixed clock for the story: minute `n` after a fixed instant.
fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
}

fn declaration(title: &str) -> Command {
    declaration_of(title, Severity::Sev2, &["checkout"], Visibility::Internal)
}

fn declaration_of(
    title: &str,
    severity: Severity,
    services: &[&str],
    visibility: Visibility,
) -> Command {
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: Some(Text::parse("Checkout requests fail with 502").unwrap()),
        severity,
        potential: false,
        services: services
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        visibility,
    }
}

fn note(text: &str) -> Command {
    Command::AddNote {
        text: Text::parse(text).unwrap(),
    }
}

/// Declares a sample incident as `alice`; for backend tests outside the story.
pub async fn declare_sample<S: Store>(store: &S) -> IncidentNumber {
    declare_one(store, "Sample incident").await
}

async fn declare_one<S: Store>(store: &S, title: &str) -> IncidentNumber {
    declare_as(store, "alice", declaration(title)).await
}

async fn declare_as<S: Store>(store: &S, actor: &str, declaration: Command) -> IncidentNumber {
    declare(
        store,
        declaration,
        &user(actor),
        at(0),
        &RoleCatalogue::default(),
    )
    .await
    .unwrap()
    .appended
    .incident
}

async fn run<S: Store>(
    store: &S,
    incident: IncidentNumber,
    actor: &str,
    minute: i64,
    command: Command,
) -> Result<crate::Outcome, ExecuteError> {
    execute(
        store,
        incident,
        None,
        command,
        &user(actor),
        at(minute),
        &RoleCatalogue::default(),
    )
    .await
}

async fn all_events<S: Store>(store: &S, incident: IncidentNumber) -> Vec<crate::StoredEvent> {
    store.read_stream(incident, 0, 100_000).await.unwrap()
}

/// Checks that the stored state, the projection row and the stored members all equal the fold
/// of the stream.
async fn assert_consistent<S: Store>(store: &S, incident: IncidentNumber) {
    let events = all_events(store, incident).await;
    let folded = replay(&events).unwrap();
    let loaded = store.load(incident).await.unwrap();
    assert_eq!(
        loaded.state, folded,
        "stored state of {incident} differs from the fold"
    );
    assert_eq!(loaded.version, events.len() as u64);
    let State::Declared(folded_incident) = &folded else {
        panic!("{incident} folds to an undeclared state");
    };
    let row = store
        .list_incidents(&ListQuery {
            limit: 1,
            before: Some(IncidentNumber(incident.0 + 1)),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(row.first(), Some(&summarize(incident, folded_incident)));
    assert_visible_to_members(store, incident, &events, folded_incident).await;
    assert_eq!(
        verify_incident(store, incident).await.unwrap(),
        Ok(loaded.version)
    );
}

/// Checks the stored members (`incident_members`) against the fold through what they are for:
/// listing with `visible_to`. Everyone who ever acted in the stream or was a member at some
/// point is asked about, so a member row left behind is found as surely as a missing one.
/// (Internal incidents are visible to all, so their rows cannot be seen this way.)
async fn assert_visible_to_members<S: Store>(
    store: &S,
    incident: IncidentNumber,
    events: &[crate::StoredEvent],
    folded: &Incident,
) {
    let mut people = BTreeSet::new();
    let mut state = State::initial();
    for stored in events {
        let recorded = stored.decode().unwrap();
        people.insert(recorded.actor.clone());
        state = evolve(state, &recorded.into_envelope());
        if let Some(now) = state.incident() {
            people.extend(now.all_members().into_iter().cloned());
        }
    }
    for person in people {
        let listed = store
            .list_incidents(&ListQuery {
                limit: 1,
                before: Some(IncidentNumber(incident.0 + 1)),
                visible_to: Some(person.clone()),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let visible = folded.visibility == Visibility::Internal || folded.is_member(&person);
        assert_eq!(
            listed.first().map(|row| row.number) == Some(incident),
            visible,
            "{incident} listed for {person}: the stored members differ from the fold"
        );
    }
}

/// A whole response: declare, staff, hand off, operate, re-evaluate, resolve and close.
pub async fn lifecycle_from_declare_to_close<H: Harness>(h: &H) {
    let store = h.store();
    let inc = declare_one(store, "Checkout is failing").await;
    assert_eq!(inc, IncidentNumber(1));
    run(
        store,
        inc,
        "alice",
        1,
        Command::AssignRole {
            role: role("operations"),
            person: user("bob"),
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "alice",
        1,
        Command::AssignRole {
            role: role("scribe"),
            person: user("carol"),
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "bob",
        2,
        Command::RecordOperation {
            target: Target::parse("checkout-db primary").unwrap(),
            action: Text::parse("Failed over to the replica").unwrap(),
            command: Some(Text::parse("pg_ctl promote").unwrap()),
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "alice",
        3,
        Command::RequestHandoff { to: user("dave") },
    )
    .await
    .unwrap();
    assert_eq!(
        store
            .load(inc)
            .await
            .unwrap()
            .state
            .incident()
            .unwrap()
            .commander(),
        Some(&user("alice")),
        "nothing changes until the hand-off is accepted"
    );
    run(store, inc, "dave", 4, Command::AcceptHandoff)
        .await
        .unwrap();
    run(
        store,
        inc,
        "dave",
        5,
        Command::ChangeSeverity {
            severity: Severity::Sev1,
            potential: false,
            reason: Reason::parse("All regions affected").unwrap(),
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "dave",
        6,
        Command::SetImpactWindow {
            start: Some(at(-20)),
            end: Some(at(5)),
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "carol",
        6,
        Command::AddActionItem {
            text: Text::parse("Alert on replica lag").unwrap(),
            owner: Owner::Role(role("operations")),
            due: None,
            kind: ActionKind::FollowUp,
            tracker_url: None,
        },
    )
    .await
    .unwrap();
    run(
        store,
        inc,
        "dave",
        7,
        Command::ChangeStatus {
            to: Status::Resolved,
            reason: None,
            override_open_follow_ups: false,
        },
    )
    .await
    .unwrap();
    let refused = run(
        store,
        inc,
        "dave",
        8,
        Command::ChangeStatus {
            to: Status::Closed,
            reason: None,
            override_open_follow_ups: false,
        },
    )
    .await;
    assert!(
        matches!(refused, Err(ExecuteError::Rejected(r)) if r.code == RejectionCode::OpenFollowUps)
    );
    run(
        store,
        inc,
        "bob",
        9,
        Command::CompleteActionItem { item: 1 },
    )
    .await
    .unwrap();
    let closed = run(
        store,
        inc,
        "dave",
        10,
        Command::ChangeStatus {
            to: Status::Closed,
            reason: None,
            override_open_follow_ups: false,
        },
    )
    .await
    .unwrap();

    let incident = closed.state.incident().unwrap();
    assert_eq!(incident.status, Status::Closed);
    assert_eq!(incident.severity, Severity::Sev1);
    assert_eq!(incident.commander(), Some(&user("dave")));
    assert_eq!(incident.resolved_at, Some(at(7)));
    assert_eq!(closed.appended.version, 12);
    assert_consistent(store, inc).await;
    let row = &store.list_incidents(&ListQuery::default()).await.unwrap()[0];
    assert_eq!(
        (row.status, row.commander.as_deref()),
        (Status::Closed, Some("dave"))
    );
}

/// A command that breaks a rule, or a stale write, leaves the stream, head and row untouched.
pub async fn rejected_commands_change_nothing<H: Harness>(h: &H) {
    let store = h.store();
    let inc = declare_one(store, "Login errors").await;
    let before = (
        store.load(inc).await.unwrap(),
        store.head(inc).await.unwrap(),
    );
    let refused = run(
        store,
        inc,
        "alice",
        1,
        Command::RecordOperation {
            target: Target::parse("auth").unwrap(),
            action: Text::parse("restart").unwrap(),
            command: None,
        },
    )
    .await;
    assert!(
        matches!(refused, Err(ExecuteError::Rejected(r)) if r.code == RejectionCode::IcCannotOperate)
    );
    let stale = store
        .append(
            inc,
            0,
            NewEvents::new(
                user("bob"),
                at(2),
                vec![Event::NoteAdded(NoteAdded {
                    text: Text::parse("late").unwrap(),
                })],
            ),
        )
        .await;
    assert_eq!(
        stale,
        Err(StoreError::Conflict {
            incident: inc,
            expected: 0,
            actual: 1
        })
    );
    let explicit = execute(
        store,
        inc,
        Some(7),
        note("x"),
        &user("bob"),
        at(3),
        &RoleCatalogue::default(),
    )
    .await;
    assert!(matches!(
        explicit,
        Err(ExecuteError::Store(StoreError::Conflict { actual: 1, .. }))
    ));
    let after = (
        store.load(inc).await.unwrap(),
        store.head(inc).await.unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(all_events(store, inc).await.len(), 1);
    assert_consistent(store, inc).await;
}

/// Many writers append at the same expected version: exactly one wins each round.
pub async fn concurrent_appends_have_one_winner_per_version<H: Harness>(h: &H) {
    let store = h.store();
    let inc = declare_one(store, "Queue backlog").await;
    for round in 0..5u64 {
        let version = round + 1;
        let mut tasks = Vec::new();
        for writer in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let text = Text::parse(&format!("round {round} writer {writer}")).unwrap();
                store
                    .append(
                        inc,
                        version,
                        NewEvents::new(
                            user("bob"),
                            at(1),
                            vec![Event::NoteAdded(NoteAdded { text })],
                        ),
                    )
                    .await
            }));
        }
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(appended) => {
                    wins += 1;
                    assert_eq!(appended.version, version + 1);
                }
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    assert_eq!((expected, actual), (version, version + 1));
                }
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one append may win");
    }
    assert_consistent(store, inc).await;
}

/// Declares racing each other get the numbers 1..=n, each exactly once.
pub async fn concurrent_declares_get_unique_gap_free_numbers<H: Harness>(h: &H) {
    let store = h.store();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            declare_one(&store, &format!("Incident {i}")).await
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        assert!(
            numbers.insert(task.await.unwrap().0),
            "duplicate incident number"
        );
    }
    assert_eq!(numbers, (1..=40).collect::<BTreeSet<u64>>());
    // A declaration that fails leaves no gap either.
    let invalid = store
        .declare(NewEvents::new(user("a"), at(0), vec![]))
        .await;
    assert!(matches!(invalid, Err(StoreError::Invalid(_))));
    assert_eq!(
        declare_one(store, "after a failed declare").await,
        IncidentNumber(41)
    );
    let listed = store
        .list_incidents(&ListQuery {
            limit: 1000,
            before: None,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let listed: Vec<u64> = listed.iter().map(|row| row.number.0).collect();
    assert_eq!(listed, (1..=41).rev().collect::<Vec<u64>>());
}

/// After many interleaved commands on several incidents, every projection equals its fold.
pub async fn projection_matches_the_fold<H: Harness>(h: &H) {
    let store = h.store();
    let mut incidents = Vec::new();
    for i in 0..3 {
        // Restricted, so the final check compares the stored members with the fold too.
        let declaration = declaration_of(
            &format!("Shard {i} degraded"),
            Severity::Sev2,
            &["checkout"],
            Visibility::Restricted,
        );
        incidents.push(declare_as(store, "alice", declaration).await);
    }
    let mut tasks = Vec::new();
    for (index, inc) in incidents.iter().copied().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let person = user(&format!("op{index}"));
            run(
                &store,
                inc,
                "alice",
                1,
                Command::AssignRole {
                    role: role("operations"),
                    person: person.clone(),
                },
            )
            .await
            .unwrap();
            run(
                &store,
                inc,
                "alice",
                1,
                Command::AssignRole {
                    role: role("communications"),
                    person: user("carol"),
                },
            )
            .await
            .unwrap();
            run(
                &store,
                inc,
                "alice",
                2,
                Command::AssignRole {
                    role: role("communications"),
                    person: user("erin"),
                },
            )
            .await
            .unwrap();
            for n in 0..10 {
                run(
                    &store,
                    inc,
                    person.as_str(),
                    3 + n,
                    note(&format!("step {n}")),
                )
                .await
                .unwrap();
            }
            run(
                &store,
                inc,
                "alice",
                20,
                Command::ChangeStatus {
                    to: Status::Identified,
                    reason: None,
                    override_open_follow_ups: false,
                },
            )
            .await
            .unwrap();
            if index == 2 {
                run(
                    &store,
                    inc,
                    "alice",
                    21,
                    Command::ChangeStatus {
                        to: Status::CalledOff,
                        reason: reason("false alarm"),
                        override_open_follow_ups: false,
                    },
                )
                .await
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for inc in incidents {
        assert_consistent(store, inc).await;
    }
    let rows = store.list_incidents(&ListQuery::default()).await.unwrap();
    assert_eq!(rows[0].status, Status::CalledOff);
    assert_eq!(
        rows[1].roles.get("communications"),
        Some(&vec!["erin".to_owned()])
    );
}

/// The chain of an untouched store verifies; a changed, removed or forged row does not.
pub async fn hash_chain_verifies_and_tampering_is_detected<H: Harness>(h: &H) {
    let store = h.store();
    let mut incidents = Vec::new();
    for i in 0..4 {
        let inc = declare_one(store, &format!("Cache stampede {i}")).await;
        for n in 0..4 {
            run(store, inc, "bob", n, note(&format!("observation {n}")))
                .await
                .unwrap();
        }
        incidents.push(inc);
    }
    let report = verify_all(store).await.unwrap();
    assert_eq!(
        (report.incidents, report.events, report.breaks.len()),
        (4, 20, 0)
    );

    // A changed body no longer matches its hash.
    h.tamper("UPDATE events SET body = replace(body, 'observation 1', 'observation X') WHERE incident = 1 AND sequence = 3").await;
    let broken = verify_incident(store, incidents[0])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((broken.sequence, broken.kind), (3, BreakKind::HashMismatch));

    // A removed event in the middle leaves a gap in the sequence.
    h.tamper("DELETE FROM events WHERE incident = 2 AND sequence = 2")
        .await;
    let broken = verify_incident(store, incidents[1])
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(
        broken.kind,
        BreakKind::SequenceGap {
            expected: 2,
            found: 3
        }
    ));

    // A removed last event is caught by the recorded head.
    h.tamper("DELETE FROM events WHERE incident = 3 AND sequence = 5")
        .await;
    let broken = verify_incident(store, incidents[2])
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(
        broken.kind,
        BreakKind::Truncated {
            expected_version: 5,
            found: 4
        }
    ));

    // A re-hashed forgery breaks the link to the next event.
    h.tamper("UPDATE events SET actor = 'mallory' WHERE incident = 4 AND sequence = 2")
        .await;
    let broken = verify_incident(store, incidents[3])
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!((broken.sequence, broken.kind), (2, BreakKind::HashMismatch));

    // The incidents row is not hashed: a doctored snapshot or list row is caught by
    // comparing it with the fold of the (intact) events.
    let inc = declare_one(store, "Doctored later").await;
    run(store, inc, "bob", 1, note("genuine")).await.unwrap();
    assert_eq!(verify_incident(store, inc).await.unwrap(), Ok(2));
    h.tamper("UPDATE incidents SET state = replace(state, 'SEV2', 'SEV4') WHERE number = 5")
        .await;
    let broken = verify_incident(store, inc).await.unwrap().unwrap_err();
    assert_eq!(
        (broken.sequence, broken.kind),
        (2, BreakKind::ProjectionMismatch)
    );
    let inc = declare_one(store, "Renamed later").await;
    h.tamper("UPDATE incidents SET title = 'Nothing happened' WHERE number = 6")
        .await;
    let broken = verify_incident(store, inc).await.unwrap().unwrap_err();
    assert_eq!(
        (broken.sequence, broken.kind),
        (1, BreakKind::ProjectionMismatch)
    );

    let report = verify_all(store).await.unwrap();
    let broken: Vec<u64> = report.breaks.iter().map(|b| b.incident).collect();
    assert_eq!(broken, vec![1, 2, 3, 4, 5, 6]);
}

/// The global stream holds every event once, in commit order, numbered without gaps.
pub async fn global_stream_is_ordered_and_gap_free<H: Harness>(h: &H) {
    let store = h.store();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let inc = declare_one(&store, &format!("Region {i} latency")).await;
            for n in 0..5 {
                run(&store, inc, "bob", n, note(&format!("n{n}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        seen.extend(page);
    }
    let positions: Vec<i64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=48).collect::<Vec<i64>>());
    // Within each stream, global order agrees with sequence order.
    for inc in 1..=8u64 {
        let sequences: Vec<u64> = seen
            .iter()
            .filter(|e| e.link.incident == inc)
            .map(|e| e.link.sequence)
            .collect();
        assert_eq!(sequences, (1..=6).collect::<Vec<u64>>());
    }
    assert!(store.read_all(48, 10).await.unwrap().is_empty());
}

/// Unknown incidents are `NotFound`; malformed writes are `Invalid` and write nothing.
pub async fn missing_incidents_and_invalid_writes_are_errors<H: Harness>(h: &H) {
    let store = h.store();
    let ghost = IncidentNumber(999);
    assert_eq!(store.load(ghost).await, Err(StoreError::NotFound(ghost)));
    assert_eq!(store.head(ghost).await, Err(StoreError::NotFound(ghost)));
    let write = NewEvents::new(
        user("bob"),
        at(0),
        vec![Event::NoteAdded(NoteAdded {
            text: Text::parse("hi").unwrap(),
        })],
    );
    assert_eq!(
        store.append(ghost, 0, write.clone()).await,
        Err(StoreError::NotFound(ghost))
    );
    assert!(matches!(
        store.declare(write).await,
        Err(StoreError::Invalid(_))
    ));
    let inc = declare_one(store, "Real one").await;
    assert_eq!(
        inc,
        IncidentNumber(1),
        "failed declares must not use up numbers"
    );
    let again = decl_event();
    assert!(matches!(
        store
            .append(inc, 1, NewEvents::new(user("bob"), at(1), vec![again]))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .append(inc, 1, NewEvents::new(user("bob"), at(1), vec![]))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.read_stream(ghost, 0, 10).await.unwrap().is_empty());
    assert_consistent(store, inc).await;
}

fn decl_event() -> Event {
    hereby_core::decide(
        &State::initial(),
        declaration("again"),
        hereby_core::Context {
            now: at(0),
            actor: &user("bob"),
            roles: &RoleCatalogue::default(),
        },
    )
    .unwrap()
    .remove(0)
}

/// A store opened again on the same database (a restart, or a second node) sees every
/// acknowledged write and continues the same chains and numbering.
pub async fn reopened_store_continues_the_chain<H: Harness>(h: &H) {
    let first = h.store();
    let inc = declare_one(first, "Before restart").await;
    run(first, inc, "bob", 1, note("written by the first node"))
        .await
        .unwrap();
    let second = h.reopen().await;
    run(&second, inc, "bob", 2, note("written by the second node"))
        .await
        .unwrap();
    assert_eq!(
        declare_one(&second, "After restart").await,
        IncidentNumber(2)
    );
    run(first, inc, "bob", 3, note("the first node again"))
        .await
        .unwrap();
    assert_consistent(&second, inc).await;
    assert_consistent(first, inc).await;
    assert_eq!(first.read_all(0, 100).await.unwrap().len(), 5);
}

/// A long stream is read back in pages and verifies as a whole.
pub async fn long_streams_are_read_and_verified_in_pages<H: Harness>(h: &H) {
    let store = h.store();
    let inc = declare_one(store, "Chatty incident").await;
    let mut version = 1;
    for chunk in 0..25 {
        let events = (0..100)
            .map(|n| {
                Event::NoteAdded(NoteAdded {
                    text: Text::parse(&format!("note {chunk}/{n}")).unwrap(),
                })
            })
            .collect();
        version = store
            .append(inc, version, NewEvents::new(user("bob"), at(chunk), events))
            .await
            .unwrap()
            .version;
    }
    assert_eq!(version, 2_501);
    let page = store.read_stream(inc, 2_400, 50).await.unwrap();
    assert_eq!(page.first().map(|e| e.link.sequence), Some(2_401));
    assert_eq!(page.len(), 50);
    assert_eq!(verify_incident(store, inc).await.unwrap(), Ok(2_501));
    assert_consistent(store, inc).await;
}

/// Two stores on one database (two server nodes) append to the same incidents at once. Each
/// node's cached heads go stale whenever the other writes; no write may be lost or doubled.
pub async fn two_nodes_appending_to_the_same_incidents_stay_consistent<H: Harness>(h: &H) {
    let first = h.store().clone();
    let second = h.reopen().await;
    let incidents = [
        declare_one(&first, "Shared one").await,
        declare_one(&second, "Shared two").await,
    ];
    let mut tasks = Vec::new();
    for (node, store) in [first.clone(), second.clone()].into_iter().enumerate() {
        for writer in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..10 {
                    let inc = incidents[n % 2];
                    run(
                        &store,
                        inc,
                        "bob",
                        1,
                        note(&format!("node {node} writer {writer} note {n}")),
                    )
                    .await
                    .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    for inc in incidents {
        assert_eq!(first.load(inc).await.unwrap().version, 41);
        assert_consistent(&first, inc).await;
        assert_consistent(&second, inc).await;
    }
    let positions: Vec<i64> = first
        .read_all(0, 1_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, (1..=82).collect::<Vec<i64>>());
}

/// A token digest for the story: 32 copies of `n`.
fn digest(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Users are created once, listed by name (bytewise, on every backend), changed and found.
pub async fn users_are_created_listed_and_updated<H: Harness>(h: &H) {
    let store = h.store();
    assert_eq!(store.count_users().await.unwrap(), 0);
    assert!(store.list_users().await.unwrap().is_empty());
    let bob = store
        .create_user(&user("bob"), InstallationRole::Responder, at(1))
        .await
        .unwrap();
    assert_eq!(
        bob,
        User {
            name: user("bob"),
            role: InstallationRole::Responder,
            disabled: false,
            created_at: at(1),
        }
    );
    // Names a natural-language collation would sort otherwise (it skips punctuation).
    let others = ["ab", "a_b", "a.c", "a-z", "b0", "alice", "zed"];
    for name in others {
        store
            .create_user(&user(name), InstallationRole::Viewer, at(2))
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .create_user(&user("bob"), InstallationRole::Admin, at(3))
            .await,
        Err(StoreError::UserExists(user("bob")))
    );
    assert_eq!(store.user(&user("bob")).await.unwrap(), bob);
    assert_eq!(store.count_users().await.unwrap(), 8);
    let mut names: Vec<&str> = others.into_iter().chain(["bob"]).collect();
    names.sort_unstable();
    let listed: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.name.as_str().to_owned())
        .collect();
    assert_eq!(listed, names);

    let promoted = store
        .update_user(
            &user("bob"),
            UserChange {
                role: Some(InstallationRole::Admin),
                disabled: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (promoted.role, promoted.disabled),
        (InstallationRole::Admin, false)
    );
    let disabled = store
        .update_user(
            &user("bob"),
            UserChange {
                role: None,
                disabled: Some(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (disabled.role, disabled.disabled),
        (InstallationRole::Admin, true)
    );
    assert_eq!(disabled.created_at, at(1));
    let unchanged = store
        .update_user(&user("bob"), UserChange::default())
        .await
        .unwrap();
    assert_eq!(unchanged, disabled);
    assert_eq!(store.user(&user("bob")).await.unwrap(), disabled);

    let ghost = user("ghost");
    assert_eq!(
        store.user(&ghost).await,
        Err(StoreError::UnknownUser(ghost.clone()))
    );
    assert_eq!(
        store.update_user(&ghost, UserChange::default()).await,
        Err(StoreError::UnknownUser(ghost.clone()))
    );
    let reopened = h.reopen().await;
    assert_eq!(
        reopened.list_users().await.unwrap(),
        store.list_users().await.unwrap()
    );
}

/// A token authenticates its user until it is revoked or the user is disabled.
pub async fn tokens_authenticate_until_revoked_or_disabled<H: Harness>(h: &H) {
    let store = h.store();
    let bob = store
        .create_user(&user("bob"), InstallationRole::Responder, at(0))
        .await
        .unwrap();
    let carol = store
        .create_user(&user("carol"), InstallationRole::Viewer, at(0))
        .await
        .unwrap();
    let laptop = store
        .create_token(&user("bob"), "laptop", digest(1), at(1))
        .await
        .unwrap();
    assert_eq!(
        laptop,
        TokenRecord {
            id: laptop.id,
            user: user("bob"),
            label: "laptop".into(),
            created_at: at(1),
            revoked_at: None,
        }
    );
    let ci = store
        .create_token(&user("bob"), "ci", digest(2), at(2))
        .await
        .unwrap();
    let carols = store
        .create_token(&user("carol"), "laptop", digest(3), at(3))
        .await
        .unwrap();
    assert_eq!(
        store.authenticate(digest(1)).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store.authenticate(digest(2)).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(store.authenticate(digest(3)).await.unwrap(), Some(carol));
    assert_eq!(store.authenticate(digest(9)).await.unwrap(), None);
    assert_eq!(
        store
            .create_token(&user("ghost"), "x", digest(4), at(4))
            .await,
        Err(StoreError::UnknownUser(user("ghost")))
    );
    assert!(matches!(
        store
            .create_token(&user("carol"), "copy", digest(1), at(4))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.list_tokens(None).await.unwrap(),
        vec![carols.clone(), ci.clone(), laptop.clone()]
    );
    assert_eq!(
        store.list_tokens(Some(&user("bob"))).await.unwrap(),
        vec![ci.clone(), laptop.clone()]
    );
    assert!(
        store
            .list_tokens(Some(&user("ghost")))
            .await
            .unwrap()
            .is_empty()
    );

    let revoked = store.revoke_token(laptop.id, at(5)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at(5)));
    assert_eq!(
        store.revoke_token(laptop.id, at(6)).await.unwrap(),
        revoked,
        "revoking again keeps the first revocation"
    );
    assert_eq!(store.authenticate(digest(1)).await.unwrap(), None);
    assert_eq!(store.authenticate(digest(2)).await.unwrap(), Some(bob));
    assert_eq!(
        store.revoke_token(laptop.id + 1_000, at(6)).await,
        Err(StoreError::UnknownToken(laptop.id + 1_000))
    );

    let change = |disabled| UserChange {
        role: None,
        disabled: Some(disabled),
    };
    store.update_user(&user("bob"), change(true)).await.unwrap();
    assert_eq!(store.authenticate(digest(2)).await.unwrap(), None);
    let enabled = store
        .update_user(&user("bob"), change(false))
        .await
        .unwrap();
    assert_eq!(store.authenticate(digest(2)).await.unwrap(), Some(enabled));
    assert_eq!(store.authenticate(digest(1)).await.unwrap(), None);
    assert_eq!(
        store.list_tokens(Some(&user("bob"))).await.unwrap(),
        vec![ci, revoked]
    );
}

/// Servers starting at once on an empty database create exactly one first admin.
pub async fn first_admin_is_created_once_under_concurrency<H: Harness>(h: &H) {
    let nodes = [h.store().clone(), h.reopen().await];
    let mut tasks = Vec::new();
    for n in 0..8u8 {
        let store = nodes[usize::from(n % 2)].clone();
        tasks.push(tokio::spawn(async move {
            let name = user(&format!("admin{n}"));
            let created = store
                .create_first_admin(&name, "first", digest(n + 1), at(0))
                .await
                .unwrap();
            created.map(|pair| (n, pair))
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.extend(task.await.unwrap());
    }
    assert_eq!(created.len(), 1, "exactly one first admin: {created:?}");
    let (winner, (admin, token)) = created.remove(0);
    assert_eq!(admin.role, InstallationRole::Admin);
    assert_eq!((&token.user, token.label.as_str()), (&admin.name, "first"));
    let store = h.store();
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(store.list_users().await.unwrap(), vec![admin.clone()]);
    assert_eq!(store.list_tokens(None).await.unwrap(), vec![token]);
    for n in 0..8u8 {
        let expected = (n == winner).then(|| admin.clone());
        assert_eq!(store.authenticate(digest(n + 1)).await.unwrap(), expected);
    }
    assert_eq!(
        store
            .create_first_admin(&user("late"), "first", digest(42), at(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// The incidents listed for `viewer` (everyone's with `None`), newest first.
async fn visible<S: Store>(store: &S, viewer: Option<&str>) -> Vec<u64> {
    store
        .list_incidents(&ListQuery {
            limit: 1_000,
            visible_to: viewer.map(user),
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|row| row.number.0)
        .collect()
}

/// A restricted incident is listed only for its members: role holders and people added
/// explicitly, for as long as they are members. Internal incidents are listed for everyone.
pub async fn restricted_incidents_are_listed_for_members_only<H: Harness>(h: &H) {
    let store = h.store();
    let secret = declare_as(
        store,
        "alice",
        declaration_of(
            "Leaked credentials",
            Severity::Sev1,
            &["auth"],
            Visibility::Restricted,
        ),
    )
    .await;
    let open = declare_as(
        store,
        "erin",
        declaration_of(
            "Slow dashboards",
            Severity::Sev3,
            &["web"],
            Visibility::Internal,
        ),
    )
    .await;
    let (both, only_open) = (vec![open.0, secret.0], vec![open.0]);
    assert_eq!(
        visible(store, Some("alice")).await,
        both,
        "the IC is a member"
    );
    assert_eq!(visible(store, Some("bob")).await, only_open);
    assert_eq!(visible(store, Some("erin")).await, only_open);
    assert_eq!(visible(store, None).await, both);

    let assign = |key: &str, person: &str| Command::AssignRole {
        role: role(key),
        person: user(person),
    };
    let unassign = |key: &str, person: &str| Command::UnassignRole {
        role: role(key),
        person: user(person),
    };
    let add = |person: &str| Command::AddMember {
        person: user(person),
    };
    let remove = |person: &str| Command::RemoveMember {
        person: user(person),
    };
    // (actor, command, viewer, whether the viewer sees the restricted incident afterwards)
    let steps = [
        ("alice", assign("operations", "bob"), "bob", true),
        ("alice", add("carol"), "carol", true),
        ("alice", assign("scribe", "carol"), "carol", true),
        // Still a member through the role.
        ("alice", remove("carol"), "carol", true),
        ("alice", unassign("scribe", "carol"), "carol", false),
        ("alice", unassign("operations", "bob"), "bob", false),
        // Command changes hands: the new IC becomes a member, the old one stops being one.
        (
            "alice",
            Command::RequestHandoff { to: user("dave") },
            "dave",
            false,
        ),
        ("dave", Command::AcceptHandoff, "dave", true),
        ("dave", add("erin"), "alice", false),
        ("dave", add("alice"), "alice", true),
    ];
    for (minute, (actor, command, viewer, sees)) in (1..).zip(steps) {
        let described = format!("{command:?} by {actor}");
        run(store, secret, actor, minute, command).await.unwrap();
        let expected = if sees { &both } else { &only_open };
        assert_eq!(
            &visible(store, Some(viewer)).await,
            expected,
            "listed for {viewer} after {described}"
        );
    }
    assert_eq!(visible(store, Some("erin")).await, both);
    assert_eq!(visible(store, None).await, both);

    let reopened = h.reopen().await;
    assert_eq!(visible(&reopened, Some("alice")).await, both);
    assert_eq!(visible(&reopened, Some("carol")).await, only_open);
    assert_consistent(store, secret).await;
    assert_consistent(store, open).await;
}

/// A database whose incidents were written before members were stored (before migration 2)
/// gets their members when migrated: restricted incidents stay visible to their members.
pub async fn migrating_an_older_database_fills_in_incident_members<H: Harness>(h: &H) {
    let store = h.store();
    let restricted = declaration_of("Older", Severity::Sev2, &["auth"], Visibility::Restricted);
    let secret = declare_as(store, "alice", restricted).await;
    let open = declare_one(store, "Older and internal").await;
    for command in [
        Command::AssignRole {
            role: role("operations"),
            person: user("bob"),
        },
        Command::AddMember {
            person: user("carol"),
        },
    ] {
        run(store, secret, "alice", 1, command).await.unwrap();
    }
    // Back to the schema before migration 2, keeping the incidents.
    for statement in [
        "DROP TABLE incident_members",
        "DROP TABLE api_tokens",
        "DROP TABLE users",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
    ] {
        h.tamper(statement).await;
    }
    let migrated = h.reopen().await;
    let (both, only_open) = (vec![open.0, secret.0], vec![open.0]);
    for (viewer, expected) in [
        ("alice", &both),
        ("bob", &both),
        ("carol", &both),
        ("dave", &only_open),
    ] {
        assert_eq!(
            &visible(&migrated, Some(viewer)).await,
            expected,
            "{viewer}"
        );
    }
    run(
        &migrated,
        secret,
        "alice",
        2,
        Command::RemoveMember {
            person: user("carol"),
        },
    )
    .await
    .unwrap();
    assert_consistent(&migrated, secret).await;
}

/// Status, severity, service and visibility filters, alone and together, page by page.
pub async fn list_filters_combine_with_pagination<H: Harness>(h: &H) {
    /// What each incident was made to be: number, severity, status, services, restricted.
    struct Made {
        number: u64,
        severity: Severity,
        status: Status,
        services: &'static [&'static str],
        restricted: bool,
    }
    // `db_main` must not match `dbxmain` (as the LIKE pattern `db_main` would), nor `db`
    // match `db_main` (as a substring would).
    let service_sets: [&'static [&'static str]; 4] = [
        &["db_main"],
        &["dbxmain"],
        &["web", "db_main"],
        &["db", "main"],
    ];
    let severities = [Severity::Sev1, Severity::Sev2, Severity::Sev3];
    let store = h.store();
    let mut made = Vec::new();
    for i in 0..14usize {
        let restricted = i % 5 == 4;
        let (severity, services) = (severities[i % 3], service_sets[i % 4]);
        let number = declare_as(
            store,
            "alice",
            declaration_of(
                &format!("Incident {i}"),
                severity,
                services,
                if restricted {
                    Visibility::Restricted
                } else {
                    Visibility::Internal
                },
            ),
        )
        .await;
        let mut status = Status::Investigating;
        for (wanted, to) in [
            (i % 2 == 1, Status::Identified),
            (i % 6 == 5, Status::Resolved),
        ] {
            if wanted {
                let change = Command::ChangeStatus {
                    to,
                    reason: None,
                    override_open_follow_ups: false,
                };
                run(store, number, "alice", 1, change).await.unwrap();
                status = to;
            }
        }
        made.push(Made {
            number: number.0,
            severity,
            status,
            services,
            restricted,
        });
    }

    let service = |name: &str| Some(ServiceName::parse(name).unwrap());
    let queries = [
        ListQuery::default(),
        ListQuery {
            statuses: vec![Status::Identified],
            ..ListQuery::default()
        },
        ListQuery {
            statuses: vec![Status::Investigating, Status::Resolved],
            ..ListQuery::default()
        },
        ListQuery {
            severities: vec![Severity::Sev1],
            ..ListQuery::default()
        },
        ListQuery {
            severities: vec![Severity::Sev1, Severity::Sev3],
            ..ListQuery::default()
        },
        ListQuery {
            service: service("db_main"),
            ..ListQuery::default()
        },
        ListQuery {
            service: service("db"),
            ..ListQuery::default()
        },
        ListQuery {
            service: service("db_mai"),
            ..ListQuery::default()
        },
        ListQuery {
            visible_to: Some(user("bob")),
            ..ListQuery::default()
        },
        ListQuery {
            statuses: vec![Status::Identified, Status::Resolved],
            severities: vec![Severity::Sev1, Severity::Sev2],
            service: service("db_main"),
            visible_to: Some(user("bob")),
            ..ListQuery::default()
        },
        ListQuery {
            statuses: vec![Status::Investigating],
            service: service("web"),
            visible_to: Some(user("alice")),
            ..ListQuery::default()
        },
    ];
    for query in queries {
        let expected: Vec<u64> = made
            .iter()
            .rev()
            .filter(|m| query.statuses.is_empty() || query.statuses.contains(&m.status))
            .filter(|m| query.severities.is_empty() || query.severities.contains(&m.severity))
            .filter(|m| {
                query
                    .service
                    .as_ref()
                    .is_none_or(|s| m.services.contains(&s.as_str()))
            })
            .filter(|m| {
                !m.restricted
                    || query
                        .visible_to
                        .as_ref()
                        .is_none_or(|u| u.as_str() == "alice")
            })
            .map(|m| m.number)
            .collect();
        let all = list_in_pages(store, &query, 1_000).await;
        assert_eq!(all, expected, "{query:?}");
        let paged = list_in_pages(store, &query, 2).await;
        assert_eq!(paged, expected, "{query:?} in pages of 2");
    }
}

/// Every incident `query` lists, fetched `limit` at a time through the `before` cursor.
async fn list_in_pages<S: Store>(store: &S, query: &ListQuery, limit: u32) -> Vec<u64> {
    let mut numbers = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_incidents(&ListQuery {
                limit,
                before,
                ..query.clone()
            })
            .await
            .unwrap();
        numbers.extend(page.iter().map(|row| row.number.0));
        match page.last() {
            Some(last) if page.len() == limit as usize => before = Some(last.number),
            _ => return numbers,
        }
    }
}
