//! Alerts in: how a signal from monitoring finds its route, its group, and (by the route's
//! policy) its incident. Three keys for three objects, never merged: an **alert** is the
//! source's own dedup key (Alertmanager's fingerprint, PagerDuty's `dedup_key`, Opsgenie's
//! alias), taken verbatim; an **alert group** is keyed by the route's rendering of its
//! `group_by` fields; an **incident** comes from a group by the route's creation policy.
//!
//! Pure like every rule: the store applies these decisions inside the transaction that
//! records the signal, and the timeline says why each one was taken.

use std::collections::BTreeMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::types::{InvalidValue, ServiceName, Severity};

/// The longest dedup key a source may send, in bytes (Opsgenie's alias; PagerDuty's edge
/// keeps its own 255).
pub const MAX_DEDUP_KEY: usize = 512;
/// The longest summary kept (PagerDuty's limit); longer ones are cut at a character boundary.
pub const MAX_SUMMARY: usize = 1024;
/// At most this many labels per alert, each name and value at most [`MAX_LABEL`] bytes.
pub const MAX_LABELS: usize = 64;
/// The longest label name or value.
pub const MAX_LABEL: usize = 1024;

/// One alert event as a source sent it, in the shape every source is read into. Kept as JSON
/// with its payload while it waits behind a backlog to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The source's identity of the alert, verbatim.
    pub dedup_key: String,
    /// Firing (a trigger) or resolved.
    pub firing: bool,
    /// What the source says is wrong, in one line.
    pub summary: String,
    /// The fields routes match and group on: an Alertmanager alert's labels, a PagerDuty
    /// event's `severity`, `source`, `component`, `group` and `class`, …
    pub labels: BTreeMap<String, String>,
    /// When the source says it started (firing) or ended (resolved).
    pub at: Timestamp,
    /// The source grouped the alerts itself and `dedup_key` names the group (Alertmanager's
    /// PagerDuty and Opsgenie receivers send one event per group under a 64-hex key).
    pub source_group: bool,
}

impl Signal {
    /// Checks the dedup key, and fits the rest within the limits instead of refusing it: a
    /// source resends a refused payload forever (and one alert too many would refuse its
    /// whole group), so labels beyond [`MAX_LABELS`] are left out, long values and the
    /// summary are cut, and control characters read as spaces.
    pub fn checked(mut self) -> Result<Self, InvalidValue> {
        if self.dedup_key.is_empty() || self.dedup_key.len() > MAX_DEDUP_KEY {
            return Err(InvalidValue::new(
                "dedup_key",
                format!("must be 1 to {MAX_DEDUP_KEY} bytes"),
            ));
        }
        if self.dedup_key.contains('\0') {
            return Err(InvalidValue::new(
                "dedup_key",
                "must not contain NUL characters",
            ));
        }
        self.labels = std::mem::take(&mut self.labels)
            .into_iter()
            .map(|(name, value)| {
                (
                    cut(&plain(&name), MAX_LABEL),
                    cut(&plain(&value), MAX_LABEL),
                )
            })
            .filter(|(name, _)| !name.trim().is_empty())
            .take(MAX_LABELS)
            .collect();
        self.summary = plain(&self.summary);
        let summary = self.summary.trim();
        let summary = match summary.char_indices().nth(MAX_SUMMARY) {
            Some((cut, _)) => &summary[..cut],
            None => summary,
        };
        self.summary = if summary.is_empty() {
            self.labels
                .get("alertname")
                .cloned()
                .unwrap_or_else(|| self.dedup_key.clone())
        } else {
            summary.to_owned()
        };
        Ok(self)
    }
}

