//! Chat against a real Matrix homeserver (Synapse, from PyPI in a throw-away venv that
//! `.ci/run` makes): two people and the bot. Declaring by command (and the phrase's offer),
//! the incident's room with its members, the pinned state message edited in place, a note by
//! reaction under its author's name, a restricted incident's private room, and a restart of
//! hereby that loses and repeats nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, send};

/// A Synapse homeserver for one test, stopped when the test ends (nextest runs each test in
/// a process of its own, so a homeserver kept for the binary would outlive it).
struct Synapse {
    child: Child,
    address: String,
    config: std::path::PathBuf,
    venv: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn synapse() -> Option<Synapse> {
    Synapse::start()
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Synapse {
    fn start() -> Option<Self> {
        let venv = std::path::PathBuf::from(
            std::env::var("HEREBY_SYNAPSE_VENV").unwrap_or_else(|_| "/tmp/synapse-venv".into()),
        );
        let python = venv.join("bin/python");
        if !python.exists()
            || !Command::new(&python)
                .args(["-c", "import synapse"])
                .status()
                .is_ok_and(|s| s.success())
        {
            let required = std::env::var("HEREBY_TEST_SYNAPSE").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "HEREBY_TEST_SYNAPSE=required but there is no Synapse in {} (python3 -m venv it && it/bin/pip install matrix-synapse)",
                venv.display()
            );
            eprintln!(
                "Matrix test skipped: no Synapse in {} (python3 -m venv it && it/bin/pip install matrix-synapse; or set HEREBY_SYNAPSE_VENV)",
                venv.display()
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("homeserver.yaml");
        let generated = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "--server-name", "localhost"])
            .arg("--config-path")
            .arg(&config)
            .arg("--data-directory")
            .arg(dir.path())
            .args(["--generate-config", "--report-stats=no"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            generated.status.success(),
            "{}",
            String::from_utf8_lossy(&generated.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Later keys win: the listener on a free port, and rate limits a bot's bursts pass.
        let mut yaml = std::fs::read_to_string(&config).unwrap();
        yaml.push_str(&format!(
            r#"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
rc_message:
  per_second: 1000
  burst_count: 1000
rc_joins:
  local:
    per_second: 1000
    burst_count: 1000
rc_invites:
  per_room:
    per_second: 1000
    burst_count: 1000
  per_user:
    per_second: 1000
    burst_count: 1000
  per_issuer:
    per_second: 1000
    burst_count: 1000
rc_login:
  address:
    per_second: 1000
    burst_count: 1000
  account:
    per_second: 1000
    burst_count: 1000
rc_room_creation:
  per_second: 1000
  burst_count: 1000
"#
        ));
        std::fs::write(&config, yaml).unwrap();
        let mut child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if std::env::var("HEREBY_TEST_SYNAPSE_LOG").is_ok() {
                    eprintln!("synapse: {line}");
                }
            }
        });
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while send(&address, "GET", "/_matrix/client/versions", None, None, &[]).is_err() {
            assert!(Instant::now() < deadline, "Synapse did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(Self {
            child,
            address,
            config,
            venv,
            _dir: dir,
        })
    }

    /// Registers an account and logs it in: its user id and access token.
    fn account(&self, name: &str) -> (String, String) {
        let registered = Command::new(self.venv.join("bin/register_new_matrix_user"))
            .arg("-c")
            .arg(&self.config)
            .args(["-u", name, "-p", "correct horse battery", "--no-admin"])
            .arg(format!("http://{}", self.address))
            .output()
            .unwrap();
        assert!(
            registered.status.success(),
            "{}",
            String::from_utf8_lossy(&registered.stderr)
        );
        let (status, login) = self.call(
            "POST",
            "/login",
            None,
            json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": name}, "password": "correct horse battery"}),
        );
        assert_eq!(status, 200, "{login}");
        (
            login["user_id"].as_str().unwrap().to_owned(),
            login["access_token"].as_str().unwrap().to_owned(),
        )
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        // Relations are only under v1 of the client-server API.
        let version = if path.contains("/relations/") {
            "v1"
        } else {
            "v3"
        };
        let body = (!body.is_null()).then(|| body.to_string());
        send(
            &self.address,
            method,
            &format!("/_matrix/client/{version}{path}"),
            token,
            body.as_deref(),
            &[],
        )
        .unwrap()
    }
}

fn encode(part: &str) -> String {
    part.replace('!', "%21")
        .replace('#', "%23")
        .replace(':', "%3A")
        .replace('@', "%40")
        .replace('$', "%24")
}

/// A person in Matrix.
struct Person<'a> {
    synapse: &'a Synapse,
    id: String,
    token: String,
    sent: std::cell::Cell<u32>,
}

