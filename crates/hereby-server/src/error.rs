//! `ApiError`: every failure of a request as `{"error": {"code", "message"}}` with the right
//! status. Internal details (database messages, damaged rows) never reach the client; the
//! ways to make a 5xx here (`internal`, `unavailable`, a failed store) log them instead, since
//! the request's own log line has only the status.

use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hereby_api::{ErrorBody, ErrorDetail};
use hereby_app::AppError;
use hereby_core::types::InvalidValue;
use hereby_store::{ExecuteError, StoreError};

/// A request that failed, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub current_version: Option<u64>,
    /// For 429: seconds until the caller may try again, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            current_version: None,
            retry_after: None,
        }
    }

    /// 401: no valid token. The same answer whatever was wrong, so it reveals nothing.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as `Authorization: Bearer <token>`",
        )
    }

    /// 403: signed in, but the installation role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404, also for incidents the caller may not see: to them they do not exist.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} does not exist"),
        )
    }

    /// The same error with `what` it is about put in front of the message, for one item of
    /// a list.
    pub fn prefixed(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// 400: the request is not well-formed.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl ApiError {
    /// 500: a failure of the server itself, not of the request. `detail` is logged at ERROR
    /// for the operator; the client learns only that nothing was changed.
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::failed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; nothing was changed",
            &detail,
        )
    }

    /// 503: something the request needs is unavailable for now, and trying again may work.
    /// `detail` (the underlying error) is logged at WARN; the client gets only `message`.
    pub fn unavailable(code: &str, message: impl Into<String>, detail: impl fmt::Display) -> Self {
        let error = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        tracing::warn!(
            status = error.status.as_u16(),
            code = %error.code,
            error = %detail,
            "a request could not be served for now"
        );
        error
    }

    /// A 5xx whose cause the operator must look into, logged at ERROR with `detail`.
    fn failed(status: StatusCode, code: &str, message: &str, detail: &dyn fmt::Display) -> Self {
        let error = Self::new(status, code, message);
        tracing::error!(
            status = error.status.as_u16(),
            code = %error.code,
            error = %detail,
            "the server failed a request"
        );
        error
    }
}

impl From<InvalidValue> for ApiError {
    fn from(invalid: InvalidValue) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            invalid.to_string(),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(incident) => Self::not_found(incident),
            StoreError::UnknownUser(user) => Self::not_found(format!("user {user}")),
            StoreError::UnknownToken(id) => Self::not_found(format!("token {id}")),
            StoreError::UserExists(user) => Self::new(
                StatusCode::CONFLICT,
                "user_exists",
                format!("user {user} already exists"),
            ),
            StoreError::Conflict {
                incident,
                expected,
                actual,
            } => Self {
                current_version: Some(actual),
                ..Self::new(
                    StatusCode::CONFLICT,
                    "version_conflict",
                    format!(
                        "{incident} is at version {actual}, not {expected}: reload it and try again"
                    ),
                )
            },
            StoreError::Invalid(message) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_write", message)
            }
            StoreError::Corrupt(_) => Self::failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_data_damaged",
                "stored data could not be read; an administrator can run `hereby db verify`",
                &error,
            ),
            // Logged at ERROR, not WARN, although the client is told to try again: this variant
            // carries failed SQL as well as an unreachable database, and the two cannot be told
            // apart here.
            StoreError::Database(_) => Self::failed(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database did not answer; nothing was changed, try again",
                &error,
            ),
        }
    }
}

impl ApiError {
    /// A rule of the core refused the command: 403 when the rule is about who may act on
    /// the incident (the permission table), 422 for every other rule.
    fn rejected(rejection: hereby_core::Rejection) -> Self {
        let status = if rejection.code == hereby_core::RejectionCode::NotPermitted {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Self::new(status, rejection.code.as_str(), rejection.message)
    }
}

impl From<ExecuteError> for ApiError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Rejected(rejection) => Self::rejected(rejection),
            ExecuteError::Store(store) => store.into(),
        }
    }
}

