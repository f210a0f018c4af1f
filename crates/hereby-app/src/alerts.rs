//! Alerts in, as the application serves them: alert routes as a typed setting, integrations
//! (a key shown once and stored as a digest, rotated with an overlap, revoked), a source's
//! events recorded durably with the routes in force, and the incidents routes ask for opened
//! and told what their alerts do. The formats of the sources are the edge's business: what
//! arrives here is already a list of [`Signal`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hereby_api as api;
use hereby_core::Command;
use hereby_core::alerts::{
    Creation, MaintenanceSpec, MaintenanceWindow, Route, RouteSpec, Routes, Signal, WindowKind,
};
use hereby_core::duration::Duration;
use hereby_core::event::AlertGroupRef;
use hereby_core::types::{
    IncidentNumber, InstallationRole, InvalidValue, ServiceName, Text, Title, UserName, Visibility,
};
use hereby_store::{
    AdminSetting, AlertChange, AlertGroup, AlertPayload, Alerts, Communications, Directory,
    Integration, NewIntegration, Recorded, Store, User,
};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::{App, AppError, require};

/// The settings kind routes are stored under.
pub const ROUTE_KIND: &str = "alert_route";
/// The settings kind maintenance windows are stored under.
pub const MAINTENANCE_KIND: &str = "alert_maintenance";

/// The longest silence a person may set on a group.
const MAX_SILENCE: &str = "7d";

/// The dedup key of the alert a heartbeat raises when its pings stop.
pub const HEARTBEAT_KEY: &str = "heartbeat";

/// Events an integration may send per minute unless the server is told otherwise.
pub const DEFAULT_EVENTS_PER_MINUTE: u32 = 6_000;

/// How long a rotated-out key keeps working unless the admin says otherwise, and at most.
const DEFAULT_OVERLAP: &str = "1h";
const MAX_OVERLAP: &str = "7d";

/// What an integration key is kept as.
pub fn key_digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.trim().as_bytes()).to_vec()
}

/// A fresh integration key: 128 random bits as 32 lowercase hex digits, the length of a
/// PagerDuty routing key, so every client that checks it accepts it.
fn new_key() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        AppError::Internal(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(hex::encode(bytes))
}

/// The route spec an admin's value stands for: absent fields keep the shipped values.
pub fn route_spec(value: &api::AlertRouteValue) -> Result<RouteSpec, InvalidValue> {
    let shipped = RouteSpec::default();
    Ok(RouteSpec {
        order: value.order.unwrap_or(shipped.order),
        matchers: value.matchers.clone(),
        service: value.service.clone(),
        severity_map: value.severity_map.clone().unwrap_or(shipped.severity_map),
        severity_label: value
            .severity_label
            .clone()
            .unwrap_or(shipped.severity_label),
        default_severity: value
            .default_severity
            .clone()
            .unwrap_or(shipped.default_severity),
        group_by: value.group_by.clone().unwrap_or(shipped.group_by),
        window_kind: match value.window_kind.as_deref().map(str::trim) {
            None => shipped.window_kind,
            Some("fixed") => WindowKind::Fixed,
            Some("extending") => WindowKind::Extending,
            Some(other) => {
                return Err(InvalidValue::new(
                    "window_kind",
                    format!("`{other}` is not a window kind: use fixed or extending"),
                ));
            }
        },
        window: value.window.clone().unwrap_or(shipped.window),
        max_age: value.max_age.clone().unwrap_or(shipped.max_age),
        reopen_window: value.reopen_window.clone().unwrap_or(shipped.reopen_window),
        create: value.create.clone().unwrap_or(shipped.create),
        resolve_on: match value.resolve_on.as_deref().map(str::trim) {
            None => shipped.resolve_on,
            Some("never") => hereby_core::alerts::ResolveOn::Never,
            Some("all_alerts_resolved") => hereby_core::alerts::ResolveOn::AllAlertsResolved,
            Some(other) => {
                return Err(InvalidValue::new(
                    "resolve_on",
                    format!("`{other}` is not a choice: use never or all_alerts_resolved"),
                ));
            }
        },
        pause: value.pause.clone().unwrap_or(shipped.pause),
        flap_limit: value.flap_limit.unwrap_or(shipped.flap_limit),
        flap_window: value.flap_window.clone().unwrap_or(shipped.flap_window),
    })
}

/// The core's spelling of a maintenance window as an admin wrote it.
pub fn maintenance_spec(value: &api::AlertMaintenanceValue) -> MaintenanceSpec {
    MaintenanceSpec {
        matchers: value.matchers.clone(),
        starts: value.starts.clone(),
        ends: value.ends.clone(),
        repeat: value.repeat.clone(),
        reason: value.reason.clone(),
    }
}

/// A maintenance window as the settings show it.
pub fn maintenance_value(window: &MaintenanceWindow) -> api::AlertMaintenanceValue {
    let spec = window.spec();
    api::AlertMaintenanceValue {
        matchers: spec.matchers,
        starts: spec.starts,
        ends: spec.ends,
        repeat: spec.repeat,
        reason: spec.reason,
    }
}

/// A route as the settings show it: every field written out.
pub fn route_value(route: &Route) -> api::AlertRouteValue {
    api::AlertRouteValue {
        order: Some(route.order),
        matchers: route.matchers.iter().map(ToString::to_string).collect(),
        service: route.service.as_ref().map(|service| match service {
            hereby_core::alerts::ServiceSource::Named(name) => name.to_string(),
            hereby_core::alerts::ServiceSource::Label(label) => format!("label:{label}"),
        }),
        severity_map: Some(
            route
                .severity_map
                .iter()
                .map(|(word, severity)| (word.clone(), severity.as_str().to_owned()))
                .collect(),
        ),
        severity_label: Some(route.severity_label.clone()),
        default_severity: Some(route.default_severity.as_str().to_owned()),
        group_by: Some(route.group_by.clone()),
        window_kind: Some(
            match route.window_kind {
                WindowKind::Fixed => "fixed",
                WindowKind::Extending => "extending",
            }
            .to_owned(),
        ),
        window: Some(route.window.to_string()),
        max_age: Some(route.max_age.to_string()),
        reopen_window: Some(route.reopen_window.to_string()),
        create: Some(route.create.to_string()),
        resolve_on: Some(
            match route.resolve_on {
                hereby_core::alerts::ResolveOn::Never => "never",
                hereby_core::alerts::ResolveOn::AllAlertsResolved => "all_alerts_resolved",
            }
            .to_owned(),
        ),
        pause: Some(route.pause.to_string()),
        flap_limit: Some(route.flap_limit),
        flap_window: Some(route.flap_window.to_string()),
    }
}

/// Why a new alert went where it went, in the words the timeline uses.
fn why(route: &Route, placement: Option<hereby_core::alerts::Placement>) -> String {
    use hereby_core::alerts::Placement;
    let how = match placement {
        Some(Placement::Join) => "joined the open group",
        Some(Placement::Reopen) => "fired again within the reopen window and reopened the group",
        Some(Placement::New { after: true }) => {
            "opened a new group (the previous one under this key had closed)"
        }
        _ => "opened the group",
    };
    format!(
        "{how}, by route `{}` ({}; {}; incidents: {})",
        route.name,
        if route.group_by.is_empty() {
            "one group for the route".to_owned()
        } else {
            format!("grouped by {}", route.group_by.join(", "))
        },
        route.window_words(),
        route.create
    )
}

/// The integrations recently opened by a key, by the key's digest: every event a source sends
/// names its key, and a storm would otherwise read the same row once per event. An entry is
/// kept for [`KEYS_KEPT`]; a revocation or rotation made through this process forgets them
/// all at once, one made through another node is seen within [`KEYS_KEPT`]. An integration
/// in the middle of a rotation is not kept (its previous key's end is then exact), nor is an
/// unknown key (no one fills this with guesses), and at most [`KEYS_HELD`] are.
#[derive(Debug, Default)]
pub(crate) struct KnownKeys {
    keys: Mutex<HashMap<Vec<u8>, (std::time::Instant, Integration)>>,
    /// Moved by every forgetting: a lookup that began before one keeps nothing.
    generation: AtomicU64,
}

