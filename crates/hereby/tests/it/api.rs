//! The HTTP API end to end: `hereby init` and `hereby serve` as real processes, driven over
//! real HTTP on loopback, on SQLite and (when `HEREBY_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A running `hereby serve` on a database of its own, with the first admin's token.
pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
    pub(crate) admin: String,
    /// The PostgreSQL server and scratch database to drop afterwards.
    scratch: Option<(String, String)>,
    /// The database the server runs on, for tests that look at what it stored.
    pub(crate) url: String,
    /// The one-time setup link `serve` printed while nobody had a password.
    pub(crate) setup_link: Option<String>,
    /// Extra `serve` arguments, kept for restarts.
    extra: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Which databases to run a test on: SQLite always, PostgreSQL when configured.
pub(crate) fn databases() -> Vec<String> {
    let dir_free = vec!["sqlite".to_owned()];
    match std::env::var("HEREBY_TEST_POSTGRES_URL") {
        Ok(url) => dir_free.into_iter().chain(std::iter::once(url)).collect(),
        Err(_) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"PostgreSQL part skipped: HEREBY_TEST_POSTGRES_URL is not set\n",
            );
            dir_free
        }
    }
}

pub(crate) fn scratch_postgres(server_url: &str) -> (String, String) {
    let database = format!(
        "hereby_api_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::postgres::PgConnection::connect(server_url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap();
    });
    (
        hereby_store_postgres::with_database(server_url, &database),
        database,
    )
}

impl Server {
    pub(crate) fn start(database: &str) -> Self {
        Self::start_with(database, &[])
    }

    /// Starts a server with extra `serve` arguments (e.g. faster retries).
    pub(crate) fn start_with(database: &str, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let dir = tempfile::tempdir().unwrap();
        let (url, scratch) = if database == "sqlite" {
            (
                format!("sqlite://{}", dir.path().join("hereby.db").display()),
                None,
            )
        } else {
            let (url, name) = scratch_postgres(database);
            (url, Some((database.to_owned(), name)))
        };
        let init = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(["init", "--database-url", &url, "--admin", "root"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let admin = String::from_utf8(init.stdout).unwrap().trim().to_owned();
        assert!(
            admin.starts_with("hby_") && !admin.contains('\n'),
            "{admin:?}"
        );
        let (child, address, setup_link) = Self::spawn(&url, &extra);
        Self {
            child,
            address,
            admin,
            scratch,
            url,
            setup_link,
            extra,
            _dir: dir,
        }
    }

    /// Starts a server on a database that already holds an installation (a copy, say), whose
    /// admin token is `admin`. The database is the caller's to remove.
    pub(crate) fn open(url: &str, admin: &str, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let (child, address, setup_link) = Self::spawn(url, &extra);
        Self {
            child,
            address,
            admin: admin.to_owned(),
            scratch: None,
            url: url.to_owned(),
            setup_link,
            extra,
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn spawn(url: &str, extra: &[String]) -> (Child, String, Option<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let mut setup_link = None;
        let address = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "serve exited before listening"
            );
            if line.contains("/setup/") {
                setup_link = Some(line.trim().to_owned());
            } else if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // The server logs a line per request: keep reading, or it blocks once the pipe is full.
        std::thread::spawn(move || {
            // HEREBY_TEST_SERVER_LOG=1 shows what the server logs, to find why a test fails.
            if std::env::var_os("HEREBY_TEST_SERVER_LOG").is_some() {
                let _ = std::io::copy(&mut stderr, &mut std::io::stderr());
            } else {
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            }
        });
        (child, address, setup_link)
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it to exit; its database
    /// stays until the server is dropped.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }

    /// Sends `signal` to the server, waits for it to exit, and starts it again on the same
    /// database. Returns how the first process exited.
    /// Starts the server again on its database after [`Server::stop`].
    pub(crate) fn start_again(&mut self) {
        let (child, address, _) = Self::spawn(&self.url, &self.extra);
        self.child = child;
        self.address = address;
    }

    pub(crate) fn signal_and_restart(&mut self, signal: &str) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let (child, address, _) = Self::spawn(&self.url, &self.extra);
        self.child = child;
        self.address = address;
        status
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        send(&self.address, method, path, token, body, headers).unwrap()
    }

    pub(crate) fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None, &[])
    }

    pub(crate) fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(&body.to_string()), &[])
    }

    /// Creates a user with `role` (as the admin) and returns a token of theirs.
    pub(crate) fn user(&self, name: &str, role: &str) -> String {
        let (status, body) = self.post(
            "/api/v1/users",
            &self.admin,
            json!({ "name": name, "role": role }),
        );
        assert_eq!(status, 201, "{body}");
        let (status, body) = self.post(
            "/api/v1/tokens",
            &self.admin,
            json!({ "label": "tests", "user": name }),
        );
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// One HTTP/1.1 request on its own connection; an error when the server is unreachable or
/// the connection broke before a complete answer.
pub(crate) fn send(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    let (head, payload) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    Ok((
        status,
        serde_json::from_str(&payload).unwrap_or(Value::Null),
    ))
}

/// A chunked body put back together (other servers the tests talk to, such as Synapse,
/// answer in chunks).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((server_url, database)) = self.scratch.take() {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&server_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        }
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_whole_incident_from_declare_to_resolve_with_a_hand_off() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");

        let (status, declared) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Checkout fails", "severity": "SEV2", "services": ["checkout"] }),
        );
        assert_eq!(status, 201, "{declared}");
        assert_eq!(
            (declared["id"].as_str(), declared["commander"].as_str()),
            (Some("INC-1"), Some("alice"))
        );

        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/roles",
            &alice,
            json!({ "role": "operations", "person": "bob" }),
        );
        assert_eq!(status, 200);
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/operations",
            &alice,
            json!({ "target": "db", "action": "restart" }),
        );
        assert_eq!((status, code(&body)), (422, "ic_cannot_operate"), "{body}");
        let (status, body) = server.post("/api/v1/incidents/INC-1/operations", &bob, json!({ "target": "checkout-db", "action": "failed over", "command": "pg_ctl promote" }));
        assert_eq!(status, 200, "{body}");
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/handoff",
            &alice,
            json!({ "to": "bob" }),
        );
        assert_eq!(status, 200);
        let (_, document) = server.get("/api/v1/incidents/INC-1", &alice);
        assert_eq!(
            document["commander"], "alice",
            "nothing changes until accepted"
        );
        let (status, body) = server.call(
            "POST",
            "/api/v1/incidents/INC-1/handoff/accept",
            Some(&bob),
            None,
            &[],
        );
        assert_eq!(status, 200, "{body}");
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/severity",
            &bob,
            json!({ "severity": "SEV1", "reason": "all regions" }),
        );
        assert_eq!(status, 200);
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/notes",
            &alice,
            json!({ "text": "customers confirm recovery" }),
        );
        assert_eq!(status, 200);
        let (status, body) = server.post("/api/v1/incidents/INC-1/resolve", &bob, json!({}));
        assert_eq!(status, 200, "{body}");

        let (_, document) = server.get("/api/v1/incidents/INC-1", &alice);
        assert_eq!(
            (
                document["status"].as_str(),
                document["severity"].as_str(),
                document["commander"].as_str()
            ),
            (Some("resolved"), Some("SEV1"), Some("bob"))
        );
        let (_, timeline) = server.get("/api/v1/incidents/INC-1/timeline", &alice);
        let types: Vec<&str> = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "incident_declared",
                "role_assigned",
                // The commander's refused attempt to operate stays on the timeline.
                "ic_operation_attempted",
                "operation_recorded",
                "handoff_requested",
                "role_unassigned",
                "handoff_accepted",
                "severity_changed",
                "note_added",
                "status_changed",
                // Resolving plans the first post-mortem review meeting.
                "review_meeting_scheduled"
            ]
        );
        let (_, list) = server.get("/api/v1/incidents?status=resolved", &alice);
        assert_eq!(list["incidents"][0]["id"], "INC-1");
    }
}

