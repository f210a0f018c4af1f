//! The public status page, its Statuspage-compatible JSON and Atom feed, the components API,
//! and message templates, end to end: the real server on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{Server, databases};

/// A GET without a token; returns the status, the headers (lower-case names) and the body.
pub(crate) fn fetch(
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn public_json(server: &Server, path: &str) -> Value {
    let (status, _, body) = fetch(&server.address, path, &[]);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

pub(crate) fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

pub(crate) fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

/// Checks a document against the field names and value sets of the Statuspage API.
pub(crate) fn check_statuspage_shape(path: &str, document: &Value) {
    let page = set(&["id", "name", "url", "time_zone", "updated_at"]);
    let component = set(&[
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ]);
    let incident = set(&[
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
    ]);
    let update = set(&[
        "id",
        "status",
        "body",
        "incident_id",
        "created_at",
        "updated_at",
        "display_at",
        "affected_components",
        "deliver_notifications",
        "custom_tweet",
        "tweet_id",
    ]);
    let component_statuses = set(&[
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ]);
    let incident_statuses = set(&[
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem",
    ]);
    let levels = set(&["none", "minor", "major", "critical"]);
    // The page's indicator may also say that work is under way.
    let indicators = set(&["none", "minor", "major", "critical", "maintenance"]);
    assert_eq!(keys(&document["page"]), page, "{path} page");
    let check_component = |c: &Value| {
        // A group is a component that also lists its members.
        let mut expected = component.clone();
        if c["group"] == true {
            expected.insert("components");
        }
        assert_eq!(keys(c), expected, "{path} component {c}");
        assert!(
            component_statuses.contains(c["status"].as_str().unwrap()),
            "{path} {c}"
        );
    };
    if let Some(status) = document.get("status") {
        assert_eq!(keys(status), set(&["indicator", "description"]), "{path}");
        assert!(
            indicators.contains(status["indicator"].as_str().unwrap()),
            "{path}"
        );
    }
    for c in document
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_component(c);
    }
    for i in document
        .get("incidents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert_eq!(keys(i), incident, "{path} incident {i}");
        assert!(
            incident_statuses.contains(i["status"].as_str().unwrap()),
            "{path} {i}"
        );
        assert!(levels.contains(i["impact"].as_str().unwrap()), "{path} {i}");
        for u in i["incident_updates"].as_array().unwrap() {
            assert_eq!(keys(u), update, "{path} update {u}");
            assert!(
                incident_statuses.contains(u["status"].as_str().unwrap()),
                "{path} {u}"
            );
        }
        i["components"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(check_component);
    }
}

const DOCUMENTS: &[&str] = &[
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
];

/// Every public output, as text, for checking what must never appear.
fn everything_public(server: &Server) -> String {
    let mut all = String::new();
    for path in DOCUMENTS.iter().chain(&["/status", "/status/feed.atom"]) {
        let (status, _, body) = fetch(&server.address, path, &[]);
        assert_eq!(status, 200, "{path}");
        all.push_str(&body);
    }
    all
}

#[test]
fn the_status_page_shows_public_incidents_and_their_public_updates_only() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let alice = server.user("alice", "responder");
        // Components: set by admins only.
        for (name, body) in [
            ("checkout", json!({ "description": "Paying for orders" })),
            ("search", json!({ "status": "under_maintenance" })),
            ("mail", json!({})),
        ] {
            let (status, reply) = server.call(
                "PUT",
                &format!("/api/v1/components/{name}"),
                Some(&admin),
                Some(&body.to_string()),
                &[],
            );
            assert_eq!(status, 200, "{reply}");
        }
        let (status, _) = server.call("PUT", "/api/v1/components/x", Some(&alice), Some("{}"), &[]);
        assert_eq!(status, 403);
        let (status, reply) = server.call(
            "PUT",
            "/api/v1/components/checkout",
            Some(&admin),
            Some(r#"{"status":"on_fire"}"#),
            &[],
        );
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (422, Some("invalid_value"))
        );
        let (status, _) = server.call("DELETE", "/api/v1/components/nope", Some(&admin), None, &[]);
        assert_eq!(status, 404);
        let (status, _) = server.call("DELETE", "/api/v1/components/mail", Some(&admin), None, &[]);
        assert_eq!(status, 204);

        // Nothing public yet: all is well.
        let summary = public_json(&server, "/api/v2/summary.json");
        check_statuspage_shape("summary", &summary);
        assert_eq!(summary["status"]["indicator"], "none");
        assert_eq!(summary["status"]["description"], "All Systems Operational");
        assert_eq!(summary["components"].as_array().unwrap().len(), 2);

        let declare = |title: &str, body: Value| {
            let mut request = json!({ "title": title });
            request
                .as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            let (status, reply) = server.post("/api/v1/incidents", &alice, request);
            assert_eq!(status, 201, "{reply}");
            reply["id"].as_str().unwrap().to_owned()
        };
        let public = declare(
            "Checkout is failing",
            json!({ "severity": "SEV1", "services": ["checkout"], "visibility": "public" }),
        );
        let secret = declare(
            "SECRET-MARKER breach",
            json!({ "services": ["checkout"], "visibility": "restricted" }),
        );
        let internal = declare(
            "INTERNAL-MARKER incident",
            json!({ "services": ["checkout"] }),
        );
        let hidden_later = declare(
            "UNPUBLISHED-MARKER incident",
            json!({ "services": ["checkout"], "visibility": "public" }),
        );
        let update = |id: &str, body: &str, public: bool| {
            let (status, reply) = server.post(
                &format!("/api/v1/incidents/{id}/updates"),
                &alice,
                json!({ "audience": "customers", "body": body, "public": public }),
            );
            (status, reply)
        };
        assert_eq!(
            update(&public, "Card payments fail; we are on it.", true).0,
            200
        );
        assert_eq!(
            update(&public, "INTERNAL-UPDATE-MARKER for staff", false).0,
            200
        );
        let (status, reply) = update(&internal, "not public", true);
        assert_eq!(
            status, 422,
            "a public update needs a public incident: {reply}"
        );
        assert_eq!(
            update(&hidden_later, "UNPUBLISHED-MARKER update", true).0,
            200
        );
        let (status, reply) = server.post(
            &format!("/api/v1/incidents/{hidden_later}/visibility"),
            &alice,
            json!({ "visibility": "internal", "reason": "not customer-facing after all" }),
        );
        assert_eq!(status, 200, "{reply}");
        assert_eq!(update(&secret, "SECRET-UPDATE-MARKER", false).0, 200);

        let all = everything_public(&server);
        for marker in [
            "SECRET",
            "INTERNAL-MARKER",
            "INTERNAL-UPDATE-MARKER",
            "UNPUBLISHED-MARKER",
        ] {
            assert!(!all.contains(marker), "{marker} leaked on {database}");
        }
        assert!(all.contains("Card payments fail; we are on it."));

        for path in DOCUMENTS {
            check_statuspage_shape(path, &public_json(&server, path));
        }
        let summary = public_json(&server, "/api/v2/summary.json");
        assert_eq!(summary["status"]["indicator"], "critical");
        let components: Vec<(&str, &str)> = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            components,
            [
                ("checkout", "major_outage"),
                ("search", "under_maintenance")
            ]
        );
        let incidents = summary["incidents"].as_array().unwrap();
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0]["id"], public.as_str());
        assert_eq!(incidents[0]["impact"], "critical");
        assert_eq!(
            incidents[0]["incident_updates"].as_array().unwrap().len(),
            1
        );
        assert_eq!(
            incidents[0]["incident_updates"][0]["status"],
            "investigating"
        );

        // Monitoring leaves the component degraded; resolving ends it.
        let (status, reply) = server.post(
            &format!("/api/v1/incidents/{public}/status"),
            &alice,
            json!({ "status": "monitoring" }),
        );
        assert_eq!(status, 200, "{reply}");
        let components = public_json(&server, "/api/v2/components.json");
        assert_eq!(
            components["components"][0]["status"],
            "degraded_performance"
        );
        assert_eq!(update(&public, "A fix is out; watching.", true).0, 200);
        let (status, reply) = server.post(
            &format!("/api/v1/incidents/{public}/resolve"),
            &alice,
            json!({}),
        );
        assert_eq!(status, 200, "{reply}");
        let unresolved = public_json(&server, "/api/v2/incidents/unresolved.json");
        assert_eq!(unresolved["incidents"], json!([]));
        let components = public_json(&server, "/api/v2/components.json");
        assert_eq!(
            components["components"][0]["status"], "operational",
            "the active internal and restricted incidents on checkout do not count"
        );
        let status_json = public_json(&server, "/api/v2/status.json");
        assert_eq!(
            status_json["status"]["indicator"], "none",
            "maintenance is not an outage"
        );
        let incidents = public_json(&server, "/api/v2/incidents.json");
        let only = &incidents["incidents"].as_array().unwrap()[..];
        assert_eq!(only.len(), 1, "{incidents}");
        assert_eq!(only[0]["status"], "resolved");
        assert!(only[0]["resolved_at"].is_string());
        assert!(only[0]["monitoring_at"].is_string());
        let statuses: Vec<&str> = only[0]["incident_updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["resolved", "monitoring", "investigating"],
            "newest first"
        );

        // The feed parses and carries the public updates, newest first.
        let (status, headers, body) = fetch(&server.address, "/status/feed.atom", &[]);
        assert_eq!(status, 200);
        assert!(
            header(&headers, "content-type")
                .unwrap()
                .starts_with("application/atom+xml")
        );
        let feed: atom_syndication::Feed = body.parse().unwrap();
        let titles: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
        assert_eq!(titles.len(), 3, "{titles:?}");
        assert!(titles[0].contains("(resolved)"), "{titles:?}");
        assert!(titles.iter().all(|t| t.contains("Checkout is failing")));
        // RFC 4287 wants an author for every entry: the feed's own stands for all of them.
        let authors: Vec<&str> = feed.authors().iter().map(|a| a.name()).collect();
        assert_eq!(authors, ["Service status"], "{body}");

        // The HTML page shows the history and escapes what it prints.
        let (status, headers, html) = fetch(&server.address, "/status", &[]);
        assert_eq!(status, 200);
        assert!(
            header(&headers, "content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(html.contains("Past incidents (90 days)"));
        assert!(html.contains("A fix is out; watching."));

        // Conditional requests: same ETag, 304, cacheable for a few seconds.
        for path in DOCUMENTS.iter().chain(&["/status", "/status/feed.atom"]) {
            let (_, headers, _) = fetch(&server.address, path, &[]);
            let etag = header(&headers, "etag").unwrap().to_owned();
            assert!(
                header(&headers, "cache-control")
                    .unwrap()
                    .contains("max-age")
            );
            let (status, _, body) = fetch(&server.address, path, &[("If-None-Match", &etag)]);
            assert_eq!((status, body.as_str()), (304, ""), "{path}");
            let (status, _, _) = fetch(&server.address, path, &[("If-None-Match", "\"other\"")]);
            assert_eq!(status, 200, "{path}");
        }
    }
}

