//! The durable event store every backend implements, with the logic backends share.
//!
//! A backend stores events in an append-only, hash-chained log and keeps the `incidents`
//! projection in the same transaction. What a backend must do is the [`Store`] trait; what it
//! must guarantee is the `conformance` story, which SQLite and PostgreSQL both run in their
//! tests (compiled only with this crate's `conformance` feature, which their dev-dependencies
//! turn on).
//! Backends do only SQL: hashing, folding and the projection row come from [`prepare`].
//! [`copy`] moves a whole database into another, empty one of either backend, row for row.

mod alerts;
mod chat;
mod communications;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod copy;
mod directory;
mod error;
mod execute;
mod notify;
pub mod prepare;
pub mod search;
mod sql;
mod sql_alerts;
mod sql_chat;
mod sql_communications;
mod sql_copy;
mod sql_directory;
mod sql_notify;
mod url;
mod verify;
pub mod writer;

use std::future::Future;

use hereby_core::chain::{Hash, StoredLink};
use hereby_core::event::DecodeError;
use hereby_core::types::{IncidentNumber, Severity, Status, UserName, Visibility};
use hereby_core::{Envelope, Event, State};
use jiff::Timestamp;
use serde::Serialize;

pub use alerts::{
    AlertChange, AlertGroup, AlertOutcome, AlertPayload, AlertRecord, Alerts, INTEGRATION_KINDS,
    Integration, NewIntegration, QueuedAlerts, QueuedRecorded, Recorded,
};
pub use chat::{Chat, ChatLink, ChatRoom};
pub use communications::{
    AdminSetting, Communications, Component, Maintenance, MaintenanceQuery, MaintenanceUpdate,
    MaintenanceWrite, Release, ReleaseQuery, StoredTemplate,
};
pub use directory::{Directory, TokenRecord, User, UserChange};
pub use error::{OpenError, StoreError};
pub use execute::{ExecuteError, Outcome, declare, execute, execute_admitted};
pub use notify::{
    AttachedDelivery, Attachment, Channel, Claim, ClaimLimits, ClaimedDelivery, Delivery,
    DeliveryOutcome, DeliveryState, Job, JobChange, JobDone, JobKind, KindedJobChange, NewChannel,
    NewDelivery, NewSubscription, Notifications, StatusSubscriber, Subscription, TrackedFollowUp,
    TrackedQuery,
};
pub use search::{Search, SearchHit, SearchRequest, SearchResults};
pub use url::redact_url;
pub use verify::{VerifyReport, verify_all, verify_incident};

/// Events to append, with who caused them and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvents {
    pub actor: UserName,
    /// Recording time, truncated to the microseconds the log stores.
    pub at: Timestamp,
    pub events: Vec<Event>,
}

impl NewEvents {
    /// Wraps events, truncating `at` to microseconds so that what is folded now is exactly
    /// what a later replay from storage folds.
    pub fn new(actor: UserName, at: Timestamp, events: Vec<Event>) -> Self {
        let micros = at.as_microsecond();
        let at = Timestamp::from_microsecond(micros).unwrap_or(at);
        Self { actor, at, events }
    }
}

/// One event as stored: the chained fields plus the global position the database gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the global log: strictly increasing in commit order, without gaps.
    pub position: i64,
    pub link: StoredLink,
}

/// A stored event decoded into the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub position: i64,
    pub incident: IncidentNumber,
    pub sequence: u64,
    pub at: Timestamp,
    pub actor: UserName,
    pub event: Event,
    pub hash: Hash,
}

impl StoredEvent {
    /// Decodes the stored fields. Fails on a damaged row; [`verify_incident`] says where.
    pub fn decode(&self) -> Result<RecordedEvent, StoreError> {
        let link = &self.link;
        let corrupt = |problem: String| {
            StoreError::Corrupt(format!(
                "INC-{} event #{}: {problem}",
                link.incident, link.sequence
            ))
        };
        let event = Event::decode(&link.event_type, link.event_version, &link.body)
            .map_err(|e: DecodeError| corrupt(e.to_string()))?;
        let actor = UserName::parse(&link.actor).map_err(|e| corrupt(e.to_string()))?;
        let at = Timestamp::from_microsecond(link.recorded_at_micros)
            .map_err(|e| corrupt(e.to_string()))?;
        let hash: Hash = link
            .hash
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("hash is not 32 bytes".to_owned()))?;
        Ok(RecordedEvent {
            position: self.position,
            incident: IncidentNumber(link.incident),
            sequence: link.sequence,
            at,
            actor,
            event,
            hash,
        })
    }
}

impl RecordedEvent {
    /// What `evolve` folds: the event, when it was recorded and by whom.
    pub fn into_envelope(self) -> Envelope {
        Envelope {
            at: self.at,
            actor: self.actor,
            event: self.event,
        }
    }
}

/// The result of a successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub incident: IncidentNumber,
    /// The stream's version after the append: its number of events.
    pub version: u64,
    pub events: Vec<RecordedEvent>,
    /// The incident's state after the append, as the writer folded it: callers need not
    /// load or fold it again.
    pub state: State,
}

/// An incident's current state as the store keeps it, with the version it corresponds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub incident: IncidentNumber,
    pub version: u64,
    pub state: State,
}

/// The recorded end of a stream, which a verifier compares the walked chain with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub version: u64,
    pub last_hash: Vec<u8>,
}