/// The text with control characters (NUL, escapes, line breaks) read as spaces.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `bytes` bytes of `text`, cut at a character boundary.
fn cut(text: &str, bytes: usize) -> String {
    if text.len() <= bytes {
        return text.to_owned();
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// How a matcher compares a label with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchOp {
    Equal,
    NotEqual,
    Matches,
    NotMatches,
}

/// One condition of a route on one label, written as in Alertmanager: `service="checkout"`,
/// `env!="staging"`, `severity=~"critical|page"`, `team!~"db.*"`. A missing label reads as
/// empty; a pattern must match the whole value.
#[derive(Debug, Clone)]
pub struct Matcher {
    label: String,
    op: MatchOp,
    value: String,
    pattern: Option<regex_lite::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Reads `label="value"` (with `=`, `!=`, `=~` or `!~`; the quotes are optional).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let invalid = |problem: String| InvalidValue::new("matchers", problem);
        let raw = raw.trim();
        let at = raw.find(['=', '!']).ok_or_else(|| {
            invalid(format!(
                "`{raw}` is not a matcher like service=\"checkout\""
            ))
        })?;
        let label = raw[..at].trim();
        let rest = &raw[at..];
        let (op, value) = if let Some(value) = rest.strip_prefix("=~") {
            (MatchOp::Matches, value)
        } else if let Some(value) = rest.strip_prefix("!~") {
            (MatchOp::NotMatches, value)
        } else if let Some(value) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, value)
        } else if let Some(value) = rest.strip_prefix('=') {
            (MatchOp::Equal, value)
        } else {
            return Err(invalid(format!(
                "`{raw}`: the operator must be =, !=, =~ or !~"
            )));
        };
        let valid_label = !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
        if !valid_label {
            return Err(invalid(format!(
                "`{raw}`: a label name is letters, digits, `_`, `.` and `-`"
            )));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned();
        let pattern = match op {
            MatchOp::Matches | MatchOp::NotMatches => Some(
                regex_lite::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| invalid(format!("`{raw}`: not a regular expression: {e}")))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            label: label.to_owned(),
            op,
            value,
            pattern,
        })
    }

    /// Whether the labels satisfy this condition.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let actual = labels.get(&self.label).map_or("", String::as_str);
        match (self.op, &self.pattern) {
            (MatchOp::Equal, _) => actual == self.value,
            (MatchOp::NotEqual, _) => actual != self.value,
            (MatchOp::Matches, Some(pattern)) => pattern.is_match(actual),
            (MatchOp::NotMatches, Some(pattern)) => !pattern.is_match(actual),
            (MatchOp::Matches | MatchOp::NotMatches, None) => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Matches => "=~",
            MatchOp::NotMatches => "!~",
        };
        write!(f, "{}{op}\"{}\"", self.label, self.value)
    }
}

/// How long a group takes new alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// For `window` after the group opened.
    Fixed,
    /// For `window` after its newest alert, up to `max_age` after it opened.
    Extending,
}

/// When a group asks for an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// Never: the alerts are kept and shown, a person attaches them if they matter.
    Never,
    /// At the group's first firing alert.
    Always,
    /// Once `alerts` distinct alerts of the group have fired within `within`.
    Threshold { alerts: u32, within: Duration },
    /// At the group's first firing alert, as a *candidate* a person accepts, declines or
    /// merges into another incident.
    Triage,
}

impl fmt::Display for Creation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Creation::Never => f.write_str("never"),
            Creation::Always => f.write_str("always"),
            Creation::Triage => f.write_str("triage"),
            Creation::Threshold { alerts, within } => {
                write!(f, "threshold({alerts} within {within})")
            }
        }
    }
}

impl Creation {
    /// Reads `never`, `always` or `threshold(N within W)`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new(
                "create",
                format!(
                    "`{raw}` is not a creation policy: use never, always, triage or threshold(N within W), e.g. threshold(3 within 10m)"
                ),
            )
        };
        match raw.trim() {
            "never" => Ok(Creation::Never),
            "always" => Ok(Creation::Always),
            "triage" => Ok(Creation::Triage),
            other => {
                let inner = other
                    .strip_prefix("threshold(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .ok_or_else(invalid)?;
                let (alerts, within) = inner.split_once(" within ").ok_or_else(invalid)?;
                let alerts: u32 = alerts.trim().parse().map_err(|_| invalid())?;
                let within: Duration = within.trim().parse().map_err(|_| invalid())?;
                if !(1..=10_000).contains(&alerts) || within.is_zero() {
                    return Err(InvalidValue::new(
                        "create",
                        "a threshold needs 1 to 10000 alerts within a time longer than zero",
                    ));
                }
                Ok(Creation::Threshold { alerts, within })
            }
        }
    }
}

/// When the alerts of a group tell its incident something on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveOn {
    /// Never: resolving is always a person's call.
    Never,
    /// When every alert of the group has resolved, the timeline says so and the Incident
    /// Commander is asked to consider resolving (hereby never resolves by itself).
    AllAlertsResolved,
}

