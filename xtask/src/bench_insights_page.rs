//! `cargo xtask bench-insights-page`: what the insights page costs over a long history. A
//! scratch SQLite database (and PostgreSQL when one answers) gets N incidents spread over two
//! years, each with a real event stream written through the store (declared, worked on by
//! two people, mitigated and resolved: 20 events in 5 writes), services in the catalogue with
//! unavailability allowances; then the application's insights for the last 90 days run many
//! times for an admin and for a non-member, as the page asks for them.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use hereby_app::App;
use hereby_app::insights::Period;
use hereby_core::Event;
use hereby_core::event::{IncidentDeclared, NoteAdded, StatusChanged};
use hereby_core::types::{
    InstallationRole, ServiceName, Severity, Status, Text, Title, UserName, Visibility,
};
use hereby_store::{AdminSetting, Communications, NewEvents, Store, User};
use hereby_store_postgres::PgStore;
use hereby_store_sqlite::SqliteStore;
use jiff::{SignedDuration, Timestamp};
use sqlx::Connection;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) incidents: u64,
    pub(crate) repeats: u32,
    pub(crate) postgres_url: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            incidents: 100_000,
            repeats: 10,
            postgres_url: std::env::var("HEREBY_BENCH_POSTGRES_URL")
                .or_else(|_| std::env::var("HEREBY_TEST_POSTGRES_URL"))
                .ok()
                .or_else(|| Some("postgres://postgres@127.0.0.1:5432/postgres".to_owned())),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--incidents" => options.incidents = value()?.parse()?,
                "--repeats" => options.repeats = value()?.parse()?,
                "--postgres-url" => options.postgres_url = Some(value()?.clone()),
                "--no-postgres" => options.postgres_url = None,
                other => anyhow::bail!(
                    "unknown option {other}; options: --incidents N --repeats N --postgres-url URL --no-postgres"
                ),
            }
        }
        anyhow::ensure!(options.incidents >= 100, "--incidents must be at least 100");
        anyhow::ensure!(options.repeats >= 1, "--repeats must be at least 1");
        Ok(options)
    }
}

const SERVICES: [&str; 5] = ["checkout", "search", "login", "billing", "api"];
const WRITERS: u64 = 16;
/// The history's span.
const SPAN: SignedDuration = SignedDuration::from_hours(2 * 365 * 24);

fn user(name: &str) -> Result<UserName> {
    Ok(UserName::parse(name)?)
}

/// When incident `n` of `count` was declared: evenly over the two years before `end`.
fn declared_at(end: Timestamp, n: u64, count: u64) -> Result<Timestamp> {
    let step = SPAN.as_secs() / count as i64;
    Ok(end.checked_sub(SignedDuration::from_secs(step * (count - n) as i64 + 3_600))?)
}

/// Declares incident `n` at its time, as one of two people.
async fn declare_incident<S: Store>(store: &S, n: u64, count: u64, end: Timestamp) -> Result<()> {
    let at = declared_at(end, n, count)?;
    let severity = Severity::ALL[(n % 4) as usize];
    let service = SERVICES[(n % SERVICES.len() as u64) as usize];
    let (first, _) = people(n)?;
    store
        .declare(NewEvents::new(
            first.clone(),
            at,
            vec![Event::IncidentDeclared(IncidentDeclared {
                title: Title::parse(&format!("{service} degraded, case {n}"))?,
                summary: None,
                public_summary: None,
                severity,
                potential: false,
                services: vec![ServiceName::parse(service)?],
                // One in a hundred restricted: the non-member sees the others.
                visibility: if n.is_multiple_of(100) {
                    Visibility::Restricted
                } else {
                    Visibility::Internal
                },
                commander: first,
                triage: false,
            })],
        ))
        .await?;
    Ok(())
}

/// The two people who work on incident `n`.
fn people(n: u64) -> Result<(UserName, UserName)> {
    Ok((
        user(&format!("person{}", n % 40))?,
        user(&format!("person{}", (n * 7 + 3) % 40))?,
    ))
}