impl From<hereby_api::RequestError> for ApiError {
    fn from(error: hereby_api::RequestError) -> Self {
        AppError::from(error).into()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound(what) => Self::not_found(what),
            AppError::Forbidden(message) => Self::forbidden(message),
            AppError::Rejected(rejection) => Self::rejected(rejection),
            AppError::Invalid(invalid) => invalid.into(),
            AppError::Template(error) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_template",
                error.to_string(),
            ),
            AppError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            AppError::Refused { code, message } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AppError::TooManyRequests {
                message,
                retry_after,
            } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            AppError::Store(store) => store.into(),
            AppError::Internal(message) => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                current_version: self.current_version,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// Puts every error the API answers in the JSON error shape, also those the HTTP framework
/// writes itself before a handler runs (a path or query that cannot be read, as plain
/// text): a program calling the API can always read `error.code` and `error.message`.
pub(crate) async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if json {
        return response;
    }
    // The framework's own messages are short; more than this is not one of them.
    let text = axum::body::to_bytes(response.into_body(), 4 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST if text.starts_with("Invalid URL") => "invalid_path",
        StatusCode::BAD_REQUEST if text.starts_with("Failed to deserialize query string") => {
            "invalid_query"
        }
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        status if status.is_server_error() => "server_error",
        _ => "request_refused",
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_lowercase()
    } else {
        text
    };
    ApiError::new(status, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log destination the test can read back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        }
    }

    /// Runs `make` with a subscriber that writes every event as text into a buffer, and
    /// returns what it made with the log lines.
    fn logged(make: impl FnOnce() -> ApiError) -> (ApiError, String) {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let error = tracing::subscriber::with_default(subscriber, make);
        (error, buffer.text())
    }

    async fn body(error: ApiError) -> String {
        let bytes = axum::body::to_bytes(error.into_response().into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// What a database might say: a host, a user, a table.
    const DETAIL: &str = "password authentication failed for user \"hereby\" at 10.0.0.7:5432";

    /// A way the server fails, and how its log line must look.
    struct Case {
        name: &'static str,
        make: fn() -> ApiError,
        status: u16,
        level: &'static str,
    }

    const CASES: &[Case] = &[
        Case {
            name: "database",
            make: || StoreError::Database(DETAIL.to_owned()).into(),
            status: 503,
            level: "ERROR",
        },
        Case {
            name: "damaged row",
            make: || StoreError::Corrupt(DETAIL.to_owned()).into(),
            status: 500,
            level: "ERROR",
        },
        Case {
            name: "database under execute",
            make: || ExecuteError::Store(StoreError::Database(DETAIL.to_owned())).into(),
            status: 503,
            level: "ERROR",
        },
        Case {
            name: "internal",
            make: || ApiError::internal(DETAIL),
            status: 500,
            level: "ERROR",
        },
        Case {
            name: "unavailable",
            make: || ApiError::unavailable("busy", "try again", DETAIL),
            status: 503,
            level: "WARN",
        },
    ];

    #[tokio::test]
    async fn server_failures_are_logged_with_their_detail_and_never_sent() {
        for &Case {
            name,
            make,
            status,
            level,
        } in CASES
        {
            let (error, log) = logged(make);
            assert_eq!(error.status.as_u16(), status, "{name}");
            assert!(log.contains(level), "{name} is logged at {level}: {log}");
            assert!(log.contains(DETAIL), "{name} logs the detail: {log}");
            assert!(
                log.contains(&format!("status={status}")),
                "{name} logs its status: {log}"
            );
            let sent = body(error).await;
            assert!(
                !sent.contains("10.0.0.7") && !sent.contains("password"),
                "{name} keeps the detail from the client: {sent}"
            );
        }
    }

    #[test]
    fn the_client_s_own_mistakes_are_not_logged() {
        let (error, log) = logged(|| {
            StoreError::Conflict {
                incident: hereby_core::types::IncidentNumber(7),
                expected: 3,
                actual: 4,
            }
            .into()
        });
        assert_eq!(error.status, StatusCode::CONFLICT);
        assert_eq!(log, "");
        let (error, log) = logged(|| StoreError::Invalid("an empty batch".to_owned()).into());
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(log, "");
    }
}
