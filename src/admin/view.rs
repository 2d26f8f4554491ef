//! How a decision is shown on the review page: local times, evidence highlighted. The JSON
//! of the admin API and of `commentguard log --json` is [`crate::moderation::record`].

use serde_json::Value;

pub use crate::moderation::record::{actions_summary, decision_json, iso_time, one_line};

/// A time as a person reads it in `tz`, with the exact UTC time for machines:
/// `<time datetime="2026-12-02T01:58:52Z">2026-12-02 02:58 CET</time>`.
pub fn local_time_html(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    let shown = jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|_| iso_time(ms));
    format!("<time datetime=\"{}\">{}</time>", iso_time(ms), shown)
}

/// Evidence spans `(start, end, label)` from a decision's `matched` JSON, in byte offsets into
/// the original text. Spans outside the text or not on character boundaries are dropped.
pub fn evidence_spans(matched: &Value, text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for m in matched.as_array().into_iter().flatten() {
        let rule = m.get("rule").and_then(Value::as_str).unwrap_or("?");
        for e in m
            .get("evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let start = e.get("start").and_then(Value::as_u64).map(|v| v as usize);
            let end = e.get("end").and_then(Value::as_u64).map(|v| v as usize);
            let (Some(start), Some(end)) = (start, end) else {
                continue;
            };
            if start >= end
                || end > text.len()
                || !text.is_char_boundary(start)
                || !text.is_char_boundary(end)
            {
                continue;
            }
            let condition = e.get("condition").and_then(Value::as_str).unwrap_or("");
            out.push((start, end, format!("{rule}: {condition}")));
        }
    }
    out.sort_by_key(|s| (s.0, s.1));
    out
}

/// Splits `text` into `(segment, Some(label))` for highlighted parts and `(segment, None)` for
/// the rest; overlapping spans merge into one highlight.
pub fn highlight_segments(
    text: &str,
    spans: &[(usize, usize, String)],
) -> Vec<(String, Option<String>)> {
    let mut merged: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for (s, e, label) in spans {
        match merged.last_mut() {
            Some(last) if *s < last.1 => {
                last.1 = last.1.max(*e);
                if !last.2.contains(label) {
                    last.2.push(label.clone());
                }
            }
            _ => merged.push((*s, *e, vec![label.clone()])),
        }
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for (s, e, labels) in merged {
        if s > pos {
            out.push((text[pos..s].to_string(), None));
        }
        out.push((text[s..e].to_string(), Some(labels.join("; "))));
        pos = e;
    }
    if pos < text.len() {
        out.push((text[pos..].to_string(), None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(one_line("a\x1b[2Jb\nc", 80), "a [2Jb c");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    #[test]
    fn evidence_is_highlighted_and_bad_offsets_are_ignored() {
        let text = "buy forex now, forex!";
        let matched = json!([{"rule": "scam", "evidence": [
            {"condition": "words", "matched": "forex", "start": 4, "end": 9},
            {"condition": "words", "matched": "forex", "start": 15, "end": 20},
            {"condition": "bad", "matched": "", "start": 3, "end": 400}
        ]}]);
        let spans = evidence_spans(&matched, text);
        assert_eq!(spans.len(), 2);
        let segs = highlight_segments(text, &spans);
        let marked: Vec<&str> = segs
            .iter()
            .filter(|s| s.1.is_some())
            .map(|s| s.0.as_str())
            .collect();
        assert_eq!(marked, ["forex", "forex"]);
        let joined: String = segs.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn offsets_inside_a_character_are_dropped() {
        let text = "héllo";
        let matched = json!([{"rule": "r", "evidence": [{"start": 2, "end": 4}]}]);
        assert!(evidence_spans(&matched, text).is_empty());
    }
}
