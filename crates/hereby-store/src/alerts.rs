//! The alert tables: integrations (with the digest of each key, never the key), every
//! accepted payload, alert groups and alerts. [`Alerts::record_alerts`] applies the core's
//! routing and grouping rules inside the transaction that records a payload, so an accepted
//! event is durable, deduplicated and grouped when it returns.

use std::collections::BTreeMap;
use std::future::Future;

use hereby_core::alerts::{Flaps, Placement, Quiet, Routes, Signal};
use hereby_core::types::{IncidentNumber, Severity};
use jiff::Timestamp;

use crate::StoreError;

/// The kinds of integration, each a format a source already speaks.
pub const INTEGRATION_KINDS: &[&str] = &[
    "alertmanager",
    "pagerduty",
    "opsgenie",
    "generic",
    "heartbeat",
];

/// An integration to create: its key is given only as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    pub name: String,
    pub kind: String,
    pub key_digest: Vec<u8>,
    /// A heartbeat's timeout: an alert fires when no ping came for this long.
    pub heartbeat_timeout: Option<jiff::SignedDuration>,
}

/// An integration as stored, without its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// While a rotation lasts, the previous key works too until this time.
    pub previous_until: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
    pub heartbeat_timeout: Option<jiff::SignedDuration>,
}

/// One accepted payload of an integration, read into signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPayload {
    pub integration: i64,
    /// As it came, kept for replay and debugging.
    pub body: String,
    pub signals: Vec<Signal>,
}

/// What one signal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    /// A new alert, first seen.
    New,
    /// An alert that had resolved fires again: a new occurrence of the same key.
    Refired,
    /// The same alert again while it fires: only its count and last-seen time moved.
    Duplicate,
    /// A firing alert resolved.
    Resolved,
    /// A resolve for nothing that fires: kept in the payload, changing nothing.
    Orphan,
    /// No route matched (an installation replaced the catch-all): kept in the payload only.
    Unrouted,
}

impl AlertChange {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertChange::New => "new",
            AlertChange::Refired => "refired",
            AlertChange::Duplicate => "duplicate",
            AlertChange::Resolved => "resolved",
            AlertChange::Orphan => "orphan",
            AlertChange::Unrouted => "unrouted",
        }
    }
}

/// What one signal did, with the alert and group it touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOutcome {
    pub change: AlertChange,
    pub alert: Option<i64>,
    pub group: Option<i64>,
    pub route: Option<String>,
    /// Where a new or refired alert went.
    pub placement: Option<Placement>,
    /// After this signal its group waits for an incident to be opened.
    pub waits: bool,
    /// Why a firing alert asked nothing of anyone (it is suppressed, or its group is quiet).
    pub quiet: Option<Quiet>,
    /// Its group asks for an incident, held by the route's pause until then.
    pub held_until: Option<Timestamp>,
}

impl AlertOutcome {
    /// An outcome that touched no group.
    pub fn untouched(change: AlertChange, alert: Option<i64>, group: Option<i64>) -> Self {
        Self {
            change,
            alert,
            group,
            route: None,
            placement: None,
            waits: false,
            quiet: None,
            held_until: None,
        }
    }
}

/// A recorded payload and what each of its signals did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub payload: i64,
    pub outcomes: Vec<AlertOutcome>,
}

/// A queued payload once recorded: its integration, its signals, and what they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecorded {
    pub integration: i64,
    pub signals: Vec<Signal>,
    pub recorded: Recorded,
}

/// What waits to be recorded for one integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedAlerts {
    pub integration: i64,
    pub payloads: u64,
    pub signals: u64,
}

/// An alert group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    pub id: i64,
    pub route: String,
    pub group_key: String,
    pub label: String,
    pub title: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub opened_at: Timestamp,
    pub last_alert_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub previous: Option<i64>,
    /// Alerts firing now.
    pub firing: u64,
    /// Distinct alerts (occurrences) it has had.
    pub alerts: u64,
    /// Every event it received, duplicates and resolves included.
    pub events: u64,
    /// How often it fired again after all its alerts had resolved.
    pub reopened: u64,
    /// Its route asked for an incident and none is linked yet.
    pub wants_incident: bool,
    /// When a held group's incident is to be opened (the route's pause).
    pub wants_from: Option<Timestamp>,
    pub incident: Option<IncidentNumber>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub silenced_until: Option<Timestamp>,
    pub silenced_by: Option<String>,
    pub silence_reason: Option<String>,
    pub flaps: Flaps,
}

/// One alert (one occurrence of a source's dedup key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: i64,
    pub integration: i64,
    pub dedup_key: String,
    pub group: i64,
    pub firing: bool,
    pub summary: String,
    pub labels: BTreeMap<String, String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Events received for it: the first, its duplicates and its resolve.
    pub count: u64,
    /// Why it was kept without asking anything (a maintenance window, a silence), if it was.
    pub suppressed: Option<String>,
}

