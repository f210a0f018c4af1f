//! The severity rules and the follow-up ladder as tables: answers in, suggestion and rule out;
//! an incident's suspect release in, each rung's applicability and action owners out.

use hereby_core::Policy;
use hereby_core::changes::unstaffed_roles;
use hereby_core::ladder::{ReleaseFacts, ladder};
use hereby_core::severity::SeverityRules;
use hereby_core::types::{ReleaseVersion, Severity};
use jiff::SignedDuration;

use crate::support::*;

#[test]
fn the_shipped_rules_suggest_by_the_first_matching_rule() {
    let rules = SeverityRules::default();
    assert_eq!(
        rules,
        SeverityRules::from_toml(SeverityRules::DEFAULT_TOML).unwrap()
    );
    // (answers, suggested severity, rule that fired)
    let table = [
        (
            checklist(true, None, &[], &["db:low"], (false, true, true)),
            "SEV1",
            "data loss or security exposure",
        ),
        (
            checklist(false, None, &[], &[], (false, true, false)),
            "SEV1",
            "data loss or security exposure",
        ),
        (
            checklist(true, Some(3), &[], &["sso:critical"], (true, false, false)),
            "SEV1",
            "critical service unavailable without a workaround",
        ),
        (
            checklist(true, Some(3), &[], &["sso:critical"], (true, false, true)),
            "SEV2",
            "critical or high service affected",
        ),
        (
            checklist(true, Some(5000), &[], &["wiki:low"], (true, false, false)),
            "SEV1",
            "a thousand users or more without a workaround",
        ),
        (
            checklist(true, Some(5000), &[], &["wiki:low"], (true, false, true)),
            "SEV3",
            "users affected",
        ),
        (
            checklist(true, None, &[], &["api:high"], (false, false, true)),
            "SEV2",
            "critical or high service affected",
        ),
        (
            checklist(
                true,
                Some(1),
                &["eu-west", "us-east"],
                &["wiki:low"],
                (true, false, true),
            ),
            "SEV2",
            "several sites affected",
        ),
        (
            checklist(
                true,
                Some(2),
                &["eu-west"],
                &["wiki:low"],
                (true, false, true),
            ),
            "SEV3",
            "users affected",
        ),
        (
            checklist(
                true,
                Some(1),
                &["eu-west"],
                &["wiki:low"],
                (true, false, true),
            ),
            "SEV4",
            "default",
        ),
        (
            checklist(true, None, &[], &["unknown-service"], (true, false, false)),
            "SEV4",
            "default",
        ),
        (
            checklist(false, None, &[], &["sso:critical"], (true, false, false)),
            "SEV3",
            "potential problem in a critical or high service",
        ),
        (
            checklist(
                false,
                Some(10_000),
                &[],
                &["wiki:normal"],
                (true, false, false),
            ),
            "SEV4",
            "default",
        ),
    ];
    for (index, (answers, severity, rule)) in table.into_iter().enumerate() {
        let suggestion = rules.suggest(&answers);
        assert_eq!(
            (suggestion.severity.as_str(), suggestion.rule.as_str()),
            (severity, rule),
            "row {index}: {answers:?}"
        );
    }
}

#[test]
fn a_custom_rule_file_is_data() {
    let rules = SeverityRules::from_toml(
        r#"
default = "SEV3"
[[rule]]
name = "payments"
severity = "SEV1"
criticality_at_least = "normal"
sites_at_least = 1
"#,
    )
    .unwrap();
    let hit = rules.suggest(&checklist(
        true,
        None,
        &["eu"],
        &["pay:normal"],
        (false, false, true),
    ));
    assert_eq!(
        (hit.severity, hit.rule.as_str()),
        (Severity::Sev1, "payments")
    );
    let low = rules.suggest(&checklist(
        true,
        None,
        &["eu"],
        &["pay:low"],
        (false, false, true),
    ));
    assert_eq!(
        (low.severity, low.rule.as_str()),
        (Severity::Sev3, "default")
    );
}

#[test]
fn bad_rule_files_are_refused_with_a_reason() {
    let table = [
        ("default = \"SEV9\"", "SEV9"),
        (
            "default = \"SEV2\"\n[[rule]]\nname = \"x\"\nseverity = \"SEV1\"\nusers = 3",
            "users",
        ),
        (
            "default = \"SEV2\"\n[[rule]]\nname = \"x\"\nseverity = \"SEV1\"\n[[rule]]\nname = \"x\"\nseverity = \"SEV2\"",
            "used twice",
        ),
        (
            "default = \"SEV2\"\n[[rule]]\nname = \"\"\nseverity = \"SEV1\"",
            "needs a one-line name",
        ),
        ("[[rule]]\nname = \"x\"\nseverity = \"SEV1\"", "default"),
        (
            "default = \"SEV2\"\n[[rule]]\nname = \"default\"\nseverity = \"SEV1\"",
            "reserved",
        ),
    ];
    for (text, expected) in table {
        let error = SeverityRules::from_toml(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?} gave {error:?}");
    }
}