/// A route as an admin writes it (the `alert_route` setting's value). Absent fields take the
/// defaults of [`RouteSpec::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteSpec {
    /// Routes are tried in this order (then by name); the first that matches wins.
    pub order: i64,
    /// Every matcher must hold; none matches every alert.
    pub matchers: Vec<String>,
    /// The catalogue service its incidents affect: a name, or `label:NAME` to take it from a
    /// label of the alert.
    pub service: Option<String>,
    /// The source's severity words (`critical`, `error`, `P1` …) to ours; unknown words get
    /// `default_severity`.
    pub severity_map: BTreeMap<String, String>,
    /// Which label holds the severity word (`severity`; Opsgenie's `priority`).
    pub severity_label: String,
    pub default_severity: String,
    /// The labels whose values make a group's key.
    pub group_by: Vec<String>,
    pub window_kind: WindowKind,
    pub window: String,
    pub max_age: String,
    /// A new firing alert for a group resolved less than this ago reopens it.
    pub reopen_window: String,
    /// `never`, `always`, `triage` or `threshold(N within W)`.
    pub create: String,
    pub resolve_on: ResolveOn,
    /// Hold a group that asks for an incident this long before opening it, and open none if
    /// every alert resolves meanwhile (`0s`: no pause), for alerts known to clear themselves.
    pub pause: String,
    /// A group whose alerts fire again after resolving more than this many times within
    /// `flap_window` is flapping: it stops opening and reopening (`0`: never flapping).
    pub flap_limit: u32,
    pub flap_window: String,
}

impl Default for RouteSpec {
    fn default() -> Self {
        Self {
            order: 1000,
            matchers: Vec::new(),
            service: None,
            severity_map: [
                ("critical", "SEV1"),
                ("page", "SEV1"),
                ("p1", "SEV1"),
                ("error", "SEV2"),
                ("high", "SEV2"),
                ("p2", "SEV2"),
                ("warning", "SEV3"),
                ("p3", "SEV3"),
                ("info", "SEV4"),
                ("p4", "SEV4"),
                ("p5", "SEV4"),
            ]
            .into_iter()
            .map(|(word, severity)| (word.to_owned(), severity.to_owned()))
            .collect(),
            severity_label: "severity".to_owned(),
            default_severity: "SEV3".to_owned(),
            group_by: vec!["alertname".to_owned(), "service".to_owned()],
            window_kind: WindowKind::Extending,
            window: "30m".to_owned(),
            max_age: "2d".to_owned(),
            reopen_window: "30m".to_owned(),
            create: "always".to_owned(),
            resolve_on: ResolveOn::AllAlertsResolved,
            pause: "0s".to_owned(),
            flap_limit: 3,
            flap_window: "1h".to_owned(),
        }
    }
}

/// A checked route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    pub order: i64,
    pub matchers: Vec<Matcher>,
    pub service: Option<ServiceSource>,
    /// Lower-case source words to severities.
    pub severity_map: BTreeMap<String, Severity>,
    pub severity_label: String,
    pub default_severity: Severity,
    pub group_by: Vec<String>,
    pub window_kind: WindowKind,
    pub window: Duration,
    pub max_age: Duration,
    pub reopen_window: Duration,
    pub create: Creation,
    pub resolve_on: ResolveOn,
    pub pause: Duration,
    pub flap_limit: u32,
    pub flap_window: Duration,
}

/// Where a route's incidents take their service from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceSource {
    Named(ServiceName),
    Label(String),
}

/// The name of the route hereby ships: it matches every alert and goes last.
pub const DEFAULT_ROUTE: &str = "default";

