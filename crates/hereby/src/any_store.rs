//! One store type for the binary: SQLite or PostgreSQL, chosen by the database URL at run time.

use hereby_core::types::{IncidentNumber, InstallationRole, UserName};
use hereby_store::copy::{Access, Row, SchemaVersion, Table, Tables, TablesTx, Value};
use hereby_store::{
    Appended, Directory, Head, IncidentSummary, ListQuery, Loaded, NewEvents, Store, StoreError,
    StoredEvent, TokenRecord, User, UserChange,
};
use hereby_store_postgres::{PgStore, PgTables, PgTablesTx};
use hereby_store_sqlite::{SqliteStore, SqliteTables, SqliteTablesTx};
use jiff::Timestamp;

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

/// A database as tables of rows, SQLite or PostgreSQL by URL: what `hereby db copy` reads and
/// writes.
#[derive(Debug, Clone)]
pub(crate) enum AnyTables {
    Sqlite(SqliteTables),
    Postgres(PgTables),
}

impl AnyTables {
    /// Connects to the database `url` names, without migrating it: `sqlite://…` or
    /// `postgres://…`.
    pub(crate) async fn connect(url: &str, access: Access) -> Result<Self, OpenFailure> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgTables::connect(url, access)
                .await
                .map(AnyTables::Postgres)
                .map_err(|e| OpenFailure(e.to_string()))
        } else if url.starts_with("sqlite:") {
            SqliteTables::connect(url, access)
                .await
                .map(AnyTables::Sqlite)
                .map_err(|e| OpenFailure(e.to_string()))
        } else {
            Err(OpenFailure(format!(
                "cannot open database {}: the URL must start with sqlite:// or postgres://",
                hereby_store::redact_url(url)
            )))
        }
    }
}

/// A transaction of [`AnyTables`].
pub(crate) enum AnyTablesTx {
    Sqlite(SqliteTablesTx),
    Postgres(PgTablesTx),
}

/// Forwards a method to whichever backend the tables or their transaction are on.
macro_rules! forward_tables {
    ($self:ident, $enum:ident, $tables:ident => $call:expr) => {
        match $self {
            $enum::Sqlite($tables) => $call.await,
            $enum::Postgres($tables) => $call.await,
        }
    };
}

impl Tables for AnyTables {
    type Tx = AnyTablesTx;

    async fn identity(&self) -> Result<String, StoreError> {
        forward_tables!(self, AnyTables, tables => tables.identity())
    }

    async fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        forward_tables!(self, AnyTables, tables => tables.schema_version())
    }

    async fn columns(
        &self,
    ) -> Result<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>, StoreError>
    {
        forward_tables!(self, AnyTables, tables => tables.columns())
    }

    async fn contents(&self) -> Result<Vec<(String, u64)>, StoreError> {
        forward_tables!(self, AnyTables, tables => tables.contents())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        forward_tables!(self, AnyTables, tables => tables.migrate())
    }

    async fn snapshot(&self) -> Result<AnyTablesTx, StoreError> {
        match self {
            AnyTables::Sqlite(tables) => tables.snapshot().await.map(AnyTablesTx::Sqlite),
            AnyTables::Postgres(tables) => tables.snapshot().await.map(AnyTablesTx::Postgres),
        }
    }

    async fn load(&self) -> Result<AnyTablesTx, StoreError> {
        match self {
            AnyTables::Sqlite(tables) => tables.load().await.map(AnyTablesTx::Sqlite),
            AnyTables::Postgres(tables) => tables.load().await.map(AnyTablesTx::Postgres),
        }
    }
}

impl TablesTx for AnyTablesTx {
    async fn count(&mut self, table: &Table) -> Result<u64, StoreError> {
        forward_tables!(self, AnyTablesTx, tx => tx.count(table))
    }

