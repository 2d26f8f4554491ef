//! The review page's query: its filters, its queue, the notices a form post leaves, and the
//! filters form.

use std::fmt::Write as _;

use serde::Deserialize;

use super::api::DecisionQuery;
use super::kit::esc;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    #[serde(flatten)]
    pub(super) decisions: DecisionQuery,
    pub(super) outcome: Option<String>,
    /// The comment whose undo was just planned.
    pub(super) undone: Option<String>,
    /// The comment just labelled.
    pub(super) labelled: Option<String>,
    /// The comment just hidden, answered or deleted by hand.
    pub(super) hidden: Option<String>,
    pub(super) replied: Option<String>,
    pub(super) deleted: Option<String>,
    /// How many comments were just settled at once, and how.
    pub(super) settled: Option<String>,
    pub(super) verdict: Option<String>,
    /// `spam`, `not_spam`, `none` (no label) or `any`.
    pub(super) label: Option<String>,
    /// Only decisions an enforced rule of this category (`scam`, `spam`, `abuse`,
    /// `promotion`, `other`) matched.
    pub(super) category: Option<String>,
    /// `review`: the Needs-review queue; `unsure`: only the comments the rules were unsure of
    /// and nobody has labelled yet.
    pub(super) queue: Option<String>,
    /// For the live view: only decisions newer than this id.
    pub(super) after: Option<i64>,
}

impl PageQuery {
    pub(super) fn queue(&self) -> Option<&str> {
        self.queue
            .as_deref()
            .filter(|q| *q == "review" || *q == "unsure")
    }

    /// The filters as a query string (no notices, no cursor), for links and the live view.
    pub(super) fn filters_query(&self) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("since", &self.decisions.since),
            ("rule", &self.decisions.rule),
            ("action", &self.decisions.action),
            ("account", &self.decisions.account),
            ("outcome", &self.outcome),
            ("label", &self.label),
            ("category", &self.category),
            ("queue", &self.queue),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                url.append_pair(k, v);
            }
        }
        url.finish()
    }
}

pub(super) fn filters_form(q: &PageQuery) -> String {
    let val = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    let select = |name: &str, current: Option<&str>, options: &[(&str, &str)]| {
        let mut s = format!("<label>{name}<select name=\"{name}\">");
        for (value, text) in options {
            let sel = if current.unwrap_or("") == *value {
                " selected"
            } else {
                ""
            };
            let _ = write!(s, "<option value=\"{value}\"{sel}>{text}</option>");
        }
        s.push_str("</select></label>");
        s
    };
    let queue = q
        .queue()
        .map(|v| format!("<input type=\"hidden\" name=\"queue\" value=\"{v}\">"))
        .unwrap_or_default();
    let any = [
        &q.decisions.since,
        &q.decisions.rule,
        &q.decisions.action,
        &q.decisions.account,
        &q.outcome,
        &q.category,
        &q.label,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()));
    format!(
        "<details class=\"filters-box\"{}><summary>Filters</summary>\
         <form class=\"filters\" method=\"get\" action=\"/review\">{queue}{}\
         <label>rule<input name=\"rule\" value=\"{}\" size=\"16\"></label>{}\
         <label>account<input name=\"account\" value=\"{}\" size=\"18\"></label>{}{}{}\
         <button type=\"submit\">Filter</button></form></details>",
        if any { " open" } else { "" },
        select(
            "since",
            q.decisions.since.as_deref(),
            &[
                ("", "any time"),
                ("1h", "last hour"),
                ("24h", "last day"),
                ("7d", "last week"),
                ("30d", "last 30 days")
            ],
        ),
        val(&q.decisions.rule),
        select(
            "action",
            q.decisions.action.as_deref(),
            &[
                ("", "any action"),
                ("hide", "hide"),
                ("delete", "delete"),
                ("reply", "reply")
            ],
        ),
        val(&q.decisions.account),
        select(
            "outcome",
            q.outcome.as_deref(),
            &[
                ("", "any outcome"),
                ("done", "done"),
                ("pending", "pending"),
                ("failed", "failed"),
                ("skipped", "skipped"),
                ("none", "none")
            ],
        ),
        select(
            "category",
            q.category.as_deref(),
            &[
                ("", "any category"),
                ("scam", "scam"),
                ("spam", "spam"),
                ("abuse", "abuse (every kind)"),
                ("hate", "hate"),
                ("harassment", "harassment"),
                ("threat", "threat"),
                ("sexual", "sexual"),
                ("profanity", "profanity"),
                ("promotion", "promotion"),
                ("other", "other")
            ],
        ),
        select(
            "label",
            q.label.as_deref(),
            &[
                ("", "any label"),
                ("spam", "Spam"),
                ("not_spam", "Not spam"),
                ("any", "labelled"),
                ("none", "not labelled")
            ],
        ),
    )
}
