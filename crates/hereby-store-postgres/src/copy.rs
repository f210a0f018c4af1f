//! A PostgreSQL database as tables of rows, for copying it to another database or filling it
//! from one (`hereby db copy`).

use std::str::FromStr;

use hereby_store::copy::Access;
use hereby_store::{OpenError, StoreError, redact_url};
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use crate::{CONNECT_TIMEOUT, MIGRATOR, db};

/// A PostgreSQL database seen as tables, without the store's writer or its migrations: a
/// copy reads its source as it is, and migrates its target only once the checks have passed.
#[derive(Debug, Clone)]
pub struct PgTables {
    pool: PgPool,
}

impl PgTables {
    /// Connects to the database `url` names. A source's sessions are read-only, so a copy
    /// cannot change it by mistake; a target's commits are durable when they return, as the
    /// store's are.
    pub async fn connect(url: &str, access: Access) -> Result<Self, OpenError> {
        let fail = |problem: String| OpenError {
            url: redact_url(url),
            problem,
        };
        let options = PgConnectOptions::from_str(url).map_err(|e| fail(e.to_string()))?;
        let options = match access {
            Access::Read => options.options([("default_transaction_read_only", "on")]),
            Access::Write => options.options([("synchronous_commit", "on")]),
        };
        // One connection: a copy reads (or writes) in one transaction at a time.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool })
    }
}

/// The server's start time and port with the database's name: the same for every host name
/// or address that reaches one database, different for any other database (another name on
/// the same server, or another server). Every role may read all three.
async fn identity(tables: &PgTables) -> Result<String, StoreError> {
    let name: String = sqlx::query_scalar(
        "SELECT pg_postmaster_start_time()::text || ' port ' || current_setting('port') \
         || ' database ' || current_database()",
    )
    .fetch_one(&tables.pool)
    .await
    .map_err(db)?;
    Ok(format!("postgres {name}"))
}

hereby_store::sql_copy_common! {
    tables: PgTables,
    tx: PgTablesTx,
    database: Postgres,
    row: PgRow,
    migrator: MIGRATOR,
    before_migrate: [],
    // One snapshot of the whole database for every read of the copy.
    begin_snapshot: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    begin_load: "BEGIN",
    // Ids are copied as they are, identity columns included.
    overriding: " OVERRIDING SYSTEM VALUE",
    // The copied rows carry their own ids and positions, which the sequences behind identity
    // columns and the event position counter know nothing of: each moves past the largest
    // copied value, so the next token, channel, delivery, job or event gets a new one.
    after_load: [
        "UPDATE counters SET value = (SELECT COALESCE(MAX(position), 0) FROM events) \
         WHERE name = 'event_position'",
        "DO $$
        DECLARE
            identity record;
        BEGIN
            FOR identity IN
                SELECT table_name::text AS table_name, column_name::text AS column_name
                FROM information_schema.columns
                WHERE table_schema = current_schema() AND is_identity = 'YES'
            LOOP
                EXECUTE format(
                    'SELECT setval(pg_get_serial_sequence(%L, %L), '
                    'COALESCE((SELECT MAX(%I) FROM %I), 0) + 1, false)',
                    quote_ident(identity.table_name), identity.column_name,
                    identity.column_name, identity.table_name);
            END LOOP;
        END
        $$",
    ],
    // The search index is not copied: the target's triggers build it from the incidents and
    // events as they arrive.
    list_tables: "SELECT table_name::text FROM information_schema.tables \
                  WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                  AND table_name <> '_sqlx_migrations' \
                  AND table_name NOT LIKE 'search\\_%' ESCAPE '\\' ORDER BY table_name",
    list_columns: "SELECT column_name::text FROM information_schema.columns \
                   WHERE table_schema = current_schema() AND table_name = $1",
    migrations_table: "SELECT COUNT(*) FROM information_schema.tables \
                       WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
    identity: identity,
}
