//! Abuse of connections and of the sign-in form, against the real server: silent sockets are
//! closed after the header timeout, one address cannot hold more than its share of
//! connections, and failed sign-ins slow down only the address they come from (the client's
//! own address behind a trusted reverse proxy), with `Retry-After` on 429.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::Server;

/// Whether the server closes `stream` (or resets it) without answering within `within`.
fn closed_unanswered(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 64];
    match stream.read(&mut buffer) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

fn healthz(server: &Server) -> u16 {
    server.call("GET", "/healthz", None, None, &[]).0
}

#[test]
fn silent_and_greedy_connections_cannot_starve_the_server() {
    let server = Server::start_with(
        "sqlite",
        &[
            "--header-timeout",
            "1s",
            "--max-connections-per-address",
            "8",
        ],
    );
    // Eight silent sockets take this address's share …
    let mut silent: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(&server.address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // … so a ninth is closed without an answer, even for a complete request.
    let mut ninth = TcpStream::connect(&server.address).unwrap();
    let _ = ninth.write_all(b"GET /healthz HTTP/1.1\r\nHost: hereby\r\n\r\n");
    assert!(
        closed_unanswered(&mut ninth, Duration::from_secs(5)),
        "a connection over the share was served"
    );
    // A client that starts a request and stops is closed after the header timeout too.
    silent[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: hereby\r\n")
        .unwrap();
    let started = Instant::now();
    for stream in &mut silent {
        assert!(
            closed_unanswered(stream, Duration::from_secs(10)),
            "a silent socket stayed open"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // With the silent sockets gone, the address is served again.
    assert_eq!(healthz(&server), 200);
}

/// Posts the sign-in form with `X-Forwarded-For: forwarded_for`; returns the status line
/// and the headers, lower-cased.
fn sign_in(server: &Server, user: &str, password: &str, forwarded_for: &str) -> String {
    let body = format!("username={user}&password={password}&next=%2F");
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-Forwarded-For: {forwarded_for}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        server.address,
        body.len()
    );
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let head = response.split("\r\n\r\n").next().unwrap_or("");
    head.to_ascii_lowercase()
}

const PASSWORD: &str = "correct horse battery";

fn with_password(server: &Server, user: &str) {
    server.user(user, "responder");
    let (status, body) = server.call(
        "PUT",
        &format!("/api/v1/users/{user}/password"),
        Some(&server.admin),
        Some(&json!({ "password": PASSWORD }).to_string()),
        &[],
    );
    assert_eq!(status, 204, "{body}");
}

#[test]
fn failed_sign_ins_slow_down_only_their_own_address_behind_a_trusted_proxy() {
    let server = Server::start_with("sqlite", &["--trusted-proxy", "127.0.0.1"]);
    with_password(&server, "sam");
    let attacker = "203.0.113.5";
    for _ in 0..3 {
        let answer = sign_in(&server, "sam", "guess", attacker);
        assert!(answer.starts_with("http/1.1 401"), "{answer}");
    }
    // The attacker must now wait, even with the right password, and is told how long.
    let answer = sign_in(&server, "sam", PASSWORD, attacker);
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("\r\nretry-after: 1"), "{answer}");
    // Sam, at another address behind the same proxy, signs in at once.
    let answer = sign_in(&server, "sam", PASSWORD, "198.51.100.2");
    assert!(answer.starts_with("http/1.1 303"), "{answer}");
    assert!(answer.contains("set-cookie: hereby_session="), "{answer}");
}

#[test]
fn an_untrusted_forwarded_for_header_changes_nothing() {
    let server = Server::start("sqlite");
    with_password(&server, "sam");
    for n in 0..3 {
        let answer = sign_in(&server, "sam", "guess", &format!("203.0.113.{n}"));
        assert!(answer.starts_with("http/1.1 401"), "{answer}");
    }
    // Without `--trusted-proxy` the header is the client's own claim, and ignored.
    let answer = sign_in(&server, "sam", PASSWORD, "198.51.100.2");
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
}

#[test]
fn a_nul_byte_is_refused_with_a_client_error_on_every_database() {
    for database in crate::api::databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let (status, declared) = server.post(
            "/api/v1/incidents",
            &admin,
            json!({ "title": "Checkout down", "severity": "SEV2" }),
        );
        assert_eq!(status, 201, "{declared}");
        let nul = "before\u{0}after";
        let writes = [
            ("POST", "/api/v1/incidents", json!({ "title": nul })),
            (
                "POST",
                "/api/v1/incidents/INC-1/notes",
                json!({ "text": nul }),
            ),
            (
                "PUT",
                "/api/v1/services/checkout",
                json!({ "owner_team": "payments", "criticality": "high", "description": nul }),
            ),
            (
                "POST",
                "/api/v1/releases",
                json!({ "service": "checkout", "version": "1.0", "notes": nul }),
            ),
            ("POST", "/api/v1/tokens", json!({ "label": nul })),
            (
                "PUT",
                "/api/v1/settings/message_template/nul",
                json!({ "subject": "s", "body": nul }),
            ),
            (
                "PUT",
                "/api/v1/users/root/email",
                json!({ "email": format!("root{nul}@example.com") }),
            ),
        ];
        for (method, path, body) in writes {
            let (status, answer) =
                server.call(method, path, Some(&admin), Some(&body.to_string()), &[]);
            assert!(
                (400..500).contains(&status),
                "{database}: {method} {path} answered {status}: {answer}"
            );
            assert!(
                answer["error"]["code"].is_string(),
                "{method} {path}: {answer}"
            );
        }
        for query in ["q=%00", "q=a%00b", "service=a%00"] {
            let (status, answer) = server.get(&format!("/api/v1/incidents?{query}"), &admin);
            assert!(
                (400..500).contains(&status),
                "{database}: ?{query} answered {status}: {answer}"
            );
        }
    }
}
