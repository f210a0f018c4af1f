//! `cargo xtask bench-chat`: chat against a real Matrix homeserver (Synapse from the
//! virtualenv `HEREBY_SYNAPSE_VENV`, default `/tmp/synapse-venv`) and a release build of the
//! server on SQLite. (1) N incidents declared at once (default 100), each getting a room:
//! the time until every room exists, the Matrix requests the adapter made and the server's
//! memory; (2) a chat message → its timeline entry, one after another (goal p99 < 1 s);
//! (3) a timeline change (a severity change through the API) → the pinned state message
//! edited in the room (goal p99 < 2 s).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::bench_api::{Binary, Server, init, locate_binary, once, request};

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) incidents: u64,
    pub(crate) messages: u64,
    pub(crate) edits: u64,
    pub(crate) binary: Binary,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            incidents: 100,
            messages: 100,
            edits: 50,
            binary: Binary::Build,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().context(format!("{arg} needs a value"));
            match arg.as_str() {
                "--incidents" => options.incidents = value()?.parse()?,
                "--messages" => options.messages = value()?.parse()?,
                "--edits" => options.edits = value()?.parse()?,
                "--binary" => options.binary = Binary::Given(value()?.into()),
                "--no-build" => options.binary = Binary::Prebuilt,
                other => anyhow::bail!(
                    "unknown option {other}; options: --incidents N --messages N --edits N --binary PATH --no-build"
                ),
            }
        }
        anyhow::ensure!(
            (1..=1_000).contains(&options.incidents)
                && (1..=10_000).contains(&options.messages)
                && (1..=1_000).contains(&options.edits),
            "--incidents 1 to 1000, --messages 1 to 10000, --edits 1 to 1000"
        );
        Ok(options)
    }
}

