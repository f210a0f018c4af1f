//! Incidents: declare, list, read the state document and the timeline, and act on them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_core::Command;
use hereby_core::types::{IncidentNumber, InstallationRole, ServiceName, Severity, Status};
use hereby_store::{Directory, ListQuery, Loaded, Store};
use serde::Deserialize;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch, OptionalJson};

pub(crate) use crate::extract::incident_id;

/// Loads an incident the caller may see. A restricted incident is visible to admins and its
/// members only; to anyone else it does not exist.
pub(crate) async fn visible<S: Store + Directory>(
    state: &AppState<S>,
    caller: &Caller,
    incident: IncidentNumber,
) -> Result<Loaded, ApiError> {
    Ok(state.app.visible(&caller.0, incident).await?)
}

/// Whether `caller` may see `incident` now, for streams and exports that skip what they may
/// not show instead of failing.
pub(crate) async fn may_see<S: Store + Directory>(
    state: &AppState<S>,
    caller: &Caller,
    incident: IncidentNumber,
) -> bool {
    state.app.may_see(&caller.0, incident).await
}

/// Runs a command on an incident the caller may see and change, and answers with what was
/// appended.
pub(crate) async fn act<S: Store + Directory>(
    state: &AppState<S>,
    caller: &Caller,
    raw_id: &str,
    if_match: IfMatch,
    command: Command,
) -> Result<Json<api::WriteResult>, ApiError> {
    let incident = incident_id(raw_id)?;
    let outcome = state
        .app
        .act(&caller.0, incident, if_match.0, command)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
}

/// `POST /api/v1/incidents`
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    security(("bearer" = [])),
    request_body = api::DeclareRequest,
    responses(
        (status = 201, body = api::IncidentDocument),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn declare_incident<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::DeclareRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(InstallationRole::Responder)?;
    let command = Command::try_from(request)?;
    let outcome = state.app.declare(&caller.0, command).await?;
    let number = outcome.incident;
    let Some(incident) = outcome.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/incidents/{number}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(convert::document(
            number,
            incident,
            &state.policy,
            &state.cadence,
        )),
    ))
}

/// Filters and paging of `GET /api/v1/incidents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Comma-separated statuses, or `active` for investigating, identified and monitoring.
    status: Option<String>,
    /// Comma-separated severities.
    severity: Option<String>,
    service: Option<String>,
    /// Text to find in the title or summary, ignoring case.
    q: Option<String>,
    limit: Option<u32>,
    before: Option<u64>,
}

/// `GET /api/v1/incidents`
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "Comma-separated statuses, or `active`"),
        ("severity" = Option<String>, Query, description = "Comma-separated severities"),
        ("service" = Option<String>, Query),
        ("q" = Option<String>, Query, description = "Text to find in the title or summary, ignoring case"),
        ("limit" = Option<u32>, Query, description = "1 to 500; 50 when absent"),
        ("before" = Option<u64>, Query, description = "Only incidents numbered below this: the next page cursor"),
    ),
    responses(
        (status = 200, body = api::IncidentPage),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_incidents<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::IncidentPage>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let statuses = match params.status.as_deref() {
        None => Vec::new(),
        Some("active") => vec![
            Status::Investigating,
            Status::Identified,
            Status::Monitoring,
        ],
        Some(list) => list
            .split(',')
            .map(Status::parse)
            .collect::<Result<_, _>>()?,
    };
    let severities = match params.severity.as_deref() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(Severity::parse)
            .collect::<Result<_, _>>()?,
    };
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    let query = ListQuery {
        limit,
        before: params.before.map(IncidentNumber),
        statuses,
        severities,
        visibilities: Vec::new(),
        service: params
            .service
            .as_deref()
            .map(ServiceName::parse)
            .transpose()?,
        text: hereby_api::search_text(params.q.as_deref())?,
        visible_to: (!caller.is_admin()).then(|| caller.0.name.clone()),
    };
    let rows = state.store.list_incidents(&query).await?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.number.0))
        .flatten();
    Ok(Json(api::IncidentPage {
        incidents: rows.iter().map(convert::summary).collect(),
        next_before,
    }))
}

