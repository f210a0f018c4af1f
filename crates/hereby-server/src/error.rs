//! `ApiError`: every failure of a request as `{"error": {"code", "message"}}` with the right
//! status. Internal details (database messages, damaged rows) never reach the client.

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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            current_version: None,
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
    /// A failure of the server itself, not of the request; logged by the caller's middleware.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; nothing was changed",
        )
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
            StoreError::Corrupt(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_data_damaged",
                "stored data could not be read; an administrator can run `hereby db verify`",
            ),
            StoreError::Database(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database did not answer; nothing was changed, try again",
            ),
        }
    }
}

impl From<ExecuteError> for ApiError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Rejected(rejection) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                rejection.code.as_str(),
                rejection.message,
            ),
            ExecuteError::Store(store) => store.into(),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound(what) => Self::not_found(what),
            AppError::Forbidden(message) => Self::forbidden(message),
            AppError::Rejected(rejection) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                rejection.code.as_str(),
                rejection.message,
            ),
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
        (self.status, Json(body)).into_response()
    }
}
