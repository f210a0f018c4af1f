//! The Slack adapter (push transport): Slack posts `/inc` slash commands, button clicks and
//! events to hereby, each request signed (`v0` HMAC-SHA256 with the app's signing secret
//! over `v0:<timestamp>:<raw body>`, at most five minutes old, compared in constant time);
//! hereby answers within Slack's three seconds and finishes through `response_url`, and keeps
//! a channel per incident through the Web API (`conversations.create`, `chat.postMessage`,
//! `pins.add`, `chat.update`, `conversations.invite|rename|archive`).
//!
//! No Slack server runs here: the tests drive these endpoints and a local listener in
//! Slack's documented wire format.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hereby_app::channels::ChannelConfig;
use hereby_app::chat::RoomFacts;
use hereby_store::{Channel, Chat, Directory, Notifications, Store};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::watch;

use super::outbox::{Platform, RoomError, Text, carry_out};
use super::push::{OwnedSaid, answer_in_time, form, once, refuse};
use crate::AppState;

/// How far a request's timestamp may be from now.
const TOLERANCE_SECONDS: i64 = 300;
/// The most a Slack request may carry.
const MAX_BODY: usize = 64 * 1024;

/// The platform name of a workspace's accounts in chat links.
pub(super) fn accounts(team: &str) -> String {
    format!("slack:{team}")
}

/// The settings of a Slack app channel.
#[derive(Debug, Clone)]
struct Settings {
    token: String,
    signing_secret: String,
    team: String,
    api: String,
    rooms: Vec<String>,
    phrase: String,
    pin: String,
    capture: bool,
    app_token: Option<String>,
}

fn settings(config: &ChannelConfig) -> Option<Settings> {
    match config {
        ChannelConfig::SlackApp {
            token,
            signing_secret,
            team,
            api,
            rooms,
            phrase,
            pin,
            capture,
            app_token,
        } => Some(Settings {
            app_token: app_token.clone(),
            token: token.clone(),
            signing_secret: signing_secret.clone(),
            team: team.clone(),
            api: api.clone(),
            rooms: rooms.clone(),
            phrase: phrase.clone(),
            pin: pin.clone(),
            capture: *capture,
        }),
        _ => None,
    }
}

/// Whether `signature` (`v0=<hex>`) signs `body` at `timestamp` with `secret`, and the
/// timestamp is within five minutes of `now`. The comparison is constant-time.
pub(crate) fn signed(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: Timestamp,
) -> bool {
    let Ok(at) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if now.as_second().abs_diff(at) > TOLERANCE_SECONDS.unsigned_abs() {
        return false;
    }
    let Some(given) = signature
        .trim()
        .strip_prefix("v0=")
        .and_then(|hex_digits| hex::decode(hex_digits).ok())
    else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The routes Slack calls, merged beside the API's: their bodies are read here, raw, because
/// the signature covers the bytes as sent.
pub(super) fn routes<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
) -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/chat/slack/{channel}/commands", post(command::<S>))
        .route("/chat/slack/{channel}/interactions", post(interaction::<S>))
        .route("/chat/slack/{channel}/events", post(event::<S>))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone())
}

/// The channel a request names, if it is a Slack app channel and the request is signed by it.
async fn verified<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Channel, Settings), Response> {
    let channels = state.store.channels().await.map_err(|error| {
        tracing::warn!(%error, "cannot read channels for a Slack request");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer",
        )
    })?;
    let found = channels
        .into_iter()
        .find(|channel| channel.name == name)
        .and_then(|channel| {
            let config: ChannelConfig = serde_json::from_str(&channel.config).ok()?;
            settings(&config).map(|settings| (channel, settings))
        });
    let Some((channel, settings)) = found else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no Slack app channel of that name",
        ));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    if !signed(
        &settings.signing_secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        Timestamp::now(),
    ) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the request is not signed with this app's signing secret, or is more than five minutes old",
        ));
    }
    Ok((channel, settings))
}

/// `POST /chat/slack/{channel}/commands`: an `/inc` slash command.
async fn command<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (channel, settings) = match verified(&state, &name, &headers, &body).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    run_command(state, channel, &settings, form(&body)).await
}

