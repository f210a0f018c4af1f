//! The embedded SQLite backend: one database file in WAL mode with `synchronous=FULL`, one
//! writer connection fed by the group-commit writer, and a small pool of readers.
//!
//! Durability: in WAL mode with `synchronous=FULL` SQLite syncs the WAL on every commit, so a
//! commit that returned survives a power cut. (With `NORMAL` the last commits may roll back
//! after a power loss, which would break our promise that an acknowledged write is kept.)
//! Group commit makes the cost of that sync shared by every append in a batch.

use std::str::FromStr;
use std::time::Duration;

use hereby_core::chain::{GENESIS, StoredLink};
use hereby_core::types::IncidentNumber;
use hereby_store::prepare::{
    self, CurrentHead, PreparedAppend, RawSummary, STATE_FORMAT, count, decode_snapshot,
    stored_hash,
};
use hereby_store::writer::{Backend, WriteJob, WriteKind, WriteTransaction, WriterHandle};
use hereby_store::{
    Appended, Head, IncidentSummary, ListQuery, Loaded, NewEvents, Store, StoreError, StoredEvent,
    redact_url,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why a database could not be opened. The URL in it has its password removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    /// The database URL, password redacted.
    pub url: String,
    pub problem: String,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot open database {}: {}", self.url, self.problem)
    }
}

impl std::error::Error for OpenError {}

/// The SQLite store. Cloning is cheap and shares the pools and the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: WriterHandle,
}

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers run in parallel in WAL mode; more than a few per core only adds contention.
const READERS: u32 = 8;

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url`, e.g.
    /// `sqlite://hereby.db` or `sqlite:///var/lib/hereby/hereby.db`.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let fail = |problem: String| OpenError {
            url: redact_url(url),
            problem,
        };
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(fail(
                "an in-memory database would lose every write when the process ends; give a file path".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| fail(e.to_string()))?;
        MIGRATOR
            .run(&write_pool)
            .await
            .map_err(|e| fail(format!("migration failed: {e}")))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options.read_only(true))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let writer = WriterHandle::spawn(SqliteBackend { pool: write_pool });
        Ok(Self { readers, writer })
    }

    /// The reader pool, for diagnostics and tests.
    pub fn reader_pool(&self) -> &SqlitePool {
        &self.readers
    }

    /// Writes a consistent copy of the whole database to `path` while the store stays online
    /// (`VACUUM INTO`). The file must not exist yet.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let target = path.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.readers)
            .await
            .map(|_| ())
            .map_err(db)
    }
}

fn db(error: sqlx::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

struct SqliteBackend {
    pool: SqlitePool,
}

impl Backend for SqliteBackend {
    type Tx = SqliteTx;

    async fn begin(&mut self) -> Result<SqliteTx, StoreError> {
        // IMMEDIATE takes the write lock at once, so another process writing to the same file
        // waits for us (busy timeout) instead of failing halfway through.
        Ok(SqliteTx(
            self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?,
        ))
    }
}

struct SqliteTx(Transaction<'static, Sqlite>);

impl WriteTransaction for SqliteTx {
    async fn next_incident_number(&mut self) -> Result<u64, StoreError> {
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value",
        )
        .fetch_one(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(count(number))
    }

    async fn read_head(
        &mut self,
        incident: IncidentNumber,
    ) -> Result<Option<CurrentHead>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT version, last_hash, state, state_format FROM incidents WHERE number = ?",
        )
        .bind(int(incident.0))
        .fetch_optional(&mut *self.0)
        .await
        .map_err(db)?
        else {
            return Ok(None);
        };
        let last_hash: Vec<u8> = row.try_get("last_hash").map_err(db)?;
        let snapshot: String = row.try_get("state").map_err(db)?;
        let state = match decode_snapshot(row.try_get("state_format").map_err(db)?, &snapshot) {
            Some(state) => state,
            None => prepare::replay(&stream(&mut *self.0, incident, 0, u32::MAX).await?)?,
        };
        Ok(Some(CurrentHead {
            version: count(row.try_get("version").map_err(db)?),
            last_hash: stored_hash(incident, &last_hash)?,
            state,
        }))
    }

    async fn insert_stream(&mut self, p: &PreparedAppend) -> Result<i64, StoreError> {
        self.insert_incident(p).await?;
        self.insert_events(&p.rows).await
    }

    async fn extend_stream(
        &mut self,
        p: &PreparedAppend,
        expected_version: u64,
    ) -> Result<Option<i64>, StoreError> {
        if !self.update_incident(p, expected_version).await? {
            return Ok(None);
        }
        self.insert_events(&p.rows).await.map(Some)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(db)
    }
}

