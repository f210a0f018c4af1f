//! `cargo xtask bench-postmortem`: drafting and exporting the post-mortem of an incident with
//! a long timeline, through the HTTP API of a release build of the server on SQLite. The
//! targets are < 200 ms to draft and render the Markdown and < 2 s for the PDF with 10,000
//! timeline entries.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::bench_api::{Binary, Server, init, locate_binary, once, request};

const MARKDOWN_TARGET: Duration = Duration::from_millis(200);
const PDF_TARGET: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) entries: u64,
    pub(crate) rounds: u32,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            entries: 10_000,
            rounds: 5,
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--entries" => options.entries = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --entries N --rounds N --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (10..=200_000).contains(&options.entries) && (1..=100).contains(&options.rounds),
            "--entries must be 10 to 200000 and --rounds 1 to 100"
        );
        Ok(options)
    }
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}",
        scratch.path().join("postmortem.db").display()
    );
    let token = init(&binary, &url, scratch.path())?;
    let (mut server, address) = Server::start(&binary, &url, None)?;
    let measured = measure(address, &token, &options).await;
    let stopped = server.stop().await;
    let figures = measured.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?;
    println!(
        "bench-postmortem on {} cores (release server on SQLite; one incident with {} timeline entries; {} rounds; times are whole HTTP requests on loopback)",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.entries,
        options.rounds
    );
    for (label, times, target) in &figures {
        let mut sorted = times.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        let median = sorted[sorted.len() / 2];
        let max = sorted[sorted.len() - 1];
        let verdict = match target {
            Some(target) if max < *target => format!("goal < {} ms: ok", target.as_millis()),
            Some(target) => format!("goal < {} ms: MISSED", target.as_millis()),
            None => String::new(),
        };
        println!(
            "{label:<48} median {:>8.1} ms   max {:>8.1} ms   {verdict}",
            ms(median),
            ms(max)
        );
    }
    let status = stopped?;
    anyhow::ensure!(
        status.success(),
        "the server did not stop cleanly ({status})"
    );
    Ok(())
}

type Figure = (&'static str, Vec<Duration>, Option<Duration>);

/// The route and body of timeline entry `n`.
fn entry(n: u64) -> (&'static str, String) {
    if n.is_multiple_of(500) {
        (
            "/action-items",
            format!(
                r#"{{"text":"Follow-up {n}: alert earlier on checkout errors","owner":"admin","kind":"follow_up"}}"#
            ),
        )
    } else if n.is_multiple_of(50) {
        (
            "/updates",
            format!(
                r#"{{"audience":"internal","body":"Update {n}: still working on it; next update in 30 minutes."}}"#
            ),
        )
    } else {
        (
            "/notes",
            format!(
                r#"{{"text":"Note {n}: error rate at {}% on the EU checkout pods; connection pool saturated."}}"#,
                n % 97
            ),
        )
    }
}

async fn timed(address: SocketAddr, bytes: Vec<u8>) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let body = once(address, &bytes).await?;
    Ok((started.elapsed(), body.len()))
}

/// Records the incident, drafts its post-mortem, then in each round writes the timeline
/// section again (a full draft rendering) and exports Markdown and PDF.
async fn measure(address: SocketAddr, token: &str, options: &Options) -> Result<Vec<Figure>> {
    let declare = r#"{"title":"Checkout failing for EU customers","severity":"SEV1","services":["checkout","payments"]}"#;
    let declared = once(
        address,
        &request("POST", "/api/v1/incidents", address, token, Some(declare)),
    )
    .await?;
    let document: serde_json::Value = serde_json::from_str(&declared)?;
    let id = document["id"]
        .as_str()
        .context("the declaration has no id")?
        .to_owned();
    let path = |tail: &str| format!("/api/v1/incidents/{id}{tail}");
    let started = Instant::now();
    // One entry is the declaration and one the resolution; the rest are mostly notes, with a
    // stakeholder update every 50 and a follow-up every 500 so the draft has every section.
    // Sixteen writers at once: each write is a durable commit, which group commit shares.
    const WRITERS: u64 = 16;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let token = token.to_owned();
        let base = path("");
        let entries = options.entries;
        writers.push(tokio::spawn(async move {
            let mut n = 2 + writer;
            while n < entries {
                let (route, body) = entry(n);
                once(
                    address,
                    &request(
                        "POST",
                        &format!("{base}{route}"),
                        address,
                        &token,
                        Some(&body),
                    ),
                )
                .await?;
                n += WRITERS;
            }
            anyhow::Ok(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    once(
        address,
        &request(
            "POST",
            &path("/status"),
            address,
            token,
            Some(r#"{"status":"resolved"}"#),
        ),
    )
    .await?;
    eprintln!(
        "recorded {} entries in {:.1} s",
        options.entries,
        started.elapsed().as_secs_f64()
    );

    let (draft, _) = timed(
        address,
        request(
            "POST",
            &path("/postmortem"),
            address,
            token,
            Some(r#"{"template":"full"}"#),
        ),
    )
    .await?;
    let mut redraft = Vec::new();
    let mut markdown = Vec::new();
    let mut pdf = Vec::new();
    let mut lint = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..options.rounds {
        redraft.push(
            timed(
                address,
                request("POST", &path("/postmortem/timeline"), address, token, None),
            )
            .await?
            .0,
        );
        let (time, size) = timed(
            address,
            request(
                "GET",
                &path("/postmortem/export?format=md"),
                address,
                token,
                None,
            ),
        )
        .await?;
        markdown.push(time);
        sizes.0 = size;
        let (time, size) = timed(
            address,
            request(
                "GET",
                &path("/postmortem/export?format=pdf"),
                address,
                token,
                None,
            ),
        )
        .await?;
        pdf.push(time);
        sizes.1 = size;
        lint.push(
            timed(
                address,
                request("GET", &path("/postmortem/lint"), address, token, None),
            )
            .await?
            .0,
        );
    }
    eprintln!(
        "Markdown export {} KiB, PDF export ~{} KiB",
        sizes.0 / 1024,
        sizes.1 / 1024
    );
    Ok(vec![
        (
            "draft from the timeline (first, POST)",
            vec![draft],
            Some(MARKDOWN_TARGET),
        ),
        (
            "draft again: timeline section rewritten (POST)",
            redraft,
            Some(MARKDOWN_TARGET),
        ),
        ("export Markdown (GET)", markdown, Some(MARKDOWN_TARGET)),
        ("export PDF (GET)", pdf, Some(PDF_TARGET)),
        ("lint: blame language and names (GET)", lint, None),
    ])
}
