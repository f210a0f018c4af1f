//! Copying a whole database into another, empty one of either backend, row for row.
//!
//! Moving from SQLite to PostgreSQL (or back) must keep everything that names something else:
//! event positions and hashes (the chains and the dispatcher's cursor), token and delivery ids,
//! idempotency keys, attachment digests. So the copy does not go through the stores' own
//! operations, which would assign new ids and times; it moves raw rows. A backend reads and
//! writes each table's rows as small backend-neutral [`Value`]s ([`Tables`], [`TablesTx`]);
//! what the tables are, the order that satisfies their foreign keys, and the checks before and
//! after are written once here.
//!
//! The copy reads the source in one read-only snapshot and writes the target in one
//! transaction, a batch of rows at a time: a long log is never held in memory at once, and a
//! copy that fails leaves the target as empty as it found it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;

use crate::StoreError;

/// One stored value, as both backends can hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    /// A boolean: `BOOLEAN` on PostgreSQL, 0 or 1 on SQLite.
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

/// A row: one value per column, in the order of its table's [`Table::columns`].
pub type Row = Vec<Value>;

/// The type of a column, which a backend needs to read a value and to bind a `NULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

/// A column of a copied table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

impl Column {
    const fn int(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Int,
        }
    }

    const fn bool(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Bool,
        }
    }

    const fn text(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Text,
        }
    }

    const fn bytes(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Bytes,
        }
    }
}

/// A table the copy moves, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// What one row is called in messages: singular and plural.
    pub noun: (&'static str, &'static str),
    pub columns: &'static [Column],
    /// The primary key's columns. Rows are read in this order, each batch after the last key
    /// of the one before, which costs the same on the first batch as on the last.
    pub key: &'static [&'static str],
    /// The migrations insert this table's rows (the incident counter, the dispatcher's cursor),
    /// so a copied row replaces the one the target has, and the table says nothing about
    /// whether a database is empty.
    pub seeded: bool,
    /// A condition on the rows to copy, when not all of them are: PostgreSQL keeps a counter of
    /// event positions that SQLite has no use for (the rowid is the position), and the target
    /// derives its own from the copied events.
    pub only: Option<&'static str>,
    /// Rows per batch: a bound on memory and on the placeholders of one statement.
    pub batch: u32,
}

impl Table {
    /// The values of the row's key columns, to read on after it.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.key_indices()
            .filter_map(|index| row.get(index).cloned())
            .collect()
    }

    /// The key's columns, in key order.
    pub fn key_columns(&self) -> impl Iterator<Item = Column> + '_ {
        self.key_indices().map(|index| self.columns[index])
    }

    fn key_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.key
            .iter()
            .filter_map(|key| self.columns.iter().position(|column| column.name == *key))
    }

    /// `n users`, `1 user`.
    pub fn count_phrase(&self, n: u64) -> String {
        let noun = if n == 1 { self.noun.0 } else { self.noun.1 };
        format!("{n} {noun}")
    }

    /// Refuses a row whose values do not fit the columns, before any of it is bound.
    pub fn check_row(&self, row: &[Value]) -> Result<(), StoreError> {
        if row.len() != self.columns.len() {
            return Err(StoreError::Invalid(format!(
                "a row of {} has {} values for {} columns",
                self.name,
                row.len(),
                self.columns.len()
            )));
        }
        for (value, column) in row.iter().zip(self.columns) {
            let fits = matches!(
                (value, column.kind),
                (Value::Null, _)
                    | (Value::Int(_), Kind::Int)
                    | (Value::Bool(_), Kind::Bool)
                    | (Value::Text(_), Kind::Text)
                    | (Value::Bytes(_), Kind::Bytes)
            );
            if !fits {
                return Err(StoreError::Invalid(format!(
                    "{}.{} cannot hold {value:?}",
                    self.name, column.name
                )));
            }
        }
        Ok(())
    }
}

/// Rows per batch where rows are small: at most 20 columns × 1,000 rows = 20,000
/// placeholders, well under SQLite's 32,766 and PostgreSQL's 65,535.
const BATCH: u32 = 1_000;

