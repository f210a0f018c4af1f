//! Post-mortem review meetings: an incident's agenda, minutes and next meeting (with its
//! iCalendar invitation), recording a meeting, moving the next one, and the overview of
//! upcoming meetings and overdue follow-ups across incidents.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use hereby_api as api;
use hereby_core::Command;
use hereby_store::{Directory, Notifications, Store};
use jiff::Timestamp;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch};
use crate::routes::incidents::{act, incident_id};

/// `GET /api/v1/incidents/{id}/reviews`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "The agenda (every follow-up, open ones first), the next meeting and the minutes of those held", body = api::Reviews),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::Reviews>, ApiError> {
    let reviews = state.app.reviews(&caller.0, incident_id(&id)?).await?;
    Ok(Json(reviews))
}

/// `POST /api/v1/incidents/{id}/reviews`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::RecordMeeting,
    responses(
        (status = 200, description = "Recorded; while a follow-up stays open the next meeting is scheduled one interval later", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "`invalid_review_meeting`, `action_item_state`, `reason_required` …", body = api::ErrorBody),
    )
)]
pub(crate) async fn record<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::RecordMeeting>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let outcome = state
        .app
        .record_review_meeting(&caller.0, incident_id(&id)?, if_match.0, &request)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
}

/// `PUT /api/v1/incidents/{id}/reviews/next`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/reviews/next",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::ScheduleMeeting,
    responses(
        (status = 200, description = "The next meeting is set for that time", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn schedule<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::ScheduleMeeting>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let at: Timestamp =
        request
            .at
            .trim()
            .parse()
            .map_err(|_| hereby_core::types::InvalidValue {
                field: "at",
                problem: format!(
                    "`{}` is not a time like 2026-12-30T15:00:00Z",
                    request.at.trim()
                ),
            })?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::ScheduleReviewMeeting { at },
    )
    .await
}

/// `GET /api/v1/incidents/{id}/reviews/next.ics`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/reviews/next.ics",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "The next meeting's invitation", content_type = "text/calendar"),
        (status = 401, body = api::ErrorBody),
        (status = 404, description = "No such incident, or no meeting planned", body = api::ErrorBody),
    )
)]
pub(crate) async fn next_ics<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invitation = state
        .app
        .next_meeting_ics(&caller.0, incident_id(&id)?)
        .await?;
    Ok(convert::file(invitation))
}

/// `GET /api/v1/reviews`
#[utoipa::path(
    get,
    path = "/api/v1/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resolved incidents the caller may see with a meeting planned or follow-ups open, soonest meeting first, with their overdue follow-ups", body = api::ReviewOverview),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn overview<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<api::ReviewOverview>, ApiError> {
    let overview = state.app.reviews_overview(&caller.0).await?;
    Ok(Json(overview))
}
