//! How a decision is written for tools and terminals: the JSON of the admin API and of
//! `commentguard log --json`, RFC 3339 times, the action summary and one safe terminal line.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::store::DecisionRow;

/// `2025-01-31T12:00:00Z` for unix milliseconds.
pub fn iso_time(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One decision as JSON: the stored fields, `time` in RFC 3339, the derived `outcome`, and
/// `undo` (the state of a planned unhide) when there is one.
pub fn decision_json(d: &DecisionRow) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("time".into(), json!(iso_time(d.decided_at)));
        map.insert("outcome".into(), json!(d.outcome()));
        map.insert(
            "undo".into(),
            match super::undo::undo_of(d) {
                Some(u) => json!({"action_id": u.id, "state": u.state}),
                None => Value::Null,
            },
        );
    }
    v
}

/// The action kinds of the action log (`hide,unhide`), or the decided ones when nothing was
/// planned.
pub fn actions_summary(d: &DecisionRow) -> String {
    if d.action_log.is_empty() {
        return d.actions.join(",");
    }
    d.action_log
        .iter()
        .map(|a| a.kind.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A user-supplied string made safe for one terminal line: control characters (escape
/// sequences a commenter could use to repaint an operator's terminal) and line breaks become
/// spaces, and it is cut to `max` characters with an ellipsis.
pub fn one_line(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