    async fn read(
        &mut self,
        table: &Table,
        after: Option<&[Value]>,
        limit: u32,
    ) -> Result<Vec<Row>, StoreError> {
        forward_tables!(self, AnyTablesTx, tx => tx.read(table, after, limit))
    }

    async fn write(&mut self, table: &Table, rows: &[Row]) -> Result<(), StoreError> {
        forward_tables!(self, AnyTablesTx, tx => tx.write(table, rows))
    }

    async fn commit(self) -> Result<(), StoreError> {
        forward_tables!(self, AnyTablesTx, tx => tx.commit())
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

    async fn read_stream_of_type(
        &self,
        incident: IncidentNumber,
        event_type: &str,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        forward!(self, store => store.read_stream_of_type(incident, event_type, after_sequence, limit))
    }

    async fn read_all(
        &self,
        after_position: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        forward!(self, store => store.read_all(after_position, limit))
    }

    async fn last_position(&self) -> Result<i64, StoreError> {
        forward!(self, store => store.last_position())
    }

    async fn count_by_status(&self) -> Result<Vec<(hereby_core::types::Status, u64)>, StoreError> {
        forward!(self, store => store.count_by_status())
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<IncidentSummary>, StoreError> {
        forward!(self, store => store.list_incidents(query))
    }

    async fn list_versions(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<hereby_store::IncidentVersion>, StoreError> {
        forward!(self, store => store.list_versions(query))
    }

    fn wake_on_commits(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> bool {
        match self {
            AnyStore::Sqlite(store) => store.wake_on_commits(wake),
            AnyStore::Postgres(store) => store.wake_on_commits(wake),
        }
    }
}

impl Directory for AnyStore {
    async fn count_users(&self) -> Result<u64, StoreError> {
        forward!(self, store => store.count_users())
    }

    async fn create_user(
        &self,
        name: &UserName,
        role: InstallationRole,
        at: Timestamp,
    ) -> Result<User, StoreError> {
        forward!(self, store => store.create_user(name, role, at))
    }

    async fn create_first_admin(
        &self,
        name: &UserName,
        token_label: &str,
        token_hash: [u8; 32],
        at: Timestamp,
    ) -> Result<Option<(User, TokenRecord)>, StoreError> {
        forward!(self, store => store.create_first_admin(name, token_label, token_hash, at))
    }

    async fn user(&self, name: &UserName) -> Result<User, StoreError> {
        forward!(self, store => store.user(name))
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        forward!(self, store => store.list_users())
    }

    async fn update_user(&self, name: &UserName, change: UserChange) -> Result<User, StoreError> {
        forward!(self, store => store.update_user(name, change))
    }

    async fn create_token(
        &self,
        user: &UserName,
        label: &str,
        token_hash: [u8; 32],
        at: Timestamp,
    ) -> Result<TokenRecord, StoreError> {
        forward!(self, store => store.create_token(user, label, token_hash, at))
    }

    async fn revoke_token(&self, id: i64, at: Timestamp) -> Result<TokenRecord, StoreError> {
        forward!(self, store => store.revoke_token(id, at))
    }

    async fn list_tokens(&self, user: Option<&UserName>) -> Result<Vec<TokenRecord>, StoreError> {
        forward!(self, store => store.list_tokens(user))
    }

    async fn authenticate(&self, token_hash: [u8; 32]) -> Result<Option<User>, StoreError> {
        forward!(self, store => store.authenticate(token_hash))
    }

    async fn password_hash(&self, name: &UserName) -> Result<Option<String>, StoreError> {
        forward!(self, store => store.password_hash(name))
    }

    async fn set_password_hash(&self, name: &UserName, phc: &str) -> Result<(), StoreError> {
        forward!(self, store => store.set_password_hash(name, phc))
    }

    async fn any_password_set(&self) -> Result<bool, StoreError> {
        forward!(self, store => store.any_password_set())
    }

    async fn create_web_session(
        &self,
        digest: [u8; 32],
        user: &UserName,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.create_web_session(digest, user, at, expires_at))
    }

    async fn web_session_user(
        &self,
        digest: [u8; 32],
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        forward!(self, store => store.web_session_user(digest, now))
    }

    async fn delete_web_session(&self, digest: [u8; 32]) -> Result<(), StoreError> {
        forward!(self, store => store.delete_web_session(digest))
    }

    async fn create_setup_link(
        &self,
        digest: [u8; 32],
        user: &UserName,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.create_setup_link(digest, user, at, expires_at))
    }

    async fn setup_link_user(
        &self,
        digest: [u8; 32],
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        forward!(self, store => store.setup_link_user(digest, now))
    }

    async fn redeem_setup_link(
        &self,
        digest: [u8; 32],
        phc: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        forward!(self, store => store.redeem_setup_link(digest, phc, now))
    }
}

impl hereby_store::Backup for AnyStore {
    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        forward!(self, store => store.backup_to(path))
    }
}

impl hereby_store::Blobs for AnyStore {
    async fn put_blob(
        &self,
        sha256: [u8; 32],
        content: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.put_blob(sha256, content, at))
    }

