//! Live streams end to end: a write on one server node reaches a watcher on another node of
//! the same PostgreSQL database (through the event feed's `LISTEN/NOTIFY` wake-up), and open
//! streams end when their sign-in is revoked.

use std::time::Instant;

use serde_json::json;

use crate::api::{EventStream, Server, databases};

#[test]
fn a_write_on_one_node_reaches_a_watcher_on_another() {
    let Ok(postgres) = std::env::var("HEREBY_TEST_POSTGRES_URL") else {
        eprintln!("two-node live test skipped: HEREBY_TEST_POSTGRES_URL is not set");
        return;
    };
    let server = Server::start(&postgres);
    let (mut second, second_address, _) = Server::spawn(&server.url, &[]);
    let alice = server.user("alice", "responder");
    let (status, _) = server.post(
        "/api/v1/incidents",
        &alice,
        json!({ "title": "Watched from the other node" }),
    );
    assert_eq!(status, 201);
    let mut watcher = EventStream::open_at(
        &second_address,
        "/api/v1/incidents/INC-1/events",
        &alice,
        None,
    );
    let mut waits = Vec::new();
    for n in 0..5 {
        let text = format!("note {n} from node 1");
        let sent = Instant::now();
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/notes",
            &alice,
            json!({ "text": text }),
        );
        assert_eq!(status, 200);
        let (_, kind, data) = watcher.next();
        waits.push(sent.elapsed());
        assert_eq!(
            (kind.as_str(), data["body"]["text"].as_str()),
            ("note_added", Some(text.as_str())),
            "node 2 streams node 1's write, in order"
        );
    }
    // Not a timed assertion (the machine is shared): the safety poll alone would take up to
    // five seconds, so the figures show whether the commit notification woke node 2.
    eprintln!("node 1 write → node 2 watcher: {waits:?}");
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn revoking_a_token_or_disabling_a_user_ends_their_open_streams() {
    let database = databases().remove(0);
    let server = Server::start(&database);
    let alice = server.user("alice", "responder");
    let (status, second) = server.post(
        "/api/v1/tokens",
        &server.admin,
        json!({ "label": "second", "user": "alice" }),
    );
    assert_eq!(status, 201, "{second}");
    let second = second["token"].as_str().unwrap().to_owned();
    let (status, tokens) = server.call("GET", "/api/v1/tokens", Some(&alice), None, &[]);
    assert_eq!(status, 200);
    let first_id = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token["id"].as_i64().unwrap())
        .min()
        .unwrap();

    // Revoking one of alice's tokens ends her open streams; she reconnects with a valid one.
    let mut stream = EventStream::open(&server, "/api/v1/events", &alice, None);
    let (status, _) = server.call(
        "DELETE",
        &format!("/api/v1/tokens/{first_id}"),
        Some(&server.admin),
        None,
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        stream.ends(),
        "the stream ends when a token of its user is revoked"
    );
    let (status, _) = server.call("GET", "/api/v1/me", Some(&alice), None, &[]);
    assert_eq!(status, 401, "the revoked token no longer works");

    // Disabling alice ends the stream she opened with her other token.
    let mut stream = EventStream::open(&server, "/api/v1/events", &second, None);
    let (status, body) = server.call(
        "PATCH",
        "/api/v1/users/alice",
        Some(&server.admin),
        Some(&json!({ "disabled": true }).to_string()),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert!(stream.ends(), "the stream ends when its user is disabled");

    // Someone else's stream goes on.
    let bob = server.user("bob", "responder");
    let mut bobs = EventStream::open(&server, "/api/v1/events", &bob, None);
    let (status, _) = server.post(
        "/api/v1/incidents",
        &bob,
        json!({ "title": "Still streaming" }),
    );
    assert_eq!(status, 201);
    let (_, kind, _) = bobs.next();
    assert_eq!(kind, "incident_declared");
}
