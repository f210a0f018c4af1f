//! Follow-ups in trackers: opening one in a tracker, unlinking it, and reading how the
//! incident's tracked follow-ups last synced.

use axum::Json;
use axum::extract::{Path, State};
use hereby_api as api;
use hereby_store::{Directory, Notifications, Store};

use super::incidents::item_number;
use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch, incident_id};

/// `POST /api/v1/incidents/{id}/action-items/{item}/export`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}/export",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The follow-up's number"),
    ),
    request_body = api::ExportRequest,
    responses(
        (status = 200, body = api::WriteResult, description = "Asked: the outbox opens the issue, and the follow-up's state is the tracker's from now on"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody, description = "`invalid_value` (no tracker of that name), `already_tracked`, `action_item_state`, `incident_ended` …"),
    )
)]
pub(crate) async fn export_action_item<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ExportRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let incident = incident_id(&id)?;
    let item = item_number(&item)?;
    let outcome = state
        .app
        .export_follow_up(&caller.0, incident, item, &request.tracker, if_match.0)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
}

/// `POST /api/v1/incidents/{id}/action-items/{item}/unlink`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}/unlink",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The follow-up's number"),
    ),
    request_body = api::UnlinkRequest,
    responses(
        (status = 200, body = api::WriteResult, description = "The follow-up's state is kept in hereby again"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody, description = "`not_tracked`: not kept in a tracker"),
    )
)]
pub(crate) async fn unlink_action_item<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::UnlinkRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let incident = incident_id(&id)?;
    let item = item_number(&item)?;
    let outcome = state
        .app
        .unlink_follow_up(&caller.0, incident, item, &request.reason, if_match.0)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
}

/// `GET /api/v1/incidents/{id}/tracked-items`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/tracked-items",
    tag = "incidents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, body = Vec<api::TrackedFollowUp>, description = "The follow-ups kept in trackers, with when each last synced and any sync error"),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_tracked_items<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<api::TrackedFollowUp>>, ApiError> {
    let incident = incident_id(&id)?;
    Ok(Json(
        state.app.tracked_follow_ups(&caller.0, incident).await?,
    ))
}
