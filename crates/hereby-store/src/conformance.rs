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
use hereby_core::{Command, Event, Incident, RejectionCode, State, event::NoteAdded, evolve};
use jiff::Timestamp;

use crate::Search as _;
use crate::prepare::{replay, summarize};
use crate::{
    Directory, ExecuteError, ListQuery, NewEvents, Store, StoreError, TokenRecord, User,
    UserChange, declare, execute, verify_all, verify_incident,
};

/// What a backend's test provides: a store on a fresh, private database, raw SQL access to
/// damage it, and a way to open the same database again.
pub trait Harness: Send + Sync {
    type S: Store
        + Directory
        + crate::Notifications
        + crate::Communications
        + crate::Alerts
        + crate::Search;
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
            many_writers_on_one_incident_all_succeed,
            concurrent_declares_get_unique_gap_free_numbers,
            projection_matches_the_fold,
            hash_chain_verifies_and_tampering_is_detected,
            global_stream_is_ordered_and_gap_free,
            missing_incidents_and_invalid_writes_are_errors,
            reopened_store_continues_the_chain,
            long_streams_are_read_and_verified_in_pages,
            two_nodes_appending_to_the_same_incidents_stay_consistent,
            users_are_created_listed_and_updated,
            admin_settings_are_kept_by_kind_and_name,
            releases_are_recorded_once_and_listed_newest_first,
            tokens_authenticate_until_revoked_or_disabled,
            first_admin_is_created_once_under_concurrency,
            restricted_incidents_are_listed_for_members_only,
            list_filters_combine_with_pagination,
            migrating_an_older_database_fills_in_incident_members,
            passwords_are_set_replaced_and_end_sessions,
            web_sessions_expire_end_and_stop_for_disabled_users,
            setup_links_are_redeemed_once,
            concurrent_redemptions_of_a_setup_link_have_one_winner,
            text_search_matches_title_or_summary_for_those_who_may_see,
            summary_column_equals_the_fold_and_doctoring_is_detected,
            migrating_an_older_database_fills_in_summaries,
            outbox_queues_each_key_once_and_dispatch_moves_the_cursor_once,
            deliveries_are_claimed_leased_retried_and_dead_lettered,
            a_lapsed_claim_cannot_record_an_outcome,
            claims_take_no_more_than_each_channel_may_send,
            concurrent_claims_never_share_a_delivery,
            reminder_jobs_are_armed_claimed_and_cancelled,
            notification_addresses_and_channel_removal,
            integrations_open_with_their_key_until_revoked_and_rotate_with_an_overlap,
            alerts_are_deduplicated_grouped_resolved_and_reopened,
            concurrent_payloads_for_one_group_make_one_group_and_one_alert,
            queued_payloads_are_recorded_in_the_order_they_were_accepted,
            held_alerts_are_kept_but_open_nothing,
            search_ranks_the_fixtures_as_expected,
            search_shows_restricted_incidents_only_to_members,
            search_indexes_what_each_event_says,
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
        public_summary: None,
        severity,
        potential: false,
        services: services
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        visibility,
        triage: false,
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
        &hereby_core::Policy::default(),
    )
    .await
    .unwrap()
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
        &hereby_core::Policy::default(),
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
            witness: None,
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
            potential: Some(false),
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
            override_close_checks: false,
        },
    )
    .await
    .unwrap();
    // Closing waits for a reviewed post-mortem: drafted, submitted by its owner (the IC),
    // approved by a reviewer, marked reviewed.
    let not_reviewed = run(
        store,
        inc,
        "dave",
        8,
        Command::ChangeStatus {
            to: Status::Closed,
            reason: None,
            override_close_checks: false,
        },
    )
    .await;
    assert!(
        matches!(not_reviewed, Err(ExecuteError::Rejected(r)) if r.code == RejectionCode::PostmortemNotReviewed)
    );
    for (actor, command) in [
        (
            "dave",
            Command::DraftPostmortem {
                template: hereby_core::types::TemplateName::parse("full").unwrap(),
                body: hereby_core::types::Document::parse("# INC-1\n\n## Timeline\n").unwrap(),
            },
        ),
        ("dave", Command::SubmitPostmortem),
        ("bob", Command::ApprovePostmortem),
        (
            "dave",
            Command::MarkPostmortemReviewed {
                gate: Default::default(),
            },
        ),
    ] {
        run(store, inc, actor, 8, command).await.unwrap();
    }
    let refused = run(
        store,
        inc,
        "dave",
        8,
        Command::ChangeStatus {
            to: Status::Closed,
            reason: None,
            override_close_checks: false,
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
            override_close_checks: false,
        },
    )
    .await
    .unwrap();

    let incident = closed.state.incident().unwrap();
    assert_eq!(incident.status, Status::Closed);
    assert_eq!(incident.severity, Severity::Sev1);
    assert_eq!(incident.commander(), Some(&user("dave")));
    assert_eq!(incident.resolved_at, Some(at(7)));
    assert_eq!(closed.version, 17);
    assert_eq!(
        incident.reviews.next, None,
        "closing cancels the planned review meeting"
    );
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
            witness: None,
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
        &hereby_core::Policy::default(),
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