#[test]
fn authentication_roles_and_restricted_incidents() {
    for database in databases() {
        let server = Server::start(&database);
        let carol = server.user("carol", "responder");
        let dave = server.user("dave", "responder");
        let vic = server.user("vic", "viewer");

        assert_eq!(
            server.call("GET", "/api/v1/incidents", None, None, &[]).0,
            401
        );
        assert_eq!(server.get("/api/v1/incidents", "hby_not-a-token").0, 401);
        let (status, body) = server.post(
            "/api/v1/incidents",
            &vic,
            json!({ "title": "viewer tries" }),
        );
        assert_eq!((status, code(&body)), (403, "forbidden"));

        let (status, _) = server.post(
            "/api/v1/incidents",
            &carol,
            json!({ "title": "Credential leak", "visibility": "restricted" }),
        );
        assert_eq!(status, 201);
        let (status, _) = server.post(
            "/api/v1/incidents",
            &carol,
            json!({ "title": "Slow search" }),
        );
        assert_eq!(status, 201);

        for (token, sees_restricted) in [
            (&carol, true),
            (&server.admin, true),
            (&dave, false),
            (&vic, false),
        ] {
            let (status, _) = server.get("/api/v1/incidents/INC-1", token);
            assert_eq!(status, if sees_restricted { 200 } else { 404 });
            assert_eq!(
                server.get("/api/v1/incidents/INC-1/timeline", token).0,
                if sees_restricted { 200 } else { 404 }
            );
            let (_, list) = server.get("/api/v1/incidents", token);
            let ids: Vec<&str> = list["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap())
                .collect();
            assert_eq!(
                ids,
                if sees_restricted {
                    vec!["INC-2", "INC-1"]
                } else {
                    vec!["INC-2"]
                }
            );
            assert_eq!(server.get("/api/v1/incidents/INC-2", token).0, 200);
        }
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/notes",
            &dave,
            json!({ "text": "let me in" }),
        );
        assert_eq!(
            (status, code(&body)),
            (404, "not_found"),
            "a non-member cannot tell a restricted incident exists"
        );
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/members",
            &carol,
            json!({ "person": "dave" }),
        );
        assert_eq!(status, 200);
        assert_eq!(server.get("/api/v1/incidents/INC-1", &dave).0, 200);
        assert_eq!(
            server
                .post("/api/v1/users", &carol, json!({ "name": "eve" }))
                .0,
            403
        );
    }
}