impl SqliteTx {
    async fn insert_incident(&mut self, p: &PreparedAppend) -> Result<(), StoreError> {
        let s = &p.summary;
        sqlx::query(
            "INSERT INTO incidents (number, title, status, severity, potential, visibility, services, \
             commander, roles, declared_at, resolved_at, updated_at, version, last_hash, state, \
             state_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(int(s.number.0))
        .bind(&s.title)
        .bind(s.status.as_str())
        .bind(s.severity.as_str())
        .bind(s.potential)
        .bind(s.visibility.as_str())
        .bind(&p.services_json)
        .bind(&s.commander)
        .bind(&p.roles_json)
        .bind(s.declared_at.as_microsecond())
        .bind(s.resolved_at.map(|t| t.as_microsecond()))
        .bind(s.updated_at.as_microsecond())
        .bind(int(p.version))
        .bind(p.last_hash.as_slice())
        .bind(&p.snapshot)
        .bind(STATE_FORMAT)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn update_incident(
        &mut self,
        p: &PreparedAppend,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let s = &p.summary;
        let updated = sqlx::query(
            "UPDATE incidents SET title = ?, status = ?, severity = ?, potential = ?, visibility = ?, \
             services = ?, commander = ?, roles = ?, resolved_at = ?, updated_at = ?, version = ?, \
             last_hash = ?, state = ?, state_format = ? WHERE number = ? AND version = ?",
        )
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
        .bind(int(s.number.0))
        .bind(int(expected_version))
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(updated.rows_affected() == 1)
    }

    /// Inserts event rows and returns the first one's position. SQLite gives a new row the
    /// largest rowid plus one; as the single writer holds the write lock and events are never
    /// deleted, positions come out consecutive and in commit order.
    async fn insert_events(&mut self, rows: &[StoredLink]) -> Result<i64, StoreError> {
        let mut first_position = None;
        for row in rows {
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO events (incident, sequence, recorded_at, actor, event_type, \
                 event_version, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 RETURNING position",
            )
            .bind(int(row.incident))
            .bind(int(row.sequence))
            .bind(row.recorded_at_micros)
            .bind(&row.actor)
            .bind(&row.event_type)
            .bind(i64::from(row.event_version))
            .bind(&row.body)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .fetch_one(&mut *self.0)
            .await
            .map_err(db)?;
            first_position.get_or_insert(position);
        }
        first_position.ok_or_else(|| StoreError::Invalid("a write needs at least one event".into()))
    }
}

/// The event columns in the order [`stored_event`] reads them, as a literal for `concat!`.
macro_rules! event_columns {
    () => {
        "position, incident, sequence, recorded_at, actor, event_type, event_version, body, prev_hash, hash"
    };
}

/// The projection columns [`RawSummary`] holds, as a literal for `concat!`.
macro_rules! summary_columns {
    () => {
        "number, title, status, severity, potential, visibility, services, commander, roles, \
         declared_at, resolved_at, updated_at, version"
    };
}

fn stored_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let event_version: i64 = row.try_get("event_version").map_err(db)?;
    Ok(StoredEvent {
        position: row.try_get("position").map_err(db)?,
        link: StoredLink {
            incident: count(row.try_get("incident").map_err(db)?),
            sequence: count(row.try_get("sequence").map_err(db)?),
            recorded_at_micros: row.try_get("recorded_at").map_err(db)?,
            actor: row.try_get("actor").map_err(db)?,
            event_type: row.try_get("event_type").map_err(db)?,
            event_version: u32::try_from(event_version).unwrap_or(u32::MAX),
            body: row.try_get("body").map_err(db)?,
            prev_hash: row.try_get("prev_hash").map_err(db)?,
            hash: row.try_get("hash").map_err(db)?,
        },
    })
}

async fn stream<'e, E>(
    executor: E,
    incident: IncidentNumber,
    after_sequence: u64,
    limit: u32,
) -> Result<Vec<StoredEvent>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE incident = ? AND sequence > ? ORDER BY sequence LIMIT ?"
    ))
    .bind(int(incident.0))
    .bind(int(after_sequence))
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await
    .map_err(db)?
    .iter()
    .map(stored_event)
    .collect()
}

