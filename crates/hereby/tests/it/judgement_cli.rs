//! Judgement under pressure through the real `hereby` CLI against a real server, on every
//! database: the service catalogue and its TOML import, releases and the suspect one, the
//! severity checklist, the follow-up ladder and decisions, and `hereby act` with intents,
//! witnesses and change collisions.

use serde_json::Value;

use crate::api::{Server, cli, databases};

/// Runs the CLI, requires success, and returns its standard output.
fn ok(server: &Server, token: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, 0, "hereby {args:?} failed: {stderr}{stdout}");
    stdout
}

/// Runs the CLI, requires success, and returns standard output and standard error.
fn ok_both(server: &Server, token: &str, args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, 0, "hereby {args:?} failed: {stderr}{stdout}");
    (stdout, stderr)
}

/// Runs the CLI, requires exit code `expected`, and returns its standard error.
fn fails(server: &Server, token: &str, args: &[&str], expected: i32) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, expected, "hereby {args:?}: {stdout}{stderr}");
    stderr
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// RFC 3339 time `minutes` ago.
fn minutes_ago(minutes: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes)).to_string()
}

const CATALOGUE: &str = r#"
[[service]]
name = "api"
owner_team = "platform"
criticality = "critical"
max_unavailability = "30m"
public = true
depends_on = ["db"]
incident_definition = "≥ 2 users cannot log in"

[[service]]
name = "db"
owner_team = "data"
criticality = "high"
description = "The primary PostgreSQL cluster"
"#;

/// Imports [`CATALOGUE`] as the admin.
fn import_catalogue(server: &Server, dir: &std::path::Path) {
    let file = dir.join("services.toml");
    std::fs::write(&file, CATALOGUE).unwrap();
    let out = ok(
        server,
        &server.admin,
        &["service", "import", file.to_str().unwrap()],
    );
    assert!(out.starts_with("imported 2 services from "), "{out}");
    assert!(out.trim_end().ends_with(": api, db"), "{out}");
}

#[test]
fn components_name_services_of_the_catalogue() {
    let server = Server::start("sqlite");
    let dir = tempfile::tempdir().unwrap();
    import_catalogue(&server, dir.path());
    let stderr = fails(
        &server,
        &server.admin,
        &["component", "set", "apx", "--description", "The API"],
        1,
    );
    assert!(
        stderr.contains("component: no service `apx` in the catalogue. Did you mean `api`?"),
        "{stderr}"
    );
    let (_, components) = server.get("/api/v1/components", &server.admin);
    assert_eq!(components, serde_json::json!([]), "nothing saved");
    ok(
        &server,
        &server.admin,
        &["component", "set", "api", "--description", "The API"],
    );
}

#[test]
fn releases_and_dependencies_name_services_of_the_catalogue() {
    let server = Server::start("sqlite");
    let rita = server.user("rita", "responder");
    let dir = tempfile::tempdir().unwrap();
    import_catalogue(&server, dir.path());
    let stderr = fails(
        &server,
        &rita,
        &["release", "record", "--service", "apx", "--version", "1.0"],
        1,
    );
    assert!(
        stderr.contains("service: no service `apx` in the catalogue. Did you mean `api`? An admin adds it with `hereby service add apx"),
        "{stderr}"
    );
    let (status, refused) = server.call(
        "PUT",
        "/api/v1/services/web",
        Some(&server.admin),
        Some(&serde_json::json!({ "owner_team": "web", "criticality": "high", "depends_on": ["api", "dbb"] }).to_string()),
        &[],
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "unknown_service");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no service `dbb` in the catalogue. Did you mean "),
        "{refused}"
    );
    assert_eq!(
        service_names(&server, &rita),
        ["api", "db"],
        "nothing was added"
    );
    // Versions may be names with spaces ("UPDATE 40" is a real release name).
    let named = ok(
        &server,
        &rita,
        &[
            "release",
            "record",
            "--service",
            "api",
            "--version",
            "UPDATE  40",
        ],
    );
    assert!(
        named.starts_with("release api UPDATE 40 deployed "),
        "{named}"
    );
}

