//! `cargo xtask bench-store`: the event store's throughput next to the physical limit of the
//! same database, for SQLite and PostgreSQL side by side in one run.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use hereby_core::types::{IncidentNumber, Severity, Text, Title, UserName, Visibility};
use hereby_core::{Command, Policy};
use hereby_store::{ListQuery, NewEvents, Store, declare, execute};
use hereby_store_postgres::PgStore;
use hereby_store_sqlite::SqliteStore;
use jiff::Timestamp;
use sqlx::Connection;

/// What to measure, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Incidents the append benchmarks spread their writes over.
    pub(crate) incidents: u64,
    /// Appends per append measurement.
    pub(crate) appends: u64,
    /// Incidents in the database for the list measurement.
    pub(crate) list_size: u64,
    /// PostgreSQL server to create a scratch database on; `None` skips PostgreSQL.
    pub(crate) postgres_url: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            incidents: 1_000,
            appends: 4_000,
            list_size: 100_000,
            postgres_url: std::env::var("HEREBY_BENCH_POSTGRES_URL")
                .or_else(|_| std::env::var("HEREBY_TEST_POSTGRES_URL"))
                .ok()
                .or_else(|| Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned())),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--appends" => options.appends = value()?.parse()?,
                "--incidents" => options.incidents = value()?.parse()?,
                "--list-size" => options.list_size = value()?.parse()?,
                "--postgres-url" => options.postgres_url = Some(value()?.clone()),
                "--no-postgres" => options.postgres_url = None,
                other => anyhow::bail!(
                    "unknown option {other}; options: --appends N --incidents N --list-size N --postgres-url URL --no-postgres"
                ),
            }
        }
        Ok(options)
    }
}

/// The figures for one backend.
#[derive(Debug, Clone, Default)]
struct Figures {
    appends_1: f64,
    plain_1: f64,
    appends_16: f64,
    plain_16: f64,
    commands_1: f64,
    commands_16: f64,
    short_stream_us: f64,
    long_stream_us: f64,
    list_p50_us: f64,
    list_p99_us: f64,
    fill_rate: f64,
}

fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap_or_else(|_| unreachable_name())
}

#[allow(clippy::panic)]
fn unreachable_name() -> UserName {
    panic!("benchmark user names are valid literals")
}

fn note(text: &str) -> Result<Command> {
    Ok(Command::AddNote {
        text: Text::parse(text)?,
    })
}

fn declaration(n: u64) -> Result<Command> {
    Ok(Command::Declare {
        title: Title::parse(&format!("Benchmark incident {n}"))?,
        summary: None,
        public_summary: None,
        severity: Severity::Sev3,
        potential: false,
        services: vec![],
        visibility: Visibility::Internal,
        triage: false,
    })
}

