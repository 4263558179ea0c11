//! The hash chain behind every append-only table.
//!
//! A record's hash covers the chain's name, its position, the previous record's hash and the
//! canonical JSON of its content, so editing, deleting, reordering or moving a record between
//! chains changes a hash that `kushim verify` recomputes.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The hash of one record, given its content as canonical JSON.
pub fn record_hash(chain: &str, seq: i64, prev_hash: &str, canonical_content: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [chain.as_bytes(), seq.to_string().as_bytes(), prev_hash.as_bytes()] {
        hasher.update(part);
        hasher.update(b"\n");
    }
    hasher.update(canonical_content.as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON with object keys sorted at every level and no insignificant whitespace.
///
/// Written out here rather than relying on `serde_json::Map` ordering, which a dependency could
/// change for the whole build by enabling serde_json's `preserve_order` feature.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"z": [3, {"y": null, "x": "é"}], "c": true}});
        assert_eq!(canonical_json(&value), r#"{"a":{"c":true,"z":[3,{"x":"é","y":null}]},"b":1}"#);
    }

    #[test]
    fn the_same_content_hashes_differently_in_another_place() {
        let content = canonical_json(&json!({"resource": "repo:acme/api"}));
        let original = record_hash("findings", 7, GENESIS, &content);
        assert_eq!(original, record_hash("findings", 7, GENESIS, &content));
        assert_ne!(original, record_hash("findings", 8, GENESIS, &content));
        assert_ne!(original, record_hash("evidence", 7, GENESIS, &content));
        assert_ne!(original, record_hash("findings", 7, &sha256_hex(b"x"), &content));
    }
}
