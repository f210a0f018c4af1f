//! Alerts in: the endpoints monitoring already knows how to call, each answering in the
//! words of the product it imitates. Prometheus Alertmanager's webhook
//! (`/ingest/alertmanager`), PagerDuty Events API v2 (`/v2/enqueue`), the Opsgenie Alert API
//! (`/v2/alerts`), a generic JSON or form endpoint (`/ingest/generic`) and heartbeat pings
//! (`/ingest/heartbeat`). Each finds its
//! integration by key, reads the body into signals and hands them to the application, which
//! has recorded them durably before the 2xx goes out. Trackers' webhooks
//! (`/ingest/trackers/{tracker}`) tell what became of exported follow-ups.

mod alertmanager;
mod generic;
mod opsgenie;
mod pagerduty;
mod timers;
mod trackers;

pub use timers::{AlertTimers, start_alert_timers};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_app::AppError;
use hereby_app::alerts::Received;
use hereby_core::alerts::Signal;
use hereby_store::{Alerts, Communications, Directory, Integration, Store};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// The largest payload accepted (PagerDuty's limit for an event).
pub(crate) const MAX_PAYLOAD: usize = 512 * 1024;

/// The routes, merged beside the API's: their bodies are read here, under their own limit.
pub(crate) fn routes<
    S: Store + Directory + Communications + Alerts + hereby_store::Notifications,
>(
    state: &AppState<S>,
) -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/ingest/alertmanager", post(alertmanager_webhook::<S>))
        .route("/ingest/generic", post(generic_event::<S>))
        .route("/ingest/heartbeat", post(heartbeat_ping::<S>))
        .route(
            "/ingest/trackers/{tracker}",
            post(trackers::tracker_webhook::<S>),
        )
        .route("/v2/enqueue", post(pagerduty_event::<S>))
        .route("/v2/change/enqueue", post(pagerduty_change::<S>))
        .route("/v2/alerts", post(opsgenie_create::<S>))
        .route(
            "/v2/alerts/{identifier}/{action}",
            post(opsgenie_action::<S>),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state.clone())
}

/// A fresh dedup key for an event that named none: 128 random bits, like PagerDuty's.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The key only has to be unique; the clock's nanoseconds are, on one node.
        return format!("{:032x}", Timestamp::now().as_nanosecond());
    }
    hex::encode(bytes)
}

/// Reads the body up to [`MAX_PAYLOAD`].
async fn read(body: Body) -> Result<Bytes, ()> {
    axum::body::to_bytes(body, MAX_PAYLOAD)
        .await
        .map_err(|_| ())
}

/// The key after `scheme` in the `Authorization` header.
fn key_from(headers: &HeaderMap, scheme: &str) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, key) = value.trim().split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| key.trim().to_owned())
}

/// Why an integration could not be used.
enum Refusal {
    /// No live integration has this key.
    Unknown,
    /// The key is another kind's.
    WrongKind(Integration),
    Failed(AppError),
}

async fn integration<S: Store + Directory + Communications + Alerts>(
    state: &AppState<S>,
    key: Option<String>,
    kind: &str,
) -> Result<Integration, Refusal> {
    let Some(key) = key else {
        return Err(Refusal::Unknown);
    };
    match state.app.integration_for_key(&key).await {
        Ok(Some(found)) if found.kind == kind => Ok(found),
        Ok(Some(found)) => Err(Refusal::WrongKind(found)),
        Ok(None) => Err(Refusal::Unknown),
        Err(error) => Err(Refusal::Failed(error)),
    }
}

/// A refusal in the API's own JSON error shape, for the endpoints that are hereby's own.
fn api_refusal(refusal: Refusal, endpoint: &str) -> Response {
    match refusal {
        Refusal::Unknown => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            format!("{endpoint} needs `Authorization: Bearer <integration key>` with the key of a live integration"),
        )
        .into_response(),
        Refusal::WrongKind(found) => wrong_kind(&found).into_response(),
        Refusal::Failed(error) => ApiError::from(error).into_response(),
    }
}

fn wrong_kind(found: &Integration) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong_endpoint",
        format!(
            "this key belongs to the {} integration `{}`, which sends to {}",
            found.kind,
            found.name,
            hereby_app::alerts::path_of(&found.kind)
        ),
    )
}

