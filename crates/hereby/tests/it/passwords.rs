//! Passwords end to end: `hereby user passwd` and `PUT /api/v1/users/{name}/password` against
//! a real server, with what the database stored checked by verifying it as sign-in would.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::api::{Server, databases};

/// Runs `hereby user passwd ARGS` as `token` with `stdin` piped in (not a terminal, so the
/// password is read from it): exit code, stdout, stderr.
fn passwd(server: &Server, token: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--server",
            &format!("http://{}", server.address),
            "--token",
            token,
            "user",
            "passwd",
        ])
        .args(args)
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The password hash stored for `user`, read from the server's database.
fn stored_hash(server: &Server, user: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let sql = "SELECT password_hash FROM users WHERE name = $1";
        if server.url.starts_with("sqlite:") {
            let mut conn = sqlx::sqlite::SqliteConnection::connect(&server.url)
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .bind(user)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        } else {
            let mut conn = sqlx::postgres::PgConnection::connect(&server.url)
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .bind(user)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    })
}

/// Whether the hash stored for `user` is an argon2id hash of `password`.
fn has_password(server: &Server, user: &str, password: &str) -> bool {
    let Some(hash) = stored_hash(server, user) else {
        return false;
    };
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(hereby_server::passwords::verify(password, &hash))
}

fn put_password(server: &Server, token: Option<&str>, name: &str, body: &str) -> (u16, Value) {
    server.call(
        "PUT",
        &format!("/api/v1/users/{name}/password"),
        token,
        Some(body),
        &[],
    )
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn the_cli_sets_passwords_from_standard_input_and_reports_refusals() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vic = server.user("vic", "viewer");
        assert_eq!(stored_hash(&server, "alice"), None);

        // Your own, by default; the line ending is not part of the password.
        let (status, stdout, stderr) = passwd(&server, &alice, &[], "correct horse battery\n");
        assert_eq!(
            (status, stdout.as_str()),
            (0, "password set for alice\n"),
            "{stderr}"
        );
        assert!(has_password(&server, "alice", "correct horse battery"));
        assert!(!has_password(&server, "alice", "correct horse battery\n"));
        let (status, _, stderr) = passwd(&server, &alice, &["alice"], "windows line end\r\n");
        assert_eq!(status, 0, "{stderr}");
        assert!(has_password(&server, "alice", "windows line end"));
        let before = stored_hash(&server, "alice");

        // Refusals, each with its exit code, and nothing changed.
        let (status, _, stderr) = passwd(&server, &alice, &[], "short\n");
        assert_eq!(status, 2, "a weak password is a usage error: {stderr}");
        assert!(stderr.contains("at least 10 characters"), "{stderr}");
        let (status, _, stderr) = passwd(&server, &alice, &[], "");
        assert_eq!(status, 2, "{stderr}");
        assert!(stderr.contains("no password"), "{stderr}");
        let (status, _, stderr) = passwd(&server, &vic, &["alice"], "taking over alice\n");
        assert_eq!(
            status, 3,
            "someone else's password is refused (403): {stderr}"
        );
        assert!(stderr.contains("only your own password"), "{stderr}");
        assert_eq!(stored_hash(&server, "alice"), before);

        // Viewers set their own; admins anyone's, but not a user who does not exist.
        let (status, _, stderr) = passwd(&server, &vic, &[], "viewers sign in too\n");
        assert_eq!(status, 0, "{stderr}");
        assert!(has_password(&server, "vic", "viewers sign in too"));
        let (status, stdout, stderr) = passwd(
            &server,
            &server.admin,
            &["--json", "alice"],
            "reset by the admin\n",
        );
        assert_eq!(status, 0, "{stderr}");
        let printed: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(printed, json!({ "user": "alice", "password_set": true }));
        assert!(has_password(&server, "alice", "reset by the admin"));
        let (status, _, stderr) = passwd(&server, &server.admin, &["ghost"], "nobody's password\n");
        assert_eq!(status, 1, "{stderr}");
        assert!(stderr.contains("does not exist"), "{stderr}");
    }
}

#[test]
fn the_api_sets_passwords_for_yourself_or_as_an_admin() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let vic = server.user("vic", "viewer");
        let good = r#"{"password":"through the API"}"#;

        let (status, body) = put_password(&server, Some(&alice), "alice", good);
        assert_eq!((status, &body), (204, &Value::Null));
        assert!(has_password(&server, "alice", "through the API"));
        let (status, _) = put_password(&server, Some(&server.admin), "vic", good);
        assert_eq!(status, 204);
        assert!(has_password(&server, "vic", "through the API"));

        let refusals = [
            (None, "alice", good, 401, "unauthorized"),
            (Some(&vic), "alice", good, 403, "forbidden"),
            // Whether a user exists is not revealed to non-admins.
            (Some(&vic), "ghost", good, 403, "forbidden"),
            (
                Some(&alice),
                "alice",
                r#"{"password":"too short"}"#,
                422,
                "invalid_value",
            ),
            (Some(&server.admin), "ghost", good, 404, "not_found"),
            (
                Some(&server.admin),
                "Not%20a%20name",
                good,
                404,
                "not_found",
            ),
            (
                Some(&alice),
                "alice",
                r#"{"pass":"through the API"}"#,
                400,
                "invalid_body",
            ),
            (Some(&alice), "alice", "not json", 400, "malformed_json"),
        ];
        for (token, name, body, expected_status, expected_code) in refusals {
            let (status, answer) = put_password(&server, token.map(String::as_str), name, body);
            assert_eq!(
                (status, code(&answer)),
                (expected_status, expected_code),
                "{name} {body}: {answer}"
            );
        }
        let too_long = json!({ "password": "x".repeat(1_025) }).to_string();
        let (status, answer) = put_password(&server, Some(&alice), "alice", &too_long);
        assert_eq!((status, code(&answer)), (422, "invalid_value"), "{answer}");
        assert!(
            has_password(&server, "alice", "through the API"),
            "no refusal changed anything"
        );
    }
}