impl<'a> Person<'a> {
    fn new(synapse: &'a Synapse, name: &str) -> Self {
        let (id, token) = synapse.account(name);
        Self {
            synapse,
            id,
            token,
            sent: std::cell::Cell::new(0),
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        self.synapse.call(method, path, Some(&self.token), body)
    }

    fn say(&self, room: &str, text: &str) -> String {
        self.sent.set(self.sent.get() + 1);
        let (status, sent) = self.call(
            "PUT",
            &format!(
                "/rooms/{}/send/m.room.message/t{}{}",
                encode(room),
                self.sent.get(),
                std::process::id()
            ),
            json!({"msgtype": "m.text", "body": text}),
        );
        assert_eq!(status, 200, "{sent}");
        sent["event_id"].as_str().unwrap().to_owned()
    }

    fn react(&self, room: &str, event: &str, key: &str) {
        self.sent.set(self.sent.get() + 1);
        let (status, sent) = self.call(
            "PUT",
            &format!(
                "/rooms/{}/send/m.reaction/r{}{}",
                encode(room),
                self.sent.get(),
                std::process::id()
            ),
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": event, "key": key}}),
        );
        assert_eq!(status, 200, "{sent}");
    }

    /// A full sync, each time a new one: Synapse keeps a sync's answer for a while for the
    /// same parameters, so each call waits a different number of milliseconds.
    fn sync(&self) -> Value {
        self.sent.set(self.sent.get() + 1);
        let (status, synced) = self.call(
            "GET",
            &format!("/sync?timeout={}", self.sent.get()),
            Value::Null,
        );
        assert_eq!(status, 200, "{synced}");
        synced
    }

    fn join(&self, room: &str) -> (u16, Value) {
        self.call("POST", &format!("/join/{}", encode(room)), json!({}))
    }

    /// The room's messages, oldest first: every page back to the room's start, since the
    /// homeserver may answer a page shorter than asked for before the start is reached.
    fn messages(&self, room: &str) -> Vec<Value> {
        let mut events: Vec<Value> = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let path = match &from {
                Some(token) => format!(
                    "/rooms/{}/messages?dir=b&limit=1000&from={}",
                    encode(room),
                    encode(token)
                ),
                None => format!("/rooms/{}/messages?dir=b&limit=1000", encode(room)),
            };
            let (status, page) = self.call("GET", &path, Value::Null);
            assert_eq!(status, 200, "{page}");
            let chunk = page["chunk"].as_array().cloned().unwrap_or_default();
            let end = page["end"].as_str().map(str::to_owned);
            if chunk.is_empty() || end.is_none() || end == from {
                events.extend(chunk);
                break;
            }
            events.extend(chunk);
            from = end;
        }
        events.reverse();
        events
    }