/// A slash command's fields (a form over HTTP, a JSON object in Socket Mode), run.
async fn run_command<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    channel: Channel,
    settings: &Settings,
    fields: std::collections::HashMap<String, String>,
) -> Response {
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("team_id") != settings.team {
        return refuse(
            StatusCode::FORBIDDEN,
            "wrong_workspace",
            "this channel serves another Slack workspace",
        );
    }
    // A slash command has no id of its own; its trigger id is unique and short-lived, and a
    // command sent again with it runs once.
    let message = match field("trigger_id") {
        "" => format!("{}:{}", field("user_id"), Timestamp::now().as_microsecond()),
        trigger => trigger.to_owned(),
    };
    if let Some(refusal) = once(&state, &channel, &message).await {
        return refusal;
    }
    let response_url = field("response_url");
    if !response_url.is_empty() && !answers_to(settings, response_url) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            "response_url: answers go to Slack only",
        );
    }
    let said = OwnedSaid {
        channel,
        platform: accounts(&settings.team),
        sender: field("user_id").to_owned(),
        room: field("channel_id").to_owned(),
        message,
        watched: settings
            .rooms
            .iter()
            .any(|room| room == field("channel_id")),
        phrase: settings.phrase.clone(),
        capture: false,
        slash: true,
        response_url: Some(field("response_url").to_owned()).filter(|url| !url.is_empty()),
    };
    answer_in_time(state, said, field("text").to_owned()).await
}

/// `POST /chat/slack/{channel}/interactions`: a button under the state message.
async fn interaction<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (channel, settings) = match verified(&state, &name, &headers, &body).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let fields = form(&body);
    let Some(payload) = fields
        .get("payload")
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "an interaction carries a JSON `payload` field",
        );
    };
    run_interaction(state, channel, &settings, &payload).await
}

/// Whether `url` is an address Slack answers at: Slack's own hooks, or (for a channel whose
/// Web API is elsewhere, as in tests against a recorded wire format) that API's host.
fn answers_to(settings: &Settings, url: &str) -> bool {
    let host_of = |raw: &str| {
        url::Url::parse(raw)
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "https" | "http"))
            .and_then(|parsed| parsed.host_str().map(str::to_owned))
    };
    match host_of(url) {
        Some(host) => {
            host == "hooks.slack.com"
                || host.ends_with(".slack.com")
                || host_of(&settings.api).is_some_and(|api| api == host)
        }
        None => false,
    }
}

/// A button click's payload, run.
async fn run_interaction<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    channel: Channel,
    settings: &Settings,
    payload: &Value,
) -> Response {
    if payload["team"]["id"] != settings.team.as_str() {
        return refuse(
            StatusCode::FORBIDDEN,
            "wrong_workspace",
            "this channel serves another Slack workspace",
        );
    }
    let action = &payload["actions"][0];
    // A button's value is `<verb> <incident>`, set when the state message was drawn.
    let Some((verb, incident)) = action["value"]
        .as_str()
        .and_then(|value| value.split_once(' '))
    else {
        return StatusCode::OK.into_response();
    };
    if !["accept", "ack"].contains(&verb) {
        return StatusCode::OK.into_response();
    }
    let room = payload["channel"]["id"]
        .as_str()
        .or_else(|| payload["container"]["channel_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let said = OwnedSaid {
        channel,
        platform: accounts(&settings.team),
        sender: payload["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        room,
        message: payload["trigger_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        watched: false,
        phrase: String::new(),
        capture: false,
        slash: true,
        response_url: payload["response_url"].as_str().map(str::to_owned),
    };
    answer_in_time(state, said, format!("{verb} --incident {incident}")).await
}

/// `POST /chat/slack/{channel}/events`: the Events API (the URL check, messages, reactions).
async fn event<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (channel, settings) = match verified(&state, &name, &headers, &body).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "an event is a JSON object",
        );
    };
    run_event(state, channel, &settings, &envelope).await
}

