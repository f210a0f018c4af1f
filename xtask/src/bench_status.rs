//! `cargo xtask bench-status`: the public status page under a refresh storm, side by side
//! with nginx serving the very same bytes as static files.
//!
//! A release build of the server runs on a scratch SQLite database holding public, internal
//! and restricted incidents with updates and a set of components. The bench fetches
//! `/api/v2/summary.json` and `/status` once, writes those bytes into a directory that nginx
//! (Debian's package) serves, and then drives both servers with `wrk` (Debian's package) at
//! 256 concurrent connections, alternating between them round by round so that the shared
//! machine's drift hits both alike. Each rate is total requests over total time; the ratio is
//! hereby's rate over nginx's (goal ≥ 0.8).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::bench_api::{Binary, Server, init, locate_binary};

/// What to measure, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) connections: u32,
    /// Seconds per wrk run.
    pub(crate) seconds: u32,
    /// Rounds; each round runs every target once.
    pub(crate) rounds: u32,
    pub(crate) binary: Binary,
    pub(crate) server_log: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            connections: 256,
            seconds: 5,
            rounds: 3,
            binary: Binary::Build,
            server_log: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--connections" => options.connections = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--rounds" => options.rounds = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(PathBuf::from(value()?)),
                "--no-build" => options.binary = Binary::Prebuilt,
                "--server-log" => options.server_log = Some(value()?.clone()),
                other => anyhow::bail!(
                    "unknown option {other}; options: --connections N --seconds N --rounds N --binary PATH --no-build --server-log FILTER"
                ),
            }
        }
        anyhow::ensure!(
            (1..=10_000).contains(&options.connections),
            "--connections must be 1 to 10000"
        );
        anyhow::ensure!(
            (1..=120).contains(&options.seconds) && (1..=20).contains(&options.rounds),
            "--seconds must be 1 to 120 and --rounds 1 to 20"
        );
        Ok(options)
    }
}

