//! `hereby db copy` end to end: an installation with a bit of everything, built through the
//! real server on SQLite, copied to PostgreSQL and back (SQLite to SQLite when no PostgreSQL is
//! configured), compared row for row with the original, and served again: old tokens work,
//! new notes continue the chains, pending notifications are sent once. Then the refusals: a
//! target that holds anything, a database copied onto itself, unusable URLs and schemas.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hereby_store::copy::{Access, Row, dump};
use hereby_store_postgres::PgTables;
use hereby_store_sqlite::SqliteTables;
use serde_json::json;

use crate::api::{Server, cli, scratch_postgres};
use crate::notify::{Receiver, closed_port, declare, deliveries, wait_for_deliveries, webhook};
use crate::{hereby, seed, text};

/// Retries fast and never gives up, so deliveries to a receiver that is down stay pending and
/// are sent soon after it is up.
const PATIENT: &[&str] = &[
    "--notify-backoff",
    "100ms",
    "--notify-backoff-max",
    "300ms",
    "--notify-max-attempts",
    "1000",
    "--notify-lease",
    "2s",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A scratch PostgreSQL database, dropped at the end of the test.
struct ScratchPg {
    server: String,
    name: String,
    url: String,
}

impl ScratchPg {
    /// `None` (and a line saying why) when no PostgreSQL is configured.
    fn new(what: &str) -> Option<Self> {
        let Ok(server) = std::env::var("HEREBY_TEST_POSTGRES_URL") else {
            eprintln!("{what} skipped: HEREBY_TEST_POSTGRES_URL is not set");
            return None;
        };
        let (url, name) = scratch_postgres(&server);
        Some(Self { server, name, url })
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        runtime().block_on(async {
            use sqlx::Connection;
            if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&self.server).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .execute(&mut admin)
                .await;
            }
        });
    }
}

/// Every row of every table the copy moves, read without changing the database.
fn rows_of(url: &str) -> Vec<(&'static str, Vec<Row>)> {
    runtime().block_on(async {
        if url.starts_with("sqlite:") {
            let tables = SqliteTables::connect(url, Access::Read).await.unwrap();
            dump(&tables).await.unwrap()
        } else {
            let tables = PgTables::connect(url, Access::Read).await.unwrap();
            dump(&tables).await.unwrap()
        }
    })
}

/// Asserts two databases hold the same rows, naming the first table that differs.
fn assert_same_rows(left: &str, right: &str) {
    let (left_rows, right_rows) = (rows_of(left), rows_of(right));
    for ((table, a), (_, b)) in left_rows.iter().zip(&right_rows) {
        assert_eq!(
            a.len(),
            b.len(),
            "{table}: {left} and {right} differ in rows"
        );
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x, y, "{table}: a row of {left} differs in {right}");
        }
    }
    assert_eq!(left_rows.len(), right_rows.len());
}

