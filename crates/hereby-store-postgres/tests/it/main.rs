//! PostgreSQL backend tests: the shared conformance story, each test on a database of its
//! own, created on the server named by `HEREBY_TEST_POSTGRES_URL` and dropped afterwards.
//! Without that variable the tests say they are skipped and why; `.ci/run` always sets it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hereby_store::conformance::Harness;
use hereby_store_postgres::{PgStore, with_database};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::sync::atomic::{AtomicU32, Ordering};

const URL_VARIABLE: &str = "HEREBY_TEST_POSTGRES_URL";

struct PgHarness {
    admin_url: String,
    database: String,
    url: String,
    store: Option<PgStore>,
}

impl PgHarness {
    async fn new() -> Option<Self> {
        let Ok(admin_url) = std::env::var(URL_VARIABLE) else {
            // Written to the stderr handle itself: the test harness captures `eprintln!`
            // output of passing tests, and a skip must be seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("skipped: {URL_VARIABLE} is not set, so there is no PostgreSQL server to test against\n").as_bytes(),
            );
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let database = format!(
            "hereby_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = with_database(&admin_url, &database);
        let store = PgStore::open(&url).await.unwrap();
        Some(Self {
            admin_url,
            database,
            url,
            store: Some(store),
        })
    }

    async fn raw(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        // Dropping the database needs a connection of its own; do it on a short-lived thread
        // so that a test's end (passed or failed) leaves no database behind.
        self.store.take();
        let admin_url = self.admin_url.clone();
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

impl Harness for PgHarness {
    type S = PgStore;

    fn store(&self) -> &PgStore {
        self.store.as_ref().unwrap()
    }

    async fn tamper(&self, sql: &str) {
        let mut conn = self.raw().await;
        for statement in ["ALTER TABLE events DISABLE TRIGGER USER", sql] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    async fn reopen(&self) -> PgStore {
        PgStore::open(&self.url).await.unwrap()
    }
}

hereby_store::conformance_tests!(PgHarness::new());

#[tokio::test]
async fn commits_are_synchronous() {
    let Some(harness) = PgHarness::new().await else {
        return;
    };
    let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(harness.store().reader_pool())
        .await
        .unwrap();
    assert_eq!(setting, "on");
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_events() {
    let Some(harness) = PgHarness::new().await else {
        return;
    };
    hereby_store::conformance::declare_sample(harness.store()).await;
    let mut conn = harness.raw().await;
    for statement in [
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::raw_sql(statement)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
}

#[tokio::test]
async fn unreachable_servers_fail_with_a_redacted_url() {
    let error = PgStore::open("postgres://hereby:hunter2@127.0.0.1:1/hereby")
        .await
        .unwrap_err();
    assert_eq!(error.url, "postgres://hereby:***@127.0.0.1:1/hereby");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/postgres?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// Search reads its indexes one range of 65,536 entries at a time from the newest: the newest
/// matches are gathered across ranges (a range without any is passed over, not taken for the
/// end), and a text that only the oldest range holds is still found, whichever way it is read.
#[tokio::test]
async fn search_gathers_the_newest_matches_range_by_range() {
    use hereby_store::Search as _;
    let Some(harness) = PgHarness::new().await else {
        return;
    };
    let store = harness.store();
    let older = hereby_store::conformance::declare_sample(store).await;
    let newer = hereby_store::conformance::declare_sample(store).await;
    while store.index_search(100).await.unwrap() > 0 {}
    let mut conn = harness.raw().await;
    // 700 texts of the newer incident in the fourth range, 700 of the older one in the second,
    // none in the third, and one other text in the first.
    for (incident, first) in [(newer, 3 * 65_536_i64), (older, 65_536 + 10)] {
        sqlx::query(
            "INSERT INTO search_entries (id, incident, kind, position, at, text) \
             OVERRIDING SYSTEM VALUE SELECT $1 + n, $2, 'note', $1 + n, 0, \
             'the pool is exhausted again' FROM generate_series(0, 699) AS n",
        )
        .bind(first)
        .bind(i64::try_from(incident.0).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO search_entries (id, incident, kind, position, at, text) \
         OVERRIDING SYSTEM VALUE VALUES (1000, $1, 'note', 1000, 0, 'a frobnicator jammed')",
    )
    .bind(i64::try_from(older.0).unwrap())
    .execute(&mut conn)
    .await
    .unwrap();

    // The word's newest 1,001 matches: 700 of the newer incident, then 301 of the older one,
    // two ranges apart; more match, so the count is not exact. The word, found 700 times in
    // the newest 66,236 entries, seems common and is read on range by range.
    let found = hereby_store::conformance::searched(store, "exhausted", None).await;
    let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
    assert_eq!(incidents, vec![newer.0, older.0], "{found:?}");
    assert_eq!((found.total, found.exact), (2, false));
    // The part of a word's newest 501, read several ranges at once: the newer incident's only.
    let found = hereby_store::conformance::searched(store, "xhauste", None).await;
    let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
    assert_eq!(incidents, vec![newer.0], "{found:?}");
    assert_eq!((found.total, found.exact), (1, false));
    // With the newer incident's texts left out by a filter, the older one's are gathered
    // across the empty third range.
    let raw = format!("xhauste INC-{}", older.0);
    let found = hereby_store::conformance::searched(store, &raw, None).await;
    let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
    assert_eq!(incidents, vec![older.0], "{found:?}");
    assert_eq!((found.total, found.exact), (1, false));
    // A word and a part of a word only the oldest range holds: the word, not found in the
    // newest range's worth of entries, is counted (one text) and read in one statement (by
    // its stem, which no substring search would find).
    for raw in ["frobnicators", "obnicat"] {
        let found = hereby_store::conformance::searched(store, raw, None).await;
        let incidents: Vec<u64> = found.hits.iter().map(|hit| hit.incident.0).collect();
        assert_eq!(incidents, vec![older.0], "{raw}: {found:?}");
        assert_eq!((found.total, found.exact), (1, true), "{raw}");
    }
    // A word no text holds: counted, none.
    let found = hereby_store::conformance::searched(store, "zyzzyva", None).await;
    assert!(found.hits.is_empty(), "{found:?}");
    assert_eq!((found.total, found.exact), (0, true));
}
