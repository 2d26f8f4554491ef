//! Reading the `data` array of an `/{media-id}/insights` answer.
//!
//! Metric names change across API versions (impressions/views, taps/navigation), so the parse
//! keeps every metric it finds under its own name and never requires one.

use std::collections::BTreeMap;

use serde_json::Value;

/// The breakdown the story `navigation` metric is read with.
pub const STORY_NAVIGATION_BREAKDOWN: &str = "story_navigation_action_type";

/// One metric of an insights answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricValue {
    /// `values[0].value`, or `total_value.value` when the metric was read with a breakdown.
    /// `None` when the answer carried no number (the raw JSON is kept by the caller).
    pub value: Option<i64>,
    /// Breakdown results keyed by their lowercase dimension values joined with `,` (for
    /// `navigation`: `tap_forward`, `tap_back`, `tap_exit`, `swipe_forward`).
    pub breakdown: BTreeMap<String, i64>,
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64))
}

/// Parses `{"data":[{"name":..,"values":[{"value":..}],"total_value":{..}}]}` into
/// metric name -> value. Entries without a name are skipped.
pub fn parse_insights(raw: &Value) -> BTreeMap<String, MetricValue> {
    let mut out = BTreeMap::new();
    let Some(data) = raw.get("data").and_then(Value::as_array) else {
        return out;
    };
    for entry in data {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            continue;
        };
        let from_values = entry
            .get("values")
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .and_then(|v| v.get("value"))
            .and_then(int);
        let total = entry.get("total_value");
        let from_total = total.and_then(|t| t.get("value")).and_then(int);
        let mut breakdown = BTreeMap::new();
        let breakdowns = total
            .and_then(|t| t.get("breakdowns"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for b in breakdowns {
            let results = b
                .get("results")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for r in results {
                let key = r
                    .get("dimension_values")
                    .and_then(Value::as_array)
                    .map(|dims| {
                        dims.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_ascii_lowercase)
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                if let Some(v) = r.get("value").and_then(int) {
                    *breakdown.entry(key).or_insert(0) += v;
                }
            }
        }
        out.insert(
            name.to_string(),
            MetricValue {
                value: from_values.or(from_total),
                breakdown,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_metrics_and_navigation_breakdown() {
        let raw = serde_json::json!({"data":[
            {"name":"reach","period":"lifetime","values":[{"value":103}],"id":"1/insights/reach/lifetime"},
            {"name":"navigation","period":"lifetime","values":[{"value":25}],
             "total_value":{"value":25,"breakdowns":[{"dimension_keys":["story_navigation_action_type"],
               "results":[{"dimension_values":["TAP_FORWARD"],"value":19},
                          {"dimension_values":["tap_back"],"value":4},
                          {"dimension_values":["tap_exit"],"value":1},
                          {"dimension_values":["swipe_forward"],"value":1}]}]}},
            {"name":"shares","total_value":{"value":-1}},
            {"values":[{"value":1}]}
        ]});
        let m = parse_insights(&raw);
        assert_eq!(m.len(), 3);
        assert_eq!(m["reach"].value, Some(103));
        assert_eq!(m["navigation"].value, Some(25));
        assert_eq!(m["navigation"].breakdown["tap_forward"], 19);
        assert_eq!(m["navigation"].breakdown["swipe_forward"], 1);
        assert_eq!(m["shares"].value, Some(-1));
    }

    #[test]
    fn empty_or_odd_answers_give_nothing() {
        assert!(parse_insights(&serde_json::json!({"data":[]})).is_empty());
        assert!(parse_insights(&serde_json::json!({"nope":1})).is_empty());
    }
}
