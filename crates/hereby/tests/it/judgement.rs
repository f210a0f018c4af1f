//! Judgement under pressure through the API, end to end on every database: the service
//! catalogue and its import, releases, the severity checklist, the suspect release and the
//! follow-up ladder, intents, witnesses, change collisions and role discipline.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, databases};

fn put(server: &Server, path: &str, token: &str, body: Value) -> (u16, Value) {
    server.call("PUT", path, Some(token), Some(&body.to_string()), &[])
}

fn entry_types(write: &Value) -> Vec<String> {
    write["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn ago(hours: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(hours)).to_string()
}

#[test]
fn the_catalogue_imports_all_or_nothing_and_releases_are_recorded_once() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let rita = server.user("rita", "responder");
        let (status, imported) = server.post(
            "/api/v1/services/import",
            &admin,
            json!({ "services": [
                { "name": "api", "owner_team": "platform", "criticality": "critical",
                  "max_unavailability": "30m", "public": true, "depends_on": ["db"],
                  "incident_definition": "≥ 2 users cannot log in" },
                { "name": "db", "owner_team": "data", "criticality": "high" },
            ]}),
        );
        assert_eq!(status, 200, "{imported}");
        assert_eq!(imported["services"].as_array().unwrap().len(), 2);
        let (status, refused) = server.post(
            "/api/v1/services/import",
            &admin,
            json!({ "services": [
                { "name": "wiki", "owner_team": "docs", "criticality": "low" },
                { "name": "mail", "owner_team": "it", "criticality": "urgent" },
            ]}),
        );
        assert_eq!(status, 422, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("service 2 (`mail`)"),
            "{refused}"
        );
        let (_, listed) = server.get("/api/v1/services", &rita);
        let names: Vec<&str> = listed["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["api", "db"], "a refused import stores nothing");
        let (status, shown) = server.get("/api/v1/services/api", &rita);
        assert_eq!(status, 200);
        assert_eq!(shown["incident_definition"], "≥ 2 users cannot log in");
        assert_eq!(shown["max_unavailability"], "30m");
        let (status, _) = put(
            &server,
            "/api/v1/services/api",
            &rita,
            json!({ "owner_team": "x", "criticality": "low" }),
        );
        assert_eq!(status, 403, "only admins change the catalogue");
        let (status, body) = put(
            &server,
            "/api/v1/services/web",
            &admin,
            json!({ "owner_team": "web", "criticality": "normal", "depends_on": ["web"] }),
        );
        assert_eq!(status, 422, "{body}");
        let (status, body) = put(
            &server,
            "/api/v1/services/web",
            &admin,
            json!({ "owner_team": "web", "criticality": "normal", "max_unavailability": "soon" }),
        );
        assert_eq!(status, 422, "{body}");

        let release =
            json!({ "service": "api", "version": "3.4.1", "at": ago(1), "notes": "deploy 812" });
        let (status, first) = server.post("/api/v1/releases", &rita, release.clone());
        assert_eq!(status, 201, "{first}");
        let (status, again) = server.post("/api/v1/releases", &rita, release);
        assert_eq!(
            status, 200,
            "a retried pipeline call is not a second release: {again}"
        );
        let (status, _) = server.post(
            "/api/v1/releases",
            &rita,
            json!({ "service": "api", "version": "3.5", "at": "2999-01-01T00:00:00Z" }),
        );
        assert_eq!(status, 422, "releases from the future are refused");
        let (_, releases) = server.get("/api/v1/releases?service=api", &rita);
        assert_eq!(
            releases["releases"].as_array().unwrap().len(),
            1,
            "{releases}"
        );

        let (status, rules) = server.get("/api/v1/severity-rules", &rita);
        assert_eq!(status, 200);
        let text = rules["toml"].as_str().unwrap();
        assert!(
            text.contains("[[rule]]") && text.contains("default = \"SEV4\""),
            "{text}"
        );
    }
}

