//! Reminders before post-mortem review meetings, end to end: the real server, a real SMTP
//! server (aiosmtpd, whose Python `email` package takes each message apart into its MIME
//! parts) and a webhook receiver on loopback. The owners of open follow-ups get their items
//! and the meeting's invitation; a meeting recorded before its reminder is not reminded of;
//! a second run of the job, a re-dispatched log and a restart send nothing twice.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, databases};
use crate::notify::{Receiver, webhook};

/// A Python with aiosmtpd: Debian's `/usr/bin/python3` (python3-aiosmtpd) or whichever
/// `python3` is first on the PATH. `None`, with the reason printed, skips the test unless
/// `HEREBY_TEST_SMTP=required`.
fn python_with_aiosmtpd() -> Option<String> {
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if python.is_none() {
        let required = std::env::var("HEREBY_TEST_SMTP").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "HEREBY_TEST_SMTP=required but no python3 with aiosmtpd (apt-get install python3-aiosmtpd)"
        );
        eprintln!(
            "review reminder test skipped: no python3 with aiosmtpd (apt-get install python3-aiosmtpd)"
        );
    }
    python.map(str::to_owned)
}

/// Writes each accepted message as a JSON line: envelope, subject, and every leaf MIME part
/// (type, parameters, file name, decoded text).
const SMTP_SERVER: &str = r#"
import email, email.policy, json, sys
from aiosmtpd.controller import Controller

class Keep:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append({
                "type": part.get_content_type(),
                "params": {k: v for k, v in part.get_params() or []},
                "disposition": part.get_content_disposition(),
                "filename": part.get_filename(),
                "text": payload.decode(part.get_content_charset() or "utf-8", "replace"),
            })
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                  "subject": str(message["subject"]),
                                  "top": message.get_content_type(),
                                  "parts": parts}) + "\n")
        return "250 OK"

controller = Controller(Keep(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"#;

/// A real SMTP server that keeps what it accepts.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    mailbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start(python: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp.py");
        std::fs::write(&script, SMTP_SERVER).unwrap();
        let mailbox = dir.path().join("mail.jsonl");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The review reminders received so far.
    fn reminders(&self) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["subject"].as_str().unwrap().contains(": review meeting "))
            .collect()
    }

    /// Waits until `done` holds for the review reminders, or fails after `limit`.
    fn wait_for(&self, limit: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let reminders = self.reminders();
            if done(&reminders) {
                return reminders;
            }
            assert!(
                start.elapsed() < limit,
                "the reminders expected did not arrive within {limit:?}: {:#?}",
                self.messages()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn to(message: &Value) -> &str {
    message["to"][0].as_str().unwrap()
}

/// The message's part of `media_type`.
fn part<'a>(message: &'a Value, media_type: &str) -> &'a Value {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == media_type)
        .unwrap_or_else(|| panic!("no {media_type} part: {message:#}"))
}

fn put(server: &Server, path: &str, token: &str, body: Value) -> u16 {
    server
        .call("PUT", path, Some(token), Some(&body.to_string()), &[])
        .0
}

/// An incident declared by alice with three open follow-ups: #1 bob's (overdue, with a
/// tracker link), #2 the operations role's (held by carol), #3 dave's (he has no address), a
/// plain task of carol's and a follow-up of bob's already done. Bob and carol have addresses;
/// there is a personal e-mail channel and a webhook subscribed to reminders. Returns the
/// incident and alice's token.
fn incident_with_follow_ups(
    server: &Server,
    smtp: &SmtpServer,
    hook: &Receiver,
) -> (String, String) {
    let alice = server.user("alice", "responder");
    for name in ["bob", "carol", "dave"] {
        server.user(name, "responder");
    }
    for name in ["bob", "carol"] {
        let status = put(
            server,
            &format!("/api/v1/users/{name}/email"),
            &server.admin,
            json!({ "email": format!("{name}@example.com") }),
        );
        assert_eq!(status, 204);
    }
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({ "name": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
                "tls": "none", "from": "hereby@example.com", "personal": true }),
    );
    assert_eq!(status, 201, "{channel}");
    webhook(server, "hooks", &hook.url(), &["reminder"]);
    let (status, declared) = server.post(
        "/api/v1/incidents",
        &alice,
        json!({ "title": "Checkout fails", "severity": "SEV3" }),
    );
    assert_eq!(status, 201, "{declared}");
    let incident = declared["id"].as_str().unwrap().to_owned();
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{incident}/roles"),
        &alice,
        json!({ "role": "operations", "person": "carol" }),
    );
    assert_eq!(status, 200);
    let yesterday = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .unwrap();
    for item in [
        json!({ "text": "Add a circuit breaker", "owner": "bob", "kind": "follow_up",
                "due": yesterday.to_string(), "tracker_url": "https://tracker.example/OPS-1" }),
        json!({ "text": "Tell the card issuer", "owner": "role:operations", "kind": "follow_up" }),
        json!({ "text": "Alert on declines", "owner": "dave", "kind": "follow_up" }),
        json!({ "text": "Restart the canary", "owner": "carol" }),
        json!({ "text": "Already done", "owner": "bob", "kind": "follow_up" }),
    ] {
        let (status, answer) = server.post(
            &format!("/api/v1/incidents/{incident}/action-items"),
            &alice,
            item,
        );
        assert_eq!(status, 200, "{answer}");
    }
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{incident}/action-items/5/done"),
        &alice,
        json!({}),
    );
    assert_eq!(status, 200);
    (incident, alice)
}