#[test]
fn bad_input_gets_the_documented_errors_and_changes_nothing() {
    let server = Server::start("sqlite");
    let token = server.admin.clone();
    let (status, body) = server.call(
        "POST",
        "/api/v1/incidents",
        Some(&token),
        Some("{\"title\": "),
        &[],
    );
    assert_eq!((status, code(&body)), (400, "malformed_json"));
    let (status, body) = server.post("/api/v1/incidents", &token, json!({ "title": 42 }));
    assert_eq!((status, code(&body)), (400, "invalid_body"));
    let (status, body) = server.post(
        "/api/v1/incidents",
        &token,
        json!({ "title": "ok", "colour": "red" }),
    );
    assert_eq!(
        (status, code(&body)),
        (400, "invalid_body"),
        "unknown fields are refused"
    );
    let (status, body) = server.post("/api/v1/incidents", &token, json!({ "title": "   " }));
    assert_eq!((status, code(&body)), (422, "invalid_value"));
    let (status, body) = server.post(
        "/api/v1/incidents",
        &token,
        json!({ "title": "x", "severity": "SEV9" }),
    );
    assert_eq!((status, code(&body)), (422, "invalid_value"));
    let huge = json!({ "title": "big", "summary": "x".repeat(300_000) }).to_string();
    let (status, body) = server.call("POST", "/api/v1/incidents", Some(&token), Some(&huge), &[]);
    assert_eq!((status, code(&body)), (413, "body_too_large"));
    let (_, list) = server.get("/api/v1/incidents", &token);
    assert_eq!(
        list["incidents"].as_array().unwrap().len(),
        0,
        "nothing was declared"
    );

    assert_eq!(
        code(&server.get("/api/v1/incidents/INC-9", &token).1),
        "not_found"
    );
    assert_eq!(server.get("/api/v1/incidents/banana", &token).0, 404);
    assert_eq!(server.get("/api/v1/nothing-here", &token).0, 404);
    let (status, body) = server.call(
        "POST",
        "/api/v1/incidents/INC-1/action-items/abc/done",
        Some(&token),
        None,
        &[],
    );
    assert_eq!(
        (status, code(&body)),
        (404, "not_found"),
        "a non-numeric item is a JSON 404"
    );
    let (status, body) = server.call("DELETE", "/api/v1/tokens/xyz", Some(&token), None, &[]);
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (status, body) = server.call("PUT", "/api/v1/incidents", Some(&token), None, &[]);
    assert_eq!(
        (status, code(&body)),
        (405, "method_not_allowed"),
        "even a wrong method answers JSON"
    );
    let (status, body) = server.get("/api/v1/incidents?status=sleeping", &token);
    assert_eq!((status, code(&body)), (422, "invalid_value"));

    server.post("/api/v1/incidents", &token, json!({ "title": "Versioned" }));
    let (status, body) = server.call(
        "POST",
        "/api/v1/incidents/INC-1/notes",
        Some(&token),
        Some("{\"text\":\"stale\"}"),
        &[("If-Match", "7")],
    );
    assert_eq!(
        (
            status,
            code(&body),
            body["error"]["current_version"].as_u64()
        ),
        (409, "version_conflict", Some(1))
    );
    let (status, body) = server.call(
        "POST",
        "/api/v1/incidents/INC-1/notes",
        Some(&token),
        Some("{\"text\":\"fresh\"}"),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!((status, body["version"].as_u64()), (200, Some(2)));
    let (status, body) = server.post("/api/v1/incidents/INC-1/call-off", &token, json!({}));
    assert_eq!((status, code(&body)), (422, "reason_required"));
}

#[test]
fn init_refuses_a_second_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    let first = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["init", "--database-url", &url])
        .output()
        .unwrap();
    assert!(first.status.success());
    let stdout = String::from_utf8(first.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "the token is the only line on stdout"
    );
    let second = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["init", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(second.stdout.is_empty());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already has users"));
}

/// Runs the real CLI against `server` with `token`.
pub(crate) fn cli(server: &Server, token: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--server",
            &format!("http://{}", server.address),
            "--token",
            token,
        ])
        .args(args)
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_cli_posts_stakeholder_updates_and_changes_visibility() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let (code, stdout, stderr) = cli(&server, &alice, &["declare", "Checkout slow"]);
        assert_eq!((code, stdout.as_str()), (0, "INC-1\n"), "{stderr}");
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &[
                "update",
                "INC-1",
                "--audience",
                "customers",
                "Checkout is slow; next update 15:00",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        // A public update needs a public incident: refused by the rule, exit 1, nothing written.
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &[
                "update",
                "INC-1",
                "--audience",
                "customers",
                "--public",
                "Public words",
            ],
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("make it public first"), "{stderr}");
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &["update", "INC-1", "--audience", "everyone", "x"],
        );
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("not an audience"), "{stderr}");
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &[
                "visibility",
                "INC-1",
                "public",
                "--reason",
                "customers notice",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &[
                "update",
                "INC-1",
                "--audience",
                "customers",
                "--public",
                "Public words",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let (code, stdout, _) = cli(&server, &alice, &["timeline", "INC-1", "--json"]);
        assert_eq!(code, 0);
        assert_eq!(stdout.matches("\"update_posted\"").count(), 2, "{stdout}");
        assert!(stdout.contains("\"visibility_changed\""), "{stdout}");
        let (_, stdout, _) = cli(&server, &alice, &["show", "INC-1", "--json"]);
        assert!(
            stdout.contains("\"visibility\": \"public\"")
                || stdout.contains("\"visibility\":\"public\""),
            "{stdout}"
        );
    }
}