/// The alert tables. Every write is durable when it returns.
pub trait Alerts: Clone + Send + Sync + 'static {
    /// Creates an integration; a taken name or key is [`StoreError::Invalid`].
    fn create_integration(
        &self,
        integration: &NewIntegration,
        at: Timestamp,
    ) -> impl Future<Output = Result<Integration, StoreError>> + Send;

    /// Every integration, revoked ones too, by id.
    fn integrations(&self) -> impl Future<Output = Result<Vec<Integration>, StoreError>> + Send;

    /// The live integration a key digest opens: its current key, or its previous key while a
    /// rotation lasts. Revoked integrations open nothing.
    fn integration_for_key(
        &self,
        digest: &[u8],
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<Integration>, StoreError>> + Send;

    /// Revokes an integration by name; `false` if there is none or it was revoked already.
    fn revoke_integration(
        &self,
        name: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives an integration a new key; the current one keeps working until `overlap_until`.
    /// `None` if there is no live integration of that name.
    fn rotate_integration(
        &self,
        name: &str,
        key_digest: &[u8],
        overlap_until: Timestamp,
    ) -> impl Future<Output = Result<Option<Integration>, StoreError>> + Send;

    /// Records accepted payloads and what their signals do, in order, in one transaction
    /// (a single commit for many senders): deduplicated by the source's key, routed and
    /// grouped by `routes`, and groups whose route's policy now asks for an incident marked
    /// as waiting for one. `at` is when they were received, which every window counts from.
    /// All are recorded, or none.
    fn record_alerts(
        &self,
        payloads: &[AlertPayload],
        routes: &Routes,
        at: Timestamp,
    ) -> impl Future<Output = Result<Vec<Recorded>, StoreError>> + Send;

    /// Queues accepted payloads to be recorded later, in one transaction: each is durable
    /// with its signals when this returns, and its integration's last event is at `at`.
    /// Returns their ids, in order; [`Alerts::record_queued_alerts`] records them in the same
    /// order.
    fn queue_alerts(
        &self,
        payloads: &[AlertPayload],
        at: Timestamp,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Records the oldest queued payloads in the order they were accepted, each as of when it
    /// was received, in one transaction: whole payloads up to about `signals` signals (at
    /// least one payload). Empty when none waits. One caller records at a time, whichever
    /// node it runs on, so a resolve never overtakes the firing it follows.
    fn record_queued_alerts(
        &self,
        routes: &Routes,
        signals: usize,
    ) -> impl Future<Output = Result<Vec<QueuedRecorded>, StoreError>> + Send;

    /// Takes the oldest queued payload out of the queue without recording it (its body stays
    /// kept): for one whose signals cannot be read back. Its id, if one was queued.
    fn set_aside_queued_alert(
        &self,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Whether other server nodes may queue alerts in this database too (PostgreSQL carries
    /// several nodes; SQLite one).
    fn shared_by_nodes(&self) -> bool;

    /// How many payloads and signals wait to be recorded, per integration id.
    fn queued_alerts(&self) -> impl Future<Output = Result<Vec<QueuedAlerts>, StoreError>> + Send;

    /// Groups, newest first, at most `limit`; only those linked to `incident` when given.
    fn alert_groups(
        &self,
        incident: Option<IncidentNumber>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AlertGroup>, StoreError>> + Send;

    fn alert_group(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<AlertGroup>, StoreError>> + Send;

    /// A group's alerts, newest first, at most `limit`.
    fn alerts_of_group(
        &self,
        group: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;

    /// Groups waiting for an incident whose pause (if any) has passed at `at`, oldest first.
    fn waiting_groups(
        &self,
        limit: u32,
        at: Timestamp,
    ) -> impl Future<Output = Result<Vec<AlertGroup>, StoreError>> + Send;

    /// Acknowledges a group as `by`: someone is on it, so its route opens no incident for it
    /// (one waiting is no longer waited for). `false` if there is no such group.
    fn acknowledge_group(
        &self,
        group: i64,
        by: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Silences a group until `until` as `by` (`None` lifts the silence): its new firing
    /// alerts are kept as suppressed, and one waiting is no longer waited for. `false` if
    /// there is no such group.
    fn silence_group(
        &self,
        group: i64,
        until: Option<Timestamp>,
        by: &str,
        reason: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The group of the newest alert under an integration's dedup key, if any.
    fn group_of_alert(
        &self,
        integration: i64,
        dedup_key: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// The id of the newest payload recorded (by any node), if any.
    fn newest_alert_payload(&self) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Whether the newest alert under an integration's dedup key fires.
    fn alert_fires(
        &self,
        integration: i64,
        dedup_key: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes a waiting group for this caller to open its incident: `false` when another
    /// caller (another node) took it first or it no longer waits. A group taken and never
    /// linked (the process stopped in between) waits again at its next firing alert.
    fn claim_group(&self, group: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves a group from incident `from` to `to` (a candidate merged); `false` if it was not
    /// linked to `from`.
    fn move_group(
        &self,
        group: i64,
        from: IncidentNumber,
        to: IncidentNumber,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Links a group to an incident if it has none; `false` if it had one already.
    fn link_group(
        &self,
        group: i64,
        incident: IncidentNumber,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