/// One row of the `incidents` projection: what lists show without folding any stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSummary {
    pub number: IncidentNumber,
    pub title: String,
    /// The current summary; empty when the incident has none.
    pub summary: String,
    pub status: Status,
    pub severity: Severity,
    pub potential: bool,
    pub visibility: Visibility,
    pub services: Vec<String>,
    pub commander: Option<String>,
    /// Role key → holders, as JSON in storage.
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
    pub declared_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// Whether an incident kept elsewhere is current: what [`Store::list_versions`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentVersion {
    pub number: IncidentNumber,
    pub version: u64,
    pub declared_at: Timestamp,
}

/// The most rows one [`Store::list_versions`] call answers: narrow rows come in larger pages.
pub const MOST_VERSIONS: u32 = 5_000;

/// Which incidents to list: newest first, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// At most this many rows (capped at 1,000).
    pub limit: u32,
    /// Only incidents numbered below this one: the cursor for the next page.
    pub before: Option<IncidentNumber>,
    /// Only these statuses; empty means any.
    pub statuses: Vec<Status>,
    /// Only these severities; empty means any.
    pub severities: Vec<Severity>,
    /// Only these visibilities; empty means any (within what `visible_to` allows).
    pub visibilities: Vec<Visibility>,
    /// Only incidents affecting this service.
    pub service: Option<hereby_core::types::ServiceName>,
    /// Restricted incidents are listed only if this user is a member (holds a role or was
    /// added). `None` lists every incident: for admins and internal jobs only.
    pub visible_to: Option<UserName>,
    /// Only incidents whose title or summary contains this text, ignoring the case of ASCII
    /// letters (other characters match exactly, the same on every backend; `%` and `_` are
    /// just characters).
    pub text: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            before: None,
            statuses: Vec::new(),
            severities: Vec::new(),
            visibilities: Vec::new(),
            service: None,
            visible_to: None,
            text: None,
        }
    }
}

/// The durable event store. Implementations must pass the `conformance` story.
///
/// Every write is acknowledged only after its transaction is durably committed; the
/// projection rows (the `incidents` row and the incident's members) are written in the same
/// transaction as the events they derive from.
pub trait Store: Clone + Send + Sync + 'static {
    /// Starts a new stream with `batch`, whose first event must be `IncidentDeclared`, under
    /// the next incident number. Numbers are unique and gap-free under concurrency.
    fn declare(
        &self,
        batch: NewEvents,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send;

    /// Appends `batch` to a stream if its version is still `expected_version`; otherwise
    /// fails with [`StoreError::Conflict`] and writes nothing.
    fn append(
        &self,
        incident: IncidentNumber,
        expected_version: u64,
        batch: NewEvents,
    ) -> impl Future<Output = Result<Appended, StoreError>> + Send;

    /// The current state of an incident, without folding its stream.
    fn load(
        &self,
        incident: IncidentNumber,
    ) -> impl Future<Output = Result<Loaded, StoreError>> + Send;

    /// The recorded head of a stream.
    fn head(
        &self,
        incident: IncidentNumber,
    ) -> impl Future<Output = Result<Head, StoreError>> + Send;

    /// Up to `limit` events of one type (e.g. `link_added`) of one stream, with sequence
    /// numbers after `after_sequence`, in order: what a page needs of a long stream without
    /// reading all of it.
    fn read_stream_of_type(
        &self,
        incident: IncidentNumber,
        event_type: &str,
        after_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events of one stream with sequence numbers after `after_sequence`.
    fn read_stream(
        &self,
        incident: IncidentNumber,
        after_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events of all streams with positions after `after_position`, in order.
    fn read_all(
        &self,
        after_position: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The position of the newest event in the global log (0 when the log is empty).
    fn last_position(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// How many incidents there are in each status (statuses with none are left out).
    fn count_by_status(
        &self,
    ) -> impl Future<Output = Result<Vec<(Status, u64)>, StoreError>> + Send;

    /// Rows of the `incidents` projection, newest first.
    fn list_incidents(
        &self,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Vec<IncidentSummary>, StoreError>> + Send;

    /// The number, version and declaration time of the incidents `query` lists, newest first,
    /// up to [`MOST_VERSIONS`] a call: what a report over thousands of incidents reads to
    /// learn which of those it keeps are current, without reading their rows.
    fn list_versions(
        &self,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Vec<IncidentVersion>, StoreError>> + Send;

    /// Starts waking `wake` after every commit that appended events, whichever connection or
    /// server node made it, where the backend can tell (PostgreSQL's `LISTEN/NOTIFY`); must be
    /// called inside a Tokio runtime. Returns whether it could: a backend that cannot leaves a
    /// reader to its own process's appends and a poll.
    fn wake_on_commits(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> bool;
}

/// [`Store::wake_on_commits`] for a backend with no signal of other writers' commits (SQLite,
/// where one server process is the only writer).
pub fn no_commit_signal<S>(_store: &S, _wake: std::sync::Arc<tokio::sync::Notify>) -> bool {
    false
}

/// Consistent online copies of the whole database, taken while it is in use.
pub trait Backup: Send + Sync {
    /// Writes a copy to `path`, which must not exist yet. [`StoreError::Invalid`] when the
    /// backend leaves backups to the database's own tools.
    fn backup_to(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Attachment contents, addressed by their SHA-256 digest and never changed once stored.
pub trait Blobs: Send + Sync {
    /// Stores `content` under `sha256` (which the caller computed); storing the same content
    /// again does nothing. Durable when it returns.
    fn put_blob(
        &self,
        sha256: [u8; 32],
        content: &[u8],
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The content stored under `sha256`, if any.
    fn get_blob(
        &self,
        sha256: [u8; 32],
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}