    async fn get_blob(&self, sha256: [u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        forward!(self, store => store.get_blob(sha256))
    }
}

impl hereby_store::Communications for AnyStore {
    async fn list_components(&self) -> Result<Vec<hereby_store::Component>, StoreError> {
        forward!(self, store => store.list_components())
    }

    async fn put_component(
        &self,
        component: &hereby_store::Component,
    ) -> Result<hereby_store::Component, StoreError> {
        forward!(self, store => store.put_component(component))
    }

    async fn remove_component(
        &self,
        name: &hereby_core::types::ServiceName,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_component(name))
    }

    async fn list_templates(&self) -> Result<Vec<hereby_store::StoredTemplate>, StoreError> {
        forward!(self, store => store.list_templates())
    }

    async fn put_template(
        &self,
        template: &hereby_store::StoredTemplate,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.put_template(template))
    }

    async fn remove_template(
        &self,
        name: &hereby_core::types::TemplateName,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_template(name))
    }

    async fn list_settings(
        &self,
        kind: &str,
    ) -> Result<Vec<hereby_store::AdminSetting>, StoreError> {
        forward!(self, store => store.list_settings(kind))
    }

    async fn put_settings(
        &self,
        settings: &[hereby_store::AdminSetting],
    ) -> Result<(), StoreError> {
        forward!(self, store => store.put_settings(settings))
    }

    async fn put_setting_if_absent(
        &self,
        setting: &hereby_store::AdminSetting,
    ) -> Result<hereby_store::AdminSetting, StoreError> {
        forward!(self, store => store.put_setting_if_absent(setting))
    }

    async fn record_release(&self, release: &hereby_store::Release) -> Result<bool, StoreError> {
        forward!(self, store => store.record_release(release))
    }

    async fn list_releases(
        &self,
        query: &hereby_store::ReleaseQuery,
    ) -> Result<Vec<hereby_store::Release>, StoreError> {
        forward!(self, store => store.list_releases(query))
    }

    async fn maintenances(
        &self,
        query: &hereby_store::MaintenanceQuery,
    ) -> Result<Vec<hereby_store::Maintenance>, StoreError> {
        forward!(self, store => store.maintenances(query))
    }

    async fn maintenance(&self, id: i64) -> Result<Option<hereby_store::Maintenance>, StoreError> {
        forward!(self, store => store.maintenance(id))
    }

    async fn create_maintenance(
        &self,
        write: &hereby_store::MaintenanceWrite,
        notices: &(dyn Fn(i64) -> Vec<hereby_store::NewDelivery> + Sync),
    ) -> Result<hereby_store::Maintenance, StoreError> {
        forward!(self, store => store.create_maintenance(write, notices))
    }

    async fn change_maintenance(
        &self,
        id: i64,
        version: i64,
        write: &hereby_store::MaintenanceWrite,
    ) -> Result<Option<hereby_store::Maintenance>, StoreError> {
        forward!(self, store => store.change_maintenance(id, version, write))
    }

    async fn remove_maintenance(
        &self,
        id: i64,
        version: i64,
        deliveries: &[hereby_store::NewDelivery],
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_maintenance(id, version, deliveries))
    }

    async fn put_setting(&self, setting: &hereby_store::AdminSetting) -> Result<(), StoreError> {
        forward!(self, store => store.put_setting(setting))
    }

    async fn remove_setting(&self, kind: &str, name: &str) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_setting(kind, name))
    }
}

