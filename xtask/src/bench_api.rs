//! `cargo xtask bench-api`: the HTTP API of a release build of the real server on SQLite,
//! driven over loopback by a small keep-alive HTTP/1.1 load generator (one connection per
//! virtual client), next to the store's own append rate measured in the same run.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::bench_store;

/// Incidents declared through the API; notes are spread over them.
const INCIDENTS: u64 = 100;
/// Writers of the store's own append measurement.
const STORE_WRITERS: u64 = 16;
/// API notes and store appends alternate in this many rounds, so that the disk's drifting
/// sync latency hits both alike.
const ROUNDS: u64 = 4;
/// Unmeasured (but checked) requests before each read measurement.
const WARM_UP: u64 = 256;
/// The longest any one request may take before it counts as an error.
const REQUEST_LIMIT: Duration = Duration::from_secs(10);
/// The longest one measurement may take; requests not sent by then count as errors.
const PHASE_LIMIT: Duration = Duration::from_secs(300);
/// The longest `hereby init` or the server's start may take.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long the server has to stop after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(20);
/// The longest the release build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(60 * 60);
/// Lines of the server's stderr kept for error messages.
const STDERR_TAIL: usize = 30;

/// Where the server binary comes from.
#[derive(Debug, Clone)]
pub(crate) enum Binary {
    /// `cargo build --release -p hereby`, then `target/release/hereby`.
    Build,
    /// `target/release/hereby` as it is.
    Prebuilt,
    /// A binary named on the command line.
    Given(PathBuf),
}

/// What to measure, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Notes appended through the API (and appends and commands through the store).
    pub(crate) notes: u64,
    /// Reads of one incident's state document.
    pub(crate) reads: u64,
    /// Reads of the incident list.
    pub(crate) lists: u64,
    /// Reads of the incident page (HTML) of an incident with 200 timeline entries.
    pub(crate) pages: u64,
    /// Concurrent clients, one keep-alive connection each.
    pub(crate) clients: u64,
    pub(crate) binary: Binary,
    /// `RUST_LOG` for the server; `None` leaves it at its default.
    pub(crate) server_log: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            notes: 8_000,
            reads: 40_000,
            lists: 10_000,
            pages: 20_000,
            clients: 32,
            binary: Binary::Build,
            server_log: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--notes" => options.notes = value()?.parse()?,
                "--reads" => options.reads = value()?.parse()?,
                "--lists" => options.lists = value()?.parse()?,
                "--pages" => options.pages = value()?.parse()?,
                "--clients" => options.clients = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(PathBuf::from(value()?)),
                "--no-build" => options.binary = Binary::Prebuilt,
                "--server-log" => options.server_log = Some(value()?.clone()),
                other => anyhow::bail!(
                    "unknown option {other}; options: --notes N --reads N --lists N --pages N --clients N --binary PATH --no-build --server-log FILTER"
                ),
            }
        }
        anyhow::ensure!(
            (1..=1_000).contains(&options.clients),
            "--clients must be 1 to 1000"
        );
        anyhow::ensure!(
            options.notes >= ROUNDS
                && options.reads >= 1
                && options.lists >= 1
                && options.pages >= 1,
            "--notes must be at least {ROUNDS}, --reads, --lists and --pages at least 1"
        );
        anyhow::ensure!(
            options.notes <= 1_000_000
                && options.reads <= 10_000_000
                && options.lists <= 10_000_000
                && options.pages <= 10_000_000,
            "counts are bounded: --notes at most 1000000, --reads, --lists and --pages at most 10000000"
        );
        Ok(options)
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

fn release_binary(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(PathBuf::from(dir)));
    target.join("release").join("hereby")
}

/// Waits for `child` at most `limit`, killing it when the time is up.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> Result<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{what} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn locate_binary(binary: &Binary) -> Result<PathBuf> {
    let root = workspace_root();
    let path = match binary {
        Binary::Given(path) => path.clone(),
        Binary::Prebuilt => release_binary(&root),
        Binary::Build => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
            eprintln!("building the server: cargo build --release -p hereby");
            let mut child = Command::new(cargo)
                .args(["build", "--release", "-p", "hereby"])
                .current_dir(&root)
                .stdin(Stdio::null())
                .spawn()
                .context("cannot run cargo")?;
            let status = wait_bounded(&mut child, BUILD_LIMIT, "cargo build --release")?;
            anyhow::ensure!(
                status.success(),
                "cargo build --release -p hereby failed ({status})"
            );
            release_binary(&root)
        }
    };
    anyhow::ensure!(
        path.is_file(),
        "no server binary at {} (build it with `cargo build --release -p hereby`)",
        path.display()
    );
    Ok(path)
}

