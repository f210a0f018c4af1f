//! Live updates for the web pages, as Server-Sent Events that htmx's SSE extension swaps
//! into the page: rendered timeline entries and `changed` signals, from the process's event
//! feed with the same visibility rule as the API's streams. A page's stream ends when its
//! session is signed out or its user disabled.

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use hereby_app::FeedEvent;
use hereby_store::{Directory, Store};

use super::PageError;
use super::bad_query;
use super::session::Viewer;
use crate::AppState;
use crate::extract::incident_id;
use crate::sse::{LiveParams, start, stream, subscribe};

/// An entry as rendered HTML (`entry`), then `changed`, which tells the page to refresh what
/// the entry changed.
fn rendered_entry(event: &FeedEvent) -> Vec<Event> {
    let Ok(html) = super::entry_html(&event.event) else {
        return Vec::new();
    };
    vec![
        Event::default().event("entry").data(html),
        Event::default()
            .id(event.event.position.to_string())
            .event("changed")
            .data(event.event.sequence.to_string()),
    ]
}

/// Only `changed`, with the incident's id, for the dashboard.
fn changed_incident(event: &FeedEvent) -> Vec<Event> {
    vec![
        Event::default()
            .id(event.event.position.to_string())
            .event("changed")
            .data(event.event.incident.to_string()),
    ]
}

/// `GET /incidents/{id}/live`: the incident's new entries, rendered.
pub(crate) async fn incident<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    let incident = incident_id(&id)?;
    state
        .app
        .visible(viewer.user(), incident)
        .await
        .map_err(crate::error::ApiError::from)?;
    let after = start(&state, &headers, &params).await?;
    let subscription = subscribe(&state, &viewer.caller, after);
    let events = stream(
        subscription,
        viewer.caller.0,
        Some(incident),
        ("web-entry", rendered_entry),
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `GET /live`: a `changed` signal whenever an incident the viewer may see changes.
pub(crate) async fn everything<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    params: Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    let after = start(&state, &headers, &params).await?;
    let subscription = subscribe(&state, &viewer.caller, after);
    let events = stream(
        subscription,
        viewer.caller.0,
        None,
        ("web-changed", changed_incident),
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