impl hereby_store::Notifications for AnyStore {
    async fn create_channel(
        &self,
        channel: &hereby_store::NewChannel,
        at: Timestamp,
    ) -> Result<hereby_store::Channel, StoreError> {
        forward!(self, store => store.create_channel(channel, at))
    }

    async fn channels(&self) -> Result<Vec<hereby_store::Channel>, StoreError> {
        forward!(self, store => store.channels())
    }

    async fn delete_channel(&self, id: i64) -> Result<bool, StoreError> {
        forward!(self, store => store.delete_channel(id))
    }

    async fn create_subscription(
        &self,
        subscription: &hereby_store::NewSubscription,
        at: Timestamp,
    ) -> Result<hereby_store::Subscription, StoreError> {
        forward!(self, store => store.create_subscription(subscription, at))
    }

    async fn subscriptions(&self) -> Result<Vec<hereby_store::Subscription>, StoreError> {
        forward!(self, store => store.subscriptions())
    }

    async fn delete_subscription(&self, id: i64) -> Result<bool, StoreError> {
        forward!(self, store => store.delete_subscription(id))
    }

    async fn set_user_email(&self, name: &UserName, email: Option<&str>) -> Result<(), StoreError> {
        forward!(self, store => store.set_user_email(name, email))
    }

    async fn user_emails(&self) -> Result<Vec<(String, String)>, StoreError> {
        forward!(self, store => store.user_emails())
    }

