//! Live updates for the web pages, as Server-Sent Events that htmx's SSE extension swaps
//! into the page: rendered timeline entries and `changed` signals. Same cursor, wake-ups and
//! visibility rule as the API's streams ([`crate::routes::live`]).

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use hereby_store::{Directory, Store};

use super::PageError;
use super::pages::bad_query;
use super::session::Viewer;
use crate::AppState;
use crate::routes::incidents::{incident_id, visible};
use crate::routes::live::{Cursor, Format, LiveParams, start, stream};

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
    visible(&state, &viewer.caller, incident).await?;
    let after = start(&state, &headers, &params).await?;
    let waker = state.live.subscribe();
    let cursor = Cursor {
        state,
        caller: viewer.caller,
        only: Some(incident),
        after,
        format: Format::Html,
        pending: Default::default(),
        waker,
    };
    Ok(Sse::new(stream(cursor)).keep_alive(KeepAlive::default()))
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
    let waker = state.live.subscribe();
    let cursor = Cursor {
        state,
        caller: viewer.caller,
        only: None,
        after,
        format: Format::Changed,
        pending: Default::default(),
        waker,
    };
    Ok(Sse::new(stream(cursor)).keep_alive(KeepAlive::default()))
}
