//! `cargo xtask bench-live`: live streams of a release build of the real server. Thousands of
//! Server-Sent Events watchers of one incident on one node (SQLite), with the time from a
//! note's commit to its delivery at the last watcher and the server's memory; the database
//! work per note with few and with many watchers (PostgreSQL's own transaction counter); and
//! two PostgreSQL nodes, a note written on one and watched on the other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use sqlx::Connection as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::bench_api::{Binary, Server, init, locate_binary, once, request};

/// How long a note may take to reach every watcher before it counts as missing.
const DELIVERY_LIMIT: Duration = Duration::from_secs(20);
/// Watchers connected at a time, so the listen queue never overflows.
const CONNECT_BATCH: usize = 250;
/// PostgreSQL publishes an idle backend's statistics within this long (PGSTAT_IDLE_INTERVAL
/// is 10 s): the transaction counts are read after waiting for it.
const STATS_FLUSH: Duration = Duration::from_secs(11);

/// What to measure, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Watchers of the one incident.
    pub(crate) watchers: usize,
    /// Notes written while they watch.
    pub(crate) notes: usize,
    /// Pause between notes.
    pub(crate) interval: Duration,
    pub(crate) postgres_url: Option<String>,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            watchers: 10_000,
            notes: 50,
            interval: Duration::from_millis(100),
            postgres_url: std::env::var("HEREBY_BENCH_POSTGRES_URL")
                .or_else(|_| std::env::var("HEREBY_TEST_POSTGRES_URL"))
                .ok()
                .or_else(|| Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned())),
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--watchers" => options.watchers = value()?.parse()?,
                "--notes" => options.notes = value()?.parse()?,
                "--interval-ms" => options.interval = Duration::from_millis(value()?.parse()?),
                "--postgres-url" => options.postgres_url = Some(value()?.clone()),
                "--no-postgres" => options.postgres_url = None,
                "--binary" => options.binary = Binary::Given(PathBuf::from(value()?)),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --watchers N --notes N --interval-ms N --postgres-url URL --no-postgres --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (1..=15_000).contains(&options.watchers),
            "--watchers must be 1 to 15000 (each is a socket on both sides)"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&options.notes),
            "--notes must be 1 to 10000"
        );
        Ok(options)
    }
}

/// Positions seen, each with how many watchers have it and when the last of them got it.
type Arrivals = Arc<Mutex<HashMap<i64, (usize, Instant)>>>;

/// Opens `count` streams of `path` on `address` and records every event id they receive.
async fn watch(
    address: SocketAddr,
    path: &str,
    token: &str,
    count: usize,
    arrivals: Arrivals,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::with_capacity(count);
    let mut opened = 0;
    while opened < count {
        let batch = CONNECT_BATCH.min(count - opened);
        let mut connecting = Vec::with_capacity(batch);
        for _ in 0..batch {
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            );
            connecting.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(address).await?;
                stream.write_all(request.as_bytes()).await?;
                let mut reader = BufReader::new(stream);
                let mut status = String::new();
                reader.read_line(&mut status).await?;
                anyhow::ensure!(status.starts_with("HTTP/1.1 200"), "{status}");
                Ok::<_, anyhow::Error>(reader)
            }));
        }
        for connecting in connecting {
            let mut reader = connecting.await??;
            let arrivals = arrivals.clone();
            tasks.push(tokio::spawn(async move {
                let mut line = String::new();
                loop {
                    line.clear();
                    match reader.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if let Some(id) = line.strip_prefix("id:")
                        && let Ok(position) = id.trim().parse::<i64>()
                    {
                        let now = Instant::now();
                        if let Ok(mut arrivals) = arrivals.lock() {
                            let entry = arrivals.entry(position).or_insert((0, now));
                            entry.0 += 1;
                            entry.1 = now;
                        }
                    }
                }
            }));
        }
        opened += batch;
    }
    Ok(tasks)
}