/// When a lookup began, for [`KnownKeys::keep`].
pub(crate) struct KeyLookup {
    since: std::time::Instant,
    generation: u64,
}

/// How long a key's integration is kept.
const KEYS_KEPT: std::time::Duration = std::time::Duration::from_secs(1);
/// The most keys kept at once; more empty the cache.
const KEYS_HELD: usize = 1_024;

impl KnownKeys {
    fn get(&self, digest: &[u8]) -> Option<Integration> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(digest)
            .filter(|(since, _)| since.elapsed() < KEYS_KEPT)
            .map(|(_, integration)| integration.clone())
    }

    /// Notes that a lookup begins (before the database is read).
    fn begin(&self) -> KeyLookup {
        KeyLookup {
            since: std::time::Instant::now(),
            generation: self.generation.load(Ordering::SeqCst),
        }
    }

    /// Keeps what a lookup found, counted from when it began; nothing when keys were
    /// forgotten meanwhile (a revocation may have committed after the read).
    fn keep(&self, lookup: KeyLookup, digest: Vec<u8>, integration: &Integration) {
        if integration
            .previous_until
            .is_some_and(|until| until > Timestamp::now())
        {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock, which forgetting takes too.
        if self.generation.load(Ordering::SeqCst) != lookup.generation {
            return;
        }
        if keys.len() >= KEYS_HELD {
            keys.clear();
        }
        keys.insert(digest, (lookup.since, integration.clone()));
    }

    fn forget_all(&self) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        keys.clear();
    }
}

/// A token bucket per integration, kept in this process.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<i64, (f64, Timestamp)>>,
    events_per_minute: std::sync::atomic::AtomicU32,
    /// Alert events the process may hold queued (0: [`DEFAULT_QUEUE_LIMIT`]).
    queue_limit: AtomicU64,
}

impl Limiter {
    /// Takes `events` from the integration's bucket, or says how many seconds until they fit.
    fn take(&self, integration: i64, events: usize, now: Timestamp) -> Result<(), u64> {
        let per_minute = match self
            .events_per_minute
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => DEFAULT_EVENTS_PER_MINUTE,
            set => set,
        };
        let capacity = f64::from(per_minute);
        let rate = capacity / 60.0;
        let wanted = events as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, since) = buckets.entry(integration).or_insert((capacity, now));
        let elapsed = now.duration_since(*since).as_secs_f64().max(0.0);
        *tokens = (*tokens + elapsed * rate).min(capacity);
        *since = now;
        // A payload larger than the whole bucket would never fit: a full bucket takes it and
        // goes into debt, which later payloads wait out.
        if wanted <= *tokens || (wanted > capacity && *tokens >= capacity) {
            *tokens -= wanted;
            return Ok(());
        }
        let missing = wanted.min(capacity) - *tokens;
        Err((missing / rate).ceil().max(1.0) as u64)
    }
}

/// The process's one signal that alerts changed: a generation that grows with every change
/// recorded here, and with every newer payload another node recorded (the alert timers look
/// once per tick, for the whole process). Live pages wait on it; nobody polls per client.
#[derive(Debug)]
pub(crate) struct AlertFeed {
    generation: tokio::sync::watch::Sender<u64>,
    /// The newest payload id this process knows of.
    newest_payload: std::sync::atomic::AtomicI64,
}

impl Default for AlertFeed {
    fn default() -> Self {
        Self {
            generation: tokio::sync::watch::channel(0).0,
            newest_payload: std::sync::atomic::AtomicI64::new(0),
        }
    }
}

impl AlertFeed {
    fn bump(&self) {
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Notes a payload id seen; whether it is newer than any before.
    fn saw_payload(&self, id: i64) -> bool {
        id > self
            .newest_payload
            .fetch_max(id, std::sync::atomic::Ordering::SeqCst)
    }
}

impl<S> App<S> {
    /// Follows the alert feed: the receiver changes whenever alerts or groups change.
    pub fn alerts_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.alert_feed.generation.subscribe()
    }
}

/// What became of a received payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The payload's id, under which it is kept.
    pub payload: i64,
    /// What its signals did, when they were recorded before the answer (the recorder kept
    /// up); `None` when the payload was queued behind a backlog, to be recorded in order.
    pub recorded: Option<Recorded>,
    /// Incidents opened because of it.
    pub opened: Vec<IncidentNumber>,
}

impl<S> App<S> {
    /// Sets how many events each integration may send per minute (0: the default).
    pub fn set_alert_rate(&self, events_per_minute: u32) {
        self.limiter
            .events_per_minute
            .store(events_per_minute, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets how many alert events this process may hold queued (0: the default).
    pub fn set_alert_queue_limit(&self, events: u64) {
        self.limiter.queue_limit.store(events, Ordering::Relaxed);
    }
}

fn wire(integration: &Integration) -> api::Integration {
    api::Integration {
        id: integration.id,
        name: integration.name.clone(),
        kind: integration.kind.clone(),
        created_at: integration.created_at.to_string(),
        revoked_at: integration.revoked_at.map(|at| at.to_string()),
        previous_key_until: integration.previous_until.map(|at| at.to_string()),
        last_event_at: integration.last_event_at.map(|at| at.to_string()),
        path: path_of(&integration.kind).to_owned(),
        timeout: integration
            .heartbeat_timeout
            .and_then(Duration::from_signed)
            .map(|timeout| timeout.to_string()),
        queued_events: 0,
    }
}

/// Where a source of each kind sends, relative to the server's address.
pub fn path_of(kind: &str) -> &'static str {
    match kind {
        "alertmanager" => "/ingest/alertmanager",
        "pagerduty" => "/v2/enqueue",
        "opsgenie" => "/v2/alerts",
        "heartbeat" => "/ingest/heartbeat",
        _ => "/ingest/generic",
    }
}

/// What to paste into the source's configuration.
fn config_snippet(kind: &str, name: &str, key: &str, base: &str) -> String {
    let base = base.trim_end_matches('/');
    match kind {
        "alertmanager" => format!(
            "# alertmanager.yml: a receiver that sends to hereby ({name})\n\
             receivers:\n  - name: hereby\n    webhook_configs:\n      - url: {base}/ingest/alertmanager\n        send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            credentials: {key}\n"
        ),
        "pagerduty" => format!(
            "# Any PagerDuty Events API v2 client ({name}): send to {base}/v2/enqueue\n\
             # with routing_key {key}. In alertmanager.yml:\n\
             receivers:\n  - name: hereby\n    pagerduty_configs:\n      - routing_key: {key}\n        url: {base}/v2/enqueue\n"
        ),
        "opsgenie" => format!(
            "# Any Opsgenie Alert API client ({name}): API URL {base}/ with the header\n\
             # Authorization: GenieKey {key}. In alertmanager.yml:\n\
             receivers:\n  - name: hereby\n    opsgenie_configs:\n      - api_key: {key}\n        api_url: {base}/\n"
        ),
        "heartbeat" => format!(
            "# {name}: ping hereby at least once per timeout, e.g. at the end of a cron job:\n\
             curl -fsS -X POST -H 'Authorization: Bearer {key}' {base}/ingest/heartbeat\n"
        ),
        _ => format!(
            "# {name}: POST JSON or a form to {base}/ingest/generic with the header\n\
             # Authorization: Bearer {key}, e.g.\n\
             curl -H 'Authorization: Bearer {key}' -d summary='Disk full on db-1' -d dedup=db-1-disk {base}/ingest/generic\n"
        ),
    }
}

impl<S: Store + Communications> App<S> {
    /// The routes in force: the admins' ones and the shipped catch-all, in the order tried.
    pub async fn alert_routes(&self) -> Result<Routes, AppError> {
        let mut routes = Vec::new();
        for stored in self.store.list_settings(ROUTE_KIND).await? {
            let value: api::AlertRouteValue = serde_json::from_str(&stored.value).map_err(|e| {
                AppError::Internal(format!("alert route `{}` is unreadable: {e}", stored.name))
            })?;
            let spec = route_spec(&value)?;
            routes.push(Route::from_spec(&stored.name, &spec)?);
        }
        // The admins' windows, then those scheduled maintenance stands for.
        let mut windows = self.maintenance_windows().await?;
        windows.extend(self.scheduled_alert_windows().await?);
        Ok(Routes::new(routes).with_maintenance(windows))
    }

