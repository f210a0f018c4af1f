//! Live updates as Server-Sent Events: every new timeline entry of one incident
//! (`/api/v1/incidents/{id}/events`) or of every incident the caller may see
//! (`/api/v1/events`). Each event's id is its global position, so a client that reconnects
//! with `Last-Event-ID` gets exactly what it missed.
//!
//! Streams read the global log after their last position. They wake when this server
//! appends (see [`crate::Live`]) and at least once a second, which also picks up what other
//! server nodes appended.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use hereby_core::types::IncidentNumber;
use hereby_store::{Directory, Store};
use serde::Deserialize;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::incidents::{incident_id, may_see, visible};

/// How many log entries a stream reads at a time.
const BATCH: u32 = 500;

/// How long a stream waits for a local append before looking at the log anyway.
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiveParams {
    /// Start after this global position (what `Last-Event-ID` does for reconnects).
    pub(crate) after: Option<i64>,
}

/// The position to start after: `Last-Event-ID`, else `?after=`, else the end of the log.
pub(crate) async fn start<S: Store + Directory>(
    state: &AppState<S>,
    headers: &HeaderMap,
    params: &LiveParams,
) -> Result<i64, ApiError> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().parse::<i64>())
        .transpose()
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_last_event_id",
                "Last-Event-ID must be an event position",
            )
        })?;
    match last_event_id.or(params.after) {
        Some(position) => Ok(position.max(0)),
        None => Ok(state.store.last_position().await?),
    }
}

/// What a stream sends for each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The API's JSON timeline entry, as an event named after the entry's type.
    Api,
    /// For the web pages: the entry as rendered HTML (`entry`), then `changed`, which tells
    /// the page to refresh what the entry changed.
    Html,
    /// For the web dashboard: only `changed`, with the incident's id.
    Changed,
}

pub(crate) struct Cursor<S> {
    pub(crate) state: AppState<S>,
    pub(crate) caller: Caller,
    pub(crate) only: Option<IncidentNumber>,
    pub(crate) after: i64,
    pub(crate) format: Format,
    pub(crate) pending: std::collections::VecDeque<Event>,
    pub(crate) waker: tokio::sync::watch::Receiver<i64>,
}

impl<S: Store + Directory> Cursor<S> {
    /// The next event to send, waiting for one if need be. `None` ends the stream (the
    /// database failed; the client reconnects with `Last-Event-ID`).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let batch = self.state.store.read_all(self.after, BATCH).await.ok()?;
            if batch.is_empty() {
                let _ = tokio::time::timeout(POLL, self.waker.changed()).await;
                continue;
            }
            let mut visibility: HashMap<u64, bool> = HashMap::new();
            for stored in &batch {
                self.after = stored.position;
                let incident = IncidentNumber(stored.link.incident);
                if self.only.is_some_and(|only| only != incident) {
                    continue;
                }
                let visible = match visibility.get(&incident.0) {
                    Some(visible) => *visible,
                    None => {
                        let visible = may_see(&self.state, &self.caller, incident).await;
                        visibility.insert(incident.0, visible);
                        visible
                    }
                };
                if !visible {
                    continue;
                }
                let Ok(recorded) = stored.decode() else {
                    continue;
                };
                let id = stored.position.to_string();
                match self.format {
                    Format::Api => {
                        let entry = convert::entry(&recorded);
                        let event = Event::default()
                            .id(id)
                            .event(entry.event_type.clone())
                            .json_data(&entry)
                            .ok()?;
                        self.pending.push_back(event);
                    }
                    Format::Html => {
                        let html = crate::web::entry_html(&recorded).ok()?;
                        self.pending
                            .push_back(Event::default().event("entry").data(html));
                        self.pending.push_back(
                            Event::default()
                                .id(id)
                                .event("changed")
                                .data(recorded.sequence.to_string()),
                        );
                    }
                    Format::Changed => self.pending.push_back(
                        Event::default()
                            .id(id)
                            .event("changed")
                            .data(incident.to_string()),
                    ),
                }
            }
        }
    }
}

pub(crate) fn stream<S: Store + Directory>(
    cursor: Cursor<S>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.next().await.map(|event| (Ok(event), cursor))
    })
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
    let waker = state.live.subscribe();
    let cursor = Cursor {
        state,
        caller,
        only: None,
        after,
        format: Format::Api,
        pending: Default::default(),
        waker,
    };
    Ok(Sse::new(stream(cursor)).keep_alive(KeepAlive::default()))
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
    visible(&state, &caller, incident).await?;
    let after = start(&state, &headers, &params).await?;
    let waker = state.live.subscribe();
    let cursor = Cursor {
        state,
        caller,
        only: Some(incident),
        after,
        format: Format::Api,
        pending: Default::default(),
        waker,
    };
    Ok(Sse::new(stream(cursor)).keep_alive(KeepAlive::default()))
}
