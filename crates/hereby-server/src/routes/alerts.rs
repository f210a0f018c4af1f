//! Integrations (admins create, list, rotate and revoke them) and alert groups (as visible
//! as the incident they are attached to). The endpoints sources send to are the `ingest`
//! edge's.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_store::{Alerts, Communications, Directory, Store};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, base_url, incident_id};

/// `POST /api/v1/integrations` (admins): the key is in the answer, and nowhere ever again.
#[utoipa::path(
    post,
    path = "/api/v1/integrations",
    tag = "alerts",
    security(("bearer" = [])),
    request_body = api::IntegrationRequest,
    responses(
        (status = 201, description = "Created; the key and the configuration to paste are shown this once", body = api::IntegrationKey),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 409, description = "The name is taken", body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn add_integration<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<api::IntegrationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let base = base_url(state.app.public_url.as_deref(), &headers);
    let created = state
        .app
        .add_integration(
            &caller.0,
            &request.name,
            &request.kind,
            request.timeout.as_deref(),
            &base,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/integrations` (admins)
#[utoipa::path(
    get,
    path = "/api/v1/integrations",
    tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::Integration>),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_integrations<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::Integration>>, ApiError> {
    Ok(Json(state.app.integrations(&caller.0).await?))
}

/// `POST /api/v1/integrations/{name}/rotate` (admins): a new key; the old one works on for
/// the overlap.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/{name}/rotate",
    tag = "alerts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The integration")),
    request_body = api::RotateRequest,
    responses(
        (status = 200, body = api::IntegrationKey),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn rotate_integration<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::RotateRequest>,
) -> Result<Json<api::IntegrationKey>, ApiError> {
    let base = base_url(state.app.public_url.as_deref(), &headers);
    Ok(Json(
        state
            .app
            .rotate_integration(&caller.0, &name, request.overlap.as_deref(), &base)
            .await?,
    ))
}

/// `DELETE /api/v1/integrations/{name}` (admins): revoked; its keys open nothing from now on.
#[utoipa::path(
    delete,
    path = "/api/v1/integrations/{name}",
    tag = "alerts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The integration")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn revoke_integration<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_integration(&caller.0, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupQuery {
    /// Only the groups attached to this incident, e.g. `INC-7`.
    incident: Option<String>,
    /// At most this many (1 to 500, default 50).
    limit: Option<u32>,
}

/// `GET /api/v1/alert-groups`: newest first, those the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/alert-groups",
    tag = "alerts",
    security(("bearer" = [])),
    params(GroupQuery),
    responses(
        (status = 200, body = Vec<api::AlertGroup>),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, description = "No such incident, or not visible to the caller", body = api::ErrorBody),
    )
)]
pub(crate) async fn list_groups<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    query: Result<Query<GroupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<api::AlertGroup>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let incident = query.incident.as_deref().map(incident_id).transpose()?;
    Ok(Json(
        state
            .app
            .alert_groups(&caller.0, incident, query.limit.unwrap_or(50))
            .await?,
    ))
}

/// `GET /api/v1/alert-groups/{id}`: a group and its newest alerts.
#[utoipa::path(
    get,
    path = "/api/v1/alert-groups/{id}",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group")),
    responses(
        (status = 200, body = api::AlertGroupDetail),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_group<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<api::AlertGroupDetail>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::not_found(format!("alert group `{raw}`")))?;
    Ok(Json(state.app.alert_group(&caller.0, id).await?))
}

/// `POST /api/v1/alert-groups/{id}/attach`: a person attaches a group to an incident.
#[utoipa::path(
    post,
    path = "/api/v1/alert-groups/{id}/attach",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group")),
    request_body = api::AttachRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No such group or incident, or not visible to the caller", body = api::ErrorBody),
        (status = 409, description = "The group is attached to an incident already", body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn attach_group<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(request): ApiJson<api::AttachRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::not_found(format!("alert group `{raw}`")))?;
    let incident = incident_id(&request.incident)?;
    let outcome = state
        .app
        .attach_alert_group(&caller.0, id, incident)
        .await?;
    Ok(Json(crate::convert::write_result(&outcome)))
}

/// `POST /api/v1/alert-groups/{id}/ack`: a person says they are on it; the group opens no
/// incident by its route's policy, also after a resolve and a re-fire inside the reopen
/// window.
#[utoipa::path(
    post,
    path = "/api/v1/alert-groups/{id}/ack",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group")),
    responses(
        (status = 200, body = api::AlertGroup),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No such group, or not visible to the caller", body = api::ErrorBody),
    )
)]
pub(crate) async fn acknowledge_group<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<api::AlertGroup>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::not_found(format!("alert group `{raw}`")))?;
    Ok(Json(
        state.app.acknowledge_alert_group(&caller.0, id).await?,
    ))
}

/// `POST /api/v1/alert-groups/{id}/silence`: the group's new firing alerts are kept as
/// suppressed for a while (`0s` lifts it).
#[utoipa::path(
    post,
    path = "/api/v1/alert-groups/{id}/silence",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group")),
    request_body = api::SilenceRequest,
    responses(
        (status = 200, body = api::AlertGroup),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No such group, or not visible to the caller", body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn silence_group<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(request): ApiJson<api::SilenceRequest>,
) -> Result<Json<api::AlertGroup>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::not_found(format!("alert group `{raw}`")))?;
    Ok(Json(
        state
            .app
            .silence_alert_group(
                &caller.0,
                id,
                &request.duration,
                request.reason.as_deref().unwrap_or(""),
            )
            .await?,
    ))
}
