//! The Matrix adapter: the bot reads the homeserver's `/sync` (so hereby needs no public
//! address), hands commands, the declare phrase, pin reactions and captured messages to the
//! application, and carries out the channel's deliveries: a room per incident (named
//! `inc-42-…`, private for a restricted incident, members invited as their accounts are
//! linked), the state message posted, pinned (`m.room.pinned_events`) and edited in place
//! (`m.replace`), timeline lines as notices in the state message's thread, answers as
//! notices, the room made read-only at close. A sync that could not hold everything said
//! since the stored position (`limited`) is completed by reading the room back to it.
//!
//! Every message is sent with `PUT …/send/{txnId}`, the transaction id made from the
//! delivery's idempotency key: a retry after a crash is the same transaction, which the
//! homeserver does not repeat.

use std::time::Duration;

use hereby_app::channels::ChannelConfig;
use hereby_app::chat::{RoomFacts, Said};
use hereby_store::{Channel, Chat, Directory, Notifications, Store};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::outbox::{Platform, RoomError, Text, carry_out, txn};
use crate::AppState;

/// How long one `/sync` waits for news.
const SYNC_WAIT: Duration = Duration::from_secs(25);
/// A request's time limit (a sync's is its wait plus this).
const REQUEST_LIMIT: Duration = Duration::from_secs(15);
/// The platform name of Matrix accounts in chat links.
pub(super) const PLATFORM: &str = "matrix";
/// Messages of one room read back after a sync that could not hold them all.
const READ_BACK: usize = 1_000;