    async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
        forward!(self, store => store.dispatch_cursor())
    }

    async fn commit_dispatch(
        &self,
        from: i64,
        to: i64,
        deliveries: &[hereby_store::NewDelivery],
        jobs: &[hereby_store::JobChange],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.commit_dispatch(from, to, deliveries, jobs, at))
    }

    async fn commit_dispatch_jobs(
        &self,
        from: i64,
        to: i64,
        deliveries: &[hereby_store::NewDelivery],
        jobs: &[hereby_store::KindedJobChange],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.commit_dispatch_jobs(from, to, deliveries, jobs, at))
    }

    async fn enqueue(
        &self,
        deliveries: &[hereby_store::NewDelivery],
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        forward!(self, store => store.enqueue(deliveries, at))
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limits: &hereby_store::ClaimLimits,
    ) -> Result<Vec<hereby_store::ClaimedDelivery>, StoreError> {
        forward!(self, store => store.claim_deliveries(now, lease_until, limits))
    }

    async fn finish_delivery(
        &self,
        claim: hereby_store::Claim,
        outcome: &hereby_store::DeliveryOutcome,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.finish_delivery(claim, outcome, at))
    }

    async fn count_deliveries(
        &self,
        state: hereby_store::DeliveryState,
    ) -> Result<u64, StoreError> {
        forward!(self, store => store.count_deliveries(state))
    }

    async fn delivery(&self, id: i64) -> Result<Option<hereby_store::Delivery>, StoreError> {
        forward!(self, store => store.delivery(id))
    }

    async fn deliveries(
        &self,
        state: Option<hereby_store::DeliveryState>,
        limit: u32,
    ) -> Result<Vec<hereby_store::Delivery>, StoreError> {
        forward!(self, store => store.deliveries(state, limit))
    }

    async fn retry_delivery(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<Option<hereby_store::Delivery>, StoreError> {
        forward!(self, store => store.retry_delivery(id, now))
    }

    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<hereby_store::Job>, StoreError> {
        forward!(self, store => store.claim_jobs(now, lease_until, limit))
    }

    async fn finish_job(
        &self,
        done: &hereby_store::JobDone,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.finish_job(done, at))
    }

    async fn finish_job_attached(
        &self,
        done: &hereby_store::JobDone,
        attached: &[hereby_store::AttachedDelivery],
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        forward!(self, store => store.finish_job_attached(done, attached, at))
    }

    async fn put_status_subscriber(
        &self,
        subscriber: &hereby_store::StatusSubscriber,
        deliveries: &[hereby_store::NewDelivery],
    ) -> Result<hereby_store::StatusSubscriber, StoreError> {
        forward!(self, store => store.put_status_subscriber(subscriber, deliveries))
    }

    async fn spend_code_try(
        &self,
        id: i64,
        most: u32,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        forward!(self, store => store.spend_code_try(id, most, now))
    }

    async fn status_subscriber(
        &self,
        id: i64,
    ) -> Result<Option<hereby_store::StatusSubscriber>, StoreError> {
        forward!(self, store => store.status_subscriber(id))
    }

    async fn status_subscriber_at(
        &self,
        kind: hereby_core::subscribers::SubscriberKind,
        address: &str,
        incident: Option<hereby_core::types::IncidentNumber>,
    ) -> Result<Option<hereby_store::StatusSubscriber>, StoreError> {
        forward!(self, store => store.status_subscriber_at(kind, address, incident))
    }

    async fn status_subscribers(
        &self,
        state: Option<hereby_core::subscribers::SubscriberState>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<hereby_store::StatusSubscriber>, StoreError> {
        forward!(self, store => store.status_subscribers(state, after, limit))
    }

    async fn remove_status_subscriber(&self, id: i64) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_status_subscriber(id))
    }

    async fn put_tracked(&self, tracked: &hereby_store::TrackedFollowUp) -> Result<(), StoreError> {
        forward!(self, store => store.put_tracked(tracked))
    }

    async fn tracked_follow_ups(
        &self,
        query: &hereby_store::TrackedQuery,
    ) -> Result<Vec<hereby_store::TrackedFollowUp>, StoreError> {
        forward!(self, store => store.tracked_follow_ups(query))
    }

    async fn tracker_sync_errors(&self) -> Result<Vec<(String, u64)>, StoreError> {
        forward!(self, store => store.tracker_sync_errors())
    }

    async fn tracker_delivery_seen(
        &self,
        tracker: &str,
        delivery: &str,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.tracker_delivery_seen(tracker, delivery))
    }

    async fn note_tracker_delivery(
        &self,
        tracker: &str,
        delivery: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.note_tracker_delivery(tracker, delivery, at))
    }
}

impl hereby_store::Alerts for AnyStore {
    async fn create_integration(
        &self,
        integration: &hereby_store::NewIntegration,
        at: Timestamp,
    ) -> Result<hereby_store::Integration, StoreError> {
        forward!(self, store => store.create_integration(integration, at))
    }

    async fn integrations(&self) -> Result<Vec<hereby_store::Integration>, StoreError> {
        forward!(self, store => store.integrations())
    }

    async fn integration_for_key(
        &self,
        digest: &[u8],
        at: Timestamp,
    ) -> Result<Option<hereby_store::Integration>, StoreError> {
        forward!(self, store => store.integration_for_key(digest, at))
    }

    async fn revoke_integration(&self, name: &str, at: Timestamp) -> Result<bool, StoreError> {
        forward!(self, store => store.revoke_integration(name, at))
    }

    async fn rotate_integration(
        &self,
        name: &str,
        key_digest: &[u8],
        overlap_until: Timestamp,
    ) -> Result<Option<hereby_store::Integration>, StoreError> {
        forward!(self, store => store.rotate_integration(name, key_digest, overlap_until))
    }