/// Writes `notes` notes on INC-1 through `address`, one every `interval`; returns each
/// note's position and the instant its request was sent.
async fn write_notes(
    address: SocketAddr,
    token: &str,
    notes: usize,
    interval: Duration,
) -> Result<Vec<(i64, Instant)>> {
    let mut written = Vec::with_capacity(notes);
    for n in 0..notes {
        let body = serde_json::json!({ "text": format!("live note {n}") }).to_string();
        let bytes = request(
            "POST",
            "/api/v1/incidents/INC-1/notes",
            address,
            token,
            Some(&body),
        );
        let sent = Instant::now();
        let answer: serde_json::Value = serde_json::from_str(&once(address, &bytes).await?)?;
        let position = answer["entries"][0]["position"]
            .as_i64()
            .context("the write answered no entry position")?;
        written.push((position, sent));
        tokio::time::sleep(interval).await;
    }
    Ok(written)
}

/// Waits until every note reached `watchers` watchers (or the limit), then returns each
/// note's time from its request to the last watcher's receipt, and how many notes were
/// missing somewhere.
async fn deliveries(
    written: &[(i64, Instant)],
    arrivals: &Arrivals,
    watchers: usize,
) -> (Vec<Duration>, usize) {
    let deadline = Instant::now() + DELIVERY_LIMIT;
    loop {
        let complete = arrivals.lock().is_ok_and(|arrivals| {
            written.iter().all(|(position, _)| {
                arrivals
                    .get(position)
                    .is_some_and(|(count, _)| *count >= watchers)
            })
        });
        if complete || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrivals = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies = Vec::new();
    let mut missing = 0;
    for (position, sent) in written {
        match arrivals.get(position) {
            Some((count, last)) if *count >= watchers => latencies.push(*last - *sent),
            _ => missing += 1,
        }
    }
    latencies.sort();
    (latencies, missing)
}

/// The quantile `p` of sorted latencies, in milliseconds.
fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    crate::bench_fanout::quantile(sorted, p).as_secs_f64() * 1_000.0
}

/// A server's resident and peak resident memory in MiB.
fn memory_mib(server: &Server) -> Result<(f64, f64)> {
    let (rss, peak) = server.memory_kib()?;
    Ok((rss as f64 / 1_024.0, peak as f64 / 1_024.0))
}

/// One server, `watchers` watchers of INC-1, `notes` notes: the delivery latencies, the
/// notes missing, the server's memory while they watch.
struct Round {
    /// Database transactions while the notes were written and delivered (PostgreSQL only).
    transactions: Option<i64>,
    latencies: Vec<Duration>,
    missing: usize,
    rss_mib: f64,
    peak_mib: f64,
}

async fn round(
    address: SocketAddr,
    server: &Server,
    token: &str,
    watchers: usize,
    options: &Options,
    mut database: Option<(&mut sqlx::PgConnection, &str)>,
) -> Result<Round> {
    let arrivals: Arrivals = Arc::default();
    let tasks = watch(
        address,
        "/api/v1/incidents/INC-1/events",
        token,
        watchers,
        arrivals.clone(),
    )
    .await?;
    // Counted only while notes are written and delivered, not while the watchers connect
    // (each connection authenticates and loads the incident once).
    let before = match database.as_mut() {
        Some((admin, name)) => {
            tokio::time::sleep(STATS_FLUSH).await;
            Some(transactions(admin, name).await?)
        }
        None => None,
    };
    let written = write_notes(address, token, options.notes, options.interval).await?;
    let (latencies, missing) = deliveries(&written, &arrivals, watchers).await;
    let transactions = match (database.as_mut(), before) {
        (Some((admin, name)), Some(before)) => {
            tokio::time::sleep(STATS_FLUSH).await;
            Some(transactions(admin, name).await? - before)
        }
        _ => None,
    };
    let (rss_mib, peak_mib) = memory_mib(server)?;
    for task in tasks {
        task.abort();
    }
    Ok(Round {
        transactions,
        latencies,
        missing,
        rss_mib,
        peak_mib,
    })
}