/// Leaves the server at its defaults whatever the caller's environment says.
fn scrub(command: &mut Command, server_log: Option<&str>) {
    for variable in [
        "HEREBY_CONFIG",
        "HEREBY_LISTEN",
        "HEREBY_LOG_FORMAT",
        "HEREBY_DATABASE_URL",
        "HEREBY_TOKEN",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    if let Some(filter) = server_log {
        command.env("RUST_LOG", filter);
    }
}

/// `hereby init`: creates the database and returns the first admin's token.
pub(crate) fn init(binary: &Path, url: &str, scratch: &Path) -> Result<String> {
    let stdout_path = scratch.join("init.stdout");
    let stderr_path = scratch.join("init.stderr");
    let mut command = Command::new(binary);
    command
        .args(["init", "--database-url", url])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    scrub(&mut command, None);
    let mut child = command.spawn().context("cannot start `hereby init`")?;
    let status = wait_bounded(&mut child, START_LIMIT, "hereby init")?;
    let stdout = std::fs::read_to_string(&stdout_path)?;
    let stderr = std::fs::read_to_string(&stderr_path)?;
    anyhow::ensure!(
        status.success(),
        "hereby init failed ({status}): {}",
        stderr.trim()
    );
    let token = stdout.trim();
    anyhow::ensure!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "hereby init printed no single token: {stdout:?}"
    );
    Ok(token.to_owned())
}

/// A running `hereby serve`, stopped (or at worst killed) when dropped.
pub(crate) struct Server {
    child: Child,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stopped: bool,
}

impl Server {
    pub(crate) fn start(
        binary: &Path,
        url: &str,
        server_log: Option<&str>,
    ) -> Result<(Self, SocketAddr)> {
        Self::start_with(binary, url, server_log, &[])
    }