#[test]
fn checklist_suspect_release_and_the_ladder_through_the_api() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let rita = server.user("rita", "responder");
        let (status, _) = put(
            &server,
            "/api/v1/services/api",
            &admin,
            json!({ "owner_team": "platform", "criticality": "critical" }),
        );
        assert_eq!(status, 200);
        for (version, hours) in [("3.3.0", 60), ("3.4.0", 5), ("3.4.1", 1)] {
            let (status, body) = server.post(
                "/api/v1/releases",
                &rita,
                json!({ "service": "api", "version": version, "at": ago(hours) }),
            );
            assert_eq!(status, 201, "{body}");
        }
        let (_, declared) = server.post(
            "/api/v1/incidents",
            &rita,
            json!({ "title": "Logins fail", "severity": "SEV3", "services": ["api"] }),
        );
        let id = declared["id"].as_str().unwrap().to_owned();
        let at = |suffix: &str| format!("/api/v1/incidents/{id}{suffix}");

        let checklist = json!({ "live": true, "users_affected": 40, "sites": ["eu-west"],
                                "availability": true, "data_loss_or_security": false,
                                "workaround": false });
        let (status, evaluated) = server.post(&at("/evaluation"), &rita, checklist.clone());
        assert_eq!(status, 200, "{evaluated}");
        assert_eq!(evaluated["suggested"], "SEV1");
        assert_eq!(
            evaluated["rule"], "critical service unavailable without a workaround",
            "the catalogue's criticality reached the rules"
        );
        let mut other = checklist.clone();
        other["chosen"] = json!("SEV2");
        let (status, refused) = server.post(&at("/evaluation"), &rita, other.clone());
        assert_eq!(status, 422);
        assert_eq!(refused["error"]["code"], "reason_required");
        other["reason"] = json!("only the login page of one region");
        let (status, _) = server.post(&at("/evaluation"), &rita, other);
        assert_eq!(status, 200);
        let (_, document) = server.get(&at(""), &rita);
        assert_eq!(document["severity"], "SEV2");
        assert_eq!(document["evaluation"]["suggested"], "SEV1");
        assert_eq!(
            document["evaluation"]["reason"],
            "only the login page of one region"
        );

        let (_, around) = server.get(&at("/releases"), &rita);
        let versions: Vec<&str> = around["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_str().unwrap())
            .collect();
        assert_eq!(
            versions,
            ["3.4.1", "3.4.0"],
            "the 48 hours before impact start"
        );

        let (status, unknown) = server.post(
            &at("/suspect-release"),
            &rita,
            json!({ "service": "api", "version": "9.9" }),
        );
        assert_eq!(status, 422);
        assert_eq!(unknown["error"]["code"], "unknown_release");

        let (_, ladder) = server.get(&at("/ladder"), &rita);
        assert_eq!(ladder["rungs"][2]["option"], "roll_back");
        assert_eq!(
            ladder["rungs"][2]["applicable"], false,
            "no suspect named yet"
        );

        // A latent fault: the suspect is not the latest release.
        let (status, _) = server.post(
            &at("/suspect-release"),
            &rita,
            json!({ "service": "api", "version": "3.4.0" }),
        );
        assert_eq!(status, 200);
        let (_, ladder) = server.get(&at("/ladder"), &rita);
        assert_eq!(ladder["rungs"][2]["applicable"], false);
        assert!(
            ladder["rungs"][2]["note"]
                .as_str()
                .unwrap()
                .starts_with("Latent fault")
        );
        let (status, refused) = server.post(
            &at("/decisions"),
            &rita,
            json!({ "option": "roll_back", "motivation": "3.4 broke logins" }),
        );
        assert_eq!(status, 422);
        assert_eq!(refused["error"]["code"], "rollback_not_applicable");

        let (status, _) = server.post(
            &at("/suspect-release"),
            &rita,
            json!({ "service": "api", "version": "3.4.1", "reason": "logins fail since the deploy" }),
        );
        assert_eq!(status, 200);
        let (_, ladder) = server.get(&at("/ladder"), &rita);
        assert_eq!(ladder["rungs"][2]["applicable"], true, "{ladder}");
        assert_eq!(ladder["rungs"][2]["roll_back_to"]["version"], "3.4.0");
        let (status, decided) = server.post(
            &at("/decisions"),
            &rita,
            json!({ "option": "roll_back", "motivation": "3.4.1 broke logins; 3.4.0 was fine" }),
        );
        assert_eq!(status, 200, "{decided}");
        let owners: Vec<&str> = decided["write"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "action_item_added")
            .map(|e| e["body"]["owner"]["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            owners,
            [
                "release_manager",
                "communications",
                "operations_manager",
                "incident_commander"
            ]
        );
        assert_eq!(
            decided["message_draft"]["template"],
            "rollback-announcement"
        );
        assert!(
            decided["message_draft"]["body"]
                .as_str()
                .unwrap()
                .contains(&id),
            "{decided}"
        );
        let (status, refused) = server.post(
            &at("/decisions"),
            &rita,
            json!({ "option": "fast_tracked_release", "motivation": " " }),
        );
        assert_eq!(status, 422, "a decision needs its motivation: {refused}");
        let (_, document) = server.get(&at(""), &rita);
        assert_eq!(document["decision"]["option"], "roll_back");
        assert_eq!(document["decision"]["roll_back_to"]["version"], "3.4.0");

        // An impact start at the edge of time still gives a releases window, not a crash.
        let (status, body) = put(
            &server,
            &at("/impact"),
            &rita,
            json!({ "start": "-009999-01-03T00:00:00Z" }),
        );
        assert_eq!(status, 200, "{body}");
        let (status, around) = server.get(&at("/releases"), &rita);
        assert_eq!(status, 200, "{around}");
    }
}

