//! `cargo xtask bench-insights`: search over a large history, on SQLite and PostgreSQL side by
//! side in one run. A scratch database of each kind gets N incidents and M timeline texts
//! (words drawn from a skewed vocabulary, so some words are everywhere and some rare; 1 % of
//! the incidents restricted), written straight into the tables the search reads; then each kind
//! of query runs many times for a non-member and for an admin, and the event store's append
//! rate is measured with the search indexer running beside the appends and without it,
//! alternating.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use hereby_app::search::INDEX_INTERVAL;
use hereby_store::{Search, SearchRequest, Store};
use hereby_store_postgres::PgStore;
use hereby_store_sqlite::SqliteStore;
use sqlx::Connection;

use crate::bench_store::{append_direct, declare_many};

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) incidents: u64,
    pub(crate) entries: u64,
    /// Times each query runs per searcher.
    pub(crate) repeats: u32,
    /// Appends per append-rate measurement.
    pub(crate) appends: u64,
    pub(crate) postgres_url: Option<String>,
    /// Keep PostgreSQL's seeded search database after the run, to study its plans by hand.
    pub(crate) keep: bool,
    /// A PostgreSQL database kept by an earlier run (same sizes), searched as it is.
    pub(crate) seeded: Option<String>,
    pub(crate) sqlite: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            incidents: 100_000,
            entries: 2_000_000,
            repeats: 20,
            appends: 20_000,
            postgres_url: std::env::var("HEREBY_BENCH_POSTGRES_URL")
                .or_else(|_| std::env::var("HEREBY_TEST_POSTGRES_URL"))
                .ok()
                .or_else(|| Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned())),
            keep: false,
            seeded: None,
            sqlite: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--incidents" => options.incidents = value()?.parse()?,
                "--entries" => options.entries = value()?.parse()?,
                "--repeats" => options.repeats = value()?.parse()?,
                "--appends" => options.appends = value()?.parse()?,
                "--postgres-url" => options.postgres_url = Some(value()?.clone()),
                "--no-postgres" => options.postgres_url = None,
                "--keep" => options.keep = true,
                "--seeded" => options.seeded = Some(value()?.clone()),
                "--no-sqlite" => options.sqlite = false,
                other => anyhow::bail!(
                    "unknown option {other}; options: --incidents N --entries N --repeats N --appends N --postgres-url URL --no-postgres --no-sqlite --keep --seeded NAME"
                ),
            }
        }
        anyhow::ensure!(options.incidents >= 100, "--incidents must be at least 100");
        anyhow::ensure!(options.repeats >= 1, "--repeats must be at least 1");
        Ok(options)
    }
}

/// A small deterministic generator (xorshift64*): the same history on every run and backend.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A word rank skewed towards the common words (roughly Zipf): rank 0 is the most common.
    fn rank(&mut self, words: usize) -> usize {
        let uniform = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((words as f64).powf(uniform) - 1.0) as usize
    }
}

const VOCABULARY: usize = 20_000;
const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "po", "se", "di", "fu", "ga", "hi", "jo", "ku", "la", "me",
    "no", "pi", "ro", "su",
];

/// Word number `n` of the vocabulary: pronounceable, unique, three syllables or more.
fn word(n: usize) -> String {
    let mut n = n + 400;
    let mut word = String::new();
    while n > 0 {
        word.push_str(SYLLABLES[n % 20]);
        n /= 20;
    }
    word
}