/// A consistent copy of the SQLite database `url` at `path`, as its URL.
fn backup(url: &str, path: &std::path::Path) -> String {
    let made = hereby(&[
        "db",
        "backup",
        "--database-url",
        url,
        "--to",
        path.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    format!("sqlite://{}", path.display())
}

fn db_copy(from: &str, to: &str) -> std::process::Output {
    hereby(&["db", "copy", "--from", from, "--to", to])
}

/// The people and secrets of the installation `populate` builds.
struct Installation {
    alice: String,
    bob: String,
    carol: String,
    revoked: String,
    /// Alice's web session cookie.
    session: String,
    /// The port the webhook channel sends to, where nothing listens yet.
    down_port: u16,
    /// Idempotency keys of deliveries still pending when the server stopped.
    pending: HashSet<String>,
}

/// Builds an installation with a bit of everything the copy must keep: users with a password
/// and an e-mail address, tokens (one revoked), incidents (one restricted, one resolved, one
/// SEV1 with a reminder job), notes, roles and members, an attachment, message and post-mortem
/// templates, a blame rule, a component, a service and a release, a webhook channel with a
/// subscription, and deliveries left pending because the receiver is down.
fn populate(server: &Server) -> Installation {
    let admin = server.admin.clone();
    let alice = server.user("alice", "responder");
    let bob = server.user("bob", "responder");
    let carol = server.user("carol", "viewer");
    let (status, dora) = server.post(
        "/api/v1/users",
        &admin,
        json!({ "name": "dora", "role": "responder" }),
    );
    assert_eq!(status, 201, "{dora}");
    let (status, created) = server.post(
        "/api/v1/tokens",
        &admin,
        json!({ "label": "laptop", "user": "dora" }),
    );
    assert_eq!(status, 201, "{created}");
    let revoked = created["token"].as_str().unwrap().to_owned();
    let (status, _) = server.call(
        "DELETE",
        &format!("/api/v1/tokens/{}", created["id"]),
        Some(&admin),
        None,
        &[],
    );
    assert_eq!(status, 200);
    for (path, body) in [
        (
            "/api/v1/users/alice/password",
            json!({ "password": "correct horse battery staple" }),
        ),
        (
            "/api/v1/users/alice/email",
            json!({ "email": "alice@example.com" }),
        ),
        (
            "/api/v1/templates/all-clear",
            json!({ "subject": "{{ id }} is over", "body": "All clear: {{ title }}." }),
        ),
        (
            "/api/v1/components/checkout",
            json!({ "description": "Paying for things", "group": "Payments" }),
        ),
        (
            "/api/v1/postmortem-templates/brief",
            json!({ "body": "# {{ incident }}\n\n## Timeline\n" }),
        ),
        (
            "/api/v1/blame-rules",
            json!({ "pattern": "{person} fumbled the failover", "suggestion": "Say what the system allowed." }),
        ),
        (
            "/api/v1/services/checkout",
            json!({ "owner_team": "payments", "criticality": "high", "description": "Checkout" }),
        ),
    ] {
        let (status, body) = server.call("PUT", path, Some(&admin), Some(&body.to_string()), &[]);
        assert!((200..300).contains(&status), "{path}: {status} {body}");
    }
    // A maintenance with its updates (and a delivery owed to nobody: no subscription yet).
    let (status, body) = server.post(
        "/api/v1/maintenances",
        &admin,
        json!({
            "title": "Database upgrade",
            "components": ["checkout"],
            "starts_at": "2099-01-01T22:00:00Z",
            "ends_at": "2099-01-01T23:00:00Z",
        }),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post(
        &format!("/api/v1/maintenances/{}/updates", body["id"]),
        &admin,
        json!({ "body": "Still on." }),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post(
        "/api/v1/releases",
        &alice,
        json!({ "service": "checkout", "version": "v42" }),
    );
    assert_eq!(status, 201, "{body}");

    let down_port = closed_port();
    webhook(
        server,
        "pager",
        &format!("http://127.0.0.1:{down_port}/hook"),
        &["declared", "severity_changed"],
    );

    let first = declare(server, &alice, "Checkout fails", "SEV2");
    for (path, body) in [
        (
            format!("/api/v1/incidents/{first}/notes"),
            json!({ "text": "502s from the gateway since 09:31" }),
        ),
        (
            format!("/api/v1/incidents/{first}/roles"),
            json!({ "role": "operations", "person": "bob" }),
        ),
        (
            format!("/api/v1/incidents/{first}/severity"),
            json!({ "severity": "SEV1", "reason": "every region" }),
        ),
    ] {
        let (status, body) = server.post(&path, &alice, body);
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, restricted) = server.post(
        "/api/v1/incidents",
        &alice,
        json!({ "title": "Credential leak", "severity": "SEV2", "visibility": "restricted" }),
    );
    assert_eq!(status, 201, "{restricted}");
    let restricted = restricted["id"].as_str().unwrap().to_owned();
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{restricted}/members"),
        &alice,
        json!({ "person": "bob" }),
    );
    assert_eq!(status, 200);
    let resolved = declare(server, &bob, "Search is slow", "SEV3");
    let (status, body) = server.post(
        &format!("/api/v1/incidents/{resolved}/resolve"),
        &bob,
        json!({}),
    );
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gateway.log");
    std::fs::write(&log, "502 upstream timed out\n".repeat(100)).unwrap();
    let (code, _, stderr) = cli(server, &alice, &["attach", &first, log.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");

    let session = sign_in(server, "alice", "correct horse battery staple");

    // Three notifications (two declarations and a severity change; the restricted incident
    // reaches no subscription), all failing for now.
    let queued = wait_for_deliveries(server, Duration::from_secs(20), |list| {
        list.len() == 3
            && list
                .iter()
                .all(|d| d["state"] == "pending" && d["attempts"].as_u64().unwrap_or(0) >= 1)
    });
    let pending = queued
        .iter()
        .map(|d| d["idempotency_key"].as_str().unwrap().to_owned())
        .collect();

    // Alerts: a route that opens no incident (so the notifications above stay as they are),
    // an integration, and an alert in its group.
    let (status, route) = server.call(
        "PUT",
        "/api/v1/settings/alert_route/default",
        Some(&admin),
        Some(r#"{"create": "never"}"#),
        &[],
    );
    assert_eq!(status, 200, "{route}");
    let (status, integration) = server.post(
        "/api/v1/integrations",
        &admin,
        json!({ "name": "cron", "kind": "generic" }),
    );
    assert_eq!(status, 201, "{integration}");
    let bearer = format!("Bearer {}", integration["key"].as_str().unwrap());
    let (status, accepted) = crate::api::send(
        &server.address,
        "POST",
        "/ingest/generic",
        None,
        Some(r#"{"summary": "Backup failed", "dedup": "backup-nightly"}"#),
        &[("Authorization", &bearer)],
    )
    .unwrap();
    assert_eq!(status, 202, "{accepted}");

    // Chat: a link by an admin and a link code through the API; a room, a direct room, a
    // sync position and a handled event as a chat adapter leaves them (no homeserver here).
    let (status, linked) = server.call(
        "PUT",
        "/api/v1/chat/links",
        Some(&admin),
        Some(r#"{"platform": "matrix", "chat_user": "@alice:example.org", "user": "alice"}"#),
        &[],
    );
    assert_eq!(status, 200, "{linked}");
    let (status, code) = server.post("/api/v1/chat/link-code", &admin, json!(null));
    assert_eq!(status, 200, "{code}");
    let statements = [
        "INSERT INTO chat_rooms (channel_id, incident, room, name, private, state_message, \
         invited, archived, created_at) SELECT MIN(id), 1, '!room:example.org', 'inc-1-x', \
         FALSE, '$state', '[\"@alice:example.org\"]', FALSE, 1 FROM notification_channels",
        "INSERT INTO chat_direct_rooms (channel_id, chat_user, room) SELECT MIN(id), \
         '@alice:example.org', '!dm:example.org' FROM notification_channels",
        "INSERT INTO chat_cursors (channel_id, position) SELECT MIN(id), 's1_2' \
         FROM notification_channels",
        // A status page subscriber as a confirmed sign-up leaves it (the sign-up's own
        // test is in subscribers.rs; here it would add a delivery to the ones counted).
        "INSERT INTO status_subscribers (kind, address, incident, components, state, nonce, \
         secret, code_tries, created_at, updated_at, confirmed_at) VALUES ('email', \
         'ann@example.test', 0, '[\"checkout\"]', 'active', 'n1', NULL, 0, 1, 1, 1)",
        "INSERT INTO chat_inbound (channel_id, event_id, received_at) SELECT MIN(id), '$e1', 1 \
         FROM notification_channels",
        "INSERT INTO chat_leases (channel_id, holder, until) SELECT MIN(id), 'node-a', 1 \
         FROM notification_channels",
        // A follow-up kept in a tracker, as its sync leaves it (the sync's own test is in
        // trackers.rs; exporting here would add a delivery to the ones counted).
        "INSERT INTO tracked_follow_ups (incident, item, tracker, external, issue_key, url, \
         state, reason, remote_updated_at, synced_at, sync_error, error_at, created_at) \
         VALUES (1, 1, 'github', '12', 'acme/api#12', 'https://github.com/acme/api/issues/12', \
         'done', NULL, 5, 6, 'the token was refused', 7, 1)",
        "INSERT INTO tracker_deliveries (tracker, delivery, received_at) VALUES ('github', \
         '72d3162e-cc78-11e3-81ab-4c9367dc0958', 1)",
    ];
    runtime().block_on(async {
        use sqlx::Connection;
        if server.url.starts_with("sqlite:") {
            let mut db = sqlx::sqlite::SqliteConnection::connect(&server.url)
                .await
                .unwrap();
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut db)
                    .await
                    .unwrap();
            }
        } else {
            let mut db = sqlx::postgres::PgConnection::connect(&server.url)
                .await
                .unwrap();
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(&mut db)
                    .await
                    .unwrap();
            }
        }
    });
    Installation {
        alice,
        bob,
        carol,
        revoked,
        session,
        down_port,
        pending,
    }
}

/// One HTTP/1.1 request with extra header lines; returns the status line's code and the
/// response's headers.
fn exchange(address: &str, request: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    let head = response
        .split_once("\r\n\r\n")
        .map_or(response.as_str(), |(head, _)| head);
    (status, head.to_owned())
}

/// Signs in to the web UI with a password; returns the session cookie.
fn sign_in(server: &Server, user: &str, password: &str) -> String {
    let form = format!(
        "username={user}&password={}&next=%2F",
        password.replace(' ', "+")
    );
    let (status, head) = exchange(
        &server.address,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            server.address,
            form.len()
        ),
    );
    assert_eq!(status, 303, "{head}");
    head.lines()
        .find_map(|line| {
            line.strip_prefix("set-cookie: ")
                .or_else(|| line.strip_prefix("Set-Cookie: "))
        })
        .and_then(|cookie| cookie.split(';').next())
        .unwrap()
        .to_owned()
}

/// The status of the dashboard for a browser with `cookie`: 200 while signed in.
fn dashboard(server: &Server, cookie: &str) -> u16 {
    exchange(
        &server.address,
        &format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n",
            server.address
        ),
    )
    .0
}

/// The ids of the incidents `token` sees in the list.
fn listed(server: &Server, token: &str) -> Vec<String> {
    let (status, list) = server.get("/api/v1/incidents", token);
    assert_eq!(status, 200, "{list}");
    list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["id"].as_str().unwrap().to_owned())
        .collect()
}

/// What a server over a copy must do: the old tokens authenticate (the revoked one does not),
/// restricted incidents stay restricted, a new note continues the chain, a new token and a
/// new incident get fresh ids.
fn serves_the_copy(server: &Server, people: &Installation) {
    assert_eq!(listed(server, &people.alice), ["INC-3", "INC-2", "INC-1"]);
    assert_eq!(listed(server, &people.bob), ["INC-3", "INC-2", "INC-1"]);
    assert_eq!(
        listed(server, &people.carol),
        ["INC-3", "INC-1"],
        "a restricted incident stays hidden from non-members"
    );
    assert_eq!(server.get("/api/v1/me", &people.revoked).0, 401);
    assert_eq!(
        dashboard(server, &people.session),
        200,
        "signed-in browsers stay signed in"
    );
    assert_ne!(dashboard(server, "hereby_session=forged"), 200);
    let (status, note) = server.post(
        "/api/v1/incidents/INC-1/notes",
        &people.bob,
        json!({ "text": "failover done; watching error rates" }),
    );
    assert_eq!(status, 200, "{note}");
    let (status, token) = server.post(
        "/api/v1/tokens",
        &server.admin,
        json!({ "label": "after the move", "user": "carol" }),
    );
    assert_eq!(status, 201, "{token}");
    assert_eq!(token["id"], 6, "after the five tokens copied");
    let declared = declare(server, &people.alice, "Queue backlog", "SEV3");
    assert_eq!(declared, "INC-4");
    let (status, verified) = server.get("/api/v1/verify", &server.admin);
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["problems"], json!([]), "{verified}");
}

#[test]
fn a_copy_to_postgresql_and_back_keeps_everything_and_serves_on() {
    let mut original = Server::start_with("sqlite", PATIENT);
    let people = populate(&original);
    let (code, exported, stderr) = cli(&original, &original.admin, &["export"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(original.stop().success());
    let admin = original.admin.clone();
    for (table, rows) in rows_of(&original.url) {
        assert!(!rows.is_empty(), "the original has rows of {table} to copy");
    }

    let dir = tempfile::tempdir().unwrap();
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let postgres = ScratchPg::new("PostgreSQL in the round trip (copied SQLite to SQLite instead)");
    match &postgres {
        Some(postgres) => {
            let there = db_copy(&original.url, &postgres.url);
            assert!(there.status.success(), "{}", text(&there.stderr));
            let summary = text(&there.stdout);
            assert!(summary.contains(" events\n"), "{summary}");
            assert!(summary.contains("every hash chain is intact"), "{summary}");
            assert!(
                text(&there.stderr).contains("hereby: copied 5 API tokens"),
                "plain progress lines when standard error is no terminal: {}",
                text(&there.stderr)
            );
            assert_same_rows(&original.url, &postgres.url);
            let back_again = db_copy(&postgres.url, &back);
            assert!(back_again.status.success(), "{}", text(&back_again.stderr));
        }
        None => {
            let copied = db_copy(&original.url, &back);
            assert!(copied.status.success(), "{}", text(&copied.stderr));
        }
    }
    assert_same_rows(&original.url, &back);

    // PostgreSQL's sequences and position counter moved past the copied rows: new tokens,
    // incidents and events get fresh ids there too.
    if let Some(postgres) = &postgres {
        let server = Server::open(&postgres.url, &admin, PATIENT);
        serves_the_copy(&server, &people);
    }

    let receiver = Receiver::start_on(people.down_port);
    let server = Server::open(&back, &admin, PATIENT);
    let (code, exported_again, stderr) = cli(&server, &admin, &["export"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        exported_again, exported,
        "the export of the copy is the original's"
    );
    let (status, downloaded) = server.get("/api/v1/incidents/INC-1/attachments", &people.alice);
    assert_eq!(status, 200, "{downloaded}");
    assert_eq!(downloaded.as_array().map(Vec::len), Some(1), "{downloaded}");

    // The deliveries pending in the original are sent by the server on the copy, each once
    // and with its original key; then the new incident's declaration.
    let got = receiver.wait_for(Duration::from_secs(30), |all| {
        let keys: HashSet<&str> = all.iter().map(|r| r.header("idempotency-key")).collect();
        people.pending.iter().all(|key| keys.contains(key.as_str()))
    });
    let mut sent: HashMap<String, usize> = HashMap::new();
    for request in &got {
        *sent
            .entry(request.header("idempotency-key").to_owned())
            .or_default() += 1;
    }
    for key in &people.pending {
        assert_eq!(sent.get(key), Some(&1), "{key} is sent once: {sent:?}");
    }
    serves_the_copy(&server, &people);
    wait_for_deliveries(&server, Duration::from_secs(30), |list| {
        list.len() == 4 && list.iter().all(|d| d["state"] == "delivered")
    });
    assert_eq!(
        deliveries(&server, "?state=pending").len(),
        0,
        "nothing is left pending"
    );
    let verified = hereby(&["db", "verify", "--database-url", &back]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
}

#[test]
fn a_target_that_holds_anything_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let runtime = runtime();
    runtime.block_on(seed(&source, 2));

    // A hereby database in use.
    let used = format!("sqlite://{}", dir.path().join("used.db").display());
    runtime.block_on(seed(&used, 1));
    let rows_before = rows_of(&used);
    let refused = db_copy(&source, &used);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert_eq!(
        text(&refused.stderr),
        format!(
            "hereby: {used}: the target already holds 1 incident, 1 incident member and 2 events; copy only into an empty database\n"
        )
    );
    assert_eq!(text(&refused.stdout), "");
    assert_eq!(rows_of(&used), rows_before);

    // Somebody else's database: never mixed into.
    let foreign = format!("sqlite://{}", dir.path().join("foreign.db").display());
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!("{foreign}?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('a'), ('b'), ('c')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    });
    let refused = db_copy(&source, &foreign);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("the target already holds 3 rows in table `notes`"),
        "{}",
        text(&refused.stderr)
    );
    let tables: Vec<String> = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&foreign)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(tables, ["notes"], "nothing was migrated into it");

    // An empty table of somebody else's holds nothing: the copy goes in beside it.
    let beside = format!("sqlite://{}", dir.path().join("beside.db").display());
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!("{beside}?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE notes (text TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let copied = db_copy(&source, &beside);
    assert!(copied.status.success(), "{}", text(&copied.stderr));

    // A copy into an empty database goes through, once.
    let empty = format!("sqlite://{}", dir.path().join("empty.db").display());
    let copied = db_copy(&source, &empty);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert!(
        text(&copied.stdout).contains("verified 4 events in 2 incidents"),
        "{}",
        text(&copied.stdout)
    );
    let again = db_copy(&source, &empty);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("the target already holds 2 incidents"));

    if let Some(postgres) = ScratchPg::new("refusing a PostgreSQL target") {
        let first = db_copy(&source, &postgres.url);
        assert!(first.status.success(), "{}", text(&first.stderr));
        let before = rows_of(&postgres.url);
        let refused = db_copy(&empty, &postgres.url);
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            text(&refused.stderr).contains(
                "the target already holds 2 incidents, 2 incident members and 4 events; copy only into an empty database"
            ),
            "{}",
            text(&refused.stderr)
        );
        assert_eq!(rows_of(&postgres.url), before);
    }
}

#[test]
fn a_copy_that_fails_leaves_the_target_empty_for_another_try() {
    let Some(postgres) = ScratchPg::new("a copy that fails halfway") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let runtime = runtime();
    runtime.block_on(seed(&source, 3));
    // SQLite keeps a NUL character in text, PostgreSQL refuses it: the copy fails at
    // `releases`, after the incidents and their events were written.
    let set_notes = |notes: &'static str| {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::sqlite::SqliteConnection::connect(&source)
                .await
                .unwrap();
            sqlx::raw_sql(notes).execute(&mut conn).await.unwrap();
        });
    };
    set_notes(
        "INSERT INTO releases (service, version, deployed_at, recorded_at, recorded_by, notes) \
         VALUES ('checkout', 'v1', 1, 1, 'alice', 'rolled out' || char(0))",
    );
    let failed = db_copy(&source, &postgres.url);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("hereby: copied 6 events\n")
            && stderr.contains("the copy failed and nothing of it was kept in"),
        "{stderr}"
    );
    for (table, rows) in rows_of(&postgres.url) {
        let seeded = ["counters", "notification_cursor"].contains(&table);
        assert_eq!(rows.is_empty(), !seeded, "{table} after the failed copy");
    }

    set_notes("UPDATE releases SET notes = 'rolled out'");
    let copied = db_copy(&source, &postgres.url);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert_same_rows(&source, &postgres.url);
}

