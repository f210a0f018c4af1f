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

/// Adds a note with `text` to `incident`.
async fn note(store: &SqliteStore, incident: hereby_core::types::IncidentNumber, text: &str) {
    use hereby_store::Store as _;
    let version = store.load(incident).await.unwrap().version;
    let events = vec![hereby_core::Event::NoteAdded(
        hereby_core::event::NoteAdded {
            text: hereby_core::types::Text::parse(text).unwrap(),
        },
    )];
    store
        .append(
            incident,
            version,
            hereby_store::NewEvents::new(
                hereby_core::types::UserName::parse("alice").unwrap(),
                jiff::Timestamp::now(),
                events,
            ),
        )
        .await
        .unwrap();
}

/// How many incidents an admin finds for `raw`, once the index has caught up.
async fn found(store: &SqliteStore, raw: &str) -> u64 {
    hereby_store::conformance::searched(store, raw, None)
        .await
        .total
}

/// Whole words are ranked among their newest 1,000 texts, parts of words among their newest
/// 500: past that the count is of the incidents among them, and not exact.
#[tokio::test]
async fn search_ranks_the_newest_matches_and_says_when_more_match() {
    use hereby_store::Search as _;
    let harness = SqliteHarness::new().await;
    let older = hereby_store::conformance::declare_sample(&harness.store).await;
    let newer = hereby_store::conformance::declare_sample(&harness.store).await;
    while harness.store.index_search(100).await.unwrap() > 0 {}
    let search_file = hereby_store_sqlite::search_file_of(&harness._dir.path().join("hereby.db"));
    let mut index = SqliteConnection::connect(&format!("sqlite://{}", search_file.display()))
        .await
        .unwrap();
    // 700 texts of the older incident, then 700 of the newer one.
    for incident in [older, newer] {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 699) \
             INSERT INTO search_entries (incident, kind, position, at, text) \
             SELECT $1, 'note', 100000 + i, 0, 'the pool is exhausted again' FROM n",
        )
        .bind(i64::try_from(incident.0).unwrap())
        .execute(&mut index)
        .await
        .unwrap();
    }
    // The word: the newest 1,001 texts are 700 of the newer incident and 301 of the older.
    let found = hereby_store::conformance::searched(&harness.store, "exhausted", None).await;
    let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
    assert_eq!(incidents, vec![newer.0, older.0], "{found:?}");
    assert_eq!((found.total, found.exact), (2, false));
    // The part of a word: the newest 501 are all the newer incident's.
    let found = hereby_store::conformance::searched(&harness.store, "xhauste", None).await;
    let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
    assert_eq!(incidents, vec![newer.0], "{found:?}");
    assert_eq!((found.total, found.exact), (1, false));
}

#[tokio::test]
async fn appends_go_on_while_the_search_index_is_written() {
    let harness = SqliteHarness::new().await;
    let incident = hereby_store::conformance::declare_sample(&harness.store).await;
    // Another connection holds the index file's write lock, as an indexer's batch does.
    let search_file = hereby_store_sqlite::search_file_of(&harness._dir.path().join("hereby.db"));
    let mut indexer = SqliteConnection::connect(&format!("sqlite://{}", search_file.display()))
        .await
        .unwrap();
    // The store's own index: its table is there (a search indexed the declaration).
    assert_eq!(found(&harness.store, "sample").await, 1);
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM search_entries")
        .fetch_one(&mut indexer)
        .await
        .unwrap();
    assert!(entries > 0);
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut indexer)
        .await
        .unwrap();
    // Well within the busy timeout (10 s) an append would wait for a lock it shared.
    tokio::time::timeout(
        std::time::Duration::from_secs(3),
        note(&harness.store, incident, "replica lag back under a second"),
    )
    .await
    .expect("an append must not wait for the search index's write lock");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut indexer)
        .await
        .unwrap();
    assert_eq!(found(&harness.store, "replica").await, 1);
}

#[tokio::test]
async fn a_search_index_of_another_history_is_rebuilt() {
    let harness = SqliteHarness::new().await;
    let incident = hereby_store::conformance::declare_sample(&harness.store).await;
    note(&harness.store, incident, "connection pool exhausted").await;
    assert_eq!(found(&harness.store, "exhausted").await, 1);
    let database = harness._dir.path().join("hereby.db");
    let backup = harness._dir.path().join("backup.db");
    harness.store.backup_to(&backup).await.unwrap();
    note(&harness.store, incident, "failover to the replica").await;
    assert_eq!(found(&harness.store, "failover").await, 1);
    harness.store.close().await;

    // The backup put in the database's place: the index beside it holds a note the restored
    // history never had, and is rebuilt.
    for suffix in ["-wal", "-shm"] {
        let mut name = database.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    std::fs::copy(&backup, &database).unwrap();
    // Another process (a command run beside the server) has the index open meanwhile: the
    // index is emptied in place, so it sees the emptied index, not a removed file's rows.
    let search_file = hereby_store_sqlite::search_file_of(&database);
    let mut beside = SqliteConnection::connect(&format!("sqlite://{}", search_file.display()))
        .await
        .unwrap();
    let entries = "SELECT count(*) FROM search_entries";
    let before: i64 = sqlx::query_scalar(entries)
        .fetch_one(&mut beside)
        .await
        .unwrap();
    assert!(before > 0);
    let restored = SqliteStore::open(&harness.url).await.unwrap();
    let after: i64 = sqlx::query_scalar(entries)
        .fetch_one(&mut beside)
        .await
        .unwrap();
    assert_eq!(after, 0);
    beside.close().await.unwrap();
    assert_eq!(found(&restored, "failover").await, 0);
    assert_eq!(found(&restored, "exhausted").await, 1);
    note(&restored, incident, "failover again").await;
    assert_eq!(found(&restored, "failover").await, 1);
    restored.close().await;

    // A missing index is built again from the events.
    std::fs::remove_file(&search_file).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut name = search_file.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    let reopened = SqliteStore::open(&harness.url).await.unwrap();
    assert_eq!(found(&reopened, "exhausted").await, 1);
    assert_eq!(found(&reopened, "failover").await, 1);
    // The same history: the index is kept, nothing indexed twice.
    reopened.close().await;
    let again = SqliteStore::open(&harness.url).await.unwrap();
    use hereby_store::Search as _;
    assert_eq!(again.index_search(100).await.unwrap(), 0);
    assert_eq!(found(&again, "failover").await, 1);
}