/// An Events API envelope, handled once.
async fn run_event<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    channel: Channel,
    settings: &Settings,
    envelope: &Value,
) -> Response {
    if envelope["type"] == "url_verification" {
        return axum::Json(json!({"challenge": envelope["challenge"]})).into_response();
    }
    if envelope["team_id"] != settings.team.as_str() {
        return refuse(
            StatusCode::FORBIDDEN,
            "wrong_workspace",
            "this channel serves another Slack workspace",
        );
    }
    let Some(id) = envelope["event_id"].as_str() else {
        return StatusCode::OK.into_response();
    };
    // Slack sends an event again when it heard no answer in time: handled once.
    if let Some(answered) = once(&state, &channel, id).await {
        return answered;
    }
    let event = &envelope["event"];
    // The bot's own messages and edits are not said by anyone.
    if event["bot_id"].is_string() || event["subtype"].is_string() {
        return StatusCode::OK.into_response();
    }
    let said = |room: &str, sender: &str| OwnedSaid {
        channel: channel.clone(),
        platform: accounts(&settings.team),
        sender: sender.to_owned(),
        room: room.to_owned(),
        message: id.to_owned(),
        watched: settings.rooms.iter().any(|watched| watched == room),
        phrase: settings.phrase.clone(),
        capture: settings.capture,
        slash: false,
        response_url: None,
    };
    match event["type"].as_str() {
        Some("message") => {
            let owned = said(
                event["channel"].as_str().unwrap_or_default(),
                event["user"].as_str().unwrap_or_default(),
            );
            let text = event["text"].as_str().unwrap_or_default().to_owned();
            answer_in_time(state, owned, text).await
        }
        Some("reaction_added") if event["reaction"] == settings.pin.as_str() => {
            let room = event["item"]["channel"].as_str().unwrap_or_default();
            let ts = event["item"]["ts"].as_str().unwrap_or_default();
            let api = WebApi::new(settings);
            let found = api
                .call(
                    "conversations.history",
                    &json!({"channel": room, "oldest": ts, "latest": ts, "inclusive": true, "limit": 1}),
                )
                .await;
            let Ok(found) = found else {
                return StatusCode::OK.into_response();
            };
            let quoted = &found["messages"][0];
            // Exactly the message reacted to (a reply in a thread is not found here, and no
            // other message stands in for it).
            if quoted["ts"] != ts {
                return StatusCode::OK.into_response();
            }
            let (Some(author), Some(text)) = (quoted["user"].as_str(), quoted["text"].as_str())
            else {
                return StatusCode::OK.into_response();
            };
            let at = ts
                .split('.')
                .next()
                .and_then(|seconds| seconds.parse::<i64>().ok())
                .and_then(|seconds| Timestamp::from_second(seconds).ok())
                .unwrap_or_else(Timestamp::now);
            let owned = said(room, event["user"].as_str().unwrap_or_default());
            if let Err(error) = state.app.chat_quote(&owned.said(), author, text, at).await {
                tracing::warn!(%error, "a pinned Slack message could not be noted");
            }
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

/// Slack's Web API with the bot token.
struct WebApi {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl WebApi {
    fn new(settings: &Settings) -> Self {
        Self {
            http: reqwest::Client::builder()
                .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            api: settings.api.clone(),
            token: settings.token.clone(),
        }
    }

    /// Calls a Web API method; Slack answers 200 with `ok: false` and an `error` when it
    /// refuses.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, String> {
        let response = self
            .http
            .post(format!("{}/{method}", self.api))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("Slack's {method} did not answer: {}", e.without_url()))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("Slack's {method} answered {status}"));
        }
        if value["ok"] == true {
            Ok(value)
        } else {
            Err(value["error"]
                .as_str()
                .unwrap_or("an answer without ok")
                .to_owned())
        }
    }

    async fn respond(&self, url: &str, body: &Value) -> Result<(), String> {
        super::push::respond(&self.http, url, body).await
    }
}

/// The Slack side of the outbox.
struct Slack {
    api: WebApi,
    accounts: String,
    me: String,
}

/// Text Slack shows as written: `&`, `<` and `>` escaped, so a title or a note holding
/// `<!channel>` pings nobody.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The state message as Slack blocks when it has buttons: the text (a section holds at most
/// 3000 characters), then the buttons. `Null` without buttons (the text alone is sent).
fn blocks(text: &str, buttons: &[hereby_app::chat::Button], incident: &str) -> Value {
    if buttons.is_empty() {
        return Value::Null;
    }
    let section: String = escaped(text).chars().take(3_000).collect();
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": section}},
        {
            "type": "actions",
            "elements": buttons.iter().map(|button| json!({
                "type": "button",
                "action_id": button.verb,
                "text": {"type": "plain_text", "text": button.label},
                "value": format!("{} {incident}", button.verb),
            })).collect::<Vec<_>>(),
        },
    ])
}

/// A `chat.postMessage` (or, with `ts`, `chat.update`) body.
fn message(room: &str, ts: Option<&str>, text: Text<'_>) -> Value {
    let mut body = json!({"channel": room, "text": escaped(text.plain)});
    if let Some(ts) = ts {
        body["ts"] = json!(ts);
    }
    if let Some(root) = text.thread {
        body["thread_ts"] = json!(root);
    }
    let blocks = blocks(text.plain, text.buttons, text.incident);
    if !blocks.is_null() {
        body["blocks"] = blocks;
    }
    body
}

