//! Alerts in, as the application serves them: alert routes as a typed setting, integrations
//! (a key shown once and stored as a digest, rotated with an overlap, revoked), a source's
//! events recorded durably with the routes in force, and the incidents routes ask for opened
//! and told what their alerts do. The formats of the sources are the edge's business: what
//! arrives here is already a list of [`Signal`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use hereby_api as api;
use hereby_core::Command;
use hereby_core::alerts::{Route, RouteSpec, Routes, Signal, WindowKind};
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
    })
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

/// A token bucket per integration, kept in this process.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<i64, (f64, Timestamp)>>,
    events_per_minute: std::sync::atomic::AtomicU32,
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

/// What became of a received payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub recorded: Recorded,
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
    }
}

/// Where a source of each kind sends, relative to the server's address.
pub fn path_of(kind: &str) -> &'static str {
    match kind {
        "alertmanager" => "/ingest/alertmanager",
        "pagerduty" => "/v2/enqueue",
        "opsgenie" => "/v2/alerts",
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
        Ok(Routes::new(routes))
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
        let key = new_key()?;
        let integration = self
            .store
            .create_integration(
                &NewIntegration {
                    name: name.to_string(),
                    kind: kind.to_owned(),
                    key_digest: key_digest(&key),
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
        Ok(self.store.integrations().await?.iter().map(wire).collect())
    }

    /// Revokes an integration as `actor` (an admin): its keys open nothing from now on.
    pub async fn revoke_integration(&self, actor: &User, name: &str) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        if !self
            .store
            .revoke_integration(name.trim(), Timestamp::now())
            .await?
        {
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
        let Some(integration) = self
            .store
            .rotate_integration(name.trim(), &key_digest(&key), until)
            .await?
        else {
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
        Ok(outcome)
    }

    /// The live integration a key opens, if any.
    pub async fn integration_for_key(&self, key: &str) -> Result<Option<Integration>, AppError> {
        if key.trim().is_empty() {
            return Ok(None);
        }
        Ok(self
            .store
            .integration_for_key(&key_digest(key), Timestamp::now())
            .await?)
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
        let routes = self.cached_routes().await?;
        let recorded = self
            .record_together(
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
        // Only a payload that left a group waiting opens incidents (and its sender waits for
        // them, so the answer can name them).
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
        // The timeline notes are derived from the recorded alerts: the sender does not wait
        // for them (one append per touched incident would make a storm's answers slow).
        let app = self.clone();
        let noted = recorded.clone();
        tokio::spawn(async move {
            if let Err(error) = app.note_alerts(&signals, &noted).await {
                tracing::warn!(%error, "cannot note alerts on their incidents' timelines");
            }
        });
        Ok(Received { recorded, opened })
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

    /// Records a payload together with the others waiting at the same moment: one
    /// transaction, one durable commit for all of them, each sender answered after it.
    async fn record_together(
        &self,
        payload: AlertPayload,
        routes: std::sync::Arc<Routes>,
    ) -> Result<Recorded, AppError> {
        let sender = self
            .recorder
            .get_or_init(|| {
                let (sender, receiver) = tokio::sync::mpsc::channel(RECORDER_QUEUE);
                tokio::spawn(record_batches(self.store.clone(), receiver));
                sender
            })
            .clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        sender
            .send(RecordJob {
                payload,
                routes,
                reply,
            })
            .await
            .map_err(|_| AppError::Internal("the alert recorder stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("the alert recorder stopped".to_owned()))?
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
        for group in self.store.waiting_groups(100).await? {
            // Another node may be opening this group's incident: only the one that takes
            // the group opens it.
            if !self.store.claim_group(group.id).await? {
                continue;
            }
            // One group that cannot be opened does not hold up the others; it asks again at
            // its next firing alert.
            match self.open_incident(&group, routes).await {
                Ok(Some(number)) => opened.push(number),
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
        let declared = hereby_store::declare(
            &self.store,
            Command::Declare {
                title,
                summary: Some(Text::parse(&format!(
                    "Opened from alerts: {} ({}). Nobody commands it yet: take command to lead the response.",
                    cut(&group.title, 500),
                    cut(&group.label, 500)
                ))?),
                public_summary: None,
                severity: group.severity,
                potential: false,
                services,
                visibility: Visibility::Internal,
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
            let summary = Text::parse(&non_empty(&signal.summary))?;
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

impl<S: Store + Alerts> App<S> {
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
            shown.push(group_wire(&group));
        }
        Ok(shown)
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
            })
            .collect();
        Ok(api::AlertGroupDetail {
            group: group_wire(&group),
            alerts,
        })
    }
}

fn group_wire(group: &AlertGroup) -> api::AlertGroup {
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
    }
}

/// How many payloads may wait for the recorder before their senders wait too.
const RECORDER_QUEUE: usize = 1_024;
/// The most payloads recorded in one transaction.
const RECORDER_BATCH: usize = 64;
/// How long the routes are kept without a change of settings through this process.
const ROUTES_KEPT: std::time::Duration = std::time::Duration::from_secs(5);

/// The routes kept: when read, the settings generation then, the routes.
pub(crate) type KeptRoutes = (std::time::Instant, u64, std::sync::Arc<Routes>);

/// A payload waiting for the recorder, with the routes it was received under.
pub(crate) struct RecordJob {
    payload: AlertPayload,
    routes: std::sync::Arc<Routes>,
    reply: tokio::sync::oneshot::Sender<Result<Recorded, AppError>>,
}

/// The recorder: takes the payloads that arrived while it was busy and records them in one
/// transaction, as the event log's writer does with its writes. A failure fails the whole
/// batch; every sender hears it.
async fn record_batches<S: Alerts>(store: S, mut receiver: tokio::sync::mpsc::Receiver<RecordJob>) {
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < RECORDER_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // The newest routes stand for the batch (they change rarely, by an admin's hand).
        let routes = jobs
            .last()
            .map(|job| job.routes.clone())
            .unwrap_or_default();
        let (payloads, replies): (Vec<AlertPayload>, Vec<_>) =
            jobs.into_iter().map(|job| (job.payload, job.reply)).unzip();
        match store
            .record_alerts(&payloads, &routes, Timestamp::now())
            .await
        {
            Ok(recorded) => {
                for (reply, recorded) in replies.into_iter().zip(recorded) {
                    let _ = reply.send(Ok(recorded));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(AppError::Store(error.clone())));
                }
            }
        }
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
