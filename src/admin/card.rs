//! One decision as a card on the review page: who wrote what where, the rules' evidence
//! highlighted, what was done, and one row of actions. The two settle buttons are both the
//! decision and a label ("Hide · Spam", "Keep · Not spam" on a visible comment; "Keep hidden ·
//! Spam", "Show again · Not spam" on a hidden one).

use std::fmt::Write as _;

use serde_json::Value;

use super::kit::esc;
use super::view::{evidence_spans, highlight_segments};
use crate::moderation::by_hand::can_hide;
use crate::moderation::undo::{can_undo, undo_of};
use crate::store::{ActionState, DecisionKind, DecisionRow, LabelRow, SavedReply};

/// What every card of one page shares.
pub struct CardContext<'a> {
    pub csrf: &'a str,
    /// The page to come back to after a click (path and query).
    pub back: &'a str,
    pub tz: &'a jiff::tz::TimeZone,
    pub links: &'a super::links::PageLinks,
    pub replies: &'a [SavedReply],
}

fn text_html(d: &DecisionRow) -> String {
    let Some(text) = &d.text else {
        return "<p class=\"text purged\">(text removed after the retention period)</p>".into();
    };
    let spans = evidence_spans(&d.matched, text);
    let mut out = String::from("<p class=\"text\">");
    for (segment, label) in highlight_segments(text, &spans) {
        match label {
            Some(l) => {
                let _ = write!(out, "<mark title=\"{}\">{}</mark>", esc(&l), esc(&segment));
            }
            None => out.push_str(&esc(&segment)),
        }
    }
    out.push_str("</p>");
    out
}

/// The rules that matched, each with its evidence in words (a model's score with the
/// threshold its rule asks and the words that pushed it).
fn rules_html(d: &DecisionRow, rules: &crate::rules::RuleSet) -> String {
    let matches = d.matched.as_array().cloned().unwrap_or_default();
    if matches.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"rules\">");
    for m in &matches {
        let rule = m.get("rule").and_then(Value::as_str).unwrap_or("?");
        let mode = m.get("mode").and_then(Value::as_str).unwrap_or("");
        let evidence: Vec<String> = m
            .get("evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let condition = e.get("condition").and_then(Value::as_str).unwrap_or("");
                let matched = e.get("matched").and_then(Value::as_str).unwrap_or("");
                match (
                    condition.strip_prefix("model "),
                    e.get("score").and_then(Value::as_f64),
                ) {
                    (Some(name), Some(score)) => super::honest::model_evidence(
                        name,
                        score,
                        e.get("threshold").and_then(Value::as_str).unwrap_or(""),
                        d.text.as_deref(),
                        rules,
                    ),
                    _ => format!("{condition} “{matched}”"),
                }
            })
            .collect();
        // A shadow rule acts on nothing: say what it would have done, its reply included.
        let would = if mode == "shadow" {
            let acts: Vec<String> = m
                .get("actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| match a.get("type").and_then(Value::as_str) {
                    Some("reply") => format!(
                        "reply “{}”",
                        a.get("text").and_then(Value::as_str).unwrap_or("")
                    ),
                    Some(t) => t.to_string(),
                    None => String::new(),
                })
                .collect();
            if acts.is_empty() {
                String::new()
            } else {
                format!(
                    " <span class=\"would\">would have: {}</span>",
                    esc(&acts.join(", "))
                )
            }
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<li>rule <strong class=\"rule\">{}</strong> <span class=\"badge\">{}</span> {}{}</li>",
            esc(rule),
            esc(mode),
            esc(&evidence.join(", ")),
            would
        );
    }
    out.push_str("</ul>");
    out
}