/// `GET /api/v1/incidents/{id}`: the state document, with its version as `ETag`.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    responses(
        (status = 200, body = api::IncidentDocument),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_incident<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let incident = incident_id(&id)?;
    let loaded = visible(&state, &caller, incident).await?;
    let Some(declared) = loaded.state.incident() else {
        return Err(ApiError::not_found(incident));
    };
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", loaded.version)) {
        headers.insert(header::ETAG, etag);
    }
    Ok((
        headers,
        Json(convert::document(
            incident,
            declared,
            &state.policy,
            &state.cadence,
        )),
    ))
}

/// Paging of `GET /api/v1/incidents/{id}/timeline`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimelineParams {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /api/v1/incidents/{id}/timeline`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/timeline",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("after" = Option<u64>, Query, description = "Only entries after this sequence number"),
        ("limit" = Option<u32>, Query),
    ),
    responses(
        (status = 200, body = api::Timeline),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn timeline<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<TimelineParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::Timeline>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let incident = incident_id(&id)?;
    visible(&state, &caller, incident).await?;
    let limit = params.limit.unwrap_or(200).clamp(1, 1_000);
    let stored = state
        .store
        .read_stream(incident, params.after.unwrap_or(0), limit)
        .await?;
    let entries = stored
        .iter()
        .map(|event| event.decode().map(|recorded| convert::entry(&recorded)))
        .collect::<Result<Vec<_>, _>>()?;
    let next_after = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.sequence))
        .flatten();
    Ok(Json(api::Timeline {
        entries,
        next_after,
    }))
}

/// `POST /api/v1/incidents/{id}/notes`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/notes",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::NoteRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn add_note<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::NoteRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/updates`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/updates",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::UpdateRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn post_update<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::UpdateRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `PUT /api/v1/incidents/{id}/public-summary` (Communications and the Incident Commander)
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/public-summary",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::PublicSummaryRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_public_summary<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::PublicSummaryRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/visibility`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/visibility",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::VisibilityRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn change_visibility<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::VisibilityRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/roles`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/roles",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::RoleRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn assign_role<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::RoleRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `DELETE /api/v1/incidents/{id}/roles/{role}/{person}`
#[utoipa::path(
    delete,
    path = "/api/v1/incidents/{id}/roles/{role}/{person}",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("role" = String, Path),
        ("person" = String, Path),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn unassign_role<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, role, person)): Path<(String, String, String)>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = api::RoleRequest { role, person }.unassign()?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/handoff`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/handoff",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::HandoffRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn request_handoff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::HandoffRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/handoff/accept`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/handoff/accept",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn accept_handoff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    act(&state, &caller, &id, if_match, Command::AcceptHandoff).await
}

/// `POST /api/v1/incidents/{id}/take-command`: for an incident nobody commands (one a route
/// opened from alerts), the caller becomes Incident Commander.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/take-command",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "Someone commands it already (use_handoff)", body = api::ErrorBody),
    )
)]
pub(crate) async fn take_command<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    act(&state, &caller, &id, if_match, Command::TakeCommand).await
}

/// `POST /api/v1/incidents/{id}/triage/accept`: a candidate from alerts becomes an incident
/// under investigation, led by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/triage/accept",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "Not a candidate (not_candidate)", body = api::ErrorBody),
    )
)]
pub(crate) async fn accept_candidate<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    act(&state, &caller, &id, if_match, Command::AcceptCandidate).await
}

/// `POST /api/v1/incidents/{id}/triage/decline`: a candidate was not an incident (a reason
/// is required); no figure counts it.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/triage/decline",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn decline_candidate<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.decline_candidate()?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/triage/merge`: a candidate goes into another incident, which
/// takes its alert groups.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/triage/merge",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The candidate, e.g. INC-9"),
    ),
    request_body = api::MergeRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No such incident, or not visible to the caller", body = api::ErrorBody),
        (status = 409, description = "The other incident has ended", body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn merge_candidate<
    S: Store + Directory + hereby_store::Communications + hereby_store::Alerts,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::MergeRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let candidate = crate::extract::incident_id(&id)?;
    let into = crate::extract::incident_id(&request.into)?;
    let outcome = state
        .app
        .merge_candidate(&caller.0, candidate, into)
        .await?;
    Ok(Json(crate::convert::write_result(&outcome)))
}

