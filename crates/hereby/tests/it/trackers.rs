//! Follow-ups kept in GitHub, GitLab and a generic tracker, end to end: hereby opens the
//! issue through its outbox, the tracker's webhook (recorded real payloads, signed as each
//! tracker signs them) brings the state back, deliveries sent twice act once, a lost webhook
//! is caught up by the reconcile poll, a revoked token shows on the follow-up and in
//! `/metrics`, and the review agenda shows the synced state.
//!
//! No GitHub or GitLab server runs here: a local listener answers their REST API's documented
//! shapes (the calls hereby makes: create an issue, read one back) and records every call.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::api::{Server, cli, databases};

const GITHUB_REPO: &str = "Codertocat/Hello-World";
const GITHUB_SECRET: &str = "github-webhook-secret-0123";
const GITLAB_PROJECT: &str = "gitlabhq/gitlab-test";
const GITLAB_TOKEN: &str = "gitlab-webhook-token-0123";
const TRACKER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/trackers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One call the fake tracker API got.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Value,
    /// The body as sent.
    raw: Vec<u8>,
}

/// An issue as the fake tracker keeps it.
#[derive(Debug, Clone)]
struct Issue {
    state: String,
    reason: Option<String>,
    updated_at: String,
}

#[derive(Default)]
struct Tracked {
    calls: Vec<Call>,
    /// By (product, number).
    issues: BTreeMap<(String, u64), Issue>,
    next_github: u64,
    next_gitlab: u64,
    next_generic: u64,
}

/// A local stand-in for GitHub's and GitLab's REST APIs and a generic tracker, on one port:
/// `/repos/…` is GitHub, `/api/v4/…` GitLab, `/generic…` the generic tracker.
struct FakeTrackers {
    port: u16,
    state: Arc<Mutex<Tracked>>,
    revoked: Arc<AtomicBool>,
}

impl FakeTrackers {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(Tracked {
            next_github: 1,
            // The recorded GitLab payload is about issue 23.
            next_gitlab: 23,
            next_generic: 500,
            ..Tracked::default()
        }));
        let revoked = Arc::new(AtomicBool::new(false));
        let (shared, refused) = (state.clone(), revoked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (shared, refused) = (shared.clone(), refused.clone());
                std::thread::spawn(move || serve(stream, port, &shared, &refused));
            }
        });
        Self {
            port,
            state,
            revoked,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// What a person does in the tracker: the issue now stands so.
    fn set(&self, product: &str, number: u64, state: &str, reason: Option<&str>, at: &str) {
        self.state.lock().unwrap().issues.insert(
            (product.to_owned(), number),
            Issue {
                state: state.to_owned(),
                reason: reason.map(str::to_owned),
                updated_at: at.to_owned(),
            },
        );
    }
}