/// Runs `total` operations split over `writers` tasks; returns operations per second.
async fn concurrently<F, Fut>(writers: u64, total: u64, op: F) -> Result<f64>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = writer;
            while i < total {
                op(i).await?;
                i += writers;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

pub(crate) async fn declare_many<S: Store>(store: &S, count: u64, writers: u64) -> Result<f64> {
    let store = store.clone();
    concurrently(writers, count, move |n| {
        let store = store.clone();
        async move {
            declare(
                &store,
                declaration(n)?,
                &user("bench"),
                Timestamp::now(),
                &Policy::default(),
            )
            .await?;
            Ok(())
        }
    })
    .await
}

async fn append_notes<S: Store>(
    store: &S,
    incidents: u64,
    total: u64,
    writers: u64,
) -> Result<f64> {
    let store = store.clone();
    concurrently(writers, total, move |n| {
        let store = store.clone();
        async move {
            let incident = IncidentNumber(n % incidents + 1);
            let command = note(&format!(
                "benchmark note {n}: replica lag back under one second"
            ))?;
            execute(
                &store,
                incident,
                None,
                command,
                &user("bench"),
                Timestamp::now(),
                &Policy::default(),
            )
            .await?;
            Ok(())
        }
    })
    .await
}

/// Store appends (one note each) by `writers` tasks, each owning a share of the incidents and
/// tracking their versions, so that no append conflicts. Returns appends per second.
pub(crate) async fn append_direct<S: Store>(
    store: &S,
    incidents: u64,
    total: u64,
    writers: u64,
) -> Result<f64> {
    let mut shares = Vec::new();
    for writer in 0..writers {
        let mut share = Vec::new();
        let mut incident = writer + 1;
        while incident <= incidents {
            share.push((
                IncidentNumber(incident),
                store.load(IncidentNumber(incident)).await?.version,
            ));
            incident += writers;
        }
        shares.push(share);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (writer, mut share) in shares.into_iter().enumerate() {
        let store = store.clone();
        let count = total / writers + u64::from((writer as u64) < total % writers);
        tasks.push(tokio::spawn(async move {
            for n in 0..count as usize {
                let slot = n % share.len();
                let (incident, version) = share[slot];
                let text = Text::parse(&format!(
                    "benchmark note {n}: replica lag back under one second"
                ))?;
                let events = vec![hereby_core::Event::NoteAdded(
                    hereby_core::event::NoteAdded { text },
                )];
                let appended = store
                    .append(
                        incident,
                        version,
                        NewEvents::new(user("bench"), Timestamp::now(), events),
                    )
                    .await?;
                share[slot].1 = appended.version;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The store's own rates on a fresh SQLite database with `incidents` incidents, for
/// `bench-api`: durable appends per second (`Store::append`, one note each, no conflicts) and
/// full commands per second (load, decide, append), `total` of each by `writers` tasks.
pub(crate) async fn sqlite_rates(incidents: u64, total: u64, writers: u64) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::open(&url).await?;
    declare_many(&store, incidents, writers).await?;
    let appends = append_direct(&store, incidents, total, writers).await?;
    let commands = append_notes(&store, incidents, total, writers).await?;
    Ok((appends, commands))
}

/// Mean microseconds per single-event append to one stream, measured sequentially.
async fn append_latency<S: Store>(
    store: &S,
    incident: IncidentNumber,
    appends: u64,
) -> Result<f64> {
    let started = Instant::now();
    for n in 0..appends {
        execute(
            store,
            incident,
            None,
            note(&format!("latency probe {n}"))?,
            &user("bench"),
            Timestamp::now(),
            &Policy::default(),
        )
        .await?;
    }
    Ok(started.elapsed().as_micros() as f64 / appends as f64)
}

/// Grows a stream to `length` events in large batches.
async fn grow_stream<S: Store>(store: &S, incident: IncidentNumber, length: u64) -> Result<()> {
    let mut version = store.load(incident).await?.version;
    while version < length {
        let chunk = (length - version).min(500);
        let events = (0..chunk)
            .map(|n| {
                Ok(hereby_core::Event::NoteAdded(
                    hereby_core::event::NoteAdded {
                        text: Text::parse(&format!("history {version}+{n}"))?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        version = store
            .append(
                incident,
                version,
                NewEvents::new(user("bench"), Timestamp::now(), events),
            )
            .await?
            .version;
    }
    Ok(())
}

/// Runs `total` operations of each of two kinds in alternating rounds and returns each kind's
/// overall rate (operations per second). Each closure runs `n` operations and returns its rate.
async fn alternate<A, AFut, B, BFut>(total: u64, first: A, second: B) -> Result<(f64, f64)>
where
    A: Fn(u64) -> AFut,
    AFut: Future<Output = Result<f64>>,
    B: Fn(u64) -> BFut,
    BFut: Future<Output = Result<f64>>,
{
    const ROUNDS: u64 = 5;
    let per_round = (total / ROUNDS).max(1);
    let (mut first_seconds, mut second_seconds) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        first_seconds += per_round as f64 / first(per_round).await?;
        second_seconds += per_round as f64 / second(per_round).await?;
    }
    let done = (per_round * ROUNDS) as f64;
    Ok((done / first_seconds, done / second_seconds))
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(index).map_or(0.0, |d| d.as_micros() as f64)
}

/// Measures one backend. `plain` runs `total` single-row durable inserts with `writers`
/// connections against the same database and returns inserts per second.
async fn measure<S, P, PFut>(store: S, options: &Options, plain: P) -> Result<Figures>
where
    S: Store,
    P: Fn(u64, u64) -> PFut,
    PFut: Future<Output = Result<f64>>,
{
    let mut figures = Figures::default();
    eprintln!("  declaring {} incidents", options.incidents);
    declare_many(&store, options.incidents, 16).await?;

    eprintln!("  appends and plain inserts, 1 writer");
    let single = (options.appends / 4).max(100);
    // Plain inserts and appends alternate in rounds, so that the disk's drifting sync latency
    // hits both alike; rates are total operations over total time.
    let (plain_1, appends_1) = alternate(
        single,
        |n| plain(n, 1),
        |n| append_direct(&store, options.incidents, n, 1),
    )
    .await?;
    figures.plain_1 = plain_1;
    figures.appends_1 = appends_1;
    figures.commands_1 = append_notes(&store, options.incidents, single, 1).await?;
    eprintln!("  appends and plain inserts, 16 writers");
    let (plain_16, appends_16) = alternate(
        options.appends,
        |n| plain(n, 16),
        |n| append_direct(&store, options.incidents, n, 16),
    )
    .await?;
    figures.plain_16 = plain_16;
    figures.appends_16 = appends_16;
    figures.commands_16 = append_notes(&store, options.incidents, options.appends, 16).await?;

    eprintln!("  append cost against stream length");
    let short = IncidentNumber(1);
    let long = IncidentNumber(2);
    grow_stream(&store, short, 10).await?;
    grow_stream(&store, long, 10_000).await?;
    // Interleave the two so that machine noise hits both alike.
    let mut short_total = 0.0;
    let mut long_total = 0.0;
    for _ in 0..5 {
        short_total += append_latency(&store, short, 40).await?;
        long_total += append_latency(&store, long, 40).await?;
    }
    figures.short_stream_us = short_total / 5.0;
    figures.long_stream_us = long_total / 5.0;

    let missing = options.list_size.saturating_sub(options.incidents);
    eprintln!("  filling up to {} incidents", options.list_size);
    figures.fill_rate = declare_many(&store, missing, 64).await?;
    let mut samples = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let rows = store
            .list_incidents(&ListQuery {
                limit: 50,
                before: None,
                ..ListQuery::default()
            })
            .await?;
        samples.push(started.elapsed());
        anyhow::ensure!(rows.len() == 50, "expected 50 rows, got {}", rows.len());
    }
    figures.list_p50_us = percentile(&mut samples, 0.5);
    figures.list_p99_us = percentile(&mut samples, 0.99);
    Ok(figures)
}

const PAYLOAD: &str =
    "{\"text\":\"benchmark note: replica lag back under one second, same size as an event\"}";

async fn bench_sqlite(options: &Options) -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqliteStore::open(&url).await?;
    let plain_url = url.clone();
    let plain = move |total: u64, writers: u64| {
        let url = plain_url.clone();
        async move {
            use sqlx::sqlite::{
                SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
            };
            use std::str::FromStr;
            // The same durability settings the store uses: WAL, synchronous=FULL.
            let options = SqliteConnectOptions::from_str(&url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30));
            let pool = SqlitePoolOptions::new()
                .max_connections(writers as u32)
                .connect_with(options)
                .await?;
            sqlx::query("CREATE TABLE IF NOT EXISTS bench_plain (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
                .execute(&pool)
                .await?;
            let rate = concurrently(writers, total, move |_| {
                let pool = pool.clone();
                async move {
                    sqlx::query("INSERT INTO bench_plain (payload) VALUES (?)")
                        .bind(PAYLOAD)
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            })
            .await?;
            Ok(rate)
        }
    };
    measure(store, options, plain).await
}

async fn bench_postgres(options: &Options, server: &str) -> Result<Option<Figures>> {
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
    let database = format!("hereby_bench_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await?;
    let url = hereby_store_postgres::with_database(server, &database);
    let result = async {
        let store = PgStore::open(&url).await?;
        let plain_url = url.clone();
        let plain = move |total: u64, writers: u64| {
            let url = plain_url.clone();
            async move {
                use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
                use std::str::FromStr;
                // The same durability the store uses: synchronous_commit = on.
                let options = PgConnectOptions::from_str(&url)?.options([("synchronous_commit", "on")]);
                let pool = PgPoolOptions::new()
                    .max_connections(writers as u32)
                    .connect_with(options)
                    .await?;
                sqlx::query("CREATE TABLE IF NOT EXISTS bench_plain (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)")
                    .execute(&pool)
                    .await?;
                let rate = concurrently(writers, total, move |_| {
                    let pool = pool.clone();
                    async move {
                        sqlx::query("INSERT INTO bench_plain (payload) VALUES ($1)").bind(PAYLOAD).execute(&pool).await?;
                        Ok(())
                    }
                })
                .await?;
                Ok(rate)
            }
        };
        measure(store, options, plain).await
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    result.map(Some)
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "bench-store: {cores} cores; {} incidents, {} appends, list over {}",
        options.incidents, options.appends, options.list_size
    );
    eprintln!("sqlite:");
    let sqlite = bench_sqlite(&options).await?;
    let postgres = match &options.postgres_url {
        Some(url) => {
            eprintln!("postgres:");
            bench_postgres(&options, url).await?
        }
        None => None,
    };
    let columns: Vec<(&str, &Figures)> = std::iter::once(("sqlite", &sqlite))
        .chain(postgres.as_ref().map(|f| ("postgres", f)))
        .collect();
    let row = |label: &str, value: &dyn Fn(&Figures) -> String| {
        let mut line = format!("{label:<52}");
        for (_, figures) in &columns {
            line.push_str(&format!("{:>16}", value(figures)));
        }
        println!("{line}");
    };
    println!();
    println!(
        "bench-store on {cores} cores ({} incidents; list over {})",
        options.incidents, options.list_size
    );
    let mut header = format!("{:<52}", "");
    for (name, _) in &columns {
        header.push_str(&format!("{name:>16}"));
    }
    println!("{header}");
    row("durable appends/s, 1 writer", &|f| {
        format!("{:.0}", f.appends_1)
    });
    row("plain durable inserts/s, 1 writer (physical limit)", &|f| {
        format!("{:.0}", f.plain_1)
    });
    row("ratio, 1 writer (goal >= 0.5)", &|f| {
        format!("{:.2}", f.appends_1 / f.plain_1)
    });
    row("durable appends/s, 16 writers", &|f| {
        format!("{:.0}", f.appends_16)
    });
    row(
        "plain durable inserts/s, 16 writers (physical limit)",
        &|f| format!("{:.0}", f.plain_16),
    );
    row("ratio, 16 writers (goal >= 0.5)", &|f| {
        format!("{:.2}", f.appends_16 / f.plain_16)
    });
    row("full commands/s (load, decide, append), 1 writer", &|f| {
        format!("{:.0}", f.commands_1)
    });
    row("full commands/s (load, decide, append), 16 writers", &|f| {
        format!("{:.0}", f.commands_16)
    });
    row("append latency, 10-event stream (us)", &|f| {
        format!("{:.0}", f.short_stream_us)
    });
    row("append latency, 10,000-event stream (us)", &|f| {
        format!("{:.0}", f.long_stream_us)
    });
    row("declares/s while filling (64 writers)", &|f| {
        format!("{:.0}", f.fill_rate)
    });
    row("list 50 newest, p50 (us)", &|f| {
        format!("{:.0}", f.list_p50_us)
    });
    row("list 50 newest, p99 (us)", &|f| {
        format!("{:.0}", f.list_p99_us)
    });
    Ok(())
}
