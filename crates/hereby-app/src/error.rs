//! `AppError`: why an application call did not take effect, for every edge to put in its own
//! words (an HTTP status, a page, a chat reply).

use hereby_core::Rejection;
use hereby_core::types::InvalidValue;
use hereby_store::{ExecuteError, StoreError};

use crate::messages::TemplateError;

/// Why a call did not take effect. Nothing was written in any case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The thing does not exist, or the actor may not see it (to them it does not exist).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The actor's installation role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A rule of the core refused the command.
    #[error("{0}")]
    Rejected(Rejection),
    /// A value the caller sent is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// A message or post-mortem template does not compile or render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The request cannot be carried out as it stands (`code` says why).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The request contradicts what is stored (`code` says how).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller sent more than it may for now; it may try again after `retry_after`
    /// seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system failed, not the request (a renderer gave up, a worker thread stopped): the
    /// edge says so without the details, which are for the log.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// Not found, or not visible: the same answer, so it reveals nothing.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::NotFound(what.to_string())
    }
}

impl From<hereby_api::RequestError> for AppError {
    fn from(error: hereby_api::RequestError) -> Self {
        match error {
            hereby_api::RequestError::Invalid(invalid) => Self::Invalid(invalid),
            refused @ hereby_api::RequestError::ReasonRequired(_) => Self::Refused {
                code: "reason_required",
                message: refused.to_string(),
            },
        }
    }
}

impl From<ExecuteError> for AppError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Rejected(rejection) => Self::Rejected(rejection),
            ExecuteError::Store(error) => Self::Store(error),
        }
    }
}