fn serve(stream: std::net::TcpStream, port: u16, shared: &Mutex<Tracked>, revoked: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut raw = vec![0; length];
    let _ = reader.read_exact(&mut raw);
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let base = format!("http://127.0.0.1:{port}");
    let (status, answer) = {
        let mut tracked = shared.lock().unwrap();
        tracked.calls.push(Call {
            method: method.clone(),
            path: path.clone(),
            headers: headers.clone(),
            body: body.clone(),
            raw,
        });
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if revoked.load(Ordering::SeqCst) {
            (
                401,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
            )
        } else {
            match (method.as_str(), segments.as_slice()) {
                ("POST", ["repos", owner, repo, "issues"]) => {
                    let number = tracked.next_github;
                    tracked.next_github += 1;
                    let issue = Issue {
                        state: "open".into(),
                        reason: None,
                        updated_at: "2026-01-01T00:00:00Z".into(),
                    };
                    tracked.issues.insert(("github".into(), number), issue);
                    (
                        201,
                        json!({
                            "number": number,
                            "html_url": format!("https://github.com/{owner}/{repo}/issues/{number}"),
                            "state": "open",
                        }),
                    )
                }
                ("GET", ["repos", _, _, "issues", number]) => {
                    match number
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| tracked.issues.get(&("github".into(), n)).cloned())
                    {
                        Some(issue) => (
                            200,
                            json!({
                                "number": number.parse::<u64>().unwrap(),
                                "state": issue.state,
                                "state_reason": issue.reason,
                                "updated_at": issue.updated_at,
                            }),
                        ),
                        None => (404, json!({"message": "Not Found"})),
                    }
                }
                ("POST", ["api", "v4", "projects", _, "issues"]) => {
                    let iid = tracked.next_gitlab;
                    tracked.next_gitlab += 1;
                    tracked.issues.insert(
                        ("gitlab".into(), iid),
                        Issue {
                            state: "opened".into(),
                            reason: None,
                            updated_at: "2013-12-03T17:15:43Z".into(),
                        },
                    );
                    (
                        201,
                        json!({
                            "iid": iid,
                            "web_url": format!("http://example.com/gitlabhq/gitlab-test/-/issues/{iid}"),
                            "state": "opened",
                        }),
                    )
                }
                ("GET", ["api", "v4", "projects", _, "issues", iid]) => {
                    match iid
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| tracked.issues.get(&("gitlab".into(), n)).cloned())
                    {
                        Some(issue) => (
                            200,
                            json!({
                                "iid": iid.parse::<u64>().unwrap(),
                                "state": issue.state,
                                "updated_at": issue.updated_at,
                            }),
                        ),
                        None => (404, json!({"message": "404 Not found"})),
                    }
                }
                ("POST", ["generic"]) => {
                    let id = tracked.next_generic;
                    tracked.next_generic += 1;
                    tracked.issues.insert(
                        ("generic".into(), id),
                        Issue {
                            state: "open".into(),
                            reason: None,
                            updated_at: "2026-01-01T00:00:00Z".into(),
                        },
                    );
                    (
                        201,
                        json!({"id": format!("T-{id}"), "url": format!("{base}/generic/T-{id}"), "key": format!("T-{id}")}),
                    )
                }
                ("GET", ["generic", id]) => {
                    match id
                        .strip_prefix("T-")
                        .and_then(|n| n.parse::<u64>().ok())
                        .and_then(|n| tracked.issues.get(&("generic".into(), n)).cloned())
                    {
                        Some(issue) => (
                            200,
                            json!({"id": id, "state": issue.state, "reason": issue.reason, "updated_at": issue.updated_at}),
                        ),
                        None => (404, json!({"message": "no such issue"})),
                    }
                }
                _ => (404, json!({"message": "Not Found"})),
            }
        }
    };
    let body = answer.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn item(server: &Server, incident: &str, number: u64) -> Value {
    let (status, document) = server.get(&format!("/api/v1/incidents/{incident}"), &server.admin);
    assert_eq!(status, 200, "{document}");
    document["action_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["item"] == number)
        .cloned()
        .unwrap()
}

fn tracked(server: &Server, incident: &str, number: u64) -> Value {
    let (status, rows) = server.get(
        &format!("/api/v1/incidents/{incident}/tracked-items"),
        &server.admin,
    );
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["item"] == number)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Posts a webhook body with headers; returns the status and the JSON answer.
fn hook(server: &Server, tracker: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    server.call(
        "POST",
        &format!("/ingest/trackers/{tracker}"),
        None,
        Some(body),
        headers,
    )
}

fn github_signature(body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn github_hook(server: &Server, payload: &Value, delivery: &str) -> (u16, Value) {
    let body = payload.to_string();
    let signature = github_signature(&body);
    hook(
        server,
        "gh",
        &body,
        &[
            ("X-GitHub-Event", "issues"),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &signature),
            ("Content-Type", "application/json"),
        ],
    )
}

/// GitHub's recorded `reopened` event, made into the `closed` GitHub sends when someone
/// closes the issue (see the fixtures' README).
fn github_closed(reason: &str, at: &str) -> Value {
    let mut payload = fixture("github-issues-reopened.json");
    payload["action"] = json!("closed");
    payload["issue"]["state"] = json!("closed");
    payload["issue"]["state_reason"] = json!(reason);
    payload["issue"]["updated_at"] = json!(at);
    payload
}

fn add_follow_up(server: &Server, token: &str, incident: &str, text: &str) {
    let (status, body) = server.post(
        &format!("/api/v1/incidents/{incident}/action-items"),
        token,
        json!({"text": text, "owner": "alice", "kind": "follow_up", "due": "2030-01-01"}),
    );
    assert_eq!(status, 200, "{body}");
}

fn add_channel(server: &Server, body: Value) {
    let (status, answer) = server.post("/api/v1/channels", &server.admin, body);
    assert_eq!(status, 201, "{answer}");
}

#[test]
fn follow_ups_closed_in_github_gitlab_or_a_generic_tracker_come_back_done() {
    for database in databases() {
        let trackers = FakeTrackers::start();
        // Quick retries, and enough of them that an export refused while the token is
        // revoked is still being retried when a good one is back.
        let server = Server::start_with(
            &database,
            &[
                "--notify-backoff",
                "100ms",
                "--notify-backoff-max",
                "300ms",
                "--notify-max-attempts",
                "100",
                "--notify-lease",
                "2s",
                "--tracker-poll",
                "1s",
                "--public-url",
                "https://hereby.example",
            ],
        );
        let alice = server.user("alice", "responder");
        add_channel(
            &server,
            json!({"name": "gh", "kind": "github", "url": trackers.url(), "project": GITHUB_REPO,
                   "secret": "ghp_not-a-real-token", "signing_secret": GITHUB_SECRET}),
        );
        // The token and the webhook secret are never shown again.
        let (_, channels) = server.get("/api/v1/channels", &server.admin);
        let listed = channels.to_string();
        assert!(
            !listed.contains("ghp_not-a-real-token") && !listed.contains(GITHUB_SECRET),
            "{listed}"
        );

        let (code, stdout, stderr) = cli(&server, &alice, &["declare", "Checkout slow"]);
        assert_eq!((code, stdout.as_str()), (0, "INC-1\n"), "{stderr}");
        add_follow_up(&server, &alice, "INC-1", "Alert on checkout latency");
        // A tracker that does not exist is named as such, and nothing changes.
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &["action", "export", "INC-1", "1", "--tracker", "jira"],
        );
        assert_ne!(code, 0);
        assert!(
            stderr.contains("there is no tracker `jira`") && stderr.contains("gh"),
            "{stderr}"
        );
        assert!(item(&server, "INC-1", 1)["tracker"].is_null());

        let (code, _, stderr) = cli(
            &server,
            &alice,
            &["action", "export", "INC-1", "1", "--tracker", "gh"],
        );
        assert_eq!(code, 0, "{stderr}");
        wait_for("the GitHub issue to be recorded", || {
            item(&server, "INC-1", 1)["tracker_key"] == "Codertocat/Hello-World#1"
        });
        let created: Vec<Call> = trackers
            .calls()
            .into_iter()
            .filter(|call| call.method == "POST")
            .collect();
        assert_eq!(created.len(), 1, "one issue, made once: {created:?}");
        let call = &created[0];
        assert_eq!(call.path, "/repos/Codertocat/Hello-World/issues");
        assert_eq!(call.headers["authorization"], "Bearer ghp_not-a-real-token");
        assert_eq!(call.headers["x-github-api-version"], "2022-11-28");
        assert_eq!(call.body["title"], "Alert on checkout latency");
        let text = call.body["body"].as_str().unwrap();
        assert!(
            text.contains("https://hereby.example/incidents/INC-1"),
            "{text}"
        );
        assert!(
            text.contains("https://hereby.example/incidents/INC-1/postmortem"),
            "{text}"
        );
        assert!(text.contains("INC-1: Checkout slow"), "{text}");
        assert_eq!(
            item(&server, "INC-1", 1)["tracker_url"],
            "https://github.com/Codertocat/Hello-World/issues/1"
        );

        // The tracker owns the state now: closing it in hereby says where to close it.
        let (status, refusal) = server.post(
            "/api/v1/incidents/INC-1/action-items/1/done",
            &alice,
            json!({}),
        );
        assert_eq!(
            (status, refusal["error"]["code"].as_str()),
            (422, Some("tracked_elsewhere")),
            "{refusal}"
        );

        // An engineer closes the issue in GitHub; GitHub's webhook says so.
        trackers.set(
            "github",
            1,
            "closed",
            Some("completed"),
            "2026-03-01T10:00:00Z",
        );
        let closed = github_closed("completed", "2026-03-01T10:00:00Z");
        // A body signed with another secret is refused and changes nothing.
        let body = closed.to_string();
        let (status, answer) = hook(
            &server,
            "gh",
            &body,
            &[
                ("X-GitHub-Event", "issues"),
                ("X-Hub-Signature-256", "sha256=00"),
                ("X-GitHub-Delivery", "d-0"),
            ],
        );
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "unauthenticated");
        assert_eq!(item(&server, "INC-1", 1)["state"], "open");
        let (status, answer) = github_hook(&server, &closed, "72d3162e-0001");
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("changed")),
            "{answer}"
        );
        assert_eq!(item(&server, "INC-1", 1)["state"], "done");
        // GitHub sends a delivery again (a redelivery from its settings page): acted on once.
        let (status, answer) = github_hook(&server, &closed, "72d3162e-0001");
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("duplicate")),
            "{answer}"
        );
        // A ping when the webhook is added.
        let ping = fixture("github-ping.json").to_string();
        let signature = github_signature(&ping);
        let (status, answer) = hook(
            &server,
            "gh",
            &ping,
            &[
                ("X-GitHub-Event", "ping"),
                ("X-Hub-Signature-256", &signature),
            ],
        );
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("pong")),
            "{answer}"
        );
        // The recorded `reopened` is older than what was heard: it changes nothing.
        let (status, answer) = github_hook(
            &server,
            &fixture("github-issues-reopened.json"),
            "72d3162e-0002",
        );
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("stale")),
            "{answer}"
        );
        assert_eq!(item(&server, "INC-1", 1)["state"], "done");

        // The review agenda shows the synced state and when it was heard.
        let (status, reviews) = server.get("/api/v1/incidents/INC-1/reviews", &alice);
        assert_eq!(status, 200, "{reviews}");
        let agenda = &reviews["agenda"][0];
        assert_eq!(agenda["state"], "done", "{reviews}");
        assert_eq!(
            agenda["tracked"]["key"], "Codertocat/Hello-World#1",
            "{reviews}"
        );
        assert_eq!(agenda["tracked"]["state"], "done", "{reviews}");
        assert!(agenda["tracked"]["synced_at"].is_string(), "{reviews}");
        let (code, shown, stderr) = cli(&server, &alice, &["review", "show", "INC-1"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            shown.contains("Codertocat/Hello-World#1 (done in gh, synced"),
            "{shown}"
        );

        // Webhooks get lost: someone reopens the issue and GitHub's webhook never arrives.
        // The reconcile poll catches up.
        trackers.set("github", 1, "open", None, "2026-03-02T10:00:00Z");
        wait_for("the poll to reopen the follow-up", || {
            item(&server, "INC-1", 1)["state"] == "open"
        });
        trackers.set(
            "github",
            1,
            "closed",
            Some("not_planned"),
            "2026-03-03T10:00:00Z",
        );
        wait_for("the poll to see it closed as not planned", || {
            item(&server, "INC-1", 1)["state"] == "wont_fix"
        });
        assert_eq!(
            item(&server, "INC-1", 1)["wont_fix_reason"],
            "closed as not planned in the tracker"
        );
        let (_, timeline) = server.get("/api/v1/incidents/INC-1/timeline", &alice);
        let said = timeline.to_string();
        assert!(said.contains("action_item_exported"), "{said}");

        // The token is revoked: the follow-up and /metrics say so, in words an admin acts on.
        trackers.revoked.store(true, Ordering::SeqCst);
        wait_for("the sync error", || {
            tracked(&server, "INC-1", 1)["sync_error"].is_string()
        });
        let error = tracked(&server, "INC-1", 1)["sync_error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            error.contains("refused the token of tracker `gh`") && error.contains("401"),
            "{error}"
        );
        let (code, listed, _) = cli(&server, &alice, &["action", "tracked", "INC-1"]);
        assert_eq!(code, 0);
        assert!(
            listed.contains("failed: GitHub refused the token"),
            "{listed}"
        );
        let scraped = scrape(&server);
        assert!(
            scraped.contains("hereby_tracker_sync_errors{tracker=\"gh\"} 1"),
            "{scraped}"
        );
        // A follow-up exported meanwhile fails the same way and says so on the follow-up.
        add_follow_up(&server, &alice, "INC-1", "Capacity plan for checkout");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/2/export",
            &alice,
            json!({"tracker": "gh"}),
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the export's refusal on the follow-up", || {
            tracked(&server, "INC-1", 2)["sync_error"].is_string()
        });
        // A new token: the next poll clears the error, and the outbox's retry makes the issue.
        trackers.revoked.store(false, Ordering::SeqCst);
        wait_for("the sync error to clear", || {
            tracked(&server, "INC-1", 1)["sync_error"].is_null()
        });
        wait_for("the second issue", || {
            item(&server, "INC-1", 2)["tracker_key"] == "Codertocat/Hello-World#2"
        });

        // The issue is deleted in GitHub: the follow-up says so until someone unlinks it.
        let mut deleted = fixture("github-issues-deleted.json");
        deleted["issue"]["number"] = json!(2);
        let (status, answer) = github_hook(&server, &deleted, "72d3162e-0003");
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("refused")),
            "{answer}"
        );
        assert!(
            tracked(&server, "INC-1", 2)["sync_error"]
                .as_str()
                .unwrap()
                .contains("deleted")
        );
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &[
                "action",
                "unlink",
                "INC-1",
                "2",
                "--reason",
                "the issue was deleted",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/2/done",
            &alice,
            json!({}),
        );
        assert_eq!(status, 200, "kept in hereby again: {body}");

        // GitLab: the recorded Issue Hook, with the webhook's secret token.
        add_channel(
            &server,
            json!({"name": "gl", "kind": "gitlab", "url": trackers.url(), "project": GITLAB_PROJECT,
                   "secret": "glpat-not-a-real-token", "signing_secret": GITLAB_TOKEN}),
        );
        add_follow_up(&server, &alice, "INC-1", "Runbook for the payment provider");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/3/export",
            &alice,
            json!({"tracker": "gl"}),
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the GitLab issue", || {
            item(&server, "INC-1", 3)["tracker_key"] == "gitlabhq/gitlab-test#23"
        });
        let call = trackers
            .calls()
            .into_iter()
            .find(|call| call.path.starts_with("/api/v4/") && call.method == "POST")
            .unwrap();
        assert_eq!(call.path, "/api/v4/projects/gitlabhq%2Fgitlab-test/issues");
        assert_eq!(call.headers["private-token"], "glpat-not-a-real-token");
        trackers.set("gitlab", 23, "closed", None, "2026-03-05T09:00:00Z");
        let mut closed = fixture("gitlab-issue-hook-open.json");
        closed["object_attributes"]["state"] = json!("closed");
        closed["object_attributes"]["action"] = json!("close");
        closed["object_attributes"]["updated_at"] = json!("2026-03-05 09:00:00 UTC");
        let body = closed.to_string();
        let (status, _) = hook(
            &server,
            "gl",
            &body,
            &[
                ("X-Gitlab-Event", "Issue Hook"),
                ("X-Gitlab-Token", "wrong-token-0123456"),
            ],
        );
        assert_eq!(status, 401);
        let (status, answer) = hook(
            &server,
            "gl",
            &body,
            &[
                ("X-Gitlab-Event", "Issue Hook"),
                ("X-Gitlab-Token", GITLAB_TOKEN),
                ("Idempotency-Key", "gl-1"),
            ],
        );
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("changed")),
            "{answer}"
        );
        assert_eq!(item(&server, "INC-1", 3)["state"], "done");
        // Moving an issue to another project closes it in GitLab; the work is not done, so
        // the follow-up says it moved instead.
        closed["object_attributes"]["moved_to_id"] = json!(9001);
        closed["object_attributes"]["updated_at"] = json!("2026-03-05 09:30:00 UTC");
        let (status, answer) = hook(
            &server,
            "gl",
            &closed.to_string(),
            &[
                ("X-Gitlab-Event", "Issue Hook"),
                ("X-Gitlab-Token", GITLAB_TOKEN),
                ("Idempotency-Key", "gl-2"),
            ],
        );
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("refused")),
            "{answer}"
        );
        assert!(
            tracked(&server, "INC-1", 3)["sync_error"]
                .as_str()
                .unwrap()
                .contains("moved to another project")
        );

        // A generic tracker, both ways signed with one Standard Webhooks secret.
        add_channel(
            &server,
            json!({"name": "ops-tracker", "kind": "tracker", "url": format!("{}/generic", trackers.url()), "secret": TRACKER_SECRET}),
        );
        add_follow_up(&server, &alice, "INC-1", "Chaos test for the queue");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/4/export",
            &alice,
            json!({"tracker": "ops-tracker"}),
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the generic issue", || {
            item(&server, "INC-1", 4)["tracker_key"] == "T-500"
        });
        let call = trackers
            .calls()
            .into_iter()
            .find(|call| call.path == "/generic")
            .unwrap();
        // hereby's request is signed: checked with an independent implementation.
        let signer = standardwebhooks::Webhook::new(TRACKER_SECRET).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            headers.insert(name, call.headers[name].parse().unwrap());
        }
        signer.verify(&call.raw, &headers).unwrap();
        trackers.set(
            "generic",
            500,
            "wont_do",
            Some("superseded by the queue rewrite"),
            "2026-03-06T09:00:00Z",
        );
        let report = json!({"id": "T-500", "state": "wont_do", "reason": "superseded by the queue rewrite", "updated_at": "2026-03-06T09:00:00Z"}).to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let signature = signer
            .sign("msg_generic_1", now, report.as_bytes())
            .unwrap();
        let stamp = now.to_string();
        let (status, answer) = hook(
            &server,
            "ops-tracker",
            &report,
            &[
                ("webhook-id", "msg_generic_1"),
                ("webhook-timestamp", &stamp),
                ("webhook-signature", &signature),
            ],
        );
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("changed")),
            "{answer}"
        );
        assert_eq!(item(&server, "INC-1", 4)["state"], "wont_fix");
        assert_eq!(
            item(&server, "INC-1", 4)["wont_fix_reason"],
            "superseded by the queue rewrite"
        );

        // A restricted incident's title stays in hereby.
        let (status, body) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({"title": "Secret merger outage", "visibility": "restricted"}),
        );
        assert_eq!(status, 201, "{body}");
        add_follow_up(&server, &alice, "INC-2", "Rotate the partner keys");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-2/action-items/1/export",
            &alice,
            json!({"tracker": "gh"}),
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the restricted incident's issue", || {
            item(&server, "INC-2", 1)["tracker_key"].is_string()
        });
        let issue = trackers
            .calls()
            .into_iter()
            .rev()
            .find(|call| call.method == "POST" && call.path.starts_with("/repos/"))
            .unwrap();
        let text = issue.body.to_string();
        assert!(!text.contains("Secret merger"), "{text}");
        assert!(text.contains("INC-2 (restricted)"), "{text}");
        // Nobody else learns of its tracked follow-ups.
        let bob = server.user("bob", "responder");
        let (status, _) = server.get("/api/v1/incidents/INC-2/tracked-items", &bob);
        assert_eq!(status, 404);

        // A follow-up unlinked while its export still waits (the token is refused) gets no
        // issue once the token works again: nobody would follow it.
        trackers.revoked.store(true, Ordering::SeqCst);
        add_follow_up(&server, &alice, "INC-1", "Load test the new queue");
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/5/export",
            &alice,
            json!({"tracker": "gh"}),
        );
        assert_eq!(status, 200, "{body}");
        wait_for("the refused export", || {
            tracked(&server, "INC-1", 5)["sync_error"].is_string()
        });
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/5/unlink",
            &alice,
            json!({"reason": "exported by mistake"}),
        );
        assert_eq!(status, 200, "{body}");
        let issues_before = trackers.state.lock().unwrap().next_github;
        trackers.revoked.store(false, Ordering::SeqCst);
        wait_for("the export delivery to be done with", || {
            let (_, deliveries) = server.get("/api/v1/deliveries?state=pending", &server.admin);
            !deliveries.to_string().contains("follow_up_export")
        });
        assert_eq!(
            trackers.state.lock().unwrap().next_github,
            issues_before,
            "no issue made"
        );
        assert!(
            tracked(&server, "INC-1", 5).is_null(),
            "not listed as tracked"
        );
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/action-items/5/done",
            &alice,
            json!({}),
        );
        assert_eq!(status, 200, "{body}");
    }
}

/// The Prometheus text of `/metrics`.
fn scrape(server: &Server) -> String {
    let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.admin
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}
