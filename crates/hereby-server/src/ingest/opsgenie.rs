//! The Opsgenie Alert API, as a compatible endpoint: `POST /v2/alerts` creates (the `alias`
//! is the dedup key; one is made when absent), `POST /v2/alerts/{identifier}/close` resolves,
//! with `Authorization: GenieKey <integration key>`. Alertmanager's Opsgenie receiver sends
//! one alert per group under a 64-hex alias, with the group's common labels as details: the
//! alias is then taken as the group.

use std::collections::BTreeMap;

use hereby_core::alerts::Signal;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Create {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    priority: Option<String>,
}

/// Reads a create request as a firing signal; `new_key` makes an alias when there is none.
pub(crate) fn create(
    body: &[u8],
    received: Timestamp,
    new_key: impl FnOnce() -> String,
) -> Result<Signal, String> {
    let create: Create = serde_json::from_slice(body)
        .map_err(|e| format!("Request body is not processable: {e}"))?;
    let message = create.message.unwrap_or_default();
    if message.trim().is_empty() {
        return Err("Message can not be empty.".to_owned());
    }
    if message.chars().count() > 130 {
        return Err("Message can be at most 130 characters.".to_owned());
    }
    let alias = create.alias.filter(|a| !a.is_empty());
    if alias.as_ref().is_some_and(|a| a.chars().count() > 512) {
        return Err("Alias can be at most 512 characters.".to_owned());
    }
    let priority = create.priority.unwrap_or_else(|| "P3".to_owned());
    if !["P1", "P2", "P3", "P4", "P5"].contains(&priority.as_str()) {
        return Err(format!(
            "Priority should be one of [P1, P2, P3, P4, P5], not {priority}"
        ));
    }
    let mut labels = BTreeMap::new();
    if let Some(Value::Object(details)) = create.details {
        for (name, value) in details {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            labels.insert(name, value);
        }
    }
    if !create.tags.is_empty() {
        labels.insert("tags".to_owned(), create.tags.join(","));
    }
    for (name, value) in [("entity", create.entity), ("source", create.source)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            labels.insert(name.to_owned(), value);
        }
    }
    labels.insert("priority".to_owned(), priority);
    let alias = alias.unwrap_or_else(new_key);
    Ok(Signal {
        source_group: is_group_alias(&alias),
        dedup_key: alias,
        firing: true,
        summary: message,
        labels,
        at: received,
    })
}

/// A resolve of the alert with this alias.
pub(crate) fn close(alias: &str, received: Timestamp) -> Signal {
    Signal {
        dedup_key: alias.to_owned(),
        firing: false,
        summary: String::new(),
        labels: BTreeMap::new(),
        at: received,
        source_group: is_group_alias(alias),
    }
}

/// Alertmanager's receiver names its groups by a 64-hex hash.
fn is_group_alias(alias: &str) -> bool {
    alias.len() == 64 && alias.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_reads_as_a_firing_signal() {
        let signal = create(
            br#"{"message":"Disk full on db-1","alias":"db1-disk","tags":["db","disk"],"details":{"service":"db"},"entity":"db-1","priority":"P1"}"#,
            Timestamp::UNIX_EPOCH,
            || unreachable!(),
        )
        .unwrap();
        assert_eq!(signal.dedup_key, "db1-disk");
        assert_eq!(signal.labels["priority"], "P1");
        assert_eq!(signal.labels["service"], "db");
        assert_eq!(signal.labels["tags"], "db,disk");
        assert!(!signal.source_group);
        let grouped = create(
            format!(
                r#"{{"message":"[FIRING:1] HighLatency","alias":"{}"}}"#,
                "cd".repeat(32)
            )
            .as_bytes(),
            Timestamp::UNIX_EPOCH,
            || unreachable!(),
        )
        .unwrap();
        assert!(grouped.source_group);
        assert_eq!(grouped.labels["priority"], "P3");
    }

    #[test]
    fn invalid_creates_say_why() {
        for (body, problem) in [
            (r#"{}"#, "Message can not be empty"),
            (
                r#"{"message":"x","priority":"P9"}"#,
                "Priority should be one of",
            ),
            ("[", "not processable"),
        ] {
            let error =
                create(body.as_bytes(), Timestamp::UNIX_EPOCH, || "k".to_owned()).unwrap_err();
            assert!(error.contains(problem), "{body}: {error}");
        }
    }
}
