//! One typed configuration for `hereby serve`: defaults, then a TOML file, then `HEREBY_*`
//! environment variables and flags (which clap reads, and which win). Loading has no side
//! effects, and the database URL's password never appears in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// The `serve` settings a file may give; every field is optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) database_url: Option<String>,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) max_attachment_bytes: Option<usize>,
    pub(crate) public_url: Option<String>,
    pub(crate) header_timeout: Option<String>,
    pub(crate) max_connections_per_address: Option<usize>,
    pub(crate) trusted_proxies: Option<Vec<std::net::IpAddr>>,
    pub(crate) metrics_token: Option<String>,
    pub(crate) metrics_public: Option<bool>,
    pub(crate) no_chat_adapters: Option<bool>,
    pub(crate) alert_events_per_minute: Option<u32>,
    pub(crate) alert_queue_limit: Option<u64>,
    pub(crate) cadence: Option<String>,
    pub(crate) notify_max_attempts: Option<u32>,
    pub(crate) notify_backoff: Option<String>,
    pub(crate) notify_backoff_max: Option<String>,
    pub(crate) notify_lease: Option<String>,
    pub(crate) notify_timeout: Option<String>,
    pub(crate) tracker_poll: Option<String>,
    pub(crate) review_interval: Option<String>,
    pub(crate) review_time: Option<String>,
    pub(crate) severity_rules: Option<std::path::PathBuf>,
    pub(crate) permissions: Option<std::path::PathBuf>,
    pub(crate) collision_window: Option<String>,
    pub(crate) staffing_grace: Option<String>,
}

impl fmt::Debug for FileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileConfig")
            .field(
                "database_url",
                &self.database_url.as_deref().map(hereby_store::redact_url),
            )
            .field("listen", &self.listen)
            .field("log_format", &self.log_format)
            .field("max_attachment_bytes", &self.max_attachment_bytes)
            .field("public_url", &self.public_url)
            .field("header_timeout", &self.header_timeout)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("metrics_public", &self.metrics_public)
            .field("no_chat_adapters", &self.no_chat_adapters)
            .field("alert_events_per_minute", &self.alert_events_per_minute)
            .field("cadence", &self.cadence)
            .field("notify_max_attempts", &self.notify_max_attempts)
            .field("notify_backoff", &self.notify_backoff)
            .field("notify_backoff_max", &self.notify_backoff_max)
            .field("notify_lease", &self.notify_lease)
            .field("notify_timeout", &self.notify_timeout)
            .field("tracker_poll", &self.tracker_poll)
            .field("review_interval", &self.review_interval)
            .field("review_time", &self.review_time)
            .field("severity_rules", &self.severity_rules)
            .field("permissions", &self.permissions)
            .field("collision_window", &self.collision_window)
            .field("staffing_grace", &self.staffing_grace)
            .finish()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FileConfig {
    /// Reads a TOML file such as:
    ///
    /// ```toml
    /// database_url = "postgres://hereby@db/hereby"
    /// listen = "0.0.0.0:8080"
    /// log_format = "json"
    /// max_attachment_bytes = 52428800
    /// public_url = "https://hereby.example.com"
    /// cadence = "SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none"
    /// notify_max_attempts = 8
    /// notify_backoff = "2s"
    /// notify_backoff_max = "15m"
    /// review_interval = "30d"
    /// ```
    ///
    /// Durations are read by [`hereby_core::duration`], the grammar every setting shares.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }
}

/// Starts logging to stderr. `RUST_LOG` filters (default `info`).
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (only possible in tests) is harmless, so its error is ignored.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