fn service_names(server: &Server, token: &str) -> Vec<String> {
    let listed = json_of(&ok(server, token, &["service", "list", "--json"]));
    listed["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn services_are_imported_from_toml_all_or_nothing_and_listed() {
    for database in databases() {
        let server = Server::start(&database);
        let dir = tempfile::tempdir().unwrap();
        let rita = server.user("rita", "responder");
        assert!(
            ok(&server, &rita, &["service", "list"]).starts_with("no services"),
            "an empty catalogue says how to fill it"
        );
        import_catalogue(&server, dir.path());

        let table = ok(&server, &rita, &["service", "list"]);
        let mut lines = table.lines();
        let header = lines.next().unwrap();
        for column in [
            "NAME",
            "CRITICALITY",
            "TEAM",
            "EXPOSURE",
            "MAX DOWN",
            "INCIDENT DEFINITION",
        ] {
            assert!(header.contains(column), "{table}");
        }
        let api_row = lines.next().unwrap();
        let words: Vec<&str> = api_row.split_whitespace().collect();
        assert_eq!(
            &words[..5],
            ["api", "critical", "platform", "public", "30m"],
            "{table}"
        );
        assert!(api_row.ends_with("≥ 2 users cannot log in"), "{table}");
        let db_row = lines.next().unwrap();
        let words: Vec<&str> = db_row.split_whitespace().collect();
        assert_eq!(
            words,
            ["db", "high", "data", "internal", "-", "-"],
            "{table}"
        );
        assert_eq!(lines.next(), None, "{table}");

        let shown = ok(&server, &rita, &["service", "show", "api"]);
        assert!(shown.starts_with("api  (critical, public)\n"), "{shown}");
        assert!(
            shown.contains("\nteam                 platform\n"),
            "{shown}"
        );
        assert!(shown.contains("\ndepends on           db\n"), "{shown}");
        assert!(
            shown.contains("\nincident definition  ≥ 2 users cannot log in\n"),
            "{shown}"
        );
        assert!(shown.contains(" by root\n"), "{shown}");
        let db = ok(&server, &rita, &["service", "show", "db"]);
        assert!(db.contains("\nThe primary PostgreSQL cluster\n"), "{db}");
        let json = json_of(&ok(&server, &rita, &["service", "show", "api", "--json"]));
        assert_eq!(json["depends_on"], serde_json::json!(["db"]));
        let stderr = fails(&server, &rita, &["service", "show", "nope"], 1);
        assert!(stderr.contains("nope"), "{stderr}");

        // One bad entry: nothing of the file is stored.
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "[[service]]\nname = \"wiki\"\nowner_team = \"docs\"\ncriticality = \"low\"\n\n\
             [[service]]\nname = \"mail\"\nowner_team = \"it\"\ncriticality = \"urgent\"\n",
        )
        .unwrap();
        let (code, stdout, stderr) = cli(
            &server,
            &server.admin,
            &["service", "import", bad.to_str().unwrap()],
        );
        assert_ne!(code, 0, "{stdout}{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains("mail") && stderr.contains("criticality"),
            "{stderr}"
        );
        assert_eq!(
            service_names(&server, &rita),
            ["api", "db"],
            "a refused import stores nothing"
        );

        // Unknown keys are refused before anything is sent, with their line.
        let typo = dir.path().join("typo.toml");
        std::fs::write(
            &typo,
            "[[service]]\nname = \"wiki\"\nowner_team = \"docs\"\ncriticality = \"low\"\ncolour = \"red\"\n",
        )
        .unwrap();
        let stderr = fails(
            &server,
            &server.admin,
            &["service", "import", typo.to_str().unwrap()],
            2,
        );
        assert!(
            stderr.contains("line 5") && stderr.contains("colour"),
            "{stderr}"
        );
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "# nothing yet\n").unwrap();
        let stderr = fails(
            &server,
            &server.admin,
            &["service", "import", empty.to_str().unwrap()],
            2,
        );
        assert!(stderr.contains("no [[service]] tables"), "{stderr}");
        assert_eq!(service_names(&server, &rita), ["api", "db"]);

        // Add, change and remove one by hand; only admins may.
        let added = ok(
            &server,
            &server.admin,
            &[
                "service",
                "add",
                "cache",
                "--team",
                "platform",
                "--criticality",
                "normal",
                "--depends-on",
                "db",
                "--depends-on",
                "api",
                "--incident-definition",
                "hit rate below 50 %",
            ],
        );
        assert_eq!(
            added,
            "service cache stored: normal, team platform, internal\n"
        );
        let changed = ok(
            &server,
            &server.admin,
            &[
                "service",
                "add",
                "cache",
                "--team",
                "edge",
                "--criticality",
                "low",
                "--public",
                "--max-unavailability",
                "4h",
            ],
        );
        assert_eq!(changed, "service cache stored: low, team edge, public\n");
        let json = json_of(&ok(&server, &rita, &["service", "show", "cache", "--json"]));
        assert_eq!(json["max_unavailability"], "4h");
        assert_eq!(json["depends_on"], serde_json::json!([]));
        let (code, _, _) = cli(
            &server,
            &rita,
            &[
                "service",
                "add",
                "cache",
                "--team",
                "x",
                "--criticality",
                "low",
            ],
        );
        assert_ne!(code, 0, "only admins change the catalogue");
        let stderr = fails(
            &server,
            &server.admin,
            &[
                "service",
                "add",
                "web",
                "--team",
                "web",
                "--criticality",
                "urgent",
            ],
            2,
        );
        assert!(stderr.contains("possible values"), "{stderr}");
        assert_eq!(
            ok(&server, &server.admin, &["service", "remove", "cache"]),
            "service cache removed\n"
        );
        fails(&server, &server.admin, &["service", "remove", "cache"], 1);
        assert_eq!(service_names(&server, &rita), ["api", "db"]);
    }
}