/// What was called on Instagram for this decision (or why nothing was).
fn actions_html(d: &DecisionRow) -> String {
    let mut out = String::new();
    if !d.action_log.is_empty() {
        out.push_str("<ul class=\"actions\">");
        for a in &d.action_log {
            let _ = write!(
                out,
                "<li class=\"action-{}\">{}: <span class=\"state\">{}</span>{}{}</li>",
                a.kind.as_str(),
                a.kind.as_str(),
                a.state.as_str(),
                crate::actions::Call::requested(a)
                    .and_then(|r| r.person)
                    .map(|p| format!(" <span class=\"by\">by {}</span>", esc(&p)))
                    .unwrap_or_default(),
                a.last_error
                    .as_deref()
                    .map(|e| format!(" ({})", esc(e)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ul>");
    } else if let Some(note) = &d.note {
        let _ = write!(out, "<p class=\"meta\">{}</p>", esc(note));
    }
    if !can_undo(d) {
        if let Some(u) = undo_of(d) {
            let what = match u.state {
                ActionState::Done => "Undone: the comment is visible again.",
                ActionState::Skipped => "Undo recorded (dry run: nothing was called).",
                _ => "Undo planned: the comment will be shown again.",
            };
            let _ = write!(out, "<p class=\"undone\">{what}</p>");
        }
    }
    out
}

/// A one-button form posting `fields` to `action`.
fn button_form(
    action: &str,
    c: &CardContext,
    d: &DecisionRow,
    fields: &[(&str, &str)],
    class: &str,
    text: &str,
    title: &str,
) -> String {
    let mut hidden = String::new();
    for (k, v) in fields {
        let _ = write!(
            hidden,
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(v)
        );
    }
    format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"comment_id\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">{hidden}\
         <button type=\"submit\" class=\"{class}\" title=\"{}\">{text}</button></form>",
        esc(c.csrf),
        esc(&d.comment_id),
        esc(c.back),
        esc(title),
    )
}

/// The two settle buttons: each is the decision and the label at once.
fn settle_html(d: &DecisionRow, c: &CardContext) -> String {
    let kind = d.kind.as_str();
    let label = |l: &'static str| [("kind", kind), ("label", l)];
    if can_undo(d) {
        [
            button_form(
                "/review/label",
                c,
                d,
                &label("spam"),
                "mark-spam settle-spam",
                "Keep hidden · Spam",
                "The rules were right: keep it hidden and teach the model (key h)",
            ),
            button_form(
                "/review/undo",
                c,
                d,
                &[("kind", kind)],
                "undo settle-not_spam",
                "Show again · Not spam",
                "Undo the hide and teach the model it was fine (key n)",
            ),
        ]
        .concat()
    } else if can_hide(d) {
        [
            button_form(
                "/review/hide",
                c,
                d,
                &[],
                "hide settle-spam",
                "Hide · Spam",
                "Hide this comment on Instagram and teach the model it is spam (key h)",
            ),
            button_form(
                "/review/label",
                c,
                d,
                &label("not_spam"),
                "mark-not_spam settle-not_spam",
                "Keep · Not spam",
                "Leave it visible and teach the model it is fine (key n)",
            ),
        ]
        .concat()
    } else {
        [
            button_form(
                "/review/label",
                c,
                d,
                &label("spam"),
                "mark-spam settle-spam",
                "Spam",
                "Teach the model it is spam (key h)",
            ),
            button_form(
                "/review/label",
                c,
                d,
                &label("not_spam"),
                "mark-not_spam settle-not_spam",
                "Not spam",
                "Teach the model it is fine (key n)",
            ),
        ]
        .concat()
    }
}

/// The reply box (with the account's saved replies) and the delete button, for comments.
fn by_hand_html(d: &DecisionRow, c: &CardContext) -> String {
    if d.kind != DecisionKind::Comment {
        return String::new();
    }
    let mine: Vec<&SavedReply> = c
        .replies
        .iter()
        .filter(|r| r.account_id == d.account_id)
        .collect();
    let saved = if mine.is_empty() {
        String::new()
    } else {
        let mut s = String::from(
            "<select name=\"saved\" class=\"saved-reply\" aria-label=\"A saved reply\"><option value=\"\">saved reply…</option>",
        );
        for r in mine {
            let _ = write!(
                s,
                "<option value=\"{}\" data-text=\"{}\">{}</option>",
                esc(&r.title),
                esc(&r.text),
                esc(&r.title)
            );
        }
        s.push_str("</select>");
        s
    };
    format!(
        "<form method=\"post\" action=\"/review/act\" class=\"reply-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"comment_id\" value=\"{id}\">\
         <input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <input type=\"hidden\" name=\"what\" value=\"reply\">\
         <input type=\"text\" name=\"text\" maxlength=\"2200\" class=\"reply-text\" placeholder=\"Reply…\" aria-label=\"Reply\">{saved}\
         <button type=\"submit\" class=\"reply\">Send reply</button></form>\
         <form method=\"post\" action=\"/review/act\" class=\"delete-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"comment_id\" value=\"{id}\">\
         <input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <input type=\"hidden\" name=\"what\" value=\"delete\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required class=\"delete-confirm\">for good</label>\
         <button type=\"submit\" class=\"delete danger\">Delete</button></form>",
        csrf = esc(c.csrf),
        id = esc(&d.comment_id),
        back = esc(c.back),
    )
}

/// One decision's card. `why` says why it waits in the queue, when it does.
pub fn card_html(
    d: &DecisionRow,
    labels: &[&LabelRow],
    rules: &crate::rules::RuleSet,
    why: Option<&str>,
    c: &CardContext,
) -> String {
    let account = match c.links.usernames.get(&d.account_id) {
        Some(u) => format!(
            "<span class=\"account\" title=\"account {}\">on @{}</span>",
            esc(&d.account_id),
            esc(u)
        ),
        None => format!(
            "<span class=\"account\">account {}</span>",
            esc(&d.account_id)
        ),
    };
    let post = d
        .media_id
        .as_ref()
        .and_then(|m| c.links.permalinks.get(m))
        .map(|p| format!("<a class=\"post\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">the post</a>", esc(p)))
        .unwrap_or_default();
    let caption = d
        .media_id
        .as_ref()
        .and_then(|m| c.links.captions.get(m))
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            format!(
                "<span class=\"caption\" title=\"{}\">“{}”</span>",
                esc(t),
                esc(&super::view::one_line(t, 60))
            )
        })
        .unwrap_or_default();
    let mut out = format!(
        "<article class=\"decision\" data-comment-id=\"{id}\" data-id=\"{}\"><div class=\"meta\">\
         <label class=\"check\"><input type=\"checkbox\" class=\"select\" form=\"bulk\" name=\"comment_id\" value=\"{id}\">select</label>\
         <span>{}</span><span>{}</span>{account}{post}{caption}<span class=\"author\">@{}</span><span>comment {id}</span>\
         <span class=\"badge outcome-{o}\">{o}</span></div>",
        d.id,
        super::view::local_time_html(d.decided_at, c.tz),
        esc(d.kind.as_str()),
        esc(d.author.as_deref().unwrap_or("unknown")),
        id = esc(&d.comment_id),
        o = d.outcome(),
    );
    if let Some(why) = crate::moderation::unsure::reason(d, rules) {
        let _ = write!(
            out,
            "<p class=\"unsure\">Unsure: {}. Spam or Not spam here teaches the model most.</p>",
            esc(&why)
        );
    } else if let Some(why) = why {
        let _ = write!(out, "<p class=\"why meta\">{}</p>", esc(why));
    }
    out.push_str(&text_html(d));
    out.push_str(&rules_html(d, rules));
    out.push_str(&actions_html(d));
    out.push_str("<div class=\"bar\">");
    out.push_str(&settle_html(d, c));
    out.push_str(&by_hand_html(d, c));
    out.push_str("</div>");
    out.push_str(&super::labels::labels_html(labels, c.tz));
    out.push_str("</article>");
    out
}
