//! The permission table: who may do what on an incident, with the refusal naming who can,
//! the rules that no table changes, and reading a table from TOML.

use hereby_core::permissions::{Capability, Permissions};
use hereby_core::types::InstallationRole;
use hereby_core::{Command, Policy, RoleCatalogue};

use crate::support::*;

/// Asks the shipped table whether `actor` (with `role`) may run `command` after `given`:
/// `Ok(())` or `code: message`.
fn ask(
    given: &[Step],
    actor: &str,
    role: InstallationRole,
    command: &Command,
) -> Result<(), String> {
    let story = play(given);
    let incident = story
        .state
        .incident()
        .expect("the story declares an incident");
    let policy = Policy::default();
    policy
        .permissions
        .authorize(incident, command, &user(actor), role, &policy.roles)
        .map_err(|rejection| format!("{}: {}", rejection.code.as_str(), rejection.message))
}

const RESPONDER: InstallationRole = InstallationRole::Responder;
const ADMIN: InstallationRole = InstallationRole::Admin;

fn declared() -> Vec<Step> {
    vec![
        ("alice", declare("DB down")),
        ("alice", assign("communications", "carol")),
        ("alice", assign("operations", "olga")),
        ("alice", assign("scribe", "sid")),
    ]
}

#[test]
fn only_the_commander_and_admins_resolve_and_the_refusal_names_them() {
    let given = declared();
    let resolve = status("resolved");
    assert_eq!(ask(&given, "alice", RESPONDER, &resolve), Ok(()));
    assert_eq!(ask(&given, "root", ADMIN, &resolve), Ok(()));
    assert_eq!(
        ask(&given, "bob", RESPONDER, &resolve),
        Err("not_permitted: only the Incident Commander (alice) or an admin can resolve this incident; ask alice, or ask them to hand command to you".to_owned())
    );
    // A role on the incident is not command.
    assert!(ask(&given, "olga", RESPONDER, &resolve).is_err());
}

#[test]
fn reopening_is_worded_as_such() {
    let mut given = declared();
    given.push(("alice", status("resolved")));
    let refused = ask(&given, "bob", RESPONDER, &status("investigating")).unwrap_err();
    assert!(refused.contains("can reopen this incident"), "{refused}");
}

#[test]
fn roles_severity_visibility_and_decisions_belong_to_the_commander() {
    let given = declared();
    for command in [
        assign("planning", "bob"),
        severity("SEV1", false, "worse"),
        visibility("public", "customers see it"),
        add_member("zed"),
        suspect("checkout", "v1.2"),
        handoff("bob"),
    ] {
        assert!(
            ask(&given, "alice", RESPONDER, &command).is_ok(),
            "{command:?}"
        );
        assert!(ask(&given, "root", ADMIN, &command).is_ok(), "{command:?}");
        let refused = ask(&given, "carol", RESPONDER, &command).unwrap_err();
        assert!(
            refused
                .starts_with("not_permitted: only the Incident Commander (alice) or an admin can "),
            "{refused}"
        );
    }
}

#[test]
fn communications_posts_updates_as_does_the_commander() {
    let given = declared();
    let update = post_update("customers", "We are looking into it.", false);
    assert_eq!(ask(&given, "carol", RESPONDER, &update), Ok(()));
    assert_eq!(ask(&given, "alice", RESPONDER, &update), Ok(()));
    assert_eq!(
        ask(&given, "sid", RESPONDER, &update),
        Err("not_permitted: only Communications (carol), the Incident Commander (alice) or an admin can post stakeholder updates for this incident; ask carol or alice, or ask alice to give you Communications".to_owned())
    );
}

#[test]
fn the_public_summary_is_written_by_those_who_speak_to_customers() {
    let given = declared();
    let summary = public_summary(Some("Some payments fail; please retry later."));
    assert_eq!(ask(&given, "carol", RESPONDER, &summary), Ok(()));
    assert_eq!(ask(&given, "alice", RESPONDER, &summary), Ok(()));
    assert_eq!(
        ask(&given, "sid", RESPONDER, &summary),
        Err("not_permitted: only Communications (carol), the Incident Commander (alice) or an admin can write the public summary of this incident; ask carol or alice, or ask alice to give you Communications".to_owned())
    );
}

#[test]
fn operations_record_changes_and_nobody_else_does() {
    let given = declared();
    let change = op("db-primary", "restart");
    assert_eq!(ask(&given, "olga", RESPONDER, &change), Ok(()));
    let refused = ask(&given, "root", ADMIN, &change).unwrap_err();
    assert!(
        refused.starts_with("not_permitted: only Operations (olga) can change production"),
        "{refused}"
    );
    assert!(ask(&given, "sid", RESPONDER, &intent("db-primary", "fail over")).is_err());
    // The commander is refused by the practice's own rule (with its own code), which `decide`
    // words: the table lets the command through to it.
    assert_eq!(ask(&given, "alice", RESPONDER, &change), Ok(()));
}

#[test]
fn operations_nobody_holds_are_named_as_such() {
    let given = vec![("alice", declare("DB down"))];
    let refused = ask(&given, "bob", RESPONDER, &op("db-primary", "restart")).unwrap_err();
    assert_eq!(
        refused,
        "not_permitted: only Operations (nobody holds it now) can change production for this incident; ask alice to give you Operations"
    );
}