#[test]
fn an_update_shown_publicly_is_escaped_in_html_and_feed() {
    let server = Server::start("sqlite");
    let alice = server.user("alice", "responder");
    let (status, reply) = server.post(
        "/api/v1/incidents",
        &alice,
        json!({ "title": "<script>alert('title')</script>", "visibility": "public" }),
    );
    assert_eq!(status, 201, "{reply}");
    let id = reply["id"].as_str().unwrap().to_owned();
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{id}/updates"),
        &alice,
        json!({ "audience": "customers", "public": true, "body": "<img src=x onerror=alert(1)> **bold**" }),
    );
    assert_eq!(status, 200);
    let (_, _, html) = fetch(&server.address, "/status", &[]);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    let (_, _, feed) = fetch(&server.address, "/status/feed.atom", &[]);
    let feed: atom_syndication::Feed = feed.parse().unwrap();
    let content = feed.entries()[0].content().unwrap().value().unwrap();
    assert!(!content.contains("<img"), "{content}");
}

pub(crate) fn cli(server: &Server, token: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(args)
        .env("HEREBY_SERVER", format!("http://{}", server.address))
        .env("HEREBY_TOKEN", token)
        .output()
        .unwrap()
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn templates_are_checked_previewed_and_posted_from_the_cli() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let alice = server.user("alice", "responder");
        let list = stdout(&cli(&server, &alice, &["template", "list"]));
        for name in [
            "first-response",
            "slow-service",
            "periodic-update",
            "resolved",
            "rollback-announcement",
            "release-broadcast",
        ] {
            assert!(list.contains(name), "{list}");
        }
        let id = stdout(&cli(
            &server,
            &alice,
            &[
                "declare",
                "Search is slow",
                "--severity",
                "SEV2",
                "--service",
                "search",
            ],
        ))
        .trim()
        .to_owned();
        let preview = stdout(&cli(
            &server,
            &alice,
            &["template", "preview", &id, "slow-service"],
        ));
        assert!(
            preview.starts_with("Subject: [SEV2] search is slow or not responding\n"),
            "{preview}"
        );
        assert!(preview.contains(&format!(", for {id}")), "{preview}");

        // Saving checks the template: the line of an unknown variable, a syntax error.
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("body.md");
        std::fs::write(&body, "Hello\nWe are on {{ titel }}.\n").unwrap();
        let body = body.to_str().unwrap();
        let refused = cli(
            &server,
            &admin,
            &[
                "template",
                "set",
                "ours",
                "--subject",
                "{{ id }}",
                "--body-file",
                body,
            ],
        );
        assert_eq!(refused.status.code(), Some(1), "422 is a rejection");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("line 2 of the body: unknown variable `titel`"),
            "{stderr}"
        );
        let (status, reply) = server.call(
            "PUT",
            "/api/v1/templates/ours",
            Some(&admin),
            Some(&json!({ "subject": "ok", "body": "a\n{% if id %}\nnever closed" }).to_string()),
            &[],
        );
        assert_eq!(status, 422);
        assert_eq!(reply["error"]["code"], "invalid_template");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("of the body"),
            "{reply}"
        );
        let (status, _) = server.call("GET", "/api/v1/templates/ours", Some(&alice), None, &[]);
        assert_eq!(status, 404, "nothing was stored");
        let (status, _) = server.call(
            "PUT",
            "/api/v1/templates/ours",
            Some(&alice),
            Some(&json!({ "subject": "ok", "body": "fine" }).to_string()),
            &[],
        );
        assert_eq!(status, 403, "only admins change templates");

        std::fs::write(body, "We are on {{ title }} ({{ severity }}).\n").unwrap();
        let stored = stdout(&cli(
            &server,
            &admin,
            &[
                "template",
                "set",
                "ours",
                "--subject",
                "About {{ id }}",
                "--body-file",
                body,
            ],
        ));
        assert!(stored.contains("ours stored (custom)"), "{stored}");
        // A changed default, then back to the shipped one.
        stdout(&cli(
            &server,
            &admin,
            &[
                "template",
                "set",
                "resolved",
                "--subject",
                "Fixed: {{ title }}",
                "--body-file",
                body,
            ],
        ));
        let shown = stdout(&cli(
            &server,
            &alice,
            &["--json", "template", "show", "resolved"],
        ));
        let shown: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(shown["origin"], "changed");
        stdout(&cli(&server, &admin, &["template", "remove", "resolved"]));
        let shown = stdout(&cli(
            &server,
            &alice,
            &["--json", "template", "show", "resolved"],
        ));
        let shown: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(shown["origin"], "default");
        let (status, reply) = server.call(
            "DELETE",
            "/api/v1/templates/resolved",
            Some(&admin),
            None,
            &[],
        );
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (409, Some("template_is_default"))
        );

        // Posting an update from a template.
        stdout(&cli(
            &server,
            &alice,
            &[
                "update",
                &id,
                "--audience",
                "customers",
                "--template",
                "ours",
            ],
        ));
        let (_, timeline) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &alice);
        let text = timeline.to_string();
        assert!(text.contains(&format!("**About {id}**")), "{text}");
        assert!(text.contains("We are on Search is slow (SEV2)."), "{text}");
        let missing = cli(
            &server,
            &alice,
            &["template", "preview", &id, "no-such-template"],
        );
        assert_eq!(missing.status.code(), Some(1));
    }
}

