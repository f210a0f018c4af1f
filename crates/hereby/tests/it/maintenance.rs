//! Scheduled maintenance end to end: scheduling, changing the plan and moving through every
//! status over the API and the CLI, the Statuspage documents field by field at each step,
//! the time-driven start and completion, subscribers told through the outbox, and the
//! firing alerts it suppresses. The real server on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::api::{Server, databases};
use crate::notify::{Receiver, webhook};
use crate::status::{check_statuspage_shape, cli, keys, public_json, set, stdout};

fn later(minutes: i64) -> String {
    Timestamp::now()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string()
}

/// Checks a maintenance against Statuspage's scheduled-maintenance shape.
fn check_maintenance_shape(path: &str, maintenance: &Value) {
    assert_eq!(
        keys(maintenance),
        set(&[
            "id",
            "name",
            "status",
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "impact",
            "shortlink",
            "started_at",
            "page_id",
            "incident_updates",
            "components",
            "scheduled_for",
            "scheduled_until",
        ]),
        "{path}: {maintenance}"
    );
    assert_eq!(maintenance["impact"], "maintenance", "{path}");
    assert!(
        set(&["scheduled", "in_progress", "verifying", "completed"])
            .contains(maintenance["status"].as_str().unwrap()),
        "{path}: {maintenance}"
    );
    for update in maintenance["incident_updates"].as_array().unwrap() {
        assert_eq!(update["incident_id"], maintenance["id"], "{path}");
        assert!(
            set(&["scheduled", "in_progress", "verifying", "completed"])
                .contains(update["status"].as_str().unwrap()),
            "{path}: {update}"
        );
    }
}

/// The three maintenance documents and the summary's list, by id.
fn documents(server: &Server) -> [Vec<Value>; 4] {
    let list = |path: &str, field: &str| {
        let document = public_json(server, path);
        check_statuspage_shape(path, &document);
        let list = document[field].as_array().unwrap().clone();
        for maintenance in &list {
            check_maintenance_shape(path, maintenance);
        }
        list
    };
    [
        list(
            "/api/v2/scheduled-maintenances.json",
            "scheduled_maintenances",
        ),
        list(
            "/api/v2/scheduled-maintenances/upcoming.json",
            "scheduled_maintenances",
        ),
        list(
            "/api/v2/scheduled-maintenances/active.json",
            "scheduled_maintenances",
        ),
        list("/api/v2/summary.json", "scheduled_maintenances"),
    ]
}

