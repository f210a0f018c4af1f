//! Prometheus Alertmanager's webhook (version 4), and the superset Grafana sends: one
//! payload per group, one signal per alert, keyed by the alert's own fingerprint.

use std::collections::BTreeMap;

use hereby_core::alerts::Signal;
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    version: Option<String>,
    alerts: Vec<Alert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Reads a webhook body into signals, in the order the alerts came.
pub(crate) fn signals(body: &[u8], received: Timestamp) -> Result<Vec<Signal>, String> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| format!("not an Alertmanager webhook: {e}"))?;
    // Alertmanager sends version 4 and Grafana version 1 of the same shape: the version
    // changes nothing that is read here.
    let _ = payload.version;
    payload
        .alerts
        .into_iter()
        .map(|alert| {
            let firing = match alert.status.as_str() {
                "firing" => true,
                "resolved" => false,
                other => {
                    return Err(format!(
                        "alert status `{other}` is neither firing nor resolved"
                    ));
                }
            };
            // Alertmanager and Grafana always send the fingerprint; a hand-made payload without
            // one is keyed by its labels, as Alertmanager computes a fingerprint.
            let dedup_key = match alert.fingerprint.filter(|f| !f.is_empty()) {
                Some(fingerprint) => fingerprint,
                None => {
                    let mut hasher = Sha256::new();
                    for (name, value) in &alert.labels {
                        hasher.update(name.as_bytes());
                        hasher.update([0xff]);
                        hasher.update(value.as_bytes());
                        hasher.update([0xff]);
                    }
                    hex::encode(&hasher.finalize()[..8])
                }
            };
            let summary = ["summary", "title", "description", "message"]
                .iter()
                .find_map(|key| alert.annotations.get(*key).filter(|v| !v.trim().is_empty()))
                .cloned()
                .unwrap_or_else(|| {
                    let name = alert
                        .labels
                        .get("alertname")
                        .map_or("alert", String::as_str);
                    match alert.labels.get("service").or(alert.labels.get("instance")) {
                        Some(on) => format!("{name} {on}"),
                        None => name.to_owned(),
                    }
                });
            let when = if firing {
                &alert.starts_at
            } else {
                &alert.ends_at
            };
            let at = when
                .as_deref()
                .and_then(|raw| raw.parse::<Timestamp>().ok())
                .filter(|at| at.as_second() > 0)
                .unwrap_or(received);
            Ok(Signal {
                dedup_key,
                firing,
                summary: summary.lines().next().unwrap_or_default().to_owned(),
                labels: alert.labels,
                at,
                source_group: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as Alertmanager 0.25 sends it (recorded from a real one), with one alert
    /// firing and one resolved.
    const RECORDED: &str = r#"{"receiver":"hereby","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLatency","service":"checkout","severity":"critical"},"annotations":{"summary":"Checkout p99 above 2 s"},"startsAt":"2026-12-01T10:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"2a3f9c1be7d04a10"},{"status":"resolved","labels":{"alertname":"HighLatency","service":"checkout","severity":"critical","instance":"b"},"annotations":{},"startsAt":"2026-12-01T09:00:00Z","endsAt":"2026-12-01T09:30:00Z","generatorURL":"","fingerprint":"77aa"}],"groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0}"#;

    #[test]
    fn a_recorded_webhook_reads_as_one_signal_per_alert() {
        let received: Timestamp = "2026-12-01T10:00:05Z".parse().unwrap();
        let signals = signals(RECORDED.as_bytes(), received).unwrap();
        assert_eq!(signals.len(), 2);
        assert_eq!(signals[0].dedup_key, "2a3f9c1be7d04a10");
        assert!(signals[0].firing);
        assert_eq!(signals[0].summary, "Checkout p99 above 2 s");
        assert_eq!(signals[0].labels["service"], "checkout");
        assert_eq!(
            signals[0].at,
            "2026-12-01T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(!signals[1].firing);
        assert_eq!(signals[1].summary, "HighLatency checkout");
        assert_eq!(
            signals[1].at,
            "2026-12-01T09:30:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn what_is_not_a_webhook_is_refused_with_the_reason() {
        let received = Timestamp::UNIX_EPOCH;
        for (body, problem) in [
            ("{}", "missing field `alerts`"),
            ("[1]", "not an Alertmanager webhook"),
            (
                r#"{"alerts":[{"status":"pending"}]}"#,
                "neither firing nor resolved",
            ),
        ] {
            let error = signals(body.as_bytes(), received).unwrap_err();
            assert!(error.contains(problem), "{body}: {error}");
        }
        // Grafana's version 1 reads like Alertmanager's version 4.
        let grafana = r#"{"version":"1","alerts":[{"status":"firing","labels":{"alertname":"CPU"},"fingerprint":"g1"}]}"#;
        assert_eq!(
            signals(grafana.as_bytes(), received).unwrap()[0].dedup_key,
            "g1"
        );
        // Without a fingerprint, the same labels give the same key.
        let unkeyed = r#"{"alerts":[{"status":"firing","labels":{"a":"1"}},{"status":"firing","labels":{"a":"1"}}]}"#;
        let keys: Vec<String> = signals(unkeyed.as_bytes(), received)
            .unwrap()
            .into_iter()
            .map(|s| s.dedup_key)
            .collect();
        assert_eq!(keys[0], keys[1]);
    }
}