/// A Synapse homeserver, killed when dropped.
struct Synapse {
    child: Child,
    address: SocketAddr,
    config: PathBuf,
    venv: PathBuf,
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Synapse {
    fn start(scratch: &Path) -> Result<Self> {
        let venv = PathBuf::from(
            std::env::var("HEREBY_SYNAPSE_VENV").unwrap_or_else(|_| "/tmp/synapse-venv".into()),
        );
        let python = venv.join("bin/python");
        anyhow::ensure!(
            python.exists(),
            "no Synapse in {} (python3 -m venv it && it/bin/pip install matrix-synapse)",
            venv.display()
        );
        let config = scratch.join("homeserver.yaml");
        let generated = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "--server-name", "localhost"])
            .arg("--config-path")
            .arg(&config)
            .arg("--data-directory")
            .arg(scratch)
            .args(["--generate-config", "--report-stats=no"])
            .current_dir(scratch)
            .output()?;
        anyhow::ensure!(
            generated.status.success(),
            "{}",
            String::from_utf8_lossy(&generated.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut yaml = std::fs::read_to_string(&config)?;
        yaml.push_str(&format!(
            "\nlisteners:\n  - port: {port}\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    x_forwarded: false\n    resources:\n      - names: [client]\n        compress: false\n"
        ));
        // Later keys win: limits a bot's bursts pass.
        yaml.push_str(
            "rc_message:\n  per_second: 10000\n  burst_count: 10000\nrc_room_creation:\n  per_second: 10000\n  burst_count: 10000\nrc_joins:\n  local:\n    per_second: 10000\n    burst_count: 10000\nrc_invites:\n  per_room:\n    per_second: 10000\n    burst_count: 10000\n  per_user:\n    per_second: 10000\n    burst_count: 10000\n  per_issuer:\n    per_second: 10000\n    burst_count: 10000\nrc_login:\n  address:\n    per_second: 1000\n    burst_count: 1000\n  account:\n    per_second: 1000\n    burst_count: 1000\n",
        );
        std::fs::write(&config, yaml)?;
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(scratch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let synapse = Self {
            child,
            address,
            config,
            venv,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(address).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "Synapse did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(synapse)
    }

    /// Registers and logs in an account: its user id and token.
    async fn account(&self, name: &str) -> Result<(String, String)> {
        let registered = Command::new(self.venv.join("bin/register_new_matrix_user"))
            .arg("-c")
            .arg(&self.config)
            .args(["-u", name, "-p", "correct horse battery", "--no-admin"])
            .arg(format!("http://{}", self.address))
            .output()?;
        anyhow::ensure!(
            registered.status.success(),
            "{}",
            String::from_utf8_lossy(&registered.stderr)
        );
        let login = self
            .call(
                "POST",
                "/login",
                "",
                Some(json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": name}, "password": "correct horse battery"})),
            )
            .await?;
        Ok((
            login["user_id"].as_str().context("no user id")?.to_owned(),
            login["access_token"]
                .as_str()
                .context("no token")?
                .to_owned(),
        ))
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let body = body.map(|body| body.to_string());
        let bytes = request(
            method,
            &format!("/_matrix/client/v3{path}"),
            self.address,
            token,
            body.as_deref(),
        );
        Ok(serde_json::from_str(&once(self.address, &bytes).await?).unwrap_or(Value::Null))
    }
}

fn encode(part: &str) -> String {
    part.replace('!', "%21")
        .replace('#', "%23")
        .replace(':', "%3A")
        .replace('@', "%40")
}

fn quantile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    if samples.is_empty() {
        return 0.0;
    }
    let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index].as_secs_f64() * 1_000.0
}

/// The counter `name` of the server's `/metrics`.
async fn metric(address: SocketAddr, token: &str, name: &str) -> Result<f64> {
    let text = once(address, &request("GET", "/metrics", address, token, None)).await?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

pub(crate) async fn run(options: Options) -> Result<()> {
    let binary = locate_binary(&options.binary)?;
    let scratch = tempfile::tempdir()?;
    let synapse_dir = scratch.path().join("synapse");
    std::fs::create_dir_all(&synapse_dir)?;
    let synapse = Synapse::start(&synapse_dir)?;
    let url = format!("sqlite://{}", scratch.path().join("chat.db").display());
    let token = init(&binary, &url, scratch.path())?;
    let (mut server, address) = Server::start(&binary, &url, None)?;
    let measured = measure(&synapse, address, &token, &server, &options).await;
    let _ = server.stop().await;
    println!(
        "{}",
        measured.map_err(|e| e.context(format!("server stderr:\n{}", server.tail())))?
    );
    Ok(())
}

async fn measure(
    synapse: &Synapse,
    address: SocketAddr,
    token: &str,
    server: &Server,
    options: &Options,
) -> Result<String> {
    let api = |method: &str, path: &str, body: Option<Value>| {
        let body = body.map(|body| body.to_string());
        request(method, path, address, token, body.as_deref())
    };
    let (_, bot) = synapse.account("hereby").await?;
    let (anna, anna_token) = synapse.account("anna").await?;
    once(
        address,
        &api(
            "PUT",
            "/api/v1/chat/links",
            Some(json!({"platform": "matrix", "chat_user": anna, "user": "admin"})),
        ),
    )
    .await?;
    once(
        address,
        &api(
            "POST",
            "/api/v1/channels",
            Some(json!({"name": "matrix", "kind": "matrix", "url": format!("http://{}", synapse.address), "secret": bot})),
        ),
    )
    .await?;
    let before_rss = server.memory_kib()?.0;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // (1) Rooms for N incidents declared at once.
    let requests_before = metric(address, token, "hereby_chat_requests_total").await?;
    let started = Instant::now();
    for n in 1..=options.incidents {
        once(
            address,
            &api(
                "POST",
                "/api/v1/incidents",
                Some(json!({"title": format!("bench {n}"), "severity": "SEV2"})),
            ),
        )
        .await?;
    }
    let mut since = String::new();
    let mut invited = std::collections::BTreeSet::new();
    while invited.len() < options.incidents as usize {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {} rooms after 10 minutes",
            invited.len(),
            options.incidents
        );
        let path = if since.is_empty() {
            "/sync?timeout=0".to_owned()
        } else {
            format!("/sync?since={since}&timeout=2000")
        };
        let synced = synapse.call("GET", &path, &anna_token, None).await?;
        since = synced["next_batch"].as_str().unwrap_or_default().to_owned();
        if let Some(invites) = synced["rooms"]["invite"].as_object() {
            invited.extend(invites.keys().cloned());
        }
    }
    let rooms_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = metric(address, token, "hereby_chat_requests_total").await? - requests_before;
    let (rss, peak) = server.memory_kib()?;

    // (2) A chat message -> its timeline entry.
    let room = synapse
        .call(
            "GET",
            &format!("/directory/room/{}", encode("#inc-1-bench-1:localhost")),
            &anna_token,
            None,
        )
        .await?["room_id"]
        .as_str()
        .context("no room for INC-1")?
        .to_owned();
    synapse
        .call(
            "POST",
            &format!("/join/{}", encode(&room)),
            &anna_token,
            Some(json!({})),
        )
        .await?;
    let timeline_len = |body: &str| -> usize {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|value| value["entries"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let mut seen = timeline_len(
        &once(
            address,
            &api("GET", "/api/v1/incidents/INC-1/timeline?limit=500", None),
        )
        .await?,
    );
    let mut to_timeline = Vec::new();
    for n in 0..options.messages {
        let started = Instant::now();
        synapse
            .call(
                "PUT",
                &format!("/rooms/{}/send/m.room.message/bench{n}", encode(&room)),
                &anna_token,
                Some(json!({"msgtype": "m.text", "body": format!("inc note message {n}")})),
            )
            .await?;
        loop {
            let now = timeline_len(
                &once(
                    address,
                    &api("GET", "/api/v1/incidents/INC-1/timeline?limit=500", None),
                )
                .await?,
            );
            if now > seen {
                seen = now;
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "message {n} never reached the timeline"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        to_timeline.push(started.elapsed());
    }

    // (3) A timeline change -> the pinned state message edited.
    let mut since = synapse
        .call("GET", "/sync?timeout=0", &anna_token, None)
        .await?["next_batch"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut to_edit = Vec::new();
    for n in 0..options.edits {
        let severity = if n % 2 == 0 { "SEV3" } else { "SEV2" };
        let started = Instant::now();
        once(
            address,
            &api(
                "POST",
                "/api/v1/incidents/INC-1/severity",
                Some(json!({"severity": severity, "reason": format!("bench {n}")})),
            ),
        )
        .await?;
        'wait: loop {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "edit {n} never came"
            );
            let synced = synapse
                .call(
                    "GET",
                    &format!("/sync?since={since}&timeout=5000"),
                    &anna_token,
                    None,
                )
                .await?;
            since = synced["next_batch"].as_str().unwrap_or_default().to_owned();
            for event in synced["rooms"]["join"][&room]["timeline"]["events"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let content = &event["content"];
                if content["m.relates_to"]["rel_type"] == "m.replace"
                    && content["m.new_content"]["body"]
                        .as_str()
                        .is_some_and(|body| body.contains(&format!("Severity: {severity}")))
                {
                    break 'wait;
                }
            }
        }
        to_edit.push(started.elapsed());
    }
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let (t50, t99) = (
        quantile(&mut to_timeline, 0.5),
        quantile(&mut to_timeline, 0.99),
    );
    let (e50, e99) = (quantile(&mut to_edit, 0.5), quantile(&mut to_edit, 0.99));
    Ok(format!(
        "bench-chat: Synapse on {synapse}, a release server on SQLite\n\
         (1) {incidents} incidents declared at once: every room made in {rooms_seconds:.1} s; \
         {requests:.0} Matrix requests by the adapter ({per_room:.1} per room, {rate:.1}/s); \
         server RSS {before_mib:.1} MiB before, {rss_mib:.1} MiB after (peak {peak_mib:.1} MiB)\n\
         (2) chat message -> timeline entry, {messages} messages: p50 {t50:.0} ms, p99 {t99:.0} ms (goal p99 < 1000 ms: {m1})\n\
         (3) timeline change -> pinned message edited, {edits} changes: p50 {e50:.0} ms, p99 {e99:.0} ms (goal p99 < 2000 ms: {m2})",
        synapse = synapse.address,
        incidents = options.incidents,
        per_room = requests / options.incidents as f64,
        rate = requests / rooms_seconds.max(0.001),
        before_mib = before_rss as f64 / 1024.0,
        rss_mib = rss as f64 / 1024.0,
        peak_mib = peak as f64 / 1024.0,
        messages = options.messages,
        edits = options.edits,
        m1 = verdict(t99 < 1000.0),
        m2 = verdict(e99 < 2000.0),
    ))
}
