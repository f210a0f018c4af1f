//! The Mattermost adapter (push transport): Mattermost posts `/inc` slash commands to hereby
//! with the command's token (compared in constant time); hereby answers within the three
//! seconds and finishes through `response_url`, and a bot account keeps a channel per
//! incident through the REST API v4 (channels, members, posts, pins, patches, archive).
//!
//! No Mattermost server runs here: the tests drive these endpoints and a local listener in
//! Mattermost's documented wire format.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hereby_app::channels::ChannelConfig;
use hereby_app::chat::RoomFacts;
use hereby_store::{Channel, Chat, Directory, Notifications, Store};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::outbox::{Platform, RoomError, Text, carry_out};
use super::push::{OwnedSaid, answer_in_time, form, refuse};
use crate::AppState;

/// The platform name of Mattermost accounts in chat links.
pub(super) const PLATFORM: &str = "mattermost";
/// The most a Mattermost request may carry.
const MAX_BODY: usize = 64 * 1024;
/// Mattermost keeps a post to 16,383 characters.
const MAX_POST: usize = 16_000;

/// The routes Mattermost calls, merged beside the API's.
pub(super) fn routes<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
) -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/chat/mattermost/{channel}/commands", post(command::<S>))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone())
}

/// `POST /chat/mattermost/{channel}/commands`: an `/inc` slash command.
async fn command<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let channels = match state.store.channels().await {
        Ok(channels) => channels,
        Err(error) => {
            tracing::warn!(%error, "cannot read channels for a Mattermost command");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database did not answer",
            );
        }
    };
    let found = channels
        .into_iter()
        .find(|channel| channel.name == name)
        .and_then(
            |channel| match serde_json::from_str(&channel.config).ok()? {
                ChannelConfig::Mattermost {
                    url,
                    command_token,
                    team,
                    rooms,
                    phrase,
                    ..
                } => Some((channel, url, command_token, team, rooms, phrase)),
                _ => None,
            },
        );
    let Some((channel, server, command_token, team, rooms, phrase)) = found else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no Mattermost channel of that name",
        );
    };
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("token").is_empty() || !crate::observe::same_secret(field("token"), &command_token) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "the request does not carry this slash command's token",
        );
    }
    if field("team_id") != team {
        return refuse(
            StatusCode::FORBIDDEN,
            "wrong_team",
            "this channel serves another Mattermost team",
        );
    }
    let message = match field("trigger_id") {
        "" => format!(
            "{}:{}",
            field("user_id"),
            jiff::Timestamp::now().as_microsecond()
        ),
        trigger => trigger.to_owned(),
    };
    if let Some(answered) = super::push::once(&state, &channel, &message).await {
        return answered;
    }
    // Answers go back to the Mattermost server only.
    let response_url = field("response_url");
    let host = |raw: &str| {
        url::Url::parse(raw)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    };
    if !response_url.is_empty()
        && host(response_url).is_none_or(|found| Some(found) != host(&server))
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            "response_url: answers go to this channel's Mattermost server only",
        );
    }
    let said = OwnedSaid {
        channel,
        platform: PLATFORM.to_owned(),
        sender: field("user_id").to_owned(),
        room: field("channel_id").to_owned(),
        message,
        watched: rooms.iter().any(|room| room == field("channel_id")),
        phrase,
        capture: false,
        slash: true,
        response_url: Some(field("response_url").to_owned()).filter(|url| !url.is_empty()),
    };
    answer_in_time(state, said, field("text").to_owned()).await
}

/// Mattermost's REST API with the bot token.
struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}/api/v4{path}", self.base))
            .bearer_auth(&self.token);
        if !body.is_null() {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("Mattermost did not answer: {}", e.without_url()))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!(
                "Mattermost answered {status}: {}",
                value["id"]
                    .as_str()
                    .or(value["message"].as_str())
                    .unwrap_or("no reason given")
            ))
        }
    }

    async fn respond(&self, url: &str, body: &Value) -> Result<(), String> {
        super::push::respond(&self.http, url, body).await
    }
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_POST).collect()
}

/// The Mattermost side of the outbox.
struct Mattermost {
    rest: Rest,
    team: String,
    me: String,
}