#[test]
fn the_cli_runs_an_incident_and_reports_failures_with_exit_codes() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");

        let (code, stdout, stderr) = cli(
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
        );
        assert_eq!((code, stdout.as_str()), (0, "INC-1\n"), "{stderr}");
        assert_eq!(cli(&server, &alice, &["note", "INC-1", "p99 at 4 s"]).0, 0);
        assert_eq!(
            cli(
                &server,
                &alice,
                &["role", "assign", "INC-1", "operations", "bob"]
            )
            .0,
            0
        );
        let (code, _, stderr) = cli(
            &server,
            &alice,
            &["act", "INC-1", "--target", "search", "--action", "restart"],
        );
        assert_eq!(code, 1, "a rule refusal exits 1");
        assert!(stderr.contains("does not perform operations"), "{stderr}");
        assert_eq!(
            cli(
                &server,
                &bob,
                &[
                    "act",
                    "INC-1",
                    "--target",
                    "search-2",
                    "--action",
                    "drained",
                    "--command",
                    "kubectl drain"
                ]
            )
            .0,
            0
        );
        assert_eq!(
            cli(&server, &alice, &["role", "handoff", "INC-1", "bob"]).0,
            0
        );
        assert_eq!(cli(&server, &bob, &["role", "accept", "INC-1"]).0, 0);
        assert_eq!(cli(&server, &bob, &["resolve", "INC-1"]).0, 0);

        let (code, stdout, _) = cli(&server, &alice, &["show", "INC-1", "--json"]);
        assert_eq!(code, 0);
        let document: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            (document["status"].as_str(), document["commander"].as_str()),
            (Some("resolved"), Some("bob"))
        );
        let (_, text, _) = cli(&server, &alice, &["show", "INC-1"]);
        assert!(
            text.starts_with("INC-1  Search is slow\nstatus resolved · SEV2"),
            "{text}"
        );
        let (_, listed, _) = cli(&server, &alice, &["list"]);
        assert_eq!(
            listed.trim(),
            "no incidents",
            "resolved incidents are not active"
        );
        let (_, listed, _) = cli(&server, &alice, &["list", "--all"]);
        assert!(
            listed
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("INC-1    SEV2  resolved      bob"),
            "{listed}"
        );
        let (_, timeline, _) = cli(&server, &alice, &["timeline", "INC-1", "--json"]);
        let timeline = serde_json::from_str::<Value>(&timeline).unwrap();
        let types: Vec<&str> = timeline
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| entry["type"].as_str())
            .collect();
        // Nine entries and the commander's refused attempt to operate.
        assert_eq!(types.len(), 10, "{types:?}");
        assert!(types.contains(&"ic_operation_attempted"), "{types:?}");
        assert_eq!(
            types.last(),
            Some(&"review_meeting_scheduled"),
            "resolving plans the first post-mortem review meeting"
        );

        assert_eq!(
            cli(
                &server,
                &alice,
                &[
                    "action",
                    "add",
                    "INC-1",
                    "Alert on p99 latency",
                    "--owner",
                    "role:operations",
                    "--follow-up",
                    "--due",
                    "2027-01-15"
                ]
            )
            .0,
            0
        );
        let (_, items, _) = cli(&server, &alice, &["action", "list", "INC-1"]);
        assert!(
            items.lines().nth(1).unwrap().contains(
                "open      follow_up  role:operations      2027-01-15  Alert on p99 latency"
            ),
            "{items}"
        );
        // Closing needs a reviewed post-mortem (bob, the Incident Commander, owns the review)
        // and settled follow-ups.
        for (who, step) in [
            (&bob, "draft"),
            (&bob, "submit"),
            (&alice, "approve"),
            (&bob, "reviewed"),
        ] {
            let mut args = vec!["postmortem", step, "INC-1"];
            if step == "reviewed" {
                args.extend(["--override-reason", "the draft is enough for this one"]);
            }
            let (code, _, stderr) = cli(&server, who, &args);
            assert_eq!(code, 0, "postmortem {step}: {stderr}");
        }
        let (code, _, stderr) = cli(&server, &bob, &["status", "INC-1", "closed"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("follow-up action items 1 are still open"),
            "{stderr}"
        );
        assert_eq!(cli(&server, &bob, &["action", "done", "INC-1", "1"]).0, 0);
        assert_eq!(cli(&server, &bob, &["status", "INC-1", "closed"]).0, 0);

        assert_eq!(
            cli(&server, &alice, &["user", "add", "zed"]).0,
            3,
            "only admins manage users"
        );
        assert_eq!(
            cli(
                &server,
                &server.admin,
                &["user", "add", "zed", "--role", "viewer"]
            )
            .0,
            0
        );
        let (code, zed_token, _) = cli(
            &server,
            &server.admin,
            &["token", "create", "zed laptop", "--user", "zed"],
        );
        assert_eq!(code, 0);
        let zed_token = zed_token.trim().to_owned();
        assert_eq!(cli(&server, &zed_token, &["show", "INC-1"]).0, 0);
        assert_eq!(
            cli(&server, &zed_token, &["note", "INC-1", "viewer note"]).0,
            3,
            "viewers cannot write"
        );
        assert_eq!(
            cli(&server, &server.admin, &["user", "disable", "zed"]).0,
            0
        );
        assert_eq!(
            cli(&server, &zed_token, &["show", "INC-1"]).0,
            3,
            "a disabled user's token stops working"
        );
        let (_, tokens, _) = cli(&server, &alice, &["token", "list", "--json"]);
        let tokens: Value = serde_json::from_str(&tokens).unwrap();
        assert_eq!(
            tokens.as_array().unwrap().len(),
            1,
            "alice sees only her own token"
        );

        assert_eq!(
            cli(
                &server,
                &alice,
                &["severity", "INC-1", "SEV7", "--reason", "x"]
            )
            .0,
            2,
            "a bad value is a usage error"
        );
        assert_eq!(cli(&server, &alice, &["frobnicate"]).0, 2);
        assert_eq!(
            cli(&server, "hby_wrong", &["list"]).0,
            3,
            "a bad token exits 3"
        );
        let unreachable = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(["--server", "http://127.0.0.1:1", "--token", "x", "list"])
            .output()
            .unwrap();
        assert_eq!(unreachable.status.code(), Some(3));
        assert!(
            String::from_utf8_lossy(&unreachable.stderr)
                .contains("cannot reach http://127.0.0.1:1")
        );
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success());
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            script.contains("declare") && script.contains("handoff"),
            "{shell} completion lacks commands"
        );
    }
}

/// A raw Server-Sent Events reader over loopback.
pub(crate) struct EventStream {
    lines: BufReader<TcpStream>,
}

