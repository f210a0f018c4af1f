//! The Matrix adapter: the bot reads the homeserver's `/sync` (so hereby needs no public
//! address), hands commands, the declare phrase, pin reactions and captured messages to the
//! application, and carries out the channel's deliveries: a room per incident (named
//! `inc-42-…`, private for a restricted incident, members invited as their accounts are
//! linked), the state message posted, pinned (`m.room.pinned_events`) and edited in place
//! (`m.replace`), timeline lines and answers as notices, the room made read-only at close.
//!
//! Every message is sent with `PUT …/send/{txnId}`, the transaction id made from the
//! delivery's idempotency key: a retry after a crash is the same transaction, which the
//! homeserver does not repeat.

use std::time::Duration;

use hereby_app::channels::ChannelConfig;
use hereby_app::chat::{Said, kind};
use hereby_store::{
    Channel, Chat, ChatRoom, ClaimLimits, Delivery, DeliveryOutcome, Directory, Notifications,
    Store,
};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::AppState;

/// How long one `/sync` waits for news.
const SYNC_WAIT: Duration = Duration::from_secs(25);
/// A request's time limit (a sync's is its wait plus this).
const REQUEST_LIMIT: Duration = Duration::from_secs(15);
/// A burst of changes to an incident is shown in one edit of its state message.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: u32 = 8;
/// The platform name of Matrix accounts in chat links.
pub(super) const PLATFORM: &str = "matrix";

/// A Matrix homeserver as the bot sees it.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The bot's own user id.
    me: String,
}

/// A refusal from the homeserver.
#[derive(Debug)]
struct MatrixError {
    status: u16,
    code: String,
    message: String,
}

impl std::fmt::Display for MatrixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the homeserver answered {} {}: {}",
            self.status, self.code, self.message
        )
    }
}

fn encode(part: &str) -> String {
    form_urlencoded::byte_serialize(part.as_bytes()).collect()
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        limit: Duration,
    ) -> Result<Value, MatrixError> {
        let mut request = self
            .http
            .request(method, format!("{}/_matrix/client/v3{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(limit);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| MatrixError {
            status: 0,
            code: "unreachable".to_owned(),
            message: error.without_url().to_string(),
        })?;
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(MatrixError {
                status,
                code: value["errcode"].as_str().unwrap_or("unknown").to_owned(),
                message: value["error"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_owned(),
            })
        }
    }

    async fn put(&self, path: &str, body: &Value) -> Result<Value, MatrixError> {
        self.call(reqwest::Method::PUT, path, Some(body), REQUEST_LIMIT)
            .await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, MatrixError> {
        self.call(reqwest::Method::POST, path, Some(body), REQUEST_LIMIT)
            .await
    }

    async fn get(&self, path: &str) -> Result<Value, MatrixError> {
        self.call(reqwest::Method::GET, path, None, REQUEST_LIMIT)
            .await
    }

    /// Sends a message event with transaction id `txn`; its event id.
    async fn send(&self, room: &str, txn: &str, content: &Value) -> Result<String, MatrixError> {
        let sent = self
            .put(
                &format!(
                    "/rooms/{}/send/m.room.message/{}",
                    encode(room),
                    encode(txn)
                ),
                content,
            )
            .await?;
        Ok(sent["event_id"].as_str().unwrap_or_default().to_owned())
    }

    async fn state(
        &self,
        room: &str,
        event_type: &str,
        content: &Value,
    ) -> Result<(), MatrixError> {
        self.put(
            &format!("/rooms/{}/state/{}/", encode(room), encode(event_type)),
            content,
        )
        .await
        .map(drop)
    }
}

