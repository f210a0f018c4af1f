//! Canonical JSON: one byte sequence per value, so hashes do not depend on map ordering.

use serde_json::Value;

/// Writes `value` as compact JSON with object keys sorted by their UTF-8 bytes.
///
/// serde_json sorts keys already unless some crate in the build enables its
/// `preserve_order` feature; sorting here keeps the stored bytes (and so every hash)
/// independent of that feature flag.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut String) {
    // Scalars have exactly one compact rendering in serde_json.
    out.push_str(&value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[{"y":2,"x":"é\n"}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":null,"z":[{"x":"é\n","y":2}]},"b":1}"#
        );
    }
}
