//! `cargo xtask bench-alerts`: an alert storm against a release build of the server on
//! SQLite. 100,000 events over 50 groups, first as Alertmanager webhook batches of 100 alerts,
//! then as single PagerDuty events, each from 32 concurrent senders: once as fast as the
//! answers come (accepted events per second, every one durable before its answer, and how
//! fast the queue behind them is grouped), once offered at the goal rate (the p99 of the
//! answers, counted from when each request was due). Then the groups and incidents, every
//! event counted back, and the server's memory, beside the store's own append rate measured
//! in the same run. Goals: ≥ 10,000 events/s batched and ≥ 5,000/s single, p99 < 50 ms,
//! exactly 50 groups, at most 50 incidents, none lost.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::bench_api::{
    Binary, MakeRequest, Outcome, Server, drive_paced, init, locate_binary, once, request,
};
use crate::bench_store;

/// How many groups the storm's alerts fall into.
const GROUPS: u64 = 50;
/// How many distinct alerts (fingerprints, dedup keys) it holds; the rest are duplicates.
const DISTINCT: u64 = 5_000;
/// Alerts per Alertmanager payload.
const BATCH: u64 = 100;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) events: u64,
    pub(crate) senders: u64,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            events: 100_000,
            senders: 32,
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--events" => options.events = value()?.parse()?,
                "--senders" => options.senders = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --events N --senders N --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (1_000..=1_000_000).contains(&options.events)
                && options.events.is_multiple_of(BATCH)
                && (1..=256).contains(&options.senders),
            "--events must be a multiple of {BATCH} from 1000 to 1000000, --senders 1 to 256"
        );
        Ok(options)
    }
}

/// The value of `"key":"…"` in a JSON text.
fn field(json: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get(key)?.as_str().map(str::to_owned)
}