/// A transaction id from an idempotency key: the same key, the same transaction.
fn txn(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A notice with plain and HTML bodies.
fn notice(plain: &str, html: Option<&str>) -> Value {
    match html {
        Some(html) => json!({
            "msgtype": "m.notice",
            "body": plain,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
        }),
        None => json!({"msgtype": "m.notice", "body": plain}),
    }
}

/// Runs the adapter of one Matrix channel until stopped; `Err` when it cannot go on (the
/// supervisor starts it again).
pub(super) async fn run<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    config: &ChannelConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let ChannelConfig::Matrix {
        homeserver,
        token,
        rooms,
        phrase,
        pin,
        capture,
    } = config
    else {
        return Err("not a Matrix channel".to_owned());
    };
    let http = reqwest::Client::builder()
        .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut client = Client {
        http,
        base: homeserver.clone(),
        token: token.clone(),
        me: String::new(),
    };
    let whoami = client
        .get("/account/whoami")
        .await
        .map_err(|e| e.to_string())?;
    client.me = whoami["user_id"].as_str().unwrap_or_default().to_owned();
    // The watched rooms by id: the bot joins each (an alias resolves on joining).
    let mut watched = Vec::new();
    for room in rooms {
        match client
            .post(&format!("/join/{}", encode(room)), &json!({}))
            .await
        {
            Ok(joined) => watched.push(joined["room_id"].as_str().unwrap_or(room).to_owned()),
            Err(error) => {
                tracing::warn!(channel = %channel.name, room, %error, "cannot join a watched room")
            }
        }
    }
    state.chat.set(&channel.name, PLATFORM, None);
    let listen = Listener {
        state,
        channel,
        client: &client,
        watched,
        phrase,
        pin,
        capture: *capture,
        started: Timestamp::now().as_millisecond(),
    };
    let mut stop_sending = stop.clone();
    let mut stop_reading = stop;
    let sending = async {
        loop {
            match send_due(state, channel, &client).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(channel = %channel.name, %error, "cannot send chat deliveries")
                }
            }
            tokio::select! {
                () = state.outbox.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop_sending.changed() => return Ok::<(), String>(()),
            }
        }
    };
    let reading = async {
        loop {
            tokio::select! {
                result = listen.sync_once() => result?,
                _ = stop_reading.changed() => return Ok::<(), String>(()),
            }
        }
    };
    tokio::select! {
        result = sending => result,
        result = reading => result,
    }
}

/// What the bot reads and where.
struct Listener<'a, S> {
    state: &'a AppState<S>,
    channel: &'a Channel,
    client: &'a Client,
    watched: Vec<String>,
    phrase: &'a str,
    pin: &'a str,
    capture: bool,
    /// When the adapter started, in milliseconds: a channel's first sync handles only what
    /// was said since (older history is not replayed).
    started: i64,
}

