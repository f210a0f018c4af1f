//! A SQLite database as tables of rows, for copying it to another database or filling it
//! from one (`hereby db copy`).

use std::str::FromStr;

use hereby_store::copy::Access;
use hereby_store::{OpenError, StoreError, redact_url};
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};

use crate::{BUSY_TIMEOUT, MIGRATOR, db};

/// A SQLite database seen as tables, without the store's writer or its migrations: a copy
/// reads its source as it is, and migrates its target only once the checks have passed.
#[derive(Debug, Clone)]
pub struct SqliteTables {
    pool: SqlitePool,
}

impl SqliteTables {
    /// Connects to the database file `url` names. A source is opened read-only and must
    /// exist: a mistyped path must not become a new, empty database that copies nothing. A
    /// target is created if missing; its journal mode is left alone until it is migrated, so
    /// a target that is refused is not changed at all.
    pub async fn connect(url: &str, access: Access) -> Result<Self, OpenError> {
        let fail = |problem: String| OpenError {
            url: redact_url(url),
            problem,
        };
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(fail(
                "an in-memory database holds nothing to copy and keeps nothing copied into it; give a file path".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(e.to_string()))?
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let options = match access {
            Access::Read => options.read_only(true).create_if_missing(false),
            Access::Write => options.create_if_missing(true),
        };
        // One connection: a copy reads (or writes) in one transaction at a time.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool })
    }
}

/// The database file's canonical path: two URLs that spell the path differently (relative,
/// with `./`, through a symbolic link) name the same file.
async fn identity(tables: &SqliteTables) -> Result<String, StoreError> {
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&tables.pool)
            .await
            .map_err(db)?;
    let path = std::fs::canonicalize(&file).unwrap_or_else(|_| file.into());
    Ok(format!("sqlite {}", path.display()))
}

hereby_store::sql_copy_common! {
    tables: SqliteTables,
    tx: SqliteTablesTx,
    database: Sqlite,
    row: SqliteRow,
    migrator: MIGRATOR,
    // The store runs in WAL mode (see the crate documentation); the copy's target is made so
    // before it is written, as `SqliteStore::open` would.
    before_migrate: ["PRAGMA journal_mode = WAL"],
    // In WAL mode a read transaction sees the database as of its first read, throughout.
    begin_snapshot: "BEGIN",
    // IMMEDIATE takes the write lock at once: no other connection writes until the copy ends.
    begin_load: "BEGIN IMMEDIATE",
    overriding: "",
    // A rowid is the largest one in use plus one, so nothing needs moving past the copied ids.
    after_load: [],
    // The search index (`search_…`, with its full-text shadow tables) is not copied: the
    // target's triggers build it from the incidents and events as they arrive.
    list_tables: "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                  AND name <> '_sqlx_migrations' AND name NOT LIKE 'search\\_%' ESCAPE '\\' \
                  ORDER BY name",
    list_columns: "SELECT name FROM pragma_table_info($1)",
    migrations_table: "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
    identity: identity,
}
