//! Notifications end to end: the real server delivering to a real HTTP receiver on loopback
//! (signatures, idempotency keys, retries after 500s, a receiver that is down for a while,
//! dead letters and "retry now", a restart with deliveries pending), to a real SMTP server
//! (aiosmtpd), and cadence reminders driven by the job table.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::api::{Server, databases};

const SECRET: &str = "a-webhook-secret-of-some-length";

/// Fast retries, so dead letters and recoveries take a second rather than minutes.
pub(crate) const FAST: &[&str] = &[
    "--notify-backoff",
    "100ms",
    "--notify-backoff-max",
    "300ms",
    "--notify-max-attempts",
    "6",
    "--notify-lease",
    "2s",
];

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) at: Instant,
    /// The request target as sent: path and query.
    pub(crate) target: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: String,
    /// The status the receiver answered.
    pub(crate) status: u16,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Whether `X-Hereby-Signature` is the HMAC of `<timestamp>.<body>` with `secret`.
    pub(crate) fn signed_with(&self, secret: &str) -> bool {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(self.header("x-hereby-timestamp").as_bytes());
        mac.update(b".");
        mac.update(self.body.as_bytes());
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.header("x-hereby-signature") == expected
    }
}

/// A tiny HTTP receiver on loopback: records every request and answers the statuses queued
/// in `answers` (200 once they run out).
pub(crate) struct Receiver {
    pub(crate) port: u16,
    pub(crate) received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    /// How long each request is held before the answer, and the most held at once.
    pacing: Arc<Pacing>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Pacing {
    hold: Mutex<Duration>,
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Receiver {
    pub(crate) fn start() -> Self {
        Self::start_on(0)
    }

    pub(crate) fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let pacing = Arc::new(Pacing::default());
        let thread = {
            let (received, answers, stop, pacing) = (
                received.clone(),
                answers.clone(),
                stop.clone(),
                pacing.clone(),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (received, answers, pacing) =
                        (received.clone(), answers.clone(), pacing.clone());
                    std::thread::spawn(move || serve_one(stream, &received, &answers, &pacing));
                }
            })
        };
        Self {
            port,
            received,
            answers,
            pacing,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub(crate) fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    /// Holds every request this long before answering.
    fn hold(&self, hold: Duration) {
        *self.pacing.hold.lock().unwrap() = hold;
    }

    /// The most requests that were being answered at once.
    fn most_at_once(&self) -> usize {
        self.pacing.most.load(Ordering::SeqCst)
    }

    pub(crate) fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received, or fails after `limit`.
    pub(crate) fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let all = self.all();
            if done(&all) {
                return all;
            }
            assert!(
                start.elapsed() < limit,
                "the receiver did not get what was expected within {limit:?}; got {} requests: {:#?}",
                all.len(),
                all.iter()
                    .map(|r| (
                        r.status,
                        r.header("idempotency-key").to_owned(),
                        r.body.clone()
                    ))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag and closes the port.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_one(
    stream: TcpStream,
    received: &Mutex<Vec<Received>>,
    answers: &Mutex<VecDeque<u16>>,
    pacing: &Pacing,
) {
    let mut reader = BufReader::new(stream);
    let mut headers = HashMap::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let target = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let now = pacing.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    pacing.most.fetch_max(now, Ordering::SeqCst);
    let hold = *pacing.hold.lock().unwrap();
    std::thread::sleep(hold);
    pacing.in_flight.fetch_sub(1, Ordering::SeqCst);
    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
    received.lock().unwrap().push(Received {
        at: Instant::now(),
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status,
    });
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

/// A loopback port nobody listens on (for now).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

pub(crate) fn webhook(server: &Server, name: &str, url: &str, events: &[&str]) -> i64 {
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({ "name": name, "kind": "webhook", "url": url, "secret": SECRET }),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(
        !channel.to_string().contains(SECRET),
        "secrets are never returned: {channel}"
    );
    let id = channel["id"].as_i64().unwrap();
    let (status, subscription) = server.post(
        "/api/v1/subscriptions",
        &server.admin,
        json!({ "channel": name, "events": events }),
    );
    assert_eq!(status, 201, "{subscription}");
    id
}

pub(crate) fn deliveries(server: &Server, query: &str) -> Vec<Value> {
    let (status, list) = server.get(&format!("/api/v1/deliveries{query}"), &server.admin);
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

pub(crate) fn wait_for_deliveries(
    server: &Server,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let list = deliveries(server, "");
        if done(&list) {
            return list;
        }
        assert!(
            start.elapsed() < limit,
            "deliveries never got there: {list:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn declare(server: &Server, token: &str, title: &str, severity: &str) -> String {
    let (status, declared) = server.post(
        "/api/v1/incidents",
        token,
        json!({ "title": title, "severity": severity }),
    );
    assert_eq!(status, 201, "{declared}");
    declared["id"].as_str().unwrap().to_owned()
}

#[test]
fn webhooks_are_signed_retried_after_500s_and_dead_lettered() {
    for database in databases() {
        let server = Server::start_with(&database, FAST);
        let alice = server.user("alice", "responder");

        // Bad settings are refused and change nothing.
        for (body, expected) in [
            (json!({ "name": "x", "kind": "pigeon" }), 422),
            (
                json!({ "name": "x", "kind": "webhook", "url": "http://127.0.0.1:1/", "secret": "short" }),
                422,
            ),
            (
                json!({ "name": "x", "kind": "webhook", "url": "ftp://example.com/", "secret": SECRET }),
                422,
            ),
            (
                json!({ "name": "Bad Name", "kind": "slack", "url": "http://127.0.0.1:1/" }),
                422,
            ),
            (
                json!({ "name": "x", "kind": "email", "host": "127.0.0.1", "from": "not an address" }),
                422,
            ),
            (
                json!({ "name": "x", "kind": "slack", "url": "http://127.0.0.1:1/", "personal": true }),
                422,
            ),
            (
                json!({ "name": "x", "kind": "slack", "colour": "red" }),
                400,
            ),
        ] {
            let (status, answer) = server.post("/api/v1/channels", &server.admin, body.clone());
            assert_eq!(status, expected, "{body} → {answer}");
            assert!(!code(&answer).is_empty(), "{answer}");
        }
        let (status, _) = server.post(
            "/api/v1/channels",
            &alice,
            json!({ "name": "x", "kind": "slack", "url": "http://127.0.0.1:1/" }),
        );
        assert_eq!(status, 403, "only admins configure channels");
        let (_, channels) = server.get("/api/v1/channels", &server.admin);
        assert_eq!(channels, json!([]), "refused requests created nothing");

        // A receiver that fails twice, then accepts.
        let flaky = Receiver::start();
        flaky.answer(&[500, 500]);
        webhook(
            &server,
            "flaky",
            &flaky.url(),
            &["declared", "status_changed"],
        );
        for (body, expected) in [
            (json!({ "channel": "flaky", "events": ["exploded"] }), 422),
            (json!({ "channel": "flaky", "events": [] }), 422),
            (json!({ "channel": "nope", "events": ["declared"] }), 422),
            (
                json!({ "channel": "flaky", "events": ["declared"], "recipient": "a@example.com" }),
                422,
            ),
            (
                json!({ "channel": "flaky", "events": ["declared"], "scope": "galaxy" }),
                422,
            ),
            (
                json!({ "channel": "flaky", "events": ["update_posted"], "audience": "martians" }),
                422,
            ),
        ] {
            let (status, answer) =
                server.post("/api/v1/subscriptions", &server.admin, body.clone());
            assert_eq!(status, expected, "{body} → {answer}");
        }
        let (_, subscriptions) = server.get("/api/v1/subscriptions", &server.admin);
        assert_eq!(
            subscriptions.as_array().unwrap().len(),
            1,
            "{subscriptions}"
        );

        let incident = declare(&server, &alice, "Checkout fails", "SEV2");
        let got = flaky.wait_for(Duration::from_secs(20), |all| {
            all.iter().any(|r| r.status == 200)
        });
        assert_eq!(
            got.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![500, 500, 200],
            "two failures, then success, and nothing after it"
        );
        let key = got[0].header("idempotency-key").to_owned();
        assert!(!key.is_empty());
        for request in &got {
            assert_eq!(
                request.header("idempotency-key"),
                key,
                "one key for every attempt"
            );
            assert!(request.signed_with(SECRET), "bad signature: {request:?}");
            assert!(!request.signed_with("some-other-secret-entirely"));
            let sent: i64 = request.header("x-hereby-timestamp").parse().unwrap();
            let now = jiff::Timestamp::now().as_second();
            assert!((now - sent).abs() < 60, "timestamp {sent} vs now {now}");
            assert_eq!(request.header("content-type"), "application/json");
        }
        let payload = got[2].json();
        assert_eq!(payload["kind"], "declared", "{payload}");
        assert_eq!(payload["incident"]["id"], incident.as_str());
        assert_eq!(payload["incident"]["title"], "Checkout fails");
        assert_eq!(payload["incident"]["severity"], "SEV2");
        assert!(
            payload["incident"]["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/incidents/{incident}")),
            "{payload}"
        );
        let listed = wait_for_deliveries(&server, Duration::from_secs(5), |list| {
            list.iter().any(|d| d["state"] == "delivered")
        });
        let delivered = listed
            .iter()
            .find(|d| d["idempotency_key"] == key.as_str())
            .unwrap();
        assert_eq!(delivered["attempts"], 3, "{delivered}");
        assert_eq!(delivered["state"], "delivered");

        // A status change is a second notification with a key of its own; a note is none.
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/notes"),
            &alice,
            json!({ "text": "not a notification" }),
        );
        assert_eq!(status, 200);
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/status"),
            &alice,
            json!({ "status": "identified" }),
        );
        assert_eq!(status, 200);
        let got = flaky.wait_for(Duration::from_secs(10), |all| all.len() == 4);
        let change = got[3].json();
        assert_eq!(change["kind"], "status_changed", "{change}");
        assert_eq!(change["status"]["to"], "identified");
        assert_ne!(got[3].header("idempotency-key"), key);

        // A receiver that is down for a while: refused connections, then it comes up.
        let port = closed_port();
        webhook(
            &server,
            "late",
            &format!("http://127.0.0.1:{port}/hook"),
            &["declared"],
        );
        let late_incident = declare(&server, &alice, "Search is slow", "SEV3");
        wait_for_deliveries(&server, Duration::from_secs(10), |list| {
            list.iter().any(|d| {
                d["state"] == "pending"
                    && d["attempts"].as_u64().unwrap_or(0) >= 2
                    && d["incident"] == late_incident.as_str()
                    && d["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("connect"))
            })
        });
        let late = Receiver::start_on(port);
        let got = late.wait_for(Duration::from_secs(10), |all| !all.is_empty());
        assert_eq!(got[0].json()["incident"]["id"], late_incident.as_str());
        assert!(got[0].signed_with(SECRET));
        drop(late);

        // A receiver that stays down: the delivery dies after the last attempt, and an admin
        // retries it once the receiver is back.
        let dead_incident = declare(&server, &alice, "Payments time out", "SEV1");
        let listed = wait_for_deliveries(&server, Duration::from_secs(20), |list| {
            list.iter()
                .any(|d| d["state"] == "dead" && d["incident"] == dead_incident.as_str())
        });
        let dead = listed
            .iter()
            .find(|d| d["state"] == "dead" && d["incident"] == dead_incident.as_str())
            .unwrap()
            .clone();
        assert_eq!(dead["attempts"], 6, "{dead}");
        let only_dead = deliveries(&server, "?state=dead");
        assert!(only_dead.iter().all(|d| d["state"] == "dead"));
        assert!(only_dead.iter().any(|d| d["id"] == dead["id"]));
        let (status, answer) = server.get("/api/v1/deliveries?state=lost", &server.admin);
        assert_eq!((status, code(&answer)), (422, "invalid_value"));
        let (status, _) = server.get("/api/v1/deliveries", &alice);
        assert_eq!(status, 403);
        let back = Receiver::start_on(port);
        let id = dead["id"].as_i64().unwrap();
        let (status, retried) = server.post(
            &format!("/api/v1/deliveries/{id}/retry"),
            &server.admin,
            json!({}),
        );
        assert_eq!(status, 200, "{retried}");
        assert_eq!(retried["state"], "pending");
        let got = back.wait_for(Duration::from_secs(10), |all| !all.is_empty());
        assert_eq!(
            got[0].header("idempotency-key"),
            dead["idempotency_key"].as_str().unwrap()
        );
        let listed = wait_for_deliveries(&server, Duration::from_secs(5), |list| {
            list.iter()
                .any(|d| d["id"] == id && d["state"] == "delivered")
        });
        assert!(listed.iter().any(|d| d["id"] == id));
        let (status, answer) = server.post(
            &format!("/api/v1/deliveries/{id}/retry"),
            &server.admin,
            json!({}),
        );
        assert_eq!((status, code(&answer)), (409, "already_delivered"));
        let (status, _) = server.post("/api/v1/deliveries/999999/retry", &server.admin, json!({}));
        assert_eq!(status, 404);
    }
}

#[test]
fn restricted_incidents_and_public_scope_are_respected() {
    for database in databases() {
        let server = Server::start_with(&database, FAST);
        let alice = server.user("alice", "responder");
        let everything = Receiver::start();
        let public = Receiver::start();
        webhook(
            &server,
            "all",
            &everything.url(),
            &["declared", "update_posted"],
        );
        let (status, channel) = server.post(
            "/api/v1/channels",
            &server.admin,
            json!({ "name": "status-page", "kind": "slack", "url": public.url() }),
        );
        assert_eq!(status, 201, "{channel}");
        assert_eq!(
            channel["target"],
            format!("http://127.0.0.1:{}/…", public.port)
        );
        let (status, _) = server.post(
            "/api/v1/subscriptions",
            &server.admin,
            json!({ "channel": "status-page", "events": ["declared", "update_posted"], "scope": "public" }),
        );
        assert_eq!(status, 201);

        let (status, _) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Secret breach", "visibility": "restricted" }),
        );
        assert_eq!(status, 201);
        let internal = declare(&server, &alice, "Internal only", "SEV3");
        let (status, _) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Everyone can see", "visibility": "public" }),
        );
        assert_eq!(status, 201);
        let (status, _) = server.post(
            "/api/v1/incidents/INC-3/updates",
            &alice,
            json!({ "audience": "customers", "body": "private words", "public": false }),
        );
        assert_eq!(status, 200);
        let (status, _) = server.post(
            "/api/v1/incidents/INC-3/updates",
            &alice,
            json!({ "audience": "customers", "body": "public words", "public": true }),
        );
        assert_eq!(status, 200);

        let got = everything.wait_for(Duration::from_secs(10), |all| all.len() >= 4);
        // Deliveries run in parallel (up to the channel's concurrency), so order is not kept.
        let mut about: Vec<String> = got
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.json()["incident"]["id"].as_str().unwrap(),
                    r.json()["kind"].as_str().unwrap()
                )
            })
            .collect();
        about.sort();
        assert_eq!(
            about,
            vec![
                format!("{internal} declared"),
                "INC-3 declared".to_owned(),
                "INC-3 update_posted".to_owned(),
                "INC-3 update_posted".to_owned(),
            ],
            "every incident but the restricted one"
        );
        let got = public.wait_for(Duration::from_secs(10), |all| all.len() >= 2);
        let texts: Vec<String> = got
            .iter()
            .map(|r| r.json()["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts
                .iter()
                .any(|t| t.contains("INC-3") && t.contains("declared")),
            "{texts:?}"
        );
        assert!(
            texts.iter().any(|t| t.contains("public words")),
            "{texts:?}"
        );
        assert!(
            texts.iter().all(|t| !t.contains("private words")),
            "{texts:?}"
        );
        assert!(got.iter().all(|r| !r.body.contains("Secret breach")));
        assert!(
            everything
                .all()
                .iter()
                .all(|r| !r.body.contains("Secret breach"))
        );
    }
}

