//! The alerts page: every alert group the viewer may see, newest first, with its state
//! (firing, flapping, acknowledged, silenced, held) and its incident, kept current by the
//! process's alert feed (`/alerts/live` says `changed`, the page fetches its table again).
//! Responders acknowledge and silence groups from it.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use hereby_store::{Alerts, Communications, Directory, Store};
use jiff::Timestamp;

use super::PageError;
use super::session::{SignedForm, Viewer};
use crate::AppState;
use crate::error::ApiError;
use crate::html::render;

/// How many groups the page lists.
const SHOWN: u32 = 200;

/// The groups as the table shows them.
async fn groups<S: Store + Directory + Communications + Alerts>(
    state: &AppState<S>,
    viewer: &Viewer,
) -> Result<Vec<minijinja::Value>, PageError> {
    let now = Timestamp::now();
    let groups = state
        .app
        .alert_groups(viewer.user(), None, SHOWN)
        .await
        .map_err(ApiError::from)?;
    Ok(groups
        .iter()
        .map(|group| {
            let ago = |at: &str| {
                at.parse::<Timestamp>()
                    .map(|at| render::ago(at, now))
                    .unwrap_or_default()
            };
            minijinja::context! {
                id => group.id,
                title => &group.title,
                label => &group.label,
                route => &group.route,
                severity => &group.severity,
                service => &group.service,
                firing => group.firing,
                alerts => group.alerts,
                events => group.events,
                incident => &group.incident,
                flapping => group.flapping,
                acknowledged_by => &group.acknowledged_by,
                silenced_by => &group.silenced_by,
                silenced_until => group.silenced_until.as_deref().map(ago),
                held => group.held_until.is_some(),
                last => ago(&group.last_alert_at),
            }
        })
        .collect())
}

/// The page (or its table alone) with the groups the viewer may see, and an error to show.
async fn render<S: Store + Directory + Communications + Alerts>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let groups = groups(state, viewer).await?;
    super::show(
        status,
        template,
        minijinja::context! { viewer => viewer.context(), groups => groups, error => error },
    )
}

/// `GET /alerts`
pub(crate) async fn page<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    render(&state, &viewer, StatusCode::OK, "alerts.html", None).await
}

/// `GET /fragments/alerts`: the table alone, for the live page.
pub(crate) async fn fragment<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    render(&state, &viewer, StatusCode::OK, "alert_groups.html", None).await
}

/// `GET /alerts/live`: `changed` whenever alerts or groups change. What the viewer may see
/// is decided when the table is fetched again, so the signal itself carries nothing.
pub(crate) async fn live<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    _viewer: Viewer,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.app.alerts_changed();
    let events = futures_util::stream::unfold(changes, |mut changes| async move {
        changes.changed().await.ok()?;
        let generation = *changes.borrow_and_update();
        Some((
            Ok(Event::default()
                .event("changed")
                .data(generation.to_string())),
            changes,
        ))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// `POST /alerts/{id}/ack` and `POST /alerts/{id}/silence`: the page's forms, through the
/// same application calls as the API.
pub(crate) async fn act<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let done = async {
        let group: i64 = id
            .parse()
            .map_err(|_| ApiError::not_found(format!("alert group `{id}`")))?;
        match action.as_str() {
            "ack" => state
                .app
                .acknowledge_alert_group(viewer.user(), group)
                .await
                .map(|_| ())
                .map_err(ApiError::from),
            "silence" => state
                .app
                .silence_alert_group(
                    viewer.user(),
                    group,
                    fields.get("for").unwrap_or_default(),
                    fields.get("reason").unwrap_or_default(),
                )
                .await
                .map(|_| ())
                .map_err(ApiError::from),
            other => Err(ApiError::not_found(format!("alert action `{other}`"))),
        }
    }
    .await;
    match done {
        Ok(()) => Redirect::to("/alerts").into_response(),
        Err(error) => render(
            &state,
            &viewer,
            error.status,
            "alerts.html",
            Some(error.message),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}
