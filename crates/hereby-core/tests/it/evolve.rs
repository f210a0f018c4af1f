//! What `evolve` makes of a story: the incident's state rendered as text after all steps.
//!
//! The decide cases show the events; these show the fields the events set and clear
//! (commander, pending hand-off, `resolved_at`, `ended_at`, the close override, item states).

use std::fmt::Write as _;

use expect_test::{Expect, expect};
use hereby_core::Incident;
use jiff::Timestamp;

use crate::support::*;

fn check_state(given: &[Step], expect: Expect) {
    let story = play(given);
    let incident = story.state.incident().unwrap();
    expect.assert_eq(&render(incident));
}

fn time(at: Timestamp) -> String {
    at.strftime("%H:%M").to_string()
}

fn maybe<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "-".to_owned(), show)
}

fn render(incident: &Incident) -> String {
    let mut out = String::new();
    let services: Vec<&str> = incident.services.iter().map(|s| s.as_str()).collect();
    writeln!(
        out,
        "{} | {} | {}{} | {} | services [{}] | summary {}",
        incident.title,
        incident.status,
        incident.severity,
        if incident.potential {
            " (potential)"
        } else {
            ""
        },
        incident.visibility,
        services.join(", "),
        maybe(incident.summary.as_ref(), |s| format!("{:?}", s.as_str())),
    )
    .unwrap();
    writeln!(
        out,
        "declared {} by {}, resolved {}, ended {}, updated {}, version {}",
        time(incident.declared_at),
        incident.declared_by,
        maybe(incident.resolved_at, time),
        maybe(incident.ended_at, time),
        time(incident.updated_at),
        incident.version,
    )
    .unwrap();
    for (role, holders) in &incident.roles {
        let holders: Vec<&str> = holders.iter().map(|h| h.as_str()).collect();
        writeln!(out, "role {role}: {}", holders.join(", ")).unwrap();
    }
    if let Some(pending) = &incident.pending_handoff {
        writeln!(
            out,
            "pending hand-off {} -> {} since {}",
            pending.from,
            pending.to,
            time(pending.requested_at)
        )
        .unwrap();
    }
    if incident.impact.start.is_some() || incident.impact.end.is_some() {
        writeln!(
            out,
            "impact {} .. {}",
            maybe(incident.impact.start, time),
            maybe(incident.impact.end, time)
        )
        .unwrap();
    }
    if !incident.members.is_empty() {
        let members: Vec<&str> = incident.members.iter().map(|m| m.as_str()).collect();
        writeln!(out, "members: {}", members.join(", ")).unwrap();
    }
    for item in incident.action_items.values() {
        writeln!(
            out,
            "item {}: {} {} {:?} owner {} due {} tracker {} wont_fix_reason {} (created {}, updated {})",
            item.item,
            item.kind,
            item.state,
            item.text.as_str(),
            item.owner,
            maybe(item.due, |d| d.to_string()),
            maybe(item.tracker_url.as_ref(), |u| u.to_string()),
            maybe(item.wont_fix_reason.as_ref(), |r| format!("{:?}", r.as_str())),
            time(item.created_at),
            time(item.updated_at),
        )
        .unwrap();
    }
    if let Some(reason) = &incident.close_override {
        writeln!(out, "close override: {:?}", reason.as_str()).unwrap();
    }
    if incident.last_update_at.is_some() {
        writeln!(
            out,
            "last update {}, next due {}",
            maybe(incident.last_update_at, time),
            maybe(
                incident.next_update_due(&hereby_core::Cadence::default()),
                time
            )
        )
        .unwrap();
    }
    out
}

