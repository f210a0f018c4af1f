//! The rules as data: given a story of commands that all succeed, when one more command is
//! decided, expect these events or this rejection.
//!
//! Each case is one `#[test]`; the same cases also form a table that checks every command
//! has a successful case and every rejection code is produced by some case. Regenerate the
//! snapshots with `UPDATE_EXPECT=1 cargo test -p hereby-core`, then read every one.

use std::collections::BTreeSet;

use expect_test::{Expect, expect};
use hereby_core::{Command, RejectionCode};

use crate::support::*;

fn check(given: &[Step], when: Step, expect: Expect) {
    let outcome = decide_after(given, &when);
    expect.assert_eq(&render_outcome(&outcome));
}

/// A case without its snapshot, for the coverage tests.
struct Case {
    name: &'static str,
    given: Vec<Step>,
    when: Step,
}

/// Declares each case once: as its own test, and as a row of [`table`].
macro_rules! cases {
    ($(
        $name:ident {
            given: [$($given:expr),* $(,)?],
            when: $when:expr,
            expect: $expect:expr $(,)?
        }
    )*) => {
        $(
            #[test]
            fn $name() {
                check(&[$($given),*], $when, $expect);
            }
        )*

        fn table() -> Vec<Case> {
            vec![$(Case { name: stringify!($name), given: vec![$($given),*], when: $when }),*]
        }
    };
}

