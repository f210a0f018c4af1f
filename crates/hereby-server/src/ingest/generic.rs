//! The generic endpoint curl can drive: JSON or a form with `summary`, `details`, `dedup`,
//! `action=close` and `meta` (repeated `name=value`, or a JSON object). Without `dedup`, each
//! event is an alert of its own: the key is made, never derived from the summary.

use std::collections::BTreeMap;

use hereby_core::alerts::Signal;
use jiff::Timestamp;
use serde_json::Value;

/// Reads a JSON body (`json`) or a form into a signal.
pub(crate) fn signal(
    body: &[u8],
    json: bool,
    received: Timestamp,
    new_key: impl FnOnce() -> String,
) -> Result<Signal, String> {
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    if json {
        let Value::Object(object) =
            serde_json::from_slice::<Value>(body).map_err(|e| format!("not JSON: {e}"))?
        else {
            return Err("the body must be a JSON object".to_owned());
        };
        for (name, value) in object {
            match (name.as_str(), value) {
                ("meta", Value::Object(meta)) => {
                    for (key, value) in meta {
                        let value = match value {
                            Value::String(text) => text,
                            other => other.to_string(),
                        };
                        labels.insert(key, value);
                    }
                }
                (_, Value::String(text)) => fields.entry(name).or_default().push(text),
                (_, Value::Null) => {}
                (_, other) => fields.entry(name).or_default().push(other.to_string()),
            }
        }
    } else {
        for (name, value) in form_urlencoded::parse(body) {
            fields
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    let one = |name: &str| fields.get(name).and_then(|values| values.last()).cloned();
    for pair in fields.get("meta").into_iter().flatten() {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("meta `{pair}` must be name=value"));
        };
        labels.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    let firing = match one("action").as_deref().map(str::trim) {
        None | Some("" | "trigger") => true,
        Some("close" | "resolve") => false,
        Some(other) => return Err(format!("action `{other}` is not close")),
    };
    let dedup = one("dedup").filter(|d| !d.trim().is_empty());
    let summary = one("summary").unwrap_or_default();
    if firing && summary.trim().is_empty() {
        return Err("summary is required".to_owned());
    }
    if !firing && dedup.is_none() {
        return Err("closing needs the dedup key of the alert to close".to_owned());
    }
    if let Some(details) = one("details").filter(|d| !d.trim().is_empty()) {
        labels.insert("details".to_owned(), details);
    }
    Ok(Signal {
        dedup_key: dedup.unwrap_or_else(new_key),
        firing,
        summary,
        labels,
        at: received,
        source_group: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        "made".to_owned()
    }

    #[test]
    fn forms_and_json_read_alike() {
        let form = signal(
            b"summary=Disk+full+on+db-1&dedup=db1-disk&meta=service%3Ddb&meta=team%3Ddata",
            false,
            Timestamp::UNIX_EPOCH,
            key,
        )
        .unwrap();
        let json = signal(
            br#"{"summary":"Disk full on db-1","dedup":"db1-disk","meta":{"service":"db","team":"data"}}"#,
            true,
            Timestamp::UNIX_EPOCH,
            key,
        )
        .unwrap();
        assert_eq!(form, json);
        assert_eq!(form.labels["team"], "data");
        let close = signal(
            b"action=close&dedup=db1-disk",
            false,
            Timestamp::UNIX_EPOCH,
            key,
        )
        .unwrap();
        assert!(!close.firing);
        assert_eq!(
            signal(b"summary=x", false, Timestamp::UNIX_EPOCH, key)
                .unwrap()
                .dedup_key,
            "made"
        );
    }

    #[test]
    fn what_cannot_be_an_alert_says_why() {
        for (body, json, problem) in [
            (&b"details=x"[..], false, "summary is required"),
            (b"action=close", false, "needs the dedup key"),
            (b"summary=x&action=poke", false, "is not close"),
            (b"summary=x&meta=novalue", false, "must be name=value"),
            (b"[1]", true, "must be a JSON object"),
        ] {
            let error = signal(body, json, Timestamp::UNIX_EPOCH, key).unwrap_err();
            assert!(error.contains(problem), "{error}");
        }
    }
}