#[test]
fn releases_are_recorded_once_and_listed_newest_first() {
    for database in databases() {
        let server = Server::start(&database);
        let rita = server.user("rita", "responder");
        assert_eq!(ok(&server, &rita, &["release", "list"]), "no releases\n");
        let at = minutes_ago(120);
        let args = [
            "release",
            "record",
            "--service",
            "api",
            "--version",
            "3.4.0",
            "--at",
            &at,
            "--notes",
            "deploy 811",
        ];
        let first = ok(&server, &rita, &args);
        assert!(
            first.starts_with("release api 3.4.0 deployed ")
                && first.ends_with(" is on record (recorded by rita)\n"),
            "{first}"
        );
        let again = ok(&server, &rita, &args);
        assert_eq!(again, first, "a retried record answers with the first one");

        let later = minutes_ago(60);
        ok(
            &server,
            &rita,
            &[
                "release",
                "record",
                "--service",
                "api",
                "--version",
                "3.4.1",
                "--at",
                &later,
            ],
        );
        ok(
            &server,
            &rita,
            &["release", "record", "--service", "db", "--version", "15.2"],
        );
        let stderr = fails(
            &server,
            &rita,
            &[
                "release",
                "record",
                "--service",
                "api",
                "--version",
                "9",
                "--at",
                "2999-01-01T00:00:00Z",
            ],
            2,
        );
        assert!(stderr.contains("future"), "{stderr}");

        let listed = ok(&server, &rita, &["release", "list", "--service", "api"]);
        let rows: Vec<Vec<&str>> = listed
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows.len(),
            2,
            "the retried record is not a second release: {listed}"
        );
        assert_eq!(&rows[0][..2], ["api", "3.4.1"], "{listed}");
        assert_eq!(&rows[1][..2], ["api", "3.4.0"], "{listed}");
        assert_eq!(rows[1][3..], ["rita", "deploy", "811"], "{listed}");
        let all = json_of(&ok(&server, &rita, &["release", "list", "--json"]));
        let versions: Vec<&str> = all["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["15.2", "3.4.1", "3.4.0"]);
        let one = ok(&server, &rita, &["release", "list", "--limit", "1"]);
        assert_eq!(one.lines().count(), 2, "{one}");
        assert!(one.contains("15.2"), "{one}");
    }
}