impl Platform for Mattermost {
    fn accounts(&self) -> &str {
        PLATFORM
    }

    fn me(&self) -> &str {
        &self.me
    }

    async fn create_room(&self, facts: &RoomFacts, name: &str) -> Result<String, RoomError> {
        let created = self
            .rest
            .call(
                reqwest::Method::POST,
                "/channels",
                &json!({
                    "team_id": self.team,
                    "name": name,
                    "display_name": name,
                    "purpose": format!("{} · hereby", facts.incident),
                    "type": if facts.private { "P" } else { "O" },
                }),
            )
            .await;
        match created {
            Ok(created) => Ok(created["id"].as_str().unwrap_or_default().to_owned()),
            Err(error) if error.contains("exists") => Err(RoomError::NameTaken { existing: None }),
            Err(error) => Err(RoomError::Failed(error)),
        }
    }

    async fn post(&self, room: &str, text: Text<'_>, _key: &str) -> Result<String, String> {
        let posted = self
            .rest
            .call(
                reqwest::Method::POST,
                "/posts",
                &match text.thread {
                    Some(root) => {
                        json!({"channel_id": room, "message": cut(text.plain), "root_id": root})
                    }
                    None => json!({"channel_id": room, "message": cut(text.plain)}),
                },
            )
            .await?;
        Ok(posted["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn pin(&self, _room: &str, message: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::POST,
                &format!("/posts/{message}/pin"),
                &Value::Null,
            )
            .await
            .map(drop)
    }

    async fn edit(
        &self,
        _room: &str,
        message: &str,
        text: Text<'_>,
        _key: &str,
    ) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::PUT,
                &format!("/posts/{message}/patch"),
                &json!({"message": cut(text.plain)}),
            )
            .await
            .map(drop)
    }

    async fn invite(&self, room: &str, person: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::POST,
                &format!("/channels/{room}/members"),
                &json!({"user_id": person}),
            )
            .await
            .map(drop)
    }

    async fn remove(&self, room: &str, person: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::DELETE,
                &format!("/channels/{room}/members/{person}"),
                &Value::Null,
            )
            .await
            .map(drop)
    }

    async fn rename(&self, room: &str, name: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::PUT,
                &format!("/channels/{room}/patch"),
                &json!({"display_name": name}),
            )
            .await
            .map(drop)
    }

    async fn archive(&self, room: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::DELETE,
                &format!("/channels/{room}"),
                &Value::Null,
            )
            .await
            .map(drop)
    }

    async fn unarchive(&self, room: &str) -> Result<(), String> {
        self.rest
            .call(
                reqwest::Method::POST,
                &format!("/channels/{room}/restore"),
                &Value::Null,
            )
            .await
            .map(drop)
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
                self.rest
                    .respond(
                        url,
                        &json!({"response_type": "in_channel", "text": cut(text)}),
                    )
                    .await
            }
            None => self
                .rest
                .call(
                    reqwest::Method::POST,
                    "/posts",
                    &json!({"channel_id": room, "message": cut(text)}),
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
                self.rest
                    .respond(url, &json!({"response_type": "ephemeral", "text": cut(text)}))
                    .await
            }
            None => self
                .rest
                .call(
                    reqwest::Method::POST,
                    "/posts/ephemeral",
                    &json!({"user_id": person, "post": {"channel_id": answer["room"], "message": cut(text)}}),
                )
                .await
                .map(drop),
        }
    }
}

/// Runs the Mattermost channel's outbox until stopped (commands come in through the route
/// above).
pub(super) async fn run<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    config: &ChannelConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let ChannelConfig::Mattermost {
        url, token, team, ..
    } = config
    else {
        return Err("not a Mattermost channel".to_owned());
    };
    let rest = Rest {
        http: reqwest::Client::builder()
            .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
        base: url.clone(),
        token: token.clone(),
    };
    let me = rest
        .call(reqwest::Method::GET, "/users/me", &Value::Null)
        .await
        .map_err(|error| format!("Mattermost refused the bot token: {error}"))?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    state.chat.set(&channel.name, PLATFORM, None);
    let platform = Mattermost {
        rest,
        team: team.clone(),
        me,
    };
    carry_out(state, channel, &platform, stop).await
}
