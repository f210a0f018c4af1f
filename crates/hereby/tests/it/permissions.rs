//! People and permissions end to end, through the real CLI and API on every database: a
//! misspelt or disabled name is refused with the closest names and changes nothing, the
//! permission table refuses with who can, `hereby permissions` prints the table in force, and
//! `hereby serve --permissions FILE` changes it (a broken file stops the server from
//! starting).

use std::process::Command;

use serde_json::{Value, json};

use crate::api::{Server, cli, databases};

fn ok(server: &Server, token: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, 0, "hereby {args:?} failed: {stderr}{stdout}");
    stdout
}

fn fails(server: &Server, token: &str, args: &[&str], expected: i32) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, expected, "hereby {args:?}: {stdout}{stderr}");
    stderr
}

fn holders(server: &Server, token: &str, role: &str) -> Value {
    let (status, incident) = server.get("/api/v1/incidents/INC-1", token);
    assert_eq!(status, 200, "{incident}");
    incident["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|held| held["role"] == role)
        .map_or(Value::Null, |held| held["holders"].clone())
}

#[test]
fn names_are_checked_and_nothing_changes_on_a_typo() {
    for database in databases() {
        let server = Server::start(&database);
        let sam = server.user("sam", "responder");
        let anna = server.user("anna-ops", "responder");
        server.user("carl", "responder");
        server.user("dina", "responder");
        let (status, _) = server.call(
            "PATCH",
            "/api/v1/users/dina",
            Some(&server.admin),
            Some(r#"{"disabled":true}"#),
            &[],
        );
        assert_eq!(status, 200);
        ok(
            &server,
            &sam,
            &["declare", "Checkout down", "--severity", "SEV2"],
        );
        // Each write says what it did in one sentence.
        let said = ok(
            &server,
            &sam,
            &["role", "assign", "INC-1", "communications", "carl"],
        );
        assert_eq!(said, "INC-1: carl is now Communications\n");
        ok(
            &server,
            &sam,
            &["role", "assign", "INC-1", "operations", "anna-ops"],
        );

        // A typo does not relieve the real communications lead.
        let stderr = fails(
            &server,
            &sam,
            &["role", "assign", "INC-1", "communications", "annaops"],
            1,
        );
        assert_eq!(
            stderr.trim(),
            "hereby: no user `annaops`; did you mean `anna-ops`?"
        );
        assert_eq!(holders(&server, &sam, "communications"), json!(["carl"]));

        // The API answers 422 `unknown_user`, for every place that names a person.
        let named = [
            (
                "/roles",
                json!({ "role": "scribe", "person": "dina" }),
                "`dina` is disabled",
            ),
            (
                "/handoff",
                json!({ "to": "ghostuser" }),
                "no user `ghostuser`",
            ),
            (
                "/members",
                json!({ "person": "anna_ops" }),
                "did you mean `anna-ops`?",
            ),
            (
                "/action-items",
                json!({ "text": "add an alert", "owner": "sammy" }),
                "no user `sammy`; did you mean `sam`?",
            ),
        ];
        for (path, body, says) in named {
            let (status, refused) =
                server.post(&format!("/api/v1/incidents/INC-1{path}"), &sam, body);
            assert_eq!(status, 422, "{path}: {refused}");
            assert_eq!(refused["error"]["code"], "unknown_user", "{path}");
            let message = refused["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{path}: {message}");
        }
        // `--witness ghostuser` does not satisfy the witness rule.
        let stderr = fails(
            &server,
            &anna,
            &[
                "act",
                "INC-1",
                "--target",
                "db",
                "--action",
                "restart",
                "--witness",
                "ghostuser",
            ],
            1,
        );
        assert!(stderr.contains("no user `ghostuser`"), "{stderr}");
        let (status, timeline) = server.get("/api/v1/incidents/INC-1/timeline", &sam);
        assert_eq!(status, 200);
        let kinds: Vec<&str> = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["incident_declared", "role_assigned", "role_assigned"],
            "nothing refused was written"
        );
        // Spelled right, the single-holder role changes hands, and the sentence says so.
        let said = ok(
            &server,
            &sam,
            &["role", "assign", "INC-1", "communications", "anna-ops"],
        );
        assert_eq!(
            said,
            "INC-1: anna-ops is now Communications (relieves carl)\n"
        );
    }
}

#[test]
fn the_permission_table_refuses_with_who_can_and_can_be_replaced() {
    for database in databases() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("permissions.toml");
        std::fs::write(
            &file,
            "# Small team: experts may change production too.\noperations = [\"operations\", \"subject_matter_expert\"]\n",
        )
        .unwrap();
        let server = Server::start_with(&database, &["--permissions", file.to_str().unwrap()]);
        let sam = server.user("sam", "responder");
        let bob = server.user("bob", "responder");
        ok(
            &server,
            &sam,
            &["declare", "Checkout down", "--severity", "SEV2"],
        );

        let stderr = fails(&server, &bob, &["resolve", "INC-1"], 1);
        assert_eq!(
            stderr.trim(),
            "hereby: only the Incident Commander (sam) or an admin can resolve this incident; ask sam, or ask them to hand command to you"
        );
        let stderr = fails(&server, &bob, &["update", "INC-1", "We are on it."], 1);
        assert!(
            stderr.contains("only Communications (nobody holds it now), the Incident Commander (sam) or an admin can post stakeholder updates"),
            "{stderr}"
        );
        // Anyone writes down what they see.
        ok(&server, &bob, &["note", "INC-1", "error rate at 40%"]);

        // The configured row: an expert may record an operation.
        ok(
            &server,
            &sam,
            &["role", "assign", "INC-1", "subject_matter_expert", "bob"],
        );
        ok(
            &server,
            &bob,
            &["act", "INC-1", "--target", "db", "--action", "restarted it"],
        );

        let table = ok(&server, &bob, &["permissions"]);
        assert!(
            table.contains("operations  operations, subject_matter_expert"),
            "{table}"
        );
        assert!(
            table.contains("status      incident_commander, admin"),
            "{table}"
        );
        let toml = ok(&server, &bob, &["permissions", "--toml"]);
        assert!(
            toml.contains("operations = [\"operations\", \"subject_matter_expert\"]\n"),
            "{toml}"
        );
        let json: Value =
            serde_json::from_str(&ok(&server, &bob, &["permissions", "--json"])).unwrap();
        assert_eq!(json["rows"][0]["capability"], "status");
    }
}