/// A Matrix homeserver as the bot sees it.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The bot's own user id.
    me: String,
    /// The channel's name, for the request counter.
    channel: String,
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
        metrics::counter!("hereby_chat_requests_total", "channel" => self.channel.clone())
            .increment(1);
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

    /// Sends a message event with the transaction id made from `key`; its event id.
    async fn send(&self, room: &str, key: &str, content: &Value) -> Result<String, MatrixError> {
        let sent = self
            .put(
                &format!(
                    "/rooms/{}/send/m.room.message/{}",
                    encode(room),
                    encode(&txn(key))
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

impl Client {
    /// Sets the power level a member needs to post in `room`.
    async fn posting_level(&self, room: &str, level: u32) -> Result<(), String> {
        let mut levels = self
            .get(&format!(
                "/rooms/{}/state/m.room.power_levels/",
                encode(room)
            ))
            .await
            .map_err(|e| e.to_string())?;
        levels["events_default"] = json!(level);
        self.state(room, "m.room.power_levels", &levels)
            .await
            .map_err(|e| e.to_string())
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
        channel: channel.name.clone(),
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
    let platform = Matrix {
        client: Client {
            http: client.http.clone(),
            base: client.base.clone(),
            token: client.token.clone(),
            me: client.me.clone(),
            channel: client.channel.clone(),
        },
        store: state.store.clone(),
        channel: channel.id,
    };
    let sending = carry_out(state, channel, &platform, stop.clone());
    let mut stop_reading = stop;
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
                    let timeline = &content["timeline"];
                    let mut events = Vec::new();
                    if let (Some(since), true) = (&since, timeline["limited"] == true) {
                        // More happened than one sync holds (hereby was away): the rest is
                        // read back to the stored position, so nothing said is skipped.
                        if let Some(from) = timeline["prev_batch"].as_str() {
                            events = self.read_back(room, from, since).await?;
                        }
                    }
                    events.extend(
                        timeline["events"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or_default()
                            .iter()
                            .cloned(),
                    );
                    for event in &events {
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

    /// The messages and reactions of `room` from pagination token `from` back to `to`, oldest
    /// first; at most [`READ_BACK`] of them (an adapter away for days does not replay a
    /// whole backlog: the oldest beyond that are left, and the log says so).
    async fn read_back(&self, room: &str, from: &str, to: &str) -> Result<Vec<Value>, String> {
        let filter = json!({"types": ["m.room.message", "m.reaction"]}).to_string();
        let mut from = from.to_owned();
        let mut events = Vec::new();
        while events.len() < READ_BACK {
            let page = self
                .client
                .get(&format!(
                    "/rooms/{}/messages?dir=b&limit=100&from={}&to={}&filter={}",
                    encode(room),
                    encode(&from),
                    encode(to),
                    encode(&filter)
                ))
                .await
                .map_err(|e| e.to_string())?;
            let chunk = page["chunk"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            events.extend(chunk.iter().cloned());
            match page["end"].as_str() {
                Some(end) if !chunk.is_empty() => from = end.to_owned(),
                _ => break,
            }
        }
        if events.len() >= READ_BACK {
            tracing::warn!(channel = %self.channel.name, room, "more was said while the adapter was away than it reads back; the oldest messages are not handled");
        }
        events.reverse();
        Ok(events)
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
            slash: false,
            response_url: None,
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
                // `inc pin` in a reply copies the message it answers, as a 📌 would.
                // In a thread, the reply a client adds for clients without threads is not
                // one the person made.
                let relation = &content["m.relates_to"];
                let replied = relation["m.in_reply_to"]["event_id"]
                    .as_str()
                    .filter(|_| relation["is_falling_back"] != true);
                match replied {
                    Some(target) if is_pin_command(&text) => self.quote(&said, room, target).await,
                    _ => self.state.app.chat_said(&said, &text).await,
                }
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
                self.quote(&said, room, target).await
            }
            _ => return Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(room, %error, "a chat message could not be handled");
        }
        Ok(())
    }
}

impl<S: Store + Directory + Chat + Notifications> Listener<'_, S> {
    /// Copies message `target` of `room` into the incident's timeline, for `said`'s sender.
    async fn quote(
        &self,
        said: &Said<'_>,
        room: &str,
        target: &str,
    ) -> Result<(), hereby_app::AppError> {
        let quoted = match self
            .client
            .get(&format!("/rooms/{}/event/{}", encode(room), encode(target)))
            .await
        {
            Ok(quoted) => quoted,
            Err(error) => {
                tracing::warn!(room, %error, "cannot read the message to copy into the timeline");
                return Ok(());
            }
        };
        let author = quoted["sender"].as_str().unwrap_or_default();
        let body = without_reply_fallback(quoted["content"]["body"].as_str().unwrap_or_default());
        let at = quoted["origin_server_ts"]
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or_else(Timestamp::now);
        if body.trim().is_empty() || author == self.client.me {
            return Ok(());
        }
        self.state.app.chat_quote(said, author, &body, at).await
    }
}

/// Whether a reply is the command that copies the message it answers.
fn is_pin_command(text: &str) -> bool {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    matches!(words.as_slice(), [prefix, verb] if hereby_app::chat::grammar::PREFIXES.contains(&prefix.as_str()) && verb == "pin")
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

/// The Matrix side of the outbox: the bot's client, and where it keeps direct rooms.
pub(super) struct Matrix<S> {
    client: Client,
    store: S,
    channel: i64,
}

impl<S: Chat> Matrix<S> {
    /// The direct room with `person`, made on first use.
    async fn direct_room(&self, person: &str) -> Result<String, String> {
        if let Some(room) = self
            .store
            .direct_room(self.channel, person)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(room);
        }
        let created = self
            .client
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
        self.store
            .put_direct_room(self.channel, person, &room)
            .await
            .map_err(|e| e.to_string())?;
        Ok(room)
    }
}

impl<S: Chat> Platform for Matrix<S> {
    fn accounts(&self) -> &str {
        PLATFORM
    }

    fn me(&self) -> &str {
        &self.client.me
    }

    async fn create_room(&self, facts: &RoomFacts, name: &str) -> Result<String, RoomError> {
        // A restricted incident's room has no address anyone could guess or take first;
        // an internal one's is open to this homeserver's people only.
        let mut request = json!({
            "name": facts.name,
            "topic": format!("{} · hereby", facts.incident),
            "preset": if facts.private { "private_chat" } else { "public_chat" },
            "visibility": "private",
            "creation_content": {"m.federate": false},
        });
        if !facts.private {
            request["room_alias_name"] = json!(name);
        }
        let created = self.client.post("/createRoom", &request).await;
        match created {
            Ok(created) => Ok(created["room_id"].as_str().unwrap_or_default().to_owned()),
            Err(error) if error.code == "M_ROOM_IN_USE" => {
                // Ours only if the bot created it (an earlier attempt that stopped before it
                // was recorded); anyone may have taken the address and invited the bot.
                let server = self
                    .client
                    .me
                    .split_once(':')
                    .map(|(_, s)| s)
                    .unwrap_or_default();
                let alias = format!("#{name}:{server}");
                let found = self
                    .client
                    .get(&format!("/directory/room/{}", encode(&alias)))
                    .await
                    .map_err(|e| RoomError::Failed(e.to_string()))?;
                let found = found["room_id"].as_str().unwrap_or_default().to_owned();
                let created_by_bot = match self
                    .client
                    .get(&format!("/rooms/{}/state", encode(&found)))
                    .await
                {
                    Ok(events) => events.as_array().is_some_and(|events| {
                        events.iter().any(|event| {
                            event["type"] == "m.room.create"
                                && event["sender"] == self.client.me.as_str()
                        })
                    }),
                    // Not in the room: not ours.
                    Err(_) => false,
                };
                Err(RoomError::NameTaken {
                    existing: created_by_bot.then_some(found),
                })
            }
            Err(error) => Err(RoomError::Failed(error.to_string())),
        }
    }

    async fn post(&self, room: &str, text: Text<'_>, key: &str) -> Result<String, String> {
        let mut content = notice(text.plain, text.html);
        if let Some(root) = text.thread {
            // A client without threads shows the line as a reply to the state message.
            content["m.relates_to"] = json!({
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": true,
                "m.in_reply_to": {"event_id": root},
            });
        }
        self.client
            .send(room, key, &content)
            .await
            .map_err(|e| e.to_string())
    }

    async fn pin(&self, room: &str, message: &str) -> Result<(), String> {
        self.client
            .state(room, "m.room.pinned_events", &json!({"pinned": [message]}))
            .await
            .map_err(|e| e.to_string())
    }

    async fn edit(
        &self,
        room: &str,
        message: &str,
        text: Text<'_>,
        key: &str,
    ) -> Result<(), String> {
        let content = notice(text.plain, text.html);
        let edit = json!({
            "msgtype": "m.notice",
            "body": format!("* {}", text.plain),
            "format": "org.matrix.custom.html",
            "formatted_body": format!("* {}", text.html.unwrap_or(text.plain)),
            "m.new_content": content,
            "m.relates_to": {"rel_type": "m.replace", "event_id": message},
        });
        self.client
            .send(room, key, &edit)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn invite(&self, room: &str, person: &str) -> Result<(), String> {
        match self
            .client
            .post(
                &format!("/rooms/{}/invite", encode(room)),
                &json!({"user_id": person}),
            )
            .await
        {
            // Already in the room, or invited before: nothing left to do.
            Ok(_) => Ok(()),
            Err(error) if error.status == 403 => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn remove(&self, room: &str, person: &str) -> Result<(), String> {
        match self
            .client
            .post(
                &format!("/rooms/{}/kick", encode(room)),
                &json!({"user_id": person, "reason": "no longer a member of this restricted incident"}),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Not in the room (never joined, or left): nothing to do.
            Err(error) if error.status == 403 => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn rename(&self, room: &str, name: &str) -> Result<(), String> {
        self.client
            .state(room, "m.room.name", &json!({"name": name}))
            .await
            .map_err(|e| e.to_string())
    }

    async fn archive(&self, room: &str) -> Result<(), String> {
        // Read-only: nobody but the bot may post; the history stays.
        self.client.posting_level(room, 100).await
    }

    async fn unarchive(&self, room: &str) -> Result<(), String> {
        self.client.posting_level(room, 0).await
    }

    async fn reply(
        &self,
        room: &str,
        to: &str,
        text: &str,
        _answer: &Value,
        key: &str,
    ) -> Result<(), String> {
        let mut content = notice(text, None);
        if !to.is_empty() {
            content["m.relates_to"] = json!({"m.in_reply_to": {"event_id": to}});
        }
        self.client
            .send(room, key, &content)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn private(
        &self,
        person: &str,
        text: &str,
        _answer: &Value,
        key: &str,
    ) -> Result<(), String> {
        let room = self.direct_room(person).await?;
        self.client
            .send(&room, key, &notice(text, None))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
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
}