/// `POST /api/v1/incidents/{id}/handoff/decline`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/handoff/decline",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn decline_handoff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    OptionalJson(request): OptionalJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.decline_handoff()?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/handoff/cancel`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/handoff/cancel",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn cancel_handoff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    act(&state, &caller, &id, if_match, Command::CancelHandoff).await
}

/// `POST /api/v1/incidents/{id}/severity`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/severity",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::SeverityRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn change_severity<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::SeverityRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/status`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/status",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::StatusRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn change_status<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::StatusRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/resolve`: service is back to normal.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/resolve",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn resolve<
    S: Store + Directory + hereby_store::Communications + hereby_store::Alerts,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    OptionalJson(request): OptionalJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.change_status(Status::Resolved)?;
    let Json(mut result) = act(&state, &caller, &id, if_match, command).await?;
    // Resolved while its alerts still fire: said now rather than found out at the next page.
    // The resolve is done whatever happens here, so a failure to look costs only the warning.
    match state
        .app
        .still_firing(&caller.0, crate::extract::incident_id(&id)?)
        .await
    {
        Ok(warnings) => result.warnings = warnings,
        Err(error) => {
            tracing::warn!(%error, "cannot tell whether a resolved incident's alerts still fire")
        }
    }
    Ok(Json(result))
}

/// `POST /api/v1/incidents/{id}/call-off`: it was not an incident after all.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/call-off",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn call_off<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.change_status(Status::CalledOff)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/hand-back`: back to ordinary support.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/hand-back",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn hand_back<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.change_status(Status::HandedBack)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `PUT /api/v1/incidents/{id}/impact`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/impact",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ImpactRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_impact<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ImpactRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/milestones`: the Incident Commander sets a milestone's time
/// by hand, saying why; refused when it would overtake another milestone.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/milestones",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::MilestoneRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_milestone<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::MilestoneRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/operations`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/operations",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::OperationRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn record_operation<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::OperationRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/links`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/links",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::LinkRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn add_link<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::LinkRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/action-items`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::ActionItemRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn add_action_item<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ActionItemRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `PATCH /api/v1/incidents/{id}/action-items/{item}`
#[utoipa::path(
    patch,
    path = "/api/v1/incidents/{id}/action-items/{item}",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The action item number"),
    ),
    request_body = api::ActionItemChange,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn update_action_item<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ActionItemChange>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let item = item_number(&item)?;
    let command = request.command(item)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/action-items/{item}/done`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}/done",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The action item number"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn complete_action_item<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    let item = item_number(&item)?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::CompleteActionItem { item },
    )
    .await
}

/// `POST /api/v1/incidents/{id}/action-items/{item}/wont-fix`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}/wont-fix",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The action item number"),
    ),
    request_body = api::ReasonRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn wont_fix_action_item<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::ReasonRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let item = item_number(&item)?;
    let command = request.wont_fix(item)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/action-items/{item}/reopen`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}/reopen",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("item" = u32, Path, description = "The action item number"),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn reopen_action_item<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    let item = item_number(&item)?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::ReopenActionItem { item },
    )
    .await
}

/// `POST /api/v1/incidents/{id}/members`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/members",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
    ),
    request_body = api::MemberRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn add_member<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::MemberRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.add()?;
    act(&state, &caller, &id, if_match, command).await
}

/// `DELETE /api/v1/incidents/{id}/members/{person}`
#[utoipa::path(
    delete,
    path = "/api/v1/incidents/{id}/members/{person}",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("person" = String, Path),
    ),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_member<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, person)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = api::MemberRequest { person }.remove()?;
    act(&state, &caller, &id, if_match, command).await
}

/// Parses the `{item}` path segment; anything but a number names no item.
pub(crate) fn item_number(raw: &str) -> Result<u32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("action item `{raw}`")))
}