#[test]
fn a_broken_permission_table_stops_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("permissions.toml");
    std::fs::write(&file, "updates = [\"comms\"]\n").unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .args(["--permissions", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`updates`: no role `comms` in the role catalogue"),
        "{stderr}"
    );
}

/// The deliveries queued so far whose recipient is `address`, waiting a little for the
/// dispatcher.
fn deliveries_to(server: &Server, address: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, list) = server.get("/api/v1/deliveries", &server.admin);
        assert_eq!(status, 200, "{list}");
        let found: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|delivery| delivery["recipient"] == address)
            .cloned()
            .collect();
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_handoff_reaches_the_person_and_a_decline_reaches_the_commander() {
    for database in databases() {
        let server = Server::start_with(&database, &["--notify-backoff", "1h"]);
        let sam = server.user("sam", "responder");
        let nina = server.user("nina", "responder");
        let (status, _) = server.post(
            "/api/v1/channels",
            &server.admin,
            json!({ "name": "mail", "kind": "email", "host": "127.0.0.1", "port": 1,
                    "tls": "none", "from": "hereby@example.com", "personal": true }),
        );
        assert_eq!(status, 201);
        for (user, address) in [("sam", "sam@example.com"), ("nina", "nina@example.com")] {
            let (status, _) = server.call(
                "PUT",
                &format!("/api/v1/users/{user}/email"),
                Some(&server.admin),
                Some(&json!({ "email": address }).to_string()),
                &[],
            );
            assert_eq!(status, 204);
        }
        // A restricted incident: the person asked must see what they are asked to take on.
        ok(
            &server,
            &sam,
            &[
                "declare",
                "Key leaked",
                "--severity",
                "SEV2",
                "--restricted",
            ],
        );
        ok(&server, &sam, &["role", "handoff", "INC-1", "nina"]);

        let asked = deliveries_to(&server, "nina@example.com", 1);
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert_eq!(
            asked[0]["subject"],
            "[INC-1] Key leaked: sam asks you to take command"
        );
        let shown = ok(&server, &nina, &["show", "INC-1"]);
        assert!(
            shown.contains("hand-off: sam asks nina to take command (waiting since "),
            "{shown}"
        );
        assert!(
            shown.contains(
                "nina answers with `hereby role accept INC-1` or `hereby role decline INC-1`"
            ),
            "{shown}"
        );

        ok(
            &server,
            &nina,
            &[
                "role",
                "decline",
                "INC-1",
                "--reason",
                "off shift in ten minutes",
            ],
        );
        let declined = deliveries_to(&server, "sam@example.com", 1);
        assert_eq!(declined.len(), 1, "{declined:?}");
        assert_eq!(
            declined[0]["subject"],
            "[INC-1] Key leaked: nina declined command"
        );
        // Declined, nina no longer sees the restricted incident.
        let (status, _) = server.get("/api/v1/incidents/INC-1", &nina);
        assert_eq!(status, 404);
    }
}