/// What the edge answers once the payload is durable, in hereby's own words: what each
/// alert did when it was recorded before the answer, or that it is queued behind a backlog.
fn accepted(received: &Received, signals: &[Signal]) -> Response {
    let alerts: Vec<_> = match &received.recorded {
        Some(recorded) => signals
            .iter()
            .zip(&recorded.outcomes)
            .map(|(signal, outcome)| {
                json!({
                    "dedup_key": signal.dedup_key,
                    "change": outcome.change.as_str(),
                    "group": outcome.group,
                })
            })
            .collect(),
        None => signals
            .iter()
            .map(|signal| json!({"dedup_key": signal.dedup_key, "change": "queued"}))
            .collect(),
    };
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "payload": received.payload,
            "queued": received.recorded.is_none(),
            "alerts": alerts,
            "incidents_opened": received.opened.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
    )
        .into_response()
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a payload may be at most {} KiB", MAX_PAYLOAD / 1024),
    )
}

/// `POST /ingest/alertmanager`: Alertmanager's webhook receiver.
async fn alertmanager_webhook<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let found = match integration(&state, key_from(&headers, "Bearer"), "alertmanager").await {
        Ok(found) => found,
        Err(refusal) => return api_refusal(refusal, "/ingest/alertmanager"),
    };
    let Ok(bytes) = read(body).await else {
        return too_large().into_response();
    };
    let signals = match alertmanager::signals(&bytes, Timestamp::now()) {
        Ok(signals) => signals,
        Err(problem) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", problem)
                .into_response();
        }
    };
    receive(&state, &found, &bytes, signals).await
}

/// `POST /ingest/generic`: JSON or a form, for curl and scripts.
async fn generic_event<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let found = match integration(&state, key_from(&headers, "Bearer"), "generic").await {
        Ok(found) => found,
        Err(refusal) => return api_refusal(refusal, "/ingest/generic"),
    };
    let Ok(bytes) = read(body).await else {
        return too_large().into_response();
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    let signal = match generic::signal(&bytes, json, Timestamp::now(), new_key) {
        Ok(signal) => signal,
        Err(problem) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", problem)
                .into_response();
        }
    };
    receive(&state, &found, &bytes, vec![signal]).await
}

/// `POST /ingest/heartbeat`: a heartbeat's ping (any body, kept); the alert its silence
/// raised resolves.
async fn heartbeat_ping<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let found = match integration(&state, key_from(&headers, "Bearer"), "heartbeat").await {
        Ok(found) => found,
        Err(refusal) => return api_refusal(refusal, "/ingest/heartbeat"),
    };
    let Ok(bytes) = read(body).await else {
        return too_large().into_response();
    };
    match state
        .app
        .receive_ping(&found, &String::from_utf8_lossy(&bytes))
        .await
    {
        Ok(received) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "accepted",
                "queued": received.recorded.is_none(),
                // Whether the ping resolved the alert its silence raised; unknown (null)
                // while it is queued behind a backlog.
                "resolved": received.recorded.as_ref().map(|recorded| recorded
                    .outcomes
                    .iter()
                    .any(|outcome| outcome.change == hereby_store::AlertChange::Resolved)),
            })),
        )
            .into_response(),
        Err(error) => ingest_error(error).into_response(),
    }
}

async fn receive<S: Store + Directory + Communications + Alerts>(
    state: &AppState<S>,
    found: &Integration,
    bytes: &[u8],
    signals: Vec<Signal>,
) -> Response {
    let body = String::from_utf8_lossy(bytes);
    match state
        .app
        .receive_alerts(found, &body, signals.clone())
        .await
    {
        Ok(received) => accepted(&received, &signals),
        Err(error) => ingest_error(error).into_response(),
    }
}

/// An application error as an ingest answer: a value out of the source's limits is the
/// sender's mistake (400), a full bucket a 429 with `Retry-After`.
fn ingest_error(error: AppError) -> ApiError {
    match error {
        AppError::Invalid(invalid) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            invalid.to_string(),
        ),
        other => ApiError::from(other),
    }
}

/// PagerDuty's answer shapes.
fn pagerduty_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn pagerduty_too_large() -> Response {
    pagerduty_answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"status": "invalid event", "message": "Event object is too large", "errors": [format!("at most {} KiB", MAX_PAYLOAD / 1024)]}),
    )
}

/// PagerDuty's answer to an event it took.
fn pagerduty_processed(dedup_key: &str) -> Response {
    pagerduty_answer(
        StatusCode::ACCEPTED,
        json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}),
    )
}

fn pagerduty_invalid(errors: Vec<String>) -> Response {
    pagerduty_answer(
        StatusCode::BAD_REQUEST,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
    )
}