    /// The maintenance windows admins stored, by name.
    pub async fn maintenance_windows(&self) -> Result<Vec<MaintenanceWindow>, AppError> {
        let mut windows = Vec::new();
        for stored in self.store.list_settings(MAINTENANCE_KIND).await? {
            let value: api::AlertMaintenanceValue =
                serde_json::from_str(&stored.value).map_err(|e| {
                    AppError::Internal(format!(
                        "maintenance window `{}` is unreadable: {e}",
                        stored.name
                    ))
                })?;
            windows.push(MaintenanceWindow::from_spec(
                &stored.name,
                &maintenance_spec(&value),
            )?);
        }
        Ok(windows)
    }

    /// Checks and stores a maintenance window as `actor` (an admin).
    pub async fn save_maintenance_window(
        &self,
        actor: &User,
        name: &str,
        value: &api::AlertMaintenanceValue,
    ) -> Result<MaintenanceWindow, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = UserName::parse(name.trim()).map_err(|_| {
            InvalidValue::new(
                "name",
                "a maintenance window's name is 1 to 64 lowercase letters, digits, `.`, `_` or `-`",
            )
        })?;
        let window = MaintenanceWindow::from_spec(name.as_str(), &maintenance_spec(value))?;
        self.store
            .put_setting(&AdminSetting {
                kind: MAINTENANCE_KIND.to_owned(),
                name: name.to_string(),
                value: serde_json::to_string(&maintenance_value(&window))
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                updated_at: Timestamp::now(),
                updated_by: actor.name.clone(),
            })
            .await?;
        Ok(window)
    }

    /// Checks and stores a route as `actor` (an admin).
    pub async fn save_alert_route(
        &self,
        actor: &User,
        name: &str,
        value: &api::AlertRouteValue,
    ) -> Result<Route, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = UserName::parse(name.trim()).map_err(|_| {
            InvalidValue::new(
                "name",
                "a route name is 1 to 64 lowercase letters, digits, `.`, `_` or `-`",
            )
        })?;
        let spec = route_spec(value)?;
        let route = Route::from_spec(name.as_str(), &spec)?;
        // A route naming a service names one of the catalogue, as incidents do.
        if let Some(hereby_core::alerts::ServiceSource::Named(service)) = &route.service {
            crate::catalogue::require_catalogued(&self.store, &[service], &[], "service").await?;
        }
        let stored = route_value(&route);
        self.store
            .put_setting(&AdminSetting {
                kind: ROUTE_KIND.to_owned(),
                name: name.to_string(),
                value: serde_json::to_string(&stored)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                updated_at: Timestamp::now(),
                updated_by: actor.name.clone(),
            })
            .await?;
        Ok(route)
    }
}

