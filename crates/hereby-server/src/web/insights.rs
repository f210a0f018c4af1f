//! The insights page: where time goes, by severity, service and team, as medians and 90th
//! percentiles drawn as server-side SVG charts, each with its table; incidents per week; the
//! unavailability budgets; follow-up health; and the same figures as CSV.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_app::insights::Period;
use hereby_core::types::Severity;
use hereby_core::when::span;
use hereby_store::{Communications, Store};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::session::Viewer;
use super::{PageError, bad_query, show};
use crate::AppState;
use crate::html::charts::{self, Column, Part, Row};
use crate::html::render;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InsightsParams {
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    severity: String,
}

impl InsightsParams {
    /// The period asked for; the default is the last 90 days.
    fn period(&self) -> Result<Period, hereby_core::types::InvalidValue> {
        Period::read(
            Some(&self.since),
            Some(&self.until),
            Some(&self.service),
            Some(&self.team),
            Some(&self.severity),
            Timestamp::now(),
        )
    }

    /// The same filters as a query string, for the CSV link.
    fn query(&self) -> String {
        use crate::html::render::url_encode;
        [
            ("since", &self.since),
            ("until", &self.until),
            ("service", &self.service),
            ("team", &self.team),
            ("severity", &self.severity),
        ]
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, value)| format!("{name}={}", url_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// A chart with the table behind it.
#[derive(Debug, Serialize)]
struct Chart {
    id: &'static str,
    title: String,
    svg: minijinja::Value,
    /// What the colours stand for, where there is more than one.
    legend: Option<minijinja::Value>,
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn seconds(value: Option<i64>) -> String {
    value.map_or_else(|| "—".to_owned(), |s| span(SignedDuration::from_secs(s)))
}

/// A chart of one measure's median (bar) and p90 (whisker) for each group with `prefix`
/// (`severity:`), or of each measure for `all`.
fn distribution_chart(
    id: &'static str,
    title: String,
    figures: &[&api::DurationFigures],
    label: impl Fn(&api::DurationFigures) -> String,
) -> Chart {
    let rows: Vec<Row> = figures
        .iter()
        .map(|f| Row {
            label: label(f),
            parts: vec![Part {
                class: "median",
                value: f.median_seconds.unwrap_or(0) as f64,
            }],
            whisker: f.p90_seconds.map(|s| s as f64),
            figure: if f.count == 0 {
                "none reached it".to_owned()
            } else {
                format!(
                    "{} · p90 {} · n={}",
                    seconds(f.median_seconds),
                    seconds(f.p90_seconds),
                    f.count
                )
            },
        })
        .collect();
    Chart {
        id,
        svg: minijinja::Value::from_safe_string(charts::horizontal(id, &title, &rows)),
        legend: None,
        title,
        head: vec!["Group", "Incidents", "Median", "p90"],
        rows: figures
            .iter()
            .map(|f| {
                vec![
                    label(f),
                    f.count.to_string(),
                    seconds(f.median_seconds),
                    seconds(f.p90_seconds),
                ]
            })
            .collect(),
    }
}

fn measure_words(measure: &str) -> String {
    measure.replace('_', " ")
}

/// The charts of a report, in the order the page shows them.
fn charts_of(insights: &api::Insights) -> Vec<Chart> {
    let in_group = |prefix: &str, measure: &str| -> Vec<&api::DurationFigures> {
        insights
            .durations
            .iter()
            .filter(|f| f.group.starts_with(prefix) && f.measure == measure)
            .collect()
    };
    let all: Vec<&api::DurationFigures> = insights
        .durations
        .iter()
        .filter(|f| f.group == "all")
        .collect();
    let strip = |prefix: &'static str| {
        move |f: &api::DurationFigures| f.group.trim_start_matches(prefix).to_owned()
    };
    let mut charts = vec![
        distribution_chart(
            "chart-all",
            "Every incident: from impact start to each milestone (median bar, p90 whisker)"
                .to_owned(),
            &all,
            |f| measure_words(&f.measure),
        ),
        distribution_chart(
            "chart-severity",
            "Time to mitigate by severity".to_owned(),
            &in_group("severity:", "time_to_mitigate"),
            strip("severity:"),
        ),
        distribution_chart(
            "chart-service",
            "Time to resolve by service".to_owned(),
            &in_group("service:", "time_to_resolve"),
            strip("service:"),
        ),
        distribution_chart(
            "chart-team",
            "Time to mitigate by owning team".to_owned(),
            &in_group("team:", "time_to_mitigate"),
            strip("team:"),
        ),
    ];
    charts.retain(|chart| !chart.rows.is_empty());

    // Incidents per week, stacked by severity, every week of the period shown (quiet weeks
    // too, so the columns read as a timeline).
    let mut weeks: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    if !insights.per_week.is_empty() {
        for week in weeks_between(&insights.since, &insights.until) {
            weeks.entry(week).or_default();
        }
    }
    for count in &insights.per_week {
        *weeks
            .entry(count.week.clone())
            .or_default()
            .entry(count.severity.as_str())
            .or_default() += count.count;
    }
    if !weeks.is_empty() {
        let columns: Vec<Column> = weeks
            .iter()
            .map(|(week, counts)| Column {
                label: week.to_string(),
                parts: Severity::ALL
                    .iter()
                    .map(|severity| Part {
                        class: severity_class(*severity),
                        value: counts.get(severity.as_str()).copied().unwrap_or(0) as f64,
                    })
                    .collect(),
            })
            .collect();
        let title = "Incidents per week by severity".to_owned();
        charts.push(Chart {
            id: "chart-weeks",
            svg: minijinja::Value::from_safe_string(charts::columns(
                "chart-weeks",
                &title,
                &columns,
            )),
            legend: Some(minijinja::Value::from_safe_string(charts::legend(
                &Severity::ALL
                    .iter()
                    .map(|severity| (severity_class(*severity), severity.as_str()))
                    .collect::<Vec<_>>(),
            ))),
            title,
            head: std::iter::once("Week")
                .chain(Severity::ALL.iter().map(|s| s.as_str()))
                .collect(),
            rows: weeks
                .iter()
                .map(|(week, counts)| {
                    std::iter::once(week.to_string())
                        .chain(Severity::ALL.iter().map(|severity| {
                            counts
                                .get(severity.as_str())
                                .copied()
                                .unwrap_or(0)
                                .to_string()
                        }))
                        .collect()
                })
                .collect(),
        });
    }

    if !insights.budgets.is_empty() {
        let title = "Unavailability budget this quarter (used; whisker: allowance)".to_owned();
        let rows: Vec<Row> = insights
            .budgets
            .iter()
            .map(|b| Row {
                label: b.service.clone(),
                parts: vec![Part {
                    class: if b.remaining_seconds < 0 {
                        "overspent"
                    } else {
                        "used"
                    },
                    value: b.used_seconds as f64,
                }],
                whisker: Some(b.allowed_seconds as f64),
                figure: format!(
                    "{} of {}",
                    seconds(Some(b.used_seconds)),
                    seconds(Some(b.allowed_seconds))
                ),
            })
            .collect();
        charts.push(Chart {
            id: "chart-budgets",
            svg: minijinja::Value::from_safe_string(charts::horizontal(
                "chart-budgets",
                &title,
                &rows,
            )),
            legend: Some(minijinja::Value::from_safe_string(charts::legend(&[
                ("used", "used"),
                ("overspent", "over the allowance"),
            ]))),
            title,
            head: vec!["Service", "Allowed", "Used", "Remaining", "Incidents"],
            rows: insights
                .budgets
                .iter()
                .map(|b| {
                    vec![
                        b.service.clone(),
                        seconds(Some(b.allowed_seconds)),
                        seconds(Some(b.used_seconds)),
                        if b.remaining_seconds < 0 {
                            format!("{} over", seconds(Some(-b.remaining_seconds)))
                        } else {
                            seconds(Some(b.remaining_seconds))
                        },
                        b.incidents
                            .iter()
                            .map(|u| format!("{} ({})", u.incident, seconds(Some(u.used_seconds))))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect(),
        });
    }
    if !insights.workload.is_empty() {
        let title = "Time on incidents per person: working, late and sleeping hours".to_owned();
        let rows: Vec<Row> = insights
            .workload
            .iter()
            .map(|w| Row {
                label: w.person.clone(),
                parts: vec![
                    Part {
                        class: "working",
                        value: w.working_seconds as f64,
                    },
                    Part {
                        class: "late",
                        value: w.late_seconds as f64,
                    },
                    Part {
                        class: "sleeping",
                        value: w.sleeping_seconds as f64,
                    },
                ],
                whisker: None,
                figure: seconds(Some(w.total_seconds)),
            })
            .collect();
        charts.push(Chart {
            id: "chart-workload",
            svg: minijinja::Value::from_safe_string(charts::horizontal(
                "chart-workload",
                &title,
                &rows,
            )),
            legend: Some(minijinja::Value::from_safe_string(charts::legend(&[
                ("working", "working hours"),
                ("late", "late"),
                ("sleeping", "sleeping hours"),
            ]))),
            title,
            head: vec![
                "Person",
                "Total",
                "Working",
                "Late",
                "Sleeping",
                "Incidents",
                "Actions",
            ],
            rows: insights
                .workload
                .iter()
                .map(|w| {
                    vec![
                        w.person.clone(),
                        seconds(Some(w.total_seconds)),
                        seconds(Some(w.working_seconds)),
                        seconds(Some(w.late_seconds)),
                        seconds(Some(w.sleeping_seconds)),
                        w.incidents.to_string(),
                        w.actions.to_string(),
                    ]
                })
                .collect(),
        });
    }
    charts
}

/// Every ISO week (`2026-W47`) from `since` to `until` (RFC 3339 times), or none for a period
/// of more than about five years, where only the weeks with incidents are drawn.
fn weeks_between(since: &str, until: &str) -> Vec<String> {
    let (Ok(since), Ok(until)) = (since.parse::<Timestamp>(), until.parse::<Timestamp>()) else {
        return Vec::new();
    };
    let utc = jiff::tz::TimeZone::UTC;
    let last = until.to_zoned(utc.clone()).date();
    let mut day = since.to_zoned(utc).date();
    let mut weeks = Vec::new();
    while day <= last && weeks.len() <= 262 {
        let week = day.iso_week_date();
        weeks.push(format!("{:04}-W{:02}", week.year(), week.week()));
        let Ok(next) = day.checked_add(jiff::Span::new().days(7)) else {
            break;
        };
        day = next;
    }
    // The last day's week, when the seven-day steps passed over it.
    let week = last.iso_week_date();
    weeks.push(format!("{:04}-W{:02}", week.year(), week.week()));
    weeks.dedup();
    if weeks.len() > 262 { Vec::new() } else { weeks }
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Sev1 => "sev1",
        Severity::Sev2 => "sev2",
        Severity::Sev3 => "sev3",
        Severity::Sev4 => "sev4",
    }
}

/// The report `viewer` asked for, or the refusal to show on the page.
async fn report<S: Store + Communications>(
    state: &AppState<S>,
    viewer: &Viewer,
    params: &InsightsParams,
) -> Result<Result<api::Insights, String>, PageError> {
    let period = match params.period() {
        Ok(period) => period,
        Err(error) => return Ok(Err(error.to_string())),
    };
    match state.app.insights(viewer.user(), &period).await {
        Ok(insights) => Ok(Ok(insights.wire())),
        Err(
            error @ (hereby_app::AppError::Refused { .. }
            | hereby_app::AppError::NotFound(_)
            | hereby_app::AppError::Invalid(_)),
        ) => Ok(Err(error.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// `GET /insights`
pub(crate) async fn page<S: Store + Communications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    params: Result<Query<InsightsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    let (status, insights, error) = match report(&state, &viewer, &params).await? {
        Ok(insights) => (StatusCode::OK, Some(insights), None),
        Err(error) => (StatusCode::BAD_REQUEST, None, Some(error)),
    };
    let charts = insights.as_ref().map(charts_of).unwrap_or_default();
    let change_caused = insights.as_ref().and_then(|i| {
        i.durations
            .iter()
            .find(|f| f.group == "change_caused" && f.measure == "time_to_mitigate")
    });
    show(
        status,
        "insights.html",
        minijinja::context! {
            viewer => viewer.context(),
            error => error,
            form => render::data(&params),
            csv => format!("/insights.csv?{}", params.query()),
            insights => insights.as_ref().map(|i| minijinja::context! {
                incidents => i.incidents,
                in_triage => i.in_triage,
                not_measured => i.not_measured.iter().map(|(status, count)| format!("{count} {}", status.replace('_', " "))).collect::<Vec<_>>(),
                since => hereby_core::when::clock(i.since.parse().unwrap_or_default()),
                until => hereby_core::when::clock(i.until.parse().unwrap_or_default()),
                capped => i.capped,
                follow_ups => render::data(&i.follow_ups),
                open_age => seconds(i.follow_ups.open_age_median_seconds),
                change_caused => change_caused.map(|f| minijinja::context! {
                    count => f.count,
                    median => seconds(f.median_seconds),
                    p90 => seconds(f.p90_seconds),
                }),
            }),
            charts => render::data(&charts),
            severities => Severity::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        },
    )
}

/// `GET /insights.csv`: the page's figures as CSV.
pub(crate) async fn csv<S: Store + Communications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    params: Result<Query<InsightsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    match report(&state, &viewer, &params).await? {
        Ok(insights) => Ok(csv_response(&insights)),
        Err(error) => Err(PageError::new(StatusCode::BAD_REQUEST, error)),
    }
}

/// A CSV download of `insights`.
pub(crate) fn csv_response(insights: &api::Insights) -> Response {
    let mut response = api::insights_csv(insights).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"hereby-insights.csv\""),
    );
    response
}
