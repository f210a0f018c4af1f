//! Scheduled maintenance: listing, scheduling, changing the plan, posting updates (and moving
//! it on), removing one that has not begun. Everyone signed in reads; responders and admins
//! change.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hereby_api as api;
use hereby_app::maintenance::wire;
use hereby_core::types::InstallationRole;
use hereby_store::{Communications, Directory, Notifications, Store};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("maintenance `{raw}`")))
}

/// The list's filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    completed_since: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

/// Whether a removal tells subscribers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveParams {
    quiet: Option<bool>,
}

/// `GET /api/v1/maintenances`
#[utoipa::path(
    get,
    path = "/api/v1/maintenances",
    tag = "status page",
    security(("bearer" = [])),
    params(
        ("completed_since" = Option<String>, Query, description = "Also list those completed since this time (RFC 3339); 90 days back when absent"),
        ("before" = Option<String>, Query, description = "Only those starting before this time, to page back"),
        ("limit" = Option<u32>, Query, description = "1 to 500; 100 when absent"),
    ),
    responses(
        (status = 200, description = "Maintenances not completed, and those completed since the time, newest start first", body = Vec<api::Maintenance>),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_maintenances<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<api::Maintenance>>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let since = params
        .completed_since
        .as_deref()
        .map(|raw| api::time("completed_since")(raw.trim()))
        .transpose()
        .map_err(hereby_app::AppError::from)?;
    let before = params
        .before
        .as_deref()
        .map(|raw| api::time("before")(raw.trim()))
        .transpose()
        .map_err(hereby_app::AppError::from)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(
            hereby_app::AppError::from(hereby_core::types::InvalidValue::new(
                "limit",
                "must be between 1 and 500",
            ))
            .into(),
        );
    }
    let maintenances = state.app.maintenances(since, before, limit).await?;
    Ok(Json(maintenances.iter().map(wire).collect()))
}

/// `GET /api/v1/maintenances/{maintenance}`
#[utoipa::path(
    get,
    path = "/api/v1/maintenances/{maintenance}",
    tag = "status page",
    security(("bearer" = [])),
    params(("maintenance" = i64, Path, description = "The maintenance")),
    responses(
        (status = 200, body = api::Maintenance),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_maintenance<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<api::Maintenance>, ApiError> {
    Ok(Json(wire(&state.app.maintenance(id(&raw)?).await?)))
}

/// `POST /api/v1/maintenances` (responders): schedule a maintenance.
#[utoipa::path(
    post,
    path = "/api/v1/maintenances",
    tag = "status page",
    security(("bearer" = [])),
    request_body = api::PutMaintenance,
    responses(
        (status = 201, description = "Scheduled; subscribers asking for `maintenance` are told unless `notify` is false", body = api::Maintenance),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "A field is wrong (an end before the start, a component the status page does not have …)", body = api::ErrorBody),
    )
)]
pub(crate) async fn schedule_maintenance<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::PutMaintenance>,
) -> Result<(StatusCode, Json<api::Maintenance>), ApiError> {
    let created = state.app.schedule_maintenance(&caller.0, &request).await?;
    Ok((StatusCode::CREATED, Json(wire(&created))))
}

/// `PUT /api/v1/maintenances/{maintenance}` (responders): change the plan.
#[utoipa::path(
    put,
    path = "/api/v1/maintenances/{maintenance}",
    tag = "status page",
    security(("bearer" = [])),
    params(("maintenance" = i64, Path, description = "The maintenance")),
    request_body = api::PutMaintenance,
    responses(
        (status = 200, body = api::Maintenance),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "It kept changing meanwhile", body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "A field is wrong, or the plan may not change now (`maintenance_not_now`: completed, or a start moved once begun)", body = api::ErrorBody),
    )
)]
pub(crate) async fn replan_maintenance<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(request): ApiJson<api::PutMaintenance>,
) -> Result<Json<api::Maintenance>, ApiError> {
    // A viewer is refused before the lookup, as everywhere: what exists is not their business.
    caller.require(InstallationRole::Responder)?;
    let id = id(&raw)?;
    Ok(Json(wire(
        &state
            .app
            .replan_maintenance(&caller.0, id, &request)
            .await?,
    )))
}

/// `POST /api/v1/maintenances/{maintenance}/updates` (responders): words for the public, a move
/// forward, or both.
#[utoipa::path(
    post,
    path = "/api/v1/maintenances/{maintenance}/updates",
    tag = "status page",
    security(("bearer" = [])),
    params(("maintenance" = i64, Path, description = "The maintenance")),
    request_body = api::MaintenanceUpdateRequest,
    responses(
        (status = 201, description = "Posted", body = api::Maintenance),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "It kept changing meanwhile", body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "Nothing to say, an unknown status, or a move the rules refuse (`maintenance_not_now`: backwards, or after completion)", body = api::ErrorBody),
    )
)]
pub(crate) async fn post_maintenance_update<
    S: Store + Directory + Communications + Notifications,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(request): ApiJson<api::MaintenanceUpdateRequest>,
) -> Result<(StatusCode, Json<api::Maintenance>), ApiError> {
    caller.require(InstallationRole::Responder)?;
    let id = id(&raw)?;
    let changed = state
        .app
        .update_maintenance(&caller.0, id, &request)
        .await?;
    Ok((StatusCode::CREATED, Json(wire(&changed))))
}

/// `DELETE /api/v1/maintenances/{maintenance}` (responders): remove one that has not begun.
#[utoipa::path(
    delete,
    path = "/api/v1/maintenances/{maintenance}",
    tag = "status page",
    security(("bearer" = [])),
    params(
        ("maintenance" = i64, Path, description = "The maintenance"),
        ("quiet" = Option<bool>, Query, description = "Tell subscribers nothing (by default they hear it is cancelled)"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "It kept changing meanwhile", body = api::ErrorBody),
        (status = 422, description = "It has begun (`maintenance_not_now`): complete it instead", body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_maintenance<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    params: Result<Query<RemoveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(InstallationRole::Responder)?;
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    state
        .app
        .remove_maintenance(&caller.0, id(&raw)?, params.quiet.unwrap_or(false))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