impl EventStream {
    pub(crate) fn open(
        server: &Server,
        path: &str,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Self {
        Self::open_at(&server.address, path, token, last_event_id)
    }

    /// Opens a stream on the server at `address` (another node of the same database).
    pub(crate) fn open_at(
        address: &str,
        path: &str,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Self {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n",
        );
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut lines = BufReader::new(stream);
        let mut status = String::new();
        lines.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        Self { lines }
    }

    /// Whether the server ended the stream within the read timeout (events before the end
    /// are skipped).
    pub(crate) fn ends(&mut self) -> bool {
        loop {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => return true,
                // The terminating chunk of a response whose body ended.
                Ok(_) if line.trim_end() == "0" => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }

    /// The next event as (id, type, data), skipping keep-alives and chunk framing.
    pub(crate) fn next(&mut self) -> (i64, String, Value) {
        let (mut id, mut kind) = (None, None);
        loop {
            let mut line = String::new();
            assert!(self.lines.read_line(&mut line).unwrap() > 0, "stream ended");
            let line = line.trim_end();
            if let Some(value) = line
                .strip_prefix("id: ")
                .or_else(|| line.strip_prefix("id:"))
            {
                id = Some(value.trim().parse().unwrap());
            } else if let Some(value) = line
                .strip_prefix("event: ")
                .or_else(|| line.strip_prefix("event:"))
            {
                kind = Some(value.trim().to_owned());
            } else if let Some(value) = line
                .strip_prefix("data: ")
                .or_else(|| line.strip_prefix("data:"))
            {
                return (
                    id.unwrap(),
                    kind.unwrap(),
                    serde_json::from_str(value).unwrap(),
                );
            }
        }
    }
}

#[test]
fn live_updates_arrive_resume_from_last_event_id_and_respect_visibility() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let carol = server.user("carol", "responder");
        let vic = server.user("vic", "viewer");
        server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Public one" }),
        );
        server.post(
            "/api/v1/incidents",
            &carol,
            json!({ "title": "Secret one", "visibility": "restricted" }),
        );

        let mut incident = EventStream::open(&server, "/api/v1/incidents/INC-1/events", &vic, None);
        let mut everything = EventStream::open(&server, "/api/v1/events?after=0", &vic, None);
        let (first, kind, data) = everything.next();
        assert_eq!(
            (kind.as_str(), data["incident"].as_str()),
            ("incident_declared", Some("INC-1"))
        );

        server.post(
            "/api/v1/incidents/INC-2/notes",
            &carol,
            json!({ "text": "secret note" }),
        );
        server.post(
            "/api/v1/incidents/INC-1/notes",
            &alice,
            json!({ "text": "first public note" }),
        );
        let (id, kind, data) = incident.next();
        assert_eq!(
            (kind.as_str(), data["body"]["text"].as_str()),
            ("note_added", Some("first public note"))
        );
        let (next, _, data) = everything.next();
        assert_eq!(
            data["body"]["text"], "first public note",
            "the restricted incident's entries are skipped"
        );
        assert!(next > first);

        server.post(
            "/api/v1/incidents/INC-1/notes",
            &alice,
            json!({ "text": "second public note" }),
        );
        drop(incident);
        let mut resumed =
            EventStream::open(&server, "/api/v1/incidents/INC-1/events", &vic, Some(id));
        let (_, _, data) = resumed.next();
        assert_eq!(
            data["body"]["text"], "second public note",
            "resumes right after Last-Event-ID"
        );

        let (status, _) = server.call(
            "GET",
            "/api/v1/incidents/INC-2/events",
            Some(&vic),
            None,
            &[],
        );
        assert_eq!(
            status, 404,
            "a non-member cannot subscribe to a restricted incident"
        );
    }
}