fn resolve(server: &Server, incident: &str, token: &str) {
    let (status, answer) = server.post(
        &format!("/api/v1/incidents/{incident}/resolve"),
        token,
        json!({}),
    );
    assert_eq!(status, 200, "{answer}");
}

/// The planned meeting's number and time.
fn next_meeting(server: &Server, incident: &str, token: &str) -> (u64, jiff::Timestamp) {
    let (status, reviews) = server.get(&format!("/api/v1/incidents/{incident}/reviews"), token);
    assert_eq!(status, 200, "{reviews}");
    (
        reviews["next"]["meeting"].as_u64().unwrap(),
        reviews["next"]["at"].as_str().unwrap().parse().unwrap(),
    )
}

/// The timeline's notes about review reminders.
fn reminder_notes(server: &Server, incident: &str, token: &str) -> Vec<String> {
    let (status, timeline) = server.get(&format!("/api/v1/incidents/{incident}/timeline"), token);
    assert_eq!(status, 200, "{timeline}");
    let mut notes = Vec::new();
    let mut walk = vec![&timeline];
    while let Some(value) = walk.pop() {
        match value {
            Value::String(text) if text.starts_with("Review meeting ") => {
                notes.push(text.clone());
            }
            Value::Array(values) => walk.extend(values.iter().rev()),
            Value::Object(fields) => walk.extend(fields.values()),
            _ => {}
        }
    }
    notes
}