fn raw_summary(row: &SqliteRow) -> Result<RawSummary, StoreError> {
    Ok(RawSummary {
        number: row.try_get("number").map_err(db)?,
        title: row.try_get("title").map_err(db)?,
        status: row.try_get("status").map_err(db)?,
        severity: row.try_get("severity").map_err(db)?,
        potential: row.try_get("potential").map_err(db)?,
        visibility: row.try_get("visibility").map_err(db)?,
        services_json: row.try_get("services").map_err(db)?,
        commander: row.try_get("commander").map_err(db)?,
        roles_json: row.try_get("roles").map_err(db)?,
        declared_at: row.try_get("declared_at").map_err(db)?,
        resolved_at: row.try_get("resolved_at").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
        version: row.try_get("version").map_err(db)?,
    })
}

impl Store for SqliteStore {
    async fn declare(&self, batch: NewEvents) -> Result<Appended, StoreError> {
        self.writer
            .submit(WriteJob {
                kind: WriteKind::Declare,
                batch,
            })
            .await
    }

    async fn append(
        &self,
        incident: IncidentNumber,
        expected_version: u64,
        batch: NewEvents,
    ) -> Result<Appended, StoreError> {
        self.writer
            .submit(WriteJob {
                kind: WriteKind::Append {
                    incident,
                    expected_version,
                },
                batch,
            })
            .await
    }

    async fn load(&self, incident: IncidentNumber) -> Result<Loaded, StoreError> {
        let row =
            sqlx::query("SELECT version, state, state_format FROM incidents WHERE number = ?")
                .bind(int(incident.0))
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .ok_or(StoreError::NotFound(incident))?;
        let version = count(row.try_get("version").map_err(db)?);
        let snapshot: String = row.try_get("state").map_err(db)?;
        let state = match decode_snapshot(row.try_get("state_format").map_err(db)?, &snapshot) {
            Some(state) => state,
            None => {
                let mut conn = self.readers.begin().await.map_err(db)?;
                let events = stream(&mut *conn, incident, 0, u32::MAX).await?;
                let state = prepare::replay(&events)?;
                return Ok(Loaded {
                    incident,
                    version: events.len() as u64,
                    state,
                });
            }
        };
        Ok(Loaded {
            incident,
            version,
            state,
        })
    }

    async fn head(&self, incident: IncidentNumber) -> Result<Head, StoreError> {
        let row = sqlx::query("SELECT version, last_hash FROM incidents WHERE number = ?")
            .bind(int(incident.0))
            .fetch_optional(&self.readers)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound(incident))?;
        Ok(Head {
            version: count(row.try_get("version").map_err(db)?),
            last_hash: row
                .try_get::<Option<Vec<u8>>, _>("last_hash")
                .map_err(db)?
                .unwrap_or_else(|| GENESIS.to_vec()),
        })
    }

    async fn read_stream(
        &self,
        incident: IncidentNumber,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        stream(&self.readers, incident, after_sequence, limit).await
    }

    async fn read_all(
        &self,
        after_position: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ))
        .bind(after_position)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db)?
        .iter()
        .map(stored_event)
        .collect()
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<IncidentSummary>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            summary_columns!(),
            " FROM incidents WHERE number < ? ORDER BY number DESC LIMIT ?"
        ))
        .bind(query.before.map_or(i64::MAX, |before| int(before.0)))
        .bind(i64::from(query.limit.min(1_000)))
        .fetch_all(&self.readers)
        .await
        .map_err(db)?
        .iter()
        .map(|row| raw_summary(row)?.into_summary())
        .collect()
    }
}
