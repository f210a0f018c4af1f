//! The errors a store reports, the same for every backend.

use hereby_core::types::{IncidentNumber, UserName};

/// What can go wrong when reading or writing the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// There is no incident with this number.
    #[error("{0} does not exist")]
    NotFound(IncidentNumber),
    /// Someone else appended first: the stream is no longer at the expected version.
    #[error("{incident} is at version {actual}, not {expected}: it changed meanwhile")]
    Conflict {
        incident: IncidentNumber,
        expected: u64,
        actual: u64,
    },
    /// There is no user with this name.
    #[error("user {0} does not exist")]
    UnknownUser(UserName),
    /// There is no API token with this id.
    #[error("token {0} does not exist")]
    UnknownToken(i64),
    /// A user with this name exists already.
    #[error("user {0} already exists")]
    UserExists(UserName),
    /// The request itself makes no sense (an empty batch, a declare without a declaration).
    #[error("invalid write: {0}")]
    Invalid(String),
    /// Stored data cannot be read back: a damaged or tampered row.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached. Nothing was acknowledged.
    #[error("database error: {0}")]
    Database(String),
}

/// Why a database could not be opened or migrated. The URL in it has its password removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot open database {url}: {problem}")]
pub struct OpenError {
    /// The database URL, password redacted.
    pub url: String,
    pub problem: String,
}