/// `POST /v2/enqueue`: PagerDuty Events API v2.
async fn pagerduty_event<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    body: Body,
) -> Response {
    let Ok(bytes) = read(body).await else {
        return pagerduty_too_large();
    };
    let event = match pagerduty::parse(&bytes) {
        Ok(event) => event,
        Err(errors) => return pagerduty_invalid(errors),
    };
    let found = match integration(&state, event.routing_key.clone(), "pagerduty").await {
        Ok(found) => found,
        Err(Refusal::Failed(error)) => return pagerduty_failure(error),
        Err(_) => return pagerduty_invalid(vec!["Invalid routing key".to_owned()]),
    };
    let signal = match pagerduty::action(event, Timestamp::now(), new_key) {
        Ok(pagerduty::Action::Signal(signal)) => signal,
        Ok(pagerduty::Action::Acknowledge { dedup_key }) => {
            // Kept with the payloads; the alert's group is acknowledged in the integration's
            // name, so it opens nothing more by its route's policy.
            if let Err(error) = state
                .app
                .receive_acknowledgement(
                    &found,
                    &String::from_utf8_lossy(&bytes),
                    std::slice::from_ref(&dedup_key),
                )
                .await
            {
                return pagerduty_failure(error);
            }
            return pagerduty_processed(&dedup_key);
        }
        Err(errors) => return pagerduty_invalid(errors),
    };
    let dedup_key = signal.dedup_key.clone();
    match state
        .app
        .receive_alerts(&found, &String::from_utf8_lossy(&bytes), vec![signal])
        .await
    {
        Ok(_) => pagerduty_processed(&dedup_key),
        Err(AppError::Invalid(invalid)) => pagerduty_invalid(vec![invalid.to_string()]),
        Err(error) => pagerduty_failure(error),
    }
}

/// `POST /v2/change/enqueue`: a PagerDuty change event, kept as a release of a catalogued
/// service, so the pipelines that send change events feed the roll-back ladder.
async fn pagerduty_change<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    body: Body,
) -> Response {
    let Ok(bytes) = read(body).await else {
        return pagerduty_too_large();
    };
    let event = match pagerduty::parse_change(&bytes) {
        Ok(event) => event,
        Err(errors) => return pagerduty_invalid(errors),
    };
    let found = match integration(&state, event.routing_key.clone(), "pagerduty").await {
        Ok(found) => found,
        Err(Refusal::Failed(error)) => return pagerduty_failure(error),
        Err(_) => return pagerduty_invalid(vec!["Invalid routing key".to_owned()]),
    };
    let request = match pagerduty::release(event) {
        Ok(request) => request,
        Err(errors) => return pagerduty_invalid(errors),
    };
    // Kept with the other payloads, and counted against the integration's rate.
    if let Err(error) = state
        .app
        .receive_alerts(&found, &String::from_utf8_lossy(&bytes), Vec::new())
        .await
    {
        return pagerduty_failure(error);
    }
    // The integration's name is a user name's shape; releases say who recorded them.
    let Ok(recorder) = hereby_core::types::UserName::parse(&found.name) else {
        return pagerduty_failure(AppError::Internal("an integration name".to_owned()));
    };
    match state.app.record_release(&recorder, &request).await {
        Ok(_) => pagerduty_answer(
            StatusCode::ACCEPTED,
            json!({"status": "success", "message": "Change event processed"}),
        ),
        Err(AppError::Invalid(invalid)) => pagerduty_invalid(vec![invalid.to_string()]),
        Err(AppError::Refused { message, .. }) => pagerduty_invalid(vec![message]),
        Err(error) => pagerduty_failure(error),
    }
}

fn pagerduty_failure(error: AppError) -> Response {
    match error {
        AppError::TooManyRequests {
            message,
            retry_after,
        } => with_retry_after(
            pagerduty_answer(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"status": "throttle event", "message": message}),
            ),
            retry_after,
        ),
        other => {
            let api = ApiError::from(other);
            pagerduty_answer(
                api.status,
                json!({"status": "error", "message": api.message}),
            )
        }
    }
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Opsgenie's answer shapes: every answer carries the time taken and a request id.
fn opsgenie_answer(
    status: StatusCode,
    started: std::time::Instant,
    field: (&str, String),
) -> Response {
    let mut body = json!({
        "took": started.elapsed().as_secs_f64(),
        "requestId": new_key(),
    });
    body[field.0] = json!(field.1);
    (status, Json(body)).into_response()
}

