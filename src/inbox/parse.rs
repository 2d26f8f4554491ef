//! Tolerant parsing of Meta's notification envelope into per-change events.
//!
//! Unknown keys and unknown `field` values are kept, never an error for the batch. A body that
//! is not a notification at all becomes a dead letter.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::change::{comment_id, id_string, Change};
use crate::store::{Delivery, NewEvent};

/// Splits a verified body into events (one per change) or a dead letter.
pub fn split(body: &[u8]) -> Delivery {
    let dead = |reason: &str| Delivery::DeadLetter {
        reason: reason.to_string(),
        body: body.to_vec(),
    };
    let root: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return dead(&format!("body is not JSON: {e}")),
    };
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        return dead("no `entry` array: not a webhook notification");
    };
    let object = root.get("object").and_then(Value::as_str).unwrap_or("");
    let mut events = Vec::new();
    for entry in entries {
        let account_id = id_string(entry.get("id")).unwrap_or_default();
        let entry_time = entry.get("time").and_then(Value::as_i64);
        // Facebook Login wraps changes in `changes`; some Instagram Login examples put
        // field/value on the entry itself.
        let changes: Vec<&Value> = match entry.get("changes").and_then(Value::as_array) {
            Some(list) => list.iter().collect(),
            None if entry.get("field").is_some() => vec![entry],
            None => Vec::new(),
        };
        for change in changes {
            let field = change
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            let value = change.get("value").unwrap_or(&Value::Null);
            let dedup_key = dedup_key(&field, &account_id, value);
            let payload = Change {
                entry_id: Cow::Borrowed(&account_id),
                field: Cow::Borrowed(&field),
                object: Cow::Borrowed(object),
                time: entry_time,
                value: Cow::Borrowed(value),
                source: None,
            }
            .to_json();
            events.push(NewEvent {
                dedup_key,
                account_id: account_id.clone(),
                field,
                entry_time,
                payload,
            });
        }
    }
    if events.is_empty() {
        return dead("no changes in any entry: not a webhook notification");
    }
    Delivery::Events(events)
}

/// Per-change keys: a redelivery of the same change maps to the same key.
fn dedup_key(field: &str, account_id: &str, value: &Value) -> String {
    match field {
        "comments" | "live_comments" => {
            if let Some(id) = comment_id(value) {
                return format!("{field}:{id}");
            }
        }
        "mentions" => {
            if let Some(media) = id_string(value.get("media_id")) {
                let comment = id_string(value.get("comment_id")).unwrap_or_default();
                return format!("mentions:{account_id}:{media}:{comment}");
            }
        }
        "story_insights" => {
            if let Some(media) = id_string(value.get("media_id")) {
                return format!("story_insights:{media}");
            }
        }
        _ => {}
    }
    // No natural id: the content itself (serde_json orders object keys) is the key.
    let digest = Sha256::digest(value.to_string().as_bytes());
    format!("{field}:{account_id}:{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(body: &str) -> Vec<NewEvent> {
        match split(body.as_bytes()) {
            Delivery::Events(e) => e,
            Delivery::DeadLetter { reason, .. } => panic!("dead letter: {reason}"),
        }
    }

    #[test]
    fn comment_id_is_read_from_id_or_comment_id() {
        let a = events(
            r#"{"object":"instagram","entry":[{"id":"1","time":5,"changes":[{"field":"comments","value":{"id":"c1","text":"hi"}}]}]}"#,
        );
        let b = events(
            r#"{"object":"instagram","entry":[{"id":"1","time":6,"changes":[{"field":"comments","value":{"comment_id":"c1","text":"hi"}}]}]}"#,
        );
        assert_eq!(a[0].dedup_key, "comments:c1");
        assert_eq!(a[0].dedup_key, b[0].dedup_key);
        assert_eq!(a[0].account_id, "1");
        assert_eq!(a[0].entry_time, Some(5));
    }

    #[test]
    fn batches_split_into_one_event_per_change_across_entries() {
        let e = events(
            r#"{"object":"instagram","entry":[
              {"id":"1","time":1,"changes":[{"field":"comments","value":{"id":"a"}},{"field":"mentions","value":{"media_id":"m","comment_id":"c"}}]},
              {"id":"2","time":1,"changes":[{"field":"story_insights","value":{"media_id":"s","reach":-1}},{"field":"brand_new_field","value":{"x":1}}]}]}"#,
        );
        let keys: Vec<&str> = e.iter().map(|e| e.dedup_key.as_str()).collect();
        assert_eq!(keys[0], "comments:a");
        assert_eq!(keys[1], "mentions:1:m:c");
        assert_eq!(keys[2], "story_insights:s");
        assert!(keys[3].starts_with("brand_new_field:2:"));
        assert_eq!(e[3].field, "brand_new_field");
    }

    #[test]
    fn the_stored_payload_is_the_change_with_its_entry_in_the_established_shape() {
        let e = events(
            r#"{"object":"instagram","entry":[{"id":"1","time":5,"changes":[{"field":"comments","value":{"text":"caf\u00e9 \/ x","id":"c1","from":{"username":"u"}}}]}]}"#,
        );
        // Events stored by earlier versions were written by serde_json's `json!` (keys sorted);
        // new ones must read the same.
        let expected = serde_json::json!({
            "object": "instagram",
            "entry_id": "1",
            "time": 5,
            "field": "comments",
            "value": {"text": "café / x", "id": "c1", "from": {"username": "u"}},
        });
        assert_eq!(e[0].payload, expected.to_string());
    }

    #[test]
    fn instagram_login_shape_without_changes_wrapper() {
        let e = events(
            r#"{"object":"instagram","entry":[{"id":"9","time":1,"field":"comments","value":{"id":"z","text":"x"}}]}"#,
        );
        assert_eq!(e[0].dedup_key, "comments:z");
    }

    #[test]
    fn non_notifications_are_dead_letters() {
        for body in [
            "not json",
            "[]",
            r#"{"object":"instagram"}"#,
            r#"{"entry":[{"id":"1"}]}"#,
        ] {
            assert!(
                matches!(split(body.as_bytes()), Delivery::DeadLetter { .. }),
                "{body}"
            );
        }
    }
}
