//! SQLite backend tests: the shared conformance story on a fresh database file per test, plus
//! the durability settings and the append-only guard that are specific to SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hereby_store::Backup;
use hereby_store::conformance::Harness;
use hereby_store_sqlite::SqliteStore;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

struct SqliteHarness {
    _dir: tempfile::TempDir,
    url: String,
    store: SqliteStore,
}

impl SqliteHarness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hereby.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        Self {
            _dir: dir,
            url,
            store,
        }
    }

    async fn raw(&self) -> SqliteConnection {
        SqliteConnection::connect(&self.url).await.unwrap()
    }
}

impl Harness for SqliteHarness {
    type S = SqliteStore;

    fn store(&self) -> &SqliteStore {
        &self.store
    }

    async fn tamper(&self, sql: &str) {
        let mut conn = self.raw().await;
        for statement in [
            "DROP TRIGGER IF EXISTS events_are_append_only_update",
            "DROP TRIGGER IF EXISTS events_are_append_only_delete",
            sql,
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    async fn reopen(&self) -> SqliteStore {
        SqliteStore::open(&self.url).await.unwrap()
    }
}

hereby_store::conformance_tests!(async { Some(SqliteHarness::new().await) });

#[tokio::test]
async fn commits_are_durable_wal_with_full_sync() {
    let harness = SqliteHarness::new().await;
    let pool = harness.store.reader_pool();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "synchronous must be FULL (2)");
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_events() {
    let harness = SqliteHarness::new().await;
    declare_one(&harness.store).await;
    let mut conn = harness.raw().await;
    for statement in ["UPDATE events SET actor = 'mallory'", "DELETE FROM events"] {
        let error = sqlx::raw_sql(statement)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
}

async fn declare_one(store: &SqliteStore) {
    hereby_store::conformance::declare_sample(store).await;
}

#[tokio::test]
async fn unusable_urls_fail_with_a_clear_message() {
    let error = SqliteStore::open("sqlite:///nonexistent-dir/sub/hereby.db")
        .await
        .unwrap_err();
    assert_eq!(error.url, "sqlite:///nonexistent-dir/sub/hereby.db");
    assert!(
        error
            .to_string()
            .starts_with("cannot open database sqlite:///nonexistent-dir/sub/hereby.db: ")
    );
    let memory = SqliteStore::open("sqlite::memory:").await.unwrap_err();
    assert!(memory.problem.contains("in-memory"));
}

#[tokio::test]
async fn backup_is_a_consistent_copy() {
    let harness = SqliteHarness::new().await;
    declare_one(&harness.store).await;
    declare_one(&harness.store).await;
    let target = harness._dir.path().join("copy.db");
    harness.store.backup_to(&target).await.unwrap();
    let copy = SqliteStore::open(&format!("sqlite://{}", target.display()))
        .await
        .unwrap();
    let report = hereby_store::verify_all(&copy).await.unwrap();
    assert_eq!(
        (report.incidents, report.events, report.breaks.len()),
        (2, 2, 0)
    );
}