#[test]
fn owners_of_open_follow_ups_get_their_items_and_the_invitation() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    for database in databases() {
        let smtp = SmtpServer::start(&python);
        let hook = Receiver::start();
        // The first meeting a minute after resolving: closer than the 2-day lead, so the
        // reminder goes at once.
        let server = Server::start_with(&database, &["--review-interval", "1m"]);
        let (incident, alice) = incident_with_follow_ups(&server, &smtp, &hook);
        resolve(&server, &incident, &alice);
        let (meeting, at) = next_meeting(&server, &incident, &alice);
        assert_eq!(meeting, 1);

        smtp.wait_for(Duration::from_secs(20), |r| r.len() >= 2);
        std::thread::sleep(Duration::from_millis(500));
        let reminders = smtp.reminders().to_vec();
        let mut recipients: Vec<&str> = reminders.iter().map(to).collect();
        recipients.sort_unstable();
        assert_eq!(
            recipients,
            ["bob@example.com", "carol@example.com"],
            "one message per owner with an address: {reminders:#?}"
        );
        let number = incident.to_lowercase();
        let dtstart = format!("DTSTART:{}", at.strftime("%Y%m%dT%H%M%SZ"));
        for message in &reminders {
            assert_eq!(message["top"], "multipart/mixed", "{message:#}");
            assert_eq!(
                message["subject"],
                format!(
                    "[{incident}] Checkout fails: review meeting 1 on {}, your follow-ups",
                    at.strftime("%Y-%m-%d %H:%M UTC")
                )
            );
            let invitation = part(message, "text/calendar");
            assert_eq!(invitation["params"]["method"], "REQUEST", "{invitation:#}");
            assert_eq!(invitation["disposition"], "attachment");
            assert_eq!(invitation["filename"], format!("{number}-review-1.ics"));
            let ics = invitation["text"].as_str().unwrap();
            assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
            assert!(ics.contains("METHOD:REQUEST\r\n"), "{ics}");
            assert!(ics.contains(&format!("{dtstart}\r\n")), "{ics}");
            assert!(
                ics.contains(&format!(
                    "SUMMARY:Post-mortem review 1 for {incident}: Checkout fails\r\n"
                )),
                "{ics}"
            );
            assert!(ics.trim_end().ends_with("END:VCALENDAR"), "{ics}");
        }
        let text = |who: &str| {
            let message = reminders.iter().find(|m| to(m) == who).unwrap();
            part(message, "text/plain")["text"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let bob = text("bob@example.com");
        assert!(
            bob.contains(&format!(
                "bob, post-mortem review meeting 1 is on {}",
                at.strftime("%Y-%m-%d %H:%M UTC")
            )),
            "{bob}"
        );
        assert!(
            bob.contains("- #1 Add a circuit breaker, due ")
                && bob.contains(": OVERDUE, https://tracker.example/OPS-1"),
            "{bob}"
        );
        for elsewhere in ["#2", "#3", "#4", "#5"] {
            assert!(
                !bob.contains(elsewhere),
                "only bob's open follow-ups: {bob}"
            );
        }
        let carol = text("carol@example.com");
        assert!(
            carol.contains("- #2 Tell the card issuer (as role:operations), no due date"),
            "the role's follow-up goes to its holder: {carol}"
        );
        for elsewhere in ["#1", "#3", "#4", "Restart the canary"] {
            assert!(
                !carol.contains(elsewhere),
                "no task, nobody else's: {carol}"
            );
        }

        // The webhook subscribed to reminders gets the notice, with the invitation in its JSON.
        let got = hook.wait_for(Duration::from_secs(10), |all| !all.is_empty());
        let notice = got[0].json();
        assert_eq!(notice["kind"], "review_reminder", "{notice}");
        assert_eq!(got[0].header("x-hereby-event"), "review_reminder");
        assert!(got[0].signed_with("a-webhook-secret-of-some-length"));
        assert_eq!(notice["review"]["meeting"], 1);
        assert_eq!(notice["review"]["person"], Value::Null);
        assert_eq!(
            notice["review"]["follow_ups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["item"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let ics = notice["ics"].as_str().unwrap();
        assert!(
            ics.starts_with("BEGIN:VCALENDAR") && ics.contains(&dtstart),
            "{ics}"
        );

        // The timeline says who was reminded, and who could not be.
        let notes = reminder_notes(&server, &incident, &alice);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("Review meeting 1 reminder sent to bob, carol"),
            "{notes:?}"
        );
        assert!(
            notes[0].contains("Not reminded: dave (no address)"),
            "{notes:?}"
        );
        assert_eq!(hook.all().len(), 1);
    }
}

#[test]
fn a_meeting_recorded_before_its_reminder_is_not_reminded_of() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    for database in databases() {
        let smtp = SmtpServer::start(&python);
        let hook = Receiver::start();
        // Meetings a minute apart, reminders 50 seconds ahead: ten seconds after each
        // meeting is set.
        let server = Server::start_with(
            &database,
            &["--review-interval", "1m", "--review-reminder-lead", "50s"],
        );
        let (incident, alice) = incident_with_follow_ups(&server, &smtp, &hook);
        resolve(&server, &incident, &alice);
        assert_eq!(next_meeting(&server, &incident, &alice).0, 1);
        // Meeting 1 takes place early; follow-ups stay open, so meeting 2 is planned.
        let recorded_at = Instant::now();
        let (status, answer) = server.post(
            &format!("/api/v1/incidents/{incident}/reviews"),
            &alice,
            json!({ "attendees": ["alice", "bob"], "outcomes": [] }),
        );
        assert_eq!(status, 200, "{answer}");
        assert!(
            recorded_at.elapsed() < Duration::from_secs(5),
            "the test needs the meeting recorded well before its reminder"
        );
        let (meeting, at) = next_meeting(&server, &incident, &alice);
        assert_eq!(meeting, 2);

        let reminders = smtp.wait_for(Duration::from_secs(30), |r| r.len() >= 2);
        let waited = recorded_at.elapsed();
        assert!(
            waited >= Duration::from_secs(9),
            "not before the lead: after {waited:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
        let reminders = if smtp.reminders().len() > reminders.len() {
            smtp.reminders()
        } else {
            reminders
        };
        assert_eq!(reminders.len(), 2, "{reminders:#?}");
        for message in &reminders {
            let subject = message["subject"].as_str().unwrap();
            assert!(
                subject.contains(&format!(
                    "review meeting 2 on {}",
                    at.strftime("%Y-%m-%d %H:%M UTC")
                )),
                "only the meeting still planned: {subject}"
            );
            assert_eq!(
                part(message, "text/calendar")["filename"],
                format!("{}-review-2.ics", incident.to_lowercase())
            );
        }
        let notes = reminder_notes(&server, &incident, &alice);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("Review meeting 2 reminder sent to bob, carol"),
            "{notes:?}"
        );
        hook.wait_for(Duration::from_secs(10), |all| !all.is_empty());
        let notices: Vec<Value> = hook.all().iter().map(|r| r.json()).collect();
        assert_eq!(notices.len(), 1, "{notices:#?}");
        assert_eq!(notices[0]["review"]["meeting"], 2);
    }
}

/// Runs SQL against the server's database (SQLite file or PostgreSQL).
fn sql(url: &str, statements: &[&str]) -> Vec<Option<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut answers = Vec::new();
        if url.starts_with("sqlite:") {
            let mut conn = sqlx::sqlite::SqliteConnection::connect(url).await.unwrap();
            for statement in statements {
                let rows = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(
                    (*statement).to_owned(),
                ))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                answers.extend(rows);
            }
        } else {
            let mut conn = sqlx::postgres::PgConnection::connect(url).await.unwrap();
            for statement in statements {
                let rows = sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(
                    (*statement).to_owned(),
                ))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                answers.extend(rows);
            }
        }
        answers
    })
}