impl Route {
    /// Checks a route as written; a problem names the field.
    pub fn from_spec(name: &str, spec: &RouteSpec) -> Result<Self, InvalidValue> {
        let duration = |field: &'static str, raw: &str| -> Result<Duration, InvalidValue> {
            raw.parse::<Duration>()
                .map_err(|e| InvalidValue::new(field, e.to_string()))
        };
        let window = duration("window", &spec.window)?;
        let max_age = duration("max_age", &spec.max_age)?;
        let reopen_window = duration("reopen_window", &spec.reopen_window)?;
        let pause = duration("pause", &spec.pause)?;
        let flap_window = duration("flap_window", &spec.flap_window)?;
        if pause.signed() > SignedDuration::from_hours(24) {
            return Err(InvalidValue::new("pause", "at most 24h"));
        }
        if spec.flap_limit > 0 && flap_window.is_zero() {
            return Err(InvalidValue::new(
                "flap_window",
                "must be longer than zero while flap_limit is set",
            ));
        }
        if window.is_zero() {
            return Err(InvalidValue::new("window", "must be longer than zero"));
        }
        if max_age < window {
            return Err(InvalidValue::new(
                "max_age",
                format!("must be at least the window ({window})"),
            ));
        }
        let matchers = spec
            .matchers
            .iter()
            .map(|raw| Matcher::parse(raw))
            .collect::<Result<Vec<_>, _>>()?;
        let service = match spec.service.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match raw.strip_prefix("label:") {
                Some(label) if !label.trim().is_empty() => {
                    Some(ServiceSource::Label(label.trim().to_owned()))
                }
                Some(_) => {
                    return Err(InvalidValue::new(
                        "service",
                        "`label:` needs the name of the label holding the service",
                    ));
                }
                None => Some(ServiceSource::Named(ServiceName::parse(raw)?)),
            },
        };
        let severity_map = spec
            .severity_map
            .iter()
            .map(|(word, severity)| Ok((word.trim().to_lowercase(), Severity::parse(severity)?)))
            .collect::<Result<BTreeMap<_, _>, InvalidValue>>()?;
        if spec.group_by.len() > 16 || spec.group_by.iter().any(|label| label.trim().is_empty()) {
            return Err(InvalidValue::new(
                "group_by",
                "at most 16 label names, none empty",
            ));
        }
        let severity_label = spec.severity_label.trim();
        if severity_label.is_empty() {
            return Err(InvalidValue::new("severity_label", "must name a label"));
        }
        Ok(Self {
            name: name.to_owned(),
            order: spec.order,
            matchers,
            service,
            severity_map,
            severity_label: severity_label.to_owned(),
            default_severity: Severity::parse(&spec.default_severity)?,
            group_by: spec.group_by.iter().map(|l| l.trim().to_owned()).collect(),
            window_kind: spec.window_kind,
            window,
            max_age,
            reopen_window,
            create: Creation::parse(&spec.create)?,
            resolve_on: spec.resolve_on,
            pause,
            flap_limit: spec.flap_limit,
            flap_window,
        })
    }

    /// The shipped catch-all route.
    pub fn shipped_default() -> Self {
        let spec = RouteSpec {
            order: i64::MAX,
            ..RouteSpec::default()
        };
        // The shipped spec is a constant of this module; the test below parses it.
        Self::from_spec(DEFAULT_ROUTE, &spec).unwrap_or_else(|_| unreachable!())
    }

    /// Whether every matcher holds for these labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|matcher| matcher.matches(labels))
    }

    /// The group a signal belongs to on this route: the source's own group key when the
    /// source grouped already, else the `group_by` labels' values, in the route's order.
    pub fn group_key(&self, signal: &Signal) -> String {
        if signal.source_group {
            return format!("{}:source:{}", self.name, signal.dedup_key);
        }
        let parts: Vec<String> = self
            .group_by
            .iter()
            .map(|label| {
                format!(
                    "{label}={:?}",
                    signal.labels.get(label).map_or("", String::as_str)
                )
            })
            .collect();
        format!("{}:{{{}}}", self.name, parts.join(","))
    }

    /// The group key as people read it: `service="checkout", alertname="HighLatency"`.
    pub fn group_label(&self, signal: &Signal) -> String {
        if signal.source_group {
            return format!("the source's group {}", signal.dedup_key);
        }
        self.group_by
            .iter()
            .map(|label| {
                format!(
                    "{label}={:?}",
                    signal.labels.get(label).map_or("", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The severity a signal's incident gets.
    pub fn severity_of(&self, signal: &Signal) -> Severity {
        signal
            .labels
            .get(&self.severity_label)
            .and_then(|word| self.severity_map.get(&word.trim().to_lowercase()))
            .copied()
            .unwrap_or(self.default_severity)
    }

    /// The service a signal's incident affects, if the route names one.
    pub fn service_of(&self, signal: &Signal) -> Option<ServiceName> {
        match &self.service {
            None => None,
            Some(ServiceSource::Named(name)) => Some(name.clone()),
            Some(ServiceSource::Label(label)) => signal
                .labels
                .get(label)
                .and_then(|value| ServiceName::parse(value).ok()),
        }
    }

    /// How the route groups, in words: `window 30m, extending up to 2d`.
    pub fn window_words(&self) -> String {
        match self.window_kind {
            WindowKind::Fixed => format!("window {}, fixed", self.window),
            WindowKind::Extending => {
                format!("window {}, extending up to {}", self.window, self.max_age)
            }
        }
    }
}

/// The routes in force, in the order they are tried (the shipped catch-all is always last,
/// so every alert finds a route), and the maintenance windows beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(Vec<Route>, Vec<MaintenanceWindow>);

impl Routes {
    /// The routes, tried by `order` then name, with the shipped catch-all added when no
    /// route of that name is given.
    pub fn new(mut routes: Vec<Route>) -> Self {
        if !routes.iter().any(|route| route.name == DEFAULT_ROUTE) {
            routes.push(Route::shipped_default());
        }
        routes.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
        Self(routes, Vec::new())
    }

    /// The same routes with the maintenance windows in force beside them.
    pub fn with_maintenance(mut self, windows: Vec<MaintenanceWindow>) -> Self {
        self.1 = windows;
        self
    }

    /// The maintenance windows, by name.
    pub fn maintenance(&self) -> &[MaintenanceWindow] {
        &self.1
    }

    /// The first maintenance window holding over these labels at `at`.
    pub fn maintenance_over(
        &self,
        labels: &BTreeMap<String, String>,
        at: Timestamp,
    ) -> Option<&MaintenanceWindow> {
        self.1.iter().find(|window| window.holds(labels, at))
    }

    /// The first route whose matchers hold. A catch-all at the end takes what nothing else
    /// does; an installation that replaced it with a narrower `default` may leave an alert
    /// without a route, which is then kept ungrouped.
    pub fn route_for(&self, labels: &BTreeMap<String, String>) -> Option<&Route> {
        self.0.iter().find(|route| route.matches(labels))
    }

    pub fn all(&self) -> &[Route] {
        &self.0
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// What is known of the newest group under a key, as the placement rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupFacts {
    pub opened_at: Timestamp,
    /// When its newest distinct alert (not a duplicate) arrived.
    pub last_alert_at: Timestamp,
    /// When its last firing alert resolved; `None` while any fires.
    pub resolved_at: Option<Timestamp>,
    /// The incident it is attached to has ended (resolved, closed, called off, handed back,
    /// declined, merged):
    /// grouping into it stops, as it does in PagerDuty, so a new alert is not swallowed by
    /// an incident nobody works on any more.
    pub incident_ended: bool,
    /// Its alerts flip too often to mean anything new: it takes every alert and opens nothing.
    pub flapping: bool,
}

/// Where a new firing alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Into the open group under its key.
    Join,
    /// Into the group under its key, which had resolved within the reopen window: it fires
    /// again instead of paging anew.
    Reopen,
    /// Into a new group; `after` tells whether an older group under the same key had closed
    /// (its window passed), so the new one is linked to it.
    New { after: bool },
}

/// Places a new firing alert (never a duplicate, never a resolve: a resolve creates nothing).
pub fn place(route: &Route, current: Option<&GroupFacts>, at: Timestamp) -> Placement {
    let Some(group) = current else {
        return Placement::New { after: false };
    };
    if group.incident_ended {
        return Placement::New { after: true };
    }
    // A flapping group keeps every flip (the timeline shows them all) but neither reopens nor
    // starts a new group that would ask for an incident again.
    if group.flapping {
        return Placement::Join;
    }
    if let Some(resolved_at) = group.resolved_at {
        return if elapsed(resolved_at, at) < route.reopen_window.signed() {
            Placement::Reopen
        } else {
            Placement::New { after: true }
        };
    }
    let open = match route.window_kind {
        WindowKind::Fixed => elapsed(group.opened_at, at) < route.window.signed(),
        WindowKind::Extending => {
            elapsed(group.last_alert_at, at) < route.window.signed()
                && elapsed(group.opened_at, at) < route.max_age.signed()
        }
    };
    if open {
        Placement::Join
    } else {
        Placement::New { after: true }
    }
}

/// Time from `from` to `to`; a `to` before `from` (a source's clock behind ours) counts as
/// no time.
fn elapsed(from: Timestamp, to: Timestamp) -> SignedDuration {
    to.duration_since(from).max(SignedDuration::ZERO)
}

/// How often a group's alerts flipped (a resolved alert fired again), counted in spans of
/// the route's `flap_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flaps {
    /// Flips since `since`.
    pub count: u32,
    pub since: Option<Timestamp>,
    /// The newest flip.
    pub last: Option<Timestamp>,
    /// Since when the group flaps; it stops once a whole `flap_window` passes without a flip.
    pub flapping_since: Option<Timestamp>,
}

impl Flaps {
    /// Counts one more flip at `at`.
    pub fn flip(self, route: &Route, at: Timestamp) -> Self {
        let within = |earlier: Timestamp| elapsed(earlier, at) < route.flap_window.signed();
        let mut next = self;
        if !self.last.is_some_and(within) {
            // A quiet span ends the flapping.
            next.flapping_since = None;
        }
        if self.since.is_some_and(within) {
            next.count = next.count.saturating_add(1);
        } else {
            next.count = 1;
            next.since = Some(at);
        }
        next.last = Some(at);
        if route.flap_limit > 0 && next.count > route.flap_limit && next.flapping_since.is_none() {
            next.flapping_since = Some(at);
        }
        next
    }

    /// Whether the group flaps at `at`: it crossed the limit and has flipped since within the
    /// window.
    pub fn flapping(&self, route: &Route, at: Timestamp) -> bool {
        route.flap_limit > 0
            && self.flapping_since.is_some()
            && self
                .last
                .is_some_and(|last| elapsed(last, at) < route.flap_window.signed())
    }
}

/// Why a firing alert asks nobody for anything: it is kept, shown and noted, but opens no
/// incident and reopens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quiet {
    /// A maintenance window holds it (the alert is stored as suppressed).
    Maintenance { window: String },
    /// A person silenced its group until then (the alert is stored as suppressed).
    Silenced { until: Timestamp, by: String },
    /// A person acknowledged its group: someone is on it.
    Acknowledged { by: String },
    /// Its group flaps.
    Flapping,
}

impl Quiet {
    /// Whether the alert itself is stored as suppressed (rather than its group being quiet).
    pub fn suppresses(&self) -> bool {
        matches!(self, Quiet::Maintenance { .. } | Quiet::Silenced { .. })
    }
}

impl fmt::Display for Quiet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quiet::Maintenance { window } => {
                write!(f, "suppressed by maintenance window `{window}`")
            }
            Quiet::Silenced { until, by } => write!(f, "silenced by {by} until {until}"),
            Quiet::Acknowledged { by } => write!(f, "acknowledged by {by}"),
            Quiet::Flapping => f.write_str("flapping"),
        }
    }
}

