//! `cargo xtask bench-subscribers`: one public update fanned out to the status page's own
//! subscribers, on a release build of the real server on SQLite: 10,000 confirmed e-mail
//! subscribers (an SMTP sink on loopback, one connection per message as the server sends
//! them) and 1,000 webhook subscribers (a receiver on loopback). It measures the time from
//! the update's API call to the last delivery, the server's memory during the fan-out, and the
//! status page's throughput while the fan-out runs, beside nginx serving the same bytes
//! (goal: at least 0.8 of nginx's rate).
//!
//! The subscribers are written straight into the database (the sign-up flow is limited per
//! address and per client, and its own test covers it), after one webhook signed up through
//! the page so that the server made its channel and a real secret.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::bench_api::{Binary, Server, init, locate_binary};
use crate::bench_fanout::{Receipts, receive};
use crate::bench_status::{Nginx, free_port, http, must, wrk};

/// The longest the fan-out may take before the run fails.
const LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) emails: u64,
    pub(crate) webhooks: u64,
    pub(crate) seconds: u32,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            emails: 10_000,
            webhooks: 1_000,
            seconds: 5,
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--emails" => options.emails = value()?.parse()?,
                "--webhooks" => options.webhooks = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --emails N --webhooks N --seconds N --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            options.emails <= 100_000 && (1..=10_000).contains(&options.webhooks),
            "--emails must be at most 100000 and --webhooks 1 to 10000"
        );
        Ok(options)
    }
}

/// An SMTP server that accepts every message and counts it, with the time of the last one.
async fn smtp_sink(
    listener: TcpListener,
    received: Arc<AtomicU64>,
    last: Arc<std::sync::Mutex<Option<Instant>>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let received = received.clone();
        let last = last.clone();
        tokio::spawn(async move {
            let _ = smtp_session(stream, received, last).await;
        });
    }
}

async fn smtp_session(
    stream: TcpStream,
    received: Arc<AtomicU64>,
    last: Arc<std::sync::Mutex<Option<Instant>>>,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
        } else if command.starts_with("DATA") {
            write.write_all(b"354 go on\r\n").await?;
            loop {
                line.clear();
                anyhow::ensure!(lines.read_line(&mut line).await? > 0, "closed in DATA");
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
            }
            received.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = last.lock() {
                *last = Some(Instant::now());
            }
            write.write_all(b"250 kept\r\n").await?;
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path();
    let db = dir.join("subscribers.db");
    let url = format!("sqlite://{}", db.display());
    let token = init(&binary, &url, dir)?;
    let (mut server, address) = Server::start(&binary, &url, None)?;
    let measured = measure(&server, address, &token, &url, dir, &options).await;
    let stopped = server.stop().await;
    let report = measured.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?;
    stopped?;
    println!("{report}");
    Ok(())
}

