//! The review page's "Try a comment": a text box whose answer is what the running rules would
//! do with that comment and why, the same report as `commentguard rules explain`
//! ([`crate::rules::cli::explain_text`]). Nothing is stored and nothing is sent to Instagram;
//! rules that count comments over time (flood, wave) see this one comment alone.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::kit::{esc, html_page, respond};
use super::sign_in::session;
use super::AdminState;
use crate::rules::{Input, Kind, MemoryState};

#[derive(Debug, Default, Deserialize)]
pub struct TryQuery {
    text: Option<String>,
    username: Option<String>,
    /// The account whose rules to use (its own folder if it has one); empty: the shared rules.
    account: Option<String>,
    mention: Option<String>,
}

pub async fn page(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<TryQuery>,
) -> Response {
    if let Err(resp) = session(&state, &headers).await {
        return *resp;
    }
    let text = q.text.clone().unwrap_or_default();
    let username = q.username.clone().filter(|u| !u.trim().is_empty());
    let account = q.account.clone().unwrap_or_default();
    let mention = q.mention.as_deref() == Some("on");
    let mut body = format!(
        "<h2>Try a comment</h2><form method=\"get\" action=\"/review/try\" class=\"try stacked\">\
         <label>A comment<textarea id=\"try-text\" name=\"text\" rows=\"4\" required>{}</textarea></label>\
         <label>Written by (optional)<input id=\"try-username\" name=\"username\" value=\"{}\" placeholder=\"sample_user\"></label>\
         <label>Account id (optional: its own rules, if it has them)<input id=\"try-account\" name=\"account\" value=\"{}\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"mention\"{}> a mention, not a comment</label>\
         <p><button type=\"submit\" id=\"try-submit\" class=\"primary\">What would the rules do?</button></p></form>",
        esc(&text),
        esc(username.as_deref().unwrap_or("")),
        esc(&account),
        if mention { " checked" } else { "" }
    );
    if !text.trim().is_empty() {
        let set = state.rules.for_account(&account);
        let input = Input {
            text: text.clone(),
            // Replies fill in {author}: without a name they show a sample one, as the CLI does.
            username: username.or_else(|| Some("sample_user".into())),
            kind: if mention {
                Kind::Mention
            } else {
                Kind::Comment
            },
            ..Input::default()
        };
        let decision = set.evaluate(&input, &MemoryState::default());
        let mut report = Vec::new();
        let _ = crate::rules::cli::explain_text(&mut report, &set, &input, &decision);
        let verdict = if decision.actions.is_empty() {
            "Nothing: the comment would stay as it is.".to_string()
        } else {
            let names: Vec<&str> = decision.actions.iter().map(|a| a.name()).collect();
            format!("The rules would: {}.", names.join(", then "))
        };
        let _ = write!(body, "<h2 id=\"try-verdict\">{}</h2>", esc(&verdict));
        let rules: Vec<String> = decision
            .matched
            .iter()
            .map(|m| format!("{} ({})", m.rule, m.mode.as_str()))
            .collect();
        let _ = write!(
            body,
            "<p id=\"try-rules\">{}</p>",
            if rules.is_empty() {
                "No rule matched.".to_string()
            } else {
                format!("Matched: {}", esc(&rules.join(", ")))
            }
        );
        let infos = set.rules();
        body.push_str("<ul id=\"try-sentences\">");
        for m in decision.matched.iter().chain(decision.exempted.iter()) {
            let exempted = decision.exempted.iter().any(|e| std::ptr::eq(e, m));
            let _ = write!(body, "<li>{}</li>", sentence(m, exempted, &infos));
        }
        body.push_str("</ul>");
        let _ = write!(
            body,
            "<details><summary>The full report (as <code>commentguard rules explain</code> prints it)</summary><pre id=\"try-report\">{}</pre></details>",
            esc(&String::from_utf8_lossy(&report))
        );
    }
    body.push_str("<p class=\"note\">Nothing is stored or sent to Instagram. Rules that count comments over time see this comment alone.</p><p><a href=\"/review\">Back to the review</a></p>");
    respond(StatusCode::OK, html_page("Try a comment", &body))
}

/// One rule's match as a sentence: "The rule scam-words (enforced, in 10-scams.toml line 12)
/// would hide the comment, because the words “forex” matched, and the model scam scored 0.97
/// (above 0.944)."
fn sentence(
    m: &crate::rules::RuleMatch,
    exempted: bool,
    infos: &[crate::rules::RuleInfo],
) -> String {
    let info = infos.iter().find(|i| i.id == m.rule);
    let place = info
        .map(|i| format!(", in {} line {}", esc(&i.file), i.line))
        .unwrap_or_default();
    let acts: Vec<String> = m
        .actions
        .iter()
        .map(|a| match a {
            crate::rules::Action::Hide => "hide the comment".to_string(),
            crate::rules::Action::Delete => "delete the comment".to_string(),
            crate::rules::Action::Reply { text } => format!("reply “{}”", esc(text)),
        })
        .collect();
    let does = match (exempted, m.mode.as_str(), acts.is_empty()) {
        (true, ..) => "matched, but its <em>unless</em> lets the comment through".to_string(),
        (_, "shadow", true) => "would only be counted (it is in shadow)".to_string(),
        (_, "shadow", false) => format!(
            "would {} if it were not in shadow; in shadow it only counts",
            acts.join(" and ")
        ),
        (_, _, true) => "matched and asks for no action".to_string(),
        (_, _, false) => format!("would {}", acts.join(" and ")),
    };
    let because: Vec<String> = m
        .evidence
        .iter()
        .map(|e| match (e.score, &e.threshold) {
            (Some(score), None) => format!("{} scored {score:.2}", esc(&e.condition)),
            (Some(score), Some(t)) => {
                format!("{} scored {score:.2} ({})", esc(&e.condition), esc(t))
            }
            (None, _) if e.matched.is_empty() => esc(&e.condition),
            (None, _) => format!(
                "{} found “<mark>{}</mark>”",
                esc(&e.condition),
                esc(&e.matched)
            ),
        })
        .collect();
    format!(
        "The rule <strong>{}</strong> ({}{place}) {does}{}.",
        esc(&m.rule),
        if m.mode.as_str() == "shadow" {
            "shadow"
        } else {
            "enforced"
        },
        if because.is_empty() {
            String::new()
        } else {
            format!(", because {}", because.join(", and "))
        }
    )
}