async fn declare(address: SocketAddr, token: &str) -> Result<()> {
    let body = serde_json::json!({ "title": "Watched by many" }).to_string();
    once(
        address,
        &request("POST", "/api/v1/incidents", address, token, Some(&body)),
    )
    .await?;
    Ok(())
}

/// The database's committed and rolled-back transactions so far.
async fn transactions(admin: &mut sqlx::PgConnection, database: &str) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_one(admin)
    .await?;
    Ok(count)
}

fn print_round(label: &str, round: &Round) {
    println!(
        "{label:<44} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  missing {}  RSS {:.0} MiB (peak {:.0})",
        quantile_ms(&round.latencies, 0.50),
        quantile_ms(&round.latencies, 0.99),
        round
            .latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0),
        round.missing,
        round.rss_mib,
        round.peak_mib,
    );
}

async fn postgres(binary: &std::path::Path, server_url: &str, options: &Options) -> Result<()> {
    let mut admin = match sqlx::postgres::PgConnection::connect(server_url).await {
        Ok(admin) => admin,
        Err(error) => {
            println!(
                "PostgreSQL part skipped: cannot connect to {}: {error}",
                hereby_store::redact_url(server_url)
            );
            return Ok(());
        }
    };
    let database = format!("hereby_live_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await?;
    let url = hereby_store_postgres::with_database(server_url, &database);
    let result = async {
        let scratch = tempfile::tempdir()?;
        let token = init(binary, &url, scratch.path())?;
        let (mut first, first_address) = Server::start(binary, &url, None)?;
        declare(first_address, &token).await?;
        // Database transactions per note with few and with many watchers on one node.
        let mut per_note = Vec::new();
        for watchers in [10, options.watchers] {
            let measured = round(
                first_address,
                &first,
                &token,
                watchers,
                options,
                Some((&mut admin, &database)),
            )
            .await?;
            print_round(&format!("postgres, one node, {watchers} watchers"), &measured);
            let transactions = measured.transactions.unwrap_or_default();
            per_note.push((watchers, transactions as f64 / options.notes as f64));
        }
        for (watchers, transactions) in &per_note {
            println!(
                "postgres, database transactions per note, {watchers:>5} watchers: {transactions:.1}"
            );
        }
        // Two nodes: written on the first, watched on the second.
        let (mut second, second_address) = Server::start(binary, &url, None)?;
        let arrivals: Arrivals = Arc::default();
        let watchers = 100.min(options.watchers);
        let tasks = watch(
            second_address,
            "/api/v1/incidents/INC-1/events",
            &token,
            watchers,
            arrivals.clone(),
        )
        .await?;
        let written = write_notes(first_address, &token, options.notes, options.interval).await?;
        let (latencies, missing) = deliveries(&written, &arrivals, watchers).await;
        for task in tasks {
            task.abort();
        }
        let (rss, peak) = memory_mib(&second)?;
        print_round(
            &format!("postgres, node 1 -> node 2, {watchers} watchers"),
            &Round {
                transactions: None,
                latencies,
                missing,
                rss_mib: rss,
                peak_mib: peak,
            },
        );
        second.stop().await?;
        first.stop().await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    result
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    println!(
        "bench-live on {} cores (release server; {} notes, one every {} ms; commit -> delivery is measured from sending the write to the last watcher's receipt)",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.notes,
        options.interval.as_millis()
    );
    let scratch = tempfile::tempdir()?;
    let url = format!("sqlite://{}", scratch.path().join("live.db").display());
    let token = init(&binary, &url, scratch.path())?;
    let (mut server, address) = Server::start(&binary, &url, None)?;
    declare(address, &token).await?;
    let result = async {
        for watchers in [10, options.watchers] {
            let measured = round(address, &server, &token, watchers, &options, None).await?;
            print_round(&format!("sqlite, one node, {watchers} watchers"), &measured);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let stopped = server.stop().await;
    result.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?;
    stopped?;
    if let Some(postgres_url) = &options.postgres_url {
        postgres(&binary, postgres_url, &options).await?;
    }
    Ok(())
}
