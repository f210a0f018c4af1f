//! End-to-end tests of the `hereby` binary: the real executable against real databases,
//! and real HTTP on loopback for `serve`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod alerts;
mod api;
mod browser;
mod chat;
mod copy;
mod insights;
mod judgement;
mod judgement_cli;
mod live;
mod maintenance;
mod matrix;
mod notify;
mod passwords;
mod permissions;
mod postmortem_cli;
mod review_reminders;
mod search;
mod settings;
mod status;
mod subscribers;
mod trackers;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use hereby_core::types::{Severity, Text, Title, UserName, Visibility};
use hereby_core::{Command as Cmd, Policy};
use hereby_store_sqlite::SqliteStore;
use sqlx::Connection;

fn hereby(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(args)
        .env_remove("HEREBY_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn seed(url: &str, incidents: usize) {
    let store = SqliteStore::open(url).await.unwrap();
    for n in 0..incidents {
        let declared = hereby_store::declare(
            &store,
            Cmd::Declare {
                title: Title::parse(&format!("Incident {n}")).unwrap(),
                summary: None,
                public_summary: None,
                severity: Severity::Sev2,
                potential: false,
                services: vec![],
                visibility: Visibility::Internal,
                triage: false,
            },
            &UserName::parse("alice").unwrap(),
            jiff::Timestamp::now(),
            &Policy::default(),
        )
        .await
        .unwrap();
        hereby_store::execute(
            &store,
            declared.incident,
            None,
            Cmd::AddNote {
                text: Text::parse("checking the load balancer").unwrap(),
            },
            &UserName::parse("bob").unwrap(),
            jiff::Timestamp::now(),
            &Policy::default(),
        )
        .await
        .unwrap();
    }
}

#[test]
fn migrate_creates_the_database_and_verify_reports_intact_chains() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    let migrated = hereby(&["db", "migrate", "--database-url", &url]);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    assert!(dir.path().join("hereby.db").exists());
    let verified = hereby(&["db", "verify", "--database-url", &url]);
    assert!(verified.status.success());
    assert_eq!(
        text(&verified.stdout),
        "verified 0 events in 0 incidents: every hash chain is intact\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_the_first_broken_link_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    seed(&url, 3).await;
    let verified = hereby(&["db", "verify", "--database-url", &url]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert!(text(&verified.stdout).starts_with("verified 6 events in 3 incidents"));

    let mut conn = sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "DROP TRIGGER events_are_append_only_update",
        "UPDATE events SET body = replace(body, 'load balancer', 'database') WHERE incident = 2 AND sequence = 2",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let verified = hereby(&["db", "verify", "--database-url", &url]);
    assert_eq!(verified.status.code(), Some(1));
    assert_eq!(
        text(&verified.stdout),
        "INC-2 breaks at event #2: stored hash does not match the event's content\n"
    );
    assert!(text(&verified.stderr).contains("1 of 3 incidents have a broken hash chain"));
}

#[test]
fn unusable_databases_stop_with_the_redacted_url() {
    let pg = hereby(&[
        "db",
        "migrate",
        "--database-url",
        "postgres://hereby:hunter2@127.0.0.1:1/hereby",
    ]);
    assert_eq!(pg.status.code(), Some(3));
    let stderr = text(&pg.stderr);
    assert!(
        stderr
            .starts_with("hereby: cannot open database postgres://hereby:***@127.0.0.1:1/hereby: "),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));

    let sqlite = hereby(&["serve", "--database-url", "sqlite:///no/such/dir/hereby.db"]);
    assert_eq!(sqlite.status.code(), Some(3));
    assert!(
        text(&sqlite.stderr)
            .starts_with("hereby: cannot open database sqlite:///no/such/dir/hereby.db: ")
    );

    let unknown = hereby(&[
        "db",
        "migrate",
        "--database-url",
        "mysql://root@localhost/x",
    ]);
    assert_eq!(unknown.status.code(), Some(3));
    assert!(text(&unknown.stderr).contains("must start with sqlite:// or postgres://"));

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("notes.txt");
    std::fs::write(
        &garbage,
        "this is not a database, just somebody's notes\n".repeat(200),
    )
    .unwrap();
    let garbage_url = format!("sqlite://{}", garbage.display());
    let not_a_database = hereby(&["db", "migrate", "--database-url", &garbage_url]);
    assert_eq!(not_a_database.status.code(), Some(3));
    let stderr = text(&not_a_database.stderr);
    assert!(
        stderr.starts_with(&format!("hereby: cannot open database {garbage_url}: ")),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&garbage)
            .unwrap()
            .starts_with("this is not a database"),
        "the file is left as it was"
    );

    let usage = hereby(&["db", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_live_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    seed(&url, 2).await;
    let copy = dir.path().join("copy.db");
    let backup = hereby(&[
        "db",
        "backup",
        "--database-url",
        &url,
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let again = hereby(&[
        "db",
        "backup",
        "--database-url",
        &url,
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );
    let copy_url = format!("sqlite://{}", copy.display());
    let verified = hereby(&["db", "verify", "--database-url", &copy_url]);
    assert!(text(&verified.stdout).starts_with("verified 4 events in 2 incidents"));
}

fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_health_checks_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let address = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited before listening"
        );
        if line.contains("/setup/") {
            continue;
        }
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let health = get(&address, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("{\"status\":\"ok\"}"), "{health}");
    let ready = get(&address, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.ends_with("{\"status\":\"ready\"}"), "{ready}");

    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = server.wait().unwrap();
    assert!(
        status.success(),
        "serve must exit cleanly on SIGTERM, got {status}"
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("hereby stopped"), "{rest}");
}
