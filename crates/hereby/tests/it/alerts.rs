//! Alerts in, end to end on the real server (SQLite and PostgreSQL): integrations made from
//! the command line, each compatible endpoint driven as its senders drive it (every
//! documented status), alerts deduplicated and grouped into the incident their route asks
//! for, explained on its timeline, taken command of, and as invisible as a restricted
//! incident to non-members.

use serde_json::{Value, json};

use crate::api::{Server, cli, databases, send};

/// Creates an integration from the CLI; returns its key and the configuration printed.
fn integration(server: &Server, name: &str, kind: &str) -> (String, String) {
    let (code, out, err) = cli(
        server,
        &server.admin,
        &["integration", "add", name, "--kind", kind],
    );
    assert_eq!(code, 0, "{err}");
    let key = out
        .split("shown this once: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no key in {out}"))
        .trim()
        .to_owned();
    assert_eq!(key.len(), 32, "{out}");
    (key, out)
}

fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    send(&server.address, "POST", path, None, Some(body), headers).unwrap()
}

fn webhook(alerts: &[(&str, &str, &str)]) -> String {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(fingerprint, status, instance)| {
            json!({
                "status": status,
                "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical", "instance": instance},
                "annotations": {"summary": format!("Checkout p99 above 2 s on {instance}")},
                "startsAt": "2026-12-01T10:00:00Z",
                "endsAt": if *status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-12-01T10:20:00Z" },
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighLatency\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "hereby",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    })
    .to_string()
}

fn timeline_types(server: &Server, id: &str) -> Vec<String> {
    let (_, timeline) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &server.admin);
    timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_alertmanager_storm_becomes_one_incident_explained_on_its_timeline() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let (key, config) = integration(&server, "prometheus", "alertmanager");
        assert!(config.contains("webhook_configs:"), "{config}");
        assert!(config.contains("/ingest/alertmanager"), "{config}");
        assert!(config.contains(&format!("credentials: {key}")), "{config}");
        let bearer = format!("Bearer {key}");
        let auth = [("Authorization", bearer.as_str())];

        // Two alerts of one group, each sent three times.
        let body = webhook(&[("fp-a", "firing", "a"), ("fp-b", "firing", "b")]);
        for _ in 0..3 {
            let (status, answer) = post(&server, "/ingest/alertmanager", &auth, &body);
            assert_eq!(status, 202, "{answer}");
        }
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        let groups = groups.as_array().unwrap().clone();
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0]["alerts"], 2);
        assert_eq!(groups[0]["events"], 6);
        assert_eq!(groups[0]["severity"], "SEV1");
        let id = groups[0]["incident"].as_str().unwrap().to_owned();
        let (_, incidents) = server.get("/api/v1/incidents", &alice);
        assert_eq!(
            incidents["incidents"].as_array().unwrap().len(),
            1,
            "one incident"
        );

        // The system opened it; nobody commands it until a person takes command.
        let (_, document) = server.get(&format!("/api/v1/incidents/{id}"), &alice);
        assert_eq!(document["commander"], Value::Null, "{document}");
        assert_eq!(document["severity"], "SEV1");
        let types = timeline_types(&server, &id);
        assert_eq!(
            types[..2],
            ["incident_declared", "alert_group_attached"],
            "{types:?}"
        );
        let (_, timeline) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &alice);
        let attached = &timeline["entries"][1]["text"];
        assert!(
            attached.as_str().unwrap().contains("by route `default`"),
            "{attached}"
        );
        let (code, out, err) = cli(&server, &alice, &["role", "take", &id]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("alice is now Incident Commander"), "{out}");
        let (code, _, err) = cli(&server, &alice, &["role", "take", &id]);
        assert_eq!(code, 1, "taking command twice is a rule refusal: {err}");

        // A resolve of both: the timeline says so and asks the commander to consider
        // resolving; the incident stays as it is.
        let resolved = webhook(&[("fp-a", "resolved", "a"), ("fp-b", "resolved", "b")]);
        let (status, _) = post(&server, "/ingest/alertmanager", &auth, &resolved);
        assert_eq!(status, 202);
        // The notes follow the answer (the sender does not wait for them).
        let mut last = Value::Null;
        for _ in 0..100 {
            let (_, timeline) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &alice);
            last = timeline["entries"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            if last["text"]
                .as_str()
                .unwrap_or_default()
                .contains("consider resolving")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(last["type"], "alerts_noted", "{last}");
        assert!(
            last["text"]
                .as_str()
                .unwrap()
                .contains("consider resolving"),
            "{last}"
        );
        let (_, document) = server.get(&format!("/api/v1/incidents/{id}"), &alice);
        assert_eq!(document["status"], "investigating");

        // The CLI shows the group and its alerts.
        let (code, out, _) = cli(&server, &alice, &["alert", "list"]);
        assert_eq!(code, 0);
        assert!(out.contains(&id) && out.contains("resolved"), "{out}");
        let group = groups[0]["id"].to_string();
        let (_, out, _) = cli(&server, &alice, &["alert", "show", &group]);
        assert!(
            out.contains("×4") && out.contains("fp-b"),
            "three firings and a resolve: {out}"
        );

        // Refused: no key, another kind's key, a payload that is not a webhook.
        let (status, answer) = post(&server, "/ingest/alertmanager", &[], &body);
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("unauthenticated"))
        );
        let (pd_key, _) = integration(&server, "pd", "pagerduty");
        let pd_bearer = format!("Bearer {pd_key}");
        let (status, answer) = post(
            &server,
            "/ingest/alertmanager",
            &[("Authorization", &pd_bearer)],
            &body,
        );
        assert_eq!(status, 403, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/v2/enqueue")
        );
        let (status, answer) = post(&server, "/ingest/alertmanager", &auth, r#"{"alerts":"no"}"#);
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("invalid_payload"))
        );
    }
}

