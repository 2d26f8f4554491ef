//! Rate-limit usage headers: `X-Business-Use-Case-Usage` and `X-App-Usage`.
//!
//! Meta reports how close an app (and an app-account pair) is to its limits as percentages on
//! every response. The governor reads them to slow down before 100% and to stop until the
//! announced time once a limit is reached.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// Usage read from one response's headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// The highest of call_count, total_cputime and total_time, over every header and every
    /// business object, in percent (may exceed 100).
    pub max_percent: f64,
    /// The longest `estimated_time_to_regain_access` announced (given in minutes by Meta), if
    /// any was above zero.
    pub regain_after: Option<Duration>,
}

const PERCENT_KEYS: [&str; 3] = ["call_count", "total_cputime", "total_time"];

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        // Some proxies and older versions send numbers as strings.
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn usage_of_object(obj: &serde_json::Map<String, Value>) -> Option<Usage> {
    let max = PERCENT_KEYS
        .iter()
        .filter_map(|k| obj.get(*k).and_then(number))
        .fold(None, |acc: Option<f64>, x| {
            Some(acc.map_or(x, |a| a.max(x)))
        })?;
    let regain = obj
        .get("estimated_time_to_regain_access")
        .and_then(number)
        .filter(|m| *m > 0.0)
        .map(|m| Duration::from_secs_f64(m * 60.0));
    Some(Usage {
        max_percent: max,
        regain_after: regain,
    })
}

fn merge(a: Option<Usage>, b: Option<Usage>) -> Option<Usage> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(Usage {
            max_percent: a.max_percent.max(b.max_percent),
            regain_after: match (a.regain_after, b.regain_after) {
                (None, x) | (x, None) => x,
                (Some(x), Some(y)) => Some(x.max(y)),
            },
        }),
    }
}

/// `X-Business-Use-Case-Usage`: `{"<business-id>":[{"type":..,"call_count":..,
/// "total_cputime":..,"total_time":..,"estimated_time_to_regain_access":<minutes>}]}`.
pub fn parse_business_use_case_usage(header: &str) -> Option<Usage> {
    let v: Value = serde_json::from_str(header).ok()?;
    let mut out = None;
    for entries in v.as_object()?.values() {
        let list: Vec<&Value> = match entries {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for e in list {
            if let Some(obj) = e.as_object() {
                out = merge(out, usage_of_object(obj));
            }
        }
    }
    out
}

/// `X-App-Usage` (and the same shape in `X-Page-Usage`): `{"call_count":..,"total_time":..,
/// "total_cputime":..}`.
pub fn parse_app_usage(header: &str) -> Option<Usage> {
    let v: Value = serde_json::from_str(header).ok()?;
    usage_of_object(v.as_object()?)
}

/// Combines every usage header of a response; `None` when there is none (or none parses).
pub fn usage_from_headers(headers: &HeaderMap) -> Option<Usage> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut out = None;
    if let Some(h) = text("x-business-use-case-usage") {
        out = merge(out, parse_business_use_case_usage(h));
    }
    for name in ["x-app-usage", "x-page-usage"] {
        if let Some(h) = text(name) {
            out = merge(out, parse_app_usage(h));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_use_case_usage_takes_the_worst_entry_and_the_longest_wait() {
        let h = r#"{"17841405309211844":[{"type":"instagram","call_count":96,"total_cputime":10,
            "total_time":20,"estimated_time_to_regain_access":7}],
            "1234":[{"type":"pages","call_count":5,"total_cputime":99.5,"total_time":1,
            "estimated_time_to_regain_access":0}]}"#;
        let u = parse_business_use_case_usage(h).unwrap();
        assert_eq!(u.max_percent, 99.5);
        assert_eq!(u.regain_after, Some(Duration::from_secs(420)));
    }

    #[test]
    fn app_usage_has_no_regain_time() {
        let u =
            parse_app_usage(r#"{"call_count":81,"total_time":3,"total_cputime":"12"}"#).unwrap();
        assert_eq!(u.max_percent, 81.0);
        assert_eq!(u.regain_after, None);
    }

    #[test]
    fn garbage_headers_are_ignored() {
        assert_eq!(parse_app_usage("not json"), None);
        assert_eq!(parse_app_usage("{}"), None);
        assert_eq!(parse_business_use_case_usage("[1,2]"), None);
        let mut h = HeaderMap::new();
        h.insert("x-app-usage", "{{{".parse().unwrap());
        assert_eq!(usage_from_headers(&h), None);
    }

    #[test]
    fn headers_are_combined() {
        let mut h = HeaderMap::new();
        h.insert("x-app-usage", r#"{"call_count":50}"#.parse().unwrap());
        h.insert(
            "x-business-use-case-usage",
            r#"{"1":[{"call_count":20,"estimated_time_to_regain_access":2}]}"#
                .parse()
                .unwrap(),
        );
        let u = usage_from_headers(&h).unwrap();
        assert_eq!(u.max_percent, 50.0);
        assert_eq!(u.regain_after, Some(Duration::from_secs(120)));
    }
}
