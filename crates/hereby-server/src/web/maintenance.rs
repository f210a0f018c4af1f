//! The Maintenance page: scheduled maintenance for responders: the list (not completed, and
//! completed in the last 90 days), a form to schedule one, and on each an update form (words,
//! a move forward, or both) and, before it begins, removal. Every rule is the application's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hereby_core::maintenance::MaintenanceStatus;
use hereby_store::{Communications, Directory, Notifications, Store};
use serde::Serialize;

use super::PageError;
use super::render::data;
use super::session::{SignedForm, Viewer};
use super::show;
use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
struct UpdateRow {
    status: &'static str,
    body: String,
    author: String,
    at: String,
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    title: String,
    components: Vec<String>,
    status: &'static str,
    label: &'static str,
    starts_at: String,
    ends_at: String,
    /// The statuses it may move to now.
    next: Vec<&'static str>,
    removable: bool,
    updates: Vec<UpdateRow>,
}

async fn view<S: Store + Directory + Communications + Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let maintenances = state
        .app
        .maintenances(None, None, 200)
        .await
        .map_err(ApiError::from)?;
    let rows: Vec<Row> = maintenances
        .iter()
        .map(|m| Row {
            id: m.id,
            title: m.title.clone(),
            components: m.components.iter().map(ToString::to_string).collect(),
            status: m.schedule.status.as_str(),
            label: m.schedule.status.label(),
            starts_at: super::render::clock(m.schedule.starts_at),
            ends_at: super::render::clock(m.schedule.ends_at),
            // Asked of the core's rule, never decided here.
            next: MaintenanceStatus::ALL
                .into_iter()
                .filter(|to| m.schedule.may_move_to(*to).is_ok())
                .map(MaintenanceStatus::as_str)
                .collect(),
            removable: m.schedule.may_remove().is_ok(),
            updates: m
                .updates
                .iter()
                .map(|u| UpdateRow {
                    status: u.status.label(),
                    body: u.body.clone(),
                    author: u.author.to_string(),
                    at: super::render::clock(u.at),
                })
                .collect(),
        })
        .collect();
    let components: Vec<String> = state
        .store
        .list_components()
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    show(
        status,
        "maintenance.html",
        minijinja::context! {
            viewer => viewer.context(),
            maintenances => data(&rows),
            components => components,
            error => error,
        },
    )
}

/// `GET /maintenance`
pub(crate) async fn page<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    view(&state, &viewer, StatusCode::OK, None).await
}

/// What a change gives back: the list again, or the list with the refusal.
async fn after<S: Store + Directory + Communications + Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
    result: Result<(), ApiError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/maintenance").into_response(),
        Err(error) => view(state, viewer, error.status, Some(&error.message))
            .await
            .unwrap_or_else(IntoResponse::into_response),
    }
}

/// `POST /maintenance`: schedule one. Times are UTC (`datetime-local`).
pub(crate) async fn schedule<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let request = hereby_api::PutMaintenance {
        title: fields.get("title").unwrap_or_default().to_owned(),
        components: fields.all("components").map(str::to_owned).collect(),
        starts_at: fields.get("starts_at").unwrap_or_default().to_owned(),
        ends_at: fields.get("ends_at").unwrap_or_default().to_owned(),
        auto_start: Some(fields.get("manual_start").is_none()),
        auto_complete: Some(fields.get("manual_complete").is_none()),
        body: fields.get("body").map(str::to_owned),
        notify: Some(fields.get("quiet").is_none()),
    };
    let result = state
        .app
        .schedule_maintenance(viewer.user(), &request)
        .await
        .map(drop)
        .map_err(ApiError::from);
    after(&state, &viewer, result).await
}

/// `POST /maintenance/{id}`: `op` is `update` (status and/or words) or `remove`.
pub(crate) async fn change<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return after(
            &state,
            &viewer,
            Err(ApiError::not_found(format!("maintenance `{id}`"))),
        )
        .await;
    };
    let quiet = fields.get("quiet").is_some();
    let result = match fields.get("op").unwrap_or("update") {
        "remove" => state
            .app
            .remove_maintenance(viewer.user(), id, quiet)
            .await
            .map_err(ApiError::from),
        _ => {
            let request = hereby_api::MaintenanceUpdateRequest {
                status: fields.get("status").map(str::to_owned),
                body: fields.get("body").map(str::to_owned),
                notify: Some(!quiet),
            };
            state
                .app
                .update_maintenance(viewer.user(), id, &request)
                .await
                .map(drop)
                .map_err(ApiError::from)
        }
    };
    after(&state, &viewer, result).await
}
