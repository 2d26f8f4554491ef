//! [`Change`]: what the inbox keeps of one change, written by ingress and sweeps, read by the
//! pipeline; and the typed views of the changes the pipeline acts on ([`CommentChange`],
//! [`MentionChange`]).
//!
//! The value stays JSON in the inbox (an unknown field, or a key Meta adds next year, is kept
//! as it came); the views read what the pipeline needs from it, tolerant as the parser is: a
//! missing or odd key is `None`, never an error for the event.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One change as stored, in the key order every version has written (`json!` sorted them).
#[derive(Debug, Serialize, Deserialize)]
pub struct Change<'a> {
    /// The entry's id: the account the notification is for.
    #[serde(borrow, default)]
    pub entry_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub field: Cow<'a, str>,
    #[serde(borrow, default)]
    pub object: Cow<'a, str>,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub value: Cow<'a, Value>,
    /// `sweep` for a change a sweep found (no webhook announced it); absent for webhooks.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Cow<'a, str>>,
}

impl<'a> Change<'a> {
    /// Reads a stored change; a payload that is not one (a damaged row) reads as an empty
    /// change, which the pipeline records as invalid rather than stalling on.
    pub fn read(payload: &'a str) -> Change<'a> {
        serde_json::from_str(payload).unwrap_or(Change {
            entry_id: Cow::Borrowed(""),
            field: Cow::Borrowed(""),
            object: Cow::Borrowed(""),
            time: None,
            value: Cow::Owned(Value::Null),
            source: None,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a JSON value serializes")
    }

    /// Found by a sweep, not delivered by Meta.
    pub fn from_sweep(&self) -> bool {
        self.source.is_some()
    }
}

/// Ids arrive as strings, but be tolerant of numbers.
pub fn id_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The comment id: `id` in the field reference, `comment_id` in one of Meta's examples.
pub fn comment_id(value: &Value) -> Option<String> {
    id_string(value.get("id")).or_else(|| id_string(value.get("comment_id")))
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// A `comments` or `live_comments` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentChange {
    pub id: String,
    pub text: String,
    pub author_id: Option<String>,
    pub author_username: Option<String>,
    /// Meta marks the account's own comments (`from.self_ig_scoped_id`).
    pub by_self: bool,
    pub media_id: Option<String>,
    /// `FEED`, `REELS`, `LIVE`, ...
    pub media_product_type: Option<String>,
    /// Set on a reply: the comment it answers.
    pub parent_id: Option<String>,
}

impl CommentChange {
    /// `None` when the change names no comment.
    pub fn read(value: &Value) -> Option<CommentChange> {
        let from = value.get("from");
        let media = value.get("media");
        Some(CommentChange {
            id: comment_id(value)?,
            text: text(value.get("text")).unwrap_or_default(),
            author_id: id_string(from.and_then(|f| f.get("id"))),
            author_username: text(from.and_then(|f| f.get("username"))),
            by_self: from.is_some_and(|f| f.get("self_ig_scoped_id").is_some()),
            media_id: id_string(media.and_then(|m| m.get("id"))),
            media_product_type: text(media.and_then(|m| m.get("media_product_type"))),
            parent_id: id_string(value.get("parent_id")),
        })
    }
}

/// A `mentions` change: Meta sends ids only, the text is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionChange {
    pub media_id: String,
    /// Absent when the media's caption mentioned the account.
    pub comment_id: Option<String>,
}

impl MentionChange {
    /// `None` when the change names no media.
    pub fn read(value: &Value) -> Option<MentionChange> {
        Some(MentionChange {
            media_id: id_string(value.get("media_id"))?,
            comment_id: id_string(value.get("comment_id")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_reads_back_as_written_and_in_the_established_key_order() {
        let value = json!({"id": "c1", "text": "hi", "from": {"id": 7, "username": "ana"}});
        let change = Change {
            entry_id: "17841".into(),
            field: "comments".into(),
            object: "instagram".into(),
            time: Some(5),
            value: Cow::Borrowed(&value),
            source: None,
        };
        let stored = change.to_json();
        assert_eq!(
            stored,
            json!({"entry_id": "17841", "field": "comments", "object": "instagram", "time": 5, "value": value})
                .to_string()
        );
        let back = Change::read(&stored);
        assert_eq!(back.entry_id, "17841");
        assert!(!back.from_sweep());
        let c = CommentChange::read(&back.value).unwrap();
        assert_eq!(c.author_id.as_deref(), Some("7"));
        assert_eq!(c.author_username.as_deref(), Some("ana"));
        assert_eq!(c.text, "hi");
    }

    #[test]
    fn odd_values_are_none_not_errors() {
        assert_eq!(CommentChange::read(&json!({"text": "no id"})), None);
        let c = CommentChange::read(&json!({"comment_id": "c2", "text": 5, "from": "x"})).unwrap();
        assert_eq!((c.id.as_str(), c.text.as_str()), ("c2", ""));
        assert_eq!(MentionChange::read(&json!({"comment_id": "c"})), None);
        assert_eq!(Change::read("not json").field, "");
    }
}