async fn measure(
    server: &Server,
    address: SocketAddr,
    token: &str,
    url: &str,
    dir: &std::path::Path,
    options: &Options,
) -> Result<String> {
    // Receivers: the SMTP sink and the webhook receiver.
    let sink = TcpListener::bind("127.0.0.1:0").await?;
    let sink_port = sink.local_addr()?.port();
    let mails = Arc::new(AtomicU64::new(0));
    let last_mail = Arc::new(std::sync::Mutex::new(None));
    tokio::spawn(smtp_sink(sink, mails.clone(), last_mail.clone()));
    let hooks = TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", hooks.local_addr()?);
    let receipts: Receipts = Arc::default();
    {
        let receipts = receipts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = hooks.accept().await {
                tokio::spawn(receive(stream, receipts.clone()));
            }
        });
    }

    // The page: a component, the mail channel, one webhook signed up through the page.
    let blocking = |method: &'static str, path: String, body: String| {
        let token = token.to_owned();
        tokio::task::spawn_blocking(move || must(address, method, &path, &token, &body))
    };
    blocking("PUT", "/api/v1/components/api".into(), "{}".into()).await??;
    blocking(
        "POST",
        "/api/v1/channels".into(),
        format!(
            r#"{{"name":"status-mail","kind":"email","host":"127.0.0.1","port":{sink_port},"tls":"none","from":"status@example.test","concurrency":64}}"#
        ),
    )
    .await??;
    blocking(
        "PUT",
        "/api/v1/status-page".into(),
        r#"{"mail_channel":"status-mail","webhook_signups":"any"}"#.into(),
    )
    .await??;
    let form = format!("kind=webhook&address={}", encode(&hook_url));
    let (status, _) =
        tokio::task::spawn_blocking(move || form_post(address, "/status/subscribe", &form))
            .await??;
    anyhow::ensure!(status == 200, "the webhook sign-up answered {status}");
    let (incident, _) = tokio::task::spawn_blocking({
        let token = token.to_owned();
        move || {
            must(
                address,
                "POST",
                "/api/v1/incidents",
                &token,
                r#"{"title":"API errors","severity":"SEV2","services":["api"],"visibility":"public"}"#,
            )
            .map(|reply| {
                let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap_or_default();
                (reply["id"].as_str().unwrap_or("INC-1").to_owned(), ())
            })
        }
    })
    .await??;
    // The first webhook answered its test delivery; wait for it to be active, and for the
    // declaration's own notice to reach it, so the update is the only fan-out measured.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pool = sqlx::SqlitePool::connect(url).await?;
        let active: i64 =
            sqlx::query_scalar("SELECT count(*) FROM status_subscribers WHERE state = 'active'")
                .fetch_one(&pool)
                .await?;
        pool.close().await;
        let declared = receipts
            .lock()
            .map(|r| r.contains_key(&incident))
            .unwrap_or(false);
        if active == 1 && declared {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the first webhook never became active"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Ok(mut receipts) = receipts.lock() {
        receipts.clear();
    }

    // The rest of the subscribers, written straight in.
    let pool = sqlx::SqlitePool::connect(url).await?;
    let (secret, nonce): (Option<String>, String) =
        sqlx::query_as("SELECT secret, nonce FROM status_subscribers WHERE kind = 'webhook'")
            .fetch_one(&pool)
            .await?;
    let mut tx = pool.begin().await?;
    let now = jiff::Timestamp::now().as_microsecond();
    for n in 0..options.emails {
        sqlx::query(
            "INSERT INTO status_subscribers (kind, address, incident, components, state, nonce, \
             secret, code_tries, created_at, updated_at, confirmed_at) \
             VALUES ('email', ?, 0, '[]', 'active', ?, NULL, 0, ?, ?, ?)",
        )
        .bind(format!("reader{n}@example.test"))
        .bind(&nonce)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for n in 1..options.webhooks {
        sqlx::query(
            "INSERT INTO status_subscribers (kind, address, incident, components, state, nonce, \
             secret, code_tries, created_at, updated_at, confirmed_at) \
             VALUES ('webhook', ?, 0, '[]', 'active', ?, ?, 0, ?, ?, ?)",
        )
        .bind(format!("{hook_url}?n={n}"))
        .bind(&nonce)
        .bind(&secret)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    pool.close().await;

    // nginx serves the summary's bytes; its rate is the baseline.
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("api/v2"))?;
    let summary = tokio::task::spawn_blocking({
        let token = token.to_owned();
        move || must(address, "GET", "/api/v2/summary.json", &token, "")
    })
    .await??;
    std::fs::write(root.join("api/v2/summary.json"), &summary)?;
    let port = free_port()?;
    let _nginx = Nginx::start(dir, &root, port)?;
    let load = crate::bench_status::Options {
        connections: 64,
        seconds: options.seconds,
        rounds: 1,
        binary: Binary::Prebuilt,
        server_log: None,
    };
    let nginx_url = format!("http://127.0.0.1:{port}/api/v2/summary.json");
    let ours_url = format!("http://{address}/api/v2/summary.json");
    let idle = {
        let load = load.clone();
        let ours_url = ours_url.clone();
        tokio::task::spawn_blocking(move || wrk(&ours_url, &load)).await??
    };
    let baseline = {
        let load = load.clone();
        tokio::task::spawn_blocking(move || wrk(&nginx_url, &load)).await??
    };

    // The update, and the page under load while it fans out.
    let (_, rss_before) = server.memory_kib().unwrap_or((0, 0));
    let started = Instant::now();
    let path = format!("/api/v1/incidents/{incident}/updates");
    let (status, reply) = tokio::task::spawn_blocking({
        let token = token.to_owned();
        move || {
            http(
                address,
                "POST",
                &path,
                Some(&token),
                r#"{"audience":"customers","body":"We found the cause; a fix is rolling out.","public":true}"#,
            )
        }
    })
    .await??;
    anyhow::ensure!(
        status == 200,
        "the update answered {status}: {}",
        String::from_utf8_lossy(&reply)
    );
    let answered = started.elapsed();
    let during = {
        let load = load.clone();
        let ours_url = ours_url.clone();
        tokio::task::spawn_blocking(move || wrk(&ours_url, &load))
    };
    let want_mails = options.emails;
    let want_hooks = options.webhooks;
    let mut peak_rss = 0;
    let (mut mails_done, mut hooks_done) = (None, None);
    while mails_done.is_none() || hooks_done.is_none() {
        anyhow::ensure!(
            started.elapsed() < LIMIT,
            "the fan-out did not finish in {LIMIT:?}: {} mails, {} webhooks",
            mails.load(Ordering::Relaxed),
            receipts
                .lock()
                .map(|r| r.get(&incident).map_or(0, Vec::len))
                .unwrap_or(0)
        );
        if let Ok((rss, _)) = server.memory_kib() {
            peak_rss = peak_rss.max(rss);
        }
        if mails_done.is_none() && mails.load(Ordering::Relaxed) >= want_mails {
            mails_done = last_mail
                .lock()
                .ok()
                .and_then(|last| *last)
                .map(|at| at - started);
        }
        if hooks_done.is_none() {
            let got = receipts
                .lock()
                .map(|r| r.get(&incident).cloned().unwrap_or_default())
                .unwrap_or_default();
            if got.len() as u64 >= want_hooks {
                hooks_done = got.iter().max().map(|at| *at - started);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = during.await??;
    let (_, peak_hwm) = server.memory_kib().unwrap_or((0, 0));
    let rate = |run: &crate::bench_status::Run| run.requests as f64 / run.seconds;
    let ratio = rate(&during) / rate(&baseline);
    let mails_done = mails_done.unwrap_or_default();
    let hooks_done = hooks_done.unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(format!(
        "bench-subscribers on {} cores (release server on SQLite; {} e-mail and {} webhook subscribers, all active; one public update)\n\
         update answered (ms)                                        {:>10.1}\n\
         update -> last e-mail at the SMTP sink (s)                  {:>10.2}\n\
         update -> last webhook received (s)                         {:>10.2}\n\
         deliveries per second, overall                              {:>10.0}\n\
         server RSS before / peak during the fan-out (MiB)     {:>8.1} / {:.1}\n\
         server peak RSS since start (VmHWM, MiB)                    {:>10.1}\n\
         /api/v2/summary.json req/s: idle / during fan-out / nginx   {:.0} / {:.0} / {:.0}\n\
         during fan-out / nginx (goal >= 0.8)                        {:>10.2}  {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.emails,
        options.webhooks,
        ms(answered),
        mails_done.as_secs_f64(),
        hooks_done.as_secs_f64(),
        (options.emails + options.webhooks) as f64
            / mails_done.max(hooks_done).as_secs_f64().max(0.001),
        mib(rss_before),
        mib(peak_rss),
        mib(peak_hwm),
        rate(&idle),
        rate(&during),
        rate(&baseline),
        ratio,
        if ratio >= 0.8 { "ok" } else { "MISSED" }
    ))
}

/// A form POST without a token.
fn form_post(address: SocketAddr, path: &str, body: &str) -> Result<(u16, Vec<u8>)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let status = String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .context("no status")?;
    Ok((status, response))
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
