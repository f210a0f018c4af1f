//! Figures across incidents: durations as distributions per group.

use axum::Json;
use axum::extract::{Query, State};
use hereby_api as api;
use hereby_app::insights::Period;
use hereby_core::insights::Group;
use hereby_core::types::{ServiceName, Severity};
use hereby_store::{Directory, Store};
use jiff::{SignedDuration, Timestamp};
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
    severity: Option<String>,
}

/// A period bound: a time (`2026-09-01T00:00:00Z`, `2026-09-01`) or a span back from now
/// (`90d`).
fn bound(field: &'static str, raw: &str, now: Timestamp) -> Result<Timestamp, ApiError> {
    if let Ok(span) = hereby_core::duration::Duration::parse(raw) {
        return now.checked_sub(span.signed()).map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("`{field}={raw}` reaches too far back"),
            )
        });
    }
    if let Ok(date) = raw.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|_| {
                ApiError::bad_request("invalid_query", format!("`{field}={raw}` is out of range"))
            });
    }
    hereby_api::time(field)(raw).map_err(|_| {
        ApiError::bad_request(
            "invalid_query",
            format!("`{field}={raw}` is not a time (2026-09-01T00:00:00Z), a day (2026-09-01) or a span back from now (90d)"),
        )
    })
}

fn group_name(group: &Group) -> String {
    match group {
        Group::All => "all".to_owned(),
        Group::Severity(severity) => format!("severity:{severity}"),
        Group::Service(service) => format!("service:{service}"),
        Group::Month(month) => format!("month:{month}"),
    }
}

fn seconds(duration: Option<SignedDuration>) -> Option<i64> {
    duration.map(|d| d.as_secs())
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
        ("severity" = Option<String>, Query, description = "Only these severities, comma-separated"),
    ),
    responses(
        (status = 200, body = api::Insights),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn insights<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<InsightsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::Insights>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let now = Timestamp::now();
    let since = bound("since", params.since.as_deref().unwrap_or("90d"), now)?;
    let until = match params.until.as_deref() {
        Some(raw) => bound("until", raw, now)?,
        None => now,
    };
    let severities = match params.severity.as_deref() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(Severity::parse)
            .collect::<Result<_, _>>()?,
    };
    let period = Period {
        since,
        until,
        service: params
            .service
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(ServiceName::parse)
            .transpose()?,
        severities,
    };
    let (report, capped) = state.app.insights(&caller.0, &period).await?;
    Ok(Json(api::Insights {
        since: since.to_string(),
        until: until.to_string(),
        incidents: report
            .incidents
            .get(&Group::All)
            .copied()
            .unwrap_or_default() as u64,
        in_triage: report.in_triage as u64,
        not_measured: report
            .not_measured
            .iter()
            .map(|(status, count)| (status.as_str().to_owned(), *count as u64))
            .collect(),
        durations: report
            .durations
            .iter()
            .map(|((group, measure), distribution)| api::DurationFigures {
                group: group_name(group),
                measure: measure.as_str().to_owned(),
                count: distribution.count as u64,
                median_seconds: seconds(distribution.median),
                p90_seconds: seconds(distribution.p90),
            })
            .collect(),
        follow_ups: api::FollowUpFigures {
            total: report.follow_ups.total as u64,
            open: report.follow_ups.open as u64,
            due_reached: report.follow_ups.due_reached as u64,
            done_by_due: report.follow_ups.done_by_due as u64,
            open_age_median_seconds: seconds(report.follow_ups.open_age.median),
            open_age_p90_seconds: seconds(report.follow_ups.open_age.p90),
            meetings_survived_median: seconds(report.follow_ups.meetings_survived.median),
            meetings_survived_p90: seconds(report.follow_ups.meetings_survived.p90),
        },
        per_week: report
            .per_week
            .iter()
            .map(|((week, severity), count)| api::WeekCount {
                week: week.clone(),
                severity: severity.as_str().to_owned(),
                count: *count as u64,
            })
            .collect(),
        capped,
    }))
}
