//! The PostgreSQL backend, for installations that run several server nodes on one database.
//!
//! Each node has one writer connection fed by the group-commit writer and a pool of readers.
//! Every write transaction first locks the `event_position` counter row, so transactions
//! from all nodes commit one after another: global positions follow commit order without
//! gaps, incident numbers stay gap-free, and lock order is the same everywhere (no deadlocks):
//! the counter, then the incident's row, then its `incident_members` rows. Directory writes
//! (users, tokens) run on the reader pool and touch only tables event writes never lock.
//! Connections run with `synchronous_commit = on` whatever the server default, so a commit
//! that returned is on disk.

mod copy;
mod search;

use std::str::FromStr;
use std::time::Duration;

use hereby_core::chain::StoredLink;
use hereby_core::types::IncidentNumber;
use hereby_store::prepare::{CurrentHead, PreparedAppend, STATE_FORMAT};
use hereby_store::writer::{Backend, WriteTransaction, WriterHandle};
use hereby_store::{OpenError, StoreError, redact_url};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

/// `INSERT … SELECT` of event rows from arrays bound from parameter `$2` on, placed at
/// the positions after `reserved.base`.
macro_rules! insert_events_sql {
    (2) => {
        "INSERT INTO events (position, incident, sequence, recorded_at, actor, event_type, \
         event_version, body, prev_hash, hash) \
         SELECT reserved.base + rows.ord, rows.incident, rows.sequence, rows.recorded_at, rows.actor, \
         rows.event_type, rows.event_version, rows.body, rows.prev_hash, rows.hash \
         FROM reserved, UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], \
         $7::bigint[], $8::text[], $9::bytea[], $10::bytea[]) WITH ORDINALITY \
         AS rows(incident, sequence, recorded_at, actor, event_type, event_version, body, prev_hash, hash, ord) \
         RETURNING position"
    };
}

pub use copy::{PgTables, PgTablesTx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL store. Cloning is cheap and shares the pools and the writer.
#[derive(Debug, Clone)]
pub struct PgStore {
    readers: PgPool,
    /// Directory writes (users, tokens): the reader pool, as any PostgreSQL connection may
    /// write; only event appends go through the writer.
    write_pool: PgPool,
    writer: WriterHandle,
}

/// How long to wait for a connection before reporting the database unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections per node.
const READERS: u32 = 8;

/// The same server URL with another database name: `postgres://u@h/postgres?x` with `db`
/// gives `postgres://u@h/db?x`. Used to make scratch databases for tests and benchmarks.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl PgStore {
    /// Connects to and migrates the database at `url`, e.g.
    /// `postgres://hereby:secret@db.internal:5432/hereby`.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let fail = |problem: String| OpenError {
            url: redact_url(url),
            problem,
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| fail(e.to_string()))?
            // hereby's statements are short and many; compiling one to machine code, which
            // PostgreSQL does by itself for a statement it estimates costly (a visibility check
            // over 100,000 incidents, say), took 90 ms of a 130 ms count in a search.
            .options([("synchronous_commit", "on"), ("jit", "off")]);
        let write_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| fail(e.to_string()))?;
        MIGRATOR
            .run(&write_pool)
            .await
            .map_err(|e| fail(format!("migration failed: {e}")))?;
        let readers = PgPoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let writer = WriterHandle::spawn(PgBackend { pool: write_pool });
        Ok(Self {
            write_pool: readers.clone(),
            readers,
            writer,
        })
    }

    /// The reader pool, for diagnostics and tests.
    pub fn reader_pool(&self) -> &PgPool {
        &self.readers
    }
}

hereby_store::sql_backend_common! {
    store: PgStore,
    database: Postgres,
    row: PgRow,
    // Locks the row for the rest of the transaction (after the position counter, always).
    head_sql: "SELECT version, last_hash, state, state_format FROM incidents WHERE number = $1 FOR UPDATE",
    services_elements: "jsonb_array_elements_text(incidents.services::jsonb)",
    // Under the "C" collation `lower` folds ASCII letters only, as SQLite's does.
    ascii_collation: " COLLATE \"C\"",
    // SHARE ROW EXCLUSIVE conflicts with itself and with every insert, update and delete, so
    // no other transaction adds a user until this one ends; reads and the key-share locks of
    // foreign key checks still pass.
    begin_users_exclusive: "BEGIN; LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE",
    begin_write: "BEGIN",
    // The cursor row is locked first: a second node's dispatcher waits, then finds the cursor
    // moved and queues nothing.
    begin_dispatch: "BEGIN; SELECT position FROM notification_cursor WHERE id = 1 FOR UPDATE",
    // Nodes claim disjoint rows without waiting for each other.
    skip_locked: " FOR UPDATE SKIP LOCKED",
    // Alert and group keys are locked for the rest of the transaction, so two nodes recording
    // the same alert or group wait for each other instead of making two.
    lock_key: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
    wake_on_commits: listen_for_commits,
}