/// A webhook payload of alerts `first..first + BATCH`, every one firing.
fn webhook(first: u64) -> String {
    let alerts: Vec<String> = (first..first + BATCH)
        .map(|n| {
            let group = n % GROUPS;
            let alert = n % DISTINCT;
            format!(
                r#"{{"status":"firing","labels":{{"alertname":"Storm{group}","service":"svc{group}","severity":"warning","instance":"i{alert}"}},"annotations":{{"summary":"Storm {group} on i{alert}"}},"startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"fp{alert}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"version":"4","groupKey":"{{}}","truncatedAlerts":0,"status":"firing","receiver":"hereby","groupLabels":{{}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"","alerts":[{}]}}"#,
        alerts.join(",")
    )
}

/// One PagerDuty trigger for alert `n`: the same 50 groups (by alertname and service), the
/// same 5,000 distinct alerts.
fn pagerduty(n: u64, routing_key: &str) -> String {
    let group = n % GROUPS;
    let alert = n % DISTINCT;
    format!(
        r#"{{"routing_key":"{routing_key}","event_action":"trigger","dedup_key":"pd{alert}","payload":{{"summary":"Storm {group} on i{alert}","source":"i{alert}","severity":"warning","custom_details":{{"alertname":"Storm{group}","service":"svc{group}"}}}}}}"#
    )
}

fn post(address: SocketAddr, path: &str, key: &str, body: &str) -> Vec<u8> {
    request("POST", path, address, key, Some(body))
}

/// The accepted rates the issue asks for: the batched phases offer this many events a second.
const BATCHED_GOAL: u64 = 10_000;
/// The single events' goal, and the rate the paced single phase offers.
const SINGLE_GOAL: u64 = 5_000;

/// One phase of the storm: every answer must be a 2xx.
async fn phase(
    address: SocketAddr,
    senders: u64,
    requests: u64,
    make: MakeRequest,
    per_second: Option<f64>,
) -> Result<Outcome> {
    let outcome = drive_paced(address, senders, requests, make, per_second).await?;
    anyhow::ensure!(
        outcome.errors == 0,
        "{} requests failed: {}",
        outcome.errors,
        outcome.failures.join("\n")
    );
    Ok(outcome)
}

/// Waits until no integration has events queued; the phase's events per second from its start
/// until then (what the server grouped, beside what it accepted).
async fn grouped(address: SocketAddr, token: &str, events: u64, phase: &Outcome) -> Result<f64> {
    let started = std::time::Instant::now();
    loop {
        let listed = once(
            address,
            &request("GET", "/api/v1/integrations", address, token, None),
        )
        .await?;
        let listed: Vec<serde_json::Value> = serde_json::from_str(&listed)?;
        let queued: u64 = listed
            .iter()
            .filter_map(|integration| integration["queued_events"].as_u64())
            .sum();
        if queued == 0 {
            return Ok(events as f64 / (phase.seconds + started.elapsed().as_secs_f64()));
        }
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(600),
            "{queued} events still queued after ten minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let url = format!("sqlite://{}", scratch.path().join("alerts.db").display());
    let token = init(&binary, &url, scratch.path())?;
    // The storm is the point: the per-integration limit and the bound on the queue are lifted
    // for it.
    let (mut server, address) = Server::start_with(
        &binary,
        &url,
        None,
        &[
            "--alert-events-per-minute",
            "4000000000",
            "--alert-queue-limit",
            "4000000000",
        ],
    )?;
    let measured = measure(&server, address, &token, &options).await;
    let stopped = server.stop().await;
    let report = measured.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?;
    println!("{report}");
    let status = stopped?;
    anyhow::ensure!(
        status.success(),
        "the server did not stop cleanly ({status})"
    );
    Ok(())
}

async fn measure(
    server: &Server,
    address: SocketAddr,
    token: &str,
    options: &Options,
) -> Result<String> {
    let integration = |name: &str, kind: &str| {
        request(
            "POST",
            "/api/v1/integrations",
            address,
            token,
            Some(&format!(r#"{{"name":"{name}","kind":"{kind}"}}"#)),
        )
    };
    let webhook_key = field(
        &once(address, &integration("storm-am", "alertmanager")).await?,
        "key",
    )
    .context("no key for the Alertmanager integration")?;
    let pd_key = field(
        &once(address, &integration("storm-pd", "pagerduty")).await?,
        "key",
    )
    .context("no key for the PagerDuty integration")?;
    let (rss_before, _) = server.memory_kib()?;

    let batches: MakeRequest = {
        let key: Arc<str> = Arc::from(webhook_key.as_str());
        Arc::new(move |n| post(address, "/ingest/alertmanager", &key, &webhook(n * BATCH)))
    };
    let singles: MakeRequest = {
        let key: Arc<str> = Arc::from(pd_key.as_str());
        // PagerDuty's routing key is in the body; the bearer header is ignored there.
        Arc::new(move |n| post(address, "/v2/enqueue", "-", &pagerduty(n, &key)))
    };
    let payloads = options.events / BATCH;
    eprintln!(
        "  (1) {} events as {payloads} Alertmanager payloads of {BATCH}, {} senders as fast as answered",
        options.events, options.senders
    );
    let mut batched = phase(address, options.senders, payloads, batches.clone(), None).await?;
    let batched_grouped = grouped(address, token, options.events, &batched).await?;
    let (rss_middle, _) = server.memory_kib()?;
    eprintln!(
        "  (2) the same, offered at the goal rate of {BATCHED_GOAL} events/s ({} payloads/s)",
        BATCHED_GOAL / BATCH
    );
    let mut batched_paced = phase(
        address,
        options.senders,
        payloads,
        batches,
        Some((BATCHED_GOAL / BATCH) as f64),
    )
    .await?;
    grouped(address, token, options.events, &batched_paced).await?;

    eprintln!(
        "  (3) {} single PagerDuty events, {} senders as fast as answered",
        options.events, options.senders
    );
    let mut single = phase(
        address,
        options.senders,
        options.events,
        singles.clone(),
        None,
    )
    .await?;
    let single_grouped = grouped(address, token, options.events, &single).await?;
    eprintln!("  (4) the same, offered at the goal rate of {SINGLE_GOAL} events/s");
    let mut single_paced = phase(
        address,
        options.senders,
        options.events,
        singles,
        Some(SINGLE_GOAL as f64),
    )
    .await?;
    grouped(address, token, options.events, &single_paced).await?;
    let (rss_after, peak) = server.memory_kib()?;

    eprintln!("  counting back; then the store's own appends on a scratch database");
    let groups = once(
        address,
        &request(
            "GET",
            "/api/v1/alert-groups?limit=500",
            address,
            token,
            None,
        ),
    )
    .await?;
    let groups: Vec<serde_json::Value> = serde_json::from_str(&groups)?;
    let events: u64 = groups.iter().filter_map(|g| g["events"].as_u64()).sum();
    let alerts: u64 = groups.iter().filter_map(|g| g["alerts"].as_u64()).sum();
    let incidents: std::collections::BTreeSet<&str> = groups
        .iter()
        .filter_map(|g| g["incident"].as_str())
        .collect();
    let (store_appends, _) = bench_store::sqlite_rates(100, 20_000, 16).await?;

    let batched_rate = options.events as f64 / batched.seconds;
    let single_rate = single.rate();
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    let mut out = format!(
        "bench-alerts on {} cores (release server on SQLite; {} events per phase over {GROUPS} groups and {DISTINCT} distinct alerts; {} senders)\n",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.events,
        options.senders
    );
    let mut line = |label: &str, value: String, goal: &str| {
        out.push_str(&format!("{label:<66} {value:>14}  {goal}\n"));
    };
    line(
        "(1) Alertmanager batches: events/s accepted (goal >= 10000)",
        format!("{batched_rate:.0}"),
        verdict(batched_rate >= BATCHED_GOAL as f64),
    );
    line(
        "(1)   answer p50 / p99 at that rate, ms (32 senders / rate)",
        format!(
            "{:.1} / {:.1}",
            batched.quantile_ms(0.5),
            batched.quantile_ms(0.99)
        ),
        "",
    );
    line(
        "(1)   events/s grouped (until the queue was empty)",
        format!("{batched_grouped:.0}"),
        "",
    );
    let p99 = batched_paced.quantile_ms(0.99);
    line(
        "(2) offered 10000 events/s: answer p50 / p99, ms (goal p99 < 50)",
        format!("{:.1} / {p99:.1}", batched_paced.quantile_ms(0.5)),
        verdict(p99 < 50.0),
    );
    line(
        "(2)   events/s accepted",
        format!("{:.0}", options.events as f64 / batched_paced.seconds),
        "",
    );
    line(
        "(3) PagerDuty single events/s accepted (goal >= 5000)",
        format!("{single_rate:.0}"),
        verdict(single_rate >= SINGLE_GOAL as f64),
    );
    line(
        "(3)   answer p50 / p99 at that rate, ms (32 senders / rate)",
        format!(
            "{:.1} / {:.1}",
            single.quantile_ms(0.5),
            single.quantile_ms(0.99)
        ),
        "",
    );
    line(
        "(3)   events/s grouped (until the queue was empty)",
        format!("{single_grouped:.0}"),
        "",
    );
    let p99 = single_paced.quantile_ms(0.99);
    line(
        "(4) offered 5000 events/s: answer p50 / p99, ms (goal p99 < 50)",
        format!("{:.1} / {p99:.1}", single_paced.quantile_ms(0.5)),
        verdict(p99 < 50.0),
    );
    line(
        "(4)   events/s accepted",
        format!("{:.0}", single_paced.rate()),
        "",
    );
    line(
        "store durable appends/s, 16 writers (same run)",
        format!("{store_appends:.0}"),
        "",
    );
    line(
        "groups afterwards (goal exactly 50)",
        groups.len().to_string(),
        verdict(groups.len() as u64 == GROUPS),
    );
    line(
        "incidents opened (goal at most 50)",
        incidents.len().to_string(),
        verdict(incidents.len() as u64 <= GROUPS),
    );
    let sent = 4 * options.events;
    line(
        &format!("events counted back in the groups (sent {sent})"),
        events.to_string(),
        verdict(events == sent),
    );
    line(
        "distinct alerts in the groups (webhook + PagerDuty keys)",
        alerts.to_string(),
        "",
    );
    line(
        "server RSS before / after phase 1 / after phase 4, MiB",
        format!(
            "{:.1} / {:.1} / {:.1}",
            rss_before as f64 / 1024.0,
            rss_middle as f64 / 1024.0,
            rss_after as f64 / 1024.0
        ),
        "",
    );
    line(
        "server peak RSS (VmHWM), MiB",
        format!("{:.1}", peak as f64 / 1024.0),
        "",
    );
    Ok(out)
}