impl<S: Store + Communications + Alerts + Directory> App<S> {
    /// Creates an integration as `actor` (an admin) and answers with its key, shown this once.
    pub async fn add_integration(
        &self,
        actor: &User,
        name: &str,
        kind: &str,
        timeout: Option<&str>,
        base_url: &str,
    ) -> Result<api::IntegrationKey, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = UserName::parse(name.trim()).map_err(|_| {
            InvalidValue::new(
                "name",
                "an integration name is 1 to 64 lowercase letters, digits, `.`, `_` or `-`",
            )
        })?;
        let kind = kind.trim();
        if !hereby_store::INTEGRATION_KINDS.contains(&kind) {
            return Err(InvalidValue::new(
                "kind",
                format!(
                    "`{kind}` is not an integration kind: use {}",
                    hereby_store::INTEGRATION_KINDS.join(", ")
                ),
            )
            .into());
        }
        // A heartbeat needs its timeout; no other kind has one.
        let heartbeat_timeout = match (kind, timeout.map(str::trim)) {
            ("heartbeat", Some(raw)) => {
                let timeout: Duration =
                    raw.parse()
                        .map_err(|e: hereby_core::duration::DurationError| {
                            InvalidValue::new("timeout", e.to_string())
                        })?;
                let range =
                    jiff::SignedDuration::from_secs(10)..=jiff::SignedDuration::from_hours(24 * 31);
                if !range.contains(&timeout.signed()) {
                    return Err(InvalidValue::new("timeout", "from 10s to 31d").into());
                }
                Some(timeout.signed())
            }
            ("heartbeat", None) => {
                return Err(InvalidValue::new(
                    "timeout",
                    "a heartbeat needs one: how long without a ping before an alert fires, e.g. 10m",
                )
                .into());
            }
            (_, Some(_)) => {
                return Err(InvalidValue::new("timeout", "only a heartbeat has a timeout").into());
            }
            (_, None) => None,
        };
        let key = new_key()?;
        let integration = self
            .store
            .create_integration(
                &NewIntegration {
                    name: name.to_string(),
                    kind: kind.to_owned(),
                    key_digest: key_digest(&key),
                    heartbeat_timeout,
                },
                Timestamp::now(),
            )
            .await
            .map_err(|error| match error {
                hereby_store::StoreError::Invalid(_) => AppError::Conflict {
                    code: "integration_exists",
                    message: format!("an integration named `{name}` exists already"),
                },
                other => other.into(),
            })?;
        Ok(api::IntegrationKey {
            config: config_snippet(kind, name.as_str(), &key, base_url),
            integration: wire(&integration),
            key,
        })
    }

    /// Every integration, as `actor` (an admin) sees them: never a key.
    pub async fn integrations(&self, actor: &User) -> Result<Vec<api::Integration>, AppError> {
        require(actor, InstallationRole::Admin)?;
        let queued = self.store.queued_alerts().await?;
        Ok(self
            .store
            .integrations()
            .await?
            .iter()
            .map(|integration| {
                let mut wired = wire(integration);
                wired.queued_events = queued
                    .iter()
                    .find(|queued| queued.integration == integration.id)
                    .map_or(0, |queued| queued.signals);
                wired
            })
            .collect())
    }

    /// Revokes an integration as `actor` (an admin): its keys open nothing from now on.
    pub async fn revoke_integration(&self, actor: &User, name: &str) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        let revoked = self
            .store
            .revoke_integration(name.trim(), Timestamp::now())
            .await;
        self.known_keys.forget_all();
        if !revoked? {
            return Err(AppError::not_found(format!(
                "integration `{}`",
                name.trim()
            )));
        }
        Ok(())
    }

    /// Gives an integration a new key as `actor` (an admin); the current key keeps working
    /// for `overlap` (default one hour, at most a week), so sources can be changed one by one.
    pub async fn rotate_integration(
        &self,
        actor: &User,
        name: &str,
        overlap: Option<&str>,
        base_url: &str,
    ) -> Result<api::IntegrationKey, AppError> {
        require(actor, InstallationRole::Admin)?;
        let overlap: Duration = overlap.unwrap_or(DEFAULT_OVERLAP).parse().map_err(
            |e: hereby_core::duration::DurationError| InvalidValue::new("overlap", e.to_string()),
        )?;
        let max: Duration = MAX_OVERLAP
            .parse()
            .map_err(|_| AppError::Internal("the longest overlap".to_owned()))?;
        if overlap > max {
            return Err(InvalidValue::new("overlap", format!("at most {MAX_OVERLAP}")).into());
        }
        let key = new_key()?;
        let until = Timestamp::now()
            .checked_add(overlap.signed())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let rotated = self
            .store
            .rotate_integration(name.trim(), &key_digest(&key), until)
            .await;
        self.known_keys.forget_all();
        let Some(integration) = rotated? else {
            return Err(AppError::not_found(format!(
                "integration `{}`",
                name.trim()
            )));
        };
        Ok(api::IntegrationKey {
            config: config_snippet(&integration.kind, &integration.name, &key, base_url),
            integration: wire(&integration),
            key,
        })
    }

    /// Attaches an alert group to an incident as `actor` (a person saying these alerts belong
    /// there): the incident's timeline says so, and the group's later alerts are noted on it.
    /// A group belongs to one incident at most.
    pub async fn attach_alert_group(
        &self,
        actor: &User,
        group: i64,
        incident: IncidentNumber,
    ) -> Result<hereby_store::Outcome, AppError> {
        let missing = || AppError::not_found(format!("alert group {group}"));
        let found = self.store.alert_group(group).await?.ok_or_else(missing)?;
        if let Some(linked) = found.incident {
            if !self.may_see(actor, linked).await {
                return Err(missing());
            }
            return Err(AppError::Conflict {
                code: "already_attached",
                message: format!("alert group {group} is attached to {linked} already"),
            });
        }
        let reference = AlertGroupRef {
            id: u64::try_from(found.id).unwrap_or_default(),
            route: Text::parse(&found.route)?,
            label: Text::parse(&non_empty(&found.label))?,
            title: Text::parse(&non_empty(&found.title))?,
            why: Text::parse(&format!(
                "attached by {} (grouped by route `{}`)",
                actor.name, found.route
            ))?,
        };
        let outcome = self
            .act(
                actor,
                incident,
                None,
                Command::AttachAlertGroup { group: reference },
            )
            .await?;
        if !self.store.link_group(found.id, incident).await? {
            return Err(AppError::Conflict {
                code: "already_attached",
                message: format!(
                    "alert group {group} was attached to another incident at the same moment"
                ),
            });
        }
        self.alert_feed.bump();
        Ok(outcome)
    }

    /// A group `actor` may see (one attached to an incident is as visible as the incident),
    /// and may act on (a responder).
    async fn group_to_act_on(&self, actor: &User, group: i64) -> Result<AlertGroup, AppError> {
        let missing = || AppError::not_found(format!("alert group {group}"));
        let found = self.store.alert_group(group).await?.ok_or_else(missing)?;
        if let Some(number) = found.incident
            && !self.may_see(actor, number).await
        {
            return Err(missing());
        }
        require(actor, InstallationRole::Responder)?;
        Ok(found)
    }

    /// Acknowledges a group as `actor`: someone is on it, so its route opens no incident for
    /// it (a waiting one is no longer waited for); the acknowledgement stays through a
    /// resolve and a re-fire inside the reopen window.
    pub async fn acknowledge_alert_group(
        &self,
        actor: &User,
        group: i64,
    ) -> Result<api::AlertGroup, AppError> {
        self.group_to_act_on(actor, group).await?;
        self.store
            .acknowledge_group(group, actor.name.as_str(), Timestamp::now())
            .await?;
        self.alert_feed.bump();
        self.group_now(group).await
    }

    /// Silences a group as `actor` for `duration` (`0s` lifts it): its new firing alerts are
    /// kept as suppressed and open nothing; a silence in force also covers the next group
    /// under the same key.
    pub async fn silence_alert_group(
        &self,
        actor: &User,
        group: i64,
        duration: &str,
        reason: &str,
    ) -> Result<api::AlertGroup, AppError> {
        let duration: Duration =
            duration
                .parse()
                .map_err(|e: hereby_core::duration::DurationError| {
                    InvalidValue::new("for", e.to_string())
                })?;
        let max: Duration = MAX_SILENCE
            .parse()
            .map_err(|_| AppError::Internal("the longest silence".to_owned()))?;
        if duration > max {
            return Err(InvalidValue::new("for", format!("at most {MAX_SILENCE}")).into());
        }
        let reason = reason.trim();
        if reason.len() > 500 || reason.chars().any(char::is_control) {
            return Err(InvalidValue::new("reason", "one line of at most 500 bytes").into());
        }
        self.group_to_act_on(actor, group).await?;
        let until = if duration.is_zero() {
            None
        } else {
            Some(
                Timestamp::now()
                    .checked_add(duration.signed())
                    .map_err(|e| AppError::Internal(e.to_string()))?,
            )
        };
        self.store
            .silence_group(group, until, actor.name.as_str(), reason)
            .await?;
        self.alert_feed.bump();
        self.group_now(group).await
    }

    async fn group_now(&self, group: i64) -> Result<api::AlertGroup, AppError> {
        let found = self
            .store
            .alert_group(group)
            .await?
            .ok_or_else(|| AppError::not_found(format!("alert group {group}")))?;
        let routes = self.cached_routes().await?;
        Ok(group_wire(&found, &routes, Timestamp::now()))
    }

    /// A source's acknowledgement of its alerts (PagerDuty's `acknowledge`, Opsgenie's
    /// `acknowledge`): the payload is kept like every other, and the groups of the alerts it
    /// names are acknowledged in the integration's name.
    pub async fn receive_acknowledgement(
        &self,
        integration: &Integration,
        body: &str,
        dedup_keys: &[String],
    ) -> Result<(), AppError> {
        let received = self.receive_alerts(integration, body, Vec::new()).await?;
        // Queued behind a backlog: the alerts it names may be queued too, before it. One
        // acted on before them would find nothing to acknowledge, so the sender is asked to
        // send it again rather than told it was done.
        if received.recorded.is_none()
            && !self
                .recorded(received.payload, ACKNOWLEDGEMENT_PATIENCE)
                .await
        {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "the alerts queued before this acknowledgement are still being grouped; \
                     send it again in {BACKLOG_RETRY} s"
                ),
                retry_after: BACKLOG_RETRY,
            });
        }
        let by = format!("{} (integration)", integration.name);
        for key in dedup_keys {
            if let Some(group) = self.store.group_of_alert(integration.id, key).await? {
                self.store
                    .acknowledge_group(group, &by, Timestamp::now())
                    .await?;
            }
        }
        self.alert_feed.bump();
        Ok(())
    }

    /// A heartbeat's ping: kept like every payload, and the alert its silence raised (if it
    /// fires) resolves.
    pub async fn receive_ping(
        &self,
        integration: &Integration,
        body: &str,
    ) -> Result<Received, AppError> {
        let resolve = heartbeat_signal(integration, false, Timestamp::now());
        self.receive_alerts(integration, body, vec![resolve]).await
    }

    /// What the alert timers do, once: open the incidents whose route's pause has passed,
    /// and raise an alert for every heartbeat whose pings stopped. The server calls it every
    /// few seconds; every node may (a group is opened by the one that claims it, a missed
    /// heartbeat fires once however many nodes see it, as a duplicate elsewhere).
    pub async fn alert_tick(&self) -> Result<(), AppError> {
        let now = Timestamp::now();
        for integration in self.store.integrations().await? {
            let Some(timeout) = integration.heartbeat_timeout else {
                continue;
            };
            if integration.revoked_at.is_some() {
                continue;
            }
            let since = integration.last_event_at.unwrap_or(integration.created_at);
            if now.duration_since(since) < timeout {
                continue;
            }
            if self
                .store
                .alert_fires(integration.id, HEARTBEAT_KEY)
                .await?
            {
                continue;
            }
            let signal = heartbeat_signal(&integration, true, now);
            let body = format!(
                "{{\"heartbeat\": \"{}\", \"missed_since\": \"{since}\"}}",
                integration.name
            );
            // Recorded as the integration's own event (its last-event time moves, so the next
            // check waits a whole timeout again); it fires until the next ping resolves it.
            self.receive_alerts(&integration, &body, vec![signal])
                .await?;
        }
        // Payloads left queued (by a stopped process, or another node) are recorded here too,
        // and the bound on the queue counts at least what waits on disk, whoever queued it
        // (this process's own count starts at 0); the writer lowers it as it records, and
        // clears it when it finds the queue empty.
        let queued = self.store.queued_alerts().await?;
        let writer = self.alert_writer();
        writer.backlog.fetch_max(
            queued.iter().map(|queued| queued.signals).sum(),
            Ordering::Relaxed,
        );
        if !queued.is_empty() {
            writer.wake.notify_one();
        }
        // While payloads are queued, a held group's resolve may be among them: its pause is
        // judged once the queue is recorded.
        if self.alert_backlog() == 0 && !self.store.waiting_groups(1, now).await?.is_empty() {
            let routes = self.cached_routes().await?;
            self.open_waiting_incidents(&routes).await?;
        }
        // Payloads another node recorded move this process's live pages too.
        if let Some(newest) = self.store.newest_alert_payload().await?
            && self.alert_feed.saw_payload(newest)
        {
            self.alert_feed.bump();
        }
        Ok(())
    }

    /// Merges a candidate into another incident as `actor`: the candidate becomes *merged*
    /// (its timeline names the other), and every alert group attached to it moves to the
    /// other, whose timeline says so. The other must be visible to `actor` and still take
    /// alerts (a candidate or an incident being worked on).
    pub async fn merge_candidate(
        &self,
        actor: &User,
        candidate: IncidentNumber,
        into: IncidentNumber,
    ) -> Result<hereby_store::Outcome, AppError> {
        // The candidate's own gates first, so that nothing about the other incident shows to
        // someone who may not act on this one.
        let loaded = self.visible(actor, candidate).await?;
        require(actor, InstallationRole::Responder)?;
        let Some(merged) = loaded.state.incident() else {
            return Err(AppError::not_found(format!("incident {candidate}")));
        };
        if merged.status != hereby_core::types::Status::Triage {
            // Not a candidate: the core refuses it in its own words.
            return self
                .act(actor, candidate, None, Command::MergeCandidate { into })
                .await;
        }
        if candidate == into {
            return Err(
                InvalidValue::new("into", "a candidate cannot be merged into itself").into(),
            );
        }
        let target = self.visible(actor, into).await?;
        let Some(target) = target.state.incident() else {
            return Err(AppError::not_found(format!("incident {into}")));
        };
        if !target.status.takes_alerts() {
            return Err(AppError::Conflict {
                code: "incident_ended",
                message: format!(
                    "{into} is {}; merge into an incident still being worked on",
                    target.status
                ),
            });
        }
        // The candidate's timeline names the other incident: a restricted one is named only
        // on a candidate as restricted as it.
        if target.visibility == Visibility::Restricted
            && merged.visibility != Visibility::Restricted
        {
            return Err(AppError::Conflict {
                code: "restricted_target",
                message: format!(
                    "{into} is restricted: restrict {candidate} first, so that its timeline does not name {into} to people who may not see it"
                ),
            });
        }
        // The groups move first: once the candidate is merged it takes no alert, and a group
        // left behind would open a new group (and candidate) at its next alert.
        for group in self.store.alert_groups(Some(candidate), 500).await? {
            if !self.store.move_group(group.id, candidate, into).await? {
                continue;
            }
            let reference = AlertGroupRef {
                id: u64::try_from(group.id).unwrap_or_default(),
                route: Text::parse(&group.route)?,
                label: Text::parse(&non_empty(&group.label))?,
                title: Text::parse(&non_empty(&group.title))?,
                why: Text::parse(&format!(
                    "merged from {candidate} by {} (grouped by route `{}`)",
                    actor.name, group.route
                ))?,
            };
            match self
                .record(
                    &actor.name,
                    into,
                    Command::AttachAlertGroup { group: reference },
                )
                .await
            {
                Ok(_) | Err(AppError::Rejected(_)) => {}
                Err(other) => return Err(other),
            }
        }
        let outcome = self
            .act(actor, candidate, None, Command::MergeCandidate { into })
            .await?;
        self.alert_feed.bump();
        Ok(outcome)
    }

    /// The live integration a key opens, if any.
    pub async fn integration_for_key(&self, key: &str) -> Result<Option<Integration>, AppError> {
        if key.trim().is_empty() {
            return Ok(None);
        }
        let digest = key_digest(key);
        if let Some(integration) = self.known_keys.get(&digest) {
            return Ok(Some(integration));
        }
        let lookup = self.known_keys.begin();
        let found = self
            .store
            .integration_for_key(&digest, Timestamp::now())
            .await?;
        if let Some(integration) = &found {
            self.known_keys.keep(lookup, digest, integration);
        }
        Ok(found)
    }

    /// Records a payload of `integration`: rate-limited per integration, checked, routed,
    /// grouped and durable when this returns; then the incidents the routes ask for are
    /// opened and the incidents of the groups it touched are told what their alerts did.
    pub async fn receive_alerts(
        &self,
        integration: &Integration,
        body: &str,
        signals: Vec<Signal>,
    ) -> Result<Received, AppError> {
        let now = Timestamp::now();
        if let Err(seconds) = self.limiter.take(integration.id, signals.len().max(1), now) {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "integration `{}` sent more than its {} events a minute; try again in {seconds} s",
                    integration.name,
                    match self
                        .limiter
                        .events_per_minute
                        .load(std::sync::atomic::Ordering::Relaxed)
                    {
                        0 => DEFAULT_EVENTS_PER_MINUTE,
                        set => set,
                    }
                ),
                retry_after: seconds,
            });
        }
        let signals = signals
            .into_iter()
            .map(Signal::checked)
            .collect::<Result<Vec<_>, _>>()?;
        let writer = self.alert_writer();
        let backlog = writer.backlog.load(Ordering::Relaxed);
        let limit = match self.limiter.queue_limit.load(Ordering::Relaxed) {
            0 => DEFAULT_QUEUE_LIMIT,
            set => set,
        };
        if backlog >= limit {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "{backlog} alert events wait to be recorded, the most this server queues; \
                     try again in {BACKLOG_RETRY} s"
                ),
                retry_after: BACKLOG_RETRY,
            });
        }
        let routes = self.cached_routes().await?;
        let written = self
            .write_together(
                AlertPayload {
                    integration: integration.id,
                    // PostgreSQL keeps no NUL in text; the payload is kept for reading, so a
                    // NUL is shown as the replacement character rather than refusing the rest.
                    body: body.replace('\0', "\u{fffd}"),
                    signals: signals.clone(),
                },
                routes.clone(),
            )
            .await?;
        let recorded = match written {
            Written::Recorded(recorded) => recorded,
            Written::Queued(payload) => {
                return Ok(Received {
                    payload,
                    recorded: None,
                    opened: Vec::new(),
                });
            }
        };
        // Only a payload that left a group waiting opens incidents (and its sender waits for
        // them, so the answer can name them).
        let opened = self
            .after_recording(signals, recorded.clone(), routes)
            .await;
        Ok(Received {
            payload: recorded.payload,
            recorded: Some(recorded),
            opened,
        })
    }

    /// What follows the recording of a payload: live pages move, the incidents its groups now
    /// wait for are opened (returned), and the incidents of the groups it touched are told
    /// what their alerts did.
    async fn after_recording(
        &self,
        signals: Vec<Signal>,
        recorded: Recorded,
        routes: std::sync::Arc<Routes>,
    ) -> Vec<IncidentNumber> {
        // This process's own write always counts (ids of several nodes commit out of order, so
        // a newer id is no test of it); the id is noted so that the timers do not count it again.
        self.alert_feed.saw_payload(recorded.payload);
        self.alert_feed.bump();
        let opened = if recorded.outcomes.iter().any(|outcome| outcome.waits) {
            match self.open_waiting_incidents(&routes).await {
                Ok(opened) => opened,
                Err(error) => {
                    // The alerts are kept; the group's next firing alert asks again.
                    tracing::warn!(%error, "cannot open the incidents alert groups wait for");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        // A group held by its route's pause is opened by the alert timers once the pause has
        // passed (within their few seconds), unless its alerts resolve meanwhile: no task per
        // held payload, so a storm into held groups costs nothing to wait.
        // The timeline notes are derived from the recorded alerts: the sender does not wait
        // for them (one append per touched incident would make a storm's answers slow).
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.note_alerts(&signals, &recorded).await {
                tracing::warn!(%error, "cannot note alerts on their incidents' timelines");
            }
        });
        opened
    }

    /// This process's alert writer, started at its first use.
    fn alert_writer(&self) -> &AlertWriter {
        self.alert_writer.get_or_init(|| {
            let (jobs, receiver) = tokio::sync::mpsc::channel(RECORDER_QUEUE);
            tokio::spawn(write_alerts(self.clone(), receiver));
            AlertWriter {
                jobs,
                backlog: AtomicU64::new(0),
                recorded_through: tokio::sync::watch::channel(0).0,
                wake: tokio::sync::Notify::new(),
            }
        })
    }

    /// How many alert events this process has queued and not yet seen recorded.
    fn alert_backlog(&self) -> u64 {
        self.alert_writer
            .get()
            .map_or(0, |writer| writer.backlog.load(Ordering::Relaxed))
    }

    /// Waits (at most `patience`) until the payload `id` this process queued is recorded.
    /// Whether it was.
    async fn recorded(&self, id: i64, patience: std::time::Duration) -> bool {
        let mut through = self.alert_writer().recorded_through.subscribe();
        matches!(
            tokio::time::timeout(patience, through.wait_for(|through| *through >= id)).await,
            Ok(Ok(_))
        )
    }

    /// The routes in force, read again after a change of settings through this process and
    /// at least every few seconds (another node's change).
    async fn cached_routes(&self) -> Result<std::sync::Arc<Routes>, AppError> {
        let generation = self.settings_generation();
        if let Some((read, seen, routes)) = self
            .alert_routes_kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            && *seen == generation
            && read.elapsed() < ROUTES_KEPT
        {
            return Ok(routes.clone());
        }
        let routes = std::sync::Arc::new(self.alert_routes().await?);
        *self
            .alert_routes_kept
            .lock()
            .unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), generation, routes.clone()));
        Ok(routes)
    }

    /// Hands a payload to this process's alert writer, with the others arriving at the same
    /// moment: recorded before the answer when the writer keeps up, else queued durably to be
    /// recorded in order.
    async fn write_together(
        &self,
        payload: AlertPayload,
        routes: std::sync::Arc<Routes>,
    ) -> Result<Written, AppError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.alert_writer()
            .jobs
            .send(RecordJob {
                payload,
                routes,
                reply,
            })
            .await
            .map_err(|_| AppError::Internal("the alert writer stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("the alert writer stopped".to_owned()))?
    }

    /// Opens an incident for every group whose route asks for one and that has none, one at
    /// a time in this process: declared by the system (so nobody commands it until a person
    /// takes command), the group attached with why its alerts are together, and linked.
    pub async fn open_waiting_incidents(
        &self,
        routes: &Routes,
    ) -> Result<Vec<IncidentNumber>, AppError> {
        let _one_at_a_time = self.opening.lock().await;
        let mut opened = Vec::new();
        for group in self.store.waiting_groups(100, Timestamp::now()).await? {
            // Another node may be opening this group's incident: only the one that takes
            // the group opens it.
            if !self.store.claim_group(group.id).await? {
                continue;
            }
            // One group that cannot be opened does not hold up the others; it asks again at
            // its next firing alert.
            match self.open_incident(&group, routes).await {
                Ok(Some(number)) => {
                    self.alert_feed.bump();
                    opened.push(number);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(group = group.id, %error, "cannot open the incident of an alert group");
                }
            }
        }
        Ok(opened)
    }

    async fn open_incident(
        &self,
        group: &AlertGroup,
        routes: &Routes,
    ) -> Result<Option<IncidentNumber>, AppError> {
        let system = UserName::parse(hereby_core::roles::SYSTEM_ACTOR)
            .map_err(|_| AppError::Internal("the system's name".to_owned()))?;
        let title = Title::parse(&cut(&group.title, 200))
            .or_else(|_| Title::parse(&format!("Alerts: {}", cut(&group.label, 180))))?;
        // A service outside the catalogue is left off rather than refusing the incident.
        let services = match group.service.as_deref().map(ServiceName::parse) {
            Some(Ok(service))
                if crate::catalogue::require_catalogued(
                    &self.store,
                    &[&service],
                    &[],
                    "service",
                )
                .await
                .is_ok() =>
            {
                vec![service]
            }
            _ => Vec::new(),
        };
        let route = routes.all().iter().find(|route| route.name == group.route);
        let triage = route.is_some_and(|route| route.create == Creation::Triage);
        let declared = hereby_store::declare(
            &self.store,
            Command::Declare {
                title,
                summary: Some(Text::parse(&format!(
                    "Opened from alerts: {} ({}). {}",
                    cut(&group.title, 500),
                    cut(&group.label, 500),
                    if triage {
                        "A candidate: accept it to lead the response, decline it if it is not an incident, or merge it into another."
                    } else {
                        "Nobody commands it yet: take command to lead the response."
                    }
                ))?),
                public_summary: None,
                severity: group.severity,
                potential: false,
                services,
                visibility: Visibility::Internal,
                triage,
            },
            &system,
            Timestamp::now(),
            &self.policy,
        )
        .await?;
        self.written(&declared);
        let number = declared.incident;
        if !self.store.link_group(group.id, number).await? {
            // Linked meanwhile (a person attached it): the incident just declared says so.
            tracing::warn!(group = group.id, %number, "an alert group was attached elsewhere while its incident was opened");
            return Ok(None);
        }
        let reference = AlertGroupRef {
            id: u64::try_from(group.id).unwrap_or_default(),
            route: Text::parse(&group.route)?,
            label: Text::parse(&non_empty(&group.label))?,
            title: Text::parse(&non_empty(&group.title))?,
            why: Text::parse(&match route {
                Some(route) => why(route, None),
                None => format!("grouped by route `{}`", group.route),
            })?,
        };
        self.record(
            &system,
            number,
            Command::AttachAlertGroup { group: reference },
        )
        .await?;
        Ok(Some(number))
    }

    /// Tells the incidents of the touched groups which alerts fired and resolved, one entry
    /// per group and payload (duplicates only count).
    async fn note_alerts(&self, signals: &[Signal], recorded: &Recorded) -> Result<(), AppError> {
        let system = UserName::parse(hereby_core::roles::SYSTEM_ACTOR)
            .map_err(|_| AppError::Internal("the system's name".to_owned()))?;
        let mut by_group: BTreeMap<i64, (Vec<Text>, Vec<Text>)> = BTreeMap::new();
        for (signal, outcome) in signals.iter().zip(&recorded.outcomes) {
            let Some(group) = outcome.group else { continue };
            let entry = by_group.entry(group).or_default();
            // A firing alert that asks nothing says why, so the timeline keeps every flip and
            // every suppressed alert with its reason.
            let summary = match &outcome.quiet {
                Some(quiet) => Text::parse(&format!("{} ({quiet})", non_empty(&signal.summary)))?,
                None => Text::parse(&non_empty(&signal.summary))?,
            };
            match outcome.change {
                AlertChange::New | AlertChange::Refired => entry.0.push(summary),
                AlertChange::Resolved => entry.1.push(summary),
                _ => {}
            }
        }
        for (group, (fired, resolved)) in by_group {
            if fired.is_empty() && resolved.is_empty() {
                continue;
            }
            let Some(found) = self.store.alert_group(group).await? else {
                continue;
            };
            let Some(incident) = found.incident else {
                continue;
            };
            // "Every alert resolved" is said only where the route asks for it.
            let says_resolved = self
                .cached_routes()
                .await?
                .all()
                .iter()
                .find(|route| route.name == found.route)
                .is_none_or(|route| {
                    route.resolve_on == hereby_core::alerts::ResolveOn::AllAlertsResolved
                });
            let command = Command::NoteAlerts {
                group: u64::try_from(group).unwrap_or_default(),
                fired,
                resolved,
                all_resolved: says_resolved && found.firing == 0,
            };
            match self.record(&system, incident, command).await {
                // The group was attached to an incident that has closed, or noted already.
                Ok(_) | Err(AppError::Rejected(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

impl<S: Store + Communications + Alerts + Directory> App<S> {
    /// Alert groups, newest first: those of `incident` when given (which `actor` must be able
    /// to see), else every group `actor` may see. A group attached to an incident is as
    /// visible as the incident: a restricted one's groups do not exist for non-members.
    pub async fn alert_groups(
        &self,
        actor: &User,
        incident: Option<IncidentNumber>,
        limit: u32,
    ) -> Result<Vec<api::AlertGroup>, AppError> {
        if let Some(number) = incident {
            self.visible(actor, number).await?;
        }
        let mut seen: HashMap<IncidentNumber, bool> = HashMap::new();
        let mut shown = Vec::new();
        let routes = self.cached_routes().await?;
        let now = Timestamp::now();
        for group in self
            .store
            .alert_groups(incident, limit.clamp(1, 500))
            .await?
        {
            if let Some(number) = group.incident {
                let visible = match seen.get(&number) {
                    Some(visible) => *visible,
                    None => {
                        let visible = self.may_see(actor, number).await;
                        seen.insert(number, visible);
                        visible
                    }
                };
                if !visible {
                    continue;
                }
            }
            shown.push(group_wire(&group, &routes, now));
        }
        Ok(shown)
    }

    /// What to tell someone who ended `incident` while alerts attached to it still fire:
    /// hereby does not reopen it, and the alerts' next firing opens a new group.
    pub async fn still_firing(
        &self,
        actor: &User,
        incident: IncidentNumber,
    ) -> Result<Vec<String>, AppError> {
        let groups = self.alert_groups(actor, Some(incident), 500).await?;
        Ok(groups
            .iter()
            .filter(|group| group.firing > 0)
            .map(|group| {
                format!(
                    "{} alert{} of group {} “{}” still fire{}: hereby will not reopen {incident} for them, and when alerts of that key fire anew they open a new group (and, by its route, a new incident); acknowledge or silence the group if that is expected (hereby alert ack {})",
                    group.firing,
                    if group.firing == 1 { "" } else { "s" },
                    group.id,
                    group.title,
                    if group.firing == 1 { "s" } else { "" },
                    group.id
                )
            })
            .collect())
    }

    /// One group and its newest alerts, if `actor` may see it.
    pub async fn alert_group(
        &self,
        actor: &User,
        id: i64,
    ) -> Result<api::AlertGroupDetail, AppError> {
        let missing = || AppError::not_found(format!("alert group {id}"));
        let group = self.store.alert_group(id).await?.ok_or_else(missing)?;
        if let Some(number) = group.incident
            && !self.may_see(actor, number).await
        {
            return Err(missing());
        }
        let alerts = self
            .store
            .alerts_of_group(id, 200)
            .await?
            .into_iter()
            .map(|alert| api::Alert {
                id: alert.id,
                dedup_key: alert.dedup_key,
                firing: alert.firing,
                summary: alert.summary,
                labels: alert.labels,
                first_seen: alert.first_seen.to_string(),
                last_seen: alert.last_seen.to_string(),
                resolved_at: alert.resolved_at.map(|at| at.to_string()),
                count: alert.count,
                suppressed: alert.suppressed,
            })
            .collect();
        let routes = self.cached_routes().await?;
        Ok(api::AlertGroupDetail {
            group: group_wire(&group, &routes, Timestamp::now()),
            alerts,
        })
    }
}

fn group_wire(group: &AlertGroup, routes: &Routes, now: Timestamp) -> api::AlertGroup {
    let flapping = routes
        .all()
        .iter()
        .find(|route| route.name == group.route)
        .is_some_and(|route| group.flaps.flapping(route, now));
    // A silence that has ended is not shown, nor who set it or why.
    let silenced = group.silenced_until.is_some_and(|until| until > now);
    api::AlertGroup {
        id: group.id,
        route: group.route.clone(),
        label: group.label.clone(),
        title: group.title.clone(),
        severity: group.severity.as_str().to_owned(),
        service: group.service.clone(),
        opened_at: group.opened_at.to_string(),
        last_alert_at: group.last_alert_at.to_string(),
        resolved_at: group.resolved_at.map(|at| at.to_string()),
        firing: group.firing,
        alerts: group.alerts,
        events: group.events,
        reopened: group.reopened,
        incident: group.incident.map(|number| number.to_string()),
        acknowledged_by: group.acknowledged_by.clone(),
        acknowledged_at: group.acknowledged_at.map(|at| at.to_string()),
        silenced_until: group
            .silenced_until
            .filter(|_| silenced)
            .map(|at| at.to_string()),
        silenced_by: group.silenced_by.clone().filter(|_| silenced),
        silence_reason: group.silence_reason.clone().filter(|_| silenced),
        flapping,
        held_until: group
            .wants_from
            .filter(|from| group.wants_incident && group.incident.is_none() && *from > now)
            .map(|at| at.to_string()),
    }
}

/// How many payloads may wait for the writer before their senders wait too.
const RECORDER_QUEUE: usize = 1_024;
/// The most payloads the writer takes at once (recorded or queued in one transaction).
const RECORDER_BATCH: usize = 64;
/// The most signals recorded before their senders' answers, when the writer keeps up; more
/// arriving at once are queued, so a storm's answers wait for a commit, not for grouping.
const QUICK_SIGNALS: usize = 256;
/// About how many queued signals the writer records per transaction: small enough that the
/// payloads arriving meanwhile are queued within milliseconds.
const CHUNK_SIGNALS: usize = 100;
/// The most alert events that may wait queued unless told otherwise (all nodes' together, as
/// the alert timers count them); beyond it senders hear 429 until the queue shrinks.
const DEFAULT_QUEUE_LIMIT: u64 = 200_000;
/// The `Retry-After` of a sender refused because the queue is full, in seconds.
const BACKLOG_RETRY: u64 = 5;
/// How long the routes are kept without a change of settings through this process.
const ROUTES_KEPT: std::time::Duration = std::time::Duration::from_secs(5);

/// The routes kept: when read, the settings generation then, the routes.
pub(crate) type KeptRoutes = (std::time::Instant, u64, std::sync::Arc<Routes>);

/// A payload waiting for the writer, with the routes it was received under.
pub(crate) struct RecordJob {
    payload: AlertPayload,
    routes: std::sync::Arc<Routes>,
    reply: tokio::sync::oneshot::Sender<Result<Written, AppError>>,
}

/// What the writer did with a payload.
enum Written {
    /// Recorded before the answer.
    Recorded(Recorded),
    /// Queued durably under this id, recorded later in order.
    Queued(i64),
}

/// This process's alert writer: the one task that records and queues payloads, so that its
/// own payloads are recorded in the order they were accepted.
#[derive(Debug)]
pub(crate) struct AlertWriter {
    jobs: tokio::sync::mpsc::Sender<RecordJob>,
    /// Signals this process queued and has not seen recorded.
    backlog: AtomicU64,
    /// Every payload this process queued up to this id has been recorded.
    recorded_through: tokio::sync::watch::Sender<i64>,
    /// Tells the writer that payloads may be queued (after a restart, or by another node).
    wake: tokio::sync::Notify,
}

/// The writer: takes the payloads that arrived while it was busy. While nothing is queued and
/// they are few, it records them in one transaction before their senders hear back, as the
/// event log's writer does with its writes; otherwise it queues them in one transaction (a
/// durable insert, answered at once) and records the queue a chunk at a time between
/// arrivals, so answers never wait behind a storm's grouping. A failure fails the whole
/// batch; every sender hears it.
async fn write_alerts<S: Store + Communications + Alerts + Directory>(
    app: App<S>,
    mut jobs: tokio::sync::mpsc::Receiver<RecordJob>,
) {
    // A previous run, or another node, may have left payloads queued.
    let mut behind = app
        .store
        .queued_alerts()
        .await
        .map_or(true, |queued| !queued.is_empty());
    let mut last_queued = 0;
    loop {
        let mut batch = Vec::new();
        if !behind {
            let writer = app.alert_writer();
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => batch.push(job),
                    None => return,
                },
                () = writer.wake.notified() => behind = true,
            }
        }
        while batch.len() < RECORDER_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let signals: usize = batch.iter().map(|job| job.payload.signals.len()).sum();
            // Fewer than a full batch: nothing more was waiting. And nothing queued by another
            // node either: a resolve recorded at once here while its firing waits in another
            // node's queue would find nothing to resolve (its sender heard about the firing
            // after it was queued, so the look below sees it).
            let keeping_up = !behind
                && batch.len() < RECORDER_BATCH
                && signals <= QUICK_SIGNALS
                && nothing_queued(&app).await;
            if keeping_up {
                record_now(&app, batch).await;
            } else if let Some(newest) = queue(&app, batch, signals).await {
                last_queued = newest;
                behind = true;
            }
        }
        if behind {
            behind = record_queued(&app, last_queued).await;
        }
    }
}

/// Whether no other node's payload waits in the queue (this process's own it knows of); a
/// failure to look counts as some. Only where several nodes share the database: the look
/// costs a statement per batch.
async fn nothing_queued<S: Alerts>(app: &App<S>) -> bool {
    !app.store.shared_by_nodes()
        || app
            .store
            .queued_alerts()
            .await
            .is_ok_and(|queued| queued.is_empty())
}

/// Records a batch before its senders' answers.
async fn record_now<S: Store + Communications + Alerts + Directory>(
    app: &App<S>,
    batch: Vec<RecordJob>,
) {
    // The newest routes stand for the batch (they change rarely, by an admin's hand).
    let routes = batch
        .last()
        .map(|job| job.routes.clone())
        .unwrap_or_default();
    let (payloads, replies): (Vec<AlertPayload>, Vec<_>) = batch
        .into_iter()
        .map(|job| (job.payload, job.reply))
        .unzip();
    match app
        .store
        .record_alerts(&payloads, &routes, Timestamp::now())
        .await
    {
        Ok(recorded) => {
            if let Some(newest) = recorded.iter().map(|recorded| recorded.payload).max() {
                app.alert_writer()
                    .recorded_through
                    .send_modify(|through| *through = (*through).max(newest));
            }
            for (reply, recorded) in replies.into_iter().zip(recorded) {
                let _ = reply.send(Ok(Written::Recorded(recorded)));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(AppError::Store(error.clone())));
            }
        }
    }
}

/// Queues a batch durably and answers its senders; the newest id queued, if it was.
async fn queue<S: Store + Communications + Alerts + Directory>(
    app: &App<S>,
    batch: Vec<RecordJob>,
    signals: usize,
) -> Option<i64> {
    let (payloads, replies): (Vec<AlertPayload>, Vec<_>) = batch
        .into_iter()
        .map(|job| (job.payload, job.reply))
        .unzip();
    match app.store.queue_alerts(&payloads, Timestamp::now()).await {
        Ok(ids) => {
            app.alert_writer().backlog.fetch_add(
                u64::try_from(signals).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            let newest = ids.iter().copied().max();
            for (reply, id) in replies.into_iter().zip(ids) {
                let _ = reply.send(Ok(Written::Queued(id)));
            }
            newest
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(AppError::Store(error.clone())));
            }
            None
        }
    }
}

/// Records one chunk of the queue, and starts what follows for each payload; whether more
/// may wait.
async fn record_queued<S: Store + Communications + Alerts + Directory>(
    app: &App<S>,
    last_queued: i64,
) -> bool {
    let writer = app.alert_writer();
    let routes = match app.cached_routes().await {
        Ok(routes) => routes,
        Err(error) => {
            tracing::warn!(%error, "cannot read the alert routes to record queued alerts");
            tokio::time::sleep(RETRY_QUEUED).await;
            return true;
        }
    };
    match app.store.record_queued_alerts(&routes, CHUNK_SIGNALS).await {
        Ok(done) if done.is_empty() => {
            // Everything queued here was recorded (by this process or another node).
            writer.backlog.store(0, Ordering::Relaxed);
            writer
                .recorded_through
                .send_modify(|through| *through = (*through).max(last_queued));
            false
        }
        Ok(done) => {
            let signals: usize = done.iter().map(|payload| payload.signals.len()).sum();
            let signals = u64::try_from(signals).unwrap_or(u64::MAX);
            let _ = writer
                .backlog
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |backlog| {
                    Some(backlog.saturating_sub(signals))
                });
            if let Some(newest) = done.iter().map(|payload| payload.recorded.payload).max() {
                writer
                    .recorded_through
                    .send_modify(|through| *through = (*through).max(newest));
            }
            let app = app.clone();
            tokio::spawn(async move {
                for payload in done {
                    app.after_recording(payload.signals, payload.recorded, routes.clone())
                        .await;
                }
            });
            true
        }
        Err(hereby_store::StoreError::Corrupt(problem)) => {
            // A payload that can never be recorded (its stored signals do not read back) must
            // not hold up every one behind it: it is set aside, its body kept for replay.
            match app.store.set_aside_queued_alert().await {
                Ok(Some(payload)) => tracing::error!(
                    payload,
                    %problem,
                    "a queued alert payload cannot be recorded; set aside (its body is kept)"
                ),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot set aside a queued alert payload");
                    tokio::time::sleep(RETRY_QUEUED).await;
                }
            }
            true
        }
        Err(error) => {
            // The queue is durable: nothing is lost, the next try records it.
            tracing::warn!(%error, "cannot record queued alerts; trying again shortly");
            tokio::time::sleep(RETRY_QUEUED).await;
            true
        }
    }
}

/// How long an acknowledgement queued behind a backlog waits for the alerts before it.
const ACKNOWLEDGEMENT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the writer waits before trying the queue again after a failure.
const RETRY_QUEUED: std::time::Duration = std::time::Duration::from_secs(1);

/// The alert a heartbeat raises when its pings stop (firing), or its end (a ping).
fn heartbeat_signal(integration: &Integration, firing: bool, at: Timestamp) -> Signal {
    let timeout = integration
        .heartbeat_timeout
        .and_then(Duration::from_signed)
        .map(|timeout| timeout.to_string())
        .unwrap_or_default();
    Signal {
        dedup_key: HEARTBEAT_KEY.to_owned(),
        firing,
        summary: format!("No heartbeat from {} for {timeout}", integration.name),
        labels: [
            ("alertname", "HeartbeatMissed".to_owned()),
            ("integration", integration.name.clone()),
            ("severity", "error".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect(),
        at,
        source_group: false,
    }
}

/// At most `chars` characters of `text`.
fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

fn non_empty(text: &str) -> String {
    if text.trim().is_empty() {
        "(none)".to_owned()
    } else {
        text.to_owned()
    }
}