    async fn record_alerts(
        &self,
        payloads: &[hereby_store::AlertPayload],
        routes: &hereby_core::alerts::Routes,
        at: Timestamp,
    ) -> Result<Vec<hereby_store::Recorded>, StoreError> {
        forward!(self, store => store.record_alerts(payloads, routes, at))
    }

    async fn queue_alerts(
        &self,
        payloads: &[hereby_store::AlertPayload],
        at: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        forward!(self, store => store.queue_alerts(payloads, at))
    }

    async fn record_queued_alerts(
        &self,
        routes: &hereby_core::alerts::Routes,
        signals: usize,
    ) -> Result<Vec<hereby_store::QueuedRecorded>, StoreError> {
        forward!(self, store => store.record_queued_alerts(routes, signals))
    }

    fn shared_by_nodes(&self) -> bool {
        match self {
            AnyStore::Sqlite(store) => store.shared_by_nodes(),
            AnyStore::Postgres(store) => store.shared_by_nodes(),
        }
    }

    async fn set_aside_queued_alert(&self) -> Result<Option<i64>, StoreError> {
        forward!(self, store => store.set_aside_queued_alert())
    }

    async fn queued_alerts(&self) -> Result<Vec<hereby_store::QueuedAlerts>, StoreError> {
        forward!(self, store => store.queued_alerts())
    }

    async fn alert_groups(
        &self,
        incident: Option<hereby_core::types::IncidentNumber>,
        limit: u32,
    ) -> Result<Vec<hereby_store::AlertGroup>, StoreError> {
        forward!(self, store => store.alert_groups(incident, limit))
    }

    async fn alert_group(&self, id: i64) -> Result<Option<hereby_store::AlertGroup>, StoreError> {
        forward!(self, store => store.alert_group(id))
    }

    async fn alerts_of_group(
        &self,
        group: i64,
        limit: u32,
    ) -> Result<Vec<hereby_store::AlertRecord>, StoreError> {
        forward!(self, store => store.alerts_of_group(group, limit))
    }

    async fn waiting_groups(
        &self,
        limit: u32,
        at: Timestamp,
    ) -> Result<Vec<hereby_store::AlertGroup>, StoreError> {
        forward!(self, store => store.waiting_groups(limit, at))
    }

    async fn acknowledge_group(
        &self,
        group: i64,
        by: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.acknowledge_group(group, by, at))
    }

    async fn silence_group(
        &self,
        group: i64,
        until: Option<Timestamp>,
        by: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.silence_group(group, until, by, reason))
    }

    async fn group_of_alert(
        &self,
        integration: i64,
        dedup_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        forward!(self, store => store.group_of_alert(integration, dedup_key))
    }

    async fn newest_alert_payload(&self) -> Result<Option<i64>, StoreError> {
        forward!(self, store => store.newest_alert_payload())
    }

    async fn alert_fires(&self, integration: i64, dedup_key: &str) -> Result<bool, StoreError> {
        forward!(self, store => store.alert_fires(integration, dedup_key))
    }

    async fn claim_group(&self, group: i64) -> Result<bool, StoreError> {
        forward!(self, store => store.claim_group(group))
    }

    async fn move_group(
        &self,
        group: i64,
        from: hereby_core::types::IncidentNumber,
        to: hereby_core::types::IncidentNumber,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.move_group(group, from, to))
    }

    async fn link_group(
        &self,
        group: i64,
        incident: hereby_core::types::IncidentNumber,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.link_group(group, incident))
    }
}

