//! The conformance story: what every [`Store`] must do, written once and run by each backend
//! against a real database of its kind (see [`conformance_tests!`](crate::conformance_tests)).
//!
//! The checks panic with a message on failure, like any test assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;

use hereby_core::chain::BreakKind;
use hereby_core::types::{
    ActionKind, IncidentNumber, Owner, Reason, RoleKey, ServiceName, Severity, Status, Target,
    Text, Title, UserName, Visibility,
};
use hereby_core::{Command, Event, RejectionCode, RoleCatalogue, State, event::NoteAdded};
use jiff::Timestamp;

use crate::prepare::{replay, summarize};
use crate::{
    ExecuteError, ListQuery, NewEvents, Store, StoreError, declare, execute, verify_all,
    verify_incident,
};

/// What a backend's test provides: a store on a fresh, private database, raw SQL access to
/// damage it, and a way to open the same database again.
pub trait Harness: Send + Sync {
    type S: Store;
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
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: Some(Text::parse("Checkout requests fail with 502").unwrap()),
        severity: Severity::Sev2,
        potential: false,
        services: vec![ServiceName::parse("checkout").unwrap()],
        visibility: Visibility::Internal,
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
    declare(
        store,
        declaration(title),
        &user("alice"),
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

/// Checks that the stored state and the projection row both equal the fold of the stream.
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
        })
        .await
        .unwrap();
    assert_eq!(row.first(), Some(&summarize(incident, folded_incident)));
    assert_eq!(
        verify_incident(store, incident).await.unwrap(),
        Ok(loaded.version)
    );
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
        incidents.push(declare_one(store, &format!("Shard {i} degraded")).await);
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