#[test]
fn components_are_managed_from_the_cli() {
    let server = Server::start("sqlite");
    let admin = server.admin.clone();
    stdout(&cli(
        &server,
        &admin,
        &["component", "set", "api", "--description", "The public API"],
    ));
    stdout(&cli(
        &server,
        &admin,
        &["component", "set", "web", "--status", "under_maintenance"],
    ));
    stdout(&cli(
        &server,
        &admin,
        &["component", "set", "api", "--position", "5"],
    ));
    let list = stdout(&cli(&server, &admin, &["component", "list"]));
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert!(
        rows[0].contains("web") && rows[0].contains("under_maintenance"),
        "{list}"
    );
    assert!(
        rows[1].contains("api") && rows[1].contains("auto") && rows[1].contains("The public API"),
        "{list}"
    );
    let bad = cli(
        &server,
        &admin,
        &["component", "set", "web", "--status", "exploded"],
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an invalid value is a usage error"
    );
    stdout(&cli(&server, &admin, &["component", "remove", "web"]));
    let gone = cli(&server, &admin, &["component", "remove", "web"]);
    assert_eq!(gone.status.code(), Some(1));
    let summary: Value =
        serde_json::from_str(&fetch(&server.address, "/api/v2/components.json", &[]).2).unwrap();
    assert_eq!(summary["components"].as_array().unwrap().len(), 1);
}