impl Platform for Slack {
    fn accounts(&self) -> &str {
        &self.accounts
    }

    fn me(&self) -> &str {
        &self.me
    }

    async fn create_room(&self, facts: &RoomFacts, name: &str) -> Result<String, RoomError> {
        let created = self
            .api
            .call(
                "conversations.create",
                &json!({"name": name, "is_private": facts.private}),
            )
            .await;
        match created {
            Ok(created) => Ok(created["channel"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()),
            // Slack cannot tell whose channel it is: the next name is tried.
            Err(error) if error == "name_taken" => Err(RoomError::NameTaken { existing: None }),
            Err(error) => Err(RoomError::Failed(error)),
        }
    }

    async fn post(&self, room: &str, text: Text<'_>, _key: &str) -> Result<String, String> {
        let posted = self
            .api
            .call("chat.postMessage", &message(room, None, text))
            .await?;
        Ok(posted["ts"].as_str().unwrap_or_default().to_owned())
    }

    async fn pin(&self, room: &str, message: &str) -> Result<(), String> {
        match self
            .api
            .call("pins.add", &json!({"channel": room, "timestamp": message}))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error == "already_pinned" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn edit(
        &self,
        room: &str,
        message: &str,
        text: Text<'_>,
        _key: &str,
    ) -> Result<(), String> {
        self.api
            .call("chat.update", &self::message(room, Some(message), text))
            .await
            .map(drop)
    }

    async fn invite(&self, room: &str, person: &str) -> Result<(), String> {
        match self
            .api
            .call(
                "conversations.invite",
                &json!({"channel": room, "users": person}),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error == "already_in_channel" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn remove(&self, room: &str, person: &str) -> Result<(), String> {
        match self
            .api
            .call(
                "conversations.kick",
                &json!({"channel": room, "user": person}),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error == "not_in_channel" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn rename(&self, room: &str, name: &str) -> Result<(), String> {
        match self
            .api
            .call(
                "conversations.rename",
                &json!({"channel": room, "name": name}),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Another channel holds the name: the room keeps its old one.
            Err(error) if error == "name_taken" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn archive(&self, room: &str) -> Result<(), String> {
        match self
            .api
            .call("conversations.archive", &json!({"channel": room}))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error == "already_archived" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn unarchive(&self, room: &str) -> Result<(), String> {
        match self
            .api
            .call("conversations.unarchive", &json!({"channel": room}))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error == "not_archived" => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn reply(
        &self,
        room: &str,
        _to: &str,
        text: &str,
        answer: &Value,
        _key: &str,
    ) -> Result<(), String> {
        match answer["response_url"].as_str() {
            Some(url) => {
                self.api
                    .respond(
                        url,
                        &json!({"response_type": "in_channel", "text": escaped(text)}),
                    )
                    .await
            }
            None => self
                .api
                .call(
                    "chat.postMessage",
                    &json!({"channel": room, "text": escaped(text)}),
                )
                .await
                .map(drop),
        }
    }

    async fn private(
        &self,
        person: &str,
        text: &str,
        answer: &Value,
        _key: &str,
    ) -> Result<(), String> {
        match answer["response_url"].as_str() {
            Some(url) => {
                self.api
                    .respond(
                        url,
                        &json!({"response_type": "ephemeral", "text": escaped(text)}),
                    )
                    .await
            }
            None => self
                .api
                .call(
                    "chat.postEphemeral",
                    &json!({"channel": answer["room"], "user": person, "text": escaped(text)}),
                )
                .await
                .map(drop),
        }
    }
}

/// Runs the Slack app channel's outbox until stopped (what Slack says comes in through the
/// routes above).
pub(super) async fn run<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    config: &ChannelConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let Some(settings) = settings(config) else {
        return Err("not a Slack app channel".to_owned());
    };
    let api = WebApi::new(&settings);
    let me = api
        .call("auth.test", &json!({}))
        .await
        .map_err(|error| format!("Slack refused the bot token: {error}"))?["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    state.chat.set(&channel.name, "slack", None);
    let platform = Slack {
        api,
        accounts: accounts(&settings.team),
        me,
    };
    let mut stop_reading = stop.clone();
    let sending = carry_out(state, channel, &platform, stop);
    let reading = async {
        let Some(app_token) = &settings.app_token else {
            // Push only: Slack posts to the routes above.
            let _ = stop_reading.changed().await;
            return Ok(());
        };
        loop {
            tokio::select! {
                result = socket_mode(state, channel, &settings, app_token) => result?,
                _ = stop_reading.changed() => return Ok(()),
            }
        }
    };
    tokio::select! {
        result = sending => result,
        result = reading => result,
    }
}

/// One Socket Mode connection: asks Slack for a WebSocket address with the app-level token,
/// then takes envelopes (slash commands, button clicks, events), handles each as its HTTP
/// counterpart would and acknowledges it, until Slack asks for a new connection (`Ok`) or
/// the connection fails (`Err`, and the supervisor starts the adapter again).
async fn socket_mode<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    settings: &Settings,
    app_token: &str,
) -> Result<(), String> {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let opener = WebApi {
        token: app_token.to_owned(),
        ..WebApi::new(settings)
    };
    let opened = opener
        .call("apps.connections.open", &json!({}))
        .await
        .map_err(|error| format!("Slack refused a Socket Mode connection: {error}"))?;
    let url = opened["url"]
        .as_str()
        .ok_or_else(|| "Slack gave no Socket Mode address".to_owned())?;
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|error| format!("cannot open Slack's Socket Mode connection: {error}"))?;
    while let Some(message) = socket.next().await {
        let message = message.map_err(|error| format!("Socket Mode connection broke: {error}"))?;
        let text = match message {
            Message::Text(text) => text.to_string(),
            Message::Ping(data) => {
                socket
                    .send(Message::Pong(data))
                    .await
                    .map_err(|error| format!("Socket Mode connection broke: {error}"))?;
                continue;
            }
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let Ok(envelope) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match envelope["type"].as_str() {
            Some("hello") => state.chat.set(&channel.name, "slack", None),
            // Slack refreshes connections now and then: a new one is opened.
            Some("disconnect") => return Ok(()),
            Some(kind @ ("slash_commands" | "interactive" | "events_api")) => {
                let payload = envelope["payload"].clone();
                let (state, channel, settings, kind) = (
                    state.clone(),
                    channel.clone(),
                    settings.clone(),
                    kind.to_owned(),
                );
                // Handled in its own task: Slack wants the acknowledgement within three
                // seconds, which is sent once the envelope is handled (recorded, its answer on
                // its way through the outbox) or after 2.5 s, whichever comes first.
                let handling = tokio::spawn(async move {
                    match kind.as_str() {
                        "slash_commands" => {
                            let fields = payload
                                .as_object()
                                .map(|fields| {
                                    fields
                                        .iter()
                                        .filter_map(|(name, value)| {
                                            value
                                                .as_str()
                                                .map(|value| (name.clone(), value.to_owned()))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            run_command(state, channel, &settings, fields).await
                        }
                        "interactive" => run_interaction(state, channel, &settings, &payload).await,
                        _ => run_event(state, channel, &settings, &payload).await,
                    }
                });
                let _ = tokio::time::timeout(Duration::from_millis(2_500), handling).await;
                if let Some(id) = envelope["envelope_id"].as_str() {
                    socket
                        .send(Message::Text(json!({"envelope_id": id}).to_string().into()))
                        .await
                        .map_err(|error| format!("Socket Mode connection broke: {error}"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body);
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn only_a_fresh_request_signed_with_the_secret_passes() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let body = b"team_id=T1&text=show";
        let at = "1800000000";
        let good = sign("s3cret", at, body);
        assert!(signed("s3cret", at, &good, body, now));
        assert!(!signed("other", at, &good, body, now), "another secret");
        assert!(
            !signed("s3cret", at, &good, b"team_id=T1&text=resolve", now),
            "a tampered body"
        );
        let stale = "1799999600";
        assert!(
            !signed("s3cret", stale, &sign("s3cret", stale, body), body, now),
            "older than five minutes"
        );
        let within = "1799999750";
        assert!(signed(
            "s3cret",
            within,
            &sign("s3cret", within, body),
            body,
            now
        ));
        assert!(!signed("s3cret", at, "", body, now), "unsigned");
        assert!(!signed("s3cret", at, "v0=zz", body, now), "not hex");
        assert!(!signed("s3cret", "soon", &good, body, now), "not a time");
    }
}
