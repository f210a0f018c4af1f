//! `hereby serve` and `hereby init`: open the database, make sure the installation has its
//! first admin, and run the server until SIGINT or SIGTERM.

use std::net::SocketAddr;

use hereby_core::duration::Duration;
use hereby_core::types::{InstallationRole, UserName};
use hereby_server::AppState;
use hereby_server::tokens::NewToken;
use hereby_store::Directory;
use jiff::Timestamp;

use crate::any_store::AnyStore;

/// What first-run set-up did.
pub(crate) enum FirstRun {
    /// The installation already had users.
    AlreadySetUp,
    /// The first admin was created; this is their token, shown this once.
    Created { admin: UserName, token: NewToken },
}

/// Creates the first admin and their token if the installation has no user yet.
pub(crate) async fn first_run(store: &AnyStore, admin: &UserName) -> anyhow::Result<FirstRun> {
    if store.count_users().await? > 0 {
        return Ok(FirstRun::AlreadySetUp);
    }
    let token =
        NewToken::generate().map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    match store
        .create_first_admin(admin, "first admin", token.digest(), Timestamp::now())
        .await
    {
        Ok(Some(_)) => Ok(FirstRun::Created {
            admin: admin.clone(),
            token,
        }),
        // Another process set the installation up at the same moment.
        Ok(None) => Ok(FirstRun::AlreadySetUp),
        Err(error) => Err(error.into()),
    }
}

/// The cadence, the review-meeting interval and the notification workers' settings.
pub(crate) struct Notifying {
    cadence: hereby_core::Cadence,
    review_interval: jiff::SignedDuration,
    review_time: hereby_core::ReviewTime,
    severity_rules: hereby_core::severity::SeverityRules,
    permissions: hereby_core::Permissions,
    connections: hereby_server::ConnectionLimits,
    metrics: hereby_server::MetricsAccess,
    /// Alert events each integration may send per minute.
    alert_events_per_minute: u32,
    /// Alert events this node may hold queued (0: the default).
    alert_queue_limit: u64,
    collision_window: jiff::SignedDuration,
    staffing_grace: jiff::SignedDuration,
    settings: hereby_server::notify::Settings,
    /// Whether this node runs the chat adapters.
    chat_adapters: bool,
}