#[test]
fn a_restart_with_deliveries_pending_loses_nothing_and_keeps_the_keys() {
    for database in databases() {
        let mut server = Server::start_with(&database, FAST);
        let alice = server.user("alice", "responder");
        let port = closed_port();
        webhook(
            &server,
            "down",
            &format!("http://127.0.0.1:{port}/hook"),
            &["declared", "severity_changed"],
        );
        let mut incidents = Vec::new();
        for n in 0..5 {
            incidents.push(declare(&server, &alice, &format!("Outage {n}"), "SEV2"));
        }
        // Some deliveries are queued and failing by now; the last events may not even be
        // dispatched yet when the server is killed.
        wait_for_deliveries(&server, Duration::from_secs(10), |list| {
            list.iter()
                .any(|d| d["attempts"].as_u64().unwrap_or(0) >= 1)
        });
        let before: HashSet<String> = deliveries(&server, "")
            .iter()
            .map(|d| d["idempotency_key"].as_str().unwrap().to_owned())
            .collect();
        let status = server.signal_and_restart("KILL");
        assert!(!status.success());
        // Written while nothing was being dispatched: picked up from the cursor after restart.
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{}/severity", incidents[0]),
            &alice,
            json!({ "severity": "SEV1", "reason": "spreading" }),
        );
        assert_eq!(status, 200);
        let receiver = Receiver::start_on(port);
        let got = receiver.wait_for(Duration::from_secs(30), |all| {
            let keys: HashSet<&str> = all.iter().map(|r| r.header("idempotency-key")).collect();
            keys.len() >= 6
        });
        let keys: HashSet<String> = got
            .iter()
            .map(|r| r.header("idempotency-key").to_owned())
            .collect();
        assert_eq!(
            keys.len(),
            6,
            "five declarations and one severity change: {keys:?}"
        );
        assert!(
            before.is_subset(&keys),
            "keys queued before the crash are the keys sent: {before:?} vs {keys:?}"
        );
        let mut declared: Vec<String> = got
            .iter()
            .filter(|r| r.json()["kind"] == "declared")
            .map(|r| r.json()["incident"]["id"].as_str().unwrap().to_owned())
            .collect();
        declared.sort();
        declared.dedup();
        let mut expected = incidents.clone();
        expected.sort();
        assert_eq!(declared, expected);
        // Any repeat carried the same key as its original: same key, same body.
        let mut bodies: HashMap<&str, &str> = HashMap::new();
        for request in &got {
            let previous = bodies.insert(request.header("idempotency-key"), &request.body);
            if let Some(previous) = previous {
                assert_eq!(previous, request.body);
            }
        }
        wait_for_deliveries(&server, Duration::from_secs(10), |list| {
            list.len() == 6 && list.iter().all(|d| d["state"] == "delivered")
        });
    }
}