fn opsgenie_refusal(refusal: Refusal, started: std::time::Instant) -> Response {
    match refusal {
        Refusal::Unknown => opsgenie_answer(
            StatusCode::UNAUTHORIZED,
            started,
            (
                "message",
                "Could not authenticate: send Authorization: GenieKey <integration key>".to_owned(),
            ),
        ),
        Refusal::WrongKind(found) => opsgenie_answer(
            StatusCode::FORBIDDEN,
            started,
            ("message", wrong_kind(&found).message),
        ),
        Refusal::Failed(error) => opsgenie_failure(error, started),
    }
}

fn opsgenie_failure(error: AppError, started: std::time::Instant) -> Response {
    match error {
        AppError::TooManyRequests {
            message,
            retry_after,
        } => with_retry_after(
            opsgenie_answer(StatusCode::TOO_MANY_REQUESTS, started, ("message", message)),
            retry_after,
        ),
        AppError::Invalid(invalid) => opsgenie_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            ("message", invalid.to_string()),
        ),
        other => {
            let api = ApiError::from(other);
            opsgenie_answer(api.status, started, ("message", api.message))
        }
    }
}

/// `POST /v2/alerts`: the Opsgenie Alert API's create.
async fn opsgenie_create<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let found = match integration(&state, key_from(&headers, "GenieKey"), "opsgenie").await {
        Ok(found) => found,
        Err(refusal) => return opsgenie_refusal(refusal, started),
    };
    let Ok(bytes) = read(body).await else {
        return opsgenie_answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            started,
            (
                "message",
                format!("Request body may be at most {} KiB.", MAX_PAYLOAD / 1024),
            ),
        );
    };
    let signal = match opsgenie::create(&bytes, Timestamp::now(), new_key) {
        Ok(signal) => signal,
        Err(problem) => {
            return opsgenie_answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                started,
                ("message", problem),
            );
        }
    };
    match state
        .app
        .receive_alerts(&found, &String::from_utf8_lossy(&bytes), vec![signal])
        .await
    {
        Ok(_) => opsgenie_answer(
            StatusCode::ACCEPTED,
            started,
            ("result", "Request will be processed".to_owned()),
        ),
        Err(error) => opsgenie_failure(error, started),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionQuery {
    #[serde(default)]
    identifier_type: Option<String>,
}

/// `POST /v2/alerts/{identifier}/{close|acknowledge|notes}`.
async fn opsgenie_action<S: Store + Directory + Communications + Alerts>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path((identifier, action)): Path<(String, String)>,
    query: Result<Query<ActionQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let found = match integration(&state, key_from(&headers, "GenieKey"), "opsgenie").await {
        Ok(found) => found,
        Err(refusal) => return opsgenie_refusal(refusal, started),
    };
    let Ok(bytes) = read(body).await else {
        return opsgenie_answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            started,
            (
                "message",
                format!("Request body may be at most {} KiB.", MAX_PAYLOAD / 1024),
            ),
        );
    };
    let identifier_type = query
        .ok()
        .and_then(|Query(query)| query.identifier_type)
        .unwrap_or_else(|| "id".to_owned());
    if identifier_type != "alias" {
        // Alerts are created asynchronously, so senders name them by the alias they chose;
        // ids and tiny ids of this server are not handed out.
        return opsgenie_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            started,
            (
                "message",
                format!(
                    "identifierType {identifier_type} is not supported here: name the alert by its alias with identifierType=alias"
                ),
            ),
        );
    }
    let signals = match action.as_str() {
        "close" => vec![opsgenie::close(&identifier, Timestamp::now())],
        "acknowledge" => {
            return match state
                .app
                .receive_acknowledgement(
                    &found,
                    &String::from_utf8_lossy(&bytes),
                    std::slice::from_ref(&identifier),
                )
                .await
            {
                Ok(()) => opsgenie_answer(
                    StatusCode::ACCEPTED,
                    started,
                    ("result", "Request will be processed".to_owned()),
                ),
                Err(error) => opsgenie_failure(error, started),
            };
        }
        // Kept with the payloads: the alert's notes are the payloads themselves.
        "notes" => Vec::new(),
        other => {
            return opsgenie_answer(
                StatusCode::NOT_FOUND,
                started,
                (
                    "message",
                    format!("no alert action `{other}`: use close, acknowledge or notes"),
                ),
            );
        }
    };
    match state
        .app
        .receive_alerts(&found, &String::from_utf8_lossy(&bytes), signals)
        .await
    {
        Ok(_) => opsgenie_answer(
            StatusCode::ACCEPTED,
            started,
            ("result", "Request will be processed".to_owned()),
        ),
        Err(error) => opsgenie_failure(error, started),
    }
}