/// Thirty-two responders each adding ten notes to one incident at the same time, without an
/// expected version: every command takes effect (none is lost to a race), in some order.
pub async fn many_writers_on_one_incident_all_succeed<H: Harness>(h: &H) {
    let store = h.store();
    let inc = declare_one(store, "Everyone is writing").await;
    let before = store.load(inc).await.unwrap().version;
    let mut tasks = Vec::new();
    for writer in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for note in 0..10 {
                let text = Text::parse(&format!("writer {writer} note {note}")).unwrap();
                crate::execute(
                    &store,
                    inc,
                    None,
                    Command::AddNote { text },
                    &user("bob"),
                    at(2),
                    &hereby_core::Policy::default(),
                )
                .await?;
            }
            Ok::<_, crate::ExecuteError>(())
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .expect("every writer's notes are accepted");
    }
    assert_eq!(store.load(inc).await.unwrap().version, before + 320);
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
                    override_close_checks: false,
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
                        override_close_checks: false,
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
            policy: &hereby_core::Policy::default(),
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
    // One type of event, read without the rest: links among thousands of notes.
    for n in [0u64, 1, 2] {
        let link = Event::LinkAdded(hereby_core::event::LinkAdded {
            kind: hereby_core::types::LinkKind::Ticket,
            url: hereby_core::types::Url::parse(&format!("https://tickets.example.com/{n}"))
                .unwrap(),
            title: None,
        });
        version = store
            .append(
                inc,
                version,
                NewEvents::new(user("bob"), at(30), vec![link]),
            )
            .await
            .unwrap()
            .version;
    }
    let links = store
        .read_stream_of_type(inc, "link_added", 0, 2)
        .await
        .unwrap();
    assert_eq!(
        links.iter().map(|e| e.link.sequence).collect::<Vec<_>>(),
        vec![2_502, 2_503]
    );
    let rest = store
        .read_stream_of_type(inc, "link_added", 2_503, 10)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|e| e.link.sequence).collect::<Vec<_>>(),
        vec![2_504]
    );
    assert!(
        store
            .read_stream_of_type(inc, "evidence_attached", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(version, 2_504);
    assert_eq!(verify_incident(store, inc).await.unwrap(), Ok(2_504));
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
        // The person asked to take command sees what they are asked to take on, and stops
        // seeing it when they decline; command changes hands: the new IC stays a member, the
        // old one stops being one.
        (
            "alice",
            Command::RequestHandoff { to: user("dave") },
            "dave",
            true,
        ),
        (
            "dave",
            Command::DeclineHandoff { reason: None },
            "dave",
            false,
        ),
        (
            "alice",
            Command::RequestHandoff { to: user("dave") },
            "dave",
            true,
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
    // Back to the schema before migration 2, keeping the incidents: first without migration 4,
    // which depends on it, then without 2 itself. Both run again on reopening.
    for statement in ROLL_BACK_MIGRATION_4.iter().copied().chain([
        "DROP TABLE incident_members",
        "DROP TABLE api_tokens",
        "DROP TABLE users",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
    ]) {
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
                    override_close_checks: false,
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
        // The narrow listing lists the same incidents, with the rows' versions and times.
        let rows = store.list_incidents(&query).await.unwrap();
        let narrow = store.list_versions(&query).await.unwrap();
        let as_rows: Vec<crate::IncidentVersion> = rows
            .iter()
            .map(|row| crate::IncidentVersion {
                number: row.number,
                version: row.version,
                declared_at: row.declared_at,
            })
            .collect();
        assert_eq!(narrow, as_rows, "{query:?}, narrow");
        if let Some(second) = rows.get(1) {
            let narrow_paged = store
                .list_versions(&ListQuery {
                    limit: 2,
                    before: Some(second.number),
                    ..query.clone()
                })
                .await
                .unwrap();
            assert_eq!(
                narrow_paged
                    .iter()
                    .map(|row| row.number.0)
                    .collect::<Vec<_>>(),
                expected.iter().skip(2).take(2).copied().collect::<Vec<_>>(),
                "{query:?}, narrow, the second page of 2"
            );
        }
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

/// Statements that take a database back to the schema before migration 4 (web sign-in and
/// the incidents' summary column), keeping the data that schema has.
const ROLL_BACK_MIGRATION_4: [&str; 5] = [
    "DROP TABLE web_sessions",
    "DROP TABLE setup_links",
    "ALTER TABLE users DROP COLUMN password_hash",
    "ALTER TABLE incidents DROP COLUMN summary",
    "DELETE FROM _sqlx_migrations WHERE version = 4",
];

/// A password hash as the server stores it; the store neither checks nor reads it.
fn phc(n: u8) -> String {
    format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${n:0>43}")
}

async fn create_users<S: Directory>(store: &S, names: &[&str]) -> Vec<User> {
    let mut users = Vec::new();
    for name in names {
        users.push(
            store
                .create_user(&user(name), InstallationRole::Responder, at(0))
                .await
                .unwrap(),
        );
    }
    users
}

/// A password hash is read back as set, replaced by the next one, and setting one ends the
/// user's web sessions (and only theirs).
pub async fn passwords_are_set_replaced_and_end_sessions<H: Harness>(h: &H) {
    let store = h.store();
    let [bob, carol] = create_users(store, &["bob", "carol"])
        .await
        .try_into()
        .unwrap();
    assert!(!store.any_password_set().await.unwrap());
    assert_eq!(store.password_hash(&bob.name).await.unwrap(), None);
    let ghost = user("ghost");
    assert_eq!(
        store.password_hash(&ghost).await,
        Err(StoreError::UnknownUser(ghost.clone()))
    );
    assert_eq!(
        store.set_password_hash(&ghost, &phc(1)).await,
        Err(StoreError::UnknownUser(ghost.clone()))
    );
    assert!(!store.any_password_set().await.unwrap());

    for (n, person) in [(1, &bob), (2, &bob), (3, &carol)] {
        store
            .create_web_session(digest(n), &person.name, at(0), at(60))
            .await
            .unwrap();
    }
    store.set_password_hash(&bob.name, &phc(1)).await.unwrap();
    assert_eq!(store.password_hash(&bob.name).await.unwrap(), Some(phc(1)));
    assert_eq!(store.password_hash(&carol.name).await.unwrap(), None);
    assert!(store.any_password_set().await.unwrap());
    for (n, expected) in [(1, None), (2, None), (3, Some(carol.clone()))] {
        assert_eq!(
            store.web_session_user(digest(n), at(1)).await.unwrap(),
            expected,
            "session {n} after bob's password was set"
        );
    }

    store.set_password_hash(&bob.name, &phc(2)).await.unwrap();
    assert_eq!(store.password_hash(&bob.name).await.unwrap(), Some(phc(2)));
    // The user row is otherwise unchanged.
    assert_eq!(store.user(&bob.name).await.unwrap(), bob);
    let reopened = h.reopen().await;
    assert_eq!(
        reopened.password_hash(&bob.name).await.unwrap(),
        Some(phc(2))
    );
    assert!(reopened.any_password_set().await.unwrap());
}

/// A web session names its user until it expires or is deleted, or while the user is disabled;
/// disabling ends it for good. Creating one clears out expired ones.
pub async fn web_sessions_expire_end_and_stop_for_disabled_users<H: Harness>(h: &H) {
    let store = h.store();
    let [bob, carol] = create_users(store, &["bob", "carol"])
        .await
        .try_into()
        .unwrap();
    store
        .create_web_session(digest(1), &bob.name, at(0), at(10))
        .await
        .unwrap();
    for (minute, expected) in [(0, Some(bob.clone())), (9, Some(bob.clone())), (10, None)] {
        assert_eq!(
            store.web_session_user(digest(1), at(minute)).await.unwrap(),
            expected,
            "a session expiring at minute 10, at minute {minute}"
        );
    }
    assert_eq!(
        store.web_session_user(digest(9), at(0)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .create_web_session(digest(2), &user("ghost"), at(0), at(10))
            .await,
        Err(StoreError::UnknownUser(user("ghost")))
    );
    assert!(matches!(
        store
            .create_web_session(digest(1), &carol.name, at(0), at(10))
            .await,
        Err(StoreError::Invalid(_))
    ));

    // Creating a session deletes the expired ones: asked about a time before it expired, the
    // first session is gone.
    store
        .create_web_session(digest(2), &bob.name, at(20), at(80))
        .await
        .unwrap();
    assert_eq!(
        store.web_session_user(digest(1), at(5)).await.unwrap(),
        None
    );

    store.delete_web_session(digest(2)).await.unwrap();
    assert_eq!(
        store.web_session_user(digest(2), at(21)).await.unwrap(),
        None
    );
    store.delete_web_session(digest(2)).await.unwrap();
    store.delete_web_session(digest(42)).await.unwrap();

    for (n, person) in [(3, &bob), (4, &carol)] {
        store
            .create_web_session(digest(n), &person.name, at(30), at(90))
            .await
            .unwrap();
    }
    let change = |role, disabled| UserChange { role, disabled };
    store
        .update_user(&bob.name, change(Some(InstallationRole::Viewer), None))
        .await
        .unwrap();
    let demoted = store.web_session_user(digest(3), at(31)).await.unwrap();
    assert_eq!(
        demoted.map(|u| u.role),
        Some(InstallationRole::Viewer),
        "a role change keeps the session and shows the new role"
    );
    store
        .update_user(&bob.name, change(None, Some(true)))
        .await
        .unwrap();
    assert_eq!(
        store.web_session_user(digest(3), at(31)).await.unwrap(),
        None
    );
    store
        .update_user(&bob.name, change(None, Some(false)))
        .await
        .unwrap();
    assert_eq!(
        store.web_session_user(digest(3), at(31)).await.unwrap(),
        None,
        "disabling ended the session; enabling again does not bring it back"
    );
    assert_eq!(
        store.web_session_user(digest(4), at(31)).await.unwrap(),
        Some(carol)
    );
    let reopened = h.reopen().await;
    store
        .create_web_session(digest(5), &bob.name, at(40), at(100))
        .await
        .unwrap();
    assert_eq!(
        reopened
            .web_session_user(digest(5), at(41))
            .await
            .unwrap()
            .map(|u| u.name),
        Some(bob.name)
    );
}

/// A setup link names its user while valid; redeeming it sets the password, uses up every link
/// of the user and ends their sessions, once. Expired links and disabled users' links redeem
/// nothing and change nothing.
pub async fn setup_links_are_redeemed_once<H: Harness>(h: &H) {
    let store = h.store();
    let [bob, carol, dave] = create_users(store, &["bob", "carol", "dave"])
        .await
        .try_into()
        .unwrap();
    for n in [1, 2] {
        store
            .create_setup_link(digest(n), &bob.name, at(0), at(60))
            .await
            .unwrap();
    }
    assert_eq!(
        store.setup_link_user(digest(1), at(1)).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store.setup_link_user(digest(1), at(60)).await.unwrap(),
        None
    );
    assert_eq!(store.setup_link_user(digest(9), at(1)).await.unwrap(), None);
    assert_eq!(
        store
            .create_setup_link(digest(3), &user("ghost"), at(0), at(60))
            .await,
        Err(StoreError::UnknownUser(user("ghost")))
    );
    store
        .create_web_session(digest(20), &bob.name, at(0), at(60))
        .await
        .unwrap();
    store
        .create_web_session(digest(21), &carol.name, at(0), at(60))
        .await
        .unwrap();

    assert_eq!(
        store
            .redeem_setup_link(digest(1), &phc(1), at(2))
            .await
            .unwrap(),
        Some(bob.clone())
    );
    assert_eq!(store.password_hash(&bob.name).await.unwrap(), Some(phc(1)));
    assert_eq!(
        store.web_session_user(digest(20), at(3)).await.unwrap(),
        None,
        "redeeming ends the user's sessions"
    );
    assert_eq!(
        store.web_session_user(digest(21), at(3)).await.unwrap(),
        Some(carol.clone())
    );
    for n in [1, 2] {
        assert_eq!(
            store.setup_link_user(digest(n), at(3)).await.unwrap(),
            None,
            "every link of the user is used up"
        );
        assert_eq!(
            store
                .redeem_setup_link(digest(n), &phc(2), at(3))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(store.password_hash(&bob.name).await.unwrap(), Some(phc(1)));

    // Expired: nothing happens, and the link is still there for an earlier time.
    store
        .create_setup_link(digest(4), &carol.name, at(0), at(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_setup_link(digest(4), &phc(4), at(10))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.password_hash(&carol.name).await.unwrap(), None);
    assert_eq!(
        store.web_session_user(digest(21), at(3)).await.unwrap(),
        Some(carol.clone())
    );
    assert_eq!(
        store.setup_link_user(digest(4), at(9)).await.unwrap(),
        Some(carol)
    );

    // A disabled user's link redeems nothing until they are enabled again.
    store
        .create_setup_link(digest(5), &dave.name, at(0), at(60))
        .await
        .unwrap();
    let change = |disabled| UserChange {
        role: None,
        disabled: Some(disabled),
    };
    store.update_user(&dave.name, change(true)).await.unwrap();
    assert_eq!(store.setup_link_user(digest(5), at(1)).await.unwrap(), None);
    assert_eq!(
        store
            .redeem_setup_link(digest(5), &phc(5), at(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.password_hash(&dave.name).await.unwrap(), None);
    let enabled = store.update_user(&dave.name, change(false)).await.unwrap();
    assert_eq!(
        store
            .redeem_setup_link(digest(5), &phc(5), at(2))
            .await
            .unwrap(),
        Some(enabled)
    );
    assert_eq!(store.password_hash(&dave.name).await.unwrap(), Some(phc(5)));
}

/// Redemptions of one link racing on two nodes: exactly one sets the password.
pub async fn concurrent_redemptions_of_a_setup_link_have_one_winner<H: Harness>(h: &H) {
    let nodes = [h.store().clone(), h.reopen().await];
    let [erin] = create_users(&nodes[0], &["erin"]).await.try_into().unwrap();
    for round in 0..3u8 {
        let link = digest(100 + round);
        nodes[0]
            .create_setup_link(link, &erin.name, at(0), at(60))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for n in 0..8u8 {
            let store = nodes[usize::from(n % 2)].clone();
            tasks.push(tokio::spawn(async move {
                let hash = phc(round * 10 + n);
                let redeemed = store.redeem_setup_link(link, &hash, at(1)).await.unwrap();
                redeemed.map(|user| (hash, user))
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            winners.extend(task.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let (hash, user) = winners.remove(0);
        assert_eq!(user, erin);
        assert_eq!(
            nodes[1].password_hash(&erin.name).await.unwrap(),
            Some(hash)
        );
    }
}

/// What `ListQuery::text` must find: the needle in the title or the summary, ASCII letters in
/// any case, every other character exactly as it is.
fn text_matches(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// Text search looks at titles and summaries, ignores the case of ASCII letters only, takes
/// `%`, `_` and `\` literally, and combines with the other filters, visibility above all.
pub async fn text_search_matches_title_or_summary_for_those_who_may_see<H: Harness>(h: &H) {
    let store = h.store();
    // (title, summary, restricted)
    let made: [(&str, Option<&str>, bool); 9] = [
        (
            "Checkout is DOWN",
            Some("Payments fail for 50% of users"),
            false,
        ),
        ("Search is slow", None, false),
        (
            "100% CPU on db_main",
            Some("Replica dbxmain is fine"),
            false,
        ),
        ("Lag on dbxmain", Some("Nothing else"), false),
        ("Leaked KEYS", Some("Rotate the signing keys now"), true),
        ("Café menu is empty", Some("ÉCLAIRS are gone"), false),
        ("Paths like C:\\temp break", None, false),
        (
            "Restricted and about payments",
            Some("PAYMENTS again"),
            true,
        ),
        ("Quiet", Some("Nothing here"), false),
    ];
    let mut numbers = Vec::new();
    for (title, summary, restricted) in made {
        let command = Command::Declare {
            title: Title::parse(title).unwrap(),
            summary: summary.map(|s| Text::parse(s).unwrap()),
            public_summary: None,
            severity: Severity::Sev2,
            potential: false,
            services: vec![ServiceName::parse("checkout").unwrap()],
            visibility: if restricted {
                Visibility::Restricted
            } else {
                Visibility::Internal
            },
            triage: false,
        };
        numbers.push(declare_as(store, "alice", command).await.0);
    }
    run(
        store,
        IncidentNumber(numbers[0]),
        "alice",
        1,
        Command::ChangeStatus {
            to: Status::Identified,
            reason: None,
            override_close_checks: false,
        },
    )
    .await
    .unwrap();

    let needles = [
        "down",
        "DOWN",
        "payments",
        "PAYMENTS",
        "50%",
        "0%",
        "%",
        "_",
        "db_main",
        "dbxmain",
        "db%main",
        "keys",
        "café",
        "CAFÉ",
        "Café",
        "éclairs",
        "Éclairs",
        "c:\\temp",
        "\\",
        "nothing",
        "",
        "no such words",
    ];
    for viewer in [None, Some("alice"), Some("bob")] {
        for needle in needles {
            let query = ListQuery {
                limit: 1_000,
                visible_to: viewer.map(user),
                text: Some(needle.to_owned()),
                ..ListQuery::default()
            };
            let expected: Vec<u64> = made
                .iter()
                .zip(&numbers)
                .rev()
                .filter(|((title, summary, restricted), _)| {
                    (text_matches(title, needle) || text_matches(summary.unwrap_or(""), needle))
                        && (!restricted || viewer != Some("bob"))
                })
                .map(|(_, number)| *number)
                .collect();
            assert_eq!(
                list_in_pages(store, &query, 1_000).await,
                expected,
                "{needle:?} for {viewer:?}"
            );
            assert_eq!(
                list_in_pages(store, &query, 2).await,
                expected,
                "{needle:?} for {viewer:?} in pages of 2"
            );
        }
    }
    // Spelled out, the cases that differ between naive implementations.
    let found = |needle: &str, viewer: Option<&str>, statuses: Vec<Status>| {
        let query = ListQuery {
            limit: 1_000,
            visible_to: viewer.map(user),
            text: Some(needle.to_owned()),
            statuses,
            ..ListQuery::default()
        };
        async move { list_in_pages(store, &query, 1_000).await }
    };
    let n = |i: usize| numbers[i];
    assert_eq!(found("PAYMENTS", None, vec![]).await, vec![n(7), n(0)]);
    assert_eq!(found("payments", Some("bob"), vec![]).await, vec![n(0)]);
    assert_eq!(found("keys", Some("bob"), vec![]).await, Vec::<u64>::new());
    assert_eq!(found("db_main", None, vec![]).await, vec![n(2)]);
    assert_eq!(found("%", None, vec![]).await, vec![n(2), n(0)]);
    assert_eq!(found("CAFÉ", None, vec![]).await, Vec::<u64>::new());
    assert_eq!(found("Éclairs", None, vec![]).await, vec![n(5)]);
    assert_eq!(
        found("payments", None, vec![Status::Investigating]).await,
        vec![n(7)]
    );
    assert_eq!(
        found("payments", None, vec![Status::Identified]).await,
        vec![n(0)]
    );

    let rows = store
        .list_incidents(&ListQuery {
            limit: 1_000,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let summary_of = |number: u64| {
        rows.iter()
            .find(|row| row.number.0 == number)
            .map(|row| row.summary.clone())
    };
    assert_eq!(
        summary_of(n(0)).as_deref(),
        Some("Payments fail for 50% of users")
    );
    assert_eq!(summary_of(n(1)).as_deref(), Some(""));
}

/// The `summary` column is the fold's summary ('' for none), after the declaration and after
/// later appends alike, and `verify` catches a doctored one.
pub async fn summary_column_equals_the_fold_and_doctoring_is_detected<H: Harness>(h: &H) {
    let store = h.store();
    let with = declare_one(store, "Summarised").await;
    let without = declare_as(
        store,
        "alice",
        Command::Declare {
            title: Title::parse("Unsummarised").unwrap(),
            summary: None,
            public_summary: None,
            severity: Severity::Sev3,
            potential: false,
            services: vec![],
            visibility: Visibility::Internal,
            triage: false,
        },
    )
    .await;
    for inc in [with, without] {
        // Appends through every path a backend has: the first few hit the writer's cache.
        for n in 0..3 {
            run(store, inc, "bob", n, note(&format!("note {n}")))
                .await
                .unwrap();
        }
        assert_consistent(store, inc).await;
        assert_consistent(&h.reopen().await, inc).await;
    }
    let rows = store.list_incidents(&ListQuery::default()).await.unwrap();
    let summaries: Vec<(u64, &str)> = rows
        .iter()
        .map(|row| (row.number.0, row.summary.as_str()))
        .collect();
    assert_eq!(
        summaries,
        vec![(without.0, ""), (with.0, "Checkout requests fail with 502")]
    );

    h.tamper(&format!(
        "UPDATE incidents SET summary = 'Nothing to see' WHERE number = {}",
        with.0
    ))
    .await;
    h.tamper(&format!(
        "UPDATE incidents SET summary = 'Made up' WHERE number = {}",
        without.0
    ))
    .await;
    for inc in [with, without] {
        let broken = verify_incident(store, inc).await.unwrap().unwrap_err();
        assert_eq!(
            (broken.sequence, broken.kind),
            (4, BreakKind::ProjectionMismatch)
        );
    }
}

/// A database whose incidents were written before the `summary` column existed (before
/// migration 4) gets their summaries from the state snapshots when migrated.
pub async fn migrating_an_older_database_fills_in_summaries<H: Harness>(h: &H) {
    let store = h.store();
    let with = declare_one(store, "Older with a summary").await;
    let without = declare_as(
        store,
        "alice",
        Command::Declare {
            title: Title::parse("Older without one").unwrap(),
            summary: None,
            public_summary: None,
            severity: Severity::Sev3,
            potential: false,
            services: vec![],
            visibility: Visibility::Internal,
            triage: false,
        },
    )
    .await;
    run(store, with, "bob", 1, note("still older"))
        .await
        .unwrap();
    store
        .create_user(&user("bob"), InstallationRole::Responder, at(0))
        .await
        .unwrap();
    for statement in ROLL_BACK_MIGRATION_4 {
        h.tamper(statement).await;
    }
    let migrated = h.reopen().await;
    assert_consistent(&migrated, with).await;
    assert_consistent(&migrated, without).await;
    let found = migrated
        .list_incidents(&ListQuery {
            text: Some("REQUESTS FAIL".into()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|row| row.number).collect::<Vec<_>>(),
        vec![with]
    );
    // The users kept their rows and have no password yet; the new tables work.
    assert_eq!(migrated.password_hash(&user("bob")).await.unwrap(), None);
    migrated
        .create_web_session(digest(1), &user("bob"), at(0), at(60))
        .await
        .unwrap();
    run(&migrated, with, "bob", 2, note("after the migration"))
        .await
        .unwrap();
    assert_consistent(&migrated, with).await;
    assert_eq!(verify_all(&migrated).await.unwrap().breaks, vec![]);
}

// Notifications: channels, subscriptions, the outbox and the job table.

fn delivery(key: &str, channel_id: i64) -> crate::NewDelivery {
    crate::NewDelivery {
        key: key.to_owned(),
        channel_id,
        recipient: None,
        incident: Some(1),
        kind: "declared".to_owned(),
        subject: format!("subject {key}"),
        body: "body".to_owned(),
        payload: "{}".to_owned(),
    }
}

async fn channel<S: crate::Notifications>(store: &S, name: &str) -> crate::Channel {
    store
        .create_channel(
            &crate::NewChannel {
                name: name.to_owned(),
                kind: "webhook".to_owned(),
                config: "{}".to_owned(),
                personal: false,
                concurrency: 3,
            },
            Timestamp::now(),
        )
        .await
        .unwrap()
}

fn later(at: Timestamp, seconds: i64) -> Timestamp {
    at.checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap()
}

pub async fn outbox_queues_each_key_once_and_dispatch_moves_the_cursor_once<H: Harness>(h: &H) {
    use crate::Notifications;
    let store = h.store();
    let hook = channel(store, "hook").await;
    assert_eq!(hook.concurrency, 3);
    assert!(matches!(
        store
            .create_channel(
                &crate::NewChannel {
                    name: "hook".into(),
                    kind: "slack".into(),
                    config: "{}".into(),
                    personal: false,
                    concurrency: 1,
                },
                Timestamp::now()
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .create_subscription(
                &crate::NewSubscription {
                    channel_id: 9_999,
                    recipient: None,
                    events: vec!["declared".into()],
                    audience: None,
                    scope: "all".into(),
                },
                Timestamp::now()
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let subscription = store
        .create_subscription(
            &crate::NewSubscription {
                channel_id: hook.id,
                recipient: None,
                events: vec!["declared".into(), "resolved".into()],
                audience: Some("customers".into()),
                scope: "public".into(),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.subscriptions().await.unwrap(),
        vec![subscription.clone()]
    );
    assert_eq!(subscription.events, vec!["declared", "resolved"]);

    assert_eq!(
        store.dispatch_cursor().await.unwrap(),
        0,
        "a fresh log starts at 0"
    );
    declare_sample(store).await;
    let end = store.last_position().await.unwrap();
    let now = Timestamp::now();
    let batch = [delivery("1:s1", hook.id), delivery("1:s2", hook.id)];
    assert!(
        store
            .commit_dispatch(0, end, &batch, &[], now)
            .await
            .unwrap()
    );
    assert_eq!(store.dispatch_cursor().await.unwrap(), end);
    // A second dispatcher that read the same cursor queues nothing.
    let other = h.reopen().await;
    assert!(
        !other
            .commit_dispatch(0, end, &[delivery("1:s3", hook.id)], &[], now)
            .await
            .unwrap()
    );
    assert_eq!(store.dispatch_cursor().await.unwrap(), end);
    // The same key again is no new delivery.
    let added = store
        .enqueue(&[delivery("1:s1", hook.id), delivery("test", hook.id)], now)
        .await
        .unwrap();
    assert_eq!(added, 1);
    let all = store.deliveries(None, 100).await.unwrap();
    let mut keys: Vec<&str> = all.iter().map(|d| d.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, vec!["1:s1", "1:s2", "test"]);
    assert!(
        all.iter()
            .all(|d| d.state == crate::DeliveryState::Pending && d.attempts == 0)
    );
    assert!(matches!(
        store.enqueue(&[delivery("lost", 9_999)], now).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn deliveries_are_claimed_leased_retried_and_dead_lettered<H: Harness>(h: &H) {
    use crate::{ClaimLimits, DeliveryOutcome, DeliveryState, Notifications};
    let store = h.store();
    let hook = channel(store, "hook").await;
    let all = ClaimLimits::one_channel(hook.id, 10);
    let now = Timestamp::now();
    store
        .enqueue(
            &[
                delivery("a", hook.id),
                delivery("b", hook.id),
                delivery("c", hook.id),
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .count_deliveries(DeliveryState::Pending)
            .await
            .unwrap(),
        3
    );
    let claimed = store
        .claim_deliveries(now, later(now, 60), &all)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store
            .claim_deliveries(now, later(now, 60), &all)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let other = h.reopen().await;
    assert!(
        other
            .claim_deliveries(later(now, 1), later(now, 61), &all)
            .await
            .unwrap()
            .is_empty()
    );
    let claim = |key: &str| {
        claimed
            .iter()
            .find(|c| c.delivery.key == key)
            .unwrap()
            .claim()
    };
    let id = |key: &str| claim(key).delivery;
    assert!(
        store
            .finish_delivery(claim("a"), &DeliveryOutcome::Delivered, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_delivery(
                claim("b"),
                &DeliveryOutcome::Retry {
                    at: later(now, 3_600),
                    error: "HTTP 500".into(),
                },
                now,
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_delivery(
                claim("c"),
                &DeliveryOutcome::Dead {
                    error: "gone".into(),
                },
                now,
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_delivery(claim("b"), &DeliveryOutcome::Delivered, now)
            .await
            .unwrap(),
        "one claim records one outcome"
    );
    assert_eq!(
        (
            store
                .count_deliveries(DeliveryState::Pending)
                .await
                .unwrap(),
            store.count_deliveries(DeliveryState::Dead).await.unwrap(),
            store
                .count_deliveries(DeliveryState::Delivered)
                .await
                .unwrap(),
        ),
        (1, 1, 1)
    );
    // After the lease: the retry is not due yet, the others are finished.
    assert!(
        store
            .claim_deliveries(later(now, 120), later(now, 180), &all)
            .await
            .unwrap()
            .is_empty()
    );
    let b = store.delivery(id("b")).await.unwrap().unwrap();
    assert_eq!(
        (b.state, b.attempts, b.last_error.as_deref()),
        (DeliveryState::Pending, 1, Some("HTTP 500"))
    );
    let due = store
        .claim_deliveries(later(now, 3_600), later(now, 3_660), &all)
        .await
        .unwrap();
    assert_eq!(
        due.iter()
            .map(|c| c.delivery.key.as_str())
            .collect::<Vec<_>>(),
        vec!["b"]
    );
    // A crashed worker's claim lapses and the delivery comes back, same key.
    let again = store
        .claim_deliveries(later(now, 3_700), later(now, 3_760), &all)
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|c| c.delivery.key.as_str())
            .collect::<Vec<_>>(),
        vec!["b"]
    );

    let dead = store
        .deliveries(Some(DeliveryState::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].attempts, dead[0].last_error.as_deref()),
        (1, Some("gone"))
    );
    assert!(dead[0].finished_at.is_some());
    let retried = store.retry_delivery(id("c"), now).await.unwrap().unwrap();
    assert_eq!(
        (retried.state, retried.attempts, retried.finished_at),
        (DeliveryState::Pending, 0, None)
    );
    assert_eq!(
        store.count_deliveries(DeliveryState::Dead).await.unwrap(),
        0
    );
    assert_eq!(
        store.retry_delivery(id("a"), now).await.unwrap(),
        None,
        "delivered stays delivered"
    );
    assert_eq!(store.retry_delivery(9_999, now).await.unwrap(), None);
    let delivered = store
        .deliveries(Some(DeliveryState::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(
        delivered.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        vec!["a"]
    );
    let claimed = store
        .claim_deliveries(later(now, 10), later(now, 70), &all)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|c| c.delivery.key.as_str())
            .collect::<Vec<_>>(),
        vec!["c"]
    );
}

/// A worker whose lease lapsed while it was still busy must not record its outcome over the
/// attempt of the worker that claimed the delivery after it.
pub async fn a_lapsed_claim_cannot_record_an_outcome<H: Harness>(h: &H) {
    use crate::{ClaimLimits, DeliveryOutcome, DeliveryState, Notifications};
    let store = h.store();
    let hook = channel(store, "hook").await;
    let all = ClaimLimits::one_channel(hook.id, 10);
    let now = Timestamp::now();
    store
        .enqueue(&[delivery("slow", hook.id)], now)
        .await
        .unwrap();
    let first = store
        .claim_deliveries(now, later(now, 60), &all)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let before = store.delivery(first[0].delivery.id).await.unwrap().unwrap();
    // The first claimant's lease lapses; a second node claims the delivery.
    let other = h.reopen().await;
    let second = other
        .claim_deliveries(later(now, 61), later(now, 121), &all)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].delivery.id, first[0].delivery.id);
    assert_ne!(second[0].token, first[0].token, "a new claim, a new token");
    // The first claimant's outcome is refused and changes nothing.
    assert!(
        !store
            .finish_delivery(
                first[0].claim(),
                &DeliveryOutcome::Dead {
                    error: "stale".into()
                },
                later(now, 62),
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.delivery(first[0].delivery.id).await.unwrap().unwrap(),
        before
    );
    assert!(
        store
            .claim_deliveries(later(now, 62), later(now, 122), &all)
            .await
            .unwrap()
            .is_empty(),
        "the second claim still holds it"
    );
    // The second claimant's outcome is the one recorded.
    assert!(
        other
            .finish_delivery(
                second[0].claim(),
                &DeliveryOutcome::Delivered,
                later(now, 63)
            )
            .await
            .unwrap()
    );
    let done = store.delivery(first[0].delivery.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.attempts, done.last_error.as_deref()),
        (DeliveryState::Delivered, 1, None)
    );
    // A claimant that comes back even later is refused as well.
    assert!(
        !store
            .finish_delivery(
                first[0].claim(),
                &DeliveryOutcome::Delivered,
                later(now, 64)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.delivery(first[0].delivery.id).await.unwrap().unwrap(),
        done
    );
}

/// A claim takes no more of a channel's deliveries than the worker may send on it at once,
/// none of channels it does not list, and no more than its total.
pub async fn claims_take_no_more_than_each_channel_may_send<H: Harness>(h: &H) {
    use crate::{ClaimLimits, Notifications};
    let store = h.store();
    let narrow = channel(store, "narrow").await;
    let wide = channel(store, "wide").await;
    let full = channel(store, "full").await;
    let now = Timestamp::now();
    let mut batch = Vec::new();
    for (name, id) in [("narrow", narrow.id), ("wide", wide.id), ("full", full.id)] {
        batch.extend((0..4).map(|n| delivery(&format!("{name}-{n}"), id)));
    }
    store.enqueue(&batch, now).await.unwrap();
    let keys = |claimed: &[crate::ClaimedDelivery]| {
        claimed
            .iter()
            .map(|c| c.delivery.key.clone())
            .collect::<Vec<_>>()
    };
    let claimed = store
        .claim_deliveries(
            now,
            later(now, 60),
            &ClaimLimits {
                total: 5,
                channels: vec![(narrow.id, 1), (wide.id, 10)],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        keys(&claimed),
        vec!["narrow-0", "wide-0", "wide-1", "wide-2", "wide-3"],
        "one of the narrow channel, the wide one's four, none of the full one"
    );
    let claimed = store
        .claim_deliveries(
            now,
            later(now, 60),
            &ClaimLimits {
                total: 2,
                channels: vec![(full.id, 3), (narrow.id, 3)],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        keys(&claimed),
        vec!["full-0", "full-1"],
        "the total ends the claim"
    );
    assert!(
        store
            .claim_deliveries(
                now,
                later(now, 60),
                &ClaimLimits {
                    total: 0,
                    channels: vec![(narrow.id, 3)],
                },
            )
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn concurrent_claims_never_share_a_delivery<H: Harness>(h: &H) {
    use crate::{ClaimLimits, Notifications};
    let store = h.store();
    let hook = channel(store, "hook").await;
    let now = Timestamp::now();
    let batch: Vec<_> = (0..60)
        .map(|n| delivery(&format!("k{n}"), hook.id))
        .collect();
    store.enqueue(&batch, now).await.unwrap();
    let nodes = [store.clone(), h.reopen().await, h.reopen().await];
    let mut tasks = Vec::new();
    for node in nodes {
        let limits = ClaimLimits::one_channel(hook.id, 7);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = node
                    .claim_deliveries(now, later(now, 60), &limits)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|c| c.delivery.key));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 60, "every delivery claimed exactly once");
    assert_eq!(distinct.len(), 60);
}

pub async fn reminder_jobs_are_armed_claimed_and_cancelled<H: Harness>(h: &H) {
    use crate::{JobChange, JobDone, Notifications};
    let store = h.store();
    let hook = channel(store, "hook").await;
    // Stored times are microseconds.
    let now = Timestamp::from_microsecond(Timestamp::now().as_microsecond()).unwrap();
    let due = later(now, 60);
    store
        .commit_dispatch(
            0,
            0,
            &[],
            &[JobChange {
                incident: 7,
                due: Some(due),
            }],
            now,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs(now, later(now, 30), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let jobs = store.claim_jobs(due, later(due, 30), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (
            jobs[0].incident,
            jobs[0].due_at,
            jobs[0].last_key.as_deref()
        ),
        (7, due, None)
    );
    assert!(
        store
            .claim_jobs(due, later(due, 30), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let next = later(due, 60);
    store
        .finish_job(
            &JobDone {
                id: jobs[0].id,
                claimed_due: due,
                next: Some(next),
                last_key: Some("p0".into()),
                deliveries: vec![delivery("reminder:7:p0", hook.id)],
            },
            due,
        )
        .await
        .unwrap();
    assert_eq!(store.deliveries(None, 10).await.unwrap().len(), 1);
    assert!(
        store
            .claim_jobs(later(due, 59), later(due, 90), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = store.claim_jobs(next, later(next, 30), 10).await.unwrap();
    assert_eq!(jobs[0].last_key.as_deref(), Some("p0"));
    // The dispatcher moves the job while it runs (an update was posted): its time stands.
    let moved = later(next, 600);
    store
        .commit_dispatch(
            0,
            0,
            &[],
            &[JobChange {
                incident: 7,
                due: Some(moved),
            }],
            now,
        )
        .await
        .unwrap();
    store
        .finish_job(
            &JobDone {
                id: jobs[0].id,
                claimed_due: next,
                next: Some(later(next, 60)),
                last_key: Some("p1".into()),
                deliveries: vec![],
            },
            next,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs(later(next, 120), later(next, 150), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = store.claim_jobs(moved, later(moved, 30), 10).await.unwrap();
    assert_eq!((jobs.len(), jobs[0].last_key.as_deref()), (1, Some("p1")));
    // Cancelled (resolved): never claimed again, until re-armed.
    store
        .commit_dispatch(
            0,
            0,
            &[],
            &[JobChange {
                incident: 7,
                due: None,
            }],
            now,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs(later(moved, 999), later(moved, 1_030), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn notification_addresses_and_channel_removal<H: Harness>(h: &H) {
    use crate::Notifications;
    let store = h.store();
    create_users(store, &["carol", "dave"]).await;
    let ghost = UserName::parse("ghost").unwrap();
    assert!(matches!(
        store.set_user_email(&ghost, Some("g@example.com")).await,
        Err(StoreError::UnknownUser(_))
    ));
    let carol = UserName::parse("carol").unwrap();
    let dave = UserName::parse("dave").unwrap();
    store
        .set_user_email(&carol, Some("carol@example.com"))
        .await
        .unwrap();
    store
        .set_user_email(&dave, Some("dave@example.com"))
        .await
        .unwrap();
    assert_eq!(
        store.user_emails().await.unwrap(),
        vec![
            ("carol".to_owned(), "carol@example.com".to_owned()),
            ("dave".to_owned(), "dave@example.com".to_owned())
        ]
    );
    store.set_user_email(&carol, None).await.unwrap();
    store
        .update_user(
            &dave,
            UserChange {
                role: None,
                disabled: Some(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.user_emails().await.unwrap(),
        vec![],
        "cleared, and disabled users get nothing"
    );

    let hook = channel(store, "hook").await;
    store
        .create_subscription(
            &crate::NewSubscription {
                channel_id: hook.id,
                recipient: None,
                events: vec!["declared".into()],
                audience: None,
                scope: "all".into(),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    store
        .enqueue(&[delivery("x", hook.id)], Timestamp::now())
        .await
        .unwrap();
    assert!(store.delete_channel(hook.id).await.unwrap());
    assert!(!store.delete_channel(hook.id).await.unwrap());
    assert!(store.subscriptions().await.unwrap().is_empty());
    assert!(store.deliveries(None, 10).await.unwrap().is_empty());
    assert!(store.channels().await.unwrap().is_empty());
}

pub async fn admin_settings_are_kept_by_kind_and_name<H: Harness>(h: &H) {
    use crate::{AdminSetting, Communications};
    let store = h.store();
    let setting = |kind: &str, name: &str, value: &str| AdminSetting {
        kind: kind.to_owned(),
        name: name.to_owned(),
        value: value.to_owned(),
        updated_at: at(1),
        updated_by: user("alice"),
    };
    store
        .put_setting(&setting("postmortem_template", "long", "first"))
        .await
        .unwrap();
    store
        .put_setting(&setting("blame_rule", "long", "a rule"))
        .await
        .unwrap();
    store
        .put_setting(&setting("postmortem_template", "long", "second"))
        .await
        .unwrap();
    store
        .put_setting(&setting("postmortem_template", "brief", "third"))
        .await
        .unwrap();
    let templates = store.list_settings("postmortem_template").await.unwrap();
    let names: Vec<(&str, &str)> = templates
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(names, [("brief", "third"), ("long", "second")]);
    assert!(
        store
            .remove_setting("postmortem_template", "long")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_setting("postmortem_template", "long")
            .await
            .unwrap()
    );
    let rules = store.list_settings("blame_rule").await.unwrap();
    assert_eq!(
        rules.len(),
        1,
        "another kind's setting of the same name stays"
    );
    let reopened = h.reopen().await;
    assert_eq!(
        reopened
            .list_settings("postmortem_template")
            .await
            .unwrap()
            .len(),
        1,
        "settings are durable"
    );
}

pub async fn releases_are_recorded_once_and_listed_newest_first<H: Harness>(h: &H) {
    use crate::{AdminSetting, Communications, Release, ReleaseQuery};
    use hereby_core::types::{ReleaseVersion, ServiceName};
    let store = h.store();
    let release = |service: &str, version: &str, minute: i64| Release {
        service: ServiceName::parse(service).unwrap(),
        version: ReleaseVersion::parse(version).unwrap(),
        deployed_at: at(minute),
        recorded_at: at(minute),
        recorded_by: user("ci"),
        notes: format!("deploy {version}"),
    };
    assert!(
        store
            .record_release(&release("api", "3.4.0", 10))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_release(&release("api", "3.4.1", 20))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_release(&release("web", "7", 15))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_release(&release("api", "3.4.1", 20))
            .await
            .unwrap(),
        "a retried pipeline call records the deployment once"
    );
    let versions = |releases: Vec<Release>| -> Vec<String> {
        releases
            .iter()
            .map(|r| format!("{} {}", r.service, r.version))
            .collect()
    };
    let query = |services: &[&str], from: Option<i64>, to: Option<i64>, limit: u32| ReleaseQuery {
        services: services
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        from: from.map(at),
        to: to.map(at),
        limit,
    };
    let all = store
        .list_releases(&query(&[], None, None, 10))
        .await
        .unwrap();
    assert_eq!(versions(all), ["api 3.4.1", "web 7", "api 3.4.0"]);
    let api = store
        .list_releases(&query(&["api"], None, None, 10))
        .await
        .unwrap();
    assert_eq!(versions(api), ["api 3.4.1", "api 3.4.0"]);
    let window = store
        .list_releases(&query(&["api", "web"], Some(12), Some(20), 10))
        .await
        .unwrap();
    assert_eq!(versions(window), ["api 3.4.1", "web 7"]);
    let latest = store
        .list_releases(&query(&["api"], None, Some(19), 1))
        .await
        .unwrap();
    assert_eq!(versions(latest), ["api 3.4.0"]);

    let setting = |name: &str| AdminSetting {
        kind: "service".to_owned(),
        name: name.to_owned(),
        value: "{}".to_owned(),
        updated_at: at(1),
        updated_by: user("alice"),
    };
    store
        .put_settings(&[setting("api"), setting("web")])
        .await
        .unwrap();
    let reopened = h.reopen().await;
    assert_eq!(reopened.list_settings("service").await.unwrap().len(), 2);
    assert_eq!(
        versions(
            reopened
                .list_releases(&query(&[], None, None, 10))
                .await
                .unwrap()
        )
        .len(),
        3,
        "releases are durable"
    );
}

/// A firing or resolved alert for the conformance story.
fn alert_signal(key: &str, firing: bool, pairs: &[(&str, &str)]) -> hereby_core::alerts::Signal {
    hereby_core::alerts::Signal {
        dedup_key: key.to_owned(),
        firing,
        summary: format!("{key} summary"),
        labels: pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        at: at(0),
        source_group: false,
    }
}

async fn alert_integration<S: crate::Alerts>(store: &S, name: &str) -> i64 {
    store
        .create_integration(
            &crate::NewIntegration {
                name: name.to_owned(),
                kind: "alertmanager".to_owned(),
                key_digest: format!("{name}-digest").into_bytes(),
                heartbeat_timeout: None,
            },
            at(0),
        )
        .await
        .unwrap()
        .id
}

pub async fn integrations_open_with_their_key_until_revoked_and_rotate_with_an_overlap<
    H: Harness,
>(
    h: &H,
) {
    use crate::Alerts;
    let store = h.store();
    let id = alert_integration(store, "prometheus").await;
    let open = |digest: &'static str, minute: i64| async move {
        store
            .integration_for_key(digest.as_bytes(), at(minute))
            .await
            .unwrap()
            .map(|found| found.name)
    };
    assert_eq!(
        open("prometheus-digest", 1).await.as_deref(),
        Some("prometheus")
    );
    assert_eq!(open("other", 1).await, None);
    // A taken name or key is refused.
    let taken = store
        .create_integration(
            &crate::NewIntegration {
                name: "prometheus".to_owned(),
                kind: "pagerduty".to_owned(),
                key_digest: b"fresh".to_vec(),
                heartbeat_timeout: None,
            },
            at(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Invalid(_)), "{taken:?}");
    // A rotation: both keys work until the overlap ends, then only the new one.
    let rotated = store
        .rotate_integration("prometheus", b"new-digest", at(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.id, id);
    assert_eq!(rotated.previous_until, Some(at(10)));
    assert_eq!(
        open("prometheus-digest", 9).await.as_deref(),
        Some("prometheus")
    );
    assert_eq!(open("new-digest", 9).await.as_deref(), Some("prometheus"));
    assert_eq!(open("prometheus-digest", 10).await, None);
    assert_eq!(
        store
            .rotate_integration("nobody", b"x", at(10))
            .await
            .unwrap(),
        None
    );
    // Revoked, it opens nothing; a second revoke says there was nothing to do.
    assert!(
        store
            .revoke_integration("prometheus", at(11))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_integration("prometheus", at(12))
            .await
            .unwrap()
    );
    assert_eq!(open("new-digest", 12).await, None);
    let listed = store.integrations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(at(11)));
}

pub async fn alerts_are_deduplicated_grouped_resolved_and_reopened<H: Harness>(h: &H) {
    use crate::{AlertChange, Alerts};
    use hereby_core::alerts::{Placement, Routes};
    let store = h.store();
    let integration = alert_integration(store, "prometheus").await;
    // The shipped route: grouped by alertname and service, windows of 30 minutes, an
    // incident at the first firing alert.
    let routes = Routes::default();
    let checkout = [
        ("alertname", "HighLatency"),
        ("service", "checkout"),
        ("severity", "critical"),
    ];
    let record = |signals: Vec<hereby_core::alerts::Signal>, minute: i64| {
        let routes = routes.clone();
        async move {
            let payload = crate::AlertPayload {
                integration,
                body: "{}".to_owned(),
                signals,
            };
            store
                .record_alerts(&[payload], &routes, at(minute))
                .await
                .unwrap()
                .remove(0)
        }
    };
    let changes = |recorded: &crate::Recorded| {
        recorded
            .outcomes
            .iter()
            .map(|outcome| outcome.change)
            .collect::<Vec<_>>()
    };

    let first = record(
        vec![
            alert_signal("fp1", true, &checkout),
            alert_signal("fp1", true, &checkout),
            alert_signal("fp2", true, &checkout),
            alert_signal("fp3", true, &[("alertname", "DiskFull"), ("service", "db")]),
        ],
        0,
    )
    .await;
    assert_eq!(
        changes(&first),
        [
            AlertChange::New,
            AlertChange::Duplicate,
            AlertChange::New,
            AlertChange::New
        ]
    );
    assert_eq!(
        first.outcomes[0].placement,
        Some(Placement::New { after: false })
    );
    assert_eq!(first.outcomes[2].placement, Some(Placement::Join));
    let checkout_group = first.outcomes[0].group.unwrap();
    assert_eq!(first.outcomes[2].group, Some(checkout_group));
    assert_ne!(first.outcomes[3].group, Some(checkout_group));
    let group = store.alert_group(checkout_group).await.unwrap().unwrap();
    assert_eq!((group.firing, group.alerts, group.events), (2, 2, 3));
    assert_eq!(group.route, "default");
    assert_eq!(
        group.label,
        r#"alertname="HighLatency", service="checkout""#
    );
    assert_eq!(group.title, "fp1 summary");
    assert_eq!(group.severity, Severity::Sev1);
    assert!(group.wants_incident);
    let alerts = store.alerts_of_group(checkout_group, 10).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!((alerts[1].dedup_key.as_str(), alerts[1].count), ("fp1", 2));
    assert_eq!(store.waiting_groups(10, at(1_000)).await.unwrap().len(), 2);

    // Resolves end alerts; a resolve for nothing that fires changes nothing.
    let resolved = record(
        vec![
            alert_signal("fp1", false, &checkout),
            alert_signal("fp1", false, &checkout),
            alert_signal("never-fired", false, &checkout),
        ],
        5,
    )
    .await;
    assert_eq!(
        changes(&resolved),
        [
            AlertChange::Resolved,
            AlertChange::Orphan,
            AlertChange::Orphan
        ]
    );
    let group = store.alert_group(checkout_group).await.unwrap().unwrap();
    assert_eq!((group.firing, group.resolved_at), (1, None));
    record(vec![alert_signal("fp2", false, &checkout)], 6).await;
    let group = store.alert_group(checkout_group).await.unwrap().unwrap();
    assert_eq!((group.firing, group.resolved_at), (0, Some(at(6))));
    assert!(
        !group.wants_incident,
        "a group where nothing fires asks for no incident"
    );

    // Firing again within the reopen window reopens the group with a new occurrence.
    let again = record(vec![alert_signal("fp1", true, &checkout)], 20).await;
    assert_eq!(changes(&again), [AlertChange::Refired]);
    assert_eq!(again.outcomes[0].placement, Some(Placement::Reopen));
    assert_eq!(again.outcomes[0].group, Some(checkout_group));
    let group = store.alert_group(checkout_group).await.unwrap().unwrap();
    assert_eq!(
        (
            group.firing,
            group.alerts,
            group.reopened,
            group.resolved_at
        ),
        (1, 3, 1, None)
    );
    assert!(group.wants_incident, "firing again, it asks again");

    // Taken once for opening its incident, then linked once; the group no longer waits.
    assert!(store.claim_group(checkout_group).await.unwrap());
    assert!(
        !store.claim_group(checkout_group).await.unwrap(),
        "taken already"
    );
    let incident = declare_one(store, "Checkout is slow").await;
    assert!(store.link_group(checkout_group, incident).await.unwrap());
    assert!(
        !store
            .link_group(checkout_group, IncidentNumber(99))
            .await
            .unwrap()
    );
    assert_eq!(store.waiting_groups(10, at(1_000)).await.unwrap().len(), 1);
    let linked = store.alert_groups(Some(incident), 10).await.unwrap();
    assert_eq!(
        linked.iter().map(|g| g.id).collect::<Vec<_>>(),
        [checkout_group]
    );

    // Resolved long ago, past the reopen window: a new group under the same key, linked to
    // the old one.
    record(vec![alert_signal("fp1", false, &checkout)], 21).await;
    let later = record(vec![alert_signal("fp1", true, &checkout)], 200).await;
    assert_eq!(
        later.outcomes[0].placement,
        Some(Placement::New { after: true })
    );
    let newer = store
        .alert_group(later.outcomes[0].group.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newer.previous, Some(checkout_group));
    assert_eq!(newer.incident, None);
}

pub async fn held_alerts_are_kept_but_open_nothing<H: Harness>(h: &H) {
    use crate::{AlertChange, Alerts};
    use hereby_core::alerts::{
        MaintenanceSpec, MaintenanceWindow, Placement, Quiet, Route, RouteSpec, Routes,
    };
    let store = h.store();
    let integration = alert_integration(store, "prometheus").await;
    let flappy = Route::from_spec(
        "default",
        &RouteSpec {
            flap_limit: 1,
            ..RouteSpec::default()
        },
    )
    .unwrap();
    let paused = Route::from_spec(
        "paused",
        &RouteSpec {
            order: 1,
            matchers: vec![r#"alertname="Blip""#.to_owned()],
            pause: "5m".to_owned(),
            ..RouteSpec::default()
        },
    )
    .unwrap();
    let window = MaintenanceWindow::from_spec(
        "db-upgrade",
        &MaintenanceSpec {
            matchers: vec![r#"service="db""#.to_owned()],
            starts: at(0).to_string(),
            ends: at(60).to_string(),
            repeat: None,
            reason: None,
        },
    )
    .unwrap();
    let host = MaintenanceWindow::from_spec(
        "host-h2",
        &MaintenanceSpec {
            matchers: vec![r#"host="h2""#.to_owned()],
            starts: at(0).to_string(),
            ends: at(60).to_string(),
            repeat: None,
            reason: None,
        },
    )
    .unwrap();
    let routes = Routes::new(vec![flappy, paused]).with_maintenance(vec![window, host]);
    let record = |key: &'static str,
                  firing: bool,
                  pairs: &'static [(&'static str, &'static str)],
                  minute: i64| {
        let routes = routes.clone();
        async move {
            let payload = crate::AlertPayload {
                integration,
                body: "{}".to_owned(),
                signals: vec![alert_signal(key, firing, pairs)],
            };
            store
                .record_alerts(&[payload], &routes, at(minute))
                .await
                .unwrap()
                .remove(0)
                .outcomes
                .remove(0)
        }
    };
    let waiting = |minute: i64| async move {
        store
            .waiting_groups(100, at(minute))
            .await
            .unwrap()
            .iter()
            .map(|group| group.id)
            .collect::<Vec<_>>()
    };

    // A maintenance window keeps a matching firing alert as suppressed; its resolve goes
    // through; once the window is over, the same alert sent again counts.
    const DB: &[(&str, &str)] = &[("alertname", "DiskFull"), ("service", "db")];
    let held = record("db-1", true, DB, 10).await;
    assert_eq!(
        held.quiet,
        Some(Quiet::Maintenance {
            window: "db-upgrade".to_owned()
        })
    );
    assert!(!held.waits);
    let db_group = held.group.unwrap();
    let alerts = store.alerts_of_group(db_group, 10).await.unwrap();
    assert_eq!(
        alerts[0].suppressed.as_deref(),
        Some("suppressed by maintenance window `db-upgrade`")
    );
    assert_eq!(
        record("db-1", false, DB, 15).await.change,
        AlertChange::Resolved
    );
    record("db-2", true, DB, 20).await;
    assert!(!waiting(20).await.contains(&db_group));
    let after = record("db-2", true, DB, 70).await;
    assert_eq!(
        (after.change, after.quiet.clone(), after.waits),
        (AlertChange::Duplicate, None, true)
    );
    assert_eq!(
        store.alerts_of_group(db_group, 10).await.unwrap()[0].suppressed,
        None
    );
    assert!(waiting(70).await.contains(&db_group));

    // A silence keeps the group's new alerts as suppressed, also through a resolve and a
    // re-fire inside the reopen window, and ends at its time.
    const WEB: &[(&str, &str)] = &[("alertname", "Errors"), ("service", "web")];
    let first = record("web-1", true, WEB, 0).await;
    let web_group = first.group.unwrap();
    assert!(first.waits);
    assert!(
        store
            .silence_group(web_group, Some(at(30)), "anna", "known, fixing")
            .await
            .unwrap()
    );
    assert!(
        !waiting(1).await.contains(&web_group),
        "a silence stops the wait"
    );
    let silenced = record("web-2", true, WEB, 5).await;
    assert!(
        matches!(silenced.quiet, Some(Quiet::Silenced { .. })),
        "{silenced:?}"
    );
    record("web-1", false, WEB, 6).await;
    record("web-2", false, WEB, 7).await;
    let reopened = record("web-1", true, WEB, 10).await;
    assert_eq!(reopened.placement, Some(Placement::Reopen));
    assert!(matches!(reopened.quiet, Some(Quiet::Silenced { .. })));
    let over = record("web-3", true, WEB, 31).await;
    assert_eq!((over.quiet.clone(), over.waits), (None, true));
    let group = store.alert_group(web_group).await.unwrap().unwrap();
    assert_eq!(group.silenced_by.as_deref(), Some("anna"));
    assert_eq!(group.silence_reason.as_deref(), Some("known, fixing"));
    assert!(
        !store
            .silence_group(999_999, None, "anna", "")
            .await
            .unwrap()
    );

    // An acknowledged group opens nothing: not waiting, and not through a resolve and a
    // re-fire inside the reopen window; its alerts are not suppressed.
    const API: &[(&str, &str)] = &[("alertname", "Slow"), ("service", "api")];
    let api = record("api-1", true, API, 0).await.group.unwrap();
    assert!(store.acknowledge_group(api, "sam", at(1)).await.unwrap());
    assert!(!waiting(1).await.contains(&api));
    record("api-1", false, API, 2).await;
    let refired = record("api-1", true, API, 3).await;
    assert_eq!(refired.placement, Some(Placement::Reopen));
    assert_eq!(
        refired.quiet,
        Some(Quiet::Acknowledged {
            by: "sam".to_owned()
        })
    );
    assert_eq!(
        store.alerts_of_group(api, 1).await.unwrap()[0].suppressed,
        None
    );
    assert_eq!(
        store
            .alert_group(api)
            .await
            .unwrap()
            .unwrap()
            .acknowledged_by
            .as_deref(),
        Some("sam")
    );

    // Firing again after resolving more than the route's limit makes a group flap: it takes
    // every flip, and neither reopens nor asks. Resolves alone are no flips.
    const FLIP: &[(&str, &str)] = &[("alertname", "Flip"), ("service", "queue")];
    let flip = record("flip", true, FLIP, 0).await.group.unwrap();
    assert!(store.claim_group(flip).await.unwrap());
    record("flip", false, FLIP, 1).await;
    record("flip", true, FLIP, 2).await;
    record("flip", false, FLIP, 3).await;
    let flapping = record("flip", true, FLIP, 4).await;
    assert_eq!(
        (flapping.placement, flapping.quiet.clone(), flapping.waits),
        (Some(Placement::Join), Some(Quiet::Flapping), false)
    );
    assert_eq!(flapping.group, Some(flip));
    let group = store.alert_group(flip).await.unwrap().unwrap();
    assert_eq!((group.flaps.count, group.reopened), (2, 1));
    assert!(group.flaps.flapping_since.is_some());

    // A route's pause holds the incident; one whose alerts resolve in time never opens.
    const BLIP: &[(&str, &str)] = &[("alertname", "Blip"), ("service", "cdn")];
    let held = record("blip-1", true, BLIP, 0).await;
    assert_eq!((held.waits, held.held_until), (false, Some(at(5))));
    let blip = held.group.unwrap();
    assert!(!waiting(4).await.contains(&blip));
    assert!(waiting(5).await.contains(&blip));
    const GONE: &[(&str, &str)] = &[("alertname", "Blip"), ("service", "dns")];
    let gone = record("blip-2", true, GONE, 0).await.group.unwrap();
    record("blip-2", false, GONE, 3).await;
    assert!(
        !waiting(5).await.contains(&gone),
        "resolved within the pause"
    );
    // What still fires is suppressed: it opens nothing either.
    const H1: &[(&str, &str)] = &[("alertname", "Blip"), ("service", "edge"), ("host", "h1")];
    const H2: &[(&str, &str)] = &[("alertname", "Blip"), ("service", "edge"), ("host", "h2")];
    let edge = record("blip-h1", true, H1, 0).await.group.unwrap();
    let quiet = record("blip-h2", true, H2, 1).await;
    assert_eq!((quiet.group, quiet.waits), (Some(edge), false));
    assert!(matches!(quiet.quiet, Some(Quiet::Maintenance { .. })));
    record("blip-h1", false, H1, 2).await;
    assert!(
        !waiting(5).await.contains(&edge),
        "only a suppressed alert fires: no incident"
    );
}

pub async fn concurrent_payloads_for_one_group_make_one_group_and_one_alert<H: Harness>(h: &H) {
    use crate::Alerts;
    use hereby_core::alerts::Routes;
    let store = h.store();
    let integration = alert_integration(store, "prometheus").await;
    let other = h.reopen().await;
    let labels = [("alertname", "HighLatency"), ("service", "checkout")];
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let signals = vec![
                alert_signal(&format!("fp{n}"), true, &labels),
                alert_signal("shared", true, &labels),
            ];
            // Two payloads in one call, as the application's recorder sends them.
            let payload = |signals| crate::AlertPayload {
                integration,
                body: "{}".to_owned(),
                signals,
            };
            store
                .record_alerts(
                    &[payload(signals), payload(Vec::new())],
                    &Routes::default(),
                    at(0),
                )
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let groups = store.alert_groups(None, 10).await.unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        (groups[0].alerts, groups[0].events, groups[0].firing),
        (17, 32, 17)
    );
    let alerts = store.alerts_of_group(groups[0].id, 100).await.unwrap();
    assert_eq!(alerts.len(), 17);
    let shared = alerts.iter().find(|a| a.dedup_key == "shared").unwrap();
    assert_eq!(shared.count, 16);
}

pub async fn queued_payloads_are_recorded_in_the_order_they_were_accepted<H: Harness>(h: &H) {
    use crate::{AlertChange, Alerts, QueuedAlerts};
    use hereby_core::alerts::Routes;
    let store = h.store();
    let integration = alert_integration(store, "prometheus").await;
    let labels = [("alertname", "HighLatency"), ("service", "checkout")];
    let payload = |signals| crate::AlertPayload {
        integration,
        body: r#"{"from": "a storm"}"#.to_owned(),
        signals,
    };
    let routes = Routes::default();
    let outcomes = |recorded: &[crate::QueuedRecorded]| -> Vec<Vec<AlertChange>> {
        recorded
            .iter()
            .map(|payload| {
                payload
                    .recorded
                    .outcomes
                    .iter()
                    .map(|outcome| outcome.change)
                    .collect()
            })
            .collect()
    };
    // Nothing queued: nothing to record.
    assert!(store.queued_alerts().await.unwrap().is_empty());
    assert!(
        store
            .record_queued_alerts(&routes, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let first = store
        .queue_alerts(
            &[
                payload(vec![
                    alert_signal("a", true, &labels),
                    alert_signal("b", true, &labels),
                ]),
                payload(vec![alert_signal("a", false, &labels)]),
            ],
            at(2),
        )
        .await
        .unwrap();
    let second = store
        .queue_alerts(&[payload(vec![alert_signal("c", true, &labels)])], at(3))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first[0] < first[1] && first[1] < second[0],
        "{first:?} {second:?}"
    );
    // Durable and counted at once; the integration heard from when it was queued.
    assert_eq!(
        store.queued_alerts().await.unwrap(),
        vec![QueuedAlerts {
            integration,
            payloads: 3,
            signals: 4,
        }]
    );
    assert_eq!(
        store.integrations().await.unwrap()[0].last_event_at,
        Some(at(3))
    );
    assert!(store.alert_groups(None, 10).await.unwrap().is_empty());
    // Whole payloads, oldest first, as many as fit the signals asked for (at least one).
    let recorded = store.record_queued_alerts(&routes, 2).await.unwrap();
    assert_eq!(
        outcomes(&recorded),
        vec![vec![AlertChange::New, AlertChange::New]]
    );
    assert_eq!(recorded[0].recorded.payload, first[0]);
    assert_eq!(recorded[0].integration, integration);
    assert_eq!(recorded[0].signals[1].dedup_key, "b");
    let recorded = store.record_queued_alerts(&routes, 0).await.unwrap();
    assert_eq!(outcomes(&recorded), vec![vec![AlertChange::Resolved]]);
    let recorded = store.record_queued_alerts(&routes, 100).await.unwrap();
    assert_eq!(outcomes(&recorded), vec![vec![AlertChange::New]]);
    assert!(
        store
            .record_queued_alerts(&routes, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.queued_alerts().await.unwrap().is_empty());
    // Each as of when it was received, not when it was recorded.
    let groups = store.alert_groups(None, 10).await.unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        (groups[0].alerts, groups[0].events, groups[0].firing),
        (3, 4, 2)
    );
    assert_eq!(groups[0].last_alert_at, at(3));

    // Two recorders at once (two nodes): each payload is recorded once and in order, so the
    // last of a flipping alert's payloads decides whether it fires.
    let flips: Vec<_> = (0..20)
        .map(|n| payload(vec![alert_signal("flip", n % 2 == 0, &labels)]))
        .collect();
    for flip in &flips {
        store
            .queue_alerts(std::slice::from_ref(flip), at(4))
            .await
            .unwrap();
    }
    let other = h.reopen().await;
    let recorders = [store.clone(), other.clone()].map(|store| {
        let routes = routes.clone();
        tokio::spawn(async move {
            let mut payloads = Vec::new();
            loop {
                let done = store.record_queued_alerts(&routes, 3).await.unwrap();
                if done.is_empty() {
                    return payloads;
                }
                payloads.extend(done.into_iter().map(|payload| payload.recorded.payload));
            }
        })
    });
    let mut recorded = Vec::new();
    for recorder in recorders {
        recorded.extend(recorder.await.unwrap());
    }
    recorded.sort_unstable();
    let all = recorded.len();
    recorded.dedup();
    assert_eq!((all, recorded.len()), (20, 20), "each flip once");
    let groups = store.alert_groups(None, 10).await.unwrap();
    assert_eq!(groups[0].events, 24);
    let flip = store
        .alerts_of_group(groups[0].id, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|alert| alert.dedup_key == "flip")
        .unwrap();
    assert!(!flip.firing, "the last flip resolved it: {flip:?}");

    // A payload whose signals do not read back stops the queue until it is set aside; the
    // ones behind it are recorded then, and its body stays.
    let bad = store
        .queue_alerts(&[payload(vec![alert_signal("bad", true, &labels)])], at(5))
        .await
        .unwrap()[0];
    store
        .queue_alerts(
            &[payload(vec![alert_signal("after", true, &labels)])],
            at(5),
        )
        .await
        .unwrap();
    h.tamper(&format!(
        "UPDATE alert_payloads SET queued = 'not signals' WHERE id = {bad}"
    ))
    .await;
    let refused = store.record_queued_alerts(&routes, 100).await.unwrap_err();
    assert!(matches!(refused, StoreError::Corrupt(_)), "{refused:?}");
    assert_eq!(store.set_aside_queued_alert().await.unwrap(), Some(bad));
    let recorded = store.record_queued_alerts(&routes, 100).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].signals[0].dedup_key, "after");
    assert_eq!(store.set_aside_queued_alert().await.unwrap(), None);
    assert!(store.queued_alerts().await.unwrap().is_empty());
}

/// The incidents `raw` finds for `viewer` (`None`: an admin), in rank order, and the total.
async fn found<S: crate::Search>(store: &S, raw: &str, viewer: Option<&str>) -> (Vec<u64>, u64) {
    let results = searched(store, raw, viewer).await;
    (
        results.hits.iter().map(|hit| hit.incident.0).collect(),
        results.total,
    )
}

/// What `raw` finds for `viewer` (`None`: an admin) on the first page of 20, once the index
/// has caught up; for the backends' own search tests too.
pub async fn searched<S: crate::Search>(
    store: &S,
    raw: &str,
    viewer: Option<&str>,
) -> crate::SearchResults {
    while store.index_search(7).await.unwrap() > 0 {}
    let query = hereby_core::search::parse(raw).unwrap();
    store
        .search(&crate::SearchRequest {
            query: &query,
            visible_to: viewer,
            limit: 20,
            offset: 0,
        })
        .await
        .unwrap()
}

/// The fixtures of the relevance suite: five incidents with notes, an update, an operation
/// and a link, one of them restricted.
async fn search_fixtures<S: Store>(store: &S) {
    let latency = declare_as(
        store,
        "alice",
        declaration_of(
            "Checkout latency high",
            Severity::Sev2,
            &["checkout"],
            Visibility::Internal,
        ),
    )
    .await;
    run(
        store,
        latency,
        "alice",
        1,
        note("Connection pool exhausted on db-primary"),
    )
    .await
    .unwrap();
    let timeouts = declare_as(
        store,
        "alice",
        declaration_of(
            "Payment timeouts",
            Severity::Sev1,
            &["payments"],
            Visibility::Internal,
        ),
    )
    .await;
    run(
        store,
        timeouts,
        "alice",
        2,
        note("Card processor timeouts after deploy 4.2.1"),
    )
    .await
    .unwrap();
    run(
        store,
        timeouts,
        "alice",
        3,
        Command::PostUpdate {
            audience: hereby_core::types::Audience::parse("internal").unwrap(),
            body: Text::parse("We are investigating payment timeouts with the card processor")
                .unwrap(),
            public: false,
            quiet: false,
        },
    )
    .await
    .unwrap();
    let slow = declare_as(
        store,
        "alice",
        declaration_of(
            "Search index rebuild slow",
            Severity::Sev3,
            &["search"],
            Visibility::Internal,
        ),
    )
    .await;
    run(
        store,
        slow,
        "alice",
        4,
        note("Latency of search queries doubled"),
    )
    .await
    .unwrap();
    let secret = declare_as(
        store,
        "bob",
        declaration_of(
            "Card data exposure",
            Severity::Sev1,
            &["payments"],
            Visibility::Restricted,
        ),
    )
    .await;
    run(store, secret, "bob", 5, note("Leaked card token rotated"))
        .await
        .unwrap();
    let login = declare_as(
        store,
        "alice",
        declaration_of(
            "Login failures",
            Severity::Sev2,
            &["auth"],
            Visibility::Internal,
        ),
    )
    .await;
    run(
        store,
        login,
        "dave",
        6,
        Command::RecordOperation {
            target: Target::parse("db-primary").unwrap(),
            action: Text::parse("failover to the replica").unwrap(),
            command: None,
            witness: None,
        },
    )
    .await
    .unwrap();
    run(
        store,
        login,
        "alice",
        7,
        Command::AddLink {
            kind: hereby_core::types::LinkKind::parse("doc").unwrap(),
            url: hereby_core::types::Url::parse("https://wiki.example/runbooks/login").unwrap(),
            title: Some(Title::parse("Login runbook").unwrap()),
        },
    )
    .await
    .unwrap();
}

/// The relevance suite: the same fixtures and the same expected rankings on every backend.
pub async fn search_ranks_the_fixtures_as_expected<H: Harness>(h: &H) {
    let store = h.store();
    search_fixtures(store).await;
    let admin = None;
    // A word in a title outranks the same word in a note; stems match (`timeout` finds
    // "timeouts"); a prefix finds "payment"; a phrase keeps its order.
    assert_eq!(found(store, "latency", admin).await, (vec![1, 3], 2));
    assert_eq!(found(store, "timeout", admin).await, (vec![2], 1));
    assert_eq!(found(store, "pay*", admin).await.0, vec![2]);
    assert_eq!(found(store, "\"connection pool\"", admin).await.0, vec![1]);
    assert_eq!(
        found(store, "\"pool connection\"", admin).await.0,
        Vec::<u64>::new()
    );
    // A substring inside a word, and the words of a hyphenated name next to each other.
    assert_eq!(found(store, "tency", admin).await.0, vec![1, 3]);
    let mut primary = found(store, "db-primary", admin).await.0;
    primary.sort_unstable();
    assert_eq!(primary, vec![1, 5]);
    // Incident numbers, exclusions, and filters in the same line.
    assert_eq!(found(store, "INC-3", admin).await, (vec![3], 1));
    assert_eq!(found(store, "latency -search", admin).await.0, vec![1]);
    assert_eq!(found(store, "latency sev>=2", admin).await.0, vec![1]);
    assert_eq!(found(store, "latency kind:note", admin).await.0, vec![3]);
    assert_eq!(
        found(store, "latency status:resolved", admin).await.0,
        Vec::<u64>::new()
    );
    assert_eq!(
        found(store, "card service:payments", admin).await.0.len(),
        2
    );
    assert_eq!(found(store, "runbook", admin).await.0, vec![5]);
    assert_eq!(
        found(store, "status:open sev:1", admin).await,
        (vec![4, 2], 2)
    );
    assert_eq!(found(store, "role:bob", admin).await.0, vec![4]);
    // The snippet marks what matched, and the hit says where it was found.
    let results = searched(store, "processor", admin).await;
    let hit = &results.hits[0];
    assert_eq!(hit.incident, IncidentNumber(2));
    assert!(
        hit.snippet.contains("\u{2}processor\u{3}") || hit.snippet.contains("\u{2}Processor\u{3}"),
        "{:?}",
        hit.snippet
    );
    let title = searched(store, "exposure", admin).await;
    assert_eq!(title.hits[0].kind, hereby_core::search::EntryKind::Incident);
    // Pages: the second page goes on where the first stopped, the total stays.
    while store.index_search(100).await.unwrap() > 0 {}
    let query = hereby_core::search::parse("latency").unwrap();
    let second = store
        .search(&crate::SearchRequest {
            query: &query,
            visible_to: None,
            limit: 1,
            offset: 1,
        })
        .await
        .unwrap();
    assert_eq!(second.hits.len(), 1);
    assert_eq!(second.hits[0].incident, IncidentNumber(3));
    assert_eq!(second.total, 2);
}

/// Visibility inside the query: a non-member's hits, totals and snippets never show a
/// restricted incident; its members and admins find it.
pub async fn search_shows_restricted_incidents_only_to_members<H: Harness>(h: &H) {
    let store = h.store();
    search_fixtures(store).await;
    for raw in [
        "card", "leaked", "exposure", "INC-4", "sev:1", "role:bob", "ard",
    ] {
        let results = searched(store, raw, Some("carol")).await;
        assert!(
            results
                .hits
                .iter()
                .all(|hit| hit.incident != IncidentNumber(4)),
            "{raw}: {results:?}"
        );
        assert!(
            results
                .hits
                .iter()
                .all(|hit| !hit.snippet.to_lowercase().contains("leaked")
                    && !hit.title.contains("exposure")),
            "{raw}"
        );
        let visible = results.hits.len() as u64;
        assert_eq!(results.total, visible, "{raw}: the count hides it too");
    }
    assert_eq!(found(store, "card", Some("carol")).await, (vec![2], 1));
    assert_eq!(found(store, "leaked", Some("bob")).await, (vec![4], 1));
    assert_eq!(found(store, "leaked", None).await, (vec![4], 1));
    // A limit of one still finds carol's one visible incident first: nothing restricted
    // took its place before the limit.
    let query = hereby_core::search::parse("card").unwrap();
    let first = store
        .search(&crate::SearchRequest {
            query: &query,
            visible_to: Some("carol"),
            limit: 1,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(first.hits[0].incident, IncidentNumber(2));
}

/// Every event that carries text is searchable as the kind `entry_of` says, and a changed
/// title replaces the old one.
pub async fn search_indexes_what_each_event_says<H: Harness>(h: &H) {
    use hereby_core::search::{EntryKind, entry_of};
    let store = h.store();
    search_fixtures(store).await;
    let mut checked = 0;
    for position in 1.. {
        let Ok(events) = store.read_all(position - 1, 1).await else {
            break;
        };
        let Some(stored) = events.first() else { break };
        let Ok(event) = Event::decode(
            &stored.link.event_type,
            stored.link.event_version,
            &stored.link.body,
        ) else {
            continue;
        };
        let Some((kind, text)) = entry_of(&event) else {
            continue;
        };
        // The rarest word of the text finds its incident, as that kind.
        let word = hereby_core::search::words_of(&text)
            .into_iter()
            .max_by_key(|word| word.len())
            .unwrap();
        let results = searched(store, &format!("{word} kind:{}", kind.as_str()), None).await;
        assert!(
            results
                .hits
                .iter()
                .any(|hit| hit.incident.0 == stored.link.incident && hit.kind == kind),
            "{} `{word}` as {kind:?}: {results:?}",
            stored.link.event_type
        );
        checked += 1;
    }
    assert!(checked >= 7, "every kind of text was checked ({checked})");
    // Indexers running at once (several tasks, or nodes) each index an event once, and what
    // is appended later is indexed on the next call.
    run(
        store,
        IncidentNumber(1),
        "alice",
        9,
        note("Quarantined the flapping canary"),
    )
    .await
    .unwrap();
    let mut indexers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        indexers.push(tokio::spawn(async move {
            let mut read = 0;
            loop {
                match store.index_search(1).await.unwrap() {
                    0 => return read,
                    n => read += n,
                }
            }
        }));
    }
    let mut read = 0;
    for indexer in indexers {
        read += indexer.await.unwrap();
    }
    assert_eq!(read, 1, "the one new event was indexed once");
    assert_eq!(found(store, "quarantined", None).await.0, vec![1]);
    assert_eq!(store.index_search(100).await.unwrap(), 0);
    assert_eq!(found(store, "rebuild kind:incident", None).await.0, vec![3]);
    assert!(EntryKind::ALL.len() >= 8);
}
