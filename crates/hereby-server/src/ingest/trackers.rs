//! Trackers' webhooks: `POST /ingest/trackers/{tracker}` hears what happened to the issues of
//! exported follow-ups. Each tracker proves it is the sender its own way, checked in constant
//! time before the body is read as anything: GitHub signs the body (`X-Hub-Signature-256`,
//! hex HMAC-SHA256 with the webhook's secret); GitLab sends the webhook's secret token
//! (`X-Gitlab-Token`), or signs the Standard Webhooks way; a generic tracker signs the
//! Standard Webhooks way with the tracker's secret. Deliveries are acted on once, by their
//! id (`X-GitHub-Delivery`, `Idempotency-Key`, `webhook-id`).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hereby_app::channels::ChannelConfig;
use hereby_app::trackers::{News, ReportOutcome, TrackerReport};
use hereby_store::{Notifications, Store};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::AppState;
use crate::error::ApiError;

/// The largest webhook body read (GitHub's issue events are tens of KiB).
const MAX_BODY: usize = 1024 * 1024;

/// How far a Standard Webhooks timestamp may be from now, either way.
const TOLERANCE_SECONDS: i64 = 5 * 60;

/// `POST /ingest/trackers/{tracker}`: a tracker's webhook.
pub(super) async fn tracker_webhook<S: Store + Notifications>(
    State(state): State<AppState<S>>,
    Path(tracker): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&state, &tracker, &headers, body).await {
        Ok(answer) => answer,
        Err(error) => error.into_response(),
    }
}

async fn receive<S: Store + Notifications>(
    state: &AppState<S>,
    tracker: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let config = state
        .app
        .trackers()
        .await?
        .into_iter()
        .find_map(|(name, config)| (name == tracker).then_some(config))
        // The same answer as a wrong signature: which trackers exist is not told to strangers.
        .ok_or_else(refused)?;
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a tracker's webhook may be at most {} KiB", MAX_BODY / 1024),
        )
    })?;
    let now = Timestamp::now();
    let report = match &config {
        ChannelConfig::Github {
            repo,
            webhook_secret,
            ..
        } => {
            if !github_signed(headers, webhook_secret, &bytes) {
                return Err(refused());
            }
            let event = header(headers, "x-github-event").unwrap_or_default();
            if event == "ping" {
                return Ok(answer("pong"));
            }
            if event != "issues" {
                return Ok(answer("ignored"));
            }
            let payload = json_of(&bytes)?;
            let same_repo = payload
                .pointer("/repository/full_name")
                .and_then(Value::as_str)
                .is_some_and(|name| name.eq_ignore_ascii_case(repo));
            if !same_repo {
                return Ok(answer("ignored"));
            }
            github_report(&payload, header(headers, "x-github-delivery"))?
        }
        ChannelConfig::Gitlab {
            project,
            webhook_token,
            ..
        } => {
            let token_ok = header(headers, "x-gitlab-token")
                .is_some_and(|given| crate::observe::same_secret(&given, webhook_token));
            if !token_ok && !standard_signed(headers, webhook_token, &bytes, now) {
                return Err(refused());
            }
            let payload = json_of(&bytes)?;
            if payload.get("object_kind").and_then(Value::as_str) != Some("issue") {
                return Ok(answer("ignored"));
            }
            let same_project = payload.get("project").is_some_and(|found| {
                found
                    .get("path_with_namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|path| path.eq_ignore_ascii_case(project))
                    || found
                        .get("id")
                        .and_then(Value::as_u64)
                        .is_some_and(|id| id.to_string() == *project)
            });
            if !same_project {
                return Ok(answer("ignored"));
            }
            let attributes = payload
                .get("object_attributes")
                .ok_or_else(|| invalid("an Issue Hook has object_attributes"))?;
            let issue = hereby_app::trackers::gitlab_issue(attributes).map_err(invalid)?;
            let delivery = header(headers, "idempotency-key")
                .or_else(|| header(headers, "webhook-id"))
                .or_else(|| header(headers, "x-gitlab-event-uuid"));
            TrackerReport::of(issue, delivery)
        }
        ChannelConfig::Tracker { secret, .. } => {
            if !standard_signed(headers, secret, &bytes, now) {
                return Err(refused());
            }
            let issue = hereby_app::trackers::generic_issue(&json_of(&bytes)?).map_err(invalid)?;
            TrackerReport::of(issue, header(headers, "webhook-id"))
        }
        _ => return Err(refused()),
    };
    let outcome = state
        .app
        .tracker_reported(tracker, &report)
        .await
        .map_err(ApiError::from)?;
    let mut body = json!({ "status": outcome.as_str() });
    if let ReportOutcome::Refused(why) = &outcome {
        body["reason"] = json!(why);
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// What GitHub's `issues` event says: where the issue stands, or that it left the
/// repository (deleted, transferred), which hereby cannot follow.
fn github_report(payload: &Value, delivery: Option<String>) -> Result<TrackerReport, ApiError> {
    let issue = payload
        .get("issue")
        .ok_or_else(|| invalid("an issues event has an issue"))?;
    let facts = hereby_app::trackers::github_issue(issue).map_err(invalid)?;
    let gone = match payload.get("action").and_then(Value::as_str) {
        Some("deleted") => Some("the issue was deleted in GitHub; unlink the follow-up".to_owned()),
        Some("transferred") => Some(format!(
            "the issue was transferred to {}; unlink the follow-up and link the new one",
            payload
                .pointer("/changes/new_repository/full_name")
                .and_then(Value::as_str)
                .unwrap_or("another repository")
        )),
        _ => None,
    };
    Ok(match gone {
        Some(why) => TrackerReport {
            external: facts.external,
            news: News::Gone(why),
            delivery,
        },
        None => TrackerReport::of(facts, delivery),
    })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 200)
}

fn json_of(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("the body is not JSON: {e}")))
}