/// The catalogue, api releases 3.4.0 (3 h ago) and 3.4.1 (1 h ago), and alice's INC-1 on api.
fn incident_with_releases(server: &Server, dir: &std::path::Path) -> String {
    import_catalogue(server, dir);
    let alice = server.user("alice", "responder");
    for (version, minutes) in [("3.4.0", 180), ("3.4.1", 60)] {
        ok(
            server,
            &alice,
            &[
                "release",
                "record",
                "--service",
                "api",
                "--version",
                version,
                "--at",
                &minutes_ago(minutes),
            ],
        );
    }
    let (declared, bars) = ok_both(
        server,
        &alice,
        &[
            "declare",
            "Logins fail",
            "--severity",
            "SEV2",
            "--service",
            "api",
            "--service",
            "wiki",
        ],
    );
    assert_eq!(declared, "INC-1\n");
    assert!(
        bars.contains("api (critical): an incident when ≥ 2 users cannot log in"),
        "the declarer sees the service's incident definition: {bars}"
    );
    assert!(
        bars.contains("wiki: not in the service catalogue"),
        "{bars}"
    );
    alice
}

#[test]
fn a_suspect_latest_release_makes_roll_back_applicable_and_a_decision_drafts_the_message() {
    for database in databases() {
        let server = Server::start(&database);
        let dir = tempfile::tempdir().unwrap();
        let alice = incident_with_releases(&server, dir.path());

        let around = ok(&server, &alice, &["release", "list", "--incident", "INC-1"]);
        assert!(
            around.starts_with("releases of INC-1's services from "),
            "{around}"
        );
        assert!(
            around.contains("3.4.1") && around.contains("3.4.0"),
            "{around}"
        );
        assert!(around.contains("no suspect release"), "{around}");

        let ladder = ok(&server, &alice, &["decide", "INC-1"]);
        assert!(
            ladder.contains("3. ✗ roll_back (not applicable)"),
            "no suspect yet: {ladder}"
        );
        let stderr = fails(
            &server,
            &alice,
            &["suspect", "INC-1", "--service", "api", "--version", "9.9"],
            1,
        );
        assert!(stderr.contains("not on record"), "{stderr}");
        assert_eq!(
            ok(
                &server,
                &alice,
                &[
                    "suspect",
                    "INC-1",
                    "--service",
                    "api",
                    "--version",
                    "3.4.1",
                    "--reason",
                    "errors began with the deploy",
                ],
            ),
            "INC-1: suspect release api 3.4.1; see the ladder with `hereby decide INC-1`\n"
        );
        let around = ok(&server, &alice, &["release", "list", "--incident", "INC-1"]);
        let suspect_rows: Vec<&str> = around.lines().filter(|l| l.starts_with("* ")).collect();
        assert_eq!(suspect_rows.len(), 2, "{around}");
        assert!(suspect_rows[0].contains("3.4.1"), "{around}");
        assert_eq!(suspect_rows[1], "* suspect release: api 3.4.1", "{around}");

        let ladder = ok(&server, &alice, &["decide", "INC-1"]);
        assert!(
            ladder.starts_with(
                "INC-1: follow-up decision ladder, lowest rung first\n\nPick the lowest rung"
            ),
            "{ladder}"
        );
        let rung_lines: Vec<&str> = ladder
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(
            rung_lines,
            [
                "1. ✓ do_nothing (applicable)",
                "2. ✓ information_broadcast (applicable)",
                "3. ✓ roll_back (applicable)",
                "4. ✓ fast_tracked_release (applicable)",
            ],
            "{ladder}"
        );
        assert!(ladder.contains("   rolls api back to 3.4.0\n"), "{ladder}");
        assert!(
            ladder.contains("   - Roll back api from 3.4.1 to 3.4.0 (role:release_manager)\n"),
            "{ladder}"
        );
        assert!(ladder.contains("no decision yet"), "{ladder}");

        let decided = ok(
            &server,
            &alice,
            &[
                "decide",
                "INC-1",
                "--option",
                "roll_back",
                "--motivation",
                "3.4.1 broke logins; 3.4.0 was fine",
            ],
        );
        assert!(
            decided.starts_with("INC-1: decision 1: roll back\nroll api back to 3.4.0\n"),
            "{decided}"
        );
        assert!(decided.contains("\naction items\n"), "{decided}");
        assert!(
            decided.contains(
                "    1. Roll back api from 3.4.1 to 3.4.0 (owner role:release_manager)\n"
            ),
            "{decided}"
        );
        assert!(decided.contains("(owner role:communications)"), "{decided}");
        assert!(
            decided.contains("\nmessage draft (template rollback-announcement)\nSubject: "),
            "{decided}"
        );
        assert!(
            decided.contains(
                "post it with `hereby update INC-1 --template rollback-announcement --audience AUDIENCE`"
            ),
            "{decided}"
        );
        let items = ok(&server, &alice, &["action", "list", "INC-1"]);
        assert!(items.contains("role:release_manager"), "{items}");
        let ladder = ok(&server, &alice, &["decide", "INC-1"]);
        assert!(
            ladder.contains("current decision 1: roll back by alice at "),
            "{ladder}"
        );
        // The hint works: the draft can be posted as it says, once what it leaves open is
        // filled in; it names the versions involved and is signed.
        let unfilled = fails(
            &server,
            &alice,
            &[
                "update",
                "INC-1",
                "--template",
                "rollback-announcement",
                "--audience",
                "customers",
            ],
            2,
        );
        assert!(
            unfilled.contains("the template leaves <time, UTC>, <duration> to fill in"),
            "{unfilled}"
        );
        ok(
            &server,
            &alice,
            &[
                "update",
                "INC-1",
                "--template",
                "rollback-announcement",
                "--audience",
                "customers",
                "--set",
                "time=14:30 UTC",
                "--set",
                "duration=ten minutes",
            ],
        );
        let (_, timeline) = server.get("/api/v1/incidents/INC-1/timeline", &alice);
        let posted = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|entry| entry["type"] == "update_posted")
            .map(|entry| entry["body"]["body"].as_str().unwrap().to_owned())
            .unwrap();
        assert!(
            posted.contains("starts at 14:30 UTC and should take about ten minutes"),
            "{posted}"
        );
        assert!(posted.contains(" from api 3.4.1 to api 3.4.0."), "{posted}");
        assert!(
            posted.contains("— alice, Incident Commander, for INC-1"),
            "{posted}"
        );
        let json = json_of(&ok(
            &server,
            &alice,
            &[
                "decide",
                "INC-1",
                "--option",
                "information_broadcast",
                "--motivation",
                "the roll-back is blocked by a migration",
                "--json",
            ],
        ));
        assert_eq!(json["message_draft"]["template"], "release-broadcast");

        // A latent fault: the suspect is not the latest release, so rolling back does not help.
        ok(
            &server,
            &alice,
            &[
                "declare",
                "Slow reports",
                "--severity",
                "SEV3",
                "--service",
                "api",
            ],
        );
        ok(
            &server,
            &alice,
            &["suspect", "INC-2", "--service", "api", "--version", "3.4.0"],
        );
        let ladder = ok(&server, &alice, &["decide", "INC-2"]);
        assert!(
            ladder.contains("3. ✗ roll_back (not applicable)"),
            "{ladder}"
        );
        assert!(ladder.contains("Latent fault"), "{ladder}");
        let stderr = fails(
            &server,
            &alice,
            &[
                "decide",
                "INC-2",
                "--option",
                "roll_back",
                "--motivation",
                "go back",
            ],
            1,
        );
        assert!(
            stderr.starts_with("hereby: Latent fault: the suspect release api 3.4.0 is not the latest release of api (3.4.1)"),
            "{stderr}"
        );
        assert_eq!(
            ok(&server, &alice, &["suspect", "INC-2", "--clear"]),
            "INC-2: no release is suspect any more\n"
        );
        let stderr = fails(&server, &alice, &["suspect", "INC-2", "--clear"], 1);
        assert!(stderr.contains("no suspect release is named"), "{stderr}");
    }
}