#[test]
fn reminders_fire_after_the_interval_and_follow_updates() {
    for database in databases() {
        let server = Server::start_with(
            &database,
            &["--cadence", "SEV1=2s", "--notify-backoff", "100ms"],
        );
        let alice = server.user("alice", "responder");
        let _carol = server.user("carol", "responder");
        let receiver = Receiver::start();
        webhook(&server, "reminders", &receiver.url(), &["reminder"]);
        let declared_at = Instant::now();
        let incident = declare(&server, &alice, "Checkout fails", "SEV1");
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/roles"),
            &alice,
            json!({ "role": "communications", "person": "carol" }),
        );
        assert_eq!(status, 200);
        let got = receiver.wait_for(Duration::from_secs(10), |all| !all.is_empty());
        assert!(
            got[0].at.duration_since(declared_at) >= Duration::from_millis(1_900),
            "not before the interval: {:?}",
            got[0].at.duration_since(declared_at)
        );
        let first = got[0].json();
        assert_eq!(first["kind"], "reminder", "{first}");
        assert_eq!(
            first["reminder"]["person"], "carol",
            "the communications role holder"
        );
        let first_due = first["reminder"]["due"].as_str().unwrap().to_owned();
        // The worker's own poll may send the reminder a moment before the note is written.
        let mut timeline = Value::Null;
        for _ in 0..50 {
            timeline = server
                .get(&format!("/api/v1/incidents/{incident}/timeline"), &alice)
                .1;
            if timeline.to_string().contains("Reminder sent to carol") {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            timeline.to_string().contains("Reminder sent to carol"),
            "the reminder is recorded on the incident: {timeline}"
        );

        // An update moves the due time: the next reminder is about the new one.
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/updates"),
            &alice,
            json!({ "audience": "internal", "body": "We know; fix underway" }),
        );
        assert_eq!(status, 200);
        let (_, document) = server.get(&format!("/api/v1/incidents/{incident}"), &alice);
        let count = receiver.all().len();
        let got = receiver.wait_for(Duration::from_secs(10), |all| all.len() > count);
        let next = got[count].json();
        let next_due = next["reminder"]["due"].as_str().unwrap();
        assert_ne!(next_due, first_due, "{next}");
        assert!(
            got[count..]
                .iter()
                .all(|r| r.json()["reminder"]["due"] != first_due.as_str()),
            "no reminder about the old due time after the update"
        );
        let shown: jiff::Timestamp = document["next_update_due"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let reminded: jiff::Timestamp = next_due.parse().unwrap();
        assert_eq!(
            shown.as_second(),
            reminded.as_second(),
            "the state document shows the due time the reminder is about"
        );

        // Resolved: no more reminders.
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/resolve"),
            &alice,
            json!({}),
        );
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(300));
        let settled = receiver.all().len();
        std::thread::sleep(Duration::from_millis(2_500));
        assert_eq!(
            receiver.all().len(),
            settled,
            "a resolved incident owes no updates"
        );
    }
}