/// Every table of both schemas, in an order in which each row's foreign keys point at rows
/// already copied (users before their tokens, incidents before their members, channels before
/// their subscriptions and deliveries). `_sqlx_migrations` is not copied: the target is
/// migrated by this binary before the copy and records its own migrations.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        noun: ("user", "users"),
        columns: &[
            Column::text("name"),
            Column::text("role"),
            Column::bool("disabled"),
            Column::int("created_at"),
            Column::text("password_hash"),
            Column::text("email"),
        ],
        key: &["name"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "api_tokens",
        noun: ("API token", "API tokens"),
        columns: &[
            Column::int("id"),
            Column::text("user_name"),
            Column::text("label"),
            Column::bytes("token_hash"),
            Column::int("created_at"),
            Column::int("revoked_at"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "web_sessions",
        noun: ("web session", "web sessions"),
        columns: &[
            Column::bytes("digest"),
            Column::text("user_name"),
            Column::int("created_at"),
            Column::int("expires_at"),
        ],
        key: &["digest"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "setup_links",
        noun: ("setup link", "setup links"),
        columns: &[
            Column::bytes("digest"),
            Column::text("user_name"),
            Column::int("created_at"),
            Column::int("expires_at"),
        ],
        key: &["digest"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "incidents",
        noun: ("incident", "incidents"),
        columns: &[
            Column::int("number"),
            Column::text("title"),
            Column::text("status"),
            Column::text("severity"),
            Column::bool("potential"),
            Column::text("visibility"),
            Column::text("services"),
            Column::text("commander"),
            Column::text("roles"),
            Column::int("declared_at"),
            Column::int("resolved_at"),
            Column::int("updated_at"),
            Column::int("version"),
            Column::bytes("last_hash"),
            Column::text("state"),
            Column::int("state_format"),
            Column::text("summary"),
        ],
        key: &["number"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "incident_members",
        noun: ("incident member", "incident members"),
        columns: &[Column::int("incident"), Column::text("person")],
        key: &["incident", "person"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "events",
        noun: ("event", "events"),
        columns: &[
            Column::int("position"),
            Column::int("incident"),
            Column::int("sequence"),
            Column::int("recorded_at"),
            Column::text("actor"),
            Column::text("event_type"),
            Column::int("event_version"),
            Column::text("body"),
            Column::bytes("prev_hash"),
            Column::bytes("hash"),
        ],
        key: &["position"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "counters",
        noun: ("counter", "counters"),
        columns: &[Column::text("name"), Column::int("value")],
        key: &["name"],
        seeded: true,
        only: Some("name = 'incident_number'"),
        batch: BATCH,
    },
    Table {
        name: "attachments",
        noun: ("attachment", "attachments"),
        columns: &[
            Column::bytes("sha256"),
            Column::int("size"),
            Column::bytes("content"),
            Column::int("created_at"),
        ],
        key: &["sha256"],
        seeded: false,
        only: None,
        // An attachment may be as large as the server accepts (25 MiB by default): one at a
        // time keeps the memory a copy needs small, at the cost of a round trip per file.
        batch: 1,
    },
    Table {
        name: "status_components",
        noun: ("status page component", "status page components"),
        columns: &[
            Column::text("name"),
            Column::text("description"),
            Column::int("position"),
            Column::text("status"),
            Column::int("created_at"),
            Column::int("updated_at"),
            Column::text("group_name"),
        ],
        key: &["name"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "maintenances",
        noun: ("scheduled maintenance", "scheduled maintenances"),
        columns: &[
            Column::int("id"),
            Column::text("title"),
            Column::text("components"),
            Column::text("status"),
            Column::int("starts_at"),
            Column::int("ends_at"),
            Column::int("started_at"),
            Column::int("completed_at"),
            Column::bool("auto_start"),
            Column::bool("auto_complete"),
            Column::int("reminded_at"),
            Column::text("created_by"),
            Column::int("created_at"),
            Column::int("updated_at"),
            Column::int("version"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "maintenance_updates",
        noun: ("maintenance update", "maintenance updates"),
        columns: &[
            Column::int("id"),
            Column::int("maintenance_id"),
            Column::text("status"),
            Column::text("body"),
            Column::text("author"),
            Column::int("at"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "message_templates",
        noun: ("message template", "message templates"),
        columns: &[
            Column::text("name"),
            Column::text("description"),
            Column::text("subject"),
            Column::text("body"),
            Column::int("updated_at"),
            Column::text("updated_by"),
        ],
        key: &["name"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "admin_settings",
        noun: ("admin setting", "admin settings"),
        columns: &[
            Column::text("kind"),
            Column::text("name"),
            Column::text("value"),
            Column::int("updated_at"),
            Column::text("updated_by"),
        ],
        key: &["kind", "name"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "releases",
        noun: ("release", "releases"),
        columns: &[
            Column::text("service"),
            Column::text("version"),
            Column::int("deployed_at"),
            Column::int("recorded_at"),
            Column::text("recorded_by"),
            Column::text("notes"),
        ],
        key: &["service", "deployed_at", "version"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "notification_channels",
        noun: ("notification channel", "notification channels"),
        columns: &[
            Column::int("id"),
            Column::text("name"),
            Column::text("kind"),
            Column::text("config"),
            Column::bool("personal"),
            Column::int("concurrency"),
            Column::int("created_at"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "status_subscribers",
        noun: ("status page subscriber", "status page subscribers"),
        columns: &[
            Column::int("id"),
            Column::text("kind"),
            Column::text("address"),
            Column::int("incident"),
            Column::text("components"),
            Column::text("state"),
            Column::text("nonce"),
            Column::text("secret"),
            Column::int("confirm_expires_at"),
            Column::text("code_digest"),
            Column::int("code_expires_at"),
            Column::int("code_tries"),
            Column::int("created_at"),
            Column::int("updated_at"),
            Column::int("confirmed_at"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "notification_subscriptions",
        noun: ("subscription", "subscriptions"),
        columns: &[
            Column::int("id"),
            Column::int("channel_id"),
            Column::text("recipient"),
            Column::text("events"),
            Column::text("audience"),
            Column::text("scope"),
            Column::int("created_at"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "notification_deliveries",
        noun: ("delivery", "deliveries"),
        columns: &[
            Column::int("id"),
            Column::text("idempotency_key"),
            Column::int("channel_id"),
            Column::text("recipient"),
            Column::int("incident"),
            Column::text("kind"),
            Column::text("subject"),
            Column::text("body"),
            Column::text("payload"),
            Column::text("state"),
            Column::int("attempts"),
            Column::int("next_attempt_at"),
            Column::int("claimed_until"),
            Column::text("last_error"),
            Column::int("created_at"),
            Column::int("finished_at"),
            Column::text("attachment_name"),
            Column::text("attachment_type"),
            Column::text("attachment_content"),
            Column::int("claim_token"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "notification_cursor",
        noun: ("dispatcher cursor", "dispatcher cursors"),
        columns: &[Column::int("id"), Column::int("position")],
        key: &["id"],
        seeded: true,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "jobs",
        noun: ("job", "jobs"),
        columns: &[
            Column::int("id"),
            Column::text("kind"),
            Column::int("incident"),
            Column::int("due_at"),
            Column::text("state"),
            Column::int("attempts"),
            Column::int("claimed_until"),
            Column::text("last_key"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "integrations",
        noun: ("integration", "integrations"),
        columns: &[
            Column::int("id"),
            Column::text("name"),
            Column::text("kind"),
            Column::bytes("key_digest"),
            Column::bytes("previous_digest"),
            Column::int("previous_until"),
            Column::int("created_at"),
            Column::int("revoked_at"),
            Column::int("last_event_at"),
            Column::int("heartbeat_timeout"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "alert_payloads",
        noun: ("alert payload", "alert payloads"),
        columns: &[
            Column::int("id"),
            Column::int("integration_id"),
            Column::int("received_at"),
            Column::text("body"),
            // A payload still queued is copied queued: the target records it.
            Column::text("queued"),
            Column::int("queued_signals"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "alert_groups",
        noun: ("alert group", "alert groups"),
        columns: &[
            Column::int("id"),
            Column::text("route"),
            Column::text("group_key"),
            Column::text("label"),
            Column::text("title"),
            Column::text("severity"),
            Column::text("service"),
            Column::int("opened_at"),
            Column::int("last_alert_at"),
            Column::int("resolved_at"),
            Column::int("previous_id"),
            Column::int("firing"),
            Column::int("alerts"),
            Column::int("events"),
            Column::int("reopened"),
            Column::bool("wants_incident"),
            Column::int("incident"),
            Column::text("acknowledged_by"),
            Column::int("acknowledged_at"),
            Column::int("silenced_until"),
            Column::text("silenced_by"),
            Column::text("silence_reason"),
            Column::int("flips"),
            Column::int("flips_since"),
            Column::int("last_flip"),
            Column::int("flapping_since"),
            Column::int("wants_from"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        // 27 columns: fewer rows per batch keep the placeholders under SQLite's limit.
        batch: 500,
    },
    Table {
        name: "alerts",
        noun: ("alert", "alerts"),
        columns: &[
            Column::int("id"),
            Column::int("integration_id"),
            Column::text("dedup_key"),
            Column::int("group_id"),
            Column::bool("firing"),
            Column::text("summary"),
            Column::text("labels"),
            Column::int("first_seen"),
            Column::int("last_seen"),
            Column::int("resolved_at"),
            Column::int("count"),
            Column::int("payload_id"),
            Column::text("suppressed"),
        ],
        key: &["id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_links",
        noun: ("chat link", "chat links"),
        columns: &[
            Column::text("platform"),
            Column::text("chat_user"),
            Column::text("user_name"),
            Column::int("linked_at"),
            Column::text("linked_by"),
        ],
        key: &["platform", "chat_user"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_link_codes",
        noun: ("chat link code", "chat link codes"),
        columns: &[
            Column::bytes("digest"),
            Column::text("user_name"),
            Column::int("expires_at"),
        ],
        key: &["digest"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_rooms",
        noun: ("chat room", "chat rooms"),
        columns: &[
            Column::int("channel_id"),
            Column::int("incident"),
            Column::text("room"),
            Column::text("name"),
            Column::bool("private"),
            Column::text("state_message"),
            Column::text("invited"),
            Column::bool("archived"),
            Column::int("created_at"),
        ],
        key: &["channel_id", "incident"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_direct_rooms",
        noun: ("direct chat room", "direct chat rooms"),
        columns: &[
            Column::int("channel_id"),
            Column::text("chat_user"),
            Column::text("room"),
        ],
        key: &["channel_id", "chat_user"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_cursors",
        noun: ("chat cursor", "chat cursors"),
        columns: &[Column::int("channel_id"), Column::text("position")],
        key: &["channel_id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_inbound",
        noun: ("handled chat event", "handled chat events"),
        columns: &[
            Column::int("channel_id"),
            Column::text("event_id"),
            Column::int("received_at"),
        ],
        key: &["channel_id", "event_id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "chat_leases",
        noun: ("chat adapter lease", "chat adapter leases"),
        columns: &[
            Column::int("channel_id"),
            Column::text("holder"),
            Column::int("until"),
        ],
        key: &["channel_id"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "tracked_follow_ups",
        noun: ("tracked follow-up", "tracked follow-ups"),
        columns: &[
            Column::int("incident"),
            Column::int("item"),
            Column::text("tracker"),
            Column::text("external"),
            Column::text("issue_key"),
            Column::text("url"),
            Column::text("state"),
            Column::text("reason"),
            Column::int("remote_updated_at"),
            Column::int("synced_at"),
            Column::text("sync_error"),
            Column::int("error_at"),
            Column::int("created_at"),
        ],
        key: &["incident", "item"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
    Table {
        name: "tracker_deliveries",
        noun: ("handled tracker webhook", "handled tracker webhooks"),
        columns: &[
            Column::text("tracker"),
            Column::text("delivery"),
            Column::int("received_at"),
        ],
        key: &["tracker", "delivery"],
        seeded: false,
        only: None,
        batch: BATCH,
    },
];

/// The copied table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|table| table.name == name)
}

/// Whether a copy reads a database (its source) or writes into it (its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Which migrations a database has had, next to the newest this binary knows for its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// The newest migration applied; `None` when the database was never migrated.
    pub applied: Option<i64>,
    /// The newest migration this binary has for the backend.
    pub known: i64,
}

/// A database as tables of rows, for copying. Both SQL backends implement it.
pub trait Tables: Send + Sync {
    type Tx: TablesTx;

    /// Names the database, the same for two URLs that reach the same one (`sqlite://a.db` and
    /// `sqlite://./a.db`; two host names of one PostgreSQL server), so a copy onto itself is
    /// refused.
    fn identity(&self) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Which migrations the database has had; reads without changing anything.
    fn schema_version(&self) -> impl Future<Output = Result<SchemaVersion, StoreError>> + Send;

    /// Every table in the database (but the migrations' own) with its column names.
    fn columns(
        &self,
    ) -> impl Future<Output = Result<BTreeMap<String, BTreeSet<String>>, StoreError>> + Send;

    /// Every table in the database (but the migrations' own) with its number of rows, whether
    /// this binary knows the table or not; works on a database never migrated.
    fn contents(&self) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    /// Applies this binary's pending migrations.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A read-only transaction that sees one consistent state of the whole database.
    fn snapshot(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// A write transaction to load rows in; nothing is visible until [`TablesTx::commit`].
    fn load(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
}

/// A transaction over a database's tables. Dropping it without committing rolls it back.
pub trait TablesTx: Send {
    /// How many rows of `table` there are (those `Table::only` selects).
    fn count(&mut self, table: &Table) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` rows of `table` in key order, after the row whose key is `after`.
    fn read(
        &mut self,
        table: &Table,
        after: Option<&[Value]>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Row>, StoreError>> + Send;

    /// Inserts `rows` into `table` as they are, ids included; a seeded table's rows replace
    /// those with the same key.
    fn write(
        &mut self,
        table: &Table,
        rows: &[Row],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves the backend's own counters past the copied rows (PostgreSQL's identity sequences
    /// and event position counter), then commits.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why a copy did not happen or did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    #[error("the source and the target are the same database; copy into another, empty database")]
    SameDatabase,
    #[error("the source is not a hereby database: it has never been migrated")]
    SourceNotMigrated,
    #[error(
        "the source was written by a newer hereby (schema version {applied}; this hereby knows up to {known}): copy with that version"
    )]
    SourceNewer { applied: i64, known: i64 },
    #[error(
        "the source's schema is older (version {applied}; this hereby's is {known}): migrate it first with `hereby db migrate --database-url <source>`, with the server stopped"
    )]
    SourceOlder { applied: i64, known: i64 },
    #[error(
        "the target was written by a newer hereby (schema version {applied}; this hereby knows up to {known}); copy with that version"
    )]
    TargetNewer { applied: i64, known: i64 },
    /// The tables and columns of a database are not the ones this copy moves, so rows would be
    /// lost or could not be placed.
    #[error("the {side}'s tables are not the ones this hereby copies: {problem}")]
    UnknownSchema { side: &'static str, problem: String },
    #[error("the target already holds {}; copy only into an empty database", and_list(.0))]
    NotEmpty(Vec<String>),
    #[error("the copy of {table} has {copied} rows, the source {expected}")]
    Mismatch {
        table: &'static str,
        expected: u64,
        copied: u64,
    },
    /// The copy was committed, but counting the target again did not agree: the target holds
    /// it as it is and must be emptied before another try.
    #[error(
        "the copy was committed but does not check out ({0}); empty the target before trying again"
    )]
    Committed(Box<CopyError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The number of rows a table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static Table,
    pub rows: u64,
}

impl fmt::Display for TableRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table.count_phrase(self.rows))
    }
}

/// How far a copy has come, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyProgress<'a> {
    /// The source's rows per table, counted in its snapshot before anything is copied.
    Planned(&'a [TableRows]),
    /// `copied` of `of` rows of `table` are written (not yet committed).
    Copied {
        table: &'static Table,
        copied: u64,
        of: u64,
    },
    /// Every row is written; the target commits and is counted again.
    Committing,
}

/// What a finished copy moved: every table's rows, in copying order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableRows>,
}

impl CopyReport {
    /// The rows copied of the table called `name`.
    pub fn rows(&self, name: &str) -> u64 {
        self.tables
            .iter()
            .find(|counted| counted.table.name == name)
            .map_or(0, |counted| counted.rows)
    }

    /// Every row copied.
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|counted| counted.rows).sum()
    }
}

/// Checks that the source can be copied by this binary: migrated to exactly the schema it
/// knows, with no table or column it would leave behind. Reads only.
pub async fn check_source<S: Tables>(source: &S) -> Result<(), CopyError> {
    let version = source.schema_version().await?;
    match version.applied {
        None => return Err(CopyError::SourceNotMigrated),
        Some(applied) if applied > version.known => {
            return Err(CopyError::SourceNewer {
                applied,
                known: version.known,
            });
        }
        Some(applied) if applied < version.known => {
            return Err(CopyError::SourceOlder {
                applied,
                known: version.known,
            });
        }
        Some(_) => {}
    }
    check_schema("source", &source.columns().await?, Extra::Refused)
}

/// Checks that the target may receive a copy of `source`: another database, not migrated
/// beyond what this binary knows, and empty but for what the migrations put there. Reads
/// only, so a refused target is left exactly as it was.
pub async fn check_target<S: Tables, T: Tables>(source: &S, target: &T) -> Result<(), CopyError> {
    if source.identity().await? == target.identity().await? {
        return Err(CopyError::SameDatabase);
    }
    let version = target.schema_version().await?;
    if let Some(applied) = version.applied
        && applied > version.known
    {
        return Err(CopyError::TargetNewer {
            applied,
            known: version.known,
        });
    }
    // Named in copying order, tables this binary does not know last.
    let mut held: Vec<(usize, String)> = target
        .contents()
        .await?
        .into_iter()
        .filter(|(_, rows)| *rows > 0)
        .filter_map(
            |(name, rows)| match TABLES.iter().position(|known| known.name == name) {
                Some(index) if TABLES[index].seeded => None,
                Some(index) => Some((index, TABLES[index].count_phrase(rows))),
                None => Some((
                    TABLES.len(),
                    format!(
                        "{rows} {} in table `{name}`",
                        if rows == 1 { "row" } else { "rows" }
                    ),
                )),
            },
        )
        .collect();
    held.sort_by_key(|(index, _)| *index);
    let held: Vec<String> = held.into_iter().map(|(_, phrase)| phrase).collect();
    if held.is_empty() {
        Ok(())
    } else {
        Err(CopyError::NotEmpty(held))
    }
}

/// Whether a database may have tables [`TABLES`] does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// A source's: their rows would be left behind.
    Refused,
    /// A target's (empty, or it would have been refused): the copy does not touch them.
    Allowed,
}

/// Compares a database's tables and columns with [`TABLES`]: every table must have exactly
/// the columns named there, and a source no other table.
fn check_schema(
    side: &'static str,
    actual: &BTreeMap<String, BTreeSet<String>>,
    extra: Extra,
) -> Result<(), CopyError> {
    let unknown = |problem: String| CopyError::UnknownSchema { side, problem };
    if extra == Extra::Refused
        && let Some(extra) = actual.keys().find(|name| table(name).is_none())
    {
        return Err(unknown(format!(
            "it has a table `{extra}` this hereby does not know"
        )));
    }
    for table in TABLES {
        let Some(columns) = actual.get(table.name) else {
            return Err(unknown(format!("it has no table `{}`", table.name)));
        };
        let expected: BTreeSet<String> = table
            .columns
            .iter()
            .map(|column| column.name.to_owned())
            .collect();
        if let Some(extra) = columns.difference(&expected).next() {
            return Err(unknown(format!(
                "its table `{}` has a column `{extra}` this hereby does not know",
                table.name
            )));
        }
        if let Some(missing) = expected.difference(columns).next() {
            return Err(unknown(format!(
                "its table `{}` has no column `{missing}`",
                table.name
            )));
        }
    }
    Ok(())
}

/// Copies every row of `source` into `target`, which must have passed [`check_target`] and
/// then been migrated. The source is read in one snapshot, the target written in one
/// transaction, table by table in [`TABLES`] order and a batch at a time; `progress` hears of
/// every batch. After the commit the target is counted again and must hold what the source
/// did.
pub async fn copy<S: Tables, T: Tables>(
    source: &S,
    target: &T,
    mut progress: impl FnMut(CopyProgress<'_>),
) -> Result<CopyReport, CopyError> {
    check_schema("target", &target.columns().await?, Extra::Allowed)?;
    let mut reading = source.snapshot().await?;
    let mut plan = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        plan.push(TableRows {
            table,
            rows: reading.count(table).await?,
        });
    }
    progress(CopyProgress::Planned(&plan));

    let mut writing = target.load().await?;
    // Checked again inside the transaction that loads: nothing may have been written to the
    // target since `check_target` looked.
    let mut held = Vec::new();
    for table in TABLES.iter().filter(|table| !table.seeded) {
        let rows = writing.count(table).await?;
        if rows > 0 {
            held.push(table.count_phrase(rows));
        }
    }
    if !held.is_empty() {
        return Err(CopyError::NotEmpty(held));
    }

    for planned in &plan {
        let table = planned.table;
        let mut copied = 0;
        let mut after: Option<Vec<Value>> = None;
        loop {
            let rows = reading
                .read(table, after.as_deref(), table.batch)
                .await
                .map_err(|error| naming("reading", table, error))?;
            let Some(last) = rows.last() else { break };
            after = Some(table.key_of(last));
            writing
                .write(table, &rows)
                .await
                .map_err(|error| naming("writing", table, error))?;
            copied += rows.len() as u64;
            progress(CopyProgress::Copied {
                table,
                copied,
                of: planned.rows.max(copied),
            });
            if rows.len() < table.batch as usize {
                break;
            }
        }
        if copied != planned.rows {
            return Err(CopyError::Mismatch {
                table: table.name,
                expected: planned.rows,
                copied,
            });
        }
    }
    progress(CopyProgress::Committing);
    writing.commit().await?;
    drop(reading);

    recount(target, &plan)
        .await
        .map_err(|error| CopyError::Committed(Box::new(error)))?;
    Ok(CopyReport { tables: plan })
}

/// Says which table a database error came from (the database's own message rarely does).
fn naming(doing: &str, table: &Table, error: StoreError) -> StoreError {
    match error {
        StoreError::Database(problem) => {
            StoreError::Database(format!("{doing} {}: {problem}", table.name))
        }
        other => other,
    }
}

/// Counts every table of the committed target again: each must hold what the source did.
async fn recount<T: Tables>(target: &T, plan: &[TableRows]) -> Result<(), CopyError> {
    let mut counting = target.snapshot().await?;
    for planned in plan {
        let rows = counting.count(planned.table).await?;
        if rows != planned.rows {
            return Err(CopyError::Mismatch {
                table: planned.table.name,
                expected: planned.rows,
                copied: rows,
            });
        }
    }
    Ok(())
}

/// Every row of every table of `tables`, in key order, table by table: for comparing two
/// databases in tests. Holds the whole database in memory.
pub async fn dump<T: Tables>(tables: &T) -> Result<Vec<(&'static str, Vec<Row>)>, StoreError> {
    let mut reading = tables.snapshot().await?;
    let mut all = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut rows: Vec<Row> = Vec::new();
        loop {
            let after = rows.last().map(|row| table.key_of(row));
            let page = reading.read(table, after.as_deref(), table.batch).await?;
            let full = page.len() == table.batch as usize;
            rows.extend(page);
            if !full {
                break;
            }
        }
        all.push((table.name, rows));
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_column_is_a_column_and_batches_fit_the_placeholder_limits() {
        for table in TABLES {
            assert_eq!(
                table.key_columns().count(),
                table.key.len(),
                "{}: every key column is one of its columns",
                table.name
            );
            assert!(table.batch > 0);
            assert!(
                table.columns.len() * table.batch as usize <= 32_766,
                "{}: a batch must fit SQLite's placeholder limit",
                table.name
            );
        }
        let names: BTreeSet<&str> = TABLES.iter().map(|table| table.name).collect();
        assert_eq!(names.len(), TABLES.len(), "each table once");
    }

    #[test]
    fn refusals_name_what_the_target_holds() {
        let users = table("users").unwrap_or(&TABLES[0]);
        let held = vec![
            TableRows {
                table: table("events").unwrap_or(&TABLES[0]),
                rows: 12,
            }
            .to_string(),
            users.count_phrase(1),
        ];
        assert_eq!(
            CopyError::NotEmpty(held).to_string(),
            "the target already holds 12 events and 1 user; copy only into an empty database"
        );
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }

    #[test]
    fn rows_that_do_not_fit_their_columns_are_refused() {
        let users = table("users").unwrap_or(&TABLES[0]);
        let good = vec![
            Value::Text("alice".into()),
            Value::Text("responder".into()),
            Value::Bool(false),
            Value::Int(1),
            Value::Null,
            Value::Null,
        ];
        assert_eq!(users.check_row(&good), Ok(()));
        let mut bad = good.clone();
        bad[2] = Value::Text("no".into());
        assert!(users.check_row(&bad).is_err());
        assert!(users.check_row(&good[..3]).is_err());
        assert_eq!(users.key_of(&good), vec![Value::Text("alice".into())]);
    }
}