impl hereby_store::Chat for AnyStore {
    async fn put_link_code(
        &self,
        digest: &[u8],
        user: &UserName,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.put_link_code(digest, user, expires))
    }

    async fn redeem_link_code(
        &self,
        digest: &[u8],
        platform: &str,
        chat_user: &str,
        at: Timestamp,
    ) -> Result<Option<UserName>, StoreError> {
        forward!(self, store => store.redeem_link_code(digest, platform, chat_user, at))
    }

    async fn set_chat_link(&self, link: &hereby_store::ChatLink) -> Result<(), StoreError> {
        forward!(self, store => store.set_chat_link(link))
    }

    async fn remove_chat_link(&self, platform: &str, chat_user: &str) -> Result<bool, StoreError> {
        forward!(self, store => store.remove_chat_link(platform, chat_user))
    }

    async fn chat_links(&self) -> Result<Vec<hereby_store::ChatLink>, StoreError> {
        forward!(self, store => store.chat_links())
    }

    async fn chat_link(
        &self,
        platform: &str,
        chat_user: &str,
    ) -> Result<Option<hereby_store::ChatLink>, StoreError> {
        forward!(self, store => store.chat_link(platform, chat_user))
    }

    async fn chat_room(
        &self,
        channel: i64,
        incident: u64,
    ) -> Result<Option<hereby_store::ChatRoom>, StoreError> {
        forward!(self, store => store.chat_room(channel, incident))
    }

    async fn open_chat_rooms(
        &self,
        channel: i64,
    ) -> Result<Vec<hereby_store::ChatRoom>, StoreError> {
        forward!(self, store => store.open_chat_rooms(channel))
    }

    async fn chat_room_at(
        &self,
        channel: i64,
        room: &str,
    ) -> Result<Option<hereby_store::ChatRoom>, StoreError> {
        forward!(self, store => store.chat_room_at(channel, room))
    }

    async fn put_chat_room(&self, room: &hereby_store::ChatRoom) -> Result<(), StoreError> {
        forward!(self, store => store.put_chat_room(room))
    }

    async fn direct_room(
        &self,
        channel: i64,
        chat_user: &str,
    ) -> Result<Option<String>, StoreError> {
        forward!(self, store => store.direct_room(channel, chat_user))
    }

    async fn put_direct_room(
        &self,
        channel: i64,
        chat_user: &str,
        room: &str,
    ) -> Result<(), StoreError> {
        forward!(self, store => store.put_direct_room(channel, chat_user, room))
    }

    async fn first_sight(
        &self,
        channel: i64,
        event_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.first_sight(channel, event_id, at))
    }

    async fn chat_cursor(&self, channel: i64) -> Result<Option<String>, StoreError> {
        forward!(self, store => store.chat_cursor(channel))
    }

    async fn set_chat_cursor(&self, channel: i64, position: &str) -> Result<(), StoreError> {
        forward!(self, store => store.set_chat_cursor(channel, position))
    }

    async fn take_chat_lease(
        &self,
        channel: i64,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        forward!(self, store => store.take_chat_lease(channel, holder, now, until))
    }

    async fn newest_delivery(
        &self,
        channel: i64,
        incident: u64,
        kind: &str,
    ) -> Result<Option<i64>, StoreError> {
        forward!(self, store => store.newest_delivery(channel, incident, kind))
    }

    async fn settle_deliveries(
        &self,
        channel: i64,
        incident: u64,
        kind: &str,
        up_to: i64,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        forward!(self, store => store.settle_deliveries(channel, incident, kind, up_to, at))
    }
}

impl hereby_store::Search for AnyStore {
    async fn search(
        &self,
        request: &hereby_store::SearchRequest<'_>,
    ) -> Result<hereby_store::SearchResults, StoreError> {
        forward!(self, store => store.search(request))
    }

    async fn index_search(&self, limit: u32) -> Result<u64, StoreError> {
        forward!(self, store => store.index_search(limit))
    }

    fn index_batch(&self) -> u32 {
        match self {
            AnyStore::Sqlite(store) => store.index_batch(),
            AnyStore::Postgres(store) => store.index_batch(),
        }
    }
}
