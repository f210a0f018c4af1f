//! Project chores written in Rust rather than shell: `cargo xtask <task>`.

mod bench_alerts;
mod bench_api;
mod bench_chat;
mod bench_copy;
mod bench_fanout;
mod bench_insights;
mod bench_insights_page;
mod bench_live;
mod bench_postmortem;
mod bench_status;
mod bench_store;
mod bench_subscribers;
#[cfg(test)]
mod tidy;

use anyhow::Result;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  bench-store [--appends N] [--incidents N] [--list-size N] [--postgres-url URL | --no-postgres]
      Durable append throughput of the event store next to plain durable inserts (the
      physical limit), append cost against stream length, and listing the 50 newest of
      100,000 incidents; SQLite and PostgreSQL side by side. PostgreSQL comes from
      HEREBY_BENCH_POSTGRES_URL, HEREBY_TEST_POSTGRES_URL or 127.0.0.1:5432 and is skipped
      with a message when unreachable.
  bench-api [--notes N] [--reads N] [--lists N] [--clients N] [--binary PATH | --no-build] [--server-log FILTER]
      The HTTP API of a release build of the server (built first with `cargo build --release
      -p hereby` unless --no-build or --binary) on a scratch SQLite database, over loopback with
      keep-alive clients (default 32): appending notes to 100 incidents next to the store's own
      append rate from the same run, reading one incident's state document, and listing
      incidents; requests/s, p50 and p99 latency, and the server's RSS afterwards. Any non-2xx
      answer fails the task. --server-log sets the server's RUST_LOG (default: its own).
  bench-alerts [--events N] [--senders N] [--binary PATH | --no-build]
      An alert storm against a release build of the server on a scratch SQLite database:
      N events (default 100,000) over 50 groups as Alertmanager batches of 100, then as single
      PagerDuty events, from 32 senders; accepted events/s, answer p50/p99, groups and
      incidents afterwards, every event counted back, the server's RSS, beside the store's own
      durable append rate from the same run.
  bench-chat [--incidents N] [--messages N] [--edits N] [--binary PATH | --no-build]
      Chat against a real Synapse (from HEREBY_SYNAPSE_VENV, default /tmp/synapse-venv) and a
      release server on SQLite: N incidents declared at once (default 100), each getting a
      room (time, the adapter's Matrix requests, the server's RSS); a chat message -> its
      timeline entry (goal p99 < 1 s); a severity change -> the pinned state message edited
      (goal p99 < 2 s).
  bench-status [--connections N] [--seconds N] [--rounds N] [--binary PATH | --no-build] [--server-log FILTER]
      The public status page under a refresh storm: /api/v2/summary.json and /status of a
      release server (30 public incidents with updates, 10 components) next to nginx serving
      the same bytes as static files, both driven by wrk with 256 connections (default),
      alternating rounds; prints requests/s, latency and the ratio to nginx (goal >= 0.8).
      Needs Debian's nginx and wrk.
  bench-fanout [--subscribers N] [--changes N] [--binary PATH | --no-build]
      Notification fan-out of the release server on SQLite: N webhook subscribers (default
      100, one channel each) on a loopback receiver; the time from the API call changing an
      incident's status to each subscriber's receipt, p50/p99/max, against the 1 s p99 goal.
  bench-subscribers [--emails N] [--webhooks N] [--seconds N] [--binary PATH | --no-build]
      One public update fanned out to the status page's subscribers (10,000 e-mail to an
      SMTP sink and 1,000 webhooks on loopback): time to the last delivery, server memory,
      and the page's rate during the fan-out beside nginx (needs nginx and wrk).
  bench-live [--watchers N] [--notes N] [--interval-ms N] [--postgres-url URL | --no-postgres] [--binary PATH | --no-build]
      Live streams of a release server: N Server-Sent Events watchers (default 10,000) of one
      incident on one SQLite node, then on PostgreSQL, while notes are written (default 50, one
      every 100 ms): commit -> delivery at the last watcher (p50/p99/max, goal p99 < 100 ms)
      and the server's RSS, against 10 watchers; database transactions per note with 10 and
      with N watchers (PostgreSQL's pg_stat_database; must not grow with watchers); and a note
      written on one PostgreSQL node and watched on a second (goal p99 < 100 ms).
  bench-postmortem [--entries N] [--rounds N] [--binary PATH | --no-build]
      Post-mortems of an incident with a long timeline (default 10,000 entries) on a release
      server with SQLite: drafting it from the timeline, writing the timeline section again,
      exporting Markdown and PDF, and linting, each as a whole HTTP request; against the goals
      of < 200 ms for the Markdown and < 2 s for the PDF.
  bench-copy [--events N] [--postgres-url URL | --no-postgres] [--binary PATH | --no-build]
      `hereby db copy` of a release build: a SQLite database of N events (default 50,000, in
      incidents of 100) copied to a scratch PostgreSQL database and back, each direction timed
      from start to exit (checks, copy, verification of every chain). PostgreSQL comes from
      HEREBY_BENCH_POSTGRES_URL, HEREBY_TEST_POSTGRES_URL or 127.0.0.1:5432; --no-postgres
      copies SQLite to SQLite.
  bench-insights [--incidents N] [--entries N] [--repeats N] [--appends N] [--postgres-url URL | --no-postgres] [--no-sqlite] [--keep | --seeded NAME]
      Search over a large history (default 100,000 incidents and 2,000,000 timeline texts,
      1 % restricted) on SQLite and PostgreSQL side by side: p50/p99 of each kind of query
      (common, middling and rare words, phrases, prefixes, substrings, filters, INC-n) for a
      non-member and an admin, after each ran four times at once untimed (goal p99 < 50 ms), and the
      store's append rate (16 writers, --appends notes, default 20,000: a sustained burst of
      about three seconds, through which the indexer works) with the search indexer running
      beside the appends and without it, in nine pairs of runs one right after the other; the
      median pair's ratio (goal: within 10 %) and the longest index batch. --keep leaves
      PostgreSQL's seeded search database in place (its name is printed) to study plans;
      --seeded NAME searches such a database again without seeding it; --no-sqlite skips
      SQLite; --appends 0 skips the append rates.
  bench-insights-page [--incidents N] [--repeats N] [--postgres-url URL | --no-postgres]
      The insights page's figures for the last 90 days over N incidents (default 100,000,
      spread over two years, each a real stream of 20 events written through the store; 1 %
      restricted), for an admin and a non-member, on SQLite and PostgreSQL (goal < 200 ms).";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("bench-store") => {
            let options = bench_store::Options::parse(&args[1..])?;
            runtime.block_on(bench_store::run(options))
        }
        Some("bench-api") => {
            let options = bench_api::Options::parse(&args[1..])?;
            runtime.block_on(bench_api::run(options))
        }
        Some("bench-chat") => {
            let options = bench_chat::Options::parse(&args[1..])?;
            runtime.block_on(bench_chat::run(options))
        }
        Some("bench-alerts") => {
            let options = bench_alerts::Options::parse(&args[1..])?;
            runtime.block_on(bench_alerts::run(options))
        }
        Some("bench-status") => {
            let options = bench_status::Options::parse(&args[1..])?;
            runtime.block_on(bench_status::run(options))
        }
        Some("bench-fanout") => {
            let options = bench_fanout::Options::parse(&args[1..])?;
            runtime.block_on(bench_fanout::run(options))
        }
        Some("bench-subscribers") => {
            let options = bench_subscribers::Options::parse(&args[1..])?;
            runtime.block_on(bench_subscribers::run(options))
        }
        Some("bench-live") => {
            let options = bench_live::Options::parse(&args[1..])?;
            runtime.block_on(bench_live::run(options))
        }
        Some("bench-postmortem") => {
            let options = bench_postmortem::Options::parse(&args[1..])?;
            runtime.block_on(bench_postmortem::run(options))
        }
        Some("bench-insights") => {
            let options = bench_insights::Options::parse(&args[1..])?;
            runtime.block_on(bench_insights::run(options))
        }
        Some("bench-insights-page") => {
            let options = bench_insights_page::Options::parse(&args[1..])?;
            runtime.block_on(bench_insights_page::run(options))
        }
        Some("bench-copy") => {
            let options = bench_copy::Options::parse(&args[1..])?;
            runtime.block_on(bench_copy::run(options))
        }
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}