impl<S: Store + Directory + Chat + Notifications> Listener<'_, S> {
    /// One `/sync`: what happened since the stored position is handled, then the position is
    /// stored. The first sync of a channel finds the position and handles only what was said
    /// after the adapter started: history is not replayed.
    async fn sync_once(&self) -> Result<(), String> {
        let since = self
            .state
            .store
            .chat_cursor(self.channel.id)
            .await
            .map_err(|e| e.to_string())?;
        let filter = json!({
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": 100, "types": ["m.room.message", "m.reaction"]},
                "state": {"lazy_load_members": true, "types": []},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        });
        let mut path = format!("/sync?filter={}", encode(&filter.to_string()));
        match &since {
            Some(since) => {
                path.push_str(&format!(
                    "&since={}&timeout={}",
                    encode(since),
                    SYNC_WAIT.as_millis()
                ));
            }
            None => path.push_str("&timeout=0"),
        }
        let synced = self
            .client
            .call(reqwest::Method::GET, &path, None, SYNC_WAIT + REQUEST_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
        self.state.chat.set(&self.channel.name, PLATFORM, None);
        tracing::debug!(since = ?since, next = ?synced["next_batch"], rooms = ?synced["rooms"]["join"].as_object().map(|r| r.len()), "synced");
        {
            // Invitations: the bot joins (a direct room someone opened, a room it was asked in).
            if let Some(invites) = synced["rooms"]["invite"].as_object() {
                for room in invites.keys() {
                    if let Err(error) = self
                        .client
                        .post(&format!("/rooms/{}/join", encode(room)), &json!({}))
                        .await
                    {
                        tracing::warn!(room, %error, "cannot join a room the bot was invited to");
                    }
                }
            }
            if let Some(joined) = synced["rooms"]["join"].as_object() {
                for (room, content) in joined {
                    for event in content["timeline"]["events"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                    {
                        let new = since.is_some()
                            || event["origin_server_ts"]
                                .as_i64()
                                .is_some_and(|at| at >= self.started);
                        if new {
                            self.handle(room, event).await?;
                        }
                    }
                }
            }
        }
        if let Some(next) = synced["next_batch"].as_str() {
            self.state
                .store
                .set_chat_cursor(self.channel.id, next)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// One event of a room: a message or a reaction by someone else than the bot, handled
    /// once (a sync read again after a restart finds it handled).
    async fn handle(&self, room: &str, event: &Value) -> Result<(), String> {
        let sender = event["sender"].as_str().unwrap_or_default();
        let Some(id) = event["event_id"].as_str() else {
            return Ok(());
        };
        if sender == self.client.me || sender.is_empty() {
            return Ok(());
        }
        tracing::debug!(room, id, sender, "chat event");
        let first = self
            .state
            .store
            .first_sight(self.channel.id, id, Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
        if !first {
            return Ok(());
        }
        let said = Said {
            channel: self.channel,
            platform: PLATFORM,
            sender,
            room,
            message: id,
            watched: self.watched.iter().any(|watched| watched == room),
            phrase: self.phrase,
            capture: self.capture,
        };
        let content = &event["content"];
        let result = match event["type"].as_str() {
            Some("m.room.message") => {
                // An edit repeats the message; the first version was handled already.
                if content["m.relates_to"]["rel_type"] == "m.replace"
                    || content["msgtype"] != "m.text"
                {
                    return Ok(());
                }
                let text = without_reply_fallback(content["body"].as_str().unwrap_or_default());
                self.state.app.chat_said(&said, &text).await
            }
            Some("m.reaction") => {
                let relation = &content["m.relates_to"];
                let key = relation["key"].as_str().unwrap_or_default();
                if relation["rel_type"] != "m.annotation" || !same_emoji(key, self.pin) {
                    return Ok(());
                }
                let Some(target) = relation["event_id"].as_str() else {
                    return Ok(());
                };
                let quoted = match self
                    .client
                    .get(&format!("/rooms/{}/event/{}", encode(room), encode(target)))
                    .await
                {
                    Ok(quoted) => quoted,
                    Err(error) => {
                        tracing::warn!(room, %error, "cannot read the message a reaction pins");
                        return Ok(());
                    }
                };
                let author = quoted["sender"].as_str().unwrap_or_default();
                let body =
                    without_reply_fallback(quoted["content"]["body"].as_str().unwrap_or_default());
                let at = quoted["origin_server_ts"]
                    .as_i64()
                    .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                    .unwrap_or_else(Timestamp::now);
                if body.trim().is_empty() || author == self.client.me {
                    return Ok(());
                }
                self.state.app.chat_quote(&said, author, &body, at).await
            }
            _ => return Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(room, %error, "a chat message could not be handled");
        }
        Ok(())
    }
}

/// A reply's text without the quote of the message it answers (`> <@x> …` lines and the
/// blank line after them), so a command can be given in a reply.
fn without_reply_fallback(body: &str) -> String {
    let mut lines = body.lines().peekable();
    if body.starts_with("> ") {
        while lines.peek().is_some_and(|line| line.starts_with('>')) {
            lines.next();
        }
        while lines.peek().is_some_and(|line| line.trim().is_empty()) {
            lines.next();
        }
    }
    lines.collect::<Vec<_>>().join("\n")
}

/// Emoji compared without variation selectors (clients add U+FE0F to some, not others).
fn same_emoji(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.chars().filter(|c| *c != '\u{fe0f}').collect::<String>();
    bare(a) == bare(b)
}

/// Sends the channel's due deliveries, oldest first, one at a time (so a room exists before
/// its lines). `true` if there may be more.
async fn send_due<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    client: &Client,
) -> Result<bool, String> {
    let now = Timestamp::now();
    let lease = now
        .checked_add(jiff::SignedDuration::from_secs(120))
        .unwrap_or(now);
    let claimed = state
        .store
        .claim_deliveries(now, lease, &ClaimLimits::one_channel(channel.id, 8))
        .await
        .map_err(|e| e.to_string())?;
    let more = claimed.len() == 8;
    for claimed in claimed {
        let delivery = &claimed.delivery;
        let result = deliver(state, channel, client, delivery).await;
        if let Err(error) = &result {
            tracing::warn!(channel = %channel.name, delivery = delivery.id, %error, "chat delivery failed");
        }
        let outcome = match result {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(error) if delivery.attempts + 1 >= MAX_ATTEMPTS => DeliveryOutcome::Dead { error },
            Err(error) => {
                let wait = hereby_app::deliveries::backoff(
                    delivery.attempts + 1,
                    Duration::from_secs(1),
                    Duration::from_secs(300),
                );
                let at = Timestamp::now()
                    .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                    .unwrap_or(Timestamp::MAX);
                DeliveryOutcome::Retry { at, error }
            }
        };
        state
            .store
            .finish_delivery(claimed.claim(), &outcome, Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(more)
}

/// Carries out one delivery.
async fn deliver<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    client: &Client,
    delivery: &Delivery,
) -> Result<(), String> {
    let key = txn(&delivery.key);
    match delivery.kind.as_str() {
        kind::ROOM | kind::STATE => {
            let Some(number) = delivery.incident else {
                return Ok(());
            };
            // A burst of changes is one edit: wait a moment, then show the state as it is.
            let age = Duration::try_from(Timestamp::now().duration_since(delivery.created_at))
                .unwrap_or_default();
            if let Some(left) = DEBOUNCE.checked_sub(age) {
                tokio::time::sleep(left).await;
            }
            let covered = state
                .store
                .newest_delivery(channel.id, number, kind::STATE)
                .await
                .map_err(|e| e.to_string())?;
            bring_up_to_date(state, channel, client, number, &key).await?;
            if let Some(covered) = covered {
                state
                    .store
                    .settle_deliveries(channel.id, number, kind::STATE, covered, Timestamp::now())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        kind::LINE => {
            let Some(number) = delivery.incident else {
                return Ok(());
            };
            let Some(room) = state
                .store
                .chat_room(channel.id, number)
                .await
                .map_err(|e| e.to_string())?
            else {
                // An incident that got no room (closed before the channel existed) has no
                // lines to show.
                return Ok(());
            };
            client
                .send(&room.room, &key, &notice(&delivery.body, None))
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        kind::REPLY => {
            let room = delivery.recipient.as_deref().unwrap_or_default();
            let mut content = notice(&delivery.body, None);
            if !delivery.subject.is_empty() {
                content["m.relates_to"] = json!({"m.in_reply_to": {"event_id": delivery.subject}});
            }
            client
                .send(room, &key, &content)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        kind::PRIVATE => {
            let person = delivery.recipient.as_deref().unwrap_or_default();
            let room = match state
                .store
                .direct_room(channel.id, person)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(room) => room,
                None => {
                    let created = client
                        .post(
                            "/createRoom",
                            &json!({
                                "preset": "trusted_private_chat",
                                "is_direct": true,
                                "invite": [person],
                                "name": "hereby",
                            }),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                    let room = created["room_id"].as_str().unwrap_or_default().to_owned();
                    state
                        .store
                        .put_direct_room(channel.id, person, &room)
                        .await
                        .map_err(|e| e.to_string())?;
                    room
                }
            };
            client
                .send(&room, &key, &notice(&delivery.body, None))
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        other => Err(format!("a Matrix channel cannot send `{other}`")),
    }
}

/// Makes the incident's room if it has none, then brings it up to date: the state message
/// (posted and pinned once, then edited in place), the members invited, its name, who may
/// join, and read-only once the incident is closed.
async fn bring_up_to_date<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    client: &Client,
    number: u64,
    key: &str,
) -> Result<(), String> {
    let incident = hereby_core::types::IncidentNumber(number);
    let Some(facts) = state
        .app
        .chat_room_facts(channel, PLATFORM, incident)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let known = state
        .store
        .chat_room(channel.id, number)
        .await
        .map_err(|e| e.to_string())?;
    let mut room = match known {
        Some(room) => room,
        None if facts.closed => return Ok(()),
        None => create_room(state, channel, client, &facts).await?,
    };
    let content = notice(&facts.message.plain, Some(&facts.message.html));
    match &room.state_message {
        None => {
            let event = client
                .send(&room.room, &format!("{key}_state"), &content)
                .await
                .map_err(|e| e.to_string())?;
            client
                .state(
                    &room.room,
                    "m.room.pinned_events",
                    &json!({"pinned": [event]}),
                )
                .await
                .map_err(|e| e.to_string())?;
            room.state_message = Some(event);
        }
        Some(message) => {
            let edit = json!({
                "msgtype": "m.notice",
                "body": format!("* {}", facts.message.plain),
                "format": "org.matrix.custom.html",
                "formatted_body": format!("* {}", facts.message.html),
                "m.new_content": content,
                "m.relates_to": {"rel_type": "m.replace", "event_id": message},
            });
            client
                .send(&room.room, key, &edit)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for person in &facts.members {
        if room.invited.contains(person) || person == &client.me {
            continue;
        }
        match client
            .post(
                &format!("/rooms/{}/invite", encode(&room.room)),
                &json!({"user_id": person}),
            )
            .await
        {
            // Already in the room, or invited before: nothing left to do.
            Ok(_) => room.invited.push(person.clone()),
            Err(error) if error.status == 403 => room.invited.push(person.clone()),
            Err(error) => return Err(error.to_string()),
        }
    }
    if room.private != facts.private {
        let rule = if facts.private { "invite" } else { "public" };
        client
            .state(&room.room, "m.room.join_rules", &json!({"join_rule": rule}))
            .await
            .map_err(|e| e.to_string())?;
        room.private = facts.private;
    }
    if room.name != facts.name {
        client
            .state(&room.room, "m.room.name", &json!({"name": facts.name}))
            .await
            .map_err(|e| e.to_string())?;
        room.name = facts.name.clone();
    }
    if facts.closed && !room.archived {
        // Read-only: nobody but the bot may post; the history stays.
        let mut levels = client
            .get(&format!(
                "/rooms/{}/state/m.room.power_levels/",
                encode(&room.room)
            ))
            .await
            .map_err(|e| e.to_string())?;
        levels["events_default"] = json!(100);
        client
            .state(&room.room, "m.room.power_levels", &levels)
            .await
            .map_err(|e| e.to_string())?;
        room.archived = true;
    }
    state
        .store
        .put_chat_room(&room)
        .await
        .map_err(|e| e.to_string())
}

/// Creates the incident's room under its readable name, or adopts the one an interrupted
/// earlier attempt created; another room already holding the name makes the next name tried.
async fn create_room<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    client: &Client,
    facts: &hereby_app::chat::RoomFacts,
) -> Result<ChatRoom, String> {
    let server = client
        .me
        .split_once(':')
        .map(|(_, server)| server)
        .unwrap_or_default();
    let mut name = facts.name.clone();
    for attempt in 0..5 {
        let invite: Vec<&String> = facts
            .members
            .iter()
            .filter(|person| **person != client.me)
            .collect();
        let created = client
            .post(
                "/createRoom",
                &json!({
                    "name": facts.name,
                    "room_alias_name": name,
                    "topic": format!("{} · hereby", facts.incident),
                    "preset": if facts.private { "private_chat" } else { "public_chat" },
                    "visibility": "private",
                    "invite": invite,
                }),
            )
            .await;
        let room_id = match created {
            Ok(created) => created["room_id"].as_str().unwrap_or_default().to_owned(),
            Err(error) if error.code == "M_ROOM_IN_USE" => {
                // The alias is taken: by this incident's room if an earlier attempt created it
                // and stopped before recording it (the bot is in it and no incident has it).
                let alias = format!("#{name}:{server}");
                let found = client
                    .get(&format!("/directory/room/{}", encode(&alias)))
                    .await
                    .map_err(|e| e.to_string())?;
                let found = found["room_id"].as_str().unwrap_or_default().to_owned();
                let ours = client
                    .get("/joined_rooms")
                    .await
                    .map_err(|e| e.to_string())?["joined_rooms"]
                    .as_array()
                    .is_some_and(|rooms| rooms.iter().any(|room| room == found.as_str()));
                let used = state
                    .store
                    .chat_room_at(channel.id, &found)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some();
                if ours && !used && attempt == 0 {
                    found
                } else {
                    name = hereby_app::chat::room_name_after_collision(&facts.name, attempt + 1);
                    continue;
                }
            }
            Err(error) => return Err(error.to_string()),
        };
        let room = ChatRoom {
            channel_id: channel.id,
            incident: facts.incident.0,
            room: room_id,
            name: facts.name.clone(),
            private: facts.private,
            state_message: None,
            invited: invite.into_iter().cloned().collect(),
            archived: false,
            created_at: Timestamp::now(),
        };
        state
            .store
            .put_chat_room(&room)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(room);
    }
    Err(format!(
        "every name tried for the room of {} is taken",
        facts.incident
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_read_without_the_message_it_quotes() {
        assert_eq!(
            without_reply_fallback("> <@anna:x> checkout is down\n> more\n\ninc note seen"),
            "inc note seen"
        );
        assert_eq!(without_reply_fallback("inc show"), "inc show");
    }

    #[test]
    fn emoji_match_with_or_without_a_variation_selector() {
        assert!(same_emoji("📌", "📌\u{fe0f}"));
        assert!(!same_emoji("👍", "📌"));
    }

    #[test]
    fn transaction_ids_are_safe_in_a_path() {
        assert_eq!(txn("17:c2:line"), "17_c2_line");
    }
}