/// One plain HTTP/1.1 request on its own connection; the status and body.
pub(crate) fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("no end of headers")?;
    let status = String::from_utf8_lossy(&response[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .context("no status")?;
    Ok((status, response[split + 4..].to_vec()))
}

pub(crate) fn must(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<Vec<u8>> {
    let (status, reply) = http(address, method, path, Some(token), body)?;
    anyhow::ensure!(
        (200..300).contains(&status),
        "{method} {path} answered {status}: {}",
        String::from_utf8_lossy(&reply)
    );
    Ok(reply)
}

/// Ten components, 30 public incidents with three public updates each (a third of them
/// resolved), and internal and restricted incidents that must not show.
fn seed(address: SocketAddr, token: &str) -> Result<()> {
    let services = [
        "api", "web", "checkout", "payments", "search", "mail", "login", "storage", "cdn", "jobs",
    ];
    for service in services {
        must(
            address,
            "PUT",
            &format!("/api/v1/components/{service}"),
            token,
            &format!(r#"{{"description":"The {service} service"}}"#),
        )?;
    }
    for n in 0..40 {
        let service = services[n % services.len()];
        let visibility = match n % 4 {
            3 => "restricted",
            2 if n % 8 == 2 => "internal",
            _ => "public",
        };
        let reply = must(
            address,
            "POST",
            "/api/v1/incidents",
            token,
            &format!(
                r#"{{"title":"Incident {n} on {service}","severity":"SEV{}","services":["{service}"],"visibility":"{visibility}"}}"#,
                n % 4 + 1
            ),
        )?;
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let id = reply
            .split("\"id\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .context("no incident id in the answer")?
            .to_owned();
        for u in 0..3 {
            must(
                address,
                "POST",
                &format!("/api/v1/incidents/{id}/updates"),
                token,
                &format!(
                    r#"{{"audience":"customers","public":{},"body":"Update {u}: we are **working** on {service}; the next update follows within the hour."}}"#,
                    visibility == "public"
                ),
            )?;
        }
        if n % 3 == 0 {
            must(
                address,
                "POST",
                &format!("/api/v1/incidents/{id}/resolve"),
                token,
                "{}",
            )?;
        }
    }
    Ok(())
}

/// nginx serving `root` on `port`, stopped when dropped.
pub(crate) struct Nginx {
    child: Child,
}

impl Nginx {
    pub(crate) fn start(dir: &Path, root: &Path, port: u16) -> Result<Self> {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(Path::new)
            .find(|path| path.is_file())
            .context(
                "nginx is not installed: `apt-get install nginx` (the baseline of this bench)",
            )?;
        let config = dir.join("nginx.conf");
        // As the bench's own user, with the same two cores, no access log (hereby runs with
        // its request log at the level given by --server-log) and keep-alive without limit.
        std::fs::write(
            &config,
            format!(
                "worker_processes 2;\ndaemon off;\nuser root;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 10000000;\n  keepalive_timeout 65;\n\
                   client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
                   types {{ application/json json; }}\n\
                   server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
                     add_header Cache-Control \"public, max-age=5, must-revalidate\";\n\
                     location = /status {{ default_type \"text/html; charset=utf-8\"; try_files /status.html =404; }}\n  }}\n}}\n",
                dir = dir.display(),
                root = root.display(),
            ),
        )?;
        let child = Command::new(nginx)
            .args([
                "-c",
                &config.display().to_string(),
                "-p",
                &dir.display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        let nginx = Nginx { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    /// Answers other than 2xx/3xx, and socket errors.
    pub(crate) errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

fn parse_ms(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let (number, factor) = if let Some(n) = raw.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = raw.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (raw, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Runs wrk against `url` and reads its summary.
pub(crate) fn wrk(url: &str, options: &Options) -> Result<Run> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", options.connections),
            &format!("-d{}s", options.seconds),
            "--latency",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .context("cannot run wrk: `apt-get install wrk` (the load generator of this bench)")?;
    anyhow::ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut run = Run::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.contains("requests in") {
            run.requests = words.first().and_then(|n| n.parse().ok()).unwrap_or(0);
            run.seconds = words
                .get(3)
                .map(|s| s.trim_end_matches(','))
                .and_then(parse_ms)
                .map_or(0.0, |ms| ms / 1000.0);
        } else if line.starts_with("50%") {
            run.p50_ms = words.get(1).and_then(|w| parse_ms(w)).unwrap_or(0.0);
        } else if line.starts_with("99%") {
            run.p99_ms = words.get(1).and_then(|w| parse_ms(w)).unwrap_or(0.0);
        } else if line.starts_with("Non-2xx or 3xx responses:") {
            run.errors += words.last().and_then(|n| n.parse().ok()).unwrap_or(0);
        } else if line.starts_with("Socket errors:") {
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            run.errors += line
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    anyhow::ensure!(
        run.requests > 0 && run.seconds > 0.0,
        "wrk printed no summary:\n{text}"
    );
    Ok(run)
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let token = init(&binary, &url, dir)?;
    let (mut server, address) = Server::start(&binary, &url, options.server_log.as_deref())?;
    seed(address, &token)?;

    // The same bytes for nginx.
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("api/v2"))?;
    let summary = must(address, "GET", "/api/v2/summary.json", &token, "")?;
    let page = must(address, "GET", "/status", &token, "")?;
    std::fs::write(root.join("api/v2/summary.json"), &summary)?;
    std::fs::write(root.join("status.html"), &page)?;
    let port = free_port()?;
    let _nginx = Nginx::start(dir, &root, port)?;
    for path in ["/api/v2/summary.json", "/status"] {
        let (status, body) = http(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "GET",
            path,
            None,
            "",
        )?;
        anyhow::ensure!(status == 200, "nginx answered {status} for {path}");
        let ours = if path == "/status" { &page } else { &summary };
        anyhow::ensure!(&body == ours, "nginx serves other bytes for {path}");
    }

    let targets = [
        (
            "hereby",
            "/api/v2/summary.json",
            format!("http://{address}/api/v2/summary.json"),
        ),
        (
            "nginx",
            "/api/v2/summary.json",
            format!("http://127.0.0.1:{port}/api/v2/summary.json"),
        ),
        ("hereby", "/status", format!("http://{address}/status")),
        (
            "nginx",
            "/status",
            format!("http://127.0.0.1:{port}/status"),
        ),
    ];
    let mut totals = vec![Run::default(); targets.len()];
    for round in 1..=options.rounds {
        eprintln!("round {round} of {}", options.rounds);
        for (index, (_, _, url)) in targets.iter().enumerate() {
            let run = wrk(url, &options)?;
            let total = &mut totals[index];
            total.requests += run.requests;
            total.seconds += run.seconds;
            total.errors += run.errors;
            // The worst round's percentiles: the figure a reader should plan with.
            total.p50_ms = total.p50_ms.max(run.p50_ms);
            total.p99_ms = total.p99_ms.max(run.p99_ms);
        }
    }
    server.stop().await?;

    println!(
        "\nbench-status on {} cores (release server on SQLite; {} connections, wrk -t2, {} rounds of {} s per target, alternating)",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.connections,
        options.rounds,
        options.seconds
    );
    println!(
        "{:<8} {:<22} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "server", "path", "requests", "req/s", "p50 (ms)", "p99 (ms)", "errors"
    );
    for ((server, path, _), total) in targets.iter().zip(&totals) {
        println!(
            "{:<8} {:<22} {:>10} {:>10.0} {:>10.2} {:>10.2} {:>8}",
            server,
            path,
            total.requests,
            total.requests as f64 / total.seconds,
            total.p50_ms,
            total.p99_ms,
            total.errors
        );
    }
    let rate = |index: usize| totals[index].requests as f64 / totals[index].seconds;
    println!();
    for (label, ours, theirs) in [("/api/v2/summary.json", 0, 1), ("/status", 2, 3)] {
        let ratio = rate(ours) / rate(theirs);
        println!(
            "{:<50} {:>10.2}  {}",
            format!("{label}: hereby / nginx (goal >= 0.8)"),
            ratio,
            if ratio >= 0.8 { "ok" } else { "MISSED" }
        );
    }
    println!(
        "{:<50} {:>10}",
        "bytes: summary.json / status page",
        format!("{} / {}", summary.len(), page.len())
    );
    let errors: u64 = totals.iter().map(|total| total.errors).sum();
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(())
}
