//! Live updates as Server-Sent Events: every new timeline entry of one incident
//! (`/api/v1/incidents/{id}/events`) or of every incident the caller may see
//! (`/api/v1/events`). Each event's id is its global position, so a client that reconnects
//! with `Last-Event-ID` gets exactly what it missed.
//!
//! Streams are fed by the process's one event feed ([`hereby_app::Feed`]): no stream reads
//! the log on its own while it keeps up. A stream ends when its token is revoked or its user
//! disabled.

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use hereby_app::FeedEvent;
use hereby_store::{Directory, Store};

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{Caller, incident_id};
use crate::sse::{LiveParams, start, stream, subscribe};

/// An entry as the API's JSON timeline entry, in an event named after the entry's type.
fn json_entry(event: &FeedEvent) -> Vec<Event> {
    let entry = convert::entry(&event.event);
    match Event::default()
        .id(event.event.position.to_string())
        .event(entry.event_type.clone())
        .json_data(&entry)
    {
        Ok(event) => vec![event],
        Err(_) => Vec::new(),
    }
}

/// `GET /api/v1/events`: entries of every incident the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "live",
    security(("bearer" = [])),
    params(("after" = Option<i64>, Query, description = "Start after this position (or send Last-Event-ID)")),
    responses(
        (status = 200, content_type = "text/event-stream", description = "Timeline entries as they are appended; each event's id is its position"),
        (status = 401, body = hereby_api::ErrorBody),
    )
)]
pub(crate) async fn all_events<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    params: Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let after = start(&state, &headers, &params).await?;
    let subscription = subscribe(&state, &caller, after);
    let events = stream(subscription, caller.0, None, ("api-entry", json_entry));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `GET /api/v1/incidents/{id}/events`: entries of one incident.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/events",
    tag = "live",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("after" = Option<i64>, Query, description = "Start after this position (or send Last-Event-ID)"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "The incident's timeline entries as they are appended"),
        (status = 401, body = hereby_api::ErrorBody),
        (status = 404, body = hereby_api::ErrorBody),
    )
)]
pub(crate) async fn incident_events<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let incident = incident_id(&id)?;
    state.app.visible(&caller.0, incident).await?;
    let after = start(&state, &headers, &params).await?;
    let subscription = subscribe(&state, &caller, after);
    let events = stream(
        subscription,
        caller.0,
        Some(incident),
        ("api-entry", json_entry),
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