#[test]
fn anyone_writes_down_what_they_see() {
    let given = declared();
    for command in [
        note("saw a spike"),
        link("ticket", "https://tracker.example/T-1"),
        add_item_task("check backups", "bob"),
    ] {
        assert_eq!(
            ask(&given, "bob", RESPONDER, &command),
            Ok(()),
            "{command:?}"
        );
    }
}

#[test]
fn viewers_change_nothing() {
    let refused = ask(&declared(), "vic", InstallationRole::Viewer, &note("hello")).unwrap_err();
    assert!(refused.starts_with("not_permitted: viewers"), "{refused}");
}

#[test]
fn making_a_restricted_incident_public_needs_an_admin_even_for_the_commander() {
    let mut given = declared();
    given.push(("alice", visibility("restricted", "security")));
    let public = visibility("public", "customers must know");
    assert_eq!(
        ask(&given, "alice", RESPONDER, &public),
        Err("not_permitted: only an admin can make a restricted incident public; ask an admin, or make it internal first".to_owned())
    );
    assert_eq!(ask(&given, "root", ADMIN, &public), Ok(()));
    assert_eq!(
        ask(
            &given,
            "alice",
            RESPONDER,
            &visibility("internal", "wider help")
        ),
        Ok(())
    );
}

#[test]
fn anyone_may_leave_a_role_they_hold() {
    let given = declared();
    assert_eq!(
        ask(&given, "sid", RESPONDER, &unassign("scribe", "sid")),
        Ok(())
    );
    assert!(ask(&given, "sid", RESPONDER, &unassign("operations", "olga")).is_err());
}

#[test]
fn an_admin_may_hand_command_on_for_an_absent_commander() {
    let given = declared();
    assert_eq!(ask(&given, "root", ADMIN, &handoff("bob")), Ok(()));
    let outcome = decide_after(&given, &("root", handoff("bob")));
    assert_eq!(
        render_outcome(&outcome).trim(),
        r#"handoff_requested {"from":"alice","to":"bob"}"#
    );
    // Only the person named answers it.
    assert_eq!(ask(&given, "bob", RESPONDER, &accept_handoff()), Ok(()));
}

#[test]
fn commands_outside_the_table_are_left_to_their_own_rules() {
    let given = declared();
    for command in [
        accept_handoff(),
        acknowledge_changes(),
        require_witness(true),
    ] {
        assert_eq!(Capability::of(&command), None, "{command:?}");
        assert_eq!(ask(&given, "bob", RESPONDER, &command), Ok(()));
    }
}

#[test]
fn the_shipped_table_reads_and_round_trips() {
    let shipped = Permissions::from_toml(Permissions::DEFAULT_TOML).unwrap();
    assert_eq!(shipped, Permissions::default());
    assert_eq!(Permissions::from_toml(&shipped.to_toml()).unwrap(), shipped);
    shipped.check_roles(&RoleCatalogue::default()).unwrap();
    expect_test::expect![[r#"
        status = ["incident_commander", "admin"]
        severity = ["incident_commander", "admin"]
        visibility = ["incident_commander", "admin"]
        roles = ["incident_commander", "admin"]
        handoff = ["incident_commander", "admin"]
        decisions = ["incident_commander", "admin"]
        updates = ["communications", "incident_commander", "admin"]
        operations = ["operations"]
        notes = ["anyone"]
    "#]]
    .assert_eq(&shipped.to_toml());
}

#[test]
fn a_partial_table_changes_only_the_rows_it_names() {
    let table =
        Permissions::from_toml("operations = [\"operations\", \"subject_matter_expert\"]\n")
            .unwrap();
    assert_eq!(table.holders(Capability::Operations).len(), 2);
    assert_eq!(
        table.holders(Capability::Status),
        Permissions::default().holders(Capability::Status)
    );
}

#[test]
fn a_broken_table_is_refused_with_the_reason() {
    let error = |text: &str| Permissions::from_toml(text).unwrap_err().to_string();
    assert!(
        error("resolve = [\"admin\"]\n").contains("unknown variant `resolve`"),
        "{}",
        error("resolve = [\"admin\"]\n")
    );
    assert_eq!(
        error("status = []\n"),
        "`status` lets nobody act; list at least one of a role key, \"admin\" or \"anyone\""
    );
    assert_eq!(
        error("status = [\"Incident Commander\"]\n"),
        "`status`: `Incident Commander` is not a role key"
    );
    let typo = Permissions::from_toml("updates = [\"comms\"]\n").unwrap();
    assert_eq!(
        typo.check_roles(&RoleCatalogue::default())
            .unwrap_err()
            .to_string(),
        "`updates`: no role `comms` in the role catalogue (roles: incident_commander, operations, communications, scribe, subject_matter_expert, planning, release_manager, operations_manager)"
    );
}

#[test]
fn a_candidate_is_triaged_by_any_responder_and_its_status_left_to_the_rules() {
    let given = vec![("hereby", declare_candidate("HighLatency checkout"))];
    for command in [
        Command::AcceptCandidate,
        Command::DeclineCandidate {
            reason: reason("noise"),
        },
        Command::MergeCandidate {
            into: hereby_core::types::IncidentNumber(7),
        },
        // The table names no commander a candidate does not have: the core's rule speaks.
        status("resolved"),
    ] {
        assert_eq!(
            ask(&given, "bob", RESPONDER, &command),
            Ok(()),
            "{command:?}"
        );
    }
    assert!(
        ask(
            &given,
            "vera",
            InstallationRole::Viewer,
            &Command::AcceptCandidate
        )
        .is_err()
    );
}