#[test]
fn the_pagerduty_opsgenie_and_generic_endpoints_answer_as_their_senders_expect() {
    let server = Server::start("sqlite");
    let alice = server.user("alice", "responder");
    let (pd, _) = integration(&server, "pd", "pagerduty");

    // PagerDuty Events v2: a trigger without a key gets one back; a resolve with it ends it.
    let trigger = json!({
        "routing_key": pd,
        "event_action": "trigger",
        "payload": {"summary": "Disk 95% on db-1", "source": "db-1", "severity": "warning", "custom_details": {"service": "db"}},
    });
    let (status, answer) = post(&server, "/v2/enqueue", &[], &trigger.to_string());
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["message"], "Event processed");
    let dedup_key = answer["dedup_key"].as_str().unwrap().to_owned();
    assert_eq!(dedup_key.len(), 32);
    let resolve = json!({"routing_key": pd, "event_action": "resolve", "dedup_key": dedup_key});
    let (status, answer) = post(&server, "/v2/enqueue", &[], &resolve.to_string());
    assert_eq!(
        (status, answer["dedup_key"].as_str()),
        (202, Some(dedup_key.as_str()))
    );
    let ack = json!({"routing_key": pd, "event_action": "acknowledge", "dedup_key": dedup_key});
    assert_eq!(post(&server, "/v2/enqueue", &[], &ack.to_string()).0, 202);
    // Invalid events list every problem; an unknown key is invalid too.
    let (status, answer) = post(
        &server,
        "/v2/enqueue",
        &[],
        &json!({"routing_key": pd, "event_action": "trigger", "payload": {"severity": "fatal"}})
            .to_string(),
    );
    assert_eq!(status, 400);
    assert_eq!(answer["status"], "invalid event");
    assert_eq!(answer["errors"].as_array().unwrap().len(), 3, "{answer}");
    let (status, answer) = post(
        &server,
        "/v2/enqueue",
        &[],
        &json!({"routing_key": "0".repeat(32), "event_action": "resolve", "dedup_key": "x"})
            .to_string(),
    );
    assert_eq!(
        (status, answer["errors"][0].as_str()),
        (400, Some("Invalid routing key"))
    );
    assert_eq!(post(&server, "/v2/enqueue", &[], "{").0, 400);
    let too_big = format!(
        r#"{{"routing_key":"{pd}","event_action":"trigger","payload":{{"summary":"{}","source":"x","severity":"info"}}}}"#,
        "x".repeat(600 * 1024)
    );
    assert_eq!(post(&server, "/v2/enqueue", &[], &too_big).0, 413);

    // Change events become releases of catalogued services, recorded by the integration.
    let (status, _) = server.call(
        "PUT",
        "/api/v1/services/checkout",
        Some(&server.admin),
        Some(r#"{"owner_team": "payments", "criticality": "high"}"#),
        &[],
    );
    assert_eq!(status, 200);
    let change = |details: Value| {
        json!({
            "routing_key": pd,
            "payload": {"summary": "Deploy checkout 1.2 from main", "source": "ci", "timestamp": "2026-12-01T10:00:00Z", "custom_details": details},
        })
        .to_string()
    };
    let (status, answer) = post(
        &server,
        "/v2/change/enqueue",
        &[],
        &change(json!({"service": "checkout", "version": "1.2"})),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["message"], "Change event processed");
    let (_, releases) = server.get("/api/v1/releases?service=checkout", &alice);
    assert_eq!(releases["releases"][0]["version"], "1.2", "{releases}");
    assert_eq!(releases["releases"][0]["recorded_by"], "pd", "{releases}");
    let (status, answer) = post(
        &server,
        "/v2/change/enqueue",
        &[],
        &change(json!({"service": "checkout"})),
    );
    assert_eq!(status, 400);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("custom_details.version"),
        "{answer}"
    );
    let (status, answer) = post(
        &server,
        "/v2/change/enqueue",
        &[],
        &change(json!({"service": "chekout", "version": "1.3"})),
    );
    assert_eq!(status, 400);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("Did you mean `checkout`?"),
        "{answer}"
    );

    // Opsgenie: create and close by alias, with the key in a GenieKey header.
    let (og, config) = integration(&server, "og", "opsgenie");
    assert!(config.contains("opsgenie_configs:"), "{config}");
    let genie = format!("GenieKey {og}");
    let headers = [("Authorization", genie.as_str())];
    let (status, answer) = post(
        &server,
        "/v2/alerts",
        &headers,
        r#"{"message":"Queue backlog above 10k","alias":"queue-backlog","priority":"P2","details":{"service":"queue"}}"#,
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["result"], "Request will be processed");
    assert!(answer["requestId"].is_string() && answer["took"].is_number());
    let (status, _) = post(
        &server,
        "/v2/alerts/queue-backlog/close?identifierType=alias",
        &headers,
        r#"{"source":"test"}"#,
    );
    assert_eq!(status, 202);
    let (status, answer) = post(&server, "/v2/alerts/queue-backlog/close", &headers, "{}");
    assert_eq!(status, 422, "ids are not handed out: {answer}");
    let (status, answer) = post(&server, "/v2/alerts", &headers, r#"{"alias":"x"}"#);
    assert_eq!(
        (status, answer["message"].as_str()),
        (422, Some("Message can not be empty."))
    );
    let (status, _) = post(
        &server,
        "/v2/alerts",
        &[("Authorization", "GenieKey nope")],
        "{}",
    );
    assert_eq!(status, 401);

    // Generic: a form, as curl sends it.
    let (generic, _) = integration(&server, "cron", "generic");
    let bearer = format!("Bearer {generic}");
    let form = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let (status, answer) = post(
        &server,
        "/ingest/generic",
        &form,
        "summary=Backup+job+failed&dedup=backup-nightly&meta=service%3Dbackup",
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["alerts"][0]["change"], "new");
    let (status, answer) = post(&server, "/ingest/generic", &form, "action=close");
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid_payload"))
    );

    // Each distinct group opened its incident (db, queue, backup: three groups).
    let (_, groups) = server.get("/api/v1/alert-groups", &alice);
    assert_eq!(groups.as_array().unwrap().len(), 3, "{groups}");

    // Integrations are listed without keys; a revoked one opens nothing.
    let (code, out, _) = cli(&server, &server.admin, &["integration", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("cron") && !out.contains(&generic), "{out}");
    let (code, _, err) = cli(&server, &server.admin, &["integration", "revoke", "cron"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        post(&server, "/ingest/generic", &form, "summary=again").0,
        401
    );
    let (code, _, _) = cli(&server, &alice, &["integration", "list"]);
    assert_eq!(code, 3, "integrations are the admins'");
}

#[test]
fn a_rotated_key_works_beside_the_new_one_and_senders_over_the_rate_get_429() {
    let server = Server::start_with("sqlite", &["--alert-events-per-minute", "5"]);
    let (old, _) = integration(&server, "cron", "generic");
    let (code, out, err) = cli(
        &server,
        &server.admin,
        &["integration", "rotate", "cron", "--overlap", "10m"],
    );
    assert_eq!(code, 0, "{err}");
    let new = out
        .split("shown this once: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(new, old);
    assert!(out.contains("The previous key works until"), "{out}");
    for key in [&old, &new] {
        let bearer = format!("Bearer {key}");
        let (status, answer) = post(
            &server,
            "/ingest/generic",
            &[("Authorization", &bearer)],
            r#"{"summary":"Backup failed","dedup":"backup"}"#,
        );
        assert_eq!(status, 202, "{answer}");
    }
    // Five events a minute: three more fit, the next is refused with when to come back.
    let bearer = format!("Bearer {new}");
    let mut refused = None;
    for n in 0..4 {
        let (status, answer) = post(
            &server,
            "/ingest/generic",
            &[("Authorization", &bearer)],
            &format!(r#"{{"summary":"Backup failed","dedup":"backup-{n}"}}"#),
        );
        if status == 429 {
            refused = Some(answer);
            break;
        }
        assert_eq!(status, 202, "{answer}");
    }
    let refused = refused.expect("the sixth event in a minute is refused");
    assert_eq!(refused["error"]["code"], "rate_limited", "{refused}");
    let raw = raw_post(&server, "/ingest/generic", &bearer, r#"{"summary":"x"}"#);
    assert!(raw.starts_with("HTTP/1.1 429"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("\r\nretry-after: "),
        "{raw}"
    );
}

/// A storm of Alertmanager payloads from `senders` threads, each sending `firing` payloads of
/// its own 100 alerts and then one resolving them all; the answers' statuses, in order.
fn storm(server: &Server, key: &str, senders: usize, firing: usize) -> Vec<(u16, Value)> {
    let bearer = format!("Bearer {key}");
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..senders)
            .map(|sender| {
                let bearer = bearer.clone();
                scope.spawn(move || {
                    let fingerprints: Vec<String> =
                        (0..100).map(|n| format!("s{sender}-{n}")).collect();
                    let payload = |status: &str| {
                        let alerts: Vec<(&str, &str, &str)> = fingerprints
                            .iter()
                            .map(|fingerprint| (fingerprint.as_str(), status, "pod-1"))
                            .collect();
                        webhook(&alerts)
                    };
                    let mut answers = Vec::new();
                    for n in 0..=firing {
                        let status = if n < firing { "firing" } else { "resolved" };
                        answers.push(post(
                            server,
                            "/ingest/alertmanager",
                            &[("Authorization", &bearer)],
                            &payload(status),
                        ));
                    }
                    answers
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    })
}

#[test]
fn a_storm_is_answered_once_durable_and_grouped_in_order_even_across_a_kill() {
    for database in databases() {
        let mut server =
            Server::start_with(&database, &["--alert-events-per-minute", "4000000000"]);
        let (key, _) = integration(&server, "prometheus", "alertmanager");
        let (senders, firing) = (16, 11);
        let answers = storm(&server, &key, senders, firing);
        for (status, answer) in &answers {
            assert_eq!(*status, 202, "{answer}");
        }
        // Payloads arriving together while the writer is busy are queued: answered once
        // durable, their alerts said to be queued.
        let queued: Vec<&Value> = answers
            .iter()
            .map(|(_, answer)| answer)
            .filter(|answer| answer["queued"] == true)
            .collect();
        assert!(!queued.is_empty(), "{database}: nothing was queued");
        assert_eq!(queued[0]["alerts"][0]["change"], "queued", "{}", queued[0]);
        // Killed with events still queued, the next process records them.
        let (_, integrations) = server.get("/api/v1/integrations", &server.admin);
        let waiting = integrations[0]["queued_events"].as_u64().unwrap();
        let exit = server.signal_and_restart("KILL");
        assert!(!exit.success());
        eprintln!("{database}: {waiting} alert events queued when the server was killed");
        let sent = (senders * (firing + 1) * 100) as u64;
        // (A group whose alerts all resolved mid-storm reopens as a new group: count them all.)
        let groups = groups_until(&server, "every event grouped", |groups| {
            total(groups, "events") == sent
        });
        // In order: each sender's resolve came after its firing alerts, so nothing fires.
        assert_eq!(
            total(&groups, "alerts"),
            (senders * 100) as u64,
            "{groups:?}"
        );
        assert_eq!(total(&groups, "firing"), 0, "{groups:?}");
        let (_, integrations) = server.get("/api/v1/integrations", &server.admin);
        assert_eq!(integrations[0]["queued_events"], 0, "{integrations}");
        // The CLI says how many wait while any do; none now.
        let (code, out, err) = cli(&server, &server.admin, &["integration", "list"]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains("queued"), "{out}");
    }
}

/// Queues a firing alert `key` of integration `id` straight into the server's PostgreSQL
/// database, as another node in the middle of a storm would have.
fn queue_elsewhere(server: &Server, id: i64, key: &str) {
    use hereby_store::Alerts as _;
    let payload = hereby_store::AlertPayload {
        integration: id,
        body: "{}".to_owned(),
        signals: vec![hereby_core::alerts::Signal {
            dedup_key: key.to_owned(),
            firing: true,
            summary: "Checkout p99 above 2 s on pod-1".to_owned(),
            labels: [
                ("alertname", "HighLatency"),
                ("service", "checkout"),
                ("severity", "critical"),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
            at: jiff::Timestamp::now(),
            source_group: false,
        }],
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = hereby_store_postgres::PgStore::open(&server.url)
            .await
            .unwrap();
        store
            .queue_alerts(&[payload], jiff::Timestamp::now())
            .await
            .unwrap();
    });
}

#[test]
fn a_resolve_waits_behind_the_firing_another_node_queued() {
    // Several nodes share a PostgreSQL database only (SQLite carries one node).
    for database in databases()
        .into_iter()
        .filter(|database| database != "sqlite")
    {
        let server = Server::start(&database);
        let (key, _) = integration(&server, "prometheus", "alertmanager");
        let (_, listed) = server.get("/api/v1/integrations", &server.admin);
        let id = listed[0]["id"].as_i64().unwrap();
        queue_elsewhere(&server, id, "fp-k");
        // This node keeps up, yet a resolve recorded at once would find nothing firing (the
        // firing waits in the other node's queue) and the alert would fire for good: it is
        // queued behind the firing instead.
        let bearer = format!("Bearer {key}");
        let (status, answer) = post(
            &server,
            "/ingest/alertmanager",
            &[("Authorization", &bearer)],
            &webhook(&[("fp-k", "resolved", "pod-1")]),
        );
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["queued"], true, "{database}: {answer}");
        let groups = groups_until(&server, "the firing and its resolve recorded", |groups| {
            total(groups, "events") == 2
        });
        assert_eq!(total(&groups, "firing"), 0, "{database}: {groups:?}");
        assert_eq!(total(&groups, "alerts"), 1, "{database}: {groups:?}");
    }
}

#[test]
fn a_full_queue_refuses_with_429_and_records_every_event_it_answered() {
    let server = Server::start_with(
        "sqlite",
        &[
            "--alert-events-per-minute",
            "4000000000",
            "--alert-queue-limit",
            "1",
        ],
    );
    let (key, _) = integration(&server, "prometheus", "alertmanager");
    let answers = storm(&server, &key, 16, 4);
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, answer)| answer)
        .collect();
    assert_eq!(accepted + refused.len(), answers.len(), "{answers:?}");
    assert!(!refused.is_empty(), "a queue of one event refuses a storm");
    assert_eq!(
        refused[0]["error"]["code"], "rate_limited",
        "{}",
        refused[0]
    );
    assert!(
        refused[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wait to be recorded"),
        "{}",
        refused[0]
    );
    // What was answered 202 is grouped, and nothing refused is.
    groups_until(&server, "every accepted event grouped", |groups| {
        total(groups, "events") == accepted as u64 * 100
    });
    let (_, integrations) = server.get("/api/v1/integrations", &server.admin);
    assert_eq!(integrations[0]["queued_events"], 0, "{integrations}");
}

/// The sum of a count over alert groups.
fn total(groups: &[Value], count: &str) -> u64 {
    groups
        .iter()
        .filter_map(|group| group[count].as_u64())
        .sum()
}

#[test]
fn alerts_of_a_restricted_incident_do_not_exist_for_non_members() {
    let server = Server::start("sqlite");
    let bob = server.user("bob", "responder");
    let (key, _) = integration(&server, "prometheus", "alertmanager");
    let bearer = format!("Bearer {key}");
    let (status, _) = post(
        &server,
        "/ingest/alertmanager",
        &[("Authorization", &bearer)],
        &webhook(&[("fp-a", "firing", "a")]),
    );
    assert_eq!(status, 202);
    let (_, groups) = server.get("/api/v1/alert-groups", &server.admin);
    let group = groups[0]["id"].as_i64().unwrap();
    let id = groups[0]["incident"].as_str().unwrap().to_owned();
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{id}/visibility"),
        &server.admin,
        json!({"visibility": "restricted", "reason": "a security incident after all"}),
    );
    assert_eq!(status, 200);
    let (_, seen) = server.get("/api/v1/alert-groups", &bob);
    assert_eq!(
        seen,
        json!([]),
        "bob sees no group of the restricted incident"
    );
    let (status, _) = server.get(&format!("/api/v1/alert-groups/{group}"), &bob);
    assert_eq!(status, 404);
    let (status, _) = server.get(&format!("/api/v1/alert-groups?incident={id}"), &bob);
    assert_eq!(status, 404);
    let (status, _) = server.get(&format!("/api/v1/alert-groups/{group}"), &server.admin);
    assert_eq!(status, 200);
    // Nor can a non-member acknowledge or silence them.
    let (status, _) = server.post(
        &format!("/api/v1/alert-groups/{group}/ack"),
        &bob,
        json!({}),
    );
    assert_eq!(status, 404);
    let (status, _) = server.post(
        &format!("/api/v1/alert-groups/{group}/silence"),
        &bob,
        json!({"for": "1h"}),
    );
    assert_eq!(status, 404);
}

/// A POST whose whole raw answer is returned, headers included.
fn raw_post(server: &Server, path: &str, bearer: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a free port,
/// sending to hereby through its webhook, PagerDuty and Opsgenie receivers, by route label.
struct Alertmanager {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// `None` (after saying why) when the binary is missing and the test is not required.
    fn start(hereby: &str, webhook_key: &str, pd_key: &str, og_key: &str) -> Option<Self> {
        let binary = "/usr/bin/prometheus-alertmanager";
        if !std::path::Path::new(binary).exists()
            || !std::path::Path::new("/usr/bin/amtool").exists()
        {
            let required = std::env::var("HEREBY_TEST_ALERTMANAGER").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "HEREBY_TEST_ALERTMANAGER=required but no Alertmanager (apt-get install prometheus-alertmanager)"
            );
            eprintln!(
                "Alertmanager test skipped: no /usr/bin/prometheus-alertmanager (apt-get install prometheus-alertmanager)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // Everything goes out at once and is sent again only after an hour, so each receiver
        // sends one firing and one resolved notification per group.
        let config = format!(
            r#"route:
  receiver: webhook
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['via="pagerduty"']
      receiver: pagerduty
    - matchers: ['via="opsgenie"']
      receiver: opsgenie
receivers:
  - name: webhook
    webhook_configs:
      - url: http://{hereby}/ingest/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {webhook_key}
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {pd_key}
        url: http://{hereby}/v2/enqueue
        send_resolved: true
  - name: opsgenie
    opsgenie_configs:
      - api_key: {og_key}
        api_url: http://{hereby}/
        send_resolved: true
"#
        );
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let manager = Self {
            child,
            url,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(manager);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("Alertmanager did not start on port {port}");
    }

    /// `amtool alert add`, firing (no end) or resolved (ended a minute ago).
    fn alert(&self, labels: &[&str], firing: bool) {
        let mut command = std::process::Command::new("/usr/bin/amtool");
        command
            .args(["alert", "add", "--alertmanager.url", &self.url])
            .args(labels)
            .arg("--annotation=summary=Checkout p99 above 2 s");
        if !firing {
            let ended = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
            command.arg(format!("--end={}", ended.strftime("%Y-%m-%dT%H:%M:%SZ")));
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "amtool: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `ready` holds for the alert groups the admin sees.
fn groups_until(server: &Server, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..300 {
        let (_, groups) = server.get("/api/v1/alert-groups", &server.admin);
        last = groups.as_array().cloned().unwrap_or_default();
        if ready(&last) {
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what}: {last:?}");
}

#[test]
fn a_real_alertmanager_fires_and_resolves_through_all_three_receivers() {
    for database in databases() {
        let server = Server::start(&database);
        let (webhook_key, _) = integration(&server, "prometheus", "alertmanager");
        let (pd_key, _) = integration(&server, "am-pagerduty", "pagerduty");
        let (og_key, _) = integration(&server, "am-opsgenie", "opsgenie");
        let Some(manager) = Alertmanager::start(&server.address, &webhook_key, &pd_key, &og_key)
        else {
            return;
        };
        let checkout = [
            "alertname=HighLatency",
            "service=checkout",
            "severity=critical",
        ];
        manager.alert(&[&checkout[..], &["instance=a"]].concat(), true);
        manager.alert(&[&checkout[..], &["instance=b"]].concat(), true);
        manager.alert(
            &[
                "alertname=QueueBacklog",
                "service=queue",
                "severity=warning",
                "via=pagerduty",
            ],
            true,
        );
        manager.alert(
            &[
                "alertname=DiskFull",
                "service=db",
                "severity=critical",
                "via=opsgenie",
            ],
            true,
        );

        // Three groups: the webhook's two alerts in one (grouped by hereby's default route),
        // and one per group Alertmanager itself made and sent through PagerDuty and Opsgenie.
        // (An incident is linked a moment after its group is recorded.)
        let groups = groups_until(&server, "three groups firing, with incidents", |groups| {
            groups.len() == 3
                && groups
                    .iter()
                    .map(|g| g["firing"].as_u64().unwrap_or(0))
                    .sum::<u64>()
                    == 4
                && groups.iter().all(|g| g["incident"].is_string())
        });
        let by_title = |needle: &str| {
            groups
                .iter()
                .find(|g| {
                    g["title"].as_str().unwrap_or_default().contains(needle)
                        || g["label"].as_str().unwrap_or_default().contains(needle)
                })
                .unwrap_or_else(|| panic!("no group for {needle}: {groups:?}"))
                .clone()
        };
        let webhook = by_title("Checkout p99");
        assert_eq!(webhook["alerts"], 2, "{webhook}");
        assert_eq!(webhook["severity"], "SEV1");
        let paged = by_title("QueueBacklog");
        assert!(
            paged["label"].as_str().unwrap().contains("source's group"),
            "{paged}"
        );
        assert_eq!(
            paged["severity"], "SEV3",
            "the warning listed in the details: {paged}"
        );
        let genie = by_title("DiskFull");
        assert!(
            genie["label"].as_str().unwrap().contains("source's group"),
            "{genie}"
        );
        for group in [&webhook, &paged, &genie] {
            assert!(
                group["incident"].is_string(),
                "each group opened its incident: {group}"
            );
        }
        let (_, incidents) = server.get("/api/v1/incidents", &server.admin);
        assert_eq!(incidents["incidents"].as_array().unwrap().len(), 3);

        // Resolved at the source: every group ends, nothing new is created.
        manager.alert(&[&checkout[..], &["instance=a"]].concat(), false);
        manager.alert(&[&checkout[..], &["instance=b"]].concat(), false);
        manager.alert(
            &[
                "alertname=QueueBacklog",
                "service=queue",
                "severity=warning",
                "via=pagerduty",
            ],
            false,
        );
        manager.alert(
            &[
                "alertname=DiskFull",
                "service=db",
                "severity=critical",
                "via=opsgenie",
            ],
            false,
        );
        let groups = groups_until(&server, "every group resolved", |groups| {
            groups.len() == 3 && groups.iter().all(|g| g["firing"] == 0)
        });
        assert!(
            groups.iter().all(|g| g["resolved_at"].is_string()),
            "{groups:?}"
        );
        let (_, incidents) = server.get("/api/v1/incidents", &server.admin);
        assert_eq!(
            incidents["incidents"].as_array().unwrap().len(),
            3,
            "a resolve creates nothing"
        );
        let id = webhook["incident"].as_str().unwrap();
        let mut types = Vec::new();
        for _ in 0..100 {
            types = timeline_types(&server, id);
            if types.contains(&"alerts_noted".to_owned()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(types.contains(&"alerts_noted".to_owned()), "{types:?}");
    }
}

#[test]
fn a_person_attaches_a_group_its_route_opened_no_incident_for() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vera = server.user("vera", "viewer");
        // A route that opens no incident: the alerts wait for a person.
        let (status, route) = server.call(
            "PUT",
            "/api/v1/settings/alert_route/default",
            Some(&server.admin),
            Some(r#"{"create": "never"}"#),
            &[],
        );
        assert_eq!(status, 200, "{route}");
        let (key, _) = integration(&server, "cron", "generic");
        let bearer = format!("Bearer {key}");
        let send = |body: &str| {
            let (status, answer) = post(
                &server,
                "/ingest/generic",
                &[("Authorization", &bearer)],
                body,
            );
            assert_eq!(status, 202, "{answer}");
        };
        send(
            r#"{"summary": "Backup failed on db-1", "dedup": "backup-db1", "meta": {"service": "backup"}}"#,
        );
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        assert_eq!(groups[0]["incident"], Value::Null, "{groups}");
        let group = groups[0]["id"].to_string();
        let (_, incidents) = server.get("/api/v1/incidents", &alice);
        assert_eq!(
            incidents["incidents"],
            json!([]),
            "the route opened nothing"
        );

        let (code, out, err) = cli(
            &server,
            &alice,
            &["declare", "Backups fail", "--severity", "SEV3"],
        );
        assert_eq!(code, 0, "{err}");
        let id = out.trim().to_owned();
        let (code, _, _) = cli(&server, &vera, &["alert", "attach", &group, &id]);
        assert_eq!(code, 3, "viewers change nothing");
        let (code, out, err) = cli(&server, &alice, &["alert", "attach", &group, &id]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("alice attached alert group") && out.contains("attached by alice"),
            "{out}"
        );
        let (code, _, err) = cli(&server, &alice, &["alert", "attach", &group, &id]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("attached to"), "{err}");
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        assert_eq!(groups[0]["incident"], id.as_str());

        // Its later alerts are noted on the incident.
        send(
            r#"{"summary": "Backup failed on db-2", "dedup": "backup-db2", "meta": {"service": "backup"}}"#,
        );
        let mut types = Vec::new();
        for _ in 0..100 {
            types = timeline_types(&server, &id);
            if types.contains(&"alerts_noted".to_owned()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(types.contains(&"alerts_noted".to_owned()), "{types:?}");
        // Once the incident has ended, grouping into it stops: a new alert opens a new group.
        // Resolving while its alerts fire is done, with a warning that says what follows.
        let (code, _, err) = cli(&server, &alice, &["resolve", &id]);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("warning: 2 alerts of group") && err.contains("will not reopen"),
            "{err}"
        );
        send(
            r#"{"summary": "Backup failed on db-3", "dedup": "backup-db3", "meta": {"service": "backup"}}"#,
        );
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");
        assert_eq!(groups[0]["incident"], Value::Null, "{groups}");
        let (status, answer) = server.post(
            "/api/v1/alert-groups/999999/attach",
            &alice,
            json!({"incident": id}),
        );
        assert_eq!(status, 404, "{answer}");
    }
}

/// Polls the groups until `ready` holds (the alert timers run every few seconds).
fn wait_for_groups(
    server: &Server,
    seconds: u64,
    what: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let (_, groups) = server.get("/api/v1/alert-groups", &server.admin);
        let groups = groups.as_array().cloned().unwrap_or_default();
        if ready(&groups) {
            return groups;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still {groups:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn maintenance_windows_silences_and_acknowledgements_keep_alerts_but_open_nothing() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vera = server.user("vera", "viewer");
        // A window over the database, from an hour ago for two hours, set from the CLI.
        let now = jiff::Timestamp::now();
        let window = json!({
            "matchers": ["service=\"db\""],
            "starts": (now - jiff::SignedDuration::from_hours(1)).to_string(),
            "ends": (now + jiff::SignedDuration::from_hours(1)).to_string(),
            "reason": "database upgrade"
        })
        .to_string();
        let (code, _, err) = cli(
            &server,
            &server.admin,
            &[
                "setting",
                "set",
                "alert_maintenance",
                "db-upgrade",
                "--value-json",
                &window,
            ],
        );
        assert_eq!(code, 0, "{err}");
        // A window over every alert is refused, and nothing is stored.
        let (code, _, err) = cli(
            &server,
            &server.admin,
            &[
                "setting",
                "set",
                "alert_maintenance",
                "everything",
                "--value-json",
                r#"{"matchers": [], "starts": "2026-12-01T00:00:00Z", "ends": "2026-12-02T00:00:00Z"}"#,
            ],
        );
        assert_ne!(code, 0);
        assert!(err.contains("matchers"), "{err}");
        let (code, out, _) = cli(
            &server,
            &server.admin,
            &["setting", "list", "alert_maintenance"],
        );
        assert_eq!(code, 0);
        assert!(
            out.contains("db-upgrade") && !out.contains("everything"),
            "{out}"
        );

        let (key, _) = integration(&server, "cron", "generic");
        let bearer = format!("Bearer {key}");
        let send = |body: &str| {
            let (status, answer) = post(
                &server,
                "/ingest/generic",
                &[("Authorization", &bearer)],
                body,
            );
            assert_eq!(status, 202, "{answer}");
            answer
        };
        // Kept as suppressed, never dropped; no incident.
        send(
            r#"{"summary": "Replica lag on db-2", "dedup": "db-2-lag", "meta": {"service": "db"}}"#,
        );
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        assert_eq!(groups[0]["incident"], Value::Null, "{groups}");
        let db_group = groups[0]["id"].as_i64().unwrap();
        let (code, out, err) = cli(&server, &alice, &["alert", "show", &db_group.to_string()]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("suppressed by maintenance window `db-upgrade`"),
            "{out}"
        );
        // Its resolve goes through.
        send(
            r#"{"summary": "Replica lag on db-2", "dedup": "db-2-lag", "action": "close", "meta": {"service": "db"}}"#,
        );
        let (_, detail) = server.get(&format!("/api/v1/alert-groups/{db_group}"), &alice);
        assert_eq!(detail["group"]["firing"], 0, "{detail}");

        // A silence: the group's next alerts are suppressed; a viewer may not silence.
        send(r#"{"summary": "Queue backlog", "dedup": "queue-1", "meta": {"service": "queue"}}"#);
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        let queue = &groups[0];
        let queue_id = queue["id"].as_i64().unwrap();
        let incident = queue["incident"].as_str().unwrap().to_owned();
        let (code, _, _) = cli(
            &server,
            &vera,
            &["alert", "silence", &queue_id.to_string(), "--for", "1h"],
        );
        assert_eq!(code, 3, "a viewer may not silence");
        let (code, _, err) = cli(
            &server,
            &alice,
            &["alert", "silence", &queue_id.to_string(), "--for", "8d"],
        );
        assert_ne!(code, 0);
        assert!(err.contains("at most 7d"), "{err}");
        let (code, out, err) = cli(
            &server,
            &alice,
            &[
                "alert",
                "silence",
                &queue_id.to_string(),
                "--for",
                "1h",
                "--reason",
                "known, fixing",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("silenced until"), "{out}");
        send(
            r#"{"summary": "Queue backlog on worker-2", "dedup": "queue-2", "meta": {"service": "queue"}}"#,
        );
        let (_, detail) = server.get(&format!("/api/v1/alert-groups/{queue_id}"), &alice);
        assert_eq!(detail["group"]["silenced_by"], "alice", "{detail}");
        assert_eq!(detail["group"]["silence_reason"], "known, fixing");
        assert!(
            detail["alerts"][0]["suppressed"]
                .as_str()
                .unwrap()
                .starts_with("silenced by alice until"),
            "{detail}"
        );
        // The incident's timeline keeps the suppressed alert, with why.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, timeline) =
                server.get(&format!("/api/v1/incidents/{incident}/timeline"), &alice);
            if timeline
                .to_string()
                .contains("Queue backlog on worker-2 (silenced by alice")
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{timeline}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Lifted with 0s.
        let (code, out, _) = cli(
            &server,
            &alice,
            &["alert", "silence", &queue_id.to_string(), "--for", "0s"],
        );
        assert_eq!(code, 0);
        assert!(out.contains("not silenced"), "{out}");

        // An acknowledgement: a route that waits for three alerts opens nothing once the
        // group is acknowledged.
        let (status, route) = server.call(
            "PUT",
            "/api/v1/settings/alert_route/batch",
            Some(&server.admin),
            Some(r#"{"order": 1, "matchers": ["service=\"batch\""], "create": "threshold(2 within 10m)"}"#),
            &[],
        );
        assert_eq!(status, 200, "{route}");
        send(r#"{"summary": "Batch job slow", "dedup": "batch-1", "meta": {"service": "batch"}}"#);
        let (_, groups) = server.get("/api/v1/alert-groups", &alice);
        let batch = groups[0]["id"].as_i64().unwrap();
        let (code, out, err) = cli(&server, &alice, &["alert", "ack", &batch.to_string()]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("acknowledged by alice"), "{out}");
        send(
            r#"{"summary": "Batch job slow again", "dedup": "batch-2", "meta": {"service": "batch"}}"#,
        );
        let (_, detail) = server.get(&format!("/api/v1/alert-groups/{batch}"), &alice);
        assert_eq!(detail["group"]["incident"], Value::Null, "{detail}");
        assert_eq!(detail["group"]["alerts"], 2);
        assert_eq!(
            detail["alerts"][0]["suppressed"],
            Value::Null,
            "acknowledged, not suppressed"
        );
        let (code, _, _) = cli(&server, &alice, &["alert", "ack", "999999"]);
        assert_eq!(code, 1, "no such group");
    }
}

#[test]
fn a_pause_holds_an_incident_and_a_heartbeat_fires_when_its_pings_stop() {
    let server = Server::start("sqlite");
    let alice = server.user("alice", "responder");
    let (status, route) = server.call(
        "PUT",
        "/api/v1/settings/alert_route/transient",
        Some(&server.admin),
        Some(r#"{"order": 1, "matchers": ["service=~\"cdn|dns\""], "pause": "2s"}"#),
        &[],
    );
    assert_eq!(status, 200, "{route}");
    let (key, _) = integration(&server, "edge", "generic");
    let bearer = format!("Bearer {key}");
    let send = |body: &str| {
        let (status, answer) = post(
            &server,
            "/ingest/generic",
            &[("Authorization", &bearer)],
            body,
        );
        assert_eq!(status, 202, "{answer}");
        answer
    };
    let answer = send(r#"{"summary": "CDN errors", "dedup": "cdn-1", "meta": {"service": "cdn"}}"#);
    assert_eq!(
        answer["incidents_opened"],
        json!([]),
        "held, not opened: {answer}"
    );
    send(r#"{"summary": "DNS blip", "dedup": "dns-1", "meta": {"service": "dns"}}"#);
    let (_, groups) = server.get("/api/v1/alert-groups", &alice);
    assert!(groups[0]["held_until"].is_string(), "{groups}");
    // The DNS alert clears within the pause: it never opens anything.
    send(
        r#"{"summary": "DNS blip", "dedup": "dns-1", "action": "close", "meta": {"service": "dns"}}"#,
    );
    let groups = wait_for_groups(&server, 15, "the CDN group's incident", |groups| {
        groups
            .iter()
            .any(|g| g["title"] == "CDN errors" && g["incident"].is_string())
    });
    let dns = groups.iter().find(|g| g["title"] == "DNS blip").unwrap();
    assert_eq!(dns["incident"], Value::Null, "{dns}");
    let (_, incidents) = server.get("/api/v1/incidents", &alice);
    assert_eq!(
        incidents["incidents"].as_array().unwrap().len(),
        1,
        "{incidents}"
    );

    // A heartbeat needs a timeout; only a heartbeat has one.
    let (code, _, err) = cli(
        &server,
        &server.admin,
        &["integration", "add", "nightly", "--kind", "heartbeat"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("timeout"), "{err}");
    let (code, _, err) = cli(
        &server,
        &server.admin,
        &[
            "integration",
            "add",
            "other",
            "--kind",
            "generic",
            "--timeout",
            "1m",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("only a heartbeat"), "{err}");
    let (code, out, err) = cli(
        &server,
        &server.admin,
        &[
            "integration",
            "add",
            "nightly",
            "--kind",
            "heartbeat",
            "--timeout",
            "10s",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/ingest/heartbeat"), "{out}");
    let key = out
        .split("shown this once: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .trim()
        .to_owned();
    let bearer = format!("Bearer {key}");
    let (status, answer) = post(
        &server,
        "/ingest/heartbeat",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["resolved"], false);
    // Another kind's key is refused at the heartbeat endpoint.
    let (status, _) = post(
        &server,
        "/ingest/heartbeat",
        &[(
            "Authorization",
            &format!("Bearer {}", integration(&server, "misc", "generic").0),
        )],
        "",
    );
    assert_eq!(status, 403);
    // No ping for the timeout: one alert fires (and, by the shipped route, an incident).
    let groups = wait_for_groups(&server, 30, "the missed heartbeat's alert", |groups| {
        groups
            .iter()
            .any(|g| g["title"] == "No heartbeat from nightly for 10s" && g["firing"] == 1)
    });
    let missed = groups
        .iter()
        .find(|g| g["title"] == "No heartbeat from nightly for 10s")
        .unwrap();
    assert_eq!(missed["alerts"], 1, "raised once: {missed}");
    // The next ping resolves it.
    let (status, answer) = post(
        &server,
        "/ingest/heartbeat",
        &[("Authorization", &bearer)],
        "ok",
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["resolved"], true, "{answer}");
}

#[test]
fn a_route_in_triage_mode_opens_candidates_a_person_accepts_declines_or_merges() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vera = server.user("vera", "viewer");
        let (status, route) = server.call(
            "PUT",
            "/api/v1/settings/alert_route/default",
            Some(&server.admin),
            Some(r#"{"create": "triage"}"#),
            &[],
        );
        assert_eq!(status, 200, "{route}");
        let (key, _) = integration(&server, "cron", "generic");
        let bearer = format!("Bearer {key}");
        let send = |summary: &str, service: &str| {
            let body = json!({"summary": summary, "dedup": summary, "meta": {"service": service, "alertname": summary}});
            let (status, answer) = post(
                &server,
                "/ingest/generic",
                &[("Authorization", &bearer)],
                &body.to_string(),
            );
            assert_eq!(status, 202, "{answer}");
            answer["incidents_opened"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let first = send("Checkout errors", "checkout");
        let second = send("Payment timeouts", "payments");
        let third = send("Disk 81% on batch-1", "batch");
        let (_, document) = server.get(&format!("/api/v1/incidents/{first}"), &alice);
        assert_eq!(document["status"], "triage", "{document}");
        assert_eq!(document["commander"], Value::Null);

        // Accepting: the candidate becomes an incident led by who accepted it.
        let (code, _, _) = cli(&server, &vera, &["triage", "accept", &first]);
        assert_eq!(code, 3, "a viewer may not accept");
        let (code, _, err) = cli(&server, &alice, &["triage", "accept", &first]);
        assert_eq!(code, 0, "{err}");
        let (_, document) = server.get(&format!("/api/v1/incidents/{first}"), &alice);
        assert_eq!(document["status"], "investigating", "{document}");
        assert_eq!(document["commander"], "alice");
        let (code, _, err) = cli(&server, &alice, &["triage", "accept", &first]);
        assert_eq!(code, 1);
        assert!(err.contains("only a candidate"), "{err}");

        // Merging: the other incident takes the candidate's alert group.
        let (code, _, err) = cli(
            &server,
            &alice,
            &["triage", "merge", &second, "--into", &second],
        );
        assert_ne!(code, 0);
        assert!(err.contains("into itself"), "{err}");
        let (code, _, err) = cli(
            &server,
            &alice,
            &["triage", "merge", &second, "--into", &first],
        );
        assert_eq!(code, 0, "{err}");
        let (_, document) = server.get(&format!("/api/v1/incidents/{second}"), &alice);
        assert_eq!(document["status"], "merged", "{document}");
        let (_, groups) = server.get(&format!("/api/v1/alert-groups?incident={first}"), &alice);
        assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");
        let (_, timeline) = server.get(&format!("/api/v1/incidents/{first}/timeline"), &alice);
        assert!(
            timeline
                .to_string()
                .contains(&format!("merged from {second} by alice")),
            "{timeline}"
        );

        // Declining needs a reason; a declined candidate takes no more alerts.
        let (code, _, _) = cli(&server, &alice, &["triage", "decline", &third]);
        assert_eq!(code, 2, "--reason is required");
        let (code, _, err) = cli(
            &server,
            &alice,
            &[
                "triage",
                "decline",
                &third,
                "--reason",
                "disk alerts below 90% are not incidents",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let (_, document) = server.get(&format!("/api/v1/incidents/{third}"), &alice);
        assert_eq!(document["status"], "declined", "{document}");
        // Its alert resolves and fires again: a new group, and a new candidate.
        let close = json!({"summary": "Disk 81% on batch-1", "dedup": "Disk 81% on batch-1", "action": "close"});
        let (status, answer) = post(
            &server,
            "/ingest/generic",
            &[("Authorization", &bearer)],
            &close.to_string(),
        );
        assert_eq!(status, 202, "{answer}");
        let fourth = send("Disk 81% on batch-1", "batch");
        assert!(
            !fourth.is_empty() && fourth != third,
            "a fresh candidate: {fourth}"
        );
        // Into a restricted incident only once the candidate is restricted too: its timeline
        // would name the other.
        let (code, out, err) = cli(
            &server,
            &alice,
            &["declare", "Vault tokens leaked", "--restricted"],
        );
        assert_eq!(code, 0, "{err}");
        let secret = out.trim().to_owned();
        let (code, _, err) = cli(
            &server,
            &alice,
            &["triage", "merge", &fourth, "--into", &secret],
        );
        assert_ne!(code, 0);
        assert!(err.contains("restrict"), "{err}");
        let (_, document) = server.get(&format!("/api/v1/incidents/{fourth}"), &alice);
        assert_eq!(document["status"], "triage", "nothing changed: {document}");
        // A candidate cannot be resolved or commanded: it is triaged first.
        let (code, _, err) = cli(&server, &alice, &["resolve", &fourth]);
        assert_eq!(code, 1);
        assert!(err.contains("accepted, declined or merged first"), "{err}");
    }
}
