//! What push transports share (the platform posts to hereby: Slack, Mattermost): refusals in
//! the API's error shape, form bodies, and answering within the platform's time while a
//! slower command finishes through the outbox.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hereby_app::chat::Said;
use hereby_store::{Channel, Chat, Directory, Notifications, Store};
use jiff::Timestamp;
use serde_json::json;

use crate::AppState;

/// Slack and Mattermost want an answer within three seconds; a command still running then is
/// answered through `response_url` when it is done.
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

/// A refusal in the API's JSON error shape.
pub(crate) fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// A form body's fields (the last of a repeated name wins).
pub(crate) fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The fields of [`Said`], owned, so a command can finish after the answer went out.
pub(crate) struct OwnedSaid {
    pub(crate) channel: Channel,
    pub(crate) platform: String,
    pub(crate) sender: String,
    pub(crate) room: String,
    pub(crate) message: String,
    pub(crate) watched: bool,
    pub(crate) phrase: String,
    pub(crate) capture: bool,
    pub(crate) slash: bool,
    pub(crate) response_url: Option<String>,
}

impl OwnedSaid {
    pub(crate) fn said(&self) -> Said<'_> {
        Said {
            channel: &self.channel,
            platform: &self.platform,
            sender: &self.sender,
            room: &self.room,
            message: &self.message,
            watched: self.watched,
            phrase: &self.phrase,
            capture: self.capture,
            slash: self.slash,
            response_url: self.response_url.as_deref(),
        }
    }
}

/// Runs what was said and answers Slack: at once when it is done within Slack's time, else
/// with a note that the answer follows (through `response_url`, from the outbox).
pub(crate) async fn answer_in_time<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    said: OwnedSaid,
    text: String,
) -> Response {
    let work = tokio::spawn(async move {
        let result = state.app.chat_said(&said.said(), &text).await;
        if let Err(error) = &result {
            tracing::warn!(%error, "a Slack command could not be handled");
        }
        result.is_ok()
    });
    match tokio::time::timeout(ANSWER_WITHIN, work).await {
        // The answer is on its way through the outbox; Slack shows nothing for an empty 200.
        Ok(Ok(true)) => StatusCode::OK.into_response(),
        Ok(_) => axum::Json(json!({
            "response_type": "ephemeral",
            "text": "Something went wrong on hereby's side; nothing was recorded. Try again, or use the web page.",
        }))
        .into_response(),
        Err(_) => axum::Json(json!({
            "response_type": "ephemeral",
            "text": "Working on it…",
        }))
        .into_response(),
    }
}

/// Answers through a platform's `response_url` (Slack's and Mattermost's shape is the same).
pub(crate) async fn respond(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("the response_url did not answer: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the response_url answered {}", response.status()))
    }
}

/// Notes a push request by its id: `None` the first time, an empty 200 when it was handled
/// before (a command sent again), a 503 when the database cannot say.
pub(crate) async fn once<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
    channel: &Channel,
    id: &str,
) -> Option<Response> {
    match state
        .store
        .first_sight(channel.id, id, Timestamp::now())
        .await
    {
        Ok(true) => None,
        Ok(false) => Some(StatusCode::OK.into_response()),
        Err(error) => {
            tracing::warn!(%error, "cannot note a chat request");
            Some(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database did not answer",
            ))
        }
    }
}