#[test]
fn a_second_run_a_redispatched_log_and_a_restart_send_nothing_twice() {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    for database in databases() {
        let smtp = SmtpServer::start(&python);
        let hook = Receiver::start();
        let args = ["--review-interval", "1m", "--notify-lease", "2s"];
        let mut server = Server::start_with(&database, &args);
        let (incident, alice) = incident_with_follow_ups(&server, &smtp, &hook);
        resolve(&server, &incident, &alice);
        let (meeting, at) = next_meeting(&server, &incident, &alice);
        smtp.wait_for(Duration::from_secs(20), |r| r.len() >= 2);
        hook.wait_for(Duration::from_secs(10), |all| !all.is_empty());

        // The keys name the incident, the meeting and its time, and the channel or
        // subscription with the person.
        let (status, channels) = server.get("/api/v1/channels", &server.admin);
        assert_eq!(status, 200);
        let channel_id = |name: &str| {
            channels
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        };
        let (_, subscriptions) = server.get("/api/v1/subscriptions", &server.admin);
        let subscription = subscriptions[0]["id"].as_i64().unwrap();
        let prefix = format!("review:{incident}:m{meeting}:{}", at.as_microsecond());
        let mail = channel_id("mail");
        let mut expected = vec![
            format!("{prefix}:p{mail}:bob"),
            format!("{prefix}:p{mail}:carol"),
            format!("{prefix}:s{subscription}"),
        ];
        expected.sort();
        let review_keys = |server: &Server| {
            let (status, list) = server.get("/api/v1/deliveries", &server.admin);
            assert_eq!(status, 200, "{list}");
            let mut keys: Vec<String> = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"] == "review_reminder")
                .map(|d| d["idempotency_key"].as_str().unwrap().to_owned())
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(review_keys(&server), expected);
        assert_eq!(hook.all()[0].header("idempotency-key"), expected[2]);

        // Make the job forget that it ran and the dispatcher go over the whole log again,
        // then kill the server and start it again (on PostgreSQL with a second node besides):
        // the job runs again and queues the same keys, so nothing is sent twice and the
        // timeline is not noted twice.
        sql(
            &server.url,
            &[
                "UPDATE jobs SET state = 'pending', due_at = 0, last_key = NULL, \
                 claimed_until = NULL WHERE kind = 'review'",
                "UPDATE notification_cursor SET position = 0",
            ],
        );
        let status = server.signal_and_restart("KILL");
        assert!(!status.success());
        let second = (database != "sqlite").then(|| {
            let extra: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            Server::spawn(&server.url, &extra).0
        });
        let start = Instant::now();
        loop {
            let state = sql(
                &server.url,
                &[
                    "SELECT last_key FROM jobs WHERE kind = 'review'",
                    "SELECT state FROM jobs WHERE kind = 'review'",
                    "SELECT CAST(position AS TEXT) FROM notification_cursor",
                    "SELECT CAST(MAX(position) AS TEXT) FROM events",
                ],
            );
            if state[0].as_deref() == Some(prefix.as_str())
                && state[1].as_deref() == Some("done")
                && state[2] == state[3]
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the job did not run again: {state:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            jiff::Timestamp::now() < at,
            "the job ran again before the meeting, so it planned the reminder again"
        );
        std::thread::sleep(Duration::from_millis(1_500));
        if let Some(mut second) = second {
            let _ = second.kill();
            let _ = second.wait();
        }
        assert_eq!(smtp.reminders().len(), 2, "{:#?}", smtp.reminders());
        assert_eq!(hook.all().len(), 1, "{:#?}", hook.all());
        assert_eq!(review_keys(&server), expected);
        let notes = reminder_notes(&server, &incident, &alice);
        assert_eq!(notes.len(), 1, "noted once: {notes:?}");
    }
}
