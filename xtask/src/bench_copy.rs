//! `cargo xtask bench-copy`: `hereby db copy` of a SQLite database with a long event log to
//! PostgreSQL and back, run as the release binary an operator would run: the time each
//! direction takes, checks and verification included.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use hereby_core::event::NoteAdded;
use hereby_core::types::{IncidentNumber, Severity, Text, Title, UserName, Visibility};
use hereby_core::{Event, Policy};
use hereby_store::{NewEvents, Store, declare};
use hereby_store_sqlite::SqliteStore;
use jiff::Timestamp;
use sqlx::Connection;

use crate::bench_api::{Binary, locate_binary};

/// Events per incident: long enough streams that the chains are worth verifying, short
/// enough that a copy has many incidents.
const PER_INCIDENT: u64 = 100;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Events in the database to copy.
    pub(crate) events: u64,
    pub(crate) binary: Binary,
    /// PostgreSQL server to create a scratch database on; `None` copies SQLite to SQLite.
    pub(crate) postgres_url: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            events: 50_000,
            binary: Binary::Build,
            postgres_url: std::env::var("HEREBY_BENCH_POSTGRES_URL")
                .or_else(|_| std::env::var("HEREBY_TEST_POSTGRES_URL"))
                .ok()
                .or_else(|| Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned())),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--events" => options.events = value()?.parse()?,
                "--postgres-url" => options.postgres_url = Some(value()?.clone()),
                "--no-postgres" => options.postgres_url = None,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --events N --postgres-url URL --no-postgres --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (PER_INCIDENT..=10_000_000).contains(&options.events),
            "--events must be {PER_INCIDENT} to 10000000"
        );
        Ok(options)
    }
}

fn note(n: u64) -> Result<Event> {
    Ok(Event::NoteAdded(NoteAdded {
        text: Text::parse(&format!(
            "note {n}: error rate back under 0.1% after draining the second region"
        ))?,
    }))
}

/// Fills `url` with about `events` events: incidents of [`PER_INCIDENT`] events each,
/// appended a stream at a time. Returns the events written.
async fn fill(url: &str, events: u64) -> Result<u64> {
    let store = SqliteStore::open(url).await?;
    let actor = UserName::parse("bench")?;
    let mut n = 0;
    while store.last_position().await? < i64::try_from(events)? {
        let declared = declare(
            &store,
            hereby_core::Command::Declare {
                title: Title::parse(&format!("Copy benchmark incident {n}"))?,
                summary: None,
                public_summary: None,
                severity: Severity::Sev3,
                potential: false,
                services: vec![],
                visibility: Visibility::Internal,
                triage: false,
            },
            &actor,
            Timestamp::now(),
            &Policy::default(),
        )
        .await?;
        let incident: IncidentNumber = declared.incident;
        let version = store.head(incident).await?.version;
        let left = u64::try_from(i64::try_from(events)? - store.last_position().await?)?;
        let notes = (PER_INCIDENT - version).min(left);
        if notes > 0 {
            let batch = (0..notes)
                .map(|i| note(n + i))
                .collect::<Result<Vec<_>>>()?;
            store
                .append(
                    incident,
                    version,
                    NewEvents::new(actor.clone(), Timestamp::now(), batch),
                )
                .await?;
        }
        n += 1;
    }
    Ok(u64::try_from(store.last_position().await?)?)
}

/// Runs `hereby db copy` and returns how long it took, failing unless it succeeded.
fn timed_copy(binary: &Path, from: &str, to: &str) -> Result<Duration> {
    let started = Instant::now();
    let output = Command::new(binary)
        .args(["db", "copy", "--from", from, "--to", to])
        .env_remove("HEREBY_DATABASE_URL")
        .output()?;
    let took = started.elapsed();
    anyhow::ensure!(
        output.status.success(),
        "hereby db copy --from {from} --to {to} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(took)
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let source = format!("sqlite://{}", scratch.path().join("source.db").display());
    let back = format!("sqlite://{}", scratch.path().join("back.db").display());
    eprintln!(
        "bench-copy: filling {source} with {} events",
        options.events
    );
    let filled = Instant::now();
    let events = fill(&source, options.events).await?;
    eprintln!("filled in {:.1} s", filled.elapsed().as_secs_f64());
    let size = std::fs::metadata(scratch.path().join("source.db"))?.len();

    let mut lines = Vec::new();
    match &options.postgres_url {
        Some(server) => {
            let mut admin = sqlx::postgres::PgConnection::connect(server)
                .await
                .with_context(|| {
                    format!(
                        "cannot connect to {} (or pass --no-postgres)",
                        hereby_store::redact_url(server)
                    )
                })?;
            let database = format!("hereby_bench_copy_{}", std::process::id());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                .execute(&mut admin)
                .await?;
            let postgres = hereby_store_postgres::with_database(server, &database);
            let result = (|| {
                let there = timed_copy(&binary, &source, &postgres)?;
                let back_again = timed_copy(&binary, &postgres, &back)?;
                Ok::<_, anyhow::Error>((there, back_again))
            })();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            let (there, back_again) = result?;
            lines.push(("SQLite -> PostgreSQL", there));
            lines.push(("PostgreSQL -> SQLite", back_again));
        }
        None => lines.push(("SQLite -> SQLite", timed_copy(&binary, &source, &back)?)),
    }

    println!(
        "bench-copy on {} cores: {events} events in {} incidents ({:.1} MB of SQLite), release binary, copy + verification",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        events.div_ceil(PER_INCIDENT),
        size as f64 / 1e6
    );
    for (direction, took) in lines {
        println!(
            "{direction:<22} {:>6.1} s  ({:.0} events/s)",
            took.as_secs_f64(),
            events as f64 / took.as_secs_f64()
        );
    }
    Ok(())
}
