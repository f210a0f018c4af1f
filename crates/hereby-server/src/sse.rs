//! Server-Sent Events from the event feed, shared by the API's and the web UI's live streams:
//! where a stream starts (`Last-Event-ID`), which events its caller may see, and when it ends
//! (its sign-in revoked). How each event is written (JSON, rendered HTML) is the edge's.

use std::convert::Infallible;

use axum::http::HeaderMap;
use axum::response::sse::Event;
use futures_util::Stream;
use hereby_app::{FeedEvent, Subscription};
use hereby_core::types::IncidentNumber;
use hereby_store::{Store, User};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::Caller;

/// The query of every live stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiveParams {
    /// Start after this global position (what `Last-Event-ID` does for reconnects).
    pub(crate) after: Option<i64>,
}

/// The position to start after: `Last-Event-ID`, else `?after=`, else the newest position
/// this process knows of (read from the database only before it knows any, so that ten
/// thousand watchers connecting cost no query each).
pub(crate) async fn start<S: Store>(
    app: &hereby_app::App<S>,
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
        None => match app.feed.newest() {
            0 => Ok(app.store.last_position().await?),
            newest => Ok(newest),
        },
    }
}

/// Subscribes `caller` to the feed after `after`, ending when their sign-in is revoked.
pub(crate) fn subscribe<S: Store>(
    app: &hereby_app::App<S>,
    caller: &Caller,
    after: i64,
) -> Subscription<S> {
    app.subscribe(after, Some((caller.0.name.clone(), caller.1.clone())))
}

/// How a stream writes a feed event: a name under which the writing is kept with the event
/// (so every stream of the same kind shares it) and the function that writes it.
pub(crate) type Writer = (&'static str, fn(&FeedEvent) -> Vec<Event>);

/// The SSE events for the feed events `caller` may see (of one incident, with `only`), each
/// written once per feed event by `write` for all the streams that use the same writer.
pub(crate) fn stream<S>(
    subscription: Subscription<S>,
    caller: User,
    only: Option<IncidentNumber>,
    write: Writer,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    S: Store,
{
    let state = Live {
        subscription,
        caller,
        only,
        write,
        pending: std::collections::VecDeque::new(),
    };
    futures_util::stream::unfold(state, |mut live| async move {
        let event = live.next().await?;
        Some((Ok(event), live))
    })
}

/// One open stream.
struct Live<S> {
    subscription: Subscription<S>,
    caller: User,
    only: Option<IncidentNumber>,
    write: Writer,
    /// Written events not sent yet (one feed event may make several).
    pending: std::collections::VecDeque<Event>,
}

impl<S: Store> Live<S> {
    /// The next SSE event; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let next = self.subscription.next().await?;
            if self.only.is_some_and(|only| only != next.event.incident)
                || !next.visible_to(&self.caller)
            {
                continue;
            }
            let (name, write) = self.write;
            self.pending
                .extend(next.rendered(name, write).iter().cloned());
        }
    }
}