fn sentence(random: &mut Random, words: usize) -> String {
    (0..words)
        .map(|_| word(random.rank(VOCABULARY)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows for one backend, made once.
struct History {
    /// (number, title, severity, restricted, declared_at µs)
    incidents: Vec<(i64, String, &'static str, bool, i64)>,
    /// (incident, text, at µs)
    entries: Vec<(i64, String, i64)>,
}

fn history(options: &Options) -> History {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let start = 1_700_000_000_000_000_i64;
    let span = 2 * 365 * 86_400_000_000_i64;
    let incidents: Vec<_> = (1..=options.incidents as i64)
        .map(|number| {
            let severity = ["SEV1", "SEV2", "SEV3", "SEV4"][(random.next() % 4) as usize];
            let at = start + span / options.incidents as i64 * number;
            (
                number,
                sentence(&mut random, 4),
                severity,
                number % 100 == 0,
                at,
            )
        })
        .collect();
    let entries = (0..options.entries)
        .map(|n| {
            let incident = (n % options.incidents) as i64 + 1;
            let length = 8 + (random.next() % 20) as usize;
            let at =
                incidents[(incident - 1) as usize].4 + (n / options.incidents) as i64 * 60_000_000;
            (incident, sentence(&mut random, length), at)
        })
        .collect();
    History { incidents, entries }
}

/// Writes the history straight into the tables, in batches of rows: the incidents, their
/// members, and the index's rows (SQLite's full-text tables follow by their triggers; its
/// index file is attached to the connection).
macro_rules! seed {
    ($connection:expr, $database:ty, $history:expr) => {{
        let history: &History = $history;
        let mut tx = $connection.begin().await?;
        for chunk in history.incidents.chunks(500) {
            let mut sql = sqlx::QueryBuilder::<$database>::new(
                "INSERT INTO incidents (number, title, status, severity, potential, visibility, services, \
                 commander, roles, declared_at, resolved_at, updated_at, version, last_hash, state, \
                 state_format, summary) ",
            );
            sql.push_values(chunk, |mut row, (number, title, severity, restricted, at)| {
                row.push_bind(*number)
                    .push_bind(title.clone())
                    .push_bind(if number % 3 == 0 { "resolved" } else { "investigating" })
                    .push_bind(*severity)
                    .push_bind(false)
                    .push_bind(if *restricted { "restricted" } else { "internal" })
                    .push_bind(r#"["checkout"]"#)
                    .push_bind(format!("owner{number}"))
                    .push_bind("{}")
                    .push_bind(*at)
                    .push_bind(None::<i64>)
                    .push_bind(*at)
                    .push_bind(1_i64)
                    .push_bind(vec![0_u8; 32])
                    .push_bind("{}")
                    .push_bind(0_i64)
                    .push_bind("");
            });
            sql.build().execute(&mut *tx).await?;
        }
        // The incidents' own entries (title), as the indexer writes them.
        for chunk in history.incidents.chunks(1_000) {
            let mut sql = sqlx::QueryBuilder::<$database>::new(
                "INSERT INTO search_entries (incident, kind, position, at, text) ",
            );
            sql.push_values(chunk, |mut row, (number, title, _, _, at)| {
                row.push_bind(*number)
                    .push_bind("incident")
                    .push_bind(None::<i64>)
                    .push_bind(*at)
                    .push_bind(title.clone());
            });
            sql.build().execute(&mut *tx).await?;
        }
        let mut members = sqlx::QueryBuilder::<$database>::new(
            "INSERT INTO incident_members (incident, person) ",
        );
        let restricted: Vec<_> = history.incidents.iter().filter(|i| i.3).collect();
        if !restricted.is_empty() {
            members.push_values(restricted, |mut row, incident| {
                row.push_bind(incident.0).push_bind(format!("owner{}", incident.0));
            });
            members.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let mut written = 0;
        for chunk in history.entries.chunks(20_000) {
            let mut tx = $connection.begin().await?;
            for rows in chunk.chunks(1_000) {
                let mut sql = sqlx::QueryBuilder::<$database>::new(
                    "INSERT INTO search_entries (incident, kind, position, at, text) ",
                );
                sql.push_values(rows, |mut row, (incident, text, at)| {
                    row.push_bind(*incident)
                        .push_bind("note")
                        .push_bind(*at)
                        .push_bind(*at)
                        .push_bind(text.clone());
                });
                sql.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            written += chunk.len();
            if written % 200_000 == 0 {
                eprintln!("  {written} texts written");
            }
        }
        anyhow::Ok(())
    }};
}

/// The queries, by kind: each a line a person would type.
fn queries(history: &History) -> Vec<(&'static str, String)> {
    let common = word(0);
    let middling = word(150);
    let rare = word(12_000);
    let title_word = history.incidents[17]
        .1
        .split(' ')
        .nth(1)
        .unwrap_or("x")
        .to_owned();
    vec![
        ("common word", common.clone()),
        ("middling word", middling.clone()),
        ("rare word", rare.clone()),
        ("two words", format!("{middling} {}", word(40))),
        ("phrase", format!("\"{} {}\"", word(0), word(1))),
        ("prefix", format!("{}*", &word(300)[..4])),
        ("substring", word(2_000)[1..5].to_owned()),
        (
            "word + filters",
            format!("{middling} sev>=2 status:open since:2024-01-01"),
        ),
        ("title word", title_word),
        ("filters only", "status:open sev:1".to_owned()),
        // Every hundredth incident is restricted: this one is not.
        ("INC-n", format!("INC-{}", history.incidents.len() / 2 + 1)),
    ]
}

#[derive(Debug, Default, Clone)]
struct Latencies {
    /// (kind, p50 ms, p99 ms, hits of the first run, total)
    rows: Vec<(&'static str, f64, f64, usize, u64)>,
    all_p50: f64,
    all_p99: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1_000.0
}

async fn latencies<S: Search>(store: &S, history: &History, repeats: u32) -> Result<Latencies> {
    let mut result = Latencies::default();
    let mut everything = Vec::new();
    // Each query four times at once, untimed, as a server that has been serving searches has
    // done: its pool holds its connections (a search that finds none free opens one, ~100 ms
    // on PostgreSQL), and each has run such statements before (a connection's first reads the
    // database's catalogue).
    for (_, raw) in queries(history) {
        let query = hereby_core::search::parse(&raw).map_err(|e| anyhow::anyhow!("{raw}: {e}"))?;
        let [member, admin] = [Some("carol"), None].map(|viewer| SearchRequest {
            query: &query,
            visible_to: viewer,
            limit: 20,
            offset: 0,
        });
        let searched = tokio::join!(
            store.search(&member),
            store.search(&admin),
            store.search(&member),
            store.search(&admin),
        );
        for result in [searched.0, searched.1, searched.2, searched.3] {
            result?;
        }
    }
    for (kind, raw) in queries(history) {
        let query = hereby_core::search::parse(&raw).map_err(|e| anyhow::anyhow!("{raw}: {e}"))?;
        let mut times = Vec::new();
        let mut first = None;
        for n in 0..repeats {
            // A non-member (restricted incidents hidden inside the query) and an admin.
            for viewer in [Some("carol"), None] {
                let started = Instant::now();
                let found = store
                    .search(&SearchRequest {
                        query: &query,
                        visible_to: viewer,
                        limit: 20,
                        offset: 0,
                    })
                    .await?;
                times.push(started.elapsed());
                if n == 0 && viewer.is_some() {
                    first = Some((found.hits.len(), found.total));
                }
            }
        }
        times.sort();
        let (hits, total) = first.unwrap_or_default();
        result.rows.push((
            kind,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            hits,
            total,
        ));
        everything.extend(times);
    }
    everything.sort();
    result.all_p50 = percentile(&everything, 0.5);
    result.all_p99 = percentile(&everything, 0.99);
    Ok(result)
}

/// How many pairs of append runs (one with the indexer, one without) are measured. On this
/// shared machine single pairs' ratios spread from 0.62 to 1.33, and the median of five pairs
/// ranged from 0.87 to 1.06 over runs of the same code: nine steady it.
const APPEND_PAIRS: usize = 9;

/// The append rates with the search indexer running beside the appends and without it.
#[derive(Default)]
struct AppendRates {
    /// The median rate of the runs with the indexer, appends per second.
    with: f64,
    /// The median rate of the runs without it.
    without: f64,
    /// Each pair's ratio (with / without), sorted.
    ratios: Vec<f64>,
    /// The longest the indexer needed after a run's last append to have indexed everything.
    lag_ms: f64,
    /// The longest index transaction (one batch) during the runs.
    batch_ms: f64,
}

impl AppendRates {
    fn ratio(&self) -> f64 {
        median(&self.ratios)
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Appends per second with the search indexer running beside them (as the server runs it,
/// woken when something was appended) and without it, in [`APPEND_PAIRS`] pairs of runs one
/// right after the other, each on a fresh database, the order alternating (with first, then
/// without first). On a shared machine whose speed drifts from minute to minute, the ratio
/// within a pair compares like with like; the median pair's is reported, with the others.
async fn append_rates<S: Store + Search, F, Fut>(open: F, appends: u64) -> Result<AppendRates>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<S>>,
{
    let mut rates = AppendRates::default();
    let (mut withs, mut withouts) = (Vec::new(), Vec::new());
    for pair in 0..APPEND_PAIRS {
        let order = if pair % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        let (mut with, mut without) = (0.0, 0.0);
        for indexed in order {
            let store = open().await?;
            declare_many(&store, 1_000, 16).await?;
            while store.index_search(store.index_batch()).await? > 0 {}
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let indexer = indexed.then(|| {
                let (store, done) = (store.clone(), done.clone());
                tokio::spawn(async move {
                    // As the server's indexer: a batch, then a pause (after a full batch,
                    // as long as the batch took, at most the pause once caught up). Returns
                    // the longest batch: what a search arriving meanwhile may wait for.
                    let mut longest = Duration::ZERO;
                    loop {
                        let started = Instant::now();
                        let read = store.index_search(store.index_batch()).await?;
                        longest = longest.max(started.elapsed());
                        if read == 0 && done.load(std::sync::atomic::Ordering::Relaxed) {
                            return anyhow::Ok(longest);
                        }
                        if read < u64::from(store.index_batch()) {
                            tokio::time::sleep(INDEX_INTERVAL).await;
                        } else {
                            tokio::time::sleep(started.elapsed().min(INDEX_INTERVAL)).await;
                        }
                    }
                })
            });
            let rate = append_direct(&store, 1_000, appends, 16).await?;
            let finished = Instant::now();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(indexer) = indexer {
                let longest = indexer.await??;
                rates.batch_ms = rates.batch_ms.max(longest.as_secs_f64() * 1_000.0);
                rates.lag_ms = rates.lag_ms.max(finished.elapsed().as_secs_f64() * 1_000.0);
                with = rate;
            } else {
                without = rate;
            }
        }
        withs.push(with);
        withouts.push(without);
        rates.ratios.push(with / without);
    }
    for figures in [&mut withs, &mut withouts, &mut rates.ratios] {
        figures.sort_by(f64::total_cmp);
    }
    rates.with = median(&withs);
    rates.without = median(&withouts);
    Ok(rates)
}

struct Figures {
    seeded_s: f64,
    latencies: Latencies,
    appends: AppendRates,
}

async fn bench_sqlite(options: &Options, history: &History) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("search.db");
    let url = format!("sqlite://{}", file.display());
    let store = SqliteStore::open(&url).await?;
    let started = Instant::now();
    let mut connection = sqlx::sqlite::SqliteConnection::connect(&url).await?;
    // The index is a file of its own beside the database; under its own names, as the
    // store's readers see it.
    sqlx::query("ATTACH DATABASE $1 AS search")
        .bind(
            hereby_store_sqlite::search_file_of(&file)
                .to_string_lossy()
                .into_owned(),
        )
        .execute(&mut connection)
        .await?;
    seed!(connection, sqlx::Sqlite, history)?;
    sqlx::raw_sql("PRAGMA optimize")
        .execute(&mut connection)
        .await?;
    let seeded_s = started.elapsed().as_secs_f64();
    eprintln!("  seeded in {seeded_s:.0} s; searching");
    let latencies = latencies(&store, history, options.repeats).await?;
    drop(store);
    if options.appends == 0 {
        return Ok(Figures {
            seeded_s,
            latencies,
            appends: AppendRates::default(),
        });
    }
    eprintln!("  append rates");
    let scratch = tempfile::tempdir()?;
    let counter = std::sync::atomic::AtomicU32::new(0);
    let appends = append_rates(
        || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = format!(
                "sqlite://{}",
                scratch.path().join(format!("appends{n}.db")).display()
            );
            async move { Ok(SqliteStore::open(&url).await?) }
        },
        options.appends,
    )
    .await?;
    Ok(Figures {
        seeded_s,
        latencies,
        appends,
    })
}

pub(crate) async fn scratch_database(
    admin: &mut sqlx::postgres::PgConnection,
    name: &str,
) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut *admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut *admin)
        .await?;
    Ok(())
}

async fn bench_postgres(
    options: &Options,
    history: &History,
    server: &str,
) -> Result<Option<Figures>> {
    let mut admin = match sqlx::postgres::PgConnection::connect(server).await {
        Ok(admin) => admin,
        Err(error) => {
            eprintln!(
                "PostgreSQL skipped: cannot connect to {}: {error}",
                hereby_store::redact_url(server)
            );
            return Ok(None);
        }
    };
    let base = options
        .seeded
        .clone()
        .unwrap_or_else(|| format!("hereby_bench_search_{}", std::process::id()));
    let mut made = Vec::new();
    let result = async {
        if options.seeded.is_none() {
            scratch_database(&mut admin, &base).await?;
            made.push(base.clone());
        }
        let url = hereby_store_postgres::with_database(server, &base);
        let store = PgStore::open(&url).await?;
        let started = Instant::now();
        let mut connection = sqlx::postgres::PgConnection::connect(&url).await?;
        let seeded_s = if options.seeded.is_none() {
            seed!(connection, sqlx::Postgres, history)?;
            started.elapsed().as_secs_f64()
        } else {
            // Not seeded here: no time to report.
            f64::NAN
        };
        let buffers: String = sqlx::query_scalar("SHOW shared_buffers")
            .fetch_one(&mut connection)
            .await?;
        println!("PostgreSQL shared_buffers: {buffers}");
        // As a database that has been running looks: vacuumed (autovacuum would otherwise
        // start on two million fresh rows in the middle of the searches, and the indexes'
        // pending entries are merged) and with statistics.
        sqlx::raw_sql("VACUUM ANALYZE")
            .execute(&mut connection)
            .await?;
        eprintln!("  seeded in {seeded_s:.0} s; searching");
        let latencies = latencies(&store, history, options.repeats).await?;
        drop(store);
        if options.appends == 0 {
            return anyhow::Ok(Figures {
                seeded_s,
                latencies,
                appends: AppendRates::default(),
            });
        }
        eprintln!("  append rates");
        let mut names = Vec::new();
        // A fresh database for each run: two per pair.
        for n in 0..2 * APPEND_PAIRS {
            let name = format!("{base}_appends{n}");
            scratch_database(&mut admin, &name).await?;
            names.push(name);
        }
        made.extend(names.iter().cloned());
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let appends = append_rates(
            || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let url = hereby_store_postgres::with_database(server, &names[n]);
                async move { Ok(PgStore::open(&url).await?) }
            },
            options.appends,
        )
        .await?;
        anyhow::Ok(Figures {
            seeded_s,
            latencies,
            appends,
        })
    }
    .await;
    for name in made {
        if options.keep && name == base {
            println!("PostgreSQL search database kept: {name}");
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    result.map(Some)
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "bench-insights: {cores} cores; {} incidents, {} timeline texts, each query {}× per searcher",
        options.incidents, options.entries, options.repeats
    );
    let history = history(&options);
    let sqlite = if options.sqlite {
        eprintln!("sqlite:");
        Some(bench_sqlite(&options, &history).await?)
    } else {
        None
    };
    let postgres = match &options.postgres_url {
        Some(url) => {
            eprintln!("postgres:");
            bench_postgres(&options, &history, url).await?
        }
        None => None,
    };
    println!(
        "Search over {} incidents and {} timeline texts (20 hits a page; p50 / p99 in ms over {} runs for a non-member and {} for an admin):",
        options.incidents, options.entries, options.repeats, options.repeats
    );
    println!();
    println!(
        "| query | hits (total) | SQLite p50 | SQLite p99 | PostgreSQL p50 | PostgreSQL p99 |"
    );
    println!("|---|---|---|---|---|---|");
    let ms = |figure: Option<f64>| figure.map_or("—".to_owned(), |ms| format!("{ms:.1}"));
    let kinds = sqlite
        .as_ref()
        .or(postgres.as_ref())
        .map_or(0, |f| f.latencies.rows.len());
    for n in 0..kinds {
        let lite = sqlite.as_ref().map(|f| &f.latencies.rows[n]);
        let pg = postgres.as_ref().map(|f| &f.latencies.rows[n]);
        let Some((kind, _, _, hits, total)) = lite.or(pg) else {
            continue;
        };
        println!(
            "| {kind} | {hits} ({total}) | {} | {} | {} | {} |",
            ms(lite.map(|row| row.1)),
            ms(lite.map(|row| row.2)),
            ms(pg.map(|row| row.1)),
            ms(pg.map(|row| row.2)),
        );
    }
    println!(
        "| **all queries** | | {} | {} | {} | {} |",
        ms(sqlite.as_ref().map(|f| f.latencies.all_p50)),
        ms(sqlite.as_ref().map(|f| f.latencies.all_p99)),
        ms(postgres.as_ref().map(|f| f.latencies.all_p50)),
        ms(postgres.as_ref().map(|f| f.latencies.all_p99)),
    );
    println!();
    if options.appends > 0 {
        println!(
            "| appends/s (16 writers, {} notes; median of {APPEND_PAIRS} pairs) | with the indexer running | without | ratio (median pair) | every pair's ratio | indexed everything after the last append | longest index batch |",
            options.appends
        );
        println!("|---|---|---|---|---|---|---|");
    }
    for (name, figures) in [
        ("SQLite", sqlite.as_ref()),
        ("PostgreSQL", postgres.as_ref()),
    ] {
        if let Some(f) = figures.filter(|f| !f.appends.ratios.is_empty()) {
            let rates = &f.appends;
            println!(
                "| {name} | {:.0} | {:.0} | {:.2} | {} | {:.0} ms | {:.0} ms |",
                rates.with,
                rates.without,
                rates.ratio(),
                rates
                    .ratios
                    .iter()
                    .map(|ratio| format!("{ratio:.2}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                rates.lag_ms,
                rates.batch_ms
            );
        }
    }
    println!();
    println!(
        "Seeding (straight into the tables, index triggers running): SQLite {} s, PostgreSQL {} s",
        sqlite
            .as_ref()
            .map_or("—".to_owned(), |f| format!("{:.0}", f.seeded_s)),
        postgres
            .as_ref()
            .filter(|f| f.seeded_s.is_finite())
            .map_or("—".to_owned(), |f| format!("{:.0}", f.seeded_s)),
    );
    Ok(())
}