/// What a person set on a group, as [`quiet`] needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupHolds {
    pub silenced_until: Option<Timestamp>,
    pub silenced_by: Option<String>,
    pub acknowledged_by: Option<String>,
}

/// Why a new firing alert asks nothing of anyone, if it does not: the first of a maintenance
/// window in force over its labels, a silence of its group, an acknowledgement of its group,
/// its group flapping.
pub fn quiet(
    routes: &Routes,
    labels: &BTreeMap<String, String>,
    holds: &GroupHolds,
    flapping: bool,
    at: Timestamp,
) -> Option<Quiet> {
    if let Some(window) = routes.maintenance_over(labels, at) {
        return Some(Quiet::Maintenance {
            window: window.name.clone(),
        });
    }
    if let Some(until) = holds.silenced_until
        && until > at
    {
        return Some(Quiet::Silenced {
            until,
            by: holds.silenced_by.clone().unwrap_or_default(),
        });
    }
    if let Some(by) = &holds.acknowledged_by {
        return Some(Quiet::Acknowledged { by: by.clone() });
    }
    flapping.then_some(Quiet::Flapping)
}

/// How a maintenance window repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Daily,
    Weekly,
}

impl Repeat {
    fn period(self) -> SignedDuration {
        match self {
            Repeat::Daily => SignedDuration::from_hours(24),
            Repeat::Weekly => SignedDuration::from_hours(24 * 7),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Daily => "daily",
            Repeat::Weekly => "weekly",
        }
    }
}

