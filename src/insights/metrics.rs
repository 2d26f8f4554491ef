//! Metric names by API version, and parsing of insights answers and final notifications.
//!
//! Counts under 5 arrive as `-1` in notifications; they are kept as [`Count::FewerThanFive`]
//! (stored and shown as `"<5"`) and never turned into a number.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The breakdown asked for with `navigation`.
pub const NAVIGATION_BREAKDOWN: &str = "story_navigation_action_type";

/// One count: exact, or "fewer than 5" (Meta's `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(i64),
    FewerThanFive,
}

impl Count {
    /// `-1` (and any negative count, which Meta uses for nothing else) is "fewer than 5".
    pub fn from_raw(n: i64) -> Count {
        if n < 0 {
            Count::FewerThanFive
        } else {
            Count::Exact(n)
        }
    }

    fn from_json(v: &Value) -> Option<Count> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Count::from_raw),
            Value::String(s) if s == "<5" => Some(Count::FewerThanFive),
            _ => None,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::FewerThanFive => f.write_str("<5"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_i64(*n),
            Count::FewerThanFive => s.serialize_str("<5"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Count::from_json(&v)
            .ok_or_else(|| serde::de::Error::custom(format!("{v} is not a count or \"<5\"")))
    }
}

/// Metric name to count. Breakdowns are flattened as `metric.dimension_value`
/// (`navigation.tap_forward`).
pub type Metrics = BTreeMap<String, Count>;

/// The major number of a version such as `v23.0`; `None` when it cannot be read.
pub fn api_major(version: &str) -> Option<u32> {
    let v = version.trim().trim_start_matches(['v', 'V']);
    v.split('.').next()?.parse().ok()
}

/// The story metrics asked for in one call, for the configured API version: `views` from v22
/// on (which deprecated `impressions`), `impressions` before. An unreadable version is taken as
/// current.
pub fn story_metrics(version: &str) -> Vec<&'static str> {
    let seen = if api_major(version).is_none_or(|m| m >= 22) {
        "views"
    } else {
        "impressions"
    };
    vec![
        "reach",
        seen,
        "replies",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
    ]
}

/// `navigation` is asked for in a call of its own, broken down by
/// [`NAVIGATION_BREAKDOWN`]: Meta refuses a breakdown on a call whose other metrics do not
/// support it.
pub const NAVIGATION_METRICS: &[&str] = &["navigation"];

/// Parses an insights answer's `data` array. Each item is `{name, values: [{value}]}` or
/// `{name, total_value: {value, breakdowns: [{dimension_keys, results: [{dimension_values,
/// value}]}]}}`; unknown shapes are skipped (the raw answer is kept elsewhere).
pub fn parse_insights(body: &Value) -> Metrics {
    let mut out = Metrics::new();
    let Some(items) = body.get("data").and_then(Value::as_array) else {
        return out;
    };
    for item in items {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            continue;
        };
        let total = item.get("total_value");
        let value = total
            .and_then(|t| t.get("value"))
            .and_then(Count::from_json)
            .or_else(|| {
                item.get("values")
                    .and_then(Value::as_array)
                    .and_then(|v| v.first())
                    .and_then(|v| v.get("value"))
                    .and_then(Count::from_json)
            });
        if let Some(v) = value {
            out.insert(name.to_string(), v);
        }
        let breakdowns = total
            .and_then(|t| t.get("breakdowns"))
            .and_then(Value::as_array);
        for breakdown in breakdowns.into_iter().flatten() {
            let results = breakdown.get("results").and_then(Value::as_array);
            for result in results.into_iter().flatten() {
                let dims: Vec<String> = result
                    .get("dimension_values")
                    .and_then(Value::as_array)
                    .map(|d| {
                        d.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_ascii_lowercase)
                            .collect()
                    })
                    .unwrap_or_default();
                if dims.is_empty() {
                    continue;
                }
                if let Some(v) = result.get("value").and_then(Count::from_json) {
                    out.insert(format!("{name}.{}", dims.join(".")), v);
                }
            }
        }
    }
    out
}

/// The counts of a `story_insights` notification's value: every numeric key but `media_id`.
/// Names differ between API versions, so none is required and unknown ones are kept.
pub fn parse_final(value: &Value) -> Metrics {
    let mut out = Metrics::new();
    if let Some(obj) = value.as_object() {
        for (k, v) in obj {
            if k == "media_id" {
                continue;
            }
            if let Some(c) = v.as_i64().map(Count::from_raw) {
                out.insert(k.clone(), c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn views_replace_impressions_from_v22() {
        assert!(story_metrics("v23.0").contains(&"views"));
        assert!(story_metrics("v22.0").contains(&"views"));
        assert!(story_metrics("v21.0").contains(&"impressions"));
        assert!(!story_metrics("v21.0").contains(&"views"));
        assert!(story_metrics("").contains(&"views"));
    }

    #[test]
    fn values_and_breakdowns_are_parsed() {
        let body = json!({"data": [
            {"name": "reach", "period": "lifetime", "values": [{"value": 103}]},
            {"name": "navigation", "values": [{"value": 25}], "total_value": {"value": 25,
              "breakdowns": [{"dimension_keys": ["story_navigation_action_type"], "results": [
                {"dimension_values": ["tap_forward"], "value": 19},
                {"dimension_values": ["TAP_BACK"], "value": 4}]}]}},
            {"name": "odd"}
        ]});
        let m = parse_insights(&body);
        assert_eq!(m["reach"], Count::Exact(103));
        assert_eq!(m["navigation"], Count::Exact(25));
        assert_eq!(m["navigation.tap_forward"], Count::Exact(19));
        assert_eq!(m["navigation.tap_back"], Count::Exact(4));
        assert!(!m.contains_key("odd"));
    }

    #[test]
    fn minus_one_stays_fewer_than_five() {
        let m = parse_final(&json!({"media_id": "1", "reach": 17, "replies": -1, "note": "x"}));
        assert_eq!(m["reach"], Count::Exact(17));
        assert_eq!(m["replies"], Count::FewerThanFive);
        assert!(!m.contains_key("media_id") && !m.contains_key("note"));
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"reach":17,"replies":"<5"}"#);
        let back: Metrics = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }
}