#[test]
fn customers_read_the_public_summary_and_never_the_internal_one() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");
        let internal = "Bad deploy of checkout 1.1 by the payments team";
        let id = stdout(&cli(
            &server,
            &alice,
            &[
                "declare",
                "Checkout down",
                "--severity",
                "SEV2",
                "--summary",
                internal,
                "--public",
            ],
        ))
        .trim()
        .to_owned();

        // Without a public summary, the first response asks for the customers' words instead
        // of copying the team's, and nothing reaches customers until they are written.
        let preview = stdout(&cli(
            &server,
            &alice,
            &["template", "preview", &id, "first-response"],
        ));
        assert!(
            preview.contains("<describe what customers notice, in their words>"),
            "{preview}"
        );
        assert!(!preview.contains(internal), "{preview}");
        let refused = cli(
            &server,
            &alice,
            &[
                "update",
                &id,
                "--audience",
                "customers",
                "--template",
                "first-response",
            ],
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("<describe what customers notice"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );

        // Written from the CLI: one sentence back, and `show` prints it.
        let words = "Card payments fail for some customers; please try again later.";
        let written = stdout(&cli(&server, &alice, &["public-summary", &id, words]));
        assert_eq!(
            written.trim(),
            format!("{id}: alice wrote the public summary: {words}")
        );
        let shown = stdout(&cli(&server, &alice, &["show", &id]));
        assert!(
            shown.contains(&format!("for customers: {words}")),
            "{shown}"
        );

        // The API refuses template hints, and people who do not speak for the incident.
        let path = format!("/api/v1/incidents/{id}/public-summary");
        let (status, body) = server.call(
            "PUT",
            &path,
            Some(&alice),
            Some(r#"{"text": "Payments fail since <time, UTC>"}"#),
            &[],
        );
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "unfilled_placeholders", "{body}");
        let (status, body) = server.call(
            "PUT",
            &path,
            Some(&bob),
            Some(r#"{"text": "Fine now."}"#),
            &[],
        );
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "not_permitted", "{body}");
        let (_, document) = server.get(&format!("/api/v1/incidents/{id}"), &alice);
        assert_eq!(document["public_summary"], words, "{document}");

        // The first response now goes out whole, with the customers' words in it.
        stdout(&cli(
            &server,
            &alice,
            &[
                "update",
                &id,
                "--audience",
                "customers",
                "--public",
                "--template",
                "first-response",
            ],
        ));
        let (_, timeline) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &alice);
        let posted = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["type"] == "update_posted")
            .unwrap_or_else(|| panic!("{timeline}"));
        let body = posted["body"]["body"].as_str().unwrap();
        assert!(body.contains(words), "{body}");
        assert!(!body.contains(internal), "{body}");

        // The status page shows the public summary and never the internal one.
        let mut html = String::new();
        for _ in 0..50 {
            html = fetch(&server.address, "/status", &[]).2;
            if html.contains(words) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(html.contains(words), "{html}");
        assert!(!html.contains(internal), "{html}");

        // Cleared with --clear; a second clear changes nothing and says so.
        let cleared = stdout(&cli(&server, &alice, &["public-summary", &id, "--clear"]));
        assert_eq!(
            cleared.trim(),
            format!("{id}: alice cleared the public summary")
        );
        let again = cli(&server, &alice, &["public-summary", &id, "--clear"]);
        assert_eq!(again.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("no public summary to clear"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
}

#[test]
fn the_page_carries_its_settings_component_groups_and_uptime() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let alice = server.user("alice", "responder");
        let put = |token: &str, path: &str, body: Value| {
            server.call("PUT", path, Some(token), Some(&body.to_string()), &[])
        };

        // The page's identity: admins only, each field checked, nothing stored on a refusal.
        let (status, defaults) = server.get("/api/v1/status-page", &alice);
        assert_eq!(status, 200);
        assert_eq!(defaults["name"], "Service status");
        assert_eq!(defaults["time_zone"], "UTC");
        for (body, field) in [
            (json!({ "time_zone": "Mars/Olympus" }), "time_zone"),
            (json!({ "url": "ftp://status.example.com" }), "url"),
            (json!({ "name": "  " }), "name"),
        ] {
            let (status, reply) = put(&admin, "/api/v1/status-page", body);
            assert_eq!(status, 422, "{reply}");
            assert!(
                reply["error"]["message"].as_str().unwrap().contains(field),
                "{reply}"
            );
        }
        assert_eq!(
            put(&alice, "/api/v1/status-page", json!({ "name": "x" })).0,
            403
        );
        assert_eq!(
            server.get("/api/v1/status-page", &alice).1,
            defaults,
            "refusals change nothing"
        );
        let out = stdout(&cli(
            &server,
            &admin,
            &[
                "status-page",
                "set",
                "--name",
                "Acme status",
                "--url",
                "https://status.acme.example",
                "--time-zone",
                "Europe/Berlin",
                "--description",
                "Live status of **Acme**.",
            ],
        ));
        assert!(out.contains("time zone:   Europe/Berlin"), "{out}");

        // Components, two of them in a group.
        for (name, body) in [
            ("db", json!({ "group": "Data" })),
            ("checkout", json!({ "description": "Paying" })),
            ("cache", json!({ "group": "Data" })),
        ] {
            let (status, reply) = put(&admin, &format!("/api/v1/components/{name}"), body);
            assert_eq!(status, 200, "{reply}");
        }
        let (status, reply) = put(
            &admin,
            "/api/v1/components/db",
            json!({ "group": "x".repeat(65) }),
        );
        assert_eq!(status, 422, "{reply}");

        // A SEV1 on db, resolved a moment later: today shows a major outage for db only.
        let (status, declared) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Database down", "severity": "SEV1", "services": ["db"], "visibility": "public" }),
        );
        assert_eq!(status, 201, "{declared}");
        let id = declared["id"].as_str().unwrap();
        std::thread::sleep(Duration::from_millis(1_100));
        let (status, reply) = server.post(
            &format!("/api/v1/incidents/{id}/resolve"),
            &alice,
            json!({}),
        );
        assert_eq!(status, 200, "{reply}");

        let components = public_json(&server, "/api/v2/components.json");
        check_statuspage_shape("components", &components);
        assert_eq!(components["page"]["name"], "Acme status");
        assert_eq!(components["page"]["url"], "https://status.acme.example");
        assert_eq!(components["page"]["time_zone"], "Europe/Berlin");
        let list = components["components"].as_array().unwrap();
        let group = list.iter().find(|c| c["group"] == true).unwrap();
        assert_eq!(group["id"], "group-data");
        assert_eq!(group["name"], "Data");
        assert_eq!(group["components"], json!(["db", "cache"]));
        assert_eq!(group["status"], "operational");
        let member = |name: &str| list.iter().find(|c| c["name"] == name).unwrap().clone();
        assert_eq!(member("db")["group_id"], "group-data");
        assert_eq!(member("cache")["group_id"], "group-data");
        assert_eq!(member("checkout")["group_id"], Value::Null);
        let incidents = public_json(&server, "/api/v2/incidents.json");
        assert!(
            incidents["incidents"][0]["shortlink"]
                .as_str()
                .unwrap()
                .starts_with("https://status.acme.example#"),
            "{incidents}"
        );

        let uptime = public_json(&server, "/api/v2/uptime.json");
        let of = |name: &str| {
            uptime["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .unwrap()
                .clone()
        };
        let db = of("db");
        let days = db["days"].as_array().unwrap();
        assert_eq!(days.len(), 90);
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
            .date()
            .to_string();
        assert_eq!(days[89]["date"], today.as_str(), "days in the page's zone");
        assert_eq!(days[89]["status"], "major_outage", "{db}");
        assert_eq!(
            days[88]["status"],
            Value::Null,
            "before the component existed"
        );
        assert!(db["uptime_percent"].as_f64().unwrap() < 100.0, "{db}");
        let cache = of("cache");
        assert_eq!(cache["days"][89]["status"], "operational", "{cache}");
        assert_eq!(cache["uptime_percent"], 100.0);

        let page = fetch(&server.address, "/status", &[]).2;
        assert!(page.contains("<title>Acme status</title>"), "{page}");
        assert!(
            page.contains("Live status of <strong>Acme</strong>."),
            "{page}"
        );
        assert!(page.contains(r#"<th scope="rowgroup">Data</th>"#), "{page}");
        assert!(page.contains(r#"<svg class="uptime""#), "{page}");
        assert!(
            page.contains("major outage"),
            "the day's bar says what happened: {page}"
        );
        assert!(
            page.contains("CET") || page.contains("CEST"),
            "times in the page's zone: {page}"
        );
        let feed = fetch(&server.address, "/status/feed.atom", &[]).2;
        assert!(feed.contains("<title>Acme status</title>"), "{feed}");

        // The history pages back through every public incident, 25 at a time; internal
        // incidents never show.
        for n in 0..30 {
            let visibility = if n == 7 { "internal" } else { "public" };
            let (status, reply) = server.post(
                "/api/v1/incidents",
                &alice,
                json!({ "title": format!("Old incident {n}"), "severity": "SEV3", "services": ["cache"], "visibility": visibility }),
            );
            assert_eq!(status, 201, "{reply}");
        }
        let first = public_json(&server, "/api/v2/history.json");
        let listed = first["incidents"].as_array().unwrap();
        assert_eq!(listed.len(), 25);
        assert_eq!(listed[0]["name"], "Old incident 29");
        let older = first["older"].as_str().unwrap();
        let path = &older[older.find("/api/").unwrap()..];
        let second = public_json(&server, path);
        let names: Vec<&str> = second["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Old incident 3",
                "Old incident 2",
                "Old incident 1",
                "Old incident 0",
                "Database down"
            ],
            "the internal one is never listed"
        );
        assert_eq!(second["older"], Value::Null);
        let html = fetch(&server.address, "/status/history", &[]).2;
        assert!(
            html.contains("Old incident 29") && html.contains("Older incidents"),
            "{html}"
        );
        assert!(!html.contains("Old incident 7"), "{html}");
        let (status, _, body) = fetch(&server.address, "/api/v2/history.json?before=soon", &[]);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("invalid_query"), "{body}");
    }
}
