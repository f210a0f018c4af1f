//! One store type for the binary: SQLite or PostgreSQL, chosen by the database URL at run time.

use hereby_core::types::IncidentNumber;
use hereby_store::{
    Appended, Head, IncidentSummary, ListQuery, Loaded, NewEvents, Store, StoreError, StoredEvent,
};
use hereby_store_postgres::PgStore;
use hereby_store_sqlite::SqliteStore;

/// The configured backend.
#[derive(Debug, Clone)]
pub(crate) enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A database that could not be opened, with its URL already redacted in the message.
#[derive(Debug)]
pub(crate) struct OpenFailure(pub(crate) String);

impl AnyStore {
    /// Opens and migrates the database `url` names: `sqlite://…` or `postgres://…`.
    pub(crate) async fn open(url: &str) -> Result<Self, OpenFailure> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgStore::open(url)
                .await
                .map(AnyStore::Postgres)
                .map_err(|e| OpenFailure(e.to_string()))
        } else if url.starts_with("sqlite:") {
            SqliteStore::open(url)
                .await
                .map(AnyStore::Sqlite)
                .map_err(|e| OpenFailure(e.to_string()))
        } else {
            Err(OpenFailure(format!(
                "cannot open database {}: the URL must start with sqlite:// or postgres://",
                hereby_store::redact_url(url)
            )))
        }
    }
}

/// Forwards a trait method to whichever backend is configured.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn declare(&self, batch: NewEvents) -> Result<Appended, StoreError> {
        forward!(self, store => store.declare(batch))
    }

    async fn append(
        &self,
        incident: IncidentNumber,
        expected_version: u64,
        batch: NewEvents,
    ) -> Result<Appended, StoreError> {
        forward!(self, store => store.append(incident, expected_version, batch))
    }

    async fn load(&self, incident: IncidentNumber) -> Result<Loaded, StoreError> {
        forward!(self, store => store.load(incident))
    }

    async fn head(&self, incident: IncidentNumber) -> Result<Head, StoreError> {
        forward!(self, store => store.head(incident))
    }

    async fn read_stream(
        &self,
        incident: IncidentNumber,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        forward!(self, store => store.read_stream(incident, after_sequence, limit))
    }

    async fn read_all(
        &self,
        after_position: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        forward!(self, store => store.read_all(after_position, limit))
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<IncidentSummary>, StoreError> {
        forward!(self, store => store.list_incidents(query))
    }
}