#[test]
fn evaluate_prints_the_suggestion_and_its_rule_and_needs_a_reason_to_differ() {
    for database in databases() {
        let server = Server::start(&database);
        let dir = tempfile::tempdir().unwrap();
        let alice = incident_with_releases(&server, dir.path());

        let rules = ok(&server, &alice, &["evaluate", "--rules"]);
        assert!(rules.starts_with("default = \"SEV4\"\n"), "{rules}");
        assert!(
            rules.contains("name = \"critical service unavailable without a workaround\""),
            "{rules}"
        );

        assert_eq!(
            ok(
                &server,
                &alice,
                &["evaluate", "INC-1", "--live", "--availability"],
            ),
            "Suggested SEV1 (rule “critical service unavailable without a workaround”); INC-1 is now SEV1.\n"
        );
        let shown = ok(&server, &alice, &["show", "INC-1"]);
        assert!(shown.contains("· SEV1 ·"), "{shown}");

        let stderr = fails(
            &server,
            &alice,
            &[
                "evaluate",
                "INC-1",
                "--live",
                "--availability",
                "--severity",
                "SEV2",
            ],
            1,
        );
        assert!(
            stderr.contains("the rules suggest SEV1") && stderr.contains("needs a reason"),
            "{stderr}"
        );
        assert_eq!(
            ok(
                &server,
                &alice,
                &[
                    "evaluate",
                    "INC-1",
                    "--live",
                    "--availability",
                    "--severity",
                    "SEV2",
                    "--reason",
                    "only the EU login is affected",
                ],
            ),
            "Suggested SEV1 (rule “critical service unavailable without a workaround”); INC-1 is now SEV2, chosen over the suggestion: only the EU login is affected.\n"
        );
        assert_eq!(
            ok(
                &server,
                &alice,
                &[
                    "evaluate",
                    "INC-1",
                    "--live",
                    "--users",
                    "40",
                    "--estimated",
                    "--service",
                    "db",
                    "--workaround",
                ],
            ),
            "Suggested SEV2 (rule “critical or high service affected”); INC-1 is now SEV2.\n"
        );
        assert_eq!(
            ok(
                &server,
                &alice,
                &["evaluate", "INC-1", "--potential", "--service", "nowhere"]
            ),
            "Suggested SEV4 (no rule matched: the default); INC-1 is now SEV4.\n"
        );
        let json = json_of(&ok(
            &server,
            &alice,
            &["evaluate", "INC-1", "--live", "--data-loss", "--json"],
        ));
        assert_eq!(json["suggested"], "SEV1");
        assert_eq!(json["rule"], "data loss or security exposure");
        assert_eq!(json["write"]["id"], "INC-1");

        let stderr = fails(&server, &alice, &["evaluate", "INC-1"], 2);
        assert!(
            stderr.contains("--live") && stderr.contains("--potential"),
            "{stderr}"
        );
        fails(
            &server,
            &alice,
            &["evaluate", "INC-1", "--live", "--potential"],
            2,
        );
    }
}