    /// Waits until a message of the bot in `room` satisfies `found` (one of this person's own
    /// never does: what they said may hold the words the bot's line is awaited for).
    fn wait_for(&self, room: &str, what: &str, found: impl Fn(&str) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(event) = self.messages(room).into_iter().find(|event| {
                event["type"] == "m.room.message"
                    && event["sender"] != self.id.as_str()
                    && event["content"]["body"].as_str().is_some_and(&found)
            }) {
                return event;
            }
            assert!(Instant::now() < deadline, "no message {what} in {room}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn until<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The alias's room id, once it exists.
fn room_of(person: &Person<'_>, alias: &str) -> String {
    until(&format!("room {alias}"), || {
        let (status, found) = person.call(
            "GET",
            &format!("/directory/room/{}", encode(alias)),
            Value::Null,
        );
        (status == 200).then(|| found["room_id"].as_str().unwrap().to_owned())
    })
}

fn timeline(server: &Server, id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/v1/incidents/{id}/timeline"), &server.admin);
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_team_runs_an_incident_from_a_matrix_room() {
    let Some(synapse) = synapse() else { return };
    let synapse = &synapse;
    let mut server = Server::start("sqlite");
    let anna_token = server.user("anna", "responder");
    server.user("nina", "responder");
    let bot = Person::new(synapse, "hereby");
    let anna = Person::new(synapse, "anna");
    let nina = Person::new(synapse, "nina");
    let mallory = Person::new(synapse, "mallory");

    // The room the team talks in, which the bot watches.
    let (status, ops) = anna.call(
        "POST",
        "/createRoom",
        json!({"preset": "public_chat", "room_alias_name": "ops", "name": "ops"}),
    );
    assert_eq!(status, 200, "{ops}");
    let ops = ops["room_id"].as_str().unwrap().to_owned();
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({"name": "matrix", "kind": "matrix", "url": format!("http://{}", synapse.address),
               "secret": bot.token, "rooms": ["#ops:localhost"]}),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(
        !channel.to_string().contains(&bot.token),
        "the token is never shown: {channel}"
    );
    until("the bot in #ops", || {
        let (_, members) = anna.call(
            "GET",
            &format!("/rooms/{}/joined_members", encode(&ops)),
            Value::Null,
        );
        members["joined"].get(&bot.id).map(|_| ())
    });

    // An unlinked person is told how to link, and nothing is done in their name.
    anna.say(&ops, "inc declare 'Guessing game'");
    let direct = until("a direct room for anna", || {
        let synced = anna.sync();
        synced["rooms"]["invite"]
            .as_object()
            .and_then(|invites| invites.keys().next().cloned())
    });
    assert_eq!(anna.join(&direct).0, 200);
    anna.wait_for(&direct, "how to link", |body| body.contains("inc link"));
    let (_, listed) = server.get("/api/v1/incidents", &server.admin);
    assert_eq!(
        listed["incidents"].as_array().map_or(0, Vec::len),
        0,
        "{listed}"
    );

    // anna links herself with a code; nina is linked by the admin.
    let (status, code) = server.post("/api/v1/chat/link-code", &anna_token, json!(null));
    assert_eq!(status, 200, "{code}");
    anna.say(
        &ops,
        &format!("inc link {}", code["code"].as_str().unwrap()),
    );
    anna.wait_for(&direct, "the link confirmed", |body| {
        body.contains("Linked")
    });
    let (status, linked) = server.call(
        "PUT",
        "/api/v1/chat/links",
        Some(&server.admin),
        Some(&json!({"platform": "matrix", "chat_user": nina.id, "user": "nina"}).to_string()),
        &[],
    );
    assert_eq!(status, 200, "{linked}");

    // The phrase offers to declare; the command declares.
    anna.say(&ops, "Checkout is dead. I hereby declare this an incident!");
    anna.wait_for(&ops, "the offer", |body| {
        body.contains("inc yes") && body.contains("Checkout is dead")
    });
    anna.say(&ops, "inc yes");
    anna.wait_for(&ops, "the declaration", |body| {
        body.contains("Declared INC-1")
    });
    let room = room_of(&anna, "#inc-1-checkout-is-dead:localhost");
    until("anna invited", || {
        let synced = anna.sync();
        synced["rooms"]["invite"].get(&room).map(|_| ())
    });
    assert_eq!(anna.join(&room).0, 200);
    assert_eq!(
        nina.join(&room).0,
        200,
        "an internal incident's room is open to the team"
    );

    // The state message is pinned, and edited in place after a severity change.
    let pinned = until("the pinned state message", || {
        let (status, pins) = anna.call(
            "GET",
            &format!("/rooms/{}/state/m.room.pinned_events/", encode(&room)),
            Value::Null,
        );
        (status == 200).then(|| pins["pinned"].as_array().unwrap().clone())
    });
    assert_eq!(pinned.len(), 1);
    let state_event = pinned[0].as_str().unwrap().to_owned();
    let (_, first) = anna.call(
        "GET",
        &format!("/rooms/{}/event/{}", encode(&room), encode(&state_event)),
        Value::Null,
    );
    assert!(
        first["content"]["body"].as_str().unwrap().contains("SEV3"),
        "{first}"
    );
    anna.say(&room, "inc severity 1 payments fail for everyone");
    let edit = until("the state message edited to SEV1", || {
        let (_, edits) = anna.call(
            "GET",
            &format!(
                "/rooms/{}/relations/{}/m.replace?limit=50",
                encode(&room),
                encode(&state_event)
            ),
            Value::Null,
        );
        edits["chunk"].as_array().and_then(|chunk| {
            chunk
                .iter()
                .find(|edit| {
                    edit["content"]["m.new_content"]["body"]
                        .as_str()
                        .is_some_and(|body| body.contains("SEV1"))
                })
                .cloned()
        })
    });
    assert_eq!(edit["sender"], bot.id.as_str());
    let (_, pins) = anna.call(
        "GET",
        &format!("/rooms/{}/state/m.room.pinned_events/", encode(&room)),
        Value::Null,
    );
    assert_eq!(
        pins["pinned"],
        json!([state_event]),
        "still one pinned message"
    );
    anna.wait_for(&room, "the severity line", |body| body.contains("SEV1"));
    // Timeline lines go in the state message's thread, out of the way of the room's talk.
    until("the severity line in the state message's thread", || {
        let (_, thread) = anna.call(
            "GET",
            &format!(
                "/rooms/{}/relations/{}/m.thread?limit=50",
                encode(&room),
                encode(&state_event)
            ),
            Value::Null,
        );
        thread["chunk"].as_array().and_then(|chunk| {
            chunk
                .iter()
                .find(|line| {
                    line["content"]["body"]
                        .as_str()
                        .is_some_and(|body| body.contains("SEV1"))
                })
                .cloned()
        })
    });

    // A reaction copies nina's message into the timeline under her name.
    let said = nina.say(&room, "database failover finished");
    anna.react(&room, &said, "📌");
    let noted = until("the pinned note", || {
        timeline(&server, "INC-1").into_iter().find(|entry| {
            entry["type"] == "note_added"
                && entry["body"]["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("database failover finished"))
        })
    });
    assert_eq!(noted["actor"], "nina", "{noted}");

    // So does `inc pin` in a reply, for someone who has no emoji at hand.
    let said = anna.say(&room, "customers see 502s on /pay");
    anna.sent.set(anna.sent.get() + 1);
    let (status, _) = nina.call(
        "PUT",
        &format!("/rooms/{}/send/m.room.message/pinreply{}", encode(&room), std::process::id()),
        json!({"msgtype": "m.text", "body": "> <@anna:localhost> customers see 502s on /pay\n\ninc pin",
               "m.relates_to": {"m.in_reply_to": {"event_id": said}}}),
    );
    assert_eq!(status, 200);
    let noted = until("the note copied by a reply", || {
        timeline(&server, "INC-1").into_iter().find(|entry| {
            entry["type"] == "note_added"
                && entry["body"]["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("502s on /pay"))
        })
    });
    assert_eq!(noted["actor"], "anna", "{noted}");

    // Hand-off and accept from the room; then resolve.
    anna.say(&room, "inc handoff nina");
    anna.wait_for(&room, "the hand-off", |body| body.contains("nina"));
    nina.say(&room, "inc accept");
    until("nina commands", || {
        let (_, shown) = server.get("/api/v1/incidents/INC-1", &server.admin);
        (shown["commander"] == "nina").then_some(())
    });

    // A restricted incident's room is private: someone outside cannot join it.
    anna.say(&ops, "inc declare 'Keys leaked' --restricted");
    // It has no address anyone could guess or take first; its members are invited.
    let secret = until("anna invited to the private room", || {
        let synced = anna.sync();
        synced["rooms"]["invite"].as_object().and_then(|invites| {
            invites
                .iter()
                .find(|(_, invite)| {
                    invite["invite_state"]["events"]
                        .as_array()
                        .is_some_and(|events| {
                            events.iter().any(|event| {
                                event["type"] == "m.room.name"
                                    && event["content"]["name"] == "inc-2-keys-leaked"
                            })
                        })
                })
                .map(|(room, _)| room.clone())
        })
    });
    let (status, _) = anna.call(
        "GET",
        &format!("/directory/room/{}", encode("#inc-2-keys-leaked:localhost")),
        Value::Null,
    );
    assert_eq!(status, 404, "a restricted incident's room has no alias");
    let (status, refused) = mallory.join(&secret);
    assert_eq!(status, 403, "{refused}");

    // An internal incident made restricted leaves its open room (which is told so and hears
    // nothing more) for a private room with its members.
    anna.say(&ops, "inc declare 'Card data exposed'");
    let open = room_of(&anna, "#inc-3-card-data-exposed:localhost");
    // anna declared it: she is invited.
    until("anna invited to INC-3's room", || {
        anna.sync()["rooms"]["invite"].get(&open).map(|_| ())
    });
    let (status, joined) = anna.join(&open);
    assert_eq!(status, 200, "{joined}");
    // Open to this homeserver's people while internal. (The address resolves while Synapse
    // is still writing the room's first state: a join then meets no join rule yet.)
    until("someone uninvited joins the open room", || {
        (mallory.join(&open).0 == 200).then_some(())
    });
    let (status, changed) = server.post(
        "/api/v1/incidents/INC-3/visibility",
        &server.admin,
        json!({"visibility": "restricted", "reason": "card data"}),
    );
    assert_eq!(status, 200, "{changed}");
    let (status, _) = server.post(
        "/api/v1/incidents/INC-3/notes",
        &server.admin,
        json!({"text": "the leaked table is payments_2026"}),
    );
    assert_eq!(status, 200);
    anna.wait_for(&open, "the move notice", |body| {
        body.contains("now restricted")
    });
    let private = until("anna invited to INC-3's private room", || {
        let synced = anna.sync();
        synced["rooms"]["invite"].as_object().and_then(|invites| {
            invites
                .iter()
                .find(|(room, invite)| {
                    **room != open
                        && invite["invite_state"]["events"]
                            .to_string()
                            .contains("inc-3-card-data-exposed")
                })
                .map(|(room, _)| room.clone())
        })
    });
    assert_eq!(anna.join(&private).0, 200);
    anna.wait_for(&private, "the note's line", |body| {
        body.contains("payments_2026")
    });
    let leaked = mallory.messages(&open).iter().any(|event| {
        event["content"]["body"]
            .to_string()
            .contains("payments_2026")
    });
    assert!(
        !leaked,
        "the open room heard nothing more of the restricted incident"
    );
    assert_eq!(mallory.join(&private).0, 403);

    // hereby stops mid-incident; what is said meanwhile is recorded once it is back, once.
    // More is said than one sync returns (100 events): the adapter pages back for the rest.
    server.stop();
    anna.say(&room, "inc note said while hereby was down");
    for n in 0..110 {
        anna.say(&room, &format!("chatter {n}"));
    }
    server.start_again();
    let count = |entries: &[Value]| {
        entries
            .iter()
            .filter(|entry| {
                entry["body"]["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("said while hereby was down"))
            })
            .count()
    };
    until("the note after the restart", || {
        (count(&timeline(&server, "INC-1")) == 1).then_some(())
    });
    anna.wait_for(&room, "its line", |body| {
        body.contains("said while hereby was down")
    });
    server.stop();
    server.start_again();
    anna.say(&room, "inc note after the second start");
    until("the second note", || {
        timeline(&server, "INC-1")
            .iter()
            .any(|entry| {
                entry["body"]["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("after the second start"))
            })
            .then_some(())
    });
    assert_eq!(
        count(&timeline(&server, "INC-1")),
        1,
        "no command ran twice"
    );
    let lines = anna
        .messages(&room)
        .into_iter()
        .filter(|event| {
            event["sender"] == bot.id.as_str()
                && event["content"]["body"]
                    .as_str()
                    .is_some_and(|body| body.contains("said while hereby was down"))
        })
        .count();
    assert_eq!(lines, 1, "no line sent twice");
    let (status, ready) = server.get("/readyz", &server.admin);
    assert_eq!(status, 200);
    assert_eq!(ready["chat"]["matrix"]["up"], true, "{ready}");

    // The rest of the incident from the room: delegate, post an update, resolve; the pinned
    // message, the API (what the web page shows) and the timeline agree.
    nina.say(&room, "inc role operations anna");
    nina.say(&room, "inc update --audience internal Payments work again");
    nina.say(&room, "inc resolve payments recovered after the failover");
    let shown = until("INC-1 resolved from the room", || {
        let (_, shown) = server.get("/api/v1/incidents/INC-1", &server.admin);
        (shown["status"] == "resolved").then_some(shown)
    });
    let operations = shown["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|role| role["role"] == "operations")
        .unwrap()
        .clone();
    assert_eq!(operations["holders"], json!(["anna"]), "{shown}");
    let types: Vec<String> = timeline(&server, "INC-1")
        .iter()
        .map(|entry| entry["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    for wanted in ["role_assigned", "update_posted", "status_changed"] {
        assert!(types.iter().any(|t| t == wanted), "{wanted} in {types:?}");
    }
    until("the pinned message showing the resolved incident", || {
        let (_, edits) = anna.call(
            "GET",
            &format!(
                "/rooms/{}/relations/{}/m.replace?limit=50&dir=b",
                encode(&room),
                encode(&state_event)
            ),
            Value::Null,
        );
        edits["chunk"].as_array().and_then(|chunk| {
            chunk
                .iter()
                .any(|edit| {
                    edit["content"]["m.new_content"]["body"]
                        .as_str()
                        .is_some_and(|body| {
                            body.contains("Status: resolved") && body.contains("operations: anna")
                        })
                })
                .then_some(())
        })
    });
}

/// Slack's Web API as a local listener in its documented wire format: it records every call
/// and answers as Slack does (`ok`, a channel id, a message `ts`), and takes `response_url`
/// posts under `/respond/…`.
struct FakeSlack {
    address: String,
    calls: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
}

/// What the fake answers a call of `method` (the path after `/api/`), the `n`th call.
type Answers = fn(&str, usize) -> Value;

fn slack_answers(method: &str, n: usize) -> Value {
    match method {
        "auth.test" => json!({"ok": true, "user_id": "UBOT"}),
        "conversations.create" => json!({"ok": true, "channel": {"id": format!("C{}", 100 + n)}}),
        "chat.postMessage" => json!({"ok": true, "ts": format!("1800000000.{n:06}")}),
        "conversations.history" => json!({"ok": true, "messages": [
            {"user": "U2", "text": "database failover finished", "ts": "1800000000.000500"}
        ]}),
        _ => json!({"ok": true}),
    }
}

impl FakeSlack {
    fn start() -> Self {
        Self::answering(slack_answers)
    }

    fn answering(answers: Answers) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Value)>::new()));
        let recorded = calls.clone();
        std::thread::spawn(move || {
            let mut counts = std::collections::HashMap::<String, usize>::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let verb = line.split_whitespace().next().unwrap_or("").to_owned();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let method = path
                    .trim_start_matches("/api/")
                    .trim_start_matches('/')
                    .to_owned();
                let n = {
                    let count = counts.entry(method.clone()).or_default();
                    *count += 1;
                    *count - 1
                };
                let answer = answers(&method, n);
                let method = if verb == "POST" {
                    method
                } else {
                    format!("{verb} {method}")
                };
                recorded.lock().unwrap().push((method, body));
                let answer = answer.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Self { address, calls }
    }

    fn calls(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(called, _)| called == method)
            .map(|(_, body)| body.clone())
            .collect()
    }

    fn wait(&self, method: &str, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        until(what, || {
            self.calls(method).into_iter().find(|body| found(body))
        })
    }
}

/// Signs `body` as Slack does, at `at` seconds.
fn slack_signature(secret: &str, at: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{at}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Posts a form to a Slack endpoint of hereby, signed with `secret` at `at` (or unsigned).
fn slack_post(
    server: &Server,
    path: &str,
    body: &str,
    signed: Option<(&str, i64)>,
) -> (u16, Value) {
    let signature = signed.map(|(secret, at)| (at.to_string(), slack_signature(secret, at, body)));
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some((at, signature)) = &signature {
        headers.push(("X-Slack-Request-Timestamp", at));
        headers.push(("X-Slack-Signature", signature));
    }
    send(&server.address, "POST", path, None, Some(body), &headers).unwrap()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}={}",
                value
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                            (b as char).to_string()
                        }
                        b' ' => "+".to_owned(),
                        other => format!("%{other:02X}"),
                    })
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn slack_commands_buttons_and_events_in_the_documented_wire_format() {
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    let slack = FakeSlack::start();
    let server = Server::start("sqlite");
    server.user("anna", "responder");
    server.user("nina", "responder");
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({"name": "slack", "kind": "slack_app", "url": format!("http://{}/api", slack.address),
               "secret": "xoxb-test-token", "signing_secret": SECRET, "team": "T1"}),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(!channel.to_string().contains("xoxb") && !channel.to_string().contains(SECRET));
    for (user, name) in [("U1", "anna"), ("U2", "nina")] {
        let (status, linked) = server.call(
            "PUT",
            "/api/v1/chat/links",
            Some(&server.admin),
            Some(&json!({"platform": "slack:T1", "chat_user": user, "user": name}).to_string()),
            &[],
        );
        assert_eq!(status, 200, "{linked}");
    }
    let respond = |n: u32| format!("http://{}/respond/{n}", slack.address);
    let command = |user: &str, room: &str, text: &str, n: u32| {
        form(&[
            ("token", "deprecated"),
            ("team_id", "T1"),
            ("channel_id", room),
            ("user_id", user),
            ("command", "/inc"),
            ("text", text),
            ("response_url", &respond(n)),
            ("trigger_id", &format!("trigger-{n}")),
        ])
    };
    let incidents = || {
        let (status, listed) = server.get("/api/v1/incidents", &server.admin);
        assert_eq!(status, 200, "{listed}");
        listed["incidents"].as_array().map(Vec::len).unwrap()
    };

    // Unsigned, stale, tampered and foreign requests change nothing.
    let declare = command("U1", "C0", "declare \"Checkout dead\" --sev 2", 1);
    let path = "/chat/slack/slack/commands";
    assert_eq!(slack_post(&server, path, &declare, None).0, 401);
    let (status, stale) = slack_post(&server, path, &declare, Some((SECRET, now_seconds() - 400)));
    assert_eq!(
        (status, stale["error"]["code"].as_str()),
        (401, Some("bad_signature"))
    );
    let signature = slack_signature(SECRET, now_seconds(), &declare);
    let tampered = declare.replace("sev+2", "sev+1");
    let at = now_seconds().to_string();
    let (status, _) = send(
        &server.address,
        "POST",
        path,
        None,
        Some(&tampered),
        &[
            ("X-Slack-Request-Timestamp", &at),
            ("X-Slack-Signature", &signature),
        ],
    )
    .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        slack_post(
            &server,
            path,
            &declare,
            Some(("another secret", now_seconds()))
        )
        .0,
        401
    );
    let foreign = declare.replace("team_id=T1", "team_id=T2");
    assert_eq!(
        slack_post(&server, path, &foreign, Some((SECRET, now_seconds()))).0,
        403
    );
    assert_eq!(
        slack_post(
            &server,
            "/chat/slack/nowhere/commands",
            &declare,
            Some((SECRET, now_seconds()))
        )
        .0,
        404
    );
    assert_eq!(incidents(), 0, "nothing was declared");

    // A signed command declares; the answer goes to response_url; the channel is made, the
    // state message posted and pinned.
    let (status, _) = slack_post(&server, path, &declare, Some((SECRET, now_seconds())));
    assert_eq!(status, 200);
    assert_eq!(incidents(), 1);
    slack.wait("respond/1", "the answer", |body| {
        body["text"]
            .as_str()
            .is_some_and(|text| text.contains("Declared INC-1"))
    });
    let created = slack.wait("conversations.create", "the channel", |body| {
        body["name"] == "inc-1-checkout-dead"
    });
    assert_eq!(created["is_private"], false);
    slack.wait("pins.add", "the pin", |body| body["channel"] == "C100");
    slack.wait("conversations.invite", "anna invited", |body| {
        body["users"] == "U1"
    });

    // An unlinked person is told privately how to link; nothing is done in their name.
    let (status, _) = slack_post(
        &server,
        path,
        &command("U9", "C0", "declare 'Not me'", 2),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    let answer = slack.wait("respond/2", "how to link", |_| true);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(answer["text"].as_str().unwrap().contains("inc link"));
    assert_eq!(incidents(), 1);

    // In the incident's channel the commands act on it; the state message is updated in place.
    let (status, _) = slack_post(
        &server,
        path,
        &command("U1", "C100", "severity 1 payments fail for everyone", 3),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    slack.wait("chat.update", "the state message showing SEV1", |body| {
        body["channel"] == "C100"
            && body["text"]
                .as_str()
                .is_some_and(|text| text.contains("SEV1"))
    });
    // The severity line goes in the state message's thread (the first message posted).
    let state_ts = slack.calls("chat.update")[0]["ts"].clone();
    slack.wait(
        "chat.postMessage",
        "the severity line in a thread",
        |body| {
            body["thread_ts"] == state_ts
                && body["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("SEV1"))
        },
    );
    let (status, _) = slack_post(
        &server,
        path,
        &command("U1", "C100", "show", 4),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    slack.wait("respond/4", "the state document", |body| {
        body["text"]
            .as_str()
            .is_some_and(|text| text.contains("INC-1: Checkout dead"))
    });
    let (status, _) = slack_post(
        &server,
        path,
        &command("U1", "C100", "bogus verb", 5),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    slack.wait("respond/5", "the grammar's explanation", |body| {
        body["text"]
            .as_str()
            .is_some_and(|text| text.contains("Usage") || text.contains("unrecognized"))
    });

    // Each command answers, through response_url, when given outside the incident's channel.
    for (n, text, expected) in [
        (
            20,
            "note --incident INC-1 looked at the logs",
            "looked at the logs",
        ),
        (21, "role --incident INC-1 scribe nina", "scribe"),
        (
            22,
            "update --incident INC-1 --audience internal Still degraded",
            "Still degraded",
        ),
        (23, "status --incident INC-1 identified", "identified"),
    ] {
        let (status, _) = slack_post(
            &server,
            path,
            &command("U1", "C0", text, n),
            Some((SECRET, now_seconds())),
        );
        assert_eq!(status, 200, "{text}");
        slack.wait(&format!("respond/{n}"), text, |body| {
            body["text"].as_str().is_some_and(|said| {
                said.starts_with("INC-1:") && said.to_lowercase().contains(&expected.to_lowercase())
            })
        });
    }

    // The hand-off shows an Accept button; nina's click makes her Incident Commander.
    let (status, _) = slack_post(
        &server,
        path,
        &command("U1", "C100", "handoff nina", 6),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    slack.wait("chat.update", "the Accept button", |body| {
        body["blocks"].to_string().contains("accept INC-1")
    });
    let click = json!({
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U2"},
        "channel": {"id": "C100"},
        "trigger_id": "trigger-click",
        "response_url": respond(7),
        "actions": [{"action_id": "accept", "value": "accept INC-1"}],
    });
    let payload = form(&[("payload", &click.to_string())]);
    let (status, _) = slack_post(
        &server,
        "/chat/slack/slack/interactions",
        &payload,
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    until("nina commands", || {
        let (_, shown) = server.get("/api/v1/incidents/INC-1", &server.admin);
        (shown["commander"] == "nina").then_some(())
    });

    // Events: the URL check is answered; a 📌 reaction notes the message under its author.
    let check = json!({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"}).to_string();
    let (status, echoed) = slack_post(
        &server,
        "/chat/slack/slack/events",
        &check,
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    assert_eq!(
        echoed["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let reaction = json!({
        "type": "event_callback", "team_id": "T1", "event_id": "Ev1",
        "event": {"type": "reaction_added", "user": "U1", "reaction": "pushpin",
                  "item": {"type": "message", "channel": "C100", "ts": "1800000000.000500"}},
    })
    .to_string();
    for _ in 0..2 {
        // Slack sends an event again when it is not answered in time: noted once.
        let (status, _) = slack_post(
            &server,
            "/chat/slack/slack/events",
            &reaction,
            Some((SECRET, now_seconds())),
        );
        assert_eq!(status, 200);
    }
    let noted = until("the pinned note", || {
        let entries = timeline(&server, "INC-1");
        let notes: Vec<Value> = entries
            .into_iter()
            .filter(|entry| {
                entry["type"] == "note_added"
                    && entry["body"]["text"]
                        .as_str()
                        .is_some_and(|text| text.contains("database failover finished"))
            })
            .collect();
        (!notes.is_empty()).then_some(notes)
    });
    assert_eq!(noted.len(), 1, "{noted:?}");
    assert_eq!(noted[0]["actor"], "nina");

    // nina, now commanding, resolves from the incident's channel; the state message says so.
    let (status, _) = slack_post(
        &server,
        path,
        &command("U2", "C100", "resolve the failover held", 30),
        Some((SECRET, now_seconds())),
    );
    assert_eq!(status, 200);
    slack.wait(
        "chat.update",
        "the state message showing resolved",
        |body| {
            body["text"]
                .as_str()
                .is_some_and(|text| text.contains("Status: resolved"))
        },
    );
    let (_, shown) = server.get("/api/v1/incidents/INC-1", &server.admin);
    assert_eq!(shown["status"], "resolved");
}

fn mattermost_answers(method: &str, n: usize) -> Value {
    match method {
        "v4/users/me" => json!({"id": "herebybot"}),
        "v4/channels" => json!({"id": format!("mmch{n}")}),
        "v4/posts" => json!({"id": format!("post{n}")}),
        _ => json!({}),
    }
}

#[test]
fn mattermost_slash_commands_carry_their_token_and_keep_a_channel_per_incident() {
    const TOKEN: &str = "xr3j5x3p4pfwjfm6pd1pkxb3ne";
    let mattermost = FakeSlack::answering(mattermost_answers);
    let server = Server::start_with("sqlite", &["--staffing-grace", "1s"]);
    server.user("anna", "responder");
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({"name": "mm", "kind": "mattermost", "url": format!("http://{}", mattermost.address),
               "secret": "bot-access-token", "signing_secret": TOKEN, "team": "team1"}),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(!channel.to_string().contains(TOKEN) && !channel.to_string().contains("bot-access"));
    let (status, linked) = server.call(
        "PUT",
        "/api/v1/chat/links",
        Some(&server.admin),
        Some(
            &json!({"platform": "mattermost", "chat_user": "mmuser1", "user": "anna"}).to_string(),
        ),
        &[],
    );
    assert_eq!(status, 200, "{linked}");
    let command = |token: &str, team: &str, room: &str, text: &str, n: u32| {
        form(&[
            ("token", token),
            ("team_id", team),
            ("channel_id", room),
            ("user_id", "mmuser1"),
            ("command", "/inc"),
            ("text", text),
            (
                "response_url",
                &format!("http://{}/respond/{n}", mattermost.address),
            ),
            ("trigger_id", &format!("mm-trigger-{n}")),
        ])
    };
    let post = |body: &str| {
        send(
            &server.address,
            "POST",
            "/chat/mattermost/mm/commands",
            None,
            Some(body),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
        .unwrap()
    };
    let declare = "declare Checkout dead --sev 2";
    let (status, refused) = post(&command("not-the-token", "team1", "town", declare, 1));
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (401, Some("bad_token"))
    );
    assert_eq!(post(&command("", "team1", "town", declare, 1)).0, 401);
    assert_eq!(post(&command(TOKEN, "team2", "town", declare, 1)).0, 403);
    let (status, listed) = server.get("/api/v1/incidents", &server.admin);
    assert_eq!(
        listed["incidents"].as_array().map(Vec::len),
        Some(0),
        "{status} {listed}"
    );

    assert_eq!(post(&command(TOKEN, "team1", "town", declare, 1)).0, 200);
    mattermost.wait("respond/1", "the answer", |body| {
        body["text"]
            .as_str()
            .is_some_and(|text| text.contains("Declared INC-1"))
    });
    let created = mattermost.wait("v4/channels", "the channel", |body| {
        body["name"] == "inc-1-checkout-dead"
    });
    assert_eq!(
        (created["type"].as_str(), created["team_id"].as_str()),
        (Some("O"), Some("team1"))
    );
    mattermost.wait("v4/channels/mmch0/members", "anna added", |body| {
        body["user_id"] == "mmuser1"
    });
    mattermost.wait("v4/posts/post0/pin", "the pinned state message", |_| true);

    assert_eq!(
        post(&command(
            TOKEN,
            "team1",
            "mmch0",
            "severity 1 payments fail",
            2
        ))
        .0,
        200
    );
    mattermost.wait(
        "PUT v4/posts/post0/patch",
        "the state message edited",
        |body| {
            body["message"]
                .as_str()
                .is_some_and(|text| text.contains("SEV1"))
        },
    );
}

#[test]
fn hereby_keeps_working_with_every_chat_adapter_down() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = Server::start("sqlite");
    for (name, kind, extra) in [
        ("matrix", "matrix", json!({})),
        (
            "slack",
            "slack_app",
            json!({"signing_secret": "s", "team": "T1"}),
        ),
        (
            "mm",
            "mattermost",
            json!({"signing_secret": "t", "team": "team1"}),
        ),
    ] {
        let mut body = json!({"name": name, "kind": kind, "url": nobody, "secret": "token"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, channel) = server.post("/api/v1/channels", &server.admin, body);
        assert_eq!(status, 201, "{channel}");
    }
    let ready = until("every adapter reported down", || {
        let (status, ready) = server.get("/readyz", &server.admin);
        assert_eq!(status, 200, "chat is reported, not required: {ready}");
        let down = ["matrix", "slack", "mm"]
            .iter()
            .all(|name| ready["chat"][name]["up"] == false);
        down.then_some(ready)
    });
    assert!(ready["chat"]["matrix"]["error"].is_string(), "{ready}");
    let (status, declared) = server.post(
        "/api/v1/incidents",
        &server.admin,
        json!({"title": "Chat is down too", "severity": "SEV2"}),
    );
    assert_eq!(status, 201, "{declared}");
    let (status, _) = server.post(
        "/api/v1/incidents/INC-1/notes",
        &server.admin,
        json!({"text": "still working"}),
    );
    assert_eq!(status, 200);
    let (status, page) = send(&server.address, "GET", "/login", None, None, &[]).unwrap();
    assert_eq!(status, 200, "{page}");
}

/// The Socket Mode address the fake Slack hands out.
static SOCKET_URL: OnceLock<String> = OnceLock::new();

fn socket_answers(method: &str, n: usize) -> Value {
    match method {
        "apps.connections.open" => json!({"ok": true, "url": SOCKET_URL.get().unwrap()}),
        other => slack_answers(other, n),
    }
}

/// A Slack Socket Mode server: each connection gets `hello`, then the next envelope of
/// `script`, then (once acknowledged) a request to reconnect. The acknowledged envelope ids
/// are recorded.
fn socket_server(script: Vec<Value>) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let acks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = acks.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    SOCKET_URL
        .set(format!(
            "ws://{}/link/?ticket=t",
            listener.local_addr().unwrap()
        ))
        .unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let mut script = script.into_iter();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
                socket
                    .send(Message::Text(
                        json!({"type": "hello", "num_connections": 1})
                            .to_string()
                            .into(),
                    ))
                    .await
                    .unwrap();
                let Some(envelope) = script.next() else {
                    continue;
                };
                socket
                    .send(Message::Text(envelope.to_string().into()))
                    .await
                    .unwrap();
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message {
                        let ack: Value = serde_json::from_str(&text).unwrap();
                        recorded
                            .lock()
                            .unwrap()
                            .push(ack["envelope_id"].as_str().unwrap_or_default().to_owned());
                        break;
                    }
                }
                let _ = socket
                    .send(Message::Text(
                        json!({"type": "disconnect", "reason": "refresh_requested"})
                            .to_string()
                            .into(),
                    ))
                    .await;
            }
        });
    });
    acks
}

#[test]
fn slack_socket_mode_needs_no_public_address() {
    let acks = socket_server(vec![
        json!({"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": true,
               "payload": {"team_id": "T1", "channel_id": "C0", "user_id": "U1", "command": "/inc",
                           "text": "declare Socket declared --sev 3", "trigger_id": "s1",
                           "response_url": "http://127.0.0.1:1/unused"}}),
        json!({"envelope_id": "env-2", "type": "events_api",
               "payload": {"type": "event_callback", "team_id": "T1", "event_id": "EvSocket",
                           "event": {"type": "message", "channel": "C100", "user": "U1",
                                     "text": "inc note --incident INC-1 heard over the socket", "ts": "1800000001.000100"}}}),
    ]);
    let slack = FakeSlack::answering(socket_answers);
    let server = Server::start("sqlite");
    server.user("anna", "responder");
    let (status, linked) = server.call(
        "PUT",
        "/api/v1/chat/links",
        Some(&server.admin),
        Some(&json!({"platform": "slack:T1", "chat_user": "U1", "user": "anna"}).to_string()),
        &[],
    );
    assert_eq!(status, 200, "{linked}");
    let (status, channel) = server.post(
        "/api/v1/channels",
        &server.admin,
        json!({"name": "slack", "kind": "slack_app", "url": format!("http://{}/api", slack.address),
               "secret": "xoxb-test", "signing_secret": "unused-here", "team": "T1",
               "app_token": "xapp-1-socket"}),
    );
    assert_eq!(status, 201, "{channel}");
    assert!(!channel.to_string().contains("xapp-"), "{channel}");
    until("both envelopes acknowledged", || {
        (acks.lock().unwrap().len() >= 2).then_some(())
    });
    assert_eq!(*acks.lock().unwrap(), ["env-1", "env-2"]);
    let (_, shown) = server.get("/api/v1/incidents/INC-1", &server.admin);
    assert_eq!(shown["title"], "Socket declared");
    let noted = timeline(&server, "INC-1").iter().any(|entry| {
        entry["body"]["text"]
            .as_str()
            .is_some_and(|text| text.contains("heard over the socket"))
    });
    assert!(noted, "the command said over the socket is on the timeline");
    assert!(
        slack.calls("apps.connections.open").len() >= 2,
        "a refresh reconnects"
    );
}

#[test]
fn one_node_runs_a_chat_adapter_and_another_takes_over_when_it_stops() {
    let Ok(postgres) = std::env::var("HEREBY_TEST_POSTGRES_URL") else {
        eprintln!("two-node chat test skipped: HEREBY_TEST_POSTGRES_URL is not set");
        return;
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut first = Server::start(&postgres);
    let (status, channel) = first.post(
        "/api/v1/channels",
        &first.admin,
        json!({"name": "matrix", "kind": "matrix", "url": nobody, "secret": "token"}),
    );
    assert_eq!(status, 201, "{channel}");
    let runs = |address: &str, admin: &str| {
        let (status, ready) = send(address, "GET", "/readyz", Some(admin), None, &[]).unwrap();
        assert_eq!(status, 200, "{ready}");
        !ready["chat"]["matrix"].is_null()
    };
    until("the first node runs the adapter", || {
        runs(&first.address, &first.admin).then_some(())
    });
    let (mut second, second_address, _) = Server::spawn(&first.url, &[]);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !runs(&second_address, &first.admin),
        "the second node leaves the channel to the first"
    );
    first.stop();
    // The lease lapses 15 s after the last renewal; the second node takes over.
    let deadline = Instant::now() + Duration::from_secs(40);
    while !runs(&second_address, &first.admin) {
        assert!(Instant::now() < deadline, "the second node never took over");
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = second.kill();
    let _ = second.wait();
}