/// A Python with aiosmtpd: Debian's `/usr/bin/python3` (python3-aiosmtpd) or whichever
/// `python3` is first on the PATH.
pub(crate) fn python_with_aiosmtpd() -> Option<String> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find_map(|python| {
            let ok = std::process::Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| python.to_owned())
        })
}

const SMTP_SERVER: &str = r#"
import json, sys
from aiosmtpd.controller import Controller

class Keep:
    async def handle_DATA(self, server, session, envelope):
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                  "data": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"

controller = Controller(Keep(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"#;

/// A real SMTP server (aiosmtpd) that writes each message it accepts as a JSON line.
pub(crate) struct SmtpServer {
    pub(crate) port: u16,
    child: std::process::Child,
    mailbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub(crate) fn start(python: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp.py");
        std::fs::write(&script, SMTP_SERVER).unwrap();
        let mailbox = dir.path().join("mail.jsonl");
        let port = closed_port();
        let mut child = std::process::Command::new(python)
            .arg(&script)
            .arg(port.to_string())
            .arg(&mailbox)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Self {
            child,
            port,
            mailbox,
            _dir: dir,
        }
    }

    pub(crate) fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn e_mail_goes_through_a_real_smtp_server() {
    let Some(python) = python_with_aiosmtpd() else {
        let required = std::env::var("HEREBY_TEST_SMTP").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "HEREBY_TEST_SMTP=required but no python3 with aiosmtpd (apt-get install python3-aiosmtpd)"
        );
        eprintln!("SMTP test skipped: no python3 with aiosmtpd (apt-get install python3-aiosmtpd)");
        return;
    };
    for database in databases() {
        let smtp = SmtpServer::start(&python);
        let mut settings = FAST.to_vec();
        settings.extend(["--cadence", "SEV2=3s"]);
        let server = Server::start_with(&database, &settings);
        let alice = server.user("alice", "responder");
        let _carol = server.user("carol", "responder");
        let (status, channel) = server.post(
            "/api/v1/channels",
            &server.admin,
            json!({ "name": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
                    "tls": "none", "from": "hereby@example.com", "personal": true,
                    "username": "mailer", "password": "hunter2-hunter2" }),
        );
        assert_eq!(status, 201, "{channel}");
        assert!(!channel.to_string().contains("hunter2"), "{channel}");
        let (status, _) = server.post(
            "/api/v1/subscriptions",
            &server.admin,
            json!({ "channel": "mail", "events": ["update_posted"] }),
        );
        assert_eq!(status, 422, "an e-mail subscription needs an address");
        // Credentials are only offered over TLS: plain SMTP to a local relay goes without.
        let (status, _) = server.call(
            "DELETE",
            &format!("/api/v1/channels/{}", channel["id"]),
            Some(&server.admin),
            None,
            &[],
        );
        assert_eq!(status, 204);
        let (status, _) = server.post(
            "/api/v1/channels",
            &server.admin,
            json!({ "name": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
                    "tls": "none", "from": "Hereby <hereby@example.com>", "personal": true }),
        );
        assert_eq!(status, 201);
        let (status, _) = server.post(
            "/api/v1/subscriptions",
            &server.admin,
            json!({ "channel": "mail", "recipient": "status@example.com",
                    "events": ["declared", "update_posted"], "audience": "customers" }),
        );
        assert_eq!(status, 201);
        let (status, _) = server.call(
            "PUT",
            "/api/v1/users/carol/email",
            Some(&server.admin),
            Some(r#"{"email": "carol@example.com"}"#),
            &[],
        );
        assert_eq!(status, 204);
        let (status, _) = server.call(
            "PUT",
            "/api/v1/users/carol/email",
            Some(&alice),
            Some(r#"{"email": "alice@example.com"}"#),
            &[],
        );
        assert_eq!(status, 403, "only admins set other people's addresses");
        let (status, _) = server.call(
            "PUT",
            "/api/v1/users/alice/email",
            Some(&alice),
            Some(r#"{"email": "not an address"}"#),
            &[],
        );
        assert_eq!(status, 422);

        let incident = declare(&server, &alice, "Checkout fails", "SEV2");
        let (status, _) = server.post(
            &format!("/api/v1/incidents/{incident}/roles"),
            &alice,
            json!({ "role": "communications", "person": "carol" }),
        );
        assert_eq!(status, 200);
        for (audience, body) in [
            ("internal", "only for us"),
            ("customers", "A fix is rolling out"),
        ] {
            let (status, _) = server.post(
                &format!("/api/v1/incidents/{incident}/updates"),
                &alice,
                json!({ "audience": audience, "body": body }),
            );
            assert_eq!(status, 200);
        }
        let start = Instant::now();
        let messages = loop {
            let messages = smtp.messages();
            if messages.len() >= 3 {
                break messages;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "mail did not arrive: {messages:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(500));
        let messages = if smtp.messages().len() > messages.len() {
            smtp.messages()
        } else {
            messages
        };
        assert_eq!(messages.len(), 3, "{messages:#?}");
        let find = |to: &str, subject: &str| {
            messages
                .iter()
                .find(|m| {
                    m["to"] == json!([to])
                        && m["data"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("Subject: {subject}"))
                })
                .unwrap_or_else(|| panic!("no mail to {to} about {subject}: {messages:#?}"))
                .clone()
        };
        let declared = find(
            "status@example.com",
            &format!("[{incident}] Checkout fails: declared (SEV2)"),
        );
        assert_eq!(declared["from"], "hereby@example.com");
        let data = declared["data"].as_str().unwrap();
        assert!(
            data.contains(&format!("{incident}: Checkout fails")),
            "{data}"
        );
        assert!(data.contains("Severity: SEV2"), "{data}");
        assert!(data.contains(&format!("/incidents/{incident}")), "{data}");
        let update = find(
            "status@example.com",
            &format!("[{incident}] Checkout fails: update for customers"),
        );
        assert!(
            update["data"]
                .as_str()
                .unwrap()
                .contains("A fix is rolling out")
        );
        let role = find(
            "carol@example.com",
            &format!("[{incident}] Checkout fails: you are now communications"),
        );
        assert!(
            role["data"]
                .as_str()
                .unwrap()
                .contains("carol, you were given the communications role")
        );
        assert!(
            messages
                .iter()
                .all(|m| !m["data"].as_str().unwrap().contains("only for us"))
        );

        // Three seconds after the last update, the communications role holder is reminded at
        // her own address.
        let messages = loop {
            let messages = smtp.messages();
            if messages.len() >= 4 {
                break messages;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no reminder: {messages:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let reminder = find_in(
            &messages,
            "carol@example.com",
            &format!("[{incident}] Checkout fails: stakeholder update overdue"),
        );
        assert!(
            reminder["data"]
                .as_str()
                .unwrap()
                .contains("carol: a stakeholder update was due at")
        );
    }
}

fn find_in(messages: &[Value], to: &str, subject: &str) -> Value {
    messages
        .iter()
        .find(|m| {
            m["to"] == json!([to])
                && m["data"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("Subject: {subject}"))
        })
        .unwrap_or_else(|| panic!("no mail to {to} about {subject}: {messages:#?}"))
        .clone()
}

fn cli(server: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--server",
            &format!("http://{}", server.address),
            "--token",
            &server.admin,
        ])
        .args(args)
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .output()
        .unwrap()
}

#[test]
fn the_command_line_configures_notifications() {
    let server = Server::start_with("sqlite", FAST);
    let _carol = server.user("carol", "responder");
    let receiver = Receiver::start();
    let url = receiver.url();
    let added = cli(
        &server,
        &[
            "channel", "add", "ops", "--kind", "webhook", "--url", &url, "--secret", SECRET,
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let refused = cli(&server, &["channel", "add", "odd", "--kind", "pigeon"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pigeon"));
    let listed = cli(&server, &["channel", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(text.contains("ops") && text.contains(&url), "{text}");
    assert!(!text.contains(SECRET) && !text.contains("odd"), "{text}");
    let subscribed = cli(
        &server,
        &[
            "subscription",
            "add",
            "ops",
            "--events",
            "declared,resolved",
        ],
    );
    assert!(
        subscribed.status.success(),
        "{}",
        String::from_utf8_lossy(&subscribed.stderr)
    );
    let listed = cli(&server, &["subscription", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("declared,resolved"));
    let email = cli(&server, &["user", "email", "carol", "carol@example.com"]);
    assert!(
        email.status.success(),
        "{}",
        String::from_utf8_lossy(&email.stderr)
    );

    let test = cli(&server, &["channel", "test", "1"]);
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    let got = receiver.wait_for(Duration::from_secs(10), |all| !all.is_empty());
    assert_eq!(got[0].json()["kind"], "test");
    assert!(got[0].signed_with(SECRET));
    declare(&server, &server.admin, "Checkout fails", "SEV2");
    receiver.wait_for(Duration::from_secs(10), |all| all.len() >= 2);
    let start = Instant::now();
    loop {
        let listed = cli(
            &server,
            &["--json", "delivery", "list", "--state", "delivered"],
        );
        let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
        if list.as_array().unwrap().len() == 2 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let retried = cli(&server, &["delivery", "retry", "1"]);
    assert_eq!(
        retried.status.code(),
        Some(1),
        "a delivered message is not sent again"
    );
    let removed = cli(&server, &["channel", "remove", "1"]);
    assert!(removed.status.success());
    let listed = cli(&server, &["--json", "subscription", "list"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap(),
        json!([])
    );
}

#[test]
fn two_nodes_on_one_postgresql_database_send_each_notification_once() {
    let Ok(postgres) = std::env::var("HEREBY_TEST_POSTGRES_URL") else {
        eprintln!("two-node notification test skipped: HEREBY_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = Server::start_with(&postgres, FAST);
    let extra: Vec<String> = FAST.iter().map(|a| (*a).to_owned()).collect();
    let (mut second, second_address, _) = Server::spawn(&server.url, &extra);
    let alice = server.user("alice", "responder");
    let receiver = Receiver::start();
    webhook(&server, "both", &receiver.url(), &["declared"]);
    // Declarations alternate between the nodes; both nodes dispatch and deliver.
    let mut incidents = Vec::new();
    for n in 0..20 {
        let address = if n % 2 == 0 {
            server.address.as_str()
        } else {
            second_address.as_str()
        };
        let body = json!({ "title": format!("Node test {n}") }).to_string();
        let (status, declared) = crate::api::send(
            address,
            "POST",
            "/api/v1/incidents",
            Some(&alice),
            Some(&body),
            &[],
        )
        .unwrap();
        assert_eq!(status, 201, "{declared}");
        incidents.push(declared["id"].as_str().unwrap().to_owned());
    }
    let got = receiver.wait_for(Duration::from_secs(20), |all| all.len() >= 20);
    // Give a stray duplicate the time to show up.
    std::thread::sleep(Duration::from_millis(1_500));
    let got = if receiver.all().len() > got.len() {
        receiver.all()
    } else {
        got
    };
    let _ = second.kill();
    let _ = second.wait();
    let mut received: Vec<String> = got
        .iter()
        .map(|r| r.json()["incident"]["id"].as_str().unwrap().to_owned())
        .collect();
    received.sort();
    incidents.sort();
    assert_eq!(
        received, incidents,
        "each declaration announced exactly once"
    );
    let keys: HashSet<&str> = got.iter().map(|r| r.header("idempotency-key")).collect();
    assert_eq!(keys.len(), 20);
}

#[test]
fn a_node_killed_under_write_load_loses_nothing_and_the_survivor_delivers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let Ok(postgres) = std::env::var("HEREBY_TEST_POSTGRES_URL") else {
        eprintln!("two-node SIGKILL test skipped: HEREBY_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = Server::start_with(&postgres, FAST);
    let extra: Vec<String> = FAST.iter().map(|a| (*a).to_owned()).collect();
    let (mut doomed, doomed_address, _) = Server::spawn(&server.url, &extra);
    let receiver = Receiver::start();
    webhook(&server, "all", &receiver.url(), &["declared"]);

    // Four writers declare incidents on both nodes in turn; once the doomed node is gone,
    // its turns fail (never acknowledged) and the writers go on with the survivor.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let nodes = [server.address.clone(), doomed_address.clone()];
            let token = server.admin.clone();
            let (acknowledged, killed) = (acknowledged.clone(), killed.clone());
            std::thread::spawn(move || {
                let mut after_kill = 0;
                for n in 0..400 {
                    let title = format!("writer {writer} incident {n}");
                    let body = json!({ "title": title }).to_string();
                    let node = &nodes[n % 2];
                    match crate::api::send(
                        node,
                        "POST",
                        "/api/v1/incidents",
                        Some(&token),
                        Some(&body),
                        &[],
                    ) {
                        Ok((201, _)) => acknowledged.lock().unwrap().push(title),
                        Ok((status, body)) => panic!("unexpected {status}: {body}"),
                        // The doomed node is gone: this one was never acknowledged.
                        Err(_) => {}
                    }
                    if killed.load(Ordering::SeqCst) {
                        after_kill += 1;
                        if after_kill == 20 {
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 40 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    killed.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 40, "too few writes to prove anything");

    // Nothing acknowledged is lost, and the chains verify.
    let (status, listed) = server.get("/api/v1/incidents?limit=1000", &server.admin);
    assert_eq!(status, 200);
    let stored: HashSet<String> = listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["title"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|t| !stored.contains(*t))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["db", "verify", "--database-url", &server.url])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // The survivor announces every stored declaration (what the dead node had claimed, once
    // its lease ran out): one notification each, however often a delivery cut short by the
    // kill had to be sent again (then with the same idempotency key).
    let got = receiver.wait_for(Duration::from_secs(60), |all| {
        all.iter()
            .map(|r| r.header("idempotency-key").to_owned())
            .collect::<HashSet<_>>()
            .len()
            >= stored.len()
    });
    let keys: HashSet<String> = got
        .iter()
        .map(|r| r.header("idempotency-key").to_owned())
        .collect();
    let announced: HashSet<String> = got
        .iter()
        .map(|r| r.json()["incident"]["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(announced, stored, "every stored declaration is announced");
    assert_eq!(keys.len(), stored.len(), "one notification per declaration");
    eprintln!(
        "SIGKILL of one of two nodes: {} declarations acknowledged, {} stored, {} webhook requests for {} notifications",
        acknowledged.len(),
        stored.len(),
        got.len(),
        keys.len()
    );
}

#[test]
fn a_channel_never_has_more_deliveries_in_flight_than_its_limit() {
    let server = Server::start_with("sqlite", FAST);
    let receiver = Receiver::start();
    receiver.hold(Duration::from_millis(300));
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({ "name": "narrow", "kind": "webhook", "url": receiver.url(), "secret": SECRET, "concurrency": 2 }),
    );
    assert_eq!(status, 201, "{channel}");
    assert_eq!(channel["concurrency"], 2);
    let (status, _) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({ "name": "wide", "kind": "webhook", "url": receiver.url(), "secret": SECRET, "concurrency": 65 }),
    );
    assert_eq!(status, 422, "at most 64");
    let (status, _) = server.post(
        "/api/v1/subscriptions",
        &server.admin,
        json!({ "channel": "narrow", "events": ["declared"] }),
    );
    assert_eq!(status, 201);
    for n in 0..6 {
        declare(&server, &server.admin, &format!("Burst {n}"), "SEV3");
    }
    receiver.wait_for(Duration::from_secs(20), |all| all.len() >= 6);
    assert_eq!(
        receiver.most_at_once(),
        2,
        "six deliveries held 300 ms each go two at a time, never more"
    );
}

#[test]
fn a_teams_workflow_gets_an_adaptive_card_at_its_url_as_given() {
    let server = Server::start_with("sqlite", FAST);
    let alice = server.user("alice", "responder");
    let teams = Receiver::start();
    // A Workflows URL carries a signed, already encoded query; it must arrive byte for byte.
    let target = "/workflows/5f1b/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Ab%2Bc%3D";
    let url = format!("http://127.0.0.1:{}{target}", teams.port);
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({ "name": "teams", "kind": "teams", "url": url }),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(
        !channel.to_string().contains("sig="),
        "the URL is the secret: {channel}"
    );
    let (status, _) = server.post(
        "/api/v1/subscriptions",
        &server.admin,
        json!({ "channel": "teams", "events": ["declared"] }),
    );
    assert_eq!(status, 201);
    declare(&server, &alice, "Checkout <b>slow</b>", "SEV2");
    let got = teams.wait_for(Duration::from_secs(10), |all| !all.is_empty());
    assert_eq!(got[0].target, target);
    let card = &got[0].json()["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    let text = card["content"]["body"].to_string();
    assert!(text.contains("Checkout <b>slow</b>"), "{text}");
}