/// A maintenance window as an admin writes it (the `alert_maintenance` setting's value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSpec {
    /// Every matcher must hold; at least one is needed, so no window hides every alert.
    pub matchers: Vec<String>,
    /// RFC 3339 times; the window holds from `starts` until before `ends`.
    pub starts: String,
    pub ends: String,
    /// `daily` or `weekly`: the same span again every 24 hours or every 7 days from `starts`.
    #[serde(default)]
    pub repeat: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A checked maintenance window: while it holds, the firing alerts it matches are kept as
/// *suppressed* (never dropped) and open nothing; resolves always go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub name: String,
    pub matchers: Vec<Matcher>,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub repeat: Option<Repeat>,
    pub reason: String,
}

impl MaintenanceWindow {
    /// Checks a window as written; a problem names the field.
    pub fn from_spec(name: &str, spec: &MaintenanceSpec) -> Result<Self, InvalidValue> {
        let time = |field: &'static str, raw: &str| -> Result<Timestamp, InvalidValue> {
            raw.trim().parse::<Timestamp>().map_err(|_| {
                InvalidValue::new(
                    field,
                    format!("`{raw}` is not a time like 2026-12-05T22:00:00Z"),
                )
            })
        };
        if spec.matchers.is_empty() {
            return Err(InvalidValue::new(
                "matchers",
                "name at least one, e.g. service=\"db\": a window over every alert would hide an outage",
            ));
        }
        let matchers = spec
            .matchers
            .iter()
            .map(|raw| Matcher::parse(raw))
            .collect::<Result<Vec<_>, _>>()?;
        let starts = time("starts", &spec.starts)?;
        let ends = time("ends", &spec.ends)?;
        if ends <= starts {
            return Err(InvalidValue::new("ends", "must be after starts"));
        }
        let repeat = match spec.repeat.as_deref().map(str::trim) {
            None | Some("") | Some("never") => None,
            Some("daily") => Some(Repeat::Daily),
            Some("weekly") => Some(Repeat::Weekly),
            Some(other) => {
                return Err(InvalidValue::new(
                    "repeat",
                    format!("`{other}` is not a repeat: use daily or weekly"),
                ));
            }
        };
        if let Some(repeat) = repeat
            && ends.duration_since(starts) >= repeat.period()
        {
            return Err(InvalidValue::new(
                "ends",
                format!(
                    "a {} window must be shorter than its period",
                    repeat.as_str()
                ),
            ));
        }
        let reason = spec.reason.as_deref().unwrap_or("").trim();
        if reason.len() > 500 {
            return Err(InvalidValue::new("reason", "at most 500 bytes"));
        }
        Ok(Self {
            name: name.to_owned(),
            matchers,
            starts,
            ends,
            repeat,
            reason: reason.to_owned(),
        })
    }

    /// The window as written back.
    pub fn spec(&self) -> MaintenanceSpec {
        MaintenanceSpec {
            matchers: self.matchers.iter().map(ToString::to_string).collect(),
            starts: self.starts.to_string(),
            ends: self.ends.to_string(),
            repeat: self.repeat.map(|repeat| repeat.as_str().to_owned()),
            reason: (!self.reason.is_empty()).then(|| self.reason.clone()),
        }
    }

    /// Whether the window holds at `at`.
    pub fn in_force(&self, at: Timestamp) -> bool {
        if at < self.starts {
            return false;
        }
        let length = self.ends.duration_since(self.starts);
        let since = at.duration_since(self.starts);
        match self.repeat {
            None => since < length,
            Some(repeat) => {
                let period = repeat.period().as_secs();
                let offset = since.as_secs().rem_euclid(period);
                SignedDuration::from_secs(offset) < length
            }
        }
    }

    /// Whether it holds at `at` over an alert with these labels.
    pub fn holds(&self, labels: &BTreeMap<String, String>, at: Timestamp) -> bool {
        self.in_force(at) && self.matchers.iter().all(|matcher| matcher.matches(labels))
    }
}

/// Whether a group without an incident now asks for one, given when its distinct alerts
/// first fired (any order) and whether any fires now. A group with nothing firing never asks.
pub fn wants_incident(
    route: &Route,
    first_fired: &[Timestamp],
    firing: bool,
    at: Timestamp,
) -> bool {
    if !firing {
        return false;
    }
    match route.create {
        Creation::Never => false,
        Creation::Always | Creation::Triage => !first_fired.is_empty(),
        Creation::Threshold { alerts, within } => {
            let recent = first_fired
                .iter()
                .filter(|fired| elapsed(**fired, at) < within.signed())
                .count();
            recent >= alerts as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_route_parses() {
        let route = Route::shipped_default();
        assert_eq!(route.name, DEFAULT_ROUTE);
        assert!(route.matches(&BTreeMap::new()));
        assert_eq!(route.create, Creation::Always);
    }
}