fn deliveries(server: &Server) -> Vec<Value> {
    let (status, list) = server.get("/api/v1/deliveries", &server.admin);
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[test]
fn intents_witnesses_collisions_and_role_discipline_through_the_api() {
    for database in databases() {
        let server = Server::start_with(&database, &["--notify-backoff", "1h"]);
        let admin = server.admin.clone();
        let rita = server.user("rita", "responder");
        let bob = server.user("bob", "responder");
        let carol = server.user("carol", "responder");
        server.user("wendy", "responder");
        // The Incident Commander hears of collisions at their own address.
        let (status, _) = server.post(
            "/api/v1/channels",
            &admin,
            json!({ "name": "mail", "kind": "email", "host": "127.0.0.1", "port": 1,
                    "tls": "none", "from": "hereby@example.com", "personal": true }),
        );
        assert_eq!(status, 201);
        let (status, _) = put(
            &server,
            "/api/v1/users/rita/email",
            &admin,
            json!({ "email": "rita@example.com" }),
        );
        assert_eq!(status, 204);

        let (_, declared) = server.post(
            "/api/v1/incidents",
            &rita,
            json!({ "title": "MySQL primary overloaded", "severity": "SEV1" }),
        );
        let id = declared["id"].as_str().unwrap().to_owned();
        let at = |suffix: &str| format!("/api/v1/incidents/{id}{suffix}");

        // Only Operations changes production; the refusal is 403 and names who can.
        let (status, refused) = server.post(
            &at("/operations"),
            &bob,
            json!({ "target": "mysql-primary", "action": "raise max_connections" }),
        );
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["error"]["code"], "not_permitted");
        assert_eq!(
            refused["error"]["message"],
            "only Operations (nobody holds it now) can change production for this incident; ask rita to give you Operations"
        );
        for person in ["bob", "carol"] {
            let (status, body) = server.post(
                &at("/roles"),
                &rita,
                json!({ "role": "operations", "person": person }),
            );
            assert_eq!(status, 200, "{body}");
        }

        let (status, refused) = put(
            &server,
            &at("/witness-rule"),
            &bob,
            json!({ "required": true }),
        );
        assert_eq!(status, 422);
        assert_eq!(refused["error"]["code"], "not_incident_commander");
        let (status, _) = put(
            &server,
            &at("/witness-rule"),
            &rita,
            json!({ "required": true }),
        );
        assert_eq!(status, 200);

        let (status, refused) = server.post(
            &at("/operations"),
            &bob,
            json!({ "target": "mysql-primary", "action": "raise max_connections" }),
        );
        assert_eq!(status, 422);
        assert_eq!(refused["error"]["code"], "witness_required");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("witness")
        );

        let (status, announced) = server.post(
            &at("/intents"),
            &bob,
            json!({ "target": "mysql-primary", "action": "about to restart the MySQL primary",
                    "witness": "wendy" }),
        );
        assert_eq!(status, 200, "{announced}");
        assert_eq!(entry_types(&announced), ["intent_announced"]);

        // Another person's change in the same window, before bob's change lands.
        let (status, second) = server.post(
            &at("/intents"),
            &carol,
            json!({ "target": "api", "action": "about to restart the API pods" }),
        );
        assert_eq!(status, 200);
        assert_eq!(
            entry_types(&second),
            ["intent_announced", "change_collision"]
        );
        let (_, document) = server.get(&at(""), &rita);
        assert_eq!(
            document["open_collisions"].as_array().unwrap().len(),
            1,
            "{document}"
        );
        assert_eq!(document["open_intents"].as_array().unwrap().len(), 2);

        let (status, done) = server.post(
            &at("/intents/1/done"),
            &bob,
            json!({ "command": "systemctl restart mysql" }),
        );
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            done["entries"][0]["body"]["witness"], "wendy",
            "the intent's witness"
        );
        // Carol carries out her intent too: the pair was flagged once, at her announcement.
        let (status, carried) = server.post(
            &at("/intents/2/done"),
            &carol,
            json!({ "witness": "wendy" }),
        );
        assert_eq!(status, 200, "{carried}");
        assert_eq!(entry_types(&carried), ["operation_recorded"]);
        let (status, again) = server.post(
            &at("/intents/2/abandon"),
            &carol,
            json!({ "reason": "already done" }),
        );
        assert_eq!(status, 422);
        assert_eq!(again["error"]["code"], "intent_state");

        // The commander is told, and the timeline keeps the attempt.
        let (status, refused) = server.post(
            &at("/operations"),
            &rita,
            json!({ "target": "mysql-primary", "action": "kill the long query", "witness": "bob" }),
        );
        assert_eq!(status, 422);
        assert_eq!(refused["error"]["code"], "ic_cannot_operate");
        let (_, timeline) = server.get(&at("/timeline"), &rita);
        assert!(
            timeline["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "ic_operation_attempted" && e["actor"] == "rita"),
            "{timeline}"
        );

        // Recovery inside the collision's window cannot be attributed.
        let (status, recovered) =
            server.post(&at("/status"), &rita, json!({ "status": "monitoring" }));
        assert_eq!(status, 200, "{recovered}");
        assert_eq!(
            entry_types(&recovered),
            ["status_changed", "recovery_unattributed"]
        );
        let (status, acknowledged) = server.post(&at("/changes/acknowledge"), &rita, json!(null));
        assert_eq!(status, 200, "{acknowledged}");
        let (_, document) = server.get(&at(""), &rita);
        assert!(document["open_collisions"].as_array().unwrap().is_empty());
        assert_eq!(document["collisions"][0]["unattributed"], true);

        let start = Instant::now();
        loop {
            let queued = deliveries(&server);
            if queued
                .iter()
                .any(|d| d["kind"] == "change_collision" && d["recipient"] == "rita@example.com")
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no notice to the commander: {queued:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