fn component_status(server: &Server, name: &str) -> String {
    let components = public_json(server, "/api/v2/components.json");
    components["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn a_maintenance_goes_through_every_status_on_the_status_page() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let alice = server.user("alice", "responder");
        let viewer = server.user("vera", "viewer");
        for name in ["db", "checkout"] {
            let (status, reply) = server.call(
                "PUT",
                &format!("/api/v1/components/{name}"),
                Some(&admin),
                Some("{}"),
                &[],
            );
            assert_eq!(status, 200, "{reply}");
        }
        let receiver = Receiver::start();
        webhook(
            &server,
            "status-subscribers",
            &format!("http://127.0.0.1:{}/hook", receiver.port),
            &["maintenance"],
        );

        // Refusals first: each says why and stores nothing.
        let plan = |title: &str, components: Value, starts: &str, ends: &str| json!({ "title": title, "components": components, "starts_at": starts, "ends_at": ends });
        for (body, status, field) in [
            (
                plan("Upgrade", json!(["db"]), &later(60), &later(30)),
                422,
                "ends_at",
            ),
            (
                plan("", json!(["db"]), &later(30), &later(60)),
                422,
                "title",
            ),
            (
                plan("Upgrade", json!([]), &later(30), &later(60)),
                422,
                "components",
            ),
            (
                plan("Upgrade", json!(["nope"]), &later(30), &later(60)),
                422,
                "components",
            ),
            (
                plan("Upgrade", json!(["db"]), "tomorrow", &later(60)),
                422,
                "starts_at",
            ),
            (
                plan("Upgrade", json!(["db"]), &later(-120), &later(-60)),
                422,
                "ends_at",
            ),
        ] {
            let (got, reply) = server.post("/api/v1/maintenances", &alice, body.clone());
            assert_eq!(got, status, "{body} → {reply}");
            assert_eq!(reply["error"]["code"], "invalid_value", "{reply}");
            assert!(
                reply["error"]["message"].as_str().unwrap().contains(field),
                "{field}: {reply}"
            );
        }
        let (status, _) = server.post(
            "/api/v1/maintenances",
            &viewer,
            plan("Upgrade", json!(["db"]), &later(30), &later(60)),
        );
        assert_eq!(status, 403, "viewers read, they do not schedule");
        let (_, none) = server.get("/api/v1/maintenances", &alice);
        assert_eq!(none, json!([]));

        // Scheduled two hours ahead.
        let (status, scheduled) = server.post(
            "/api/v1/maintenances",
            &alice,
            json!({
                "title": "Database upgrade",
                "components": ["db"],
                "starts_at": later(120),
                "ends_at": later(180),
                "body": "We upgrade the primary database; checkout may be slow for a minute.",
            }),
        );
        assert_eq!(status, 201, "{scheduled}");
        let id = scheduled["id"].as_i64().unwrap();
        assert_eq!(scheduled["status"], "scheduled");
        assert_eq!(scheduled["created_by"], "alice");
        assert_eq!(scheduled["updates"].as_array().unwrap().len(), 1);
        let [all, upcoming, active, summary] = documents(&server);
        assert_eq!(all.len(), 1);
        assert_eq!(upcoming.len(), 1);
        assert!(active.is_empty());
        assert_eq!(summary.len(), 1);
        let shown = &upcoming[0];
        assert_eq!(shown["id"], format!("maintenance-{id}"));
        assert_eq!(shown["name"], "Database upgrade");
        assert_eq!(shown["status"], "scheduled");
        assert_eq!(shown["resolved_at"], Value::Null);
        assert_eq!(shown["monitoring_at"], Value::Null);
        assert_eq!(shown["page_id"], "hereby");
        assert_eq!(shown["components"][0]["name"], "db");
        assert_eq!(shown["components"][0]["status"], "operational");
        let planned_start: Timestamp = scheduled["starts_at"].as_str().unwrap().parse().unwrap();
        let shown_start: Timestamp = shown["scheduled_for"].as_str().unwrap().parse().unwrap();
        assert_eq!(planned_start, shown_start);
        assert_eq!(
            shown["incident_updates"][0]["body"],
            "We upgrade the primary database; checkout may be slow for a minute."
        );
        assert_eq!(component_status(&server, "db"), "operational");
        let status_json = public_json(&server, "/api/v2/status.json");
        assert_eq!(status_json["status"]["indicator"], "none");
        let page = crate::status::fetch(&server.address, "/status", &[]).2;
        assert!(page.contains("Scheduled maintenance"), "{page}");
        assert!(page.contains("Database upgrade"), "{page}");

        // The plan moves by an hour, with words for the public; the reminder is owed again.
        let (status, moved) = server.call(
            "PUT",
            &format!("/api/v1/maintenances/{id}"),
            Some(&alice),
            Some(
                &json!({
                    "title": "Database upgrade",
                    "components": ["db", "checkout"],
                    "starts_at": later(180),
                    "ends_at": later(240),
                    "body": "Moved an hour later.",
                })
                .to_string(),
            ),
            &[],
        );
        assert_eq!(status, 200, "{moved}");
        assert_eq!(moved["components"], json!(["db", "checkout"]));
        assert_eq!(moved["updates"][0]["body"], "Moved an hour later.");

        // Backwards and sideways moves are refused with the rule's words.
        let update =
            |body: Value| server.post(&format!("/api/v1/maintenances/{id}/updates"), &alice, body);
        let (status, reply) = update(json!({}));
        assert_eq!(status, 422, "{reply}");
        let (status, reply) = update(json!({ "status": "done" }));
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (422, Some("invalid_value"))
        );

        // In progress: the components are under maintenance, the page says so.
        let (status, started) =
            update(json!({ "status": "in_progress", "body": "Started early." }));
        assert_eq!(status, 201, "{started}");
        assert_eq!(started["status"], "in_progress");
        assert!(started["started_at"].is_string());
        let [_, upcoming, active, summary] = documents(&server);
        assert!(upcoming.is_empty());
        assert_eq!(active.len(), 1);
        assert_eq!(summary.len(), 1);
        assert_eq!(active[0]["status"], "in_progress");
        assert_eq!(active[0]["incident_updates"][0]["status"], "in_progress");
        assert_eq!(active[0]["incident_updates"][0]["body"], "Started early.");
        assert_eq!(component_status(&server, "db"), "under_maintenance");
        assert_eq!(component_status(&server, "checkout"), "under_maintenance");
        let status_json = public_json(&server, "/api/v2/status.json");
        assert_eq!(status_json["status"]["indicator"], "maintenance");
        assert_eq!(
            status_json["status"]["description"],
            "Service Under Maintenance"
        );
        let (status, reply) = update(json!({ "status": "scheduled" }));
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (422, Some("maintenance_not_now")),
            "{reply}"
        );
        let (status, reply) = server.call(
            "DELETE",
            &format!("/api/v1/maintenances/{id}"),
            Some(&alice),
            None,
            &[],
        );
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (422, Some("maintenance_not_now")),
            "a maintenance the public saw run stays on record: {reply}"
        );

        // Verifying, then completed through the CLI.
        let (status, _) = update(json!({ "status": "verifying" }));
        assert_eq!(status, 201);
        assert_eq!(documents(&server)[2][0]["status"], "verifying");
        let out = stdout(&cli(
            &server,
            &alice,
            &[
                "maintenance",
                "update",
                &id.to_string(),
                "--status",
                "completed",
                "--message",
                "All done.",
            ],
        ));
        assert!(out.contains("status:     completed"), "{out}");
        let [all, upcoming, active, summary] = documents(&server);
        assert!(upcoming.is_empty() && active.is_empty() && summary.is_empty());
        assert_eq!(all[0]["status"], "completed");
        assert!(all[0]["resolved_at"].is_string());
        let statuses: Vec<&str> = all[0]["incident_updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [
                "completed",
                "verifying",
                "in_progress",
                "scheduled",
                "scheduled"
            ],
            "newest first"
        );
        assert_eq!(component_status(&server, "db"), "operational");
        let feed = crate::status::fetch(&server.address, "/status/feed.atom", &[]).2;
        assert!(
            feed.contains("Maintenance: Database upgrade (completed)"),
            "{feed}"
        );
        let (status, reply) = update(json!({ "body": "One more thing" }));
        assert_eq!(
            status, 422,
            "a completed maintenance keeps its record: {reply}"
        );

        // Subscribers heard of it: scheduled, rescheduled, started, verifying, completed.
        let deadline = Instant::now() + Duration::from_secs(30);
        let events = loop {
            let events: Vec<String> = receiver
                .received
                .lock()
                .unwrap()
                .iter()
                .map(|r| {
                    r.json()["maintenance"]["event"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            if events.len() >= 5 || Instant::now() > deadline {
                break events;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // Deliveries go out several at once, so they may arrive in any order.
        let mut events = events;
        events.sort();
        assert_eq!(
            events,
            [
                "completed",
                "rescheduled",
                "scheduled",
                "started",
                "verifying"
            ],
            "{database}"
        );
        let first = receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.json())
            .find(|body| body["maintenance"]["event"] == "scheduled")
            .unwrap();
        assert_eq!(first["kind"], "maintenance");
        assert_eq!(first["maintenance"]["name"], "Database upgrade");
        assert_eq!(
            first["maintenance"]["id"],
            id.to_string(),
            "the announcement carries the id the later notices carry"
        );
        assert_eq!(first["maintenance"]["components"], json!(["db"]));

        // The CLI lists it; a maintenance not begun may be removed.
        let list = stdout(&cli(&server, &alice, &["maintenance", "list"]));
        assert!(
            list.contains("completed") && list.contains("Database upgrade"),
            "{list}"
        );
        let out = stdout(&cli(
            &server,
            &alice,
            &[
                "maintenance",
                "schedule",
                "--title",
                "Cache flush",
                "--component",
                "checkout",
                "--starts",
                &later(600),
                "--ends",
                &later(660),
                "--quiet",
            ],
        ));
        let second: i64 = out
            .split_whitespace()
            .nth(1)
            .unwrap()
            .trim_end_matches(':')
            .parse()
            .unwrap();
        let removed = cli(
            &server,
            &alice,
            &["maintenance", "remove", &second.to_string(), "--quiet"],
        );
        assert!(removed.status.success());
        let gone = cli(
            &server,
            &alice,
            &["maintenance", "show", &second.to_string()],
        );
        assert_eq!(gone.status.code(), Some(1), "removed is gone");
        let bad = cli(
            &server,
            &alice,
            &[
                "maintenance",
                "schedule",
                "--title",
                "x",
                "--component",
                "checkout",
                "--starts",
                "soon",
                "--ends",
                &later(60),
            ],
        );
        assert_eq!(bad.status.code(), Some(2), "a bad time is a usage error");
        // A quiet maintenance told nobody.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(receiver.received.lock().unwrap().len(), 5);
        // One announced and then removed: subscribers hear it is cancelled.
        let (status, third) = server.post(
            "/api/v1/maintenances",
            &alice,
            json!({ "title": "Disk swap", "components": ["db"], "starts_at": later(900), "ends_at": later(960) }),
        );
        assert_eq!(status, 201, "{third}");
        let (status, _) = server.call(
            "DELETE",
            &format!("/api/v1/maintenances/{}", third["id"]),
            Some(&alice),
            None,
            &[],
        );
        assert_eq!(status, 204);
        let deadline = Instant::now() + Duration::from_secs(30);
        while receiver.received.lock().unwrap().len() < 7 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut last: Vec<String> = receiver.received.lock().unwrap()[5..]
            .iter()
            .map(|r| {
                r.json()["maintenance"]["event"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        last.sort();
        assert_eq!(last, ["cancelled", "scheduled"]);
    }
}

#[test]
fn time_starts_and_completes_a_maintenance_and_it_suppresses_matching_alerts() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let (status, _) = server.call(
            "PUT",
            "/api/v1/components/db",
            Some(&server.admin),
            Some("{}"),
            &[],
        );
        assert_eq!(status, 200);
        // Starts in a moment, ends a few seconds later: the timer moves it both times.
        let starts = Timestamp::now()
            .checked_add(SignedDuration::from_secs(1))
            .unwrap();
        let ends = starts.checked_add(SignedDuration::from_secs(6)).unwrap();
        let (status, scheduled) = server.post(
            "/api/v1/maintenances",
            &alice,
            json!({
                "title": "Replica rebuild",
                "components": ["db"],
                "starts_at": starts.to_string(),
                "ends_at": ends.to_string(),
            }),
        );
        assert_eq!(status, 201, "{scheduled}");
        let id = scheduled["id"].as_i64().unwrap();
        let wait_for = |wanted: &str| {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (_, shown) = server.get(&format!("/api/v1/maintenances/{id}"), &alice);
                if shown["status"] == wanted {
                    return shown;
                }
                assert!(Instant::now() < deadline, "never {wanted}: {shown}");
                std::thread::sleep(Duration::from_millis(200));
            }
        };
        let running = wait_for("in_progress");
        assert_eq!(running["updates"][0]["author"], "hereby");
        assert_eq!(component_status(&server, "db"), "under_maintenance");

        // While it runs, a firing alert for its component is kept as suppressed.
        let (code, out, err) = crate::api::cli(
            &server,
            &server.admin,
            &["integration", "add", "cron", "--kind", "generic"],
        );
        assert_eq!(code, 0, "{err}");
        let key = out
            .split("shown this once: ")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap()
            .trim()
            .to_owned();
        let (status, answer) = crate::api::send(
            &server.address,
            "POST",
            "/ingest/generic",
            None,
            Some(r#"{"summary": "Replica lag on db-2", "dedup": "db-2-lag", "meta": {"service": "db"}}"#),
            &[("Authorization", &format!("Bearer {key}"))],
        )
        .unwrap();
        assert_eq!(status, 202, "{answer}");
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        assert_eq!(groups[0]["incident"], Value::Null, "{groups}");
        let group = groups[0]["id"].as_i64().unwrap();
        let (code, out, _) =
            crate::api::cli(&server, &alice, &["alert", "show", &group.to_string()]);
        assert_eq!(code, 0);
        assert!(
            out.contains(&format!(
                "suppressed by maintenance window `maintenance-{id}`"
            )),
            "{out}"
        );

        let done = wait_for("completed");
        assert_eq!(
            done["updates"][0]["body"],
            "This maintenance has completed."
        );
        assert_eq!(component_status(&server, "db"), "operational");
    }
}