/// The channel the `events` table's trigger notifies after each commit that inserted events
/// (migration 0011); PostgreSQL delivers it to every listening connection of every node.
const EVENTS_CHANNEL: &str = "hereby_events";

/// Wakes `wake` on every notification of [`EVENTS_CHANNEL`], from a connection of its own.
/// A lost connection is opened again; since notifications sent meanwhile are lost, `wake` is
/// woken after each reconnection too, and the reader's safety poll covers the rest.
fn listen_for_commits(store: &PgStore, wake: std::sync::Arc<tokio::sync::Notify>) -> bool {
    let pool = store.readers.clone();
    tokio::spawn(async move {
        loop {
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen(EVENTS_CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match listener.await {
                Ok(mut listener) => {
                    wake.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => wake.notify_one(),
                            // The connection was lost; `try_recv` reconnects on the next call.
                            Ok(None) => wake.notify_one(),
                            Err(error) => {
                                tracing::warn!(%error, "lost the commit notifications; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for commit notifications; retrying");
                }
            }
            if pool.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    true
}

struct PgBackend {
    pool: PgPool,
}

impl Backend for PgBackend {
    type Tx = PgTx;

    async fn begin(&mut self) -> Result<PgTx, StoreError> {
        // The lock on the position counter is taken in the same round trip as BEGIN, before
        // any other lock: see the module documentation.
        let tx = self
            .pool
            .begin_with(
                "BEGIN; SELECT value FROM counters WHERE name = 'event_position' FOR UPDATE",
            )
            .await
            .map_err(db)?;
        Ok(PgTx(tx))
    }

    async fn append_alone(
        &mut self,
        p: &PreparedAppend,
        expected_version: u64,
    ) -> Option<Result<Option<i64>, StoreError>> {
        let rows = EventColumns::new(&p.rows);
        let query = sqlx::query(
            "SELECT hereby_extend_stream($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
        );
        let query = rows
            .bind(bind_incident(query, p))
            .bind(int(p.summary.number.0))
            .bind(int(expected_version))
            .bind(p.members_changed.then_some(&p.members));
        let result = query
            .fetch_one(&self.pool)
            .await
            .map_err(db)
            .and_then(|row| row.try_get::<Option<i64>, _>(0).map_err(db));
        Some(result)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds the 15 projection columns, title to summary, in the order the statements list them.
fn bind_incident<'q>(query: PgQuery<'q>, p: &'q PreparedAppend) -> PgQuery<'q> {
    let s = &p.summary;
    query
        .bind(&s.title)
        .bind(s.status.as_str())
        .bind(s.severity.as_str())
        .bind(s.potential)
        .bind(s.visibility.as_str())
        .bind(&p.services_json)
        .bind(&s.commander)
        .bind(&p.roles_json)
        .bind(s.resolved_at.map(|t| t.as_microsecond()))
        .bind(s.updated_at.as_microsecond())
        .bind(int(p.version))
        .bind(p.last_hash.as_slice())
        .bind(&p.snapshot)
        .bind(STATE_FORMAT)
        .bind(&s.summary)
}

struct PgTx(Transaction<'static, Postgres>);

impl WriteTransaction for PgTx {
    async fn next_incident_number(&mut self) -> Result<u64, StoreError> {
        next_incident_number(&mut self.0).await
    }

    async fn read_head(
        &mut self,
        incident: IncidentNumber,
    ) -> Result<Option<CurrentHead>, StoreError> {
        read_head(&mut self.0, incident).await
    }

    async fn insert_stream(&mut self, p: &PreparedAppend) -> Result<i64, StoreError> {
        insert_incident(&mut self.0, p).await?;
        let rows = EventColumns::new(&p.rows);
        let query = sqlx::query(concat!(
            "WITH reserved AS (UPDATE counters SET value = value + $1 WHERE name = 'event_position' \
             RETURNING value - $1 AS base) ",
            insert_events_sql!(2)
        ))
        .bind(int(p.rows.len() as u64));
        let positions = rows.bind(query).fetch_all(&mut *self.0).await.map_err(db)?;
        first(&positions)?.ok_or_else(|| StoreError::Database("no event was inserted".into()))
    }

    async fn extend_stream(
        &mut self,
        p: &PreparedAppend,
        expected_version: u64,
    ) -> Result<Option<i64>, StoreError> {
        // One round trip: the projection row moves only if it is still at the expected
        // version, the counter advances only if it moved, and events are inserted only if the
        // counter advanced. No row back means the version had changed and nothing was written.
        // Only an append that changes the members (rare: roles, members) needs more.
        let rows = EventColumns::new(&p.rows);
        let query = sqlx::query(concat!(
            "WITH updated AS (UPDATE incidents SET title = $11, status = $12, severity = $13, \
             potential = $14, visibility = $15, services = $16, commander = $17, roles = $18, \
             resolved_at = $19, updated_at = $20, version = $21, last_hash = $22, state = $23, \
             state_format = $24, summary = $25 WHERE number = $26 AND version = $27 \
             RETURNING number), \
             reserved AS (UPDATE counters SET value = value + $1 WHERE name = 'event_position' \
             AND EXISTS (SELECT 1 FROM updated) RETURNING value - $1 AS base) ",
            insert_events_sql!(2)
        ))
        .bind(int(p.rows.len() as u64));
        let query = bind_incident(rows.bind(query), p)
            .bind(int(p.summary.number.0))
            .bind(int(expected_version));
        let positions = query.fetch_all(&mut *self.0).await.map_err(db)?;
        let first_position = first(&positions)?;
        if first_position.is_some() {
            write_members(&mut self.0, p).await?;
        }
        Ok(first_position)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(db)
    }
}

/// The lowest of the positions an insert returned.
fn first(rows: &[PgRow]) -> Result<Option<i64>, StoreError> {
    let mut lowest = None;
    for row in rows {
        let position: i64 = row.try_get(0).map_err(db)?;
        lowest = Some(lowest.map_or(position, |low: i64| low.min(position)));
    }
    Ok(lowest)
}

/// Event rows as one array per column, for `UNNEST`.
struct EventColumns<'a> {
    incidents: Vec<i64>,
    sequences: Vec<i64>,
    times: Vec<i64>,
    actors: Vec<&'a str>,
    types: Vec<&'a str>,
    versions: Vec<i64>,
    bodies: Vec<&'a str>,
    prev_hashes: Vec<&'a [u8]>,
    hashes: Vec<&'a [u8]>,
}

impl<'a> EventColumns<'a> {
    /// Binds the nine arrays, incidents to hashes, in the order the statements list them.
    fn bind(self, query: PgQuery<'a>) -> PgQuery<'a> {
        query
            .bind(self.incidents)
            .bind(self.sequences)
            .bind(self.times)
            .bind(self.actors)
            .bind(self.types)
            .bind(self.versions)
            .bind(self.bodies)
            .bind(self.prev_hashes)
            .bind(self.hashes)
    }

    fn new(rows: &'a [StoredLink]) -> Self {
        Self {
            incidents: rows.iter().map(|r| int(r.incident)).collect(),
            sequences: rows.iter().map(|r| int(r.sequence)).collect(),
            times: rows.iter().map(|r| r.recorded_at_micros).collect(),
            actors: rows.iter().map(|r| r.actor.as_str()).collect(),
            types: rows.iter().map(|r| r.event_type.as_str()).collect(),
            versions: rows.iter().map(|r| i64::from(r.event_version)).collect(),
            bodies: rows.iter().map(|r| r.body.as_str()).collect(),
            prev_hashes: rows.iter().map(|r| r.prev_hash.as_slice()).collect(),
            hashes: rows.iter().map(|r| r.hash.as_slice()).collect(),
        }
    }
}

impl hereby_store::Backup for PgStore {
    async fn backup_to(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Invalid(
            "PostgreSQL is backed up with its own tools (pg_dump, or base backups with WAL archiving)".into(),
        ))
    }
}