/// Writes notes from several clients until the server goes away, kills or stops it with
/// `signal` mid-burst, restarts it on the same database, and checks that every note answered
/// 2xx is there and that every hash chain verifies.
fn no_acknowledged_write_is_lost(signal: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    for database in databases() {
        let mut server = Server::start(&database);
        let token = server.admin.clone();
        for n in 1..=4 {
            assert_eq!(
                server
                    .post(
                        "/api/v1/incidents",
                        &token,
                        json!({ "title": format!("Burst {n}") })
                    )
                    .0,
                201
            );
        }
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let (address, token) = (server.address.clone(), token.clone());
                let (acknowledged, started) = (acknowledged.clone(), started.clone());
                std::thread::spawn(move || {
                    for n in 0..100_000 {
                        let text = format!("writer {writer} note {n}");
                        let body = json!({ "text": text }).to_string();
                        let path = format!("/api/v1/incidents/INC-{}/notes", n % 4 + 1);
                        match send(&address, "POST", &path, Some(&token), Some(&body), &[]) {
                            Ok((200, _)) => {
                                acknowledged.lock().unwrap().push(text);
                                started.store(true, Ordering::SeqCst);
                            }
                            Ok((status, body)) => panic!("unexpected {status}: {body}"),
                            // The server is gone: this write was never acknowledged.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // Signal once the burst is well under way, however busy the machine is.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while acknowledged.lock().unwrap().len() < 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(started.load(Ordering::SeqCst), "no write was acknowledged");
        let exit = server.signal_and_restart(signal);
        for writer in writers {
            writer.join().unwrap();
        }
        if signal == "TERM" {
            assert!(
                exit.success(),
                "SIGTERM must stop the server cleanly, got {exit}"
            );
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        eprintln!(
            "SIG{signal} on {}: {} writes acknowledged before the signal",
            if database == "sqlite" {
                "sqlite"
            } else {
                "postgres"
            },
            acknowledged.len()
        );
        assert!(
            acknowledged.len() > 50,
            "the burst was too small to prove anything: {}",
            acknowledged.len()
        );

        let mut stored = std::collections::HashSet::new();
        for n in 1..=4 {
            let mut after = 0;
            loop {
                let (status, page) = server.get(
                    &format!("/api/v1/incidents/INC-{n}/timeline?after={after}&limit=1000"),
                    &token,
                );
                assert_eq!(status, 200);
                for entry in page["entries"].as_array().unwrap() {
                    if let Some(text) = entry["body"]["text"].as_str() {
                        stored.insert(text.to_owned());
                    }
                }
                match page["next_after"].as_u64() {
                    Some(next) => after = next,
                    None => break,
                }
            }
        }
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|text| !stored.contains(*text))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged writes lost after SIG{signal}: {:?}",
            lost.len(),
            acknowledged.len(),
            &lost[..lost.len().min(5)]
        );
        let verified = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(["db", "verify", "--database-url", &server.url])
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stdout)
        );
    }
}

#[test]
fn sigterm_during_a_burst_loses_no_acknowledged_write() {
    no_acknowledged_write_is_lost("TERM");
}

#[test]
fn sigkill_during_a_burst_loses_no_acknowledged_write() {
    no_acknowledged_write_is_lost("KILL");
}

#[test]
fn metrics_json_logs_and_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
    let init = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["init", "--database-url", &url])
        .output()
        .unwrap();
    let token = String::from_utf8(init.stdout).unwrap().trim().to_owned();
    let config = dir.path().join("hereby.toml");
    // One attempt per notification, so a refused one is dead at once; a minute per attempt,
    // so one sent to a receiver that never answers stays pending while the test looks.
    std::fs::write(
        &config,
        format!(
            "database_url = \"{url}\"\nlisten = \"127.0.0.1:0\"\nlog_format = \"json\"\n\
             notify_max_attempts = 1\nnotify_timeout = \"60s\"\n\
             metrics_token = \"scrape-token-for-prometheus\"\n"
        ),
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("HEREBY_DATABASE_URL")
        .env_remove("HEREBY_LISTEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let address = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0);
        if line.contains("/setup/") {
            continue;
        }
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let scrape_as = |token: Option<&str>| {
        let mut stream = TcpStream::connect(&address).unwrap();
        let authorization = token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{authorization}\r\n"
        )
        .unwrap();
        let mut metrics = String::new();
        stream.read_to_string(&mut metrics).unwrap();
        metrics
    };
    let scrape = || {
        let metrics = scrape_as(Some("scrape-token-for-prometheus"));
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        metrics
    };
    // /metrics needs the scrape token (or an admin's API token).
    let anonymous = scrape_as(None);
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(anonymous.contains("\"error\""), "{anonymous}");
    assert!(scrape_as(Some("not-the-token-at-all")).starts_with("HTTP/1.1 401"));
    assert!(scrape_as(Some(&token)).starts_with("HTTP/1.1 200"));
    let metrics = scrape();
    assert!(metrics.contains("hereby_deliveries_pending 0"), "{metrics}");
    assert!(metrics.contains("hereby_deliveries_dead 0"), "{metrics}");

    // Two webhooks for the declaration below: one refused (nobody listens on its port) and
    // one whose receiver takes the connection and never answers.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}/hook", refused.local_addr().unwrap());
    drop(refused);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    for (name, hook) in [("refused", &refused_url), ("silent", &silent_url)] {
        let channel = json!({ "name": name, "kind": "webhook", "url": hook, "secret": "a-webhook-secret-of-some-length" });
        let (status, answer) = send(
            &address,
            "POST",
            "/api/v1/channels",
            Some(&token),
            Some(&channel.to_string()),
            &[],
        )
        .unwrap();
        assert_eq!(status, 201, "{answer}");
        let subscription = json!({ "channel": name, "events": ["declared"] });
        let (status, answer) = send(
            &address,
            "POST",
            "/api/v1/subscriptions",
            Some(&token),
            Some(&subscription.to_string()),
            &[],
        )
        .unwrap();
        assert_eq!(status, 201, "{answer}");
    }
    let (status, _) = send(
        &address,
        "POST",
        "/api/v1/incidents",
        Some(&token),
        Some(&json!({ "title": "Metered" }).to_string()),
        &[],
    )
    .unwrap();
    assert_eq!(status, 201);
    // Both notifications are queued in one transaction; once the refused one is dead, the
    // silent one is still waiting for its answer.
    let started = std::time::Instant::now();
    let metrics = loop {
        let metrics = scrape();
        if metrics.contains("hereby_deliveries_dead 1") {
            break metrics;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the refused delivery never went dead: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(metrics.contains("hereby_deliveries_pending 1"), "{metrics}");
    drop(silent);
    assert!(metrics.contains("hereby_http_requests_total{method=\"POST\",route=\"/api/v1/incidents\",status=\"201\"} 1"), "{metrics}");
    assert!(
        metrics.contains("hereby_incidents{status=\"investigating\"} 1"),
        "{metrics}"
    );
    // The live figures: one active incident at the default severity, nothing overdue yet.
    assert!(
        metrics.contains("hereby_active_incidents{severity=\"SEV3\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hereby_active_incidents{severity=\"SEV1\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("hereby_updates_overdue 0"), "{metrics}");
    assert!(metrics.contains("hereby_follow_ups_open 0"), "{metrics}");
    assert!(
        metrics.contains("hereby_events_appended_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hereby_http_request_duration_seconds"),
        "{metrics}"
    );

    // The request above was logged as one JSON object.
    let logged = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0);
        if let Ok(record) = serde_json::from_str::<Value>(&line)
            && record["fields"]["route"] == "/api/v1/incidents"
        {
            break record;
        }
    };
    assert_eq!(
        (
            logged["fields"]["method"].as_str(),
            logged["fields"]["status"].as_str()
        ),
        (Some("POST"), Some("201"))
    );
    let _ = child.kill();
    let _ = child.wait();

    std::fs::write(&config, "listen = \"not an address\"\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("config file"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn export_verify_and_backup_through_the_server() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vic = server.user("vic", "viewer");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(cli(&server, &alice, &["declare", "Visible to all"]).0, 0);
        assert_eq!(
            cli(
                &server,
                &alice,
                &["declare", "Security matter", "--restricted"]
            )
            .0,
            0
        );
        assert_eq!(
            cli(&server, &alice, &["note", "INC-2", "credentials rotated"]).0,
            0
        );

        let mine = dir.path().join("vic.jsonl");
        let (code, _, stderr) = cli(
            &server,
            &vic,
            &["export", "--output", mine.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{stderr}");
        let lines: Vec<Value> = std::fs::read_to_string(&mine)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "a viewer's export holds only what they may see"
        );
        assert_eq!(lines[0]["incident"], "INC-1");
        let (_, all, _) = cli(&server, &server.admin, &["export"]);
        assert_eq!(all.lines().count(), 3, "{all}");
        assert_eq!(
            cli(
                &server,
                &vic,
                &["export", "--output", mine.to_str().unwrap()]
            )
            .0,
            2,
            "an existing file is never overwritten"
        );

        let (code, stdout, _) = cli(&server, &vic, &["verify", "INC-1"]);
        assert_eq!(code, 0);
        assert!(
            stdout.starts_with("INC-1: 1 events, chain intact, head "),
            "{stdout}"
        );
        assert_eq!(
            cli(&server, &vic, &["verify", "INC-2"]).0,
            1,
            "a restricted incident does not exist for a non-member"
        );
        let (code, stdout, _) = cli(&server, &server.admin, &["verify"]);
        assert_eq!(
            (code, stdout.trim()),
            (
                0,
                "verified 3 events in 2 incidents: every hash chain is intact"
            )
        );
        assert_eq!(
            cli(&server, &alice, &["verify"]).0,
            3,
            "verifying everything is for admins"
        );

        let copy = dir.path().join("copy.db");
        let (code, _, stderr) = cli(&server, &server.admin, &["backup", copy.to_str().unwrap()]);
        if database == "sqlite" {
            assert_eq!(code, 0, "{stderr}");
            let verified = Command::new(env!("CARGO_BIN_EXE_hereby"))
                .args([
                    "db",
                    "verify",
                    "--database-url",
                    &format!("sqlite://{}", copy.display()),
                ])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&verified.stdout),
                "verified 3 events in 2 incidents: every hash chain is intact\n"
            );
        } else {
            assert_eq!(code, 1);
            assert!(stderr.contains("pg_dump"), "{stderr}");
            assert!(!copy.exists(), "no partial file is left behind");
        }
        assert_eq!(
            cli(
                &server,
                &alice,
                &["backup", dir.path().join("x.db").to_str().unwrap()]
            )
            .0,
            3
        );
    }
}

#[test]
fn attachments_are_stored_by_digest_and_served_only_through_their_incident() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let dave = server.user("dave", "responder");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("api-errors.log");
        std::fs::write(&log, "502 upstream timed out\n".repeat(1000)).unwrap();
        assert_eq!(cli(&server, &alice, &["declare", "Gateway errors"]).0, 0);
        assert_eq!(
            cli(&server, &alice, &["declare", "Private", "--restricted"]).0,
            0
        );
        let (code, stdout, stderr) = cli(
            &server,
            &alice,
            &[
                "attach",
                "INC-1",
                log.to_str().unwrap(),
                "--media-type",
                "text/plain",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            stdout, "INC-1: alice attached api-errors.log (text/plain, 23000 bytes)\n",
            "one human sentence, not the event's JSON"
        );
        let (_, listed, _) = cli(&server, &alice, &["attachments", "INC-1", "--json"]);
        let listed: Value = serde_json::from_str(&listed).unwrap();
        let sha = listed[0]["sha256"].as_str().unwrap().to_owned();
        assert_eq!(
            (listed[0]["name"].as_str(), listed[0]["size"].as_u64()),
            (Some("api-errors.log"), Some(23_000))
        );

        let mut stream = TcpStream::connect(&server.address).unwrap();
        write!(stream, "GET /api/v1/incidents/INC-1/attachments/{sha} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {dave}\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let response = String::from_utf8_lossy(&response);
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{}",
            &response[..200.min(response.len())]
        );
        assert!(response.contains("content-type: text/plain"));
        assert!(response.ends_with(&"502 upstream timed out\n".repeat(1000)));
        // The same content is not reachable through an incident that does not hold it.
        assert_eq!(
            server
                .get(&format!("/api/v1/incidents/INC-2/attachments/{sha}"), &dave)
                .0,
            404
        );
        assert_eq!(
            server
                .get(
                    &format!("/api/v1/incidents/INC-2/attachments/{sha}"),
                    &alice
                )
                .0,
            404
        );
        let (code, _, _) = cli(&server, &dave, &["attach", "INC-2", log.to_str().unwrap()]);
        assert_eq!(
            code, 1,
            "a non-member cannot attach to a restricted incident"
        );
    }
}

