//! PagerDuty Events API v2, as a compatible endpoint: `POST /v2/enqueue` with the integration
//! key as `routing_key`. One event is one signal, keyed by `dedup_key` (generated and returned
//! when a trigger has none). Alertmanager's PagerDuty receiver sends one event per *group*
//! (`client: "Alertmanager"`, a 64-hex key), which is therefore taken as the group.

use std::collections::BTreeMap;

use hereby_core::alerts::Signal;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

/// The severities PagerDuty accepts.
const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];

#[derive(Debug, Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    pub(crate) routing_key: Option<String>,
    #[serde(default)]
    event_action: Option<String>,
    #[serde(default)]
    dedup_key: Option<String>,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default)]
    client: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    custom_details: Option<Value>,
}

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// A trigger or a resolve, as a signal.
    Signal(Signal),
    /// An acknowledgement: kept, and the alert's group acknowledged.
    Acknowledge { dedup_key: String },
}

/// Reads the body; the routing key is checked by the caller before anything else.
pub(crate) fn parse(body: &[u8]) -> Result<Event, Vec<String>> {
    serde_json::from_slice(body).map_err(|e| vec![format!("Event object is invalid: {e}")])
}

/// Checks an event and reads it as what it asks for. `new_key` makes a dedup key for a
/// trigger that has none. Every problem is listed, as PagerDuty lists them.
pub(crate) fn action(
    event: Event,
    received: Timestamp,
    new_key: impl FnOnce() -> String,
) -> Result<Action, Vec<String>> {
    let mut errors = Vec::new();
    let dedup_key = event.dedup_key.filter(|key| !key.is_empty());
    if dedup_key.as_ref().is_some_and(|key| key.len() > 255) {
        errors.push("'dedup_key' must be at most 255 characters".to_owned());
    }
    match event.event_action.as_deref() {
        Some("trigger") => {}
        Some(action @ ("acknowledge" | "resolve")) => {
            let Some(dedup_key) = dedup_key else {
                return Err(vec![format!("'dedup_key' is required to {action}")]);
            };
            if !errors.is_empty() {
                return Err(errors);
            }
            if action == "acknowledge" {
                return Ok(Action::Acknowledge { dedup_key });
            }
            return Ok(Action::Signal(Signal {
                source_group: is_grouped(event.client.as_deref(), &dedup_key),
                dedup_key,
                firing: false,
                summary: String::new(),
                labels: BTreeMap::new(),
                at: received,
            }));
        }
        Some(other) => {
            return Err(vec![format!(
                "'event_action' must be trigger, acknowledge or resolve, not '{other}'"
            )]);
        }
        None => return Err(vec!["'event_action' is missing".to_owned()]),
    }
    let Some(payload) = event.payload else {
        return Err(vec!["'payload' is missing".to_owned()]);
    };
    let summary = payload.summary.unwrap_or_default();
    if summary.trim().is_empty() {
        errors.push("'payload.summary' is missing".to_owned());
    } else if summary.chars().count() > 1024 {
        errors.push("'payload.summary' must be at most 1024 characters".to_owned());
    }
    let source = payload.source.unwrap_or_default();
    if source.trim().is_empty() {
        errors.push("'payload.source' is missing".to_owned());
    }
    let severity = payload.severity.unwrap_or_default();
    if !SEVERITIES.contains(&severity.as_str()) {
        errors.push(format!(
            "'payload.severity' must be critical, error, warning or info, not '{severity}'"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut labels = BTreeMap::new();
    if let Some(Value::Object(details)) = &payload.custom_details {
        for (name, value) in details {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            labels.insert(name.clone(), value);
        }
    }
    let dedup_key = dedup_key.unwrap_or_else(new_key);
    let grouped = is_grouped(event.client.as_deref(), &dedup_key);
    // Alertmanager's receiver sends `error` whatever the alerts' labels say; its details
    // list the firing alerts' labels, from which the worst severity is read.
    let severity = match labels.get("firing") {
        Some(firing) if grouped => worst_listed_severity(firing).unwrap_or(severity),
        _ => severity,
    };
    for (name, value) in [
        ("severity", Some(severity)),
        ("source", Some(source)),
        ("component", payload.component),
        ("group", payload.group),
        ("class", payload.class),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            labels.insert(name.to_owned(), value);
        }
    }
    let at = payload
        .timestamp
        .as_deref()
        .and_then(|raw| raw.parse::<Timestamp>().ok())
        .unwrap_or(received);
    Ok(Action::Signal(Signal {
        dedup_key,
        firing: true,
        summary,
        labels,
        at,
        source_group: grouped,
    }))
}

/// Whether the event comes from Alertmanager's PagerDuty receiver, whose key names a group.
fn is_grouped(client: Option<&str>, dedup_key: &str) -> bool {
    client == Some("Alertmanager")
        && dedup_key.len() == 64
        && dedup_key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The worst severity listed as `- severity = …` in Alertmanager's default details.
fn worst_listed_severity(firing: &str) -> Option<String> {
    let listed: Vec<String> = firing
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- severity = "))
        .map(|word| word.trim().to_lowercase())
        .collect();
    ["critical", "page", "error", "warning", "info"]
        .into_iter()
        .find(|word| listed.iter().any(|listed| listed == word))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<Action, Vec<String>> {
        action(parse(body.as_bytes())?, Timestamp::UNIX_EPOCH, || {
            "generated".to_owned()
        })
    }

    #[test]
    fn a_trigger_reads_as_a_firing_signal_with_its_fields_as_labels() {
        let Action::Signal(signal) = read(r#"{"routing_key":"k","event_action":"trigger","dedup_key":"disk-db1","payload":{"summary":"Disk 95% on db-1","source":"db-1","severity":"warning","component":"postgres","custom_details":{"service":"db","free_gb":3}}}"#).unwrap() else {
            panic!("a signal")
        };
        assert_eq!(signal.dedup_key, "disk-db1");
        assert!(signal.firing && !signal.source_group);
        assert_eq!(signal.labels["severity"], "warning");
        assert_eq!(signal.labels["service"], "db");
        assert_eq!(signal.labels["free_gb"], "3");
        assert_eq!(signal.labels["component"], "postgres");
        // Without a dedup key, one is made (and returned to the sender).
        let Action::Signal(signal) = read(r#"{"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}"#).unwrap() else {
            panic!("a signal")
        };
        assert_eq!(signal.dedup_key, "generated");
    }

    #[test]
    fn alertmanager_s_receiver_sends_groups_with_their_worst_severity() {
        let key = "ab".repeat(32);
        let body = format!(
            r#"{{"routing_key":"k","dedup_key":"{key}","event_action":"trigger","client":"Alertmanager","payload":{{"summary":"[FIRING:2] HighLatency checkout (critical)","source":"Alertmanager","severity":"error","custom_details":{{"firing":"Labels:\n - alertname = HighLatency\n - severity = critical\n","num_firing":"2"}}}}}}"#
        );
        let Action::Signal(signal) = read(&body).unwrap() else {
            panic!("a signal")
        };
        assert!(signal.source_group);
        assert_eq!(signal.labels["severity"], "critical");
        let resolve = format!(
            r#"{{"routing_key":"k","dedup_key":"{key}","event_action":"resolve","client":"Alertmanager"}}"#
        );
        let Action::Signal(signal) = read(&resolve).unwrap() else {
            panic!("a signal")
        };
        assert!(!signal.firing && signal.source_group);
    }

    #[test]
    fn invalid_events_list_every_problem() {
        let errors =
            read(r#"{"event_action":"trigger","payload":{"severity":"fatal"}}"#).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[2].contains("not 'fatal'"));
        assert!(
            read(r#"{"event_action":"resolve"}"#).unwrap_err()[0]
                .contains("'dedup_key' is required")
        );
        assert!(read(r#"{"event_action":"poke"}"#).unwrap_err()[0].contains("not 'poke'"));
        assert!(read("nope").unwrap_err()[0].contains("Event object is invalid"));
        assert_eq!(
            read(r#"{"event_action":"acknowledge","dedup_key":"k"}"#).unwrap(),
            Action::Acknowledge {
                dedup_key: "k".to_owned()
            }
        );
    }
}

/// A change event (`POST /v2/change/enqueue`): a deployment, which hereby keeps as a release.
#[derive(Debug, Deserialize)]
pub(crate) struct ChangeEvent {
    #[serde(default)]
    pub(crate) routing_key: Option<String>,
    #[serde(default)]
    payload: Option<ChangePayload>,
}

#[derive(Debug, Deserialize)]
struct ChangePayload {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    custom_details: Option<Value>,
}

pub(crate) fn parse_change(body: &[u8]) -> Result<ChangeEvent, Vec<String>> {
    serde_json::from_slice(body).map_err(|e| vec![format!("Event object is invalid: {e}")])
}

/// The release a change event records: the service from `custom_details.service` (else
/// `payload.source`), the version from `custom_details.version`, the time from
/// `payload.timestamp`, the summary as notes.
pub(crate) fn release(event: ChangeEvent) -> Result<hereby_api::ReleaseRequest, Vec<String>> {
    let Some(payload) = event.payload else {
        return Err(vec!["'payload' is missing".to_owned()]);
    };
    let detail = |name: &str| match &payload.custom_details {
        Some(Value::Object(details)) => details.get(name).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
        _ => None,
    };
    let mut errors = Vec::new();
    let summary = payload.summary.clone().unwrap_or_default();
    if summary.trim().is_empty() {
        errors.push("'payload.summary' is missing".to_owned());
    }
    let service = detail("service")
        .or(payload.source.clone())
        .unwrap_or_default();
    if service.trim().is_empty() {
        errors.push("a change event becomes a release: name the service in 'payload.custom_details.service' (or 'payload.source')".to_owned());
    }
    let version = detail("version").unwrap_or_default();
    if version.trim().is_empty() {
        errors.push("a change event becomes a release: give the version in 'payload.custom_details.version'".to_owned());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(hereby_api::ReleaseRequest {
        service: service.trim().to_owned(),
        version: version.trim().to_owned(),
        at: payload.timestamp,
        notes: Some(summary.chars().take(2_000).collect()),
    })
}

#[cfg(test)]
mod change_tests {
    use super::*;

    #[test]
    fn a_change_event_reads_as_a_release() {
        let event = parse_change(br#"{"routing_key":"k","payload":{"summary":"Deploy checkout 1.2","source":"ci","timestamp":"2026-12-01T10:00:00Z","custom_details":{"service":"checkout","version":"1.2"}}}"#).unwrap();
        let release = release(event).unwrap();
        assert_eq!(
            (release.service.as_str(), release.version.as_str()),
            ("checkout", "1.2")
        );
        assert_eq!(release.at.as_deref(), Some("2026-12-01T10:00:00Z"));
        let missing = release_of(r#"{"routing_key":"k","payload":{"summary":"Deploy"}}"#);
        assert_eq!(missing.len(), 2, "{missing:?}");
    }

    fn release_of(body: &str) -> Vec<String> {
        release(parse_change(body.as_bytes()).unwrap()).unwrap_err()
    }
}