fn invalid(problem: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", problem)
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "the webhook's signature or token does not match a tracker of this name",
    )
}

fn answer(status: &str) -> Response {
    (StatusCode::OK, Json(json!({ "status": status }))).into_response()
}

/// Whether `X-Hub-Signature-256` is `sha256=<hex HMAC-SHA256 of the body>` with `secret`;
/// compared in constant time.
fn github_signed(headers: &HeaderMap, secret: &str, body: &[u8]) -> bool {
    let Some(given) = header(headers, "x-hub-signature-256") else {
        return false;
    };
    let Some(given) = given
        .strip_prefix("sha256=")
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
    else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Whether the Standard Webhooks headers sign `body` with `secret` (`whsec_…`, or any other
/// string taken as the key's bytes), at most five minutes from `now`. Any one of the
/// signatures given (space-separated during a secret's rotation) may match; each is compared
/// in constant time.
fn standard_signed(headers: &HeaderMap, secret: &str, body: &[u8], now: Timestamp) -> bool {
    use base64::Engine as _;
    let (Some(id), Some(timestamp), Some(signatures)) = (
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp"),
        headers
            .get("webhook-signature")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    ) else {
        return false;
    };
    let Ok(seconds) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now.as_second() - seconds).abs() > TOLERANCE_SECONDS {
        return false;
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => match engine.decode(encoded) {
            Ok(key) => key,
            Err(_) => return false,
        },
        None => secret.as_bytes().to_vec(),
    };
    signatures.split_whitespace().any(|signature| {
        let Some(given) = signature
            .strip_prefix("v1,")
            .and_then(|encoded| engine.decode(encoded).ok())
        else {
            return false;
        };
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{seconds}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked_over_the_raw_body() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body
        // "Hello, World!".
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
                .parse()
                .unwrap(),
        );
        assert!(github_signed(
            &headers,
            "It's a Secret to Everybody",
            b"Hello, World!"
        ));
        assert!(!github_signed(
            &headers,
            "It's a Secret to Everybody",
            b"Hello, World?"
        ));
        assert!(!github_signed(&headers, "another secret", b"Hello, World!"));
        assert!(!github_signed(
            &HeaderMap::new(),
            "It's a Secret to Everybody",
            b"Hello, World!"
        ));
    }

    #[test]
    fn standard_webhooks_signatures_are_checked_with_their_tolerance() {
        // The specification's example message.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let mut headers = HeaderMap::new();
        headers.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
        );
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert(
            "webhook-signature",
            "v1,bm9ldHZhbGlk v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
                .parse()
                .unwrap(),
        );
        let then = Timestamp::from_second(1_614_265_330).unwrap();
        assert!(standard_signed(&headers, secret, body, then));
        let later = Timestamp::from_second(1_614_265_330 + 301).unwrap();
        assert!(!standard_signed(&headers, secret, body, later), "too old");
        assert!(
            !standard_signed(&headers, secret, b"{}", then),
            "another body"
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(crate::observe::same_secret(
            "a-webhook-token-1234",
            "a-webhook-token-1234"
        ));
        assert!(!crate::observe::same_secret(
            "a-webhook-token-123",
            "a-webhook-token-1234"
        ));
    }
}