cases! {
    // ---- declaring ------------------------------------------------------------------------

    declare_makes_the_declarer_commander {
        given: [],
        when: ("alice", declare("DB down")),
        expect: expect![[r#"
            incident_declared {"commander":"alice","potential":false,"services":[],"severity":"SEV2","summary":null,"title":"DB down","visibility":"internal"}
        "#]],
    }

    declare_records_every_field_and_sorts_services {
        given: [],
        when: ("bob", declare_full("Logins fail", "SSO returns 500", hereby_core::types::Severity::Sev1, true, &["sso", "api", "sso"], hereby_core::types::Visibility::Restricted)),
        expect: expect![[r#"
            incident_declared {"commander":"bob","potential":true,"services":["api","sso"],"severity":"SEV1","summary":"SSO returns 500","title":"Logins fail","visibility":"restricted"}
        "#]],
    }

    declare_twice_is_refused {
        given: [("alice", declare("DB down"))],
        when: ("bob", declare("DB down again")),
        expect: expect![[r#"
            rejected already_declared: this incident has already been declared
        "#]],
    }

    nothing_but_declare_before_declaring {
        given: [],
        when: ("alice", note("is anyone there?")),
        expect: expect![[r#"
            rejected not_declared: there is no such incident yet; declare it first
        "#]],
    }

    // ---- roles ------------------------------------------------------------------------------

    assign_a_role {
        given: [("alice", declare("DB down"))],
        when: ("alice", assign("operations", "bob")),
        expect: expect![[r#"
            role_assigned {"person":"bob","role":"operations"}
        "#]],
    }

    assign_a_multi_holder_role_keeps_the_other_holders {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", assign("operations", "carol")),
        expect: expect![[r#"
            role_assigned {"person":"carol","role":"operations"}
        "#]],
    }

    assign_a_single_holder_role_relieves_the_previous_holder {
        given: [("alice", declare("DB down")), ("alice", assign("scribe", "bob"))],
        when: ("alice", assign("scribe", "carol")),
        expect: expect![[r#"
            role_unassigned {"person":"bob","role":"scribe"}
            role_assigned {"person":"carol","role":"scribe"}
        "#]],
    }

    the_commander_may_hold_another_single_holder_role {
        given: [("alice", declare("DB down"))],
        when: ("alice", assign("scribe", "alice")),
        expect: expect![[r#"
            role_assigned {"person":"alice","role":"scribe"}
        "#]],
    }

    assign_a_role_already_held {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", assign("operations", "bob")),
        expect: expect![[r#"
            rejected role_already_held: bob already holds Operations
        "#]],
    }

    assign_an_unknown_role {
        given: [("alice", declare("DB down"))],
        when: ("alice", assign("firefighter", "bob")),
        expect: expect![[r#"
            rejected unknown_role: `firefighter` is not a role here; roles are incident_commander, operations, communications, scribe, subject_matter_expert, planning, release_manager, operations_manager
        "#]],
    }

    the_commander_is_not_assigned_directly {
        given: [("alice", declare("DB down"))],
        when: ("alice", assign("incident_commander", "bob")),
        expect: expect![[r#"
            rejected use_handoff: the Incident Commander changes only by hand-off: request it, and the new commander accepts
        "#]],
    }

    the_commander_is_not_unassigned_directly {
        given: [("alice", declare("DB down"))],
        when: ("alice", unassign("incident_commander", "alice")),
        expect: expect![[r#"
            rejected use_handoff: an incident always has an Incident Commander; hand command to someone else instead
        "#]],
    }

    the_commander_is_not_given_operations {
        given: [("alice", declare("DB down"))],
        when: ("bob", assign("operations", "alice")),
        expect: expect![[r#"
            rejected ic_cannot_operate: alice is the Incident Commander, who coordinates and does not perform operations; give operations to someone else
        "#]],
    }

    unassign_a_role {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", unassign("operations", "bob")),
        expect: expect![[r#"
            role_unassigned {"person":"bob","role":"operations"}
        "#]],
    }

    unassign_a_role_not_held {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", unassign("operations", "carol")),
        expect: expect![[r#"
            rejected role_not_held: carol does not hold Operations
        "#]],
    }

    unassign_an_unknown_role {
        given: [("alice", declare("DB down"))],
        when: ("alice", unassign("firefighter", "bob")),
        expect: expect![[r#"
            rejected unknown_role: `firefighter` is not a role here; roles are incident_commander, operations, communications, scribe, subject_matter_expert, planning, release_manager, operations_manager
        "#]],
    }

    roles_stay_open_while_resolved {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", assign("planning", "dave")),
        expect: expect![[r#"
            role_assigned {"person":"dave","role":"planning"}
        "#]],
    }

    roles_do_not_change_once_the_incident_ended {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "false alarm"))],
        when: ("alice", assign("scribe", "bob")),
        expect: expect![[r#"
            rejected incident_ended: the incident is called_off; you can no longer change roles
        "#]],
    }

    roles_are_not_given_up_once_the_incident_ended {
        given: [
            ("alice", declare("DB down")),
            ("alice", assign("scribe", "bob")),
            ("alice", status_with_reason("handed_back", "below the bar")),
        ],
        when: ("bob", unassign("scribe", "bob")),
        expect: expect![[r#"
            rejected incident_ended: the incident is handed_back; you can no longer change roles
        "#]],
    }

    // ---- hand-off ---------------------------------------------------------------------------

    request_a_handoff {
        given: [("alice", declare("DB down"))],
        when: ("alice", handoff("dave")),
        expect: expect![[r#"
            handoff_requested {"from":"alice","to":"dave"}
        "#]],
    }

    no_handoff_to_oneself {
        given: [("alice", declare("DB down"))],
        when: ("alice", handoff("alice")),
        expect: expect![[r#"
            rejected handoff_to_self: alice is already the Incident Commander
        "#]],
    }

    no_second_request_to_the_same_person {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("alice", handoff("dave")),
        expect: expect![[r#"
            rejected handoff_already_requested: a hand-off to dave is already waiting for their answer
        "#]],
    }

    a_request_to_someone_else_withdraws_the_pending_one {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("alice", handoff("carol")),
        expect: expect![[r#"
            handoff_cancelled {"to":"dave"}
            handoff_requested {"from":"alice","to":"carol"}
        "#]],
    }

    the_replaced_recipient_can_no_longer_accept {
        given: [("alice", declare("DB down")), ("alice", handoff("dave")), ("alice", handoff("carol"))],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            rejected not_handoff_recipient: the pending hand-off is addressed to carol, not to dave
        "#]],
    }

    the_requesting_commander_still_may_not_operate {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("alice", op("db-primary", "restart")),
        expect: expect![[r#"
            rejected ic_cannot_operate: the Incident Commander coordinates and does not perform operations; ask someone in the operations role, or hand off command first
        "#]],
    }

    accept_a_handoff {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            handoff_accepted {"from":"alice","to":"dave"}
        "#]],
    }

    accepting_command_gives_up_operations {
        given: [
            ("alice", declare("DB down")),
            ("alice", assign("operations", "dave")),
            ("alice", handoff("dave")),
        ],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            role_unassigned {"person":"dave","role":"operations"}
            handoff_accepted {"from":"alice","to":"dave"}
        "#]],
    }

    accepting_command_keeps_other_roles {
        given: [
            ("alice", declare("DB down")),
            ("alice", assign("scribe", "dave")),
            ("alice", handoff("dave")),
        ],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            handoff_accepted {"from":"alice","to":"dave"}
        "#]],
    }

    the_new_commander_may_not_operate {
        given: [("alice", declare("DB down")), ("alice", handoff("dave")), ("dave", accept_handoff())],
        when: ("dave", op("db-primary", "restart")),
        expect: expect![[r#"
            rejected ic_cannot_operate: the Incident Commander coordinates and does not perform operations; ask someone in the operations role, or hand off command first
        "#]],
    }

    the_former_commander_may_operate {
        given: [("alice", declare("DB down")), ("alice", handoff("dave")), ("dave", accept_handoff())],
        when: ("alice", op("db-primary", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"db-primary"}
        "#]],
    }

    only_the_named_person_accepts {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("bob", accept_handoff()),
        expect: expect![[r#"
            rejected not_handoff_recipient: the pending hand-off is addressed to dave, not to bob
        "#]],
    }

    the_commander_cannot_accept_for_the_recipient {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("alice", accept_handoff()),
        expect: expect![[r#"
            rejected not_handoff_recipient: the pending hand-off is addressed to dave, not to alice
        "#]],
    }

    accept_without_a_request {
        given: [("alice", declare("DB down"))],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            rejected no_pending_handoff: no hand-off is waiting for an answer
        "#]],
    }

    decline_a_handoff {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("dave", decline_handoff_because("on a plane in an hour")),
        expect: expect![[r#"
            handoff_declined {"reason":"on a plane in an hour","to":"dave"}
        "#]],
    }

    decline_a_handoff_without_a_reason {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("dave", decline_handoff()),
        expect: expect![[r#"
            handoff_declined {"reason":null,"to":"dave"}
        "#]],
    }

    only_the_named_person_declines {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("carol", decline_handoff()),
        expect: expect![[r#"
            rejected not_handoff_recipient: the pending hand-off is addressed to dave, not to carol
        "#]],
    }

    a_declined_request_is_gone {
        given: [("alice", declare("DB down")), ("alice", handoff("dave")), ("dave", decline_handoff())],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            rejected no_pending_handoff: no hand-off is waiting for an answer
        "#]],
    }

    cancel_a_handoff {
        given: [("alice", declare("DB down")), ("alice", handoff("dave"))],
        when: ("alice", cancel_handoff()),
        expect: expect![[r#"
            handoff_cancelled {"to":"dave"}
        "#]],
    }

    cancel_without_a_request {
        given: [("alice", declare("DB down"))],
        when: ("alice", cancel_handoff()),
        expect: expect![[r#"
            rejected no_pending_handoff: no hand-off is waiting for an answer
        "#]],
    }

    a_cancelled_request_is_gone {
        given: [("alice", declare("DB down")), ("alice", handoff("dave")), ("alice", cancel_handoff())],
        when: ("dave", accept_handoff()),
        expect: expect![[r#"
            rejected no_pending_handoff: no hand-off is waiting for an answer
        "#]],
    }

    ending_the_incident_drops_a_pending_handoff {
        given: [
            ("alice", declare("DB down")),
            ("alice", handoff("dave")),
            ("alice", status_with_reason("called_off", "false alarm")),
        ],
        when: ("dave", decline_handoff()),
        expect: expect![[r#"
            rejected no_pending_handoff: no hand-off is waiting for an answer
        "#]],
    }

    no_handoff_once_the_incident_ended {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("handed_back", "a support ticket"))],
        when: ("alice", handoff("dave")),
        expect: expect![[r#"
            rejected incident_ended: the incident is handed_back; you can no longer hand off command
        "#]],
    }

    // ---- severity ---------------------------------------------------------------------------

    change_severity {
        given: [("alice", declare("DB down"))],
        when: ("alice", severity("SEV1", false, "all regions affected")),
        expect: expect![[r#"
            severity_changed {"from":"SEV2","potential":false,"reason":"all regions affected","to":"SEV1"}
        "#]],
    }

    change_only_the_potential_flag {
        given: [("alice", declare("DB down"))],
        when: ("alice", severity("SEV2", true, "no user affected yet")),
        expect: expect![[r#"
            severity_changed {"from":"SEV2","potential":true,"reason":"no user affected yet","to":"SEV2"}
        "#]],
    }

    severity_unchanged {
        given: [("alice", declare("DB down"))],
        when: ("alice", severity("SEV2", false, "double-checked")),
        expect: expect![[r#"
            rejected severity_unchanged: severity is already SEV2
        "#]],
    }

    no_severity_change_once_ended {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("alice", severity("SEV3", false, "in hindsight")),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed; you can no longer change severity
        "#]],
    }

    // ---- status -----------------------------------------------------------------------------

    investigating_to_identified {
        given: [("alice", declare("DB down"))],
        when: ("alice", status("identified")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":null,"to":"identified"}
        "#]],
    }

    active_statuses_move_back_freely {
        given: [("alice", declare("DB down")), ("alice", status("monitoring"))],
        when: ("alice", status("investigating")),
        expect: expect![[r#"
            status_changed {"from":"monitoring","reason":null,"to":"investigating"}
        "#]],
    }

    resolve_from_monitoring {
        given: [("alice", declare("DB down")), ("alice", status("monitoring"))],
        when: ("alice", status("resolved")),
        expect: expect![[r#"
            status_changed {"from":"monitoring","reason":null,"to":"resolved"}
            review_meeting_scheduled {"at":"2024-05-31T10:00:00Z","meeting":1}
        "#]],
    }

    resolve_straight_from_investigating {
        given: [("alice", declare("DB down"))],
        when: ("bob", status("resolved")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":null,"to":"resolved"}
            review_meeting_scheduled {"at":"2024-05-31T10:00:00Z","meeting":1}
        "#]],
    }

    close_a_resolved_incident {
        given: [
            ("alice", declare("DB down")),
            ("alice", status("resolved")),
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
        ],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            status_changed {"from":"resolved","reason":null,"to":"closed"}
        "#]],
    }

    an_active_incident_cannot_be_closed {
        given: [("alice", declare("DB down")), ("alice", status("monitoring"))],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            rejected invalid_transition: cannot go from monitoring to closed; resolve it first, close it once the post-mortem and follow-ups are done
        "#]],
    }

    a_resolved_incident_cannot_be_called_off {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", status_with_reason("called_off", "it was fine after all")),
        expect: expect![[r#"
            rejected invalid_transition: cannot go from resolved to called_off; a resolved incident was real, close it instead
        "#]],
    }

    reopening_a_resolved_incident_needs_a_reason {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", status("identified")),
        expect: expect![[r#"
            rejected reason_required: moving to identified needs a reason: say why the incident is reopened
        "#]],
    }

    reopen_a_resolved_incident {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", status_with_reason("investigating", "errors are back")),
        expect: expect![[r#"
            status_changed {"from":"resolved","reason":"errors are back","to":"investigating"}
        "#]],
    }

    calling_off_needs_a_reason {
        given: [("alice", declare("DB down"))],
        when: ("alice", status("called_off")),
        expect: expect![[r#"
            rejected reason_required: moving to called_off needs a reason: say why it is not an incident after all
        "#]],
    }

    call_off {
        given: [("alice", declare("DB down")), ("alice", status("identified"))],
        when: ("alice", status_with_reason("called_off", "false alarm")),
        expect: expect![[r#"
            status_changed {"from":"identified","reason":"false alarm","to":"called_off"}
        "#]],
    }

    handing_back_needs_a_reason {
        given: [("alice", declare("DB down"))],
        when: ("alice", status("handed_back")),
        expect: expect![[r#"
            rejected reason_required: moving to handed_back needs a reason: say why it is not an incident after all
        "#]],
    }

    hand_back {
        given: [("alice", declare("DB down"))],
        when: ("alice", status_with_reason("handed_back", "one user, a support ticket")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":"one user, a support ticket","to":"handed_back"}
        "#]],
    }

    same_status {
        given: [("alice", declare("DB down"))],
        when: ("alice", status("investigating")),
        expect: expect![[r#"
            rejected status_unchanged: the incident is already investigating
        "#]],
    }

    same_status_when_resolved {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", status("resolved")),
        expect: expect![[r#"
            rejected status_unchanged: the incident is already resolved
        "#]],
    }

    a_closed_incident_stays_closed {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("alice", status_with_reason("investigating", "it is back")),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed; its status can no longer change
        "#]],
    }

    a_called_off_incident_stays_called_off {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "false alarm"))],
        when: ("alice", status("resolved")),
        expect: expect![[r#"
            rejected incident_ended: the incident is called_off; its status can no longer change
        "#]],
    }

    a_handed_back_incident_refuses_even_its_own_status {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("handed_back", "a support ticket"))],
        when: ("alice", status_with_reason("handed_back", "a support ticket")),
        expect: expect![[r#"
            rejected incident_ended: the incident is handed_back; its status can no longer change
        "#]],
    }

    closing_is_refused_while_follow_ups_are_open {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("alice", add_item_follow_up("document failover", "bob")),
            ("alice", status("resolved")),
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
        ],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            rejected open_follow_ups: follow-up action items 1, 2 are still open; finish them, mark them won't fix, or close with an explicit override and a reason
        "#]],
    }

    close_over_open_follow_ups_with_an_override {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("alice", add_item_follow_up("document failover", "bob")),
            ("alice", add_item_task("restart the replica", "carol")),
            ("alice", add_item_follow_up("upgrade the driver", "carol")),
            ("carol", complete(2)),
            ("alice", status("resolved")),
        ],
        when: ("alice", close_override("tracked in the platform backlog")),
        expect: expect![[r#"
            status_changed {"from":"resolved","overridden_follow_ups":[1,4],"overrode_postmortem":true,"reason":"tracked in the platform backlog","to":"closed"}
        "#]],
    }

    the_override_needs_a_reason {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("alice", status("resolved")),
        ],
        when: ("alice", close_override_without_reason()),
        expect: expect![[r#"
            rejected reason_required: moving to closed needs a reason: say why closing without a reviewed post-mortem or over open follow-ups is acceptable
        "#]],
    }

    an_override_with_nothing_open_closes_plainly {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", close_override("just in case")),
        expect: expect![[r#"
            status_changed {"from":"resolved","overrode_postmortem":true,"reason":"just in case","to":"closed"}
        "#]],
    }

    an_open_task_does_not_block_closing {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_task("restart the replica", "carol")),
            ("alice", status("resolved")),
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
        ],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            status_changed {"from":"resolved","reason":null,"to":"closed"}
        "#]],
    }

    done_and_wont_fix_follow_ups_do_not_block_closing {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("alice", add_item_follow_up("rewrite the storage layer", "bob")),
            ("bob", complete(1)),
            ("bob", wont_fix(2, "not worth it")),
            ("alice", status("resolved")),
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
        ],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            status_changed {"from":"resolved","reason":null,"to":"closed"}
        "#]],
    }

    // ---- impact window ----------------------------------------------------------------------

    set_the_impact_start {
        given: [("alice", declare("DB down"))],
        when: ("alice", impact(Some("09:30"), None)),
        expect: expect![[r#"
            impact_window_set {"end":null,"start":"2024-05-01T09:30:00Z"}
        "#]],
    }

    set_the_whole_impact_window {
        given: [("alice", declare("DB down")), ("alice", impact(Some("09:30"), None))],
        when: ("alice", impact(Some("09:25"), Some("09:58"))),
        expect: expect![[r#"
            impact_window_set {"end":"2024-05-01T09:58:00Z","start":"2024-05-01T09:25:00Z"}
        "#]],
    }

    the_commander_sets_when_the_impact_started {
        given: [("alice", declare("DB down"))],
        when: ("alice", milestone("started", "09:40", "the error rate rose at 09:40 on the dashboard")),
        expect: expect![[r#"
            milestone_set {"at":"2024-05-01T09:40:00Z","milestone":"started","reason":"the error rate rose at 09:40 on the dashboard"}
        "#]],
    }

    a_milestone_may_be_moved_between_its_neighbours {
        given: [("alice", declare("DB down")), ("alice", status("monitoring")), ("alice", status("resolved"))],
        when: ("alice", milestone("mitigated", "10:00", "the failover held from 10:00")),
        expect: expect![[r#"
            milestone_set {"at":"2024-05-01T10:00:00Z","milestone":"mitigated","reason":"the failover held from 10:00"}
        "#]],
    }

    a_milestone_may_not_overtake_another {
        given: [("alice", declare("DB down")), ("alice", status("monitoring")), ("alice", status("resolved"))],
        when: ("alice", milestone("mitigated", "09:50", "too early")),
        expect: expect![[r#"
            rejected invalid_milestone: `mitigated` at 2024-05-01T09:50:00Z would come before `acknowledged` at 2024-05-01T10:00:00Z; milestones are in the order started, detected, acknowledged, mitigated, resolved, closed
        "#]],
    }

    a_milestone_not_reached_cannot_be_set {
        given: [("alice", declare("DB down"))],
        when: ("alice", milestone("resolved", "10:00", "not yet")),
        expect: expect![[r#"
            rejected invalid_milestone: the incident has not reached `resolved` yet; set it once it has
        "#]],
    }

    a_milestone_cannot_be_in_the_future {
        given: [("alice", declare("DB down"))],
        when: ("alice", milestone("started", "11:00", "later")),
        expect: expect![[r#"
            rejected invalid_milestone: 2024-05-01T11:00:00Z is in the future; set a milestone once it has happened
        "#]],
    }

    a_milestone_already_at_that_time_changes_nothing {
        given: [("alice", declare("DB down")), ("alice", status("monitoring"))],
        when: ("alice", milestone("mitigated", "10:01", "again")),
        expect: expect![[r#"
            rejected nothing_to_change: `mitigated` is already at 2024-05-01T10:01:00Z
        "#]],
    }

    impact_may_end_as_it_starts {
        given: [("alice", declare("DB down"))],
        when: ("alice", impact(Some("09:30"), Some("09:30"))),
        expect: expect![[r#"
            impact_window_set {"end":"2024-05-01T09:30:00Z","start":"2024-05-01T09:30:00Z"}
        "#]],
    }

    impact_may_be_set_after_resolving {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", impact(Some("09:30"), Some("10:01"))),
        expect: expect![[r#"
            impact_window_set {"end":"2024-05-01T10:01:00Z","start":"2024-05-01T09:30:00Z"}
        "#]],
    }

    clear_the_impact_window {
        given: [("alice", declare("DB down")), ("alice", impact(Some("09:30"), None))],
        when: ("alice", impact(None, None)),
        expect: expect![[r#"
            impact_window_set {"end":null,"start":null}
        "#]],
    }

    impact_ending_before_it_starts {
        given: [("alice", declare("DB down"))],
        when: ("alice", impact(Some("09:30"), Some("09:10"))),
        expect: expect![[r#"
            rejected invalid_impact_window: impact end 2024-05-01T09:10:00Z is before impact start 2024-05-01T09:30:00Z
        "#]],
    }

    impact_ending_without_a_start {
        given: [("alice", declare("DB down"))],
        when: ("alice", impact(None, Some("09:10"))),
        expect: expect![[r#"
            rejected invalid_impact_window: an impact end needs an impact start
        "#]],
    }

    impact_in_the_future {
        given: [("alice", declare("DB down"))],
        when: ("alice", impact(Some("09:30"), Some("10:30"))),
        expect: expect![[r#"
            rejected invalid_impact_window: 2024-05-01T10:30:00Z is in the future; record impact times once they have happened
        "#]],
    }

    impact_window_unchanged {
        given: [("alice", declare("DB down")), ("alice", impact(Some("09:30"), Some("09:45")))],
        when: ("alice", impact(Some("09:30"), Some("09:45"))),
        expect: expect![[r#"
            rejected nothing_to_change: the impact window is already set to these times
        "#]],
    }

    no_impact_change_once_ended {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "false alarm"))],
        when: ("alice", impact(Some("09:30"), None)),
        expect: expect![[r#"
            rejected incident_ended: the incident is called_off; you can no longer change the impact window
        "#]],
    }

    // ---- timeline: notes, operations, links, evidence ---------------------------------------

    add_a_note {
        given: [("alice", declare("DB down"))],
        when: ("carol", note("replica lag is 40s\nprimary looks fine")),
        expect: expect![[r#"
            note_added {"text":"replica lag is 40s\nprimary looks fine"}
        "#]],
    }

    record_an_operation {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("bob", op("db-primary", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"db-primary"}
        "#]],
    }

    record_an_operation_with_its_command {
        given: [("alice", declare("DB down"))],
        when: ("carol", op_with_command("db-replica-2", "promote to primary", "pg_ctl promote -D /var/lib/pg")),
        expect: expect![[r#"
            operation_recorded {"action":"promote to primary","command":"pg_ctl promote -D /var/lib/pg","target":"db-replica-2"}
        "#]],
    }

    the_commander_does_not_operate {
        given: [("alice", declare("DB down"))],
        when: ("alice", op("db-primary", "restart")),
        expect: expect![[r#"
            rejected ic_cannot_operate: the Incident Commander coordinates and does not perform operations; ask someone in the operations role, or hand off command first
        "#]],
    }

    no_operations_once_ended {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("bob", op("db-primary", "restart")),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed; you can no longer record operations
        "#]],
    }

    add_a_link {
        given: [("alice", declare("DB down"))],
        when: ("alice", link_titled("ticket", "https://tracker.example/T-1", "Customer report")),
        expect: expect![[r#"
            link_added {"kind":"ticket","title":"Customer report","url":"https://tracker.example/T-1"}
        "#]],
    }

    attach_evidence {
        given: [("alice", declare("DB down"))],
        when: ("bob", evidence("pg.log")),
        expect: expect![[r#"
            evidence_attached {"media_type":"text/plain","name":"pg.log","sha256":"abababababababababababababababababababababababababababababababab","size":1234}
        "#]],
    }

    notes_go_on_after_closing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("bob", note("post-mortem reviewed")),
        expect: expect![[r#"
            note_added {"text":"post-mortem reviewed"}
        "#]],
    }

    links_go_on_after_closing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("bob", link("pr", "https://git.example/db/pull/7")),
        expect: expect![[r#"
            link_added {"kind":"pr","title":null,"url":"https://git.example/db/pull/7"}
        "#]],
    }

    evidence_goes_on_after_calling_off {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "false alarm"))],
        when: ("bob", evidence("graph.png")),
        expect: expect![[r#"
            evidence_attached {"media_type":"text/plain","name":"graph.png","sha256":"abababababababababababababababababababababababababababababababab","size":1234}
        "#]],
    }

    // ---- action items -----------------------------------------------------------------------

    add_a_task {
        given: [("alice", declare("DB down"))],
        when: ("alice", add_item_task("restart the replica", "carol")),
        expect: expect![[r#"
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"user":"carol"},"text":"restart the replica","tracker_url":null}
        "#]],
    }

    items_are_numbered_per_incident {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol"))],
        when: ("alice", add_item_follow_up_tracked("alert on replication lag", "role:operations", "2024-06-01", "https://tracker.example/T-2")),
        expect: expect![[r#"
            action_item_added {"due":"2024-06-01","item":2,"kind":"follow_up","owner":{"role":"operations"},"text":"alert on replication lag","tracker_url":"https://tracker.example/T-2"}
        "#]],
    }

    an_item_owned_by_an_unknown_role {
        given: [("alice", declare("DB down"))],
        when: ("alice", add_item_follow_up("alert on replication lag", "role:firefighter")),
        expect: expect![[r#"
            rejected unknown_role: `firefighter` is not a role here; roles are incident_commander, operations, communications, scribe, subject_matter_expert, planning, release_manager, operations_manager
        "#]],
    }

    update_an_item_sends_only_what_changes {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up_tracked("alert on replication lag", "role:operations", "2024-06-01", "https://tracker.example/T-2")),
        ],
        when: ("alice", update_item(1, Some("role:operations"), Some("2024-06-15"), Some("https://tracker.example/T-2"))),
        expect: expect![[r#"
            action_item_updated {"due":"2024-06-15","item":1,"owner":null,"tracker_url":null}
        "#]],
    }

    update_an_item_owner {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "role:operations"))],
        when: ("alice", update_item(1, Some("dave"), None, None)),
        expect: expect![[r#"
            action_item_updated {"due":null,"item":1,"owner":{"user":"dave"},"tracker_url":null}
        "#]],
    }

    update_an_item_with_its_own_values {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up_tracked("alert on replication lag", "bob", "2024-06-01", "https://tracker.example/T-2")),
        ],
        when: ("alice", update_item(1, Some("bob"), Some("2024-06-01"), None)),
        expect: expect![[r#"
            rejected nothing_to_change: action item 1 already has these values
        "#]],
    }

    update_an_item_to_an_unknown_role {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob"))],
        when: ("alice", update_item(1, Some("role:firefighter"), None, None)),
        expect: expect![[r#"
            rejected unknown_role: `firefighter` is not a role here; roles are incident_commander, operations, communications, scribe, subject_matter_expert, planning, release_manager, operations_manager
        "#]],
    }

    update_an_unknown_item {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob"))],
        when: ("alice", update_item(2, Some("carol"), None, None)),
        expect: expect![[r#"
            rejected unknown_action_item: there is no action item 2 on this incident
        "#]],
    }

    complete_an_item {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol"))],
        when: ("carol", complete(1)),
        expect: expect![[r#"
            action_item_completed {"item":1}
        "#]],
    }

    complete_an_unknown_item {
        given: [("alice", declare("DB down"))],
        when: ("carol", complete(1)),
        expect: expect![[r#"
            rejected unknown_action_item: there is no action item 1 on this incident
        "#]],
    }

    complete_a_done_item {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol")), ("carol", complete(1))],
        when: ("carol", complete(1)),
        expect: expect![[r#"
            rejected action_item_state: action item 1 is done; only open items can be marked done
        "#]],
    }

    wont_fix_an_item {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("rewrite the storage layer", "bob"))],
        when: ("bob", wont_fix(1, "not worth it")),
        expect: expect![[r#"
            action_item_wont_fix {"item":1,"reason":"not worth it"}
        "#]],
    }

    wont_fix_a_done_item {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol")), ("carol", complete(1))],
        when: ("carol", wont_fix(1, "changed my mind")),
        expect: expect![[r#"
            rejected action_item_state: action item 1 is done; only open items can be marked won't fix
        "#]],
    }

    reopen_a_done_item {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol")), ("carol", complete(1))],
        when: ("carol", reopen(1)),
        expect: expect![[r#"
            action_item_reopened {"item":1}
        "#]],
    }

    reopen_a_wont_fix_item {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("rewrite the storage layer", "bob")), ("bob", wont_fix(1, "not worth it"))],
        when: ("bob", reopen(1)),
        expect: expect![[r#"
            action_item_reopened {"item":1}
        "#]],
    }

    // ---- follow-ups kept in a tracker ----------------------------------------------------

    export_a_follow_up {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob"))],
        when: ("bob", export(1, "github-platform")),
        expect: expect![[r#"
            action_item_export_requested {"item":1,"tracker":"github-platform"}
        "#]],
    }

    export_a_task_is_refused {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol"))],
        when: ("carol", export(1, "github-platform")),
        expect: expect![[r#"
            rejected action_item_state: action item 1 is a task; only follow-ups are opened in a tracker
        "#]],
    }

    export_an_exported_follow_up_is_refused {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12"))],
        when: ("bob", export(1, "gitlab")),
        expect: expect![[r#"
            rejected already_tracked: follow-up 1 is already kept in tracker `github-platform` as acme/api#12
        "#]],
    }

    record_an_export {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("hereby", record_export(1, "github-platform", "acme/api#12")),
        expect: expect![[r#"
            action_item_exported {"item":1,"key":"acme/api#12","tracker":"github-platform","url":"https://github.com/acme/api/issues/12"}
        "#]],
    }

    only_hereby_records_an_export {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("bob", record_export(1, "github-platform", "acme/api#12")),
        expect: expect![[r#"
            rejected not_permitted: only hereby itself records the issues trackers make
        "#]],
    }

    closing_a_tracked_follow_up_by_hand_is_refused {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12"))],
        when: ("bob", complete(1)),
        expect: expect![[r#"
            rejected tracked_elsewhere: follow-up 1 is kept in tracker `github-platform` as acme/api#12: close it there and hereby follows (or unlink it first)
        "#]],
    }

    closing_a_follow_up_being_exported_is_refused {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("bob", wont_fix(1, "not worth it")),
        expect: expect![[r#"
            rejected tracked_elsewhere: follow-up 1 is being opened in tracker `github-platform`: close it there once it exists (or unlink it first)
        "#]],
    }

    the_tracker_closes_a_follow_up_done {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12"))],
        when: ("hereby", tracker_says(1, "done", None)),
        expect: expect![[r#"
            action_item_completed {"item":1}
        "#]],
    }

    the_tracker_closes_a_follow_up_not_planned {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12"))],
        when: ("hereby", tracker_says(1, "wont_do", Some("closed as not planned in the tracker"))),
        expect: expect![[r#"
            action_item_wont_fix {"item":1,"reason":"closed as not planned in the tracker"}
        "#]],
    }

    the_tracker_switches_done_to_not_planned {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12")), ("hereby", tracker_says(1, "done", None))],
        when: ("hereby", tracker_says(1, "wont_do", None)),
        expect: expect![[r#"
            action_item_reopened {"item":1}
            action_item_wont_fix {"item":1,"reason":"closed as won't do in tracker `github-platform`"}
        "#]],
    }

    the_tracker_reopens_a_follow_up {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12")), ("hereby", tracker_says(1, "done", None))],
        when: ("hereby", tracker_says(1, "open", None)),
        expect: expect![[r#"
            action_item_reopened {"item":1}
        "#]],
    }

    the_tracker_repeating_itself_changes_nothing {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12")), ("hereby", tracker_says(1, "done", None))],
        when: ("hereby", tracker_says(1, "done", None)),
        expect: expect![[r#"
            rejected nothing_to_change: follow-up 1 is already done
        "#]],
    }

    the_tracker_cannot_reopen_a_follow_up_of_a_closed_incident {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12")), ("hereby", tracker_says(1, "done", None)), ("alice", status("resolved")), ("alice", close_override("reviewed in the weekly meeting"))],
        when: ("hereby", tracker_says(1, "open", None)),
        expect: expect![[r#"
            rejected incident_ended: the tracker reopened follow-up 1, but the incident is closed and keeps no open follow-ups; it stays done here
        "#]],
    }

    only_hereby_reports_a_trackers_state {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("bob", tracker_says(1, "done", None)),
        expect: expect![[r#"
            rejected not_permitted: only hereby itself records what trackers report
        "#]],
    }

    unlink_a_follow_up_then_close_it_by_hand {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("hereby", record_export(1, "github-platform", "acme/api#12")), ("bob", unlink(1, "the issue moved to another repository"))],
        when: ("bob", complete(1)),
        expect: expect![[r#"
            action_item_completed {"item":1}
        "#]],
    }

    unlink_an_untracked_follow_up {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob"))],
        when: ("bob", unlink(1, "the tracker is gone")),
        expect: expect![[r#"
            rejected not_tracked: follow-up 1 is not kept in a tracker
        "#]],
    }

    export_again_while_being_opened_is_refused {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("bob", export(1, "gitlab")),
        expect: expect![[r#"
            rejected already_tracked: follow-up 1 is already being opened in tracker `github-platform`; unlink it first to ask again
        "#]],
    }

    an_issue_made_after_unlinking_is_not_recorded {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform")), ("bob", unlink(1, "asked by mistake"))],
        when: ("hereby", record_export(1, "github-platform", "acme/api#12")),
        expect: expect![[r#"
            rejected not_tracked: follow-up 1 is no longer kept in a tracker
        "#]],
    }

    unlink_a_follow_up {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob")), ("bob", export(1, "github-platform"))],
        when: ("bob", unlink(1, "the tracker is gone")),
        expect: expect![[r#"
            action_item_unlinked {"item":1,"reason":"the tracker is gone"}
        "#]],
    }

    reopen_an_open_item {
        given: [("alice", declare("DB down")), ("alice", add_item_task("restart the replica", "carol"))],
        when: ("carol", reopen(1)),
        expect: expect![[r#"
            rejected action_item_state: action item 1 is already open
        "#]],
    }

    reopen_an_unknown_item {
        given: [("alice", declare("DB down"))],
        when: ("carol", reopen(3)),
        expect: expect![[r#"
            rejected unknown_action_item: there is no action item 3 on this incident
        "#]],
    }

    follow_ups_are_finished_after_closing_by_override {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("alice", status("resolved")),
            ("alice", close_override("tracked in the platform backlog")),
        ],
        when: ("bob", complete(1)),
        expect: expect![[r#"
            action_item_completed {"item":1}
        "#]],
    }

    no_follow_up_is_added_after_closing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed; you can no longer add follow-ups
        "#]],
    }

    a_task_is_still_added_after_closing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("alice", add_item_task("archive the dashboards", "bob")),
        expect: expect![[r#"
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"user":"bob"},"text":"archive the dashboards","tracker_url":null}
        "#]],
    }

    no_follow_up_is_reopened_after_closing {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "role:operations")),
            ("bob", complete(1)),
            ("alice", status("resolved")),
            ("alice", close_override("no post-mortem in this story")),
        ],
        when: ("bob", reopen(1)),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed; you can no longer reopen follow-up 1
        "#]],
    }

    follow_ups_are_added_after_calling_off {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "false alarm"))],
        when: ("alice", add_item_follow_up("tune the noisy alert", "role:operations")),
        expect: expect![[r#"
            action_item_added {"due":null,"item":1,"kind":"follow_up","owner":{"role":"operations"},"text":"tune the noisy alert","tracker_url":null}
        "#]],
    }

    // ---- members ----------------------------------------------------------------------------

    add_a_member {
        given: [("alice", declare("DB down"))],
        when: ("alice", add_member("erin")),
        expect: expect![[r#"
            member_added {"person":"erin"}
        "#]],
    }

    add_a_member_twice {
        given: [("alice", declare("DB down")), ("alice", add_member("erin"))],
        when: ("alice", add_member("erin")),
        expect: expect![[r#"
            rejected already_member: erin is already a member
        "#]],
    }

    a_role_holder_may_also_be_added_as_member {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", add_member("bob")),
        expect: expect![[r#"
            member_added {"person":"bob"}
        "#]],
    }

    remove_a_member {
        given: [("alice", declare("DB down")), ("alice", add_member("erin"))],
        when: ("alice", remove_member("erin")),
        expect: expect![[r#"
            member_removed {"person":"erin"}
        "#]],
    }

    a_role_holder_is_not_removed_as_member {
        given: [("alice", declare("DB down")), ("alice", assign("operations", "bob"))],
        when: ("alice", remove_member("bob")),
        expect: expect![[r#"
            rejected not_member: bob was not added as a member (role holders are members through their role)
        "#]],
    }

    post_an_update_to_customers {
        given: [("alice", declare("DB down"))],
        when: ("bob", post_update("customers", "Checkout is slow; we are on it.", false)),
        expect: expect![[r#"
            update_posted {"audience":"customers","body":"Checkout is slow; we are on it.","public":false}
        "#]],
    }

    an_update_for_customers_with_template_hints_left_is_refused {
        given: [("alice", declare("DB down"))],
        when: ("alice", post_update("customers", "Changed: <describe what was tried>. Back at <time, UTC>; see <https://status.example.com>.", false)),
        expect: expect![[r#"
            rejected unfilled_placeholders: this update for customers still holds what the template left for you to fill in: <describe what was tried>, <time, UTC>; replace each with the real words and post it again
        "#]],
    }

    // ---- alerts ------------------------------------------------------------------------------

    an_incident_the_system_opened_has_no_commander_until_someone_takes_command {
        given: [("hereby", declare("HighLatency checkout"))],
        when: ("alice", Command::TakeCommand),
        expect: expect![[r#"
            role_assigned {"person":"alice","role":"incident_commander"}
        "#]],
    }

    taking_command_where_someone_commands_is_refused {
        given: [("alice", declare("DB down"))],
        when: ("bob", Command::TakeCommand),
        expect: expect![[r#"
            rejected use_handoff: alice commands this incident; command changes hands only by hand-off: ask alice to hand it to you
        "#]],
    }

    the_operator_does_not_take_command {
        given: [("hereby", declare("HighLatency checkout")), ("hereby", assign("operations", "olga"))],
        when: ("olga", Command::TakeCommand),
        expect: expect![[r#"
            rejected ic_cannot_operate: olga holds Operations, and the Incident Commander coordinates rather than operates; leave Operations first
        "#]],
    }

    a_route_in_triage_mode_declares_a_candidate {
        given: [],
        when: ("hereby", declare_candidate("HighLatency checkout")),
        expect: expect![[r#"
            incident_declared {"commander":"hereby","potential":false,"services":[],"severity":"SEV2","summary":null,"title":"HighLatency checkout","triage":true,"visibility":"internal"}
        "#]],
    }

    accepting_a_candidate_makes_it_an_incident_led_by_who_accepted {
        given: [("hereby", declare_candidate("HighLatency checkout"))],
        when: ("alice", Command::AcceptCandidate),
        expect: expect![[r#"
            status_changed {"from":"triage","reason":null,"to":"investigating"}
            role_assigned {"person":"alice","role":"incident_commander"}
        "#]],
    }

    an_operator_who_accepts_a_candidate_leaves_operations_to_lead {
        given: [("hereby", declare_candidate("HighLatency checkout")), ("hereby", assign("operations", "olga"))],
        when: ("olga", Command::AcceptCandidate),
        expect: expect![[r#"
            status_changed {"from":"triage","reason":null,"to":"investigating"}
            role_unassigned {"person":"olga","role":"operations"}
            role_assigned {"person":"olga","role":"incident_commander"}
        "#]],
    }

    declining_a_candidate_keeps_the_reason {
        given: [("hereby", declare_candidate("HighLatency checkout"))],
        when: ("alice", Command::DeclineCandidate { reason: reason("a load test, announced") }),
        expect: expect![[r#"
            status_changed {"from":"triage","reason":"a load test, announced","to":"declined"}
        "#]],
    }

    merging_a_candidate_names_the_other_incident {
        given: [("hereby", declare_candidate("HighLatency checkout"))],
        when: ("alice", Command::MergeCandidate { into: hereby_core::types::IncidentNumber(7) }),
        expect: expect![[r#"
            incident_merged {"into":7}
            status_changed {"from":"triage","reason":"merged into INC-7","to":"merged"}
        "#]],
    }

    only_a_candidate_is_accepted_declined_or_merged {
        given: [("alice", declare("DB down"))],
        when: ("bob", Command::AcceptCandidate),
        expect: expect![[r#"
            rejected not_candidate: only a candidate from alerts can be accepted; this incident is investigating
        "#]],
    }

    a_declined_candidate_stays_declined {
        given: [("hereby", declare_candidate("HighLatency checkout")), ("alice", Command::DeclineCandidate { reason: reason("noise") })],
        when: ("bob", Command::MergeCandidate { into: hereby_core::types::IncidentNumber(7) }),
        expect: expect![[r#"
            rejected not_candidate: only a candidate from alerts can be merged; this incident is declined
        "#]],
    }

    a_candidate_moves_only_by_triage {
        given: [("hereby", declare_candidate("HighLatency checkout"))],
        when: ("alice", status("resolved")),
        expect: expect![[r#"
            rejected invalid_transition: cannot go from triage to resolved; a candidate from alerts is accepted, declined or merged first (hereby triage accept|decline|merge)
        "#]],
    }

    a_candidate_is_accepted_rather_than_commanded {
        given: [("hereby", declare_candidate("HighLatency checkout"))],
        when: ("alice", Command::TakeCommand),
        expect: expect![[r#"
            rejected invalid_transition: this is a candidate from alerts: accept it to lead it (you become Incident Commander), or decline or merge it
        "#]],
    }

    attach_an_alert_group {
        given: [("hereby", declare("HighLatency checkout"))],
        when: ("hereby", attach(7)),
        expect: expect![[r#"
            alert_group_attached {"group":{"id":7,"label":"alertname=\"HighLatency\", service=\"checkout\"","route":"default","title":"HighLatency checkout","why":"grouped by route default, window 30m, extending up to 2d"}}
        "#]],
    }

    attaching_a_group_twice_changes_nothing {
        given: [("alice", declare("DB down")), ("alice", attach(7))],
        when: ("bob", attach(7)),
        expect: expect![[r#"
            rejected nothing_to_change: alert group 7 is attached already
        "#]],
    }

    the_system_notes_what_attached_alerts_did {
        given: [("alice", declare("DB down")), ("alice", attach(7))],
        when: ("hereby", note_alerts(7, &["HighLatency checkout-eu"], &["HighLatency checkout"], false)),
        expect: expect![[r#"
            alerts_noted {"all_resolved":false,"fired":["HighLatency checkout-eu"],"group":7,"resolved":["HighLatency checkout"]}
        "#]],
    }

    only_the_system_notes_alerts {
        given: [("alice", declare("DB down")), ("alice", attach(7))],
        when: ("alice", note_alerts(7, &["made up"], &[], false)),
        expect: expect![[r#"
            rejected not_permitted: only hereby itself notes what alerts did, as they arrive
        "#]],
    }

    alerts_of_a_group_not_attached_are_not_noted {
        given: [("alice", declare("DB down"))],
        when: ("hereby", note_alerts(3, &["x"], &[], false)),
        expect: expect![[r#"
            rejected nothing_to_change: alert group 3 is not attached to this incident
        "#]],
    }

    write_the_public_summary {
        given: [("alice", declare("DB down"))],
        when: ("alice", public_summary(Some("Some payments fail; please retry later."))),
        expect: expect![[r#"
            public_summary_set {"text":"Some payments fail; please retry later."}
        "#]],
    }

    a_public_summary_with_template_hints_left_is_refused {
        given: [("alice", declare("DB down"))],
        when: ("alice", public_summary(Some("<describe what customers notice, in their words>"))),
        expect: expect![[r#"
            rejected unfilled_placeholders: the public summary is for customers but still holds what a template left for you to fill in: <describe what customers notice, in their words>; replace each with the real words
        "#]],
    }

    a_declaration_with_template_hints_in_its_public_summary_is_refused {
        given: [],
        when: ("alice", declare_with_public_summary("DB down", "Payments fail since <time, UTC>")),
        expect: expect![[r#"
            rejected unfilled_placeholders: the public summary is for customers but still holds what a template left for you to fill in: <time, UTC>; replace each with the real words
        "#]],
    }

    the_same_public_summary_again_changes_nothing {
        given: [("alice", declare_with_public_summary("DB down", "Payments fail."))],
        when: ("alice", public_summary(Some("Payments fail."))),
        expect: expect![[r#"
            rejected nothing_to_change: the public summary already reads like this
        "#]],
    }

    clear_the_public_summary {
        given: [("alice", declare_with_public_summary("DB down", "Payments fail."))],
        when: ("alice", public_summary(None)),
        expect: expect![[r#"
            public_summary_set {"text":null}
        "#]],
    }

    clearing_a_public_summary_that_is_not_there_changes_nothing {
        given: [("alice", declare("DB down"))],
        when: ("alice", public_summary(None)),
        expect: expect![[r#"
            rejected nothing_to_change: the incident has no public summary to clear
        "#]],
    }

    an_internal_update_may_keep_hints {
        given: [("alice", declare("DB down"))],
        when: ("alice", post_update("internal", "Next: <who restarts the primary?>", false)),
        expect: expect![[r#"
            update_posted {"audience":"internal","body":"Next: <who restarts the primary?>","public":false}
        "#]],
    }

    a_public_update_needs_a_public_incident {
        given: [("alice", declare("DB down"))],
        when: ("alice", post_update("customers", "Checkout is slow.", true)),
        expect: expect![[r#"
            rejected not_public: the incident is internal, so a public update would not be shown; make it public first
        "#]],
    }

    a_public_update_on_a_public_incident {
        given: [("alice", declare("DB down")), ("alice", visibility("public", "customers notice it"))],
        when: ("alice", post_update("group:status-subscribers", "Checkout is slow.", true)),
        expect: expect![[r#"
            update_posted {"audience":"group:status-subscribers","body":"Checkout is slow.","public":true}
        "#]],
    }

    make_an_incident_public {
        given: [("alice", declare("DB down"))],
        when: ("alice", visibility("public", "customers notice it")),
        expect: expect![[r#"
            visibility_changed {"from":"internal","reason":"customers notice it","to":"public"}
        "#]],
    }

    visibility_must_change {
        given: [("alice", declare("DB down"))],
        when: ("alice", visibility("internal", "no reason")),
        expect: expect![[r#"
            rejected visibility_unchanged: the incident is already internal
        "#]],
    }

    members_are_added_after_closing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", close_override("no post-mortem in this story"))],
        when: ("alice", add_member("erin")),
        expect: expect![[r#"
            member_added {"person":"erin"}
        "#]],
    }

    // ---- post-mortem ------------------------------------------------------------------------

    draft_the_postmortem_once_resolved {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("bob", draft()),
        expect: expect![[r##"
            postmortem_drafted {"body":"# Draft\n\nWritten from the timeline.","owner":"alice","template":"full"}
        "##]],
    }

    a_called_off_incident_can_have_a_postmortem {
        given: [("alice", declare("DB down")), ("alice", status_with_reason("called_off", "a test alert"))],
        when: ("alice", draft()),
        expect: expect![[r##"
            postmortem_drafted {"body":"# Draft\n\nWritten from the timeline.","owner":"alice","template":"full"}
        "##]],
    }

    no_postmortem_while_the_response_goes_on {
        given: [("alice", declare("DB down")), ("alice", status("monitoring"))],
        when: ("alice", draft()),
        expect: expect![[r#"
            rejected incident_active: the incident is monitoring; draft the post-mortem once it is resolved or called off
        "#]],
    }

    only_one_draft {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", draft()),
        expect: expect![[r#"
            rejected postmortem_exists: the post-mortem already exists (revision 1, draft); edit it instead
        "#]],
    }

    revise_the_draft {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", revise("# Better draft", Some(1))),
        expect: expect![[r##"
            postmortem_revised {"body":"# Better draft","comment":null,"revision":2}
        "##]],
    }

    a_stale_edit_is_refused {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("bob", revise("# Bob's edit", None))],
        when: ("carol", revise("# Carol's edit", Some(1))),
        expect: expect![[r#"
            rejected stale_revision: you edited revision 1, but revision 2 was saved since (by bob); merge your change into it
        "#]],
    }

    nothing_to_edit_before_the_draft {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("bob", revise("# Text", None)),
        expect: expect![[r#"
            rejected no_postmortem: there is no post-mortem yet; draft one first
        "#]],
    }

    the_owner_submits {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("alice", submit()),
        expect: expect![[r#"
            postmortem_submitted {"revision":1}
        "#]],
    }

    only_the_owner_submits {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", submit()),
        expect: expect![[r#"
            rejected not_review_owner: only the review owner (alice) can submit it for review
        "#]],
    }

    the_owner_delegates_the_review {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("alice", delegate_review("dave")),
        expect: expect![[r#"
            postmortem_owner_changed {"from":"alice","to":"dave"}
        "#]],
    }

    delegating_to_the_owner_changes_nothing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("alice", delegate_review("alice")),
        expect: expect![[r#"
            rejected nothing_to_change: alice already owns the review
        "#]],
    }

    a_reviewer_comments {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit())],
        when: ("bob", comment("The impact start is the first alert, not the first report.")),
        expect: expect![[r#"
            postmortem_commented {"revision":1,"text":"The impact start is the first alert, not the first report."}
        "#]],
    }

    a_postmortem_is_filed_under_tags_even_once_published {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", tag_postmortem(&["Database", "capacity", "database"], &["missing-alert"])),
        expect: expect![[r#"
            postmortem_tagged {"factors":["missing-alert"],"tags":["capacity","database"]}
        "#]],
    }

    filing_under_the_same_tags_changes_nothing {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", tag_postmortem(&["database"], &[]))],
        when: ("bob", tag_postmortem(&["database"], &[])),
        expect: expect![[r#"
            rejected nothing_to_change: the post-mortem is already filed under these tags and factors
        "#]],
    }

    a_postmortem_has_at_most_twenty_tags {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", tag_postmortem(&["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17", "t18", "t19", "t20", "t21"], &[])),
        expect: expect![[r#"
            rejected too_many_tags: a post-mortem is filed under at most 20 tags, not 21
        "#]],
    }

    tags_need_a_postmortem {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("bob", tag_postmortem(&["database"], &[])),
        expect: expect![[r#"
            rejected no_postmortem: there is no post-mortem yet; draft one first
        "#]],
    }

    a_reviewer_approves {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit())],
        when: ("bob", approve()),
        expect: expect![[r#"
            postmortem_approved {"revision":1}
        "#]],
    }

    approving_needs_a_submitted_postmortem {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft())],
        when: ("bob", approve()),
        expect: expect![[r#"
            rejected postmortem_state: the post-mortem is a draft; only a post-mortem in review can be approved
        "#]],
    }

    the_owner_cannot_approve {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit())],
        when: ("alice", approve()),
        expect: expect![[r#"
            rejected owner_cannot_approve: the review owner cannot approve their own review; ask a reviewer to approve
        "#]],
    }

    one_approval_per_reviewer_and_revision {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve())],
        when: ("bob", approve()),
        expect: expect![[r#"
            rejected already_approved: you already approved revision 1
        "#]],
    }

    an_edit_clears_approvals {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("carol", revise("# Fixed the impact start", None))],
        when: ("alice", mark_reviewed()),
        expect: expect![[r#"
            rejected approval_required: no reviewer besides the owner has approved revision 2 yet; a reviewer must approve it first
        "#]],
    }

    the_owner_marks_it_reviewed_after_an_approval {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve())],
        when: ("alice", mark_reviewed()),
        expect: expect![[r#"
            postmortem_reviewed {"revision":1}
        "#]],
    }

    findings_the_linter_still_has_stop_the_review {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve())],
        when: ("alice", Command::MarkPostmortemReviewed { gate: gate(&["line 3: `dave dropped the ball` blames a person", "line 9: `<describe the impact>` is still to be filled in"], None) }),
        expect: expect![[r#"
            rejected postmortem_findings: the post-mortem cannot be marked reviewed while the linter still finds 2 things in it: line 3: `dave dropped the ball` blames a person; line 9: `<describe the impact>` is still to be filled in. Rewrite them, or go ahead with a reason that is kept on the timeline
        "#]],
    }

    the_owner_may_go_ahead_over_findings_with_a_reason {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve())],
        when: ("alice", Command::MarkPostmortemReviewed { gate: gate(&["line 3: `dave` is a real name"], Some("dave asked to be named")) }),
        expect: expect![[r#"
            postmortem_reviewed {"overridden":{"findings":1,"reason":"dave asked to be named"},"revision":1}
        "#]],
    }

    publishing_is_gated_the_same_way {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("alice", mark_reviewed())],
        when: ("alice", Command::PublishPostmortem { gate: gate(&["line 9: `<describe the impact>` is still to be filled in"], None) }),
        expect: expect![[r#"
            rejected postmortem_findings: the post-mortem cannot be published while the linter still finds 1 thing in it: line 9: `<describe the impact>` is still to be filled in. Rewrite them, or go ahead with a reason that is kept on the timeline
        "#]],
    }

    a_delegated_owner_runs_the_review {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", delegate_review("dave")), ("dave", submit()), ("alice", approve())],
        when: ("dave", mark_reviewed()),
        expect: expect![[r#"
            postmortem_reviewed {"revision":1}
        "#]],
    }

    publish_a_reviewed_postmortem {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("alice", mark_reviewed())],
        when: ("alice", publish()),
        expect: expect![[r#"
            postmortem_published {"revision":1}
        "#]],
    }

    a_published_postmortem_no_longer_changes {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("alice", mark_reviewed()), ("alice", publish())],
        when: ("bob", revise("# Late edit", None)),
        expect: expect![[r#"
            rejected postmortem_state: the post-mortem is published and no longer changes
        "#]],
    }

    closing_needs_a_reviewed_postmortem {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit())],
        when: ("alice", status("closed")),
        expect: expect![[r#"
            rejected postmortem_not_reviewed: the post-mortem is still in review; an incident closes once its post-mortem is reviewed, or with an explicit override and a reason
        "#]],
    }

    closing_without_a_postmortem_by_override {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", close_override("a duplicate of INC-3, reviewed there")),
        expect: expect![[r#"
            status_changed {"from":"resolved","overrode_postmortem":true,"reason":"a duplicate of INC-3, reviewed there","to":"closed"}
        "#]],
    }

    star_a_timeline_entry {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("bob", mark_entry(2, "starred")),
        expect: expect![[r#"
            timeline_entry_marked {"mark":"starred","sequence":2}
        "#]],
    }

    no_such_timeline_entry {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("bob", mark_entry(9, "excluded")),
        expect: expect![[r#"
            rejected unknown_timeline_entry: there is no timeline entry #9; entries are numbered 1 to 3
        "#]],
    }

    an_approval_by_the_new_owner_does_not_count {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("alice", delegate_review("bob"))],
        when: ("bob", mark_reviewed()),
        expect: expect![[r#"
            rejected approval_required: no reviewer besides the owner has approved revision 1 yet; a reviewer must approve it first
        "#]],
    }

    a_restricted_review_stays_with_members {
        given: [("alice", declare_full("Leaked key", "a key was pushed", hereby_core::types::Severity::Sev2, false, &[], hereby_core::types::Visibility::Restricted)), ("alice", status("resolved")), ("alice", draft())],
        when: ("alice", delegate_review("mallory")),
        expect: expect![[r#"
            rejected not_member: mallory is not a member of this restricted incident; add them as a member first
        "#]],
    }

    a_closed_incidents_postmortem_no_longer_changes {
        given: [("alice", declare("DB down")), ("alice", status("resolved")), ("alice", draft()), ("alice", submit()), ("bob", approve()), ("alice", mark_reviewed()), ("alice", status("closed"))],
        when: ("bob", revise("# After closing", None)),
        expect: expect![[r#"
            rejected incident_ended: the incident is closed on this reviewed post-mortem, which no longer changes
        "#]],
    }

    // ---- review meetings --------------------------------------------------------------------

    resolving_schedules_the_first_review_meeting {
        given: [("alice", declare("DB down")), ("alice", add_item_follow_up("alert on replication lag", "bob"))],
        when: ("alice", status("resolved")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":null,"to":"resolved"}
            review_meeting_scheduled {"at":"2024-05-31T10:00:00Z","meeting":1}
        "#]],
    }

    move_the_next_meeting {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", schedule_meeting("2024-06-03T15:00")),
        expect: expect![[r#"
            review_meeting_scheduled {"at":"2024-06-03T15:00:00Z","meeting":1}
        "#]],
    }

    a_meeting_is_not_set_in_the_past {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", schedule_meeting("2024-04-01T15:00")),
        expect: expect![[r#"
            rejected invalid_review_meeting: 2024-04-01T15:00:00Z is not in the future
        "#]],
    }

    a_meeting_recorded_afterwards_keeps_when_it_took_place {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "bob")),
            ("alice", status("resolved")),
        ],
        when: ("alice", held_at(record_meeting(&["alice", "bob"], &[(1, "done", "")]), "2024-05-01T10:02:30Z")),
        expect: expect![[r#"
            review_meeting_held {"attendees":["alice","bob"],"held_at":"2024-05-01T10:02:30Z","meeting":1,"notes":null,"outcomes":[{"decision":"done","due":null,"item":1,"reason":null}]}
            action_item_completed {"item":1}
        "#]],
    }

    a_meeting_cannot_be_recorded_in_the_future_or_before_the_resolution {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "bob")),
            ("alice", status("resolved")),
        ],
        when: ("alice", held_at(record_meeting(&["alice", "bob"], &[(1, "done", "")]), "2024-05-01T10:01:00Z")),
        expect: expect![[r#"
            rejected invalid_review_meeting: 2024-05-01T10:01:00Z is before the incident was resolved; review meetings follow the resolution
        "#]],
    }

    a_meeting_with_open_follow_ups_schedules_the_next {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "bob")),
            ("alice", add_item_follow_up("document failover", "carol")),
            ("alice", add_item_follow_up("rewrite the storage layer", "dave")),
            ("alice", status("resolved")),
        ],
        when: ("alice", record_meeting(&["alice", "bob", "carol"], &[(1, "done", ""), (2, "open", "2024-07-01"), (3, "wont_fix", "replaced by the new cluster")])),
        expect: expect![[r#"
            review_meeting_held {"attendees":["alice","bob","carol"],"meeting":1,"notes":null,"outcomes":[{"decision":"done","due":null,"item":1,"reason":null},{"decision":"open","due":"2024-07-01","item":2,"reason":null},{"decision":"wont_fix","due":null,"item":3,"reason":"replaced by the new cluster"}]}
            action_item_completed {"item":1}
            action_item_updated {"due":"2024-07-01","item":2,"owner":null,"tracker_url":null}
            action_item_wont_fix {"item":3,"reason":"replaced by the new cluster"}
            review_meeting_scheduled {"at":"2024-05-31T10:00:00Z","meeting":2}
        "#]],
    }

    the_last_meeting_schedules_no_other {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "bob")),
            ("alice", status("resolved")),
        ],
        when: ("alice", record_meeting(&["alice", "bob"], &[(1, "done", "")])),
        expect: expect![[r#"
            review_meeting_held {"attendees":["alice","bob"],"meeting":1,"notes":null,"outcomes":[{"decision":"done","due":null,"item":1,"reason":null}]}
            action_item_completed {"item":1}
        "#]],
    }

    a_meeting_needs_attendees {
        given: [("alice", declare("DB down")), ("alice", status("resolved"))],
        when: ("alice", record_meeting(&[], &[])),
        expect: expect![[r#"
            rejected invalid_review_meeting: name who attended the meeting
        "#]],
    }

    still_open_needs_a_new_due_date {
        given: [
            ("alice", declare("DB down")),
            ("alice", add_item_follow_up("alert on replication lag", "bob")),
            ("alice", status("resolved")),
        ],
        when: ("alice", record_meeting(&["alice"], &[(1, "open", "")])),
        expect: expect![[r#"
            rejected invalid_review_meeting: follow-up 1 stays open: give it a new due date
        "#]],
    }

    meetings_follow_resolved_incidents_only {
        given: [("alice", declare("DB down"))],
        when: ("alice", record_meeting(&["alice"], &[])),
        expect: expect![[r#"
            rejected invalid_review_meeting: review meetings follow a resolved incident until it is closed; this one is investigating
        "#]],
    }
    // ---- intents, witnesses and change collisions ----------------------------------------

    operation_names_its_witness {
        given: [("alice", declare("DB down"))],
        when: ("bob", op_witnessed("mysql-primary", "restart", "carol")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"mysql-primary","witness":"carol"}
        "#]],
    }

    nobody_witnesses_their_own_change {
        given: [("alice", declare("DB down"))],
        when: ("bob", op_witnessed("mysql-primary", "restart", "bob")),
        expect: expect![[r#"
            rejected witness_is_actor: a witness is a second person who agreed to the change; name someone other than yourself
        "#]],
    }

    the_commander_requires_witnesses {
        given: [("alice", declare("DB down"))],
        when: ("alice", require_witness(true)),
        expect: expect![[r#"
            witness_rule_changed {"required":true}
        "#]],
    }

    only_the_commander_sets_the_witness_rule {
        given: [("alice", declare("DB down"))],
        when: ("bob", require_witness(true)),
        expect: expect![[r#"
            rejected not_incident_commander: only the Incident Commander (alice) can change the witness rule
        "#]],
    }

    witness_rule_unchanged_is_refused {
        given: [("alice", declare("DB down"))],
        when: ("alice", require_witness(false)),
        expect: expect![[r#"
            rejected nothing_to_change: operations already need no witness
        "#]],
    }

    unwitnessed_operation_on_sev1_is_refused_when_required {
        given: [
            ("alice", declare("DB down")),
            ("alice", severity("SEV1", false, "all logins fail")),
            ("alice", require_witness(true)),
        ],
        when: ("bob", op("mysql-primary", "restart")),
        expect: expect![[r#"
            rejected witness_required: on this SEV1 incident the Incident Commander requires a witness for every operation: name the person who agreed to the change and watches it being made
        "#]],
    }

    witnessed_operation_on_sev1_passes_when_required {
        given: [
            ("alice", declare("DB down")),
            ("alice", severity("SEV1", false, "all logins fail")),
            ("alice", require_witness(true)),
        ],
        when: ("bob", op_witnessed("mysql-primary", "restart", "carol")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"mysql-primary","witness":"carol"}
        "#]],
    }

    witness_rule_does_not_apply_below_sev2 {
        given: [
            ("alice", declare("DB down")),
            ("alice", require_witness(true)),
            ("alice", severity("SEV3", false, "one report only")),
        ],
        when: ("bob", op("mysql-primary", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"mysql-primary"}
        "#]],
    }

    announce_an_intent {
        given: [("alice", declare("DB down"))],
        when: ("bob", intent_witnessed("mysql-primary", "about to restart the MySQL primary", "carol")),
        expect: expect![[r#"
            intent_announced {"action":"about to restart the MySQL primary","intent":1,"target":"mysql-primary","witness":"carol"}
        "#]],
    }

    the_commander_does_not_announce_changes {
        given: [("alice", declare("DB down"))],
        when: ("alice", intent("mysql-primary", "restart")),
        expect: expect![[r#"
            rejected ic_cannot_operate: the Incident Commander coordinates and does not perform operations; ask someone in the operations role, or hand off command first
        "#]],
    }

    intent_done_becomes_the_operation_with_its_witness {
        given: [
            ("alice", declare("DB down")),
            ("alice", require_witness(true)),
            ("alice", severity("SEV1", false, "all logins fail")),
            ("bob", intent_witnessed("mysql-primary", "restart the primary", "carol")),
        ],
        when: ("bob", intent_done(1)),
        expect: expect![[r#"
            operation_recorded {"action":"restart the primary","command":"systemctl restart mysql","intent":1,"target":"mysql-primary","witness":"carol"}
        "#]],
    }

    abandon_an_intent {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
        ],
        when: ("bob", intent_abandoned(1)),
        expect: expect![[r#"
            intent_abandoned {"intent":1,"reason":"replica caught up by itself"}
        "#]],
    }

    the_commander_can_abandon_any_intent {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
        ],
        when: ("alice", intent_abandoned(1)),
        expect: expect![[r#"
            intent_abandoned {"intent":1,"reason":"replica caught up by itself"}
        "#]],
    }

    only_the_announcer_carries_out_an_intent {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
        ],
        when: ("carol", intent_done(1)),
        expect: expect![[r#"
            rejected not_intent_owner: intent 1 was announced by bob; only they can carry it out (announce your own intent instead)
        "#]],
    }

    a_done_intent_is_not_done_again {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
            ("bob", intent_done(1)),
        ],
        when: ("bob", intent_abandoned(1)),
        expect: expect![[r#"
            rejected intent_state: intent 1 is already done; only open intents can be marked abandoned
        "#]],
    }

    unknown_intent {
        given: [("alice", declare("DB down"))],
        when: ("bob", intent_done(3)),
        expect: expect![[r#"
            rejected unknown_intent: there is no intent 3 on this incident
        "#]],
    }

    same_person_changing_twice_is_no_collision {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "restart")),
        ],
        when: ("bob", op("mysql-replica", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"mysql-replica"}
        "#]],
    }

    two_people_changing_in_one_window_collide {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
        ],
        when: ("carol", op("api", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"api"}
            change_collision {"collision":1,"earlier":2,"earlier_by":"bob","earlier_target":"mysql-primary","later":3,"target":"api"}
        "#]],
    }

    an_overlapping_intent_is_flagged_before_the_change {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
        ],
        when: ("carol", intent("api", "restart the API pods")),
        expect: expect![[r#"
            intent_announced {"action":"restart the API pods","intent":1,"target":"api","witness":null}
            change_collision {"collision":1,"earlier":2,"earlier_by":"bob","earlier_target":"mysql-primary","later":3,"target":"api"}
        "#]],
    }

    carrying_out_a_flagged_intent_does_not_flag_it_again {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
            ("carol", intent("api", "restart the API pods")),
        ],
        when: ("carol", intent_done(1)),
        expect: expect![[r#"
            operation_recorded {"action":"restart the API pods","command":"systemctl restart mysql","intent":1,"target":"api"}
        "#]],
    }

    an_abandoned_intent_collides_with_nothing {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "raise max_connections")),
            ("bob", intent_abandoned(1)),
        ],
        when: ("carol", op("api", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"api"}
        "#]],
    }

    acknowledged_in_between_is_no_collision {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
            ("alice", acknowledge_changes()),
        ],
        when: ("carol", op("api", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"api"}
        "#]],
    }

    changes_outside_the_window_do_not_collide {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
            ("alice", note("1")), ("alice", note("2")), ("alice", note("3")),
            ("alice", note("4")), ("alice", note("5")), ("alice", note("6")),
            ("alice", note("7")), ("alice", note("8")), ("alice", note("9")),
            ("alice", note("10")),
        ],
        when: ("carol", op("api", "restart")),
        expect: expect![[r#"
            operation_recorded {"action":"restart","command":null,"target":"api"}
        "#]],
    }

    the_commander_acknowledges_a_collision {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
            ("carol", op("api", "restart")),
        ],
        when: ("alice", acknowledge_changes()),
        expect: expect![[r#"
            changes_acknowledged {"collisions":[1]}
        "#]],
    }

    nothing_to_acknowledge {
        given: [("alice", declare("DB down"))],
        when: ("alice", acknowledge_changes()),
        expect: expect![[r#"
            rejected nothing_to_change: no change or collision since the last acknowledgement
        "#]],
    }

    recovery_within_a_collision_window_is_unattributed {
        given: [
            ("alice", declare("DB down")),
            ("bob", op("mysql-primary", "raise max_connections")),
            ("carol", op("api", "restart")),
        ],
        when: ("alice", status("monitoring")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":null,"to":"monitoring"}
            recovery_unattributed {"collisions":[1]}
        "#]],
    }

    the_commanders_operation_attempt_is_recorded {
        given: [("alice", declare("DB down"))],
        when: ("alice", operation_attempt("mysql-primary", "restart")),
        expect: expect![[r#"
            ic_operation_attempted {"action":"restart","target":"mysql-primary"}
        "#]],
    }

    only_the_commanders_attempt_is_recorded {
        given: [("alice", declare("DB down"))],
        when: ("bob", operation_attempt("mysql-primary", "restart")),
        expect: expect![[r#"
            rejected not_incident_commander: only an attempt by the Incident Commander to do operations work is recorded
        "#]],
    }

    // ---- severity checklist ---------------------------------------------------------------

    evaluation_takes_the_suggestion {
        given: [("alice", declare("Logins fail"))],
        when: ("bob", evaluate(checklist(true, Some(40), &["eu-west"], &["sso:critical", "api:high"], (true, false, false)), None, None)),
        expect: expect![[r#"
            severity_evaluated {"checklist":{"availability":true,"data_loss_or_security":false,"live":true,"services":[{"criticality":"high","service":"api"},{"criticality":"critical","service":"sso"}],"sites":["eu-west"],"users_affected":40,"users_estimated":false,"workaround":false},"chosen":"SEV1","reason":null,"rule":"critical service unavailable without a workaround","suggested":"SEV1"}
            severity_changed {"from":"SEV2","potential":false,"reason":"checklist, rule “critical service unavailable without a workaround”","to":"SEV1"}
        "#]],
    }

    choosing_other_than_the_suggestion_needs_a_reason {
        given: [("alice", declare("Logins fail"))],
        when: ("bob", evaluate(checklist(true, Some(40), &[], &["api:normal"], (true, false, true)), Some("SEV1"), None)),
        expect: expect![[r#"
            rejected reason_required: the rules suggest SEV3 (rule “users affected”); choosing SEV1 instead needs a reason
        "#]],
    }

    choosing_other_than_the_suggestion_with_a_reason {
        given: [("alice", declare("Logins fail"))],
        when: ("bob", evaluate(checklist(true, Some(40), &[], &["api:normal"], (true, false, true)), Some("SEV2"), Some("the CEO is among them"))),
        expect: expect![[r#"
            severity_evaluated {"checklist":{"availability":true,"data_loss_or_security":false,"live":true,"services":[{"criticality":"normal","service":"api"}],"sites":[],"users_affected":40,"users_estimated":false,"workaround":true},"chosen":"SEV2","reason":"the CEO is among them","rule":"users affected","suggested":"SEV3"}
        "#]],
    }

    // ---- releases and the follow-up decision ---------------------------------------------

    name_the_suspect_release {
        given: [("alice", declare("Logins fail"))],
        when: ("bob", suspect("api", "3.4.1")),
        expect: expect![[r#"
            suspect_release_set {"reason":null,"release":{"service":"api","version":"3.4.1"}}
        "#]],
    }

    suspect_release_unchanged {
        given: [("alice", declare("Logins fail")), ("bob", suspect("api", "3.4.1"))],
        when: ("bob", suspect("api", "3.4.1")),
        expect: expect![[r#"
            rejected nothing_to_change: api 3.4.1 is already the suspect release
        "#]],
    }

    decide_to_do_nothing {
        given: [("alice", declare("Logins fail"))],
        when: ("alice", decision("do_nothing", None, None)),
        expect: expect![[r#"
            decision_recorded {"decision":1,"items":[1,2],"motivation":"the least disruptive step that restores service","option":"do_nothing","roll_back_to":null}
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"role":"incident_commander"},"text":"Open a support ticket that carries what is known","tracker_url":null}
            action_item_added {"due":null,"item":2,"kind":"task","owner":{"role":"incident_commander"},"text":"Hand the incident back to normal support, naming the ticket","tracker_url":null}
        "#]],
    }

    decide_to_broadcast {
        given: [("alice", declare("Logins fail"))],
        when: ("alice", decision("information_broadcast", None, None)),
        expect: expect![[r#"
            decision_recorded {"decision":1,"items":[1,2,3],"motivation":"the least disruptive step that restores service","option":"information_broadcast","roll_back_to":null}
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"role":"operations_manager"},"text":"Agree the broadcast's audience and the workaround it describes","tracker_url":null}
            action_item_added {"due":null,"item":2,"kind":"task","owner":{"role":"communications"},"text":"Send the information broadcast to the affected users","tracker_url":null}
            action_item_added {"due":null,"item":3,"kind":"task","owner":{"role":"incident_commander"},"text":"Resolve the incident once the broadcast is out and support knows the workaround","tracker_url":null}
        "#]],
    }

    roll_back_without_a_suspect_release_is_not_applicable {
        given: [("alice", declare("Logins fail"))],
        when: ("alice", decision("roll_back", Some("3.4.1"), Some("3.4.0"))),
        expect: expect![[r#"
            rejected rollback_not_applicable: No suspect release is named: a roll-back only helps when the latest release introduced the fault. Name the suspect release first.
        "#]],
    }

    roll_back_of_a_latent_fault_is_not_applicable {
        given: [("alice", declare("Logins fail")), ("bob", suspect("api", "3.3.0"))],
        when: ("alice", decision("roll_back", Some("3.4.1"), Some("3.2.9"))),
        expect: expect![[r#"
            rejected rollback_not_applicable: Latent fault: the suspect release api 3.3.0 is not the latest release of api (3.4.1), so rolling back the latest release would not remove the fault.
        "#]],
    }

    roll_back_names_the_previous_version {
        given: [("alice", declare("Logins fail")), ("bob", suspect("api", "3.4.1"))],
        when: ("alice", decision("roll_back", Some("3.4.1"), Some("3.4.0"))),
        expect: expect![[r#"
            decision_recorded {"decision":1,"items":[1,2,3,4],"motivation":"the least disruptive step that restores service","option":"roll_back","roll_back_to":{"service":"api","version":"3.4.0"}}
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"role":"release_manager"},"text":"Roll back api from 3.4.1 to 3.4.0","tracker_url":null}
            action_item_added {"due":null,"item":2,"kind":"task","owner":{"role":"communications"},"text":"Announce the roll-back to the affected users before it starts","tracker_url":null}
            action_item_added {"due":null,"item":3,"kind":"task","owner":{"role":"operations_manager"},"text":"Confirm the service is back to normal after the roll-back","tracker_url":null}
            action_item_added {"due":null,"item":4,"kind":"task","owner":{"role":"incident_commander"},"text":"Resolve the incident once the roll-back is confirmed","tracker_url":null}
        "#]],
    }

    decide_to_fast_track_a_release {
        given: [("alice", declare("Logins fail"))],
        when: ("alice", decision("fast_tracked_release", None, None)),
        expect: expect![[r#"
            decision_recorded {"decision":1,"items":[1,2,3],"motivation":"the least disruptive step that restores service","option":"fast_tracked_release","roll_back_to":null}
            action_item_added {"due":null,"item":1,"kind":"task","owner":{"role":"release_manager"},"text":"Build, test and ship a fast-tracked release with the fix","tracker_url":null}
            action_item_added {"due":null,"item":2,"kind":"task","owner":{"role":"communications"},"text":"Tell the affected users when the fixed release is out","tracker_url":null}
            action_item_added {"due":null,"item":3,"kind":"task","owner":{"role":"incident_commander"},"text":"Resolve the incident once the fixed release is verified in production","tracker_url":null}
        "#]],
    }

    a_revised_decision_drops_the_earlier_plan {
        given: [
            ("alice", declare("Logins fail")),
            ("alice", decision("information_broadcast", None, None)),
            ("alice", complete(2)),
        ],
        when: ("alice", decision("fast_tracked_release", None, None)),
        expect: expect![[r#"
            action_item_wont_fix {"item":1,"reason":"superseded by decision 2 (fast tracked release)"}
            action_item_wont_fix {"item":3,"reason":"superseded by decision 2 (fast tracked release)"}
            decision_recorded {"decision":2,"items":[4,5,6],"motivation":"the least disruptive step that restores service","option":"fast_tracked_release","roll_back_to":null}
            action_item_added {"due":null,"item":4,"kind":"task","owner":{"role":"release_manager"},"text":"Build, test and ship a fast-tracked release with the fix","tracker_url":null}
            action_item_added {"due":null,"item":5,"kind":"task","owner":{"role":"communications"},"text":"Tell the affected users when the fixed release is out","tracker_url":null}
            action_item_added {"due":null,"item":6,"kind":"task","owner":{"role":"incident_commander"},"text":"Resolve the incident once the fixed release is verified in production","tracker_url":null}
        "#]],
    }
    two_carried_out_intents_collide_once {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
            ("carol", intent("api", "restart the API pods")),
            ("bob", intent_done(1)),
        ],
        when: ("carol", intent_done(2)),
        expect: expect![[r#"
            operation_recorded {"action":"restart the API pods","command":"systemctl restart mysql","intent":2,"target":"api"}
        "#]],
    }

    a_collision_with_an_abandoned_intent_does_not_make_recovery_unattributed {
        given: [
            ("alice", declare("DB down")),
            ("bob", intent("mysql-primary", "restart the primary")),
            ("carol", op("api", "restart")),
            ("bob", intent_abandoned(1)),
        ],
        when: ("alice", status("monitoring")),
        expect: expect![[r#"
            status_changed {"from":"investigating","reason":null,"to":"monitoring"}
        "#]],
    }

    evaluation_that_changes_the_severity_is_a_severity_change {
        given: [("alice", declare("Logins fail"))],
        when: ("bob", evaluate(checklist(true, Some(40), &["eu-west", "eu-west"], &["sso:critical"], (true, false, false)), None, None)),
        expect: expect![[r#"
            severity_evaluated {"checklist":{"availability":true,"data_loss_or_security":false,"live":true,"services":[{"criticality":"critical","service":"sso"}],"sites":["eu-west"],"users_affected":40,"users_estimated":false,"workaround":false},"chosen":"SEV1","reason":null,"rule":"critical service unavailable without a workaround","suggested":"SEV1"}
            severity_changed {"from":"SEV2","potential":false,"reason":"checklist, rule “critical service unavailable without a workaround”","to":"SEV1"}
        "#]],
    }
}

/// The name of a command's variant. The match is exhaustive, so a new command does not
/// compile until it is added here and to [`COMMANDS`].
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Declare { .. } => "Declare",
        Command::AssignRole { .. } => "AssignRole",
        Command::UnassignRole { .. } => "UnassignRole",
        Command::RequestHandoff { .. } => "RequestHandoff",
        Command::AcceptHandoff => "AcceptHandoff",
        Command::DeclineHandoff { .. } => "DeclineHandoff",
        Command::CancelHandoff => "CancelHandoff",
        Command::ChangeSeverity { .. } => "ChangeSeverity",
        Command::ChangeStatus { .. } => "ChangeStatus",
        Command::SetImpactWindow { .. } => "SetImpactWindow",
        Command::SetMilestone { .. } => "SetMilestone",
        Command::AddNote { .. } => "AddNote",
        Command::TakeCommand => "TakeCommand",
        Command::AcceptCandidate => "AcceptCandidate",
        Command::DeclineCandidate { .. } => "DeclineCandidate",
        Command::MergeCandidate { .. } => "MergeCandidate",
        Command::AttachAlertGroup { .. } => "AttachAlertGroup",
        Command::NoteAlerts { .. } => "NoteAlerts",
        Command::SetPublicSummary { .. } => "SetPublicSummary",
        Command::RecordOperation { .. } => "RecordOperation",
        Command::AddLink { .. } => "AddLink",
        Command::AttachEvidence { .. } => "AttachEvidence",
        Command::AddActionItem { .. } => "AddActionItem",
        Command::UpdateActionItem { .. } => "UpdateActionItem",
        Command::CompleteActionItem { .. } => "CompleteActionItem",
        Command::WontFixActionItem { .. } => "WontFixActionItem",
        Command::ReopenActionItem { .. } => "ReopenActionItem",
        Command::ExportActionItem { .. } => "ExportActionItem",
        Command::RecordExport { .. } => "RecordExport",
        Command::ReportTrackerState { .. } => "ReportTrackerState",
        Command::UnlinkTracker { .. } => "UnlinkTracker",
        Command::AddMember { .. } => "AddMember",
        Command::RemoveMember { .. } => "RemoveMember",
        Command::PostUpdate { .. } => "PostUpdate",
        Command::ChangeVisibility { .. } => "ChangeVisibility",
        Command::DraftPostmortem { .. } => "DraftPostmortem",
        Command::RevisePostmortem { .. } => "RevisePostmortem",
        Command::DelegatePostmortem { .. } => "DelegatePostmortem",
        Command::SubmitPostmortem => "SubmitPostmortem",
        Command::CommentPostmortem { .. } => "CommentPostmortem",
        Command::TagPostmortem { .. } => "TagPostmortem",
        Command::ApprovePostmortem => "ApprovePostmortem",
        Command::MarkPostmortemReviewed { .. } => "MarkPostmortemReviewed",
        Command::PublishPostmortem { .. } => "PublishPostmortem",
        Command::MarkTimelineEntry { .. } => "MarkTimelineEntry",
        Command::ScheduleReviewMeeting { .. } => "ScheduleReviewMeeting",
        Command::RecordReviewMeeting { .. } => "RecordReviewMeeting",
        Command::AnnounceIntent { .. } => "AnnounceIntent",
        Command::CompleteIntent { .. } => "CompleteIntent",
        Command::AbandonIntent { .. } => "AbandonIntent",
        Command::RequireWitness { .. } => "RequireWitness",
        Command::AcknowledgeChanges => "AcknowledgeChanges",
        Command::NoteOperationAttempt { .. } => "NoteOperationAttempt",
        Command::EvaluateSeverity { .. } => "EvaluateSeverity",
        Command::SetSuspectRelease { .. } => "SetSuspectRelease",
        Command::RecordDecision { .. } => "RecordDecision",
    }
}

/// Every command variant, as named by [`command_name`].
const COMMANDS: &[&str] = &[
    "Declare",
    "AssignRole",
    "UnassignRole",
    "RequestHandoff",
    "AcceptHandoff",
    "DeclineHandoff",
    "CancelHandoff",
    "ChangeSeverity",
    "ChangeStatus",
    "SetImpactWindow",
    "SetMilestone",
    "AddNote",
    "TakeCommand",
    "AttachAlertGroup",
    "NoteAlerts",
    "SetPublicSummary",
    "RecordOperation",
    "AddLink",
    "AttachEvidence",
    "AddActionItem",
    "UpdateActionItem",
    "CompleteActionItem",
    "WontFixActionItem",
    "ReopenActionItem",
    "ExportActionItem",
    "RecordExport",
    "ReportTrackerState",
    "UnlinkTracker",
    "AddMember",
    "RemoveMember",
    "PostUpdate",
    "ChangeVisibility",
    "DraftPostmortem",
    "RevisePostmortem",
    "DelegatePostmortem",
    "SubmitPostmortem",
    "CommentPostmortem",
    "TagPostmortem",
    "ApprovePostmortem",
    "MarkPostmortemReviewed",
    "PublishPostmortem",
    "MarkTimelineEntry",
    "ScheduleReviewMeeting",
    "RecordReviewMeeting",
    "AnnounceIntent",
    "CompleteIntent",
    "AbandonIntent",
    "RequireWitness",
    "AcknowledgeChanges",
    "NoteOperationAttempt",
    "EvaluateSeverity",
    "SetSuspectRelease",
    "RecordDecision",
    "AcceptCandidate",
    "DeclineCandidate",
    "MergeCandidate",
];

#[test]
fn case_names_are_unique() {
    let cases = table();
    let names: BTreeSet<&str> = cases.iter().map(|case| case.name).collect();
    assert_eq!(names.len(), cases.len());
}

#[test]
fn every_command_has_a_successful_case() {
    let succeeded: BTreeSet<&str> = table()
        .iter()
        .filter(|case| decide_after(&case.given, &case.when).is_ok())
        .map(|case| command_name(&case.when.1))
        .collect();
    let all: BTreeSet<&str> = COMMANDS.iter().copied().collect();
    assert_eq!(succeeded, all, "some command has no successful case");
}

#[test]
fn every_rejection_code_has_a_case() {
    let produced: Vec<RejectionCode> = table()
        .iter()
        .filter_map(|case| decide_after(&case.given, &case.when).err())
        .map(|rejection| rejection.code)
        .collect();
    // `not_permitted` is the permission table's answer, not `decide`'s: its cases are in
    // permissions.rs.
    let missing: Vec<&str> = RejectionCode::ALL
        .iter()
        .filter(|code| **code != RejectionCode::NotPermitted && !produced.contains(code))
        .map(|code| code.as_str())
        .collect();
    assert!(missing.is_empty(), "no case produces {missing:?}");
}