#[test]
fn a_database_is_never_copied_onto_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    runtime().block_on(seed(&url, 1));
    let rows_before = rows_of(&url);
    let spelled_otherwise = format!("sqlite://{}/./hereby.db", dir.path().display());
    for to in [&url, &spelled_otherwise] {
        let refused = db_copy(&url, to);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
        assert_eq!(
            text(&refused.stderr),
            "hereby: the source and the target are the same database; copy into another, empty database\n"
        );
    }
    assert_eq!(rows_of(&url), rows_before);

    if let Some(postgres) = ScratchPg::new("copying a PostgreSQL database onto itself") {
        let copied = db_copy(&url, &postgres.url);
        assert!(copied.status.success(), "{}", text(&copied.stderr));
        let by_name = postgres.url.replacen("127.0.0.1", "localhost", 1);
        for to in [&postgres.url, &by_name] {
            let refused = db_copy(&postgres.url, to);
            assert_eq!(
                refused.status.code(),
                Some(2),
                "{to}: {}",
                text(&refused.stderr)
            );
            assert!(text(&refused.stderr).contains("are the same database"));
        }
    }
}

#[test]
fn unusable_urls_and_schemas_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    runtime().block_on(seed(&source, 1));
    let target_path = dir.path().join("target.db");
    let target = format!("sqlite://{}", target_path.display());

    let unknown = db_copy(&source, "mysql://root:hunter2@localhost/hereby");
    assert_eq!(unknown.status.code(), Some(3));
    assert_eq!(
        text(&unknown.stderr),
        "hereby: cannot open database mysql://root:***@localhost/hereby: the URL must start with sqlite:// or postgres://\n"
    );

    let missing = format!("sqlite://{}", dir.path().join("typo.db").display());
    let refused = db_copy(&missing, &target);
    assert_eq!(refused.status.code(), Some(3));
    assert!(
        text(&refused.stderr).starts_with(&format!("hereby: cannot open database {missing}: ")),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        !dir.path().join("typo.db").exists(),
        "a mistyped source is not created"
    );
    assert!(!target_path.exists(), "nor is the target");

    let unreachable = db_copy(&source, "postgres://hereby:hunter2@127.0.0.1:1/hereby");
    assert_eq!(unreachable.status.code(), Some(3));
    let stderr = text(&unreachable.stderr);
    assert!(
        stderr
            .starts_with("hereby: cannot open database postgres://hereby:***@127.0.0.1:1/hereby: "),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));

    let usage = hereby(&["db", "copy", "--from", &source]);
    assert_eq!(usage.status.code(), Some(2), "--to is required");

    // Somebody's file that is no hereby database.
    let notes = format!("sqlite://{}", dir.path().join("notes.db").display());
    let runtime = runtime();
    let raw = |url: String, sql: &'static str| {
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!("{url}?mode=rwc"))
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        });
    };
    raw(notes.clone(), "CREATE TABLE notes (text TEXT)");
    let refused = db_copy(&notes, &target);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("the source is not a hereby database"),
        "{}",
        text(&refused.stderr)
    );

    // A source written by a newer hereby, and one not yet migrated to this one.
    let newer = backup(&source, &dir.path().join("newer.db"));
    raw(
        newer.clone(),
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, X'00', 0)",
    );
    let refused = db_copy(&newer, &target);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr)
            .contains("the source was written by a newer hereby (schema version 9999"),
        "{}",
        text(&refused.stderr)
    );
    let older = backup(&source, &dir.path().join("older.db"));
    raw(
        older.clone(),
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    );
    let refused = db_copy(&older, &target);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("migrate it first with `hereby db migrate"),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        !target_path.exists(),
        "a refused source leaves no target behind"
    );

    // A column this hereby does not know would be lost: refused.
    let extended = backup(&source, &dir.path().join("extended.db"));
    raw(
        extended.clone(),
        "ALTER TABLE users ADD COLUMN nickname TEXT",
    );
    let refused = db_copy(&extended, &target);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr)
            .contains("its table `users` has a column `nickname` this hereby does not know"),
        "{}",
        text(&refused.stderr)
    );
}