#[test]
fn intents_witnesses_and_change_collisions_through_act() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");
        let carol = server.user("carol", "responder");
        ok(
            &server,
            &alice,
            &["declare", "Database down", "--severity", "SEV1"],
        );
        // Only Operations changes production: a responder without the role is told who can.
        let stderr = fails(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "mysql",
                "--intent",
                "restart it",
            ],
            1,
        );
        assert!(
            stderr.contains("only Operations (nobody holds it now) can change production for this incident; ask alice to give you Operations"),
            "{stderr}"
        );
        for person in ["bob", "carol"] {
            ok(
                &server,
                &alice,
                &["role", "assign", "INC-1", "operations", person],
            );
        }

        // Announce, then carry out.
        let (announced, stderr) = ok_both(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "mysql",
                "--intent",
                "about to restart the MySQL primary",
            ],
        );
        assert!(stderr.is_empty(), "{stderr}");
        assert!(
            announced.starts_with(
                "INC-1: bob is about to change mysql: about to restart the MySQL primary (intent 1)\n"
            ),
            "{announced}"
        );
        assert!(
            announced.contains(
                "intent 1 announced on INC-1: once done, `hereby act done INC-1 1`; if not, `hereby act abandon INC-1 1`"
            ),
            "{announced}"
        );
        let (done, stderr) = ok_both(
            &server,
            &bob,
            &[
                "act",
                "done",
                "INC-1",
                "1",
                "--command",
                "systemctl restart mysql",
            ],
        );
        assert!(
            stderr.is_empty(),
            "one person's changes never collide: {stderr}"
        );
        assert!(
            done.contains("INC-1: bob changed mysql: about to restart the MySQL primary (`systemctl restart mysql`)"),
            "{done}"
        );
        let stderr = fails(&server, &bob, &["act", "done", "INC-1", "1"], 1);
        assert!(stderr.contains("already done"), "{stderr}");
        let stderr = fails(&server, &bob, &["act", "done", "INC-1", "7"], 1);
        assert!(stderr.contains("no intent 7"), "{stderr}");

        // Someone else changes something within the window: both changes are unattributable.
        let (_, warning) = ok_both(
            &server,
            &carol,
            &[
                "act",
                "INC-1",
                "--target",
                "cache",
                "--action",
                "flushed the cache",
            ],
        );
        assert_eq!(
            warning,
            "warning: change collision 1: carol on cache and bob on mysql in the same window — recovery cannot be attributed to either; the Incident Commander is notified (by e-mail, when they have an address)\n"
        );
        let document = json_of(&ok(&server, &alice, &["show", "INC-1", "--json"]));
        assert_eq!(document["open_collisions"].as_array().unwrap().len(), 1);

        // Only the Incident Commander acknowledges; the IC does not operate.
        let stderr = fails(&server, &bob, &["act", "ack", "INC-1"], 1);
        assert!(stderr.contains("Incident Commander"), "{stderr}");
        assert_eq!(
            ok(&server, &alice, &["act", "ack", "INC-1"]),
            "INC-1: changes so far acknowledged; change collision 1 settled\n"
        );
        let stderr = fails(
            &server,
            &alice,
            &["act", "INC-1", "--target", "mysql", "--action", "restart"],
            1,
        );
        assert!(stderr.contains("does not perform operations"), "{stderr}");

        // An intent given up; only once.
        let (announced, stderr) = ok_both(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "dns",
                "--intent",
                "about to lower the TTL",
            ],
        );
        assert!(
            stderr.is_empty(),
            "acknowledged changes no longer collide: {stderr}"
        );
        assert!(announced.contains("intent 2 announced"), "{announced}");
        let stderr = fails(&server, &carol, &["act", "abandon", "INC-1", "2"], 1);
        assert!(stderr.contains("announced by bob"), "{stderr}");
        let abandoned = ok(
            &server,
            &bob,
            &[
                "act",
                "abandon",
                "INC-1",
                "2",
                "--reason",
                "the resolver recovered by itself",
            ],
        );
        assert!(
            abandoned.contains(": dropped intent ") || abandoned.contains(" dropped intent "),
            "{abandoned}"
        );
        let stderr = fails(&server, &bob, &["act", "abandon", "INC-1", "2"], 1);
        assert!(stderr.contains("already abandoned"), "{stderr}");

        // The witness rule on a SEV1.
        assert_eq!(
            ok(&server, &alice, &["act", "require-witness", "INC-1"]),
            "INC-1: every operation now needs a witness (--witness NAME) while the incident is SEV1 or SEV2\n"
        );
        let stderr = fails(&server, &alice, &["act", "require-witness", "INC-1"], 1);
        assert!(stderr.contains("already"), "{stderr}");
        let stderr = fails(
            &server,
            &bob,
            &["act", "INC-1", "--target", "mysql", "--action", "failover"],
            1,
        );
        assert!(stderr.contains("requires a witness"), "{stderr}");
        let stderr = fails(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "mysql",
                "--action",
                "failover",
                "--witness",
                "bob",
            ],
            1,
        );
        assert!(stderr.contains("someone other than yourself"), "{stderr}");
        let witnessed = ok(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "mysql",
                "--action",
                "failover",
                "--witness",
                "carol",
            ],
        );
        assert!(witnessed.contains("witnessed by carol"), "{witnessed}");
        // An intent announced with a witness carries it to `done`.
        ok(
            &server,
            &bob,
            &[
                "act",
                "INC-1",
                "--target",
                "mysql",
                "--intent",
                "about to promote the replica",
                "--witness",
                "carol",
            ],
        );
        let done = ok(&server, &bob, &["act", "done", "INC-1", "3"]);
        assert!(done.contains("witnessed by carol"), "{done}");
        let json = json_of(&ok(
            &server,
            &alice,
            &["act", "require-witness", "INC-1", "--off", "--json"],
        ));
        assert_eq!(json["entries"][0]["type"], "witness_rule_changed");
        let json = json_of(&ok(
            &server,
            &bob,
            &[
                "act", "INC-1", "--target", "mysql", "--action", "tuned", "--json",
            ],
        ));
        assert_eq!(json["entries"][0]["type"], "operation_recorded");
    }
}