#[test]
fn the_client_reads_server_and_token_from_its_config_file() {
    let server = Server::start("sqlite");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("client.toml");
    std::fs::write(
        &config,
        format!(
            "server = \"http://{}\"\ntoken = \"{}\"\n",
            server.address, server.admin
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--client-config",
            config.to_str().unwrap(),
            "declare",
            "From the config file",
        ])
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "INC-1\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A flag beats the file.
    let output = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--client-config",
            config.to_str().unwrap(),
            "--token",
            "hby_wrong",
            "list",
        ])
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let missing = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["--server", "http://127.0.0.1:1", "list"])
        .env_remove("HEREBY_TOKEN")
        .env("XDG_CONFIG_HOME", dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "no token anywhere is a usage error"
    );
}

/// `hereby timeline INC-1 | head -1`: the reader goes away after one line and the client ends
/// quietly (killed by SIGPIPE as other command-line tools are, or done), never with a panic.
#[test]
fn a_closed_pipe_ends_the_client_quietly() {
    use std::os::unix::process::ExitStatusExt;

    let server = Server::start("sqlite");
    let token = server.admin.clone();
    let (status, _) = server.post(
        "/api/v1/incidents",
        &token,
        json!({ "title": "Checkout is down" }),
    );
    assert_eq!(status, 201);
    // Well over a pipe's 64 KiB buffer, so the client is still writing when the reader goes.
    let long = "the load balancer drops connections ".repeat(50);
    for _ in 0..60 {
        let (status, body) = server.post(
            "/api/v1/incidents/INC-1/notes",
            &token,
            json!({ "text": long }),
        );
        assert_eq!(status, 200, "{body}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--server",
            &format!("http://{}", server.address),
            "--token",
            &token,
            "timeline",
            "INC-1",
        ])
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The reader is dropped here, closing the pipe.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        output.status.success() || output.status.signal() == Some(13),
        "ended with {:?}: {stderr}",
        output.status
    );
}

