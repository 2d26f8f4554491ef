//! The comments the rules were unsure of: left visible, yet a shadow rule matched them or a
//! learned model leaned towards them (scored above the score at which its own
//! cross-validation flagged 5% of ordinary comments) without any rule hiding them. These are
//! the comments a person's Spam or Not spam teaches the model most, so the review page puts
//! them in a queue of their own.

use serde_json::Value;

use crate::rules::RuleSet;
use crate::store::DecisionRow;

/// The share of ordinary comments at whose score a model is said to lean.
pub const LEAN_FPR: f64 = 0.05;

/// Why a decision is unsure, in words; `None` when it is not.
pub fn reason(d: &DecisionRow, rules: &RuleSet) -> Option<String> {
    let enforced_hide = d.matched.as_array().into_iter().flatten().any(|m| {
        m.get("mode").and_then(Value::as_str) == Some("enforce")
            && m.get("actions").and_then(Value::as_array).is_some_and(|a| {
                a.iter().any(|x| {
                    matches!(
                        x.get("type").and_then(Value::as_str),
                        Some("hide") | Some("delete")
                    )
                })
            })
    });
    if enforced_hide {
        return None;
    }
    let mut why = Vec::new();
    for m in d.matched.as_array().into_iter().flatten() {
        if m.get("mode").and_then(Value::as_str) == Some("shadow") {
            if let Some(rule) = m.get("rule").and_then(Value::as_str) {
                why.push(format!("the shadow rule {rule} matched"));
            }
        }
    }
    if let Some(scores) = d.scores.as_ref().and_then(Value::as_object) {
        for (name, model) in rules.models() {
            let (Some(score), Ok(lean)) = (
                scores.get(name).and_then(Value::as_f64),
                model.threshold_at_fpr(LEAN_FPR),
            ) else {
                continue;
            };
            if score >= f64::from(lean) {
                why.push(format!(
                    "the {name} model leaned towards it ({score:.2}, above {lean:.2}) but no rule hid it"
                ));
            }
        }
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Why a decision waits in "Needs review", and how urgent it is: the comments the rules were
/// unsure of first (a person's label teaches the model most there), then the ones the rules
/// acted on that nobody has confirmed yet. `None`: nothing to review (the rules matched
/// nothing and no model leaned). Labelled comments leave the queue (the caller checks labels).
#[derive(Debug, Clone, PartialEq)]
pub struct ToReview {
    /// 0: unsure; 1: acted on by the rules, unconfirmed.
    pub tier: u8,
    pub why: String,
}

pub fn to_review(d: &DecisionRow, rules: &RuleSet) -> Option<ToReview> {
    if let Some(why) = reason(d, rules) {
        return Some(ToReview { tier: 0, why });
    }
    let acted: Vec<&str> = d
        .matched
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m.get("mode").and_then(Value::as_str) == Some("enforce"))
        .filter(|m| {
            m.get("actions")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
        .filter_map(|m| m.get("rule").and_then(Value::as_str))
        .collect();
    (!acted.is_empty()).then(|| ToReview {
        tier: 1,
        why: format!(
            "{} acted on it; confirm with Spam, or Not spam to undo",
            acted.join(", ")
        ),
    })
}

/// The decisions that need review, unsure ones first, newest first within each tier (the
/// order is stable: `rows` come newest first). `labelled` says whether a decision has a label.
pub fn queue(
    rows: &[DecisionRow],
    rules_of: impl Fn(&str) -> std::sync::Arc<RuleSet>,
    labelled: impl Fn(&DecisionRow) -> bool,
) -> Vec<(&DecisionRow, ToReview)> {
    let mut out: Vec<(&DecisionRow, ToReview)> = rows
        .iter()
        .filter(|d| !labelled(d))
        .filter_map(|d| to_review(d, &rules_of(&d.account_id)).map(|r| (d, r)))
        .collect();
    out.sort_by_key(|(_, r)| r.tier);
    out
}