/// (applicable?, owner roles) of each rung, lowest first.
fn rungs(
    given: &[Step],
    latest: Option<&str>,
    before: Option<&str>,
) -> Vec<(String, bool, Vec<&'static str>)> {
    let story = play(given);
    let incident = story.state.incident().unwrap();
    let facts = ReleaseFacts {
        latest: latest.map(|v| ReleaseVersion::parse(v).unwrap()),
        before_suspect: before.map(|v| ReleaseVersion::parse(v).unwrap()),
    };
    ladder(incident, &facts)
        .into_iter()
        .map(|rung| {
            (
                rung.option.as_str().to_owned(),
                rung.applicable,
                rung.actions.iter().map(|a| a.role).collect(),
            )
        })
        .collect()
}

/// A story, the latest release, the release before the suspect, and whether roll-back applies.
type Row<'a> = (&'a [Step], Option<&'a str>, Option<&'a str>, bool);

#[test]
fn the_ladder_says_when_a_roll_back_applies() {
    let declared = ("alice", declare("Logins fail"));
    let suspect_latest = ("bob", suspect("api", "3.4.1"));
    // (story, latest release, release before the suspect, roll-back applicable?)
    let table: [Row; 5] = [
        (
            std::slice::from_ref(&declared),
            Some("3.4.1"),
            Some("3.4.0"),
            false,
        ),
        (
            &[declared.clone(), suspect_latest.clone()],
            Some("3.4.1"),
            Some("3.4.0"),
            true,
        ),
        (
            &[declared.clone(), suspect_latest.clone()],
            Some("3.4.2"),
            Some("3.4.0"),
            false,
        ),
        (
            &[declared.clone(), suspect_latest.clone()],
            Some("3.4.1"),
            None,
            false,
        ),
        (
            &[declared.clone(), suspect_latest.clone()],
            None,
            None,
            false,
        ),
    ];
    for (index, (given, latest, before, applicable)) in table.into_iter().enumerate() {
        let rungs = rungs(given, latest, before);
        let names: Vec<&str> = rungs.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "do_nothing",
                "information_broadcast",
                "roll_back",
                "fast_tracked_release"
            ]
        );
        assert_eq!(rungs[2].1, applicable, "row {index}");
        assert!(
            rungs[0].1 && rungs[1].1 && rungs[3].1,
            "row {index}: other rungs always apply"
        );
    }
}

#[test]
fn each_rung_generates_its_action_list_with_owners_by_role() {
    let rungs = rungs(
        &[
            ("alice", declare("Logins fail")),
            ("bob", suspect("api", "3.4.1")),
        ],
        Some("3.4.1"),
        Some("3.4.0"),
    );
    let owners: Vec<(&str, Vec<&str>)> = rungs
        .iter()
        .map(|(n, _, roles)| (n.as_str(), roles.clone()))
        .collect();
    assert_eq!(
        owners,
        [
            (
                "do_nothing",
                vec!["incident_commander", "incident_commander"]
            ),
            (
                "information_broadcast",
                vec!["operations_manager", "communications", "incident_commander"]
            ),
            (
                "roll_back",
                vec![
                    "release_manager",
                    "communications",
                    "operations_manager",
                    "incident_commander"
                ]
            ),
            (
                "fast_tracked_release",
                vec!["release_manager", "communications", "incident_commander"]
            ),
        ]
    );
}

#[test]
fn serious_incidents_flag_unstaffed_roles_after_the_grace_period() {
    let policy = Policy::default();
    let declared_at = t0();
    let later = declared_at + SignedDuration::from_mins(16);
    let names = |given: &[Step], now| -> Vec<String> {
        let story = play(given);
        unstaffed_roles(story.state.incident().unwrap(), &policy, now)
            .into_iter()
            .map(|key| key.to_string())
            .collect()
    };
    let sev2 = ("alice", declare("DB down"));
    assert_eq!(
        names(
            std::slice::from_ref(&sev2),
            declared_at + SignedDuration::from_mins(5)
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(std::slice::from_ref(&sev2), later),
        ["operations", "communications"]
    );
    assert_eq!(
        names(
            &[sev2.clone(), ("alice", assign("communications", "dan"))],
            later
        ),
        ["operations"]
    );
    assert_eq!(
        names(
            &[sev2.clone(), ("alice", severity("SEV3", false, "one user"))],
            later
        ),
        Vec::<String>::new()
    );
}