#[test]
fn client_options_are_refused_where_no_server_is_talked_to() {
    for args in [
        &["serve", "--server", "http://127.0.0.1:1"][..],
        &["init", "--json"],
        &["db", "verify", "--token", "x"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args(args)
            .env_remove("HEREBY_SERVER")
            .env_remove("HEREBY_TOKEN")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is an option of the client commands; `hereby "),
            "{args:?}: {stderr}"
        );
    }
    // Set in the environment, they are the environment's business and do not stop a server.
    let help = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("--server"), "{help}");
    let list_help = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args(["list", "--help"])
        .output()
        .unwrap();
    let list_help = String::from_utf8_lossy(&list_help.stdout);
    assert!(list_help.contains("Client options:"), "{list_help}");
}

#[test]
fn show_prints_the_whole_state_document_and_list_puts_the_worst_first() {
    let server = Server::start("sqlite");
    let sam = server.user("sam", "responder");
    server.user("bob", "responder");
    server.user("carol", "responder");
    let bob = server.user("bobby", "responder");
    for (title, severity) in [
        ("Slow search", "SEV3"),
        ("Checkout down", "SEV1"),
        ("Late e-mails", "SEV2"),
    ] {
        let (code, _, stderr) = cli(&server, &sam, &["declare", title, "--severity", severity]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (_, listed, _) = cli(&server, &sam, &["list"]);
    let order: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(order, ["INC-2", "INC-3", "INC-1"], "{listed}");

    for args in [
        &["role", "assign", "INC-2", "operations", "bobby"][..],
        &["role", "handoff", "INC-2", "carol"],
        &[
            "action",
            "add",
            "INC-2",
            "check the payment provider's status",
            "--owner",
            "bob",
        ],
    ] {
        let (code, _, stderr) = cli(&server, &sam, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    let (code, _, stderr) = cli(
        &server,
        &bob,
        &[
            "act",
            "INC-2",
            "--target",
            "payments-api",
            "--intent",
            "restart the pods",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, shown, _) = cli(&server, &sam, &["show", "INC-2"]);
    assert_eq!(code, 0);
    for expected in [
        "INC-2  Checkout down",
        "status investigating · SEV1 · internal",
        "next stakeholder update due ",
        "hand-off: sam asks carol to take command",
        "announced changes not yet made\n  intent 1: bobby is about to change payments-api: restart the pods",
        "open action items\n    1. check the payment provider's status (task, bob)",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
    assert!(
        !shown.contains("T0"),
        "times are for people, not RFC 3339: {shown}"
    );
}

#[test]
fn milestones_are_derived_from_the_timeline_and_shown_everywhere() {
    let server = Server::start("sqlite");
    let alice = server.user("alice", "responder");
    let (status, declared) = server.post(
        "/api/v1/incidents",
        &alice,
        json!({"title": "Checkout down", "severity": "SEV2"}),
    );
    assert_eq!(status, 201, "{declared}");
    let milestones = &declared["milestones"];
    // A person declared it: detected, acknowledged and started at once; nothing else yet.
    assert_eq!(milestones["detected"], declared["declared_at"]);
    assert_eq!(milestones["acknowledged"], declared["declared_at"]);
    assert_eq!(milestones["started"], declared["declared_at"]);
    assert!(milestones["mitigated"].is_null() && milestones["resolved"].is_null());
    let (status, _) = server.post(
        "/api/v1/incidents/INC-1/status",
        &alice,
        json!({"status": "monitoring"}),
    );
    assert_eq!(status, 200);
    let (status, _) = server.post("/api/v1/incidents/INC-1/resolve", &alice, json!({}));
    assert_eq!(status, 200);
    let (_, document) = server.get("/api/v1/incidents/INC-1", &alice);
    let milestones = &document["milestones"];
    assert!(milestones["mitigated"].is_string(), "{document}");
    assert_eq!(milestones["resolved"], document["resolved_at"]);
    assert!(milestones["mitigated"].as_str() <= milestones["resolved"].as_str());
    assert!(milestones["closed"].is_null());
    let (code, stdout, stderr) = cli(&server, &alice, &["show", "INC-1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("milestones: started ") && stdout.contains(" · mitigated "),
        "{stdout}"
    );

    // The commander sets when the impact really started; the timeline says so, with why.
    let declared_at: jiff::Timestamp = document["declared_at"].as_str().unwrap().parse().unwrap();
    let earlier = declared_at - jiff::SignedDuration::from_mins(25);
    let (code, stdout, stderr) = cli(
        &server,
        &alice,
        &[
            "milestone",
            "INC-1",
            "started",
            &earlier.to_string(),
            "--reason",
            "errors began at the deploy",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("milestone"), "{stdout}");
    let (_, document) = server.get("/api/v1/incidents/INC-1", &alice);
    assert_eq!(
        document["milestones"]["started"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        earlier
    );
    // A milestone may not overtake another: the refusal names the one it would pass.
    let (status, refused) = server.post(
        "/api/v1/incidents/INC-1/milestones",
        &alice,
        json!({"milestone": "resolved", "at": earlier.to_string(), "reason": "typo"}),
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_milestone");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("would come before `mitigated`"),
        "{refused}"
    );
    // A reason is required; an unknown milestone is named.
    let (status, refused) = server.post(
        "/api/v1/incidents/INC-1/milestones",
        &alice,
        json!({"milestone": "fixed", "at": earlier.to_string(), "reason": "x"}),
    );
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("started"),
        "{refused}"
    );
    let (_, after) = server.get("/api/v1/incidents/INC-1", &alice);
    assert_eq!(
        after["version"], document["version"],
        "refusals change nothing"
    );
}