#[test]
fn updates_set_when_the_next_one_is_due() {
    // SEV2 is owed an update every hour by default; steps are a minute apart from 10:00.
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", post_update("customers", "Looking into it.", false)),
            ("alice", visibility("public", "customers notice it")),
            ("alice", post_update("customers", "Fix rolling out.", true)),
        ],
        expect![[r#"
            DB down | investigating | SEV2 | public | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:03, version 4
            role incident_commander: alice
            last update 10:03, next due 11:03
        "#]],
    );
    let resolved = play(&[
        ("alice", declare("DB down")),
        ("alice", post_update("internal", "Done.", false)),
        ("alice", status("resolved")),
    ]);
    let incident = resolved.state.incident().unwrap();
    assert!(incident.last_update_at.is_some());
    assert_eq!(
        incident.next_update_due(&hereby_core::Cadence::default()),
        None,
        "no update is owed once resolved"
    );
}

#[test]
fn a_late_update_promises_the_next_one_from_its_own_time() {
    // SEV2 is owed an update an hour after the declaration (11:00); one posted at 11:20 owes
    // the next at 12:20, never a time already past.
    let played = play(&[("alice", declare("DB down"))]);
    let incident = played.state.incident().unwrap();
    let cadence = hereby_core::Cadence::default();
    let owed = incident.next_update_due(&cadence).unwrap();
    let late = owed
        .checked_add(jiff::SignedDuration::from_mins(20))
        .unwrap();
    let promised = incident.next_update_promised(&cadence, late).unwrap();
    assert_eq!(
        promised,
        late.checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap()
    );
    assert!(promised > late && owed < late);
    let resolved = play(&[("alice", declare("DB down")), ("alice", status("resolved"))]);
    assert_eq!(
        resolved
            .state
            .incident()
            .unwrap()
            .next_update_promised(&cadence, late),
        None,
        "nothing is promised once resolved"
    );
}

#[test]
fn a_fresh_incident() {
    check_state(
        &[("alice", declare("DB down"))],
        expect![[r#"
            DB down | investigating | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:00, version 1
            role incident_commander: alice
        "#]],
    );
}

#[test]
fn a_fully_described_incident() {
    check_state(
        &[(
            "bob",
            declare_full(
                "Logins fail",
                "SSO returns 500",
                hereby_core::types::Severity::Sev1,
                true,
                &["sso", "api"],
                hereby_core::types::Visibility::Restricted,
            ),
        )],
        expect![[r#"
            Logins fail | investigating | SEV1 (potential) | restricted | services [api, sso] | summary "SSO returns 500"
            declared 10:00 by bob, resolved -, ended -, updated 10:00, version 1
            role incident_commander: bob
        "#]],
    );
}

#[test]
fn roles_are_listed_in_the_order_taken() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", assign("operations", "carol")),
            ("alice", assign("operations", "bob")),
            ("alice", assign("scribe", "dave")),
            ("alice", assign("scribe", "bob")),
            ("alice", assign("communications", "erin")),
            ("alice", unassign("communications", "erin")),
        ],
        expect![[r#"
            DB down | investigating | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:06, version 8
            role incident_commander: alice
            role operations: carol, bob
            role scribe: bob
        "#]],
    );
}

#[test]
fn a_pending_handoff_changes_nothing_but_itself() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", assign("operations", "dave")),
            ("alice", handoff("dave")),
        ],
        expect![[r#"
            DB down | investigating | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:02, version 3
            role incident_commander: alice
            role operations: dave
            pending hand-off alice -> dave since 10:02
        "#]],
    );
}

#[test]
fn an_accepted_handoff_moves_command_and_drops_operations() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", assign("operations", "dave")),
            ("alice", assign("operations", "bob")),
            ("alice", assign("scribe", "dave")),
            ("alice", handoff("dave")),
            ("dave", accept_handoff()),
        ],
        expect![[r#"
            DB down | investigating | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:05, version 7
            role incident_commander: dave
            role operations: bob
            role scribe: dave
        "#]],
    );
}

#[test]
fn resolving_and_closing_set_their_times() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", impact(Some("09:30"), None)),
            ("alice", status("monitoring")),
            ("alice", impact(Some("09:30"), Some("10:02"))),
            ("alice", status("resolved")),
            ("alice", close_override("no post-mortem in this story")),
        ],
        expect![[r#"
            DB down | closed | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved 10:04, ended 10:05, updated 10:05, version 7
            role incident_commander: alice
            impact 09:30 .. 10:02
            close override: "no post-mortem in this story"
        "#]],
    );
}

