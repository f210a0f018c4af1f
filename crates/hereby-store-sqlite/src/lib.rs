//! The embedded SQLite backend: one database file in WAL mode with `synchronous=FULL`, one
//! writer connection fed by the group-commit writer, and a small pool of readers.
//!
//! Durability: in WAL mode with `synchronous=FULL` SQLite syncs the WAL on every commit, so a
//! commit that returned survives a power cut. (With `NORMAL` the last commits may roll back
//! after a power loss, which would break our promise that an acknowledged write is kept.)
//! Group commit makes the cost of that sync shared by every append in a batch.
//!
//! The search index is a second database file beside the first (`<database>-search`), with
//! its own write lock: indexing never holds the one the appends need. It is derived from the
//! event log, so it is kept with `synchronous=NORMAL` (a power cut may undo its last batch,
//! which the indexer writes again) and rebuilt when missing or built from another history.

mod copy;
mod search;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hereby_core::chain::StoredLink;
use hereby_core::types::IncidentNumber;
use hereby_store::prepare::{CurrentHead, PreparedAppend, STATE_FORMAT};
use hereby_store::writer::{Backend, WriteTransaction, WriterHandle};
use hereby_store::{OpenError, StoreError, redact_url};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

pub use copy::{SqliteTables, SqliteTablesTx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
static SEARCH_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./search_migrations");

/// The SQLite store. Cloning is cheap and shares the pools and the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    readers: SqlitePool,
    /// The writer task's single connection, shared with directory writes (users, tokens),
    /// which wait their turn between group commits.
    write_pool: SqlitePool,
    /// The one connection that writes the search index's own file.
    index_pool: SqlitePool,
    writer: WriterHandle,
}