impl Notifying {
    /// Flags and variables first, then the file, then the defaults.
    pub(crate) fn from_settings(
        args: &crate::ServeArgs,
        file: &crate::config::FileConfig,
    ) -> Result<Self, String> {
        let cadence = match args.cadence.as_ref().or(file.cadence.as_ref()) {
            Some(raw) => hereby_core::Cadence::parse(raw).map_err(|e| e.to_string())?,
            None => hereby_core::Cadence::default(),
        };
        let defaults = hereby_server::notify::Settings::default();
        let duration = |flag: &Option<String>, key: &Option<String>, name: &str, default| match flag
            .as_ref()
            .or(key.as_ref())
        {
            Some(raw) => Duration::parse(raw)
                .map_err(|e| format!("{name}: {e}"))
                .and_then(|d| {
                    if d.is_zero() && name != "notify_backoff" {
                        Err(format!("{name} must be longer than zero"))
                    } else {
                        Ok(d.std())
                    }
                }),
            None => Ok(default),
        };
        let max_attempts = args
            .notify_max_attempts
            .or(file.notify_max_attempts)
            .unwrap_or(defaults.max_attempts);
        if max_attempts == 0 {
            return Err("notify_max_attempts must be at least 1".into());
        }
        let settings = hereby_server::notify::Settings {
            max_attempts,
            backoff_base: duration(
                &args.notify_backoff,
                &file.notify_backoff,
                "notify_backoff",
                defaults.backoff_base,
            )?,
            backoff_max: duration(
                &args.notify_backoff_max,
                &file.notify_backoff_max,
                "notify_backoff_max",
                defaults.backoff_max,
            )?,
            lease: duration(
                &args.notify_lease,
                &file.notify_lease,
                "notify_lease",
                defaults.lease,
            )?,
            timeout: duration(
                &args.notify_timeout,
                &file.notify_timeout,
                "notify_timeout",
                defaults.timeout,
            )?,
            poll: defaults.poll,
            tracker_poll: duration(
                &args.tracker_poll,
                &file.tracker_poll,
                "tracker_poll",
                defaults.tracker_poll,
            )?,
            review_lead: duration(
                &args.review_reminder_lead,
                &None,
                "review_reminder_lead",
                defaults.review_lead,
            )?,
        };
        let review_interval = match args
            .review_interval
            .as_ref()
            .or(file.review_interval.as_ref())
        {
            Some(raw) => Duration::parse(raw)
                .map_err(|e| format!("review_interval: {e}"))
                .and_then(|d| {
                    Some(d.signed())
                        .filter(|d| d.as_secs() >= 60)
                        .ok_or_else(|| "review_interval must be at least 1m".to_owned())
                })?,
            None => hereby_core::Policy::DEFAULT_REVIEW_INTERVAL,
        };
        let review_time = match args.review_time.as_ref().or(file.review_time.as_ref()) {
            Some(raw) => hereby_core::ReviewTime::parse(raw).map_err(|e| e.to_string())?,
            None => hereby_core::ReviewTime::default(),
        };
        let severity_rules = match args
            .severity_rules
            .as_ref()
            .or(file.severity_rules.as_ref())
        {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("severity_rules: cannot read {}: {e}", path.display()))?;
                hereby_core::severity::SeverityRules::from_toml(&text)
                    .map_err(|e| format!("severity_rules {}: {e}", path.display()))?
            }
            None => hereby_core::severity::SeverityRules::default(),
        };
        let permissions = match args.permissions.as_ref().or(file.permissions.as_ref()) {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("permissions: cannot read {}: {e}", path.display()))?;
                let table = hereby_core::Permissions::from_toml(&text)
                    .map_err(|e| format!("permissions {}: {e}", path.display()))?;
                table
                    .check_roles(&hereby_core::RoleCatalogue::default())
                    .map_err(|e| format!("permissions {}: {e}", path.display()))?;
                table
            }
            None => hereby_core::Permissions::default(),
        };
        let connections = hereby_server::ConnectionLimits {
            header_timeout: match args
                .header_timeout
                .as_ref()
                .or(file.header_timeout.as_ref())
            {
                Some(raw) => Duration::parse(raw)
                    .map_err(|e| format!("header_timeout: {e}"))
                    .and_then(|d| {
                        Some(d.std())
                            .filter(|d| d.as_millis() >= 100 && d.as_secs() <= 3600)
                            .ok_or_else(|| {
                                "header_timeout must be at least 100ms and at most 1h".to_owned()
                            })
                    })?,
                None => hereby_server::ConnectionLimits::DEFAULT_HEADER_TIMEOUT,
            },
            per_address: args
                .max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(hereby_server::ConnectionLimits::DEFAULT_PER_ADDRESS),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies.clone().unwrap_or_default()
            } else {
                args.trusted_proxies.clone()
            },
        };
        let metrics = if args.metrics_public || file.metrics_public == Some(true) {
            hereby_server::MetricsAccess::Public
        } else {
            match args.metrics_token.as_ref().or(file.metrics_token.as_ref()) {
                Some(token) if token.trim().chars().count() < 16 => {
                    return Err("metrics_token must be at least 16 characters".to_owned());
                }
                Some(token) => hereby_server::MetricsAccess::Token(
                    hereby_server::extract::token_digest(token.trim()),
                ),
                None => hereby_server::MetricsAccess::Protected,
            }
        };
        let window = |flag: &Option<String>, key: &Option<String>, name: &str, default| match flag
            .as_ref()
            .or(key.as_ref())
        {
            Some(raw) => Duration::parse(raw)
                .map_err(|e| format!("{name}: {e}"))
                .and_then(|d| {
                    Some(d.signed())
                        .filter(|d| d.is_positive() && d.as_secs() <= 7 * 24 * 3600)
                        .ok_or_else(|| format!("{name} must be longer than zero and at most 7d"))
                }),
            None => Ok(default),
        };
        Ok(Self {
            chat_adapters: !(args.no_chat_adapters || file.no_chat_adapters == Some(true)),
            cadence,
            review_interval,
            review_time,
            severity_rules,
            permissions,
            connections,
            metrics,
            alert_events_per_minute: match args
                .alert_events_per_minute
                .or(file.alert_events_per_minute)
            {
                Some(0) => return Err("alert_events_per_minute must be at least 1".to_owned()),
                Some(rate) => rate,
                // Zero stands for the application's default.
                None => 0,
            },
            alert_queue_limit: match args.alert_queue_limit.or(file.alert_queue_limit) {
                Some(0) => return Err("alert_queue_limit must be at least 1".to_owned()),
                Some(limit) => limit,
                None => 0,
            },
            collision_window: window(
                &args.collision_window,
                &file.collision_window,
                "collision_window",
                hereby_core::Policy::DEFAULT_COLLISION_WINDOW,
            )?,
            staffing_grace: window(
                &args.staffing_grace,
                &file.staffing_grace,
                "staffing_grace",
                hereby_core::Policy::DEFAULT_STAFFING_GRACE,
            )?,
            settings,
        })
    }
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish and stops the
/// notification workers.
pub(crate) async fn serve(
    store: AnyStore,
    listen: SocketAddr,
    max_attachment_bytes: usize,
    public_url: Option<String>,
    notifying: Notifying,
) -> anyhow::Result<()> {
    let admin = UserName::parse("admin")?;
    if let FirstRun::Created { admin, token } = first_run(&store, &admin).await? {
        eprintln!(
            "hereby: this is a new installation. Its first admin is `{admin}`, with this API token (shown once, store it now):"
        );
        println!("{}", token.reveal());
        eprintln!(
            "hereby: use it as `HEREBY_TOKEN` for the command-line client, or as `Authorization: Bearer <token>`."
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    let public_url = public_url.unwrap_or_else(|| format!("http://{address}"));
    if !store.any_password_set().await? {
        setup_link(&store, &public_url).await?;
    }
    eprintln!(
        "hereby is listening on http://{address} (web UI: /, API: /api/v1, health: /healthz, readiness: /readyz)"
    );
    let policy = hereby_core::Policy {
        review_interval: notifying.review_interval,
        review_time: notifying.review_time,
        severity_rules: notifying.severity_rules,
        permissions: notifying.permissions,
        collision_window: notifying.collision_window,
        staffing_grace: notifying.staffing_grace,
        ..hereby_core::Policy::default()
    };
    let mut state = AppState::new(store, policy);
    state.max_attachment_bytes = max_attachment_bytes;
    state.metrics_access = notifying.metrics;
    state.web.secure_cookies = public_url.starts_with("https://");
    state.app.cadence = std::sync::Arc::new(notifying.cadence);
    state.app.public_url = Some(public_url);
    state.app.set_alert_rate(notifying.alert_events_per_minute);
    state.app.set_alert_queue_limit(notifying.alert_queue_limit);
    let workers = hereby_server::notify::start(state.clone(), notifying.settings);
    // What the insights page reads is read ahead in the background, once.
    let warming = state.app.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match warming.warm_reports().await {
            Ok(incidents) => tracing::info!(
                incidents,
                ms = started.elapsed().as_millis() as u64,
                "read ahead the incidents reports read"
            ),
            Err(error) => tracing::warn!(%error, "cannot read ahead the incidents reports read"),
        }
    });
    let alert_timers = hereby_server::start_alert_timers(state.clone());
    let chat = notifying
        .chat_adapters
        .then(|| hereby_server::chat::start(state.clone()));
    let served =
        hereby_server::serve(listener, state, notifying.connections, shutdown_signal()).await;
    alert_timers.stop().await;
    if let Some(chat) = chat {
        chat.stop().await;
    }
    workers.stop().await;
    served?;
    eprintln!("hereby stopped");
    Ok(())
}

/// Prints a one-time link with which the first admin chooses their password, while nobody
/// has one yet. Each start makes a new link (earlier ones stay valid until used or expired),
/// so a restart before the password was chosen loses nothing.
async fn setup_link(store: &AnyStore, public_url: &str) -> anyhow::Result<()> {
    let admin = store
        .list_users()
        .await?
        .into_iter()
        .find(|user| user.role == InstallationRole::Admin && !user.disabled);
    let Some(admin) = admin else {
        return Ok(());
    };
    let secret = hereby_server::web::new_setup_link(store, &admin.name)
        .await
        .map_err(|error| anyhow::anyhow!("cannot make a setup link: {}", error.message))?;
    eprintln!(
        "hereby: nobody has a password yet. {} can choose one with this one-time link (valid {} hours):",
        admin.name,
        hereby_server::web::SETUP_LINK_TTL.as_hours()
    );
    eprintln!("    {public_url}/setup/{secret}");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}