#[test]
fn reopening_clears_the_resolution_time() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", status("resolved")),
            ("alice", status_with_reason("identified", "errors are back")),
        ],
        expect![[r#"
            DB down | identified | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:02, version 4
            role incident_commander: alice
        "#]],
    );
}

#[test]
fn calling_off_ends_the_incident_and_drops_the_handoff() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", handoff("dave")),
            ("alice", status_with_reason("called_off", "false alarm")),
        ],
        expect![[r#"
            DB down | called_off | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended 10:02, updated 10:02, version 3
            role incident_commander: alice
        "#]],
    );
}

#[test]
fn closing_over_open_follow_ups_records_the_override() {
    check_state(
        &[
            ("alice", declare("DB down")),
            (
                "alice",
                add_item_follow_up("alert on replication lag", "role:operations"),
            ),
            ("alice", add_item_task("restart the replica", "carol")),
            ("alice", status("resolved")),
            ("alice", close_override("tracked in the platform backlog")),
            ("bob", complete(1)),
        ],
        expect![[r#"
            DB down | closed | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved 10:03, ended 10:04, updated 10:05, version 7
            role incident_commander: alice
            item 1: follow_up done "alert on replication lag" owner role:operations due - tracker - wont_fix_reason - (created 10:01, updated 10:05)
            item 2: task open "restart the replica" owner carol due - tracker - wont_fix_reason - (created 10:02, updated 10:02)
            close override: "tracked in the platform backlog"
        "#]],
    );
}

#[test]
fn an_override_with_nothing_open_is_not_recorded_as_one() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", status("resolved")),
            ("alice", close_override("just in case")),
        ],
        expect![[r#"
            DB down | closed | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved 10:01, ended 10:02, updated 10:02, version 4
            role incident_commander: alice
            close override: "just in case"
        "#]],
    );
}

#[test]
fn action_items_keep_their_history_in_their_fields() {
    check_state(
        &[
            ("alice", declare("DB down")),
            (
                "alice",
                add_item_follow_up("alert on replication lag", "role:operations"),
            ),
            (
                "alice",
                update_item(1, Some("bob"), Some("2024-06-01"), None),
            ),
            (
                "alice",
                update_item(1, None, None, Some("https://tracker.example/T-2")),
            ),
            (
                "alice",
                add_item_follow_up("rewrite the storage layer", "carol"),
            ),
            ("carol", wont_fix(2, "not worth it")),
            ("carol", reopen(2)),
            ("alice", add_item_task("restart the replica", "carol")),
            ("carol", complete(3)),
        ],
        expect![[r#"
            DB down | investigating | SEV2 | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:08, version 9
            role incident_commander: alice
            item 1: follow_up open "alert on replication lag" owner bob due 2024-06-01 tracker https://tracker.example/T-2 wont_fix_reason - (created 10:01, updated 10:03)
            item 2: follow_up open "rewrite the storage layer" owner carol due - tracker - wont_fix_reason - (created 10:04, updated 10:06)
            item 3: task done "restart the replica" owner carol due - tracker - wont_fix_reason - (created 10:07, updated 10:08)
        "#]],
    );
}

#[test]
fn members_and_severity() {
    check_state(
        &[
            ("alice", declare("DB down")),
            ("alice", add_member("erin")),
            ("alice", add_member("frank")),
            ("alice", remove_member("erin")),
            (
                "alice",
                severity("SEV1", true, "could spread to all regions"),
            ),
        ],
        expect![[r#"
            DB down | investigating | SEV1 (potential) | internal | services [] | summary -
            declared 10:00 by alice, resolved -, ended -, updated 10:04, version 5
            role incident_commander: alice
            members: frank
        "#]],
    );
}