/// The file that holds the search index of the database at `database`: beside it, named after
/// it (`hereby.db` → `hereby.db-search`).
pub fn search_file_of(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-search");
    PathBuf::from(name)
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
        // A SQLite connection is a handle on a local file: it cannot go stale the way a
        // network connection can, so the ping sqlx sends before every checkout buys nothing
        // and costs two thread hand-offs per query.
        let write_pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
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
        let search_file = search_file_of(options.get_filename());
        let index_pool = open_index(&options, &search_file, &write_pool)
            .await
            .map_err(fail)?;
        // Every reader sees the index under its own names (`search_entries`, …), so a search
        // joins it with the incidents in one statement.
        let attach = search_file.to_string_lossy().into_owned();
        let readers = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(READERS)
            .acquire_timeout(BUSY_TIMEOUT)
            .after_connect(move |connection, _| {
                let file = attach.clone();
                Box::pin(async move {
                    sqlx::query("ATTACH DATABASE $1 AS search")
                        .bind(file)
                        .execute(connection)
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(options.read_only(true))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let writer = WriterHandle::spawn(SqliteBackend {
            pool: write_pool.clone(),
        });
        Ok(Self {
            readers,
            write_pool,
            index_pool,
            writer,
        })
    }

    /// Closes every connection (the database's and its search index's), waiting until they
    /// are closed: then both files may be moved or replaced. The store is unusable after.
    pub async fn close(&self) {
        self.readers.close().await;
        self.index_pool.close().await;
        self.write_pool.close().await;
    }

    /// The reader pool, for diagnostics and tests.
    pub fn reader_pool(&self) -> &SqlitePool {
        &self.readers
    }
}

hereby_store::sql_backend_common! {
    store: SqliteStore,
    database: Sqlite,
    row: SqliteRow,
    // The transaction already holds SQLite's write lock, so the row needs no lock of its own.
    head_sql: "SELECT version, last_hash, state, state_format FROM incidents WHERE number = $1",
    services_elements: "json_each(incidents.services)",
    // SQLite's `lower` folds ASCII letters only, whatever the collation.
    ascii_collation: "",
    // IMMEDIATE takes the write lock at once: no other connection or process adds a user
    // until the transaction ends.
    begin_users_exclusive: "BEGIN IMMEDIATE",
    // Every notification write transaction takes the write lock at once, as above; with one
    // writer at a time the dispatcher's cursor needs no lock of its own, nor claims any.
    begin_write: "BEGIN IMMEDIATE",
    begin_dispatch: "BEGIN IMMEDIATE",
    skip_locked: "",
    // The write transaction holds SQLite's one write lock: alert keys need no lock of their own.
    lock_key: "",
    // One server process is the only writer of a SQLite database.
    wake_on_commits: hereby_store::no_commit_signal,
}

/// Opens the search index's file (creating it when missing) with its one writer connection,
/// migrated. An index built from another history than the database's (a backup restored in
/// place, another database file put where this one was) is recognised by the event it read
/// last, which the database no longer holds with that hash; it is then emptied, in place and
/// in one transaction, and the indexer fills it again from the event log. (In place, not by
/// removing the file: a command run beside the server may have it open.)
async fn open_index(
    options: &SqliteConnectOptions,
    file: &Path,
    database: &SqlitePool,
) -> Result<SqlitePool, String> {
    let unusable = |problem: String| {
        format!(
            "the search index {} cannot be used ({problem}); stop hereby and remove it, with \
             its -wal and -shm files, to have it rebuilt from the event log",
            file.display()
        )
    };
    let pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(BUSY_TIMEOUT)
        .connect_with(
            options
                .clone()
                .filename(file)
                .synchronous(SqliteSynchronous::Normal)
                // Named apart from the database's connections, for `top -H` and the like.
                .thread_name(|n| format!("hereby-index-{n}")),
        )
        .await
        .map_err(|e| unusable(e.to_string()))?;
    SEARCH_MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| unusable(format!("migration failed: {e}")))?;
    let (position, hash): (i64, Option<Vec<u8>>) =
        sqlx::query_as("SELECT position, hash FROM search_position")
            .fetch_one(&pool)
            .await
            .map_err(|e| unusable(e.to_string()))?;
    if same_history(database, position, hash.as_deref()).await? {
        return Ok(pool);
    }
    tracing::warn!(
        file = %file.display(),
        position,
        "the search index was built from another history than this database's; rebuilding it"
    );
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| unusable(e.to_string()))?;
    // Another process may have emptied it meanwhile.
    let (position, hash): (i64, Option<Vec<u8>>) =
        sqlx::query_as("SELECT position, hash FROM search_position")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unusable(e.to_string()))?;
    if !same_history(database, position, hash.as_deref()).await? {
        // Dropping `search_entries` drops its triggers; the migrations make everything anew.
        for table in [
            "search_words",
            "search_grams",
            "search_entries",
            "search_position",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
                .execute(&mut *tx)
                .await
                .map_err(|e| unusable(e.to_string()))?;
        }
        for migration in SEARCH_MIGRATOR.iter() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql.as_str().to_owned()))
                .execute(&mut *tx)
                .await
                .map_err(|e| unusable(e.to_string()))?;
        }
    }
    tx.commit().await.map_err(|e| unusable(e.to_string()))?;
    Ok(pool)
}

/// Whether the index read the event log of this database: nothing yet, or the event it read
/// last (`position`, with its `hash`) is this database's.
async fn same_history(
    database: &SqlitePool,
    position: i64,
    hash: Option<&[u8]>,
) -> Result<bool, String> {
    if position == 0 {
        return Ok(true);
    }
    Ok(
        sqlx::query_scalar::<_, Vec<u8>>("SELECT hash FROM events WHERE position = $1")
            .bind(position)
            .fetch_optional(database)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|stored| Some(stored.as_slice()) == hash),
    )
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
        write_members(&mut self.0, p).await?;
        self.insert_events(&p.rows).await.map(Some)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(db)
    }
}

impl SqliteTx {
    async fn update_incident(
        &mut self,
        p: &PreparedAppend,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        let s = &p.summary;
        let updated = sqlx::query(
            "UPDATE incidents SET title = $1, status = $2, severity = $3, potential = $4, visibility = $5, \
             services = $6, commander = $7, roles = $8, resolved_at = $9, updated_at = $10, version = $11, \
             last_hash = $12, state = $13, state_format = $14, summary = $15 \
             WHERE number = $16 AND version = $17",
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
        .bind(&s.summary)
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
                 event_version, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
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

impl hereby_store::Backup for SqliteStore {
    /// A consistent copy while the store stays online (`VACUUM INTO`).
    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let target = path.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.readers)
            .await
            .map(|_| ())
            .map_err(db)
    }
}