/// Writes the rest of incident `n`: four writes by its two people.
async fn work_on_incident<S: Store>(store: &S, n: u64, count: u64, end: Timestamp) -> Result<()> {
    let at = declared_at(end, n, count)?;
    let (first, second) = people(n)?;
    let notes = |count: usize, from: usize| -> Result<Vec<Event>> {
        (from..from + count)
            .map(|k| {
                Ok(Event::NoteAdded(NoteAdded {
                    text: Text::parse(&format!("finding {k}: the pool is saturated again"))?,
                }))
            })
            .collect()
    };
    let status = |from: Status, to: Status| {
        Event::StatusChanged(StatusChanged {
            from,
            to,
            reason: None,
            overridden_follow_ups: vec![],
            overrode_postmortem: false,
        })
    };
    let mitigated = 20 + (n % 70) as i64;
    let writes = [
        (5, &first, notes(5, 0)?),
        (12, &second, notes(5, 5)?),
        (
            mitigated,
            &first,
            [
                vec![status(Status::Investigating, Status::Monitoring)],
                notes(3, 10)?,
            ]
            .concat(),
        ),
        (
            mitigated + 25,
            &second,
            [
                vec![status(Status::Monitoring, Status::Resolved)],
                notes(2, 13)?,
            ]
            .concat(),
        ),
    ];
    let incident = hereby_core::types::IncidentNumber(n);
    let mut version = store.load(incident).await?.version;
    for (minutes, actor, events) in writes {
        let when = at.checked_add(SignedDuration::from_mins(minutes))?;
        version = store
            .append(
                incident,
                version,
                NewEvents::new(actor.clone(), when, events),
            )
            .await?
            .version;
    }
    Ok(())
}

/// Writes the history with [`WRITERS`] tasks; how long it took.
async fn seed<S: Store + Communications>(store: &S, count: u64, end: Timestamp) -> Result<f64> {
    let started = Instant::now();
    for (n, service) in SERVICES.iter().enumerate() {
        let allowance = if n < 3 { Some("4h") } else { None };
        store
            .put_setting(&AdminSetting {
                kind: "service".to_owned(),
                name: (*service).to_owned(),
                value: serde_json::json!({
                    "owner_team": format!("team{}", n % 3),
                    "criticality": "high",
                    "max_unavailability": allowance,
                    "public": false,
                    "depends_on": [],
                    "incident_definition": null,
                    "description": null,
                })
                .to_string(),
                updated_at: Timestamp::now(),
                updated_by: user("bench")?,
            })
            .await?;
    }
    // Declared one after the other: incident numbers follow time, as they do in a real
    // history. The work on them is written concurrently.
    for n in 1..=count {
        declare_incident(store, n, count, end).await?;
        if n.is_multiple_of(20_000) {
            eprintln!("  {n} incidents declared");
        }
    }
    let mut next = 1;
    while next <= count {
        let batch: Vec<u64> = (next..(next + WRITERS * 25).min(count + 1)).collect();
        next += batch.len() as u64;
        let mut tasks = Vec::new();
        for n in batch {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                work_on_incident(&store, n, count, end).await
            }));
        }
        for task in tasks {
            task.await??;
        }
        if next % 10_000 < WRITERS * 25 {
            eprintln!("  {} incidents worked on", next - 1);
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1_000.0
}

