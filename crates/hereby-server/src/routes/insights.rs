//! Figures across incidents: durations as distributions per group.

use axum::Json;
use axum::extract::{Query, State};
use hereby_api as api;
use hereby_app::insights::Period;
use hereby_store::{Communications, Directory, Store};
use jiff::Timestamp;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InsightsParams {
    since: Option<String>,
    until: Option<String>,
    service: Option<String>,
    team: Option<String>,
    severity: Option<String>,
}

fn invalid_query(invalid: hereby_core::types::InvalidValue) -> ApiError {
    ApiError::bad_request("invalid_query", invalid.to_string())
}

/// `GET /api/v1/insights`: durations from each incident's start to its milestones, as
/// count, median and 90th percentile, overall and per severity, service and month.
#[utoipa::path(
    get,
    path = "/api/v1/insights",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("since" = Option<String>, Query, description = "Incidents detected at or after: a time, a day or a span back from now such as 90d (default 90d)"),
        ("until" = Option<String>, Query, description = "Incidents detected before (default now)"),
        ("service" = Option<String>, Query, description = "Only incidents affecting this service"),
        ("team" = Option<String>, Query, description = "Only incidents affecting a service this team owns (by the catalogue)"),
        ("severity" = Option<String>, Query, description = "Only these severities, comma-separated"),
    ),
    responses(
        (status = 200, body = api::Insights),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn insights<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<InsightsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::Insights>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let period = Period::read(
        params.since.as_deref(),
        params.until.as_deref(),
        params.service.as_deref(),
        params.team.as_deref(),
        params.severity.as_deref(),
        Timestamp::now(),
    )
    .map_err(invalid_query)?;
    Ok(Json(state.app.insights(&caller.0, &period).await?.wire()))
}