    /// Starts the server with extra `serve` arguments.
    pub(crate) fn start_with(
        binary: &Path,
        url: &str,
        server_log: Option<&str>,
        extra: &[&str],
    ) -> Result<(Self, SocketAddr)> {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        scrub(&mut command, server_log);
        let mut child = command.spawn().context("cannot start `hereby serve`")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut server = Server {
            child,
            stderr_tail: stderr_tail.clone(),
            stopped: false,
        };
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        // Reads stderr to its end (the server's exit), so the pipe never fills up and blocks
        // the server's logging.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            let mut announced = false;
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                if !announced
                    && let Some(rest) = text.split_once("http://").map(|(_, rest)| rest)
                    && let Some(Ok(address)) = rest
                        .split(|c: char| c.is_whitespace() || c == '/')
                        .next()
                        .map(str::parse::<SocketAddr>)
                {
                    announced = true;
                    let _ = address_tx.send(address);
                }
                if let Ok(mut tail) = stderr_tail.lock() {
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(text);
                }
            }
        });
        let deadline = Instant::now() + START_LIMIT;
        let address = loop {
            match address_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(address) => break address,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = server.child.try_wait()? {
                        server.stopped = true;
                        anyhow::bail!("the server exited ({status}):\n{}", server.tail());
                    }
                    if Instant::now() > deadline {
                        anyhow::bail!(
                            "the server did not announce its address within {} s:\n{}",
                            START_LIMIT.as_secs(),
                            server.tail()
                        );
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    anyhow::bail!(
                        "the server closed stderr before listening:\n{}",
                        server.tail()
                    )
                }
            }
        };
        Ok((server, address))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server wrote to stderr.
    pub(crate) fn tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|tail| tail.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Resident and peak resident memory in KiB, from `/proc/<pid>/status`.
    pub(crate) fn memory_kib(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .context(format!("no {name} in /proc/<pid>/status"))?;
            Ok(line
                .trim_start_matches(name)
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()?)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// SIGTERM, then waits for a graceful stop.
    pub(crate) async fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            self.stopped = true;
            anyhow::bail!("the server had already exited ({status}):\n{}", self.tail());
        }
        let signalled = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !signalled {
            self.child.kill()?;
        }
        let deadline = Instant::now() + STOP_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.stopped = true;
                anyhow::bail!(
                    "the server did not stop within {} s of SIGTERM and was killed",
                    STOP_LIMIT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat` (clock ticks of
/// 1/100 s, Linux's fixed `USER_HZ`).
pub(crate) fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime); the slice starts at field 3.
    let ticks = |index: usize| -> Result<f64> {
        Ok(fields
            .get(index)
            .context("short /proc/<pid>/stat")?
            .parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client

/// One answer: the status and the body.
#[derive(Debug)]
struct Response {
    status: u16,
    body: Vec<u8>,
    /// The `Set-Cookie` header's value, if any (the session cookie after signing in).
    set_cookie: Option<String>,
}

/// An open connection and what has been read from it but not yet consumed.
struct Wire {
    stream: TcpStream,
    buffer: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl Wire {
    /// Reads more bytes; false at the end of the stream.
    async fn read_more(&mut self) -> Result<bool> {
        self.buffer.reserve(16 * 1024);
        Ok(self.stream.read_buf(&mut self.buffer).await? > 0)
    }

    async fn fill_to(&mut self, length: usize) -> Result<()> {
        while self.buffer.len() < length {
            anyhow::ensure!(
                self.read_more().await?,
                "the server closed the connection mid-response"
            );
        }
        Ok(())
    }

    /// Consumes one CRLF-terminated line.
    async fn line(&mut self) -> Result<String> {
        loop {
            if let Some(end) = find(&self.buffer, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                return Ok(line);
            }
            anyhow::ensure!(self.buffer.len() < 64 * 1024, "a response line is too long");
            anyhow::ensure!(
                self.read_more().await?,
                "the server closed the connection mid-response"
            );
        }
    }

    /// Sends one request and reads its response; the bool is whether the connection stays
    /// usable.
    async fn exchange(&mut self, request: &[u8]) -> Result<(Response, bool)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            anyhow::ensure!(
                self.buffer.len() < 64 * 1024,
                "the response head is too long"
            );
            anyhow::ensure!(
                self.read_more().await?,
                "the server closed the connection before answering"
            );
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).into_owned();
        self.buffer.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .context(format!("not an HTTP status line: {status_line:?}"))?;
        let (mut length, mut chunked, mut keep_alive) = (None, false, true);
        let mut set_cookie = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("set-cookie") {
                set_cookie = Some(value.to_owned());
            }
        }
        let body = if status < 200 || status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            let mut body = Vec::new();
            loop {
                let line = self.line().await?;
                let size =
                    usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
                        .context(format!("bad chunk size {line:?}"))?;
                if size == 0 {
                    while !self.line().await?.is_empty() {}
                    break;
                }
                self.fill_to(size + 2).await?;
                body.extend_from_slice(&self.buffer[..size]);
                self.buffer.drain(..size + 2);
            }
            body
        } else if let Some(length) = length {
            self.fill_to(length).await?;
            let body = self.buffer[..length].to_vec();
            self.buffer.drain(..length);
            body
        } else {
            // Delimited by the end of the connection.
            keep_alive = false;
            while self.read_more().await? {}
            std::mem::take(&mut self.buffer)
        };
        Ok((
            Response {
                status,
                body,
                set_cookie,
            },
            keep_alive,
        ))
    }
}

/// A client's connection, opened on first use and again after a failure or `close`.
struct Connection {
    address: SocketAddr,
    wire: Option<Wire>,
}

impl Connection {
    fn new(address: SocketAddr) -> Self {
        Self {
            address,
            wire: None,
        }
    }

    async fn connect(&mut self) -> Result<&mut Wire> {
        if self.wire.is_none() {
            let stream = tokio::time::timeout(REQUEST_LIMIT, TcpStream::connect(self.address))
                .await
                .context("connecting timed out")??;
            stream.set_nodelay(true)?;
            self.wire = Some(Wire {
                stream,
                buffer: Vec::with_capacity(16 * 1024),
            });
        }
        self.wire.as_mut().context("no connection")
    }

    async fn send(&mut self, request: &[u8]) -> Result<Response> {
        let wire = self.connect().await?;
        match wire.exchange(request).await {
            Ok((response, keep_alive)) => {
                if !keep_alive {
                    self.wire = None;
                }
                Ok(response)
            }
            Err(error) => {
                self.wire = None;
                Err(error)
            }
        }
    }
}

/// The bytes of one request.
pub(crate) fn request(
    method: &str,
    path: &str,
    address: SocketAddr,
    token: &str,
    body: Option<&str>,
) -> Vec<u8> {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n"
    );
    match body {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("\r\n"),
    }
    text.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Load

/// What one run of requests came to.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Successful (2xx) requests.
    pub(crate) done: u64,
    pub(crate) seconds: f64,
    latencies: Vec<Duration>,
    pub(crate) errors: u64,
    /// The first few failures, described.
    pub(crate) failures: Vec<String>,
}

impl Outcome {
    fn absorb(&mut self, other: Outcome) {
        self.done += other.done;
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        for failure in other.failures {
            if self.failures.len() < 5 {
                self.failures.push(failure);
            }
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.done as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The `p` quantile of latencies, in milliseconds.
    pub(crate) fn quantile_ms(&mut self, p: f64) -> f64 {
        self.latencies.sort_unstable();
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// The first line of a request, for error messages.
fn request_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..find(bytes, b"\r\n").unwrap_or(0)]).into_owned()
}

pub(crate) type MakeRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// Sends requests `0..total` (built by `make`) from `clients` concurrent clients, each over
/// one keep-alive connection, client `c` sending `c, c + clients, …`. Every answer must be 2xx.
pub(crate) async fn drive(
    address: SocketAddr,
    clients: u64,
    total: u64,
    make: MakeRequest,
) -> Result<Outcome> {
    drive_paced(address, clients, total, make, None).await
}

/// [`drive`], and with `per_second` the requests are offered at that rate instead of as fast
/// as answers come: request `n` is due `n / per_second` seconds after the start, and its
/// latency counts from when it was due, so an answer that makes the next request late is
/// charged to that request too (no coordinated omission).
pub(crate) async fn drive_paced(
    address: SocketAddr,
    clients: u64,
    total: u64,
    make: MakeRequest,
    per_second: Option<f64>,
) -> Result<Outcome> {
    let clients = clients.min(total).max(1);
    let barrier = Arc::new(tokio::sync::Barrier::new(clients as usize + 1));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let barrier = barrier.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            let mut connection = Connection::new(address);
            // Connect before the clock starts; a failure here shows again on the first send.
            let _ = connection.connect().await;
            barrier.wait().await;
            let origin = Instant::now();
            let deadline = origin + PHASE_LIMIT;
            let fail = |outcome: &mut Outcome, what: String| {
                outcome.errors += 1;
                if outcome.failures.len() < 5 {
                    outcome.failures.push(what);
                }
            };
            let mut n = client;
            while n < total {
                if Instant::now() > deadline {
                    let left = (total - n).div_ceil(clients);
                    fail(
                        &mut outcome,
                        format!(
                            "{left} requests not sent: the {} s limit passed",
                            PHASE_LIMIT.as_secs()
                        ),
                    );
                    outcome.errors += left - 1;
                    break;
                }
                let bytes = make(n);
                let started = match per_second {
                    Some(rate) => {
                        let due = origin + Duration::from_secs_f64(n as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                match tokio::time::timeout(REQUEST_LIMIT, connection.send(&bytes)).await {
                    Ok(Ok(response)) if (200..300).contains(&response.status) => {
                        outcome.latencies.push(started.elapsed());
                        outcome.done += 1;
                    }
                    Ok(Ok(response)) => {
                        let line = request_line(&bytes);
                        let body = String::from_utf8_lossy(&response.body);
                        fail(
                            &mut outcome,
                            format!(
                                "{line} -> {} {}",
                                response.status,
                                body.chars().take(300).collect::<String>()
                            ),
                        );
                    }
                    Ok(Err(error)) => {
                        let line = request_line(&bytes);
                        fail(&mut outcome, format!("{line} -> {error:#}"));
                    }
                    Err(_) => {
                        connection.wire = None;
                        let line = request_line(&bytes);
                        fail(
                            &mut outcome,
                            format!("{line} -> no answer within {} s", REQUEST_LIMIT.as_secs()),
                        );
                    }
                }
                n += clients;
            }
            outcome
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut total_outcome = Outcome::default();
    for task in tasks {
        total_outcome.absorb(task.await?);
    }
    total_outcome.seconds = started.elapsed().as_secs_f64();
    Ok(total_outcome)
}

/// One request, which must succeed; returns its body.
pub(crate) async fn once(address: SocketAddr, bytes: &[u8]) -> Result<String> {
    let mut connection = Connection::new(address);
    let response = tokio::time::timeout(REQUEST_LIMIT, connection.send(bytes))
        .await
        .context("no answer in time")??;
    let body = String::from_utf8_lossy(&response.body).into_owned();
    anyhow::ensure!(
        (200..300).contains(&response.status),
        "{} -> {} {body}",
        request_line(bytes),
        response.status
    );
    Ok(body)
}

/// A measured kind of request.
struct Measured {
    label: &'static str,
    outcome: Outcome,
    /// Server CPU seconds spent during the measurement.
    server_cpu: f64,
    /// This process's CPU seconds (the load generator, and the store in (a)).
    client_cpu: f64,
}

/// Everything one run measured.
struct Figures {
    cores: usize,
    phases: Vec<Measured>,
    store_appends: f64,
    store_commands: f64,
    rss_kib: u64,
    peak_rss_kib: u64,
    /// Requests and failures outside the measurements (declares, warm-ups, checks).
    setup_errors: u64,
    failures: Vec<String>,
    /// The first render of the 10,000-entry incident page, ms.
    big_first_ms: f64,
    /// Later renders of it, sorted, ms.
    big_ms: Vec<f64>,
}

async fn measure(
    server: &Server,
    address: SocketAddr,
    token: &str,
    options: &Options,
) -> Result<Figures> {
    let pid = server.pid().to_string();
    let token: Arc<str> = Arc::from(token);
    let mut setup = Outcome::default();

    eprintln!("  declaring {INCIDENTS} incidents");
    let make: MakeRequest = {
        let token = token.clone();
        Arc::new(move |n| {
            let body = format!("{{\"title\":\"Benchmark incident {}\"}}", n + 1);
            request("POST", "/api/v1/incidents", address, &token, Some(&body))
        })
    };
    setup.absorb(drive(address, 8, INCIDENTS, make).await?);
    anyhow::ensure!(
        setup.errors == 0,
        "declaring incidents failed: {}",
        setup.failures.join("\n")
    );
    let last = format!("/api/v1/incidents/INC-{INCIDENTS}");
    once(address, &request("GET", &last, address, &token, None)).await?;
    let list = once(
        address,
        &request("GET", "/api/v1/incidents", address, &token, None),
    )
    .await?;
    anyhow::ensure!(
        list.contains(&format!("\"INC-{INCIDENTS}\"")),
        "the incident list lacks INC-{INCIDENTS}: {}",
        list.chars().take(300).collect::<String>()
    );

    let mut phases = Vec::new();

    // (a) Notes through the API, alternating with the store's own appends and commands.
    eprintln!(
        "  (a) {} notes through the API with {} clients, in {ROUNDS} rounds alternating with the store's own appends ({STORE_WRITERS} writers)",
        options.notes, options.clients
    );
    let per_round = options.notes / ROUNDS;
    let (mut notes, mut server_cpu, mut client_cpu) = (Outcome::default(), 0.0, 0.0);
    let (mut append_seconds, mut command_seconds) = (0.0, 0.0);
    for round in 0..ROUNDS {
        let offset = round * per_round;
        let make: MakeRequest = {
            let token = token.clone();
            Arc::new(move |n| {
                let n = offset + n;
                let path = format!("/api/v1/incidents/INC-{}/notes", n % INCIDENTS + 1);
                let body = format!(
                    "{{\"text\":\"benchmark note {n}: replica lag back under one second\"}}"
                );
                request("POST", &path, address, &token, Some(&body))
            })
        };
        let (server_before, client_before) = (cpu_seconds(&pid)?, cpu_seconds("self")?);
        notes.absorb(drive(address, options.clients, per_round, make).await?);
        server_cpu += cpu_seconds(&pid)? - server_before;
        client_cpu += cpu_seconds("self")? - client_before;
        let (appends, commands) =
            bench_store::sqlite_rates(INCIDENTS, per_round, STORE_WRITERS).await?;
        append_seconds += per_round as f64 / appends;
        command_seconds += per_round as f64 / commands;
    }
    let store_appends = (per_round * ROUNDS) as f64 / append_seconds;
    let store_commands = (per_round * ROUNDS) as f64 / command_seconds;
    phases.push(Measured {
        label: "(a) POST /api/v1/incidents/INC-n/notes",
        outcome: notes,
        server_cpu,
        client_cpu,
    });

    // (b) and (c): reads, each after a checked warm-up.
    let reads: [(&'static str, &'static str, &str, u64); 2] = [
        (
            "(b) GET /api/v1/incidents/INC-1",
            "/api/v1/incidents/INC-1",
            "one incident's state document",
            options.reads,
        ),
        (
            "(c) GET /api/v1/incidents",
            "/api/v1/incidents",
            "the incident list",
            options.lists,
        ),
    ];
    for (label, path, what, count) in reads {
        eprintln!(
            "  {} {count} reads of {what} with {} clients",
            &label[..3],
            options.clients
        );
        let bytes = request("GET", path, address, &token, None);
        let make: MakeRequest = Arc::new(move |_| bytes.clone());
        setup.absorb(drive(address, options.clients, WARM_UP, make.clone()).await?);
        let (server_before, client_before) = (cpu_seconds(&pid)?, cpu_seconds("self")?);
        let outcome = drive(address, options.clients, count, make).await?;
        phases.push(Measured {
            label,
            outcome,
            server_cpu: cpu_seconds(&pid)? - server_before,
            client_cpu: cpu_seconds("self")? - client_before,
        });
    }

    // (d) and (e): the incident page, as HTML, for a signed-in browser.
    let pages = measure_pages(&pid, address, &token, options, &mut setup).await?;
    phases.push(pages.page);
    let (big_first_ms, big_ms) = (pages.big_first_ms, pages.big_ms);

    let (rss_kib, peak_rss_kib) = server.memory_kib()?;
    let mut failures = setup.failures.clone();
    for phase in &phases {
        failures.extend(phase.outcome.failures.iter().cloned());
    }
    Ok(Figures {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        phases,
        store_appends,
        store_commands,
        rss_kib,
        peak_rss_kib,
        setup_errors: setup.errors,
        failures,
        big_first_ms,
        big_ms,
    })
}

/// A request of a signed-in browser.
fn browser_request(
    method: &str,
    path: &str,
    address: SocketAddr,
    cookie: &str,
    form: Option<&str>,
) -> Vec<u8> {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nAccept: text/html\r\n"
    );
    match form {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("\r\n"),
    }
    text.into_bytes()
}

/// What the incident page measurements came to.
struct PageFigures {
    page: Measured,
    /// The first render of the page of an incident with 10,000 entries, in ms.
    big_first_ms: f64,
    /// Later renders of it, sorted, in ms.
    big_ms: Vec<f64>,
}

/// A note with some Markdown, as responders write them.
fn markdown_note(n: u64) -> String {
    format!(
        "{{\"text\":\"Update {n}: **error rate** down to 0.4%, see [the dashboard](https://grafana.example.com/d/{n}).\\n\\n- canary at 10%\\n- `kubectl rollout status deploy/checkout`\"}}"
    )
}

/// Appends `count` notes to `incident` through the API.
async fn fill(
    address: SocketAddr,
    token: &Arc<str>,
    incident: u64,
    count: u64,
    setup: &mut Outcome,
) -> Result<()> {
    let make: MakeRequest = {
        let token = token.clone();
        Arc::new(move |n| {
            let path = format!("/api/v1/incidents/INC-{incident}/notes");
            request("POST", &path, address, &token, Some(&markdown_note(n)))
        })
    };
    let outcome = drive(address, 16, count, make).await?;
    anyhow::ensure!(
        outcome.errors == 0,
        "filling INC-{incident} failed: {}",
        outcome.failures.join("\n")
    );
    setup.absorb(outcome);
    Ok(())
}

async fn measure_pages(
    pid: &str,
    address: SocketAddr,
    token: &Arc<str>,
    options: &Options,
    setup: &mut Outcome,
) -> Result<PageFigures> {
    const PASSWORD: &str = "benchmark password";
    once(
        address,
        &request(
            "PUT",
            "/api/v1/users/admin/password",
            address,
            token,
            Some(&format!("{{\"password\":\"{PASSWORD}\"}}")),
        ),
    )
    .await?;
    let login = format!("username=admin&password={}", PASSWORD.replace(' ', "+"));
    let mut connection = Connection::new(address);
    let signed_in = tokio::time::timeout(
        REQUEST_LIMIT,
        connection.send(&browser_request(
            "POST",
            "/login",
            address,
            "",
            Some(&login),
        )),
    )
    .await
    .context("no answer to sign-in in time")??;
    let cookie = signed_in
        .set_cookie
        .as_deref()
        .and_then(|value| value.split(';').next())
        .filter(|pair| pair.starts_with("hereby_session="))
        .with_context(|| {
            format!(
                "signing in gave no session cookie (status {})",
                signed_in.status
            )
        })?
        .to_owned();

    eprintln!("  declaring an incident with 200 timeline entries and one with 10,000");
    let mut numbers = Vec::new();
    for title in [
        "Page benchmark: 200 entries",
        "Page benchmark: 10,000 entries",
    ] {
        let body = once(
            address,
            &request(
                "POST",
                "/api/v1/incidents",
                address,
                token,
                Some(&format!("{{\"title\":\"{title}\"}}")),
            ),
        )
        .await?;
        let number: u64 = body
            .split("\"number\":")
            .nth(1)
            .and_then(|rest| rest.split([',', '}']).next())
            .and_then(|n| n.trim().parse().ok())
            .context("the declare answer has no number")?;
        numbers.push(number);
    }
    let (small, big) = (numbers[0], numbers[1]);
    // The declaration is the first entry; with the IC's role event the count is at least
    // 200 and 10,000.
    fill(address, token, small, 199, setup).await?;
    fill(address, token, big, 9_999, setup).await?;

    let path = format!("/incidents/INC-{small}");
    let bytes = browser_request("GET", &path, address, &cookie, None);
    let page = String::from_utf8_lossy(&{
        let mut connection = Connection::new(address);
        connection.send(&bytes).await?.body
    })
    .into_owned();
    anyhow::ensure!(
        page.contains("Page benchmark: 200 entries")
            && page.matches("class=\"entry ").count() >= 50,
        "the incident page does not show the incident and its entries: {}",
        page.chars().take(500).collect::<String>()
    );
    eprintln!(
        "  (d) {} reads of the incident page (HTML, 200 entries) with {} clients",
        options.pages, options.clients
    );
    let make: MakeRequest = Arc::new(move |_| bytes.clone());
    setup.absorb(drive(address, options.clients, WARM_UP, make.clone()).await?);
    let (server_before, client_before) = (cpu_seconds(pid)?, cpu_seconds("self")?);
    let outcome = drive(address, options.clients, options.pages, make).await?;
    let page = Measured {
        label: "(d) GET /incidents/INC-n (HTML)",
        outcome,
        server_cpu: cpu_seconds(pid)? - server_before,
        client_cpu: cpu_seconds("self")? - client_before,
    };

    eprintln!("  (e) the incident page of an incident with 10,000 entries, one request at a time");
    let bytes = browser_request(
        "GET",
        &format!("/incidents/INC-{big}"),
        address,
        &cookie,
        None,
    );
    let mut connection = Connection::new(address);
    let _ = connection.connect().await;
    let timed = |response: Response, started: Instant| -> Result<f64> {
        anyhow::ensure!(
            response.status == 200,
            "the 10,000-entry page answered {}",
            response.status
        );
        anyhow::ensure!(
            String::from_utf8_lossy(&response.body).contains("id=\"older\""),
            "the 10,000-entry page does not page its timeline"
        );
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    let started = Instant::now();
    let big_first_ms = timed(connection.send(&bytes).await?, started)?;
    let mut big_ms = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        big_ms.push(timed(connection.send(&bytes).await?, started)?);
    }
    big_ms.sort_by(f64::total_cmp);
    Ok(PageFigures {
        page,
        big_first_ms,
        big_ms,
    })
}

fn verdict(met: bool) -> &'static str {
    if met { "ok" } else { "MISSED" }
}

fn report(figures: &mut Figures, options: &Options) {
    println!();
    println!(
        "bench-api on {} cores (release server on SQLite; {INCIDENTS} incidents; {} keep-alive clients)",
        figures.cores, options.clients
    );
    println!(
        "{:<42}{:>9}{:>10}{:>10}{:>10}{:>8}{:>12}{:>12}",
        "", "requests", "req/s", "p50 (ms)", "p99 (ms)", "errors", "server CPU", "client CPU"
    );
    for phase in &mut figures.phases {
        let done = phase.outcome.done.max(1) as f64;
        let p50 = phase.outcome.quantile_ms(0.5);
        let p99 = phase.outcome.quantile_ms(0.99);
        println!(
            "{:<42}{:>9}{:>10.0}{:>10.2}{:>10.2}{:>8}{:>9.0} us{:>9.0} us",
            phase.label,
            phase.outcome.done + phase.outcome.errors,
            phase.outcome.rate(),
            p50,
            p99,
            phase.outcome.errors,
            phase.server_cpu * 1e6 / done,
            phase.client_cpu * 1e6 / done,
        );
    }
    println!(
        "(CPU columns: CPU time per request of the server and of this process, the load generator)"
    );
    println!();
    let notes = &mut figures.phases[0].outcome;
    let api_notes = notes.rate();
    let notes_p99 = notes.quantile_ms(0.99);
    let reads = figures.phases[1].outcome.rate();
    let pages = figures.phases[3].outcome.rate();
    let ratio = api_notes / figures.store_appends;
    let rss_mib = figures.rss_kib as f64 / 1024.0;
    let row = |label: &str, value: String, goal: &str| {
        println!("{label:<58}{value:>12}  {goal}");
    };
    row("API notes/s, 32 clients", format!("{api_notes:.0}"), "");
    row(
        &format!("store durable appends/s, {STORE_WRITERS} writers (same run)"),
        format!("{:.0}", figures.store_appends),
        "",
    );
    row(
        &format!("store full commands/s, {STORE_WRITERS} writers (same run)"),
        format!("{:.0}", figures.store_commands),
        "",
    );
    row(
        "ratio API notes/s : store appends/s (goal >= 0.7)",
        format!("{ratio:.2}"),
        verdict(ratio >= 0.7),
    );
    row(
        "ratio API notes/s : store full commands/s",
        format!("{:.2}", api_notes / figures.store_commands),
        "",
    );
    row(
        "(a) append-note p99 (goal < 20 ms)",
        format!("{notes_p99:.2}"),
        verdict(notes_p99 < 20.0),
    );
    row(
        "(b) state-document reads/s (goal >= 20000)",
        format!("{reads:.0}"),
        verdict(reads >= 20_000.0),
    );
    row(
        "(d) incident pages/s, 200 entries (goal >= 5000)",
        format!("{pages:.0}"),
        verdict(pages >= 5_000.0),
    );
    let at = |p: f64| {
        let index = ((figures.big_ms.len() as f64 - 1.0) * p).round() as usize;
        figures.big_ms.get(index).copied().unwrap_or(0.0)
    };
    let (big_p50, big_p99) = (at(0.5), at(0.99));
    row(
        "(e) 10,000-entry page, ms p50 / p99 (goal < 50)",
        format!("{big_p50:.2} / {big_p99:.2}"),
        verdict(big_p99 < 50.0),
    );
    row(
        "(e) 10,000-entry page, first render (cold cache), ms",
        format!("{:.2}", figures.big_first_ms),
        verdict(figures.big_first_ms < 50.0),
    );
    row(
        "server RSS after the run, MiB (goal < 64)",
        format!("{rss_mib:.1}"),
        verdict(rss_mib < 64.0),
    );
    row(
        "server peak RSS (VmHWM), MiB",
        format!("{:.1}", figures.peak_rss_kib as f64 / 1024.0),
        "",
    );
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let url = format!("sqlite://{}", scratch.path().join("bench.db").display());
    eprintln!(
        "bench-api: {} on {url}; {} notes, {} reads, {} lists, {} clients",
        binary.display(),
        options.notes,
        options.reads,
        options.lists,
        options.clients
    );
    let token = init(&binary, &url, scratch.path())?;
    let (mut server, address) = Server::start(&binary, &url, options.server_log.as_deref())?;
    eprintln!("  server {} listening on {address}", server.pid());
    let measured = measure(&server, address, &token, &options).await;
    let stopped = server.stop().await;
    let mut figures = match measured {
        Ok(figures) => figures,
        Err(error) => {
            return Err(error.context(format!("server stderr (last lines):\n{}", server.tail())));
        }
    };
    report(&mut figures, &options);
    let status = stopped?;
    let errors =
        figures.setup_errors + figures.phases.iter().map(|p| p.outcome.errors).sum::<u64>();
    if errors > 0 {
        anyhow::bail!(
            "{errors} requests failed; the first:\n{}\nserver stderr (last lines):\n{}",
            figures.failures.join("\n"),
            server.tail()
        );
    }
    anyhow::ensure!(
        status.success(),
        "the server did not exit cleanly after SIGTERM ({status}):\n{}",
        server.tail()
    );
    Ok(())
}