struct Figures {
    seeded_s: f64,
    incidents_in_period: usize,
    /// (viewer, p50 ms, p99 ms)
    rows: Vec<(&'static str, f64, f64)>,
}

async fn measure<S: Store + Communications>(
    store: S,
    options: &Options,
    seeded_s: f64,
    end: Timestamp,
) -> Result<Figures> {
    let app = App::new(store, hereby_core::Policy::default());
    let period = Period {
        since: end.checked_sub(SignedDuration::from_hours(90 * 24))?,
        until: end,
        service: None,
        team: None,
        severities: Vec::new(),
    };
    let mut rows = Vec::new();
    let mut incidents_in_period = 0;
    let viewer = |role| -> Result<User> {
        Ok(User {
            name: user("outsider")?,
            role,
            disabled: false,
            created_at: Timestamp::now(),
        })
    };
    let admin = viewer(InstallationRole::Admin)?;
    // The first read after a start: nothing is kept yet, every incident of the period is read
    // from the store.
    let started = Instant::now();
    let first = app.insights(&admin, &period).await?;
    let cold = started.elapsed().as_secs_f64() * 1_000.0;
    rows.push(("first read after a start (nothing kept)", cold, cold));
    incidents_in_period = incidents_in_period.max(
        first
            .report
            .incidents
            .get(&hereby_core::insights::Group::All)
            .copied()
            .unwrap_or_default(),
    );
    for (label, role) in [
        ("admin", InstallationRole::Admin),
        ("non-member", InstallationRole::Responder),
    ] {
        let viewer = viewer(role)?;
        let mut times = Vec::new();
        for _ in 0..options.repeats {
            let started = Instant::now();
            let insights = app.insights(&viewer, &period).await?;
            times.push(started.elapsed());
            incidents_in_period = incidents_in_period.max(
                insights
                    .report
                    .incidents
                    .get(&hereby_core::insights::Group::All)
                    .copied()
                    .unwrap_or_default(),
            );
        }
        times.sort();
        rows.push((label, percentile(&times, 50.0), percentile(&times, 99.0)));
    }
    // A working day's changes: 100 incidents of the period get a note each, then the page is
    // read again (those 100 are read from the store, the rest are kept).
    let newest = options.incidents;
    for n in (newest - 100 + 1)..=newest {
        let incident = hereby_core::types::IncidentNumber(n);
        let version = app.store.load(incident).await?.version;
        app.store
            .append(
                incident,
                version,
                NewEvents::new(
                    user("alice")?,
                    Timestamp::now(),
                    vec![Event::NoteAdded(NoteAdded {
                        text: Text::parse("one more finding")?,
                    })],
                ),
            )
            .await?;
    }
    let started = Instant::now();
    app.insights(&admin, &period).await?;
    let changed = started.elapsed().as_secs_f64() * 1_000.0;
    rows.push(("admin, after 100 incidents changed", changed, changed));
    Ok(Figures {
        seeded_s,
        incidents_in_period,
        rows,
    })
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "bench-insights-page: {cores} cores; {} incidents over two years, 20 events each; the 90-day page {}× per viewer",
        options.incidents, options.repeats
    );
    let end = Timestamp::now();
    eprintln!("sqlite:");
    let dir = tempfile::tempdir()?;
    let sqlite =
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("h.db").display())).await?;
    let seeded = seed(&sqlite, options.incidents, end).await?;
    let sqlite = measure(sqlite, &options, seeded, end).await?;
    let postgres = match &options.postgres_url {
        Some(url) => match sqlx::postgres::PgConnection::connect(url).await {
            Ok(mut admin) => {
                eprintln!("postgres:");
                let name = format!("hereby_bench_insights_page_{}", std::process::id());
                crate::bench_insights::scratch_database(&mut admin, &name).await?;
                let store =
                    PgStore::open(&hereby_store_postgres::with_database(url, &name)).await?;
                let seeded = seed(&store, options.incidents, end).await?;
                // What autovacuum does shortly after a bulk load on a real server: without
                // it the planner still believes the statuses of the load's first minutes.
                let mut connection = sqlx::postgres::PgConnection::connect(
                    &hereby_store_postgres::with_database(url, &name),
                )
                .await?;
                sqlx::raw_sql("ANALYZE").execute(&mut connection).await?;
                let figures = measure(store, &options, seeded, end).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                Some(figures)
            }
            Err(error) => {
                eprintln!(
                    "PostgreSQL skipped: cannot connect to {}: {error}",
                    hereby_store::redact_url(url)
                );
                None
            }
        },
        None => None,
    };
    println!(
        "The insights page for the last 90 days over {} incidents (two years, 20 events each; {} incidents in the period; in ms: one read for the first and the last row, p50 / p99 over {} runs for the others):",
        options.incidents, sqlite.incidents_in_period, options.repeats
    );
    println!();
    println!("| viewer | SQLite p50 | SQLite p99 | PostgreSQL p50 | PostgreSQL p99 |");
    println!("|---|---|---|---|---|");
    for (n, (label, p50, p99)) in sqlite.rows.iter().enumerate() {
        let pg = postgres.as_ref().map(|pg| pg.rows[n]);
        println!(
            "| {label} | {p50:.0} | {p99:.0} | {} | {} |",
            pg.map_or("—".to_owned(), |row| format!("{:.0}", row.1)),
            pg.map_or("—".to_owned(), |row| format!("{:.0}", row.2)),
        );
    }
    println!();
    println!(
        "Seeding through the store (5 writes per incident, {WRITERS} writers): SQLite {:.0} s{}",
        sqlite.seeded_s,
        postgres.as_ref().map_or(String::new(), |pg| format!(
            ", PostgreSQL {:.0} s",
            pg.seeded_s
        ))
    );
    Ok(())
}
