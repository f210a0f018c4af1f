//! Observability: Prometheus metrics at `/metrics` and one structured log line per request,
//! both recorded by one middleware; gauges of incidents and notification deliveries are read
//! from the store at scrape time.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hereby_store::{DeliveryState, Directory, Notifications, Store};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process-wide Prometheus recorder, installed on first use. `None` if another recorder
/// was installed first (then `/metrics` says so instead of showing nothing).
fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Installs the recorder; called when the app is built so every request is counted.
pub(crate) fn init() {
    let _ = recorder();
}

/// Counts and times every request by its route (not its concrete path, which would make a
/// series per incident), and logs it.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed();
    metrics::counter!("hereby_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.clone()).increment(1);
    metrics::histogram!("hereby_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()).record(elapsed.as_secs_f64());
    tracing::info!(
        method = %method,
        route = %route,
        status = %status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// A scraper with the metrics token (`hereby serve --metrics-token`), kept as its
    /// SHA-256 digest, or an admin with their API token.
    #[default]
    Protected,
    /// As [`MetricsAccess::Protected`], and also whoever sends this token's digest.
    Token([u8; 32]),
    /// Anyone (`hereby serve --metrics-public`): for a server only a private network reaches.
    Public,
}

/// Equal digests, compared in constant time.
pub(crate) fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Equal secrets, compared in constant time over their SHA-256 digests (so their lengths are
/// not told either).
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    let expected: [u8; 32] = Sha256::digest(expected.as_bytes()).into();
    same_digest(&given, &expected)
}

/// `GET /metrics`: Prometheus text format, with incidents by status and the pending and dead
/// notification deliveries read at scrape time. It needs the metrics token or an admin's API
/// token, unless the server was started with `--metrics-public`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/plain", description = "Prometheus metrics"),
        (status = 401, body = hereby_api::ErrorBody),
        (status = 403, body = hereby_api::ErrorBody),
    )
)]
pub(crate) async fn metrics<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    headers: axum::http::HeaderMap,
    caller: Result<crate::extract::Caller, crate::error::ApiError>,
) -> Response {
    if state.metrics_access != MetricsAccess::Public {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| crate::extract::token_digest(token.trim()));
        let scraper = match (&state.metrics_access, bearer) {
            (MetricsAccess::Token(expected), Some(sent)) => same_digest(expected, &sent),
            _ => false,
        };
        if !scraper {
            match caller {
                Ok(caller) if caller.is_admin() => {}
                Ok(_) => {
                    return crate::error::ApiError::forbidden(
                        "only the metrics token or an admin's API token reads /metrics",
                    )
                    .into_response();
                }
                Err(refused) => return refused.into_response(),
            }
        }
    }
    let Some(handle) = recorder() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable\n",
        )
            .into_response();
    };
    state.status.report_metrics();
    if let Ok(counts) = state.store.count_by_status().await {
        for status in hereby_core::types::Status::ALL {
            let count = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("hereby_incidents", "status" => status.as_str()).set(count as f64);
        }
    }
    // What is happening now: active incidents by severity, overdue stakeholder updates and
    // open follow-ups (over the incidents not yet ended).
    match state.app.live_figures().await {
        Ok(live) => {
            for severity in hereby_core::types::Severity::ALL {
                let count = live.active_by_severity.get(severity).copied().unwrap_or(0);
                metrics::gauge!("hereby_active_incidents", "severity" => severity.as_str())
                    .set(count as f64);
            }
            metrics::gauge!("hereby_updates_overdue").set(live.updates_overdue as f64);
            metrics::gauge!("hereby_follow_ups_open").set(live.follow_ups_open as f64);
        }
        Err(error) => tracing::warn!(%error, "cannot read the live figures for /metrics"),
    }
    // Follow-ups whose last sync with their tracker failed (a refused token, an issue gone),
    // per tracker.
    match state.app.tracker_sync_errors().await {
        Ok(counts) => {
            for (tracker, count) in counts {
                metrics::gauge!("hereby_tracker_sync_errors", "tracker" => tracker)
                    .set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count tracker sync errors for /metrics"),
    }
    // Deliveries waiting to be sent (a backlog, or a receiver that is down) and deliveries
    // given up on (each needs an admin's look). Both counts come from an index.
    for (delivery_state, gauge) in [
        (DeliveryState::Pending, "hereby_deliveries_pending"),
        (DeliveryState::Dead, "hereby_deliveries_dead"),
    ] {
        match state.store.count_deliveries(delivery_state).await {
            Ok(count) => metrics::gauge!(gauge).set(count as f64),
            Err(error) => tracing::warn!(%error, gauge, "cannot count deliveries for /metrics"),
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
