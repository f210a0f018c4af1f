//! `cargo xtask bench-fanout`: notification fan-out of a release build of the real server on
//! SQLite. Webhook subscribers (one channel each) point at a receiver on loopback; the time
//! from the API call that changes an incident's status to each subscriber's receipt of the
//! signed webhook is measured, change after change. The target is p99 < 1 s at 100
//! subscribers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::bench_api::{Binary, Server, init, locate_binary, once, request};

/// The target: every subscriber has the notification within this time (p99).
const TARGET: Duration = Duration::from_secs(1);
/// The longest one change may take to reach every subscriber before the run fails.
const CHANGE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) subscribers: u64,
    pub(crate) changes: u64,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            subscribers: 100,
            changes: 30,
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--subscribers" => options.subscribers = value()?.parse()?,
                "--changes" => options.changes = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --subscribers N --changes N --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (1..=1_000).contains(&options.subscribers) && (1..=1_000).contains(&options.changes),
            "--subscribers and --changes must be 1 to 1000"
        );
        Ok(options)
    }
}

/// Receipts: incident id → when each subscriber got its webhook.
pub(crate) type Receipts = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Reads keep-alive HTTP/1.1 requests from one connection and answers 200 to each.
pub(crate) async fn receive(mut stream: TcpStream, receipts: Receipts) -> Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "connection closed in a request body");
            buffer.extend_from_slice(&chunk[..read]);
        }
        let at = Instant::now();
        let body: serde_json::Value =
            serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap_or_default();
        buffer.drain(..head_end + length);
        if let Some(incident) = body["incident"]["id"].as_str()
            && let Ok(mut receipts) = receipts.lock()
        {
            receipts.entry(incident.to_owned()).or_default().push(at);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await?;
    }
}

pub(crate) fn quantile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let url = format!("sqlite://{}", scratch.path().join("fanout.db").display());
    let token = init(&binary, &url, scratch.path())?;
    let (mut server, address) = Server::start(&binary, &url, None)?;
    let measured = measure(address, &token, &options).await;
    let stopped = server.stop().await;
    let (mut latencies, wall) =
        measured.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?;
    latencies.sort();
    let p50 = quantile(&latencies, 0.50);
    let p99 = quantile(&latencies, 0.99);
    let max = latencies.last().copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "bench-fanout on {} cores (release server on SQLite; {} webhook subscribers, one channel each; {} status changes)",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.subscribers,
        options.changes
    );
    println!(
        "deliveries received                            {:>10}",
        latencies.len()
    );
    println!(
        "status change -> webhook received, p50 (ms)    {:>10.1}",
        ms(p50)
    );
    println!(
        "status change -> webhook received, p99 (ms)    {:>10.1}",
        ms(p99)
    );
    println!(
        "status change -> webhook received, max (ms)    {:>10.1}",
        ms(max)
    );
    println!(
        "status change -> last subscriber, mean (ms)    {:>10.1}",
        ms(wall) / options.changes as f64
    );
    println!(
        "p99 goal < {} ms                               {:>10}",
        TARGET.as_millis(),
        if p99 < TARGET { "ok" } else { "MISSED" }
    );
    let status = stopped?;
    anyhow::ensure!(
        status.success(),
        "the server did not stop cleanly ({status})"
    );
    Ok(())
}

/// Sets up the subscribers, then changes statuses one at a time and waits until every
/// subscriber has each change. Returns every latency and the summed time to the last one.
async fn measure(
    address: SocketAddr,
    token: &str,
    options: &Options,
) -> Result<(Vec<Duration>, Duration)> {
    let receipts: Receipts = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let hook = listener.local_addr()?;
    {
        let receipts = receipts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(receive(stream, receipts.clone()));
            }
        });
    }
    for n in 0..options.subscribers {
        let channel = format!(
            r#"{{"name":"subscriber-{n}","kind":"webhook","url":"http://{hook}/hook/{n}","secret":"bench-secret-0123456789"}}"#
        );
        once(
            address,
            &request("POST", "/api/v1/channels", address, token, Some(&channel)),
        )
        .await?;
        let subscription = format!(r#"{{"channel":"subscriber-{n}","events":["status_changed"]}}"#);
        once(
            address,
            &request(
                "POST",
                "/api/v1/subscriptions",
                address,
                token,
                Some(&subscription),
            ),
        )
        .await?;
    }
    let mut latencies = Vec::new();
    let mut wall = Duration::ZERO;
    let statuses = ["identified", "monitoring"];
    for change in 0..options.changes {
        let declared = once(
            address,
            &request(
                "POST",
                "/api/v1/incidents",
                address,
                token,
                Some(&format!(
                    r#"{{"title":"Fan-out {change}","severity":"SEV2"}}"#
                )),
            ),
        )
        .await?;
        let declared: serde_json::Value = serde_json::from_str(&declared)?;
        let id = declared["id"]
            .as_str()
            .context("no incident id")?
            .to_owned();
        let status = statuses[(change as usize) % statuses.len()];
        let body = format!(r#"{{"status":"{status}"}}"#);
        let path = format!("/api/v1/incidents/{id}/status");
        let started = Instant::now();
        once(
            address,
            &request("POST", &path, address, token, Some(&body)),
        )
        .await?;
        loop {
            let got = receipts
                .lock()
                .map(|r| r.get(&id).cloned().unwrap_or_default())
                .unwrap_or_default();
            if got.len() as u64 >= options.subscribers {
                latencies.extend(got.iter().map(|at| at.duration_since(started)));
                wall += got
                    .iter()
                    .max()
                    .map_or(Duration::ZERO, |at| at.duration_since(started));
                break;
            }
            anyhow::ensure!(
                started.elapsed() < CHANGE_LIMIT,
                "change {change}: {} of {} subscribers got it within {} s",
                got.len(),
                options.subscribers,
                CHANGE_LIMIT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok((latencies, wall))
}
