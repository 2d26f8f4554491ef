//! The review page's "Try a comment": a text box whose answer is what the running rules would
//! do with that comment and why, the same report as `commentguard rules explain`
//! ([`crate::rules::cli::explain_text`]). Nothing is stored and nothing is sent to Instagram;
//! rules that count comments over time (flood, wave) see this one comment alone.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::review::{esc, html_page, respond};
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
        "<form method=\"get\" action=\"/review/try\" class=\"try\">\
         <label for=\"try-text\">A comment</label>\
         <textarea id=\"try-text\" name=\"text\" rows=\"4\" cols=\"70\" required>{}</textarea>\
         <label for=\"try-username\">Written by (optional)</label>\
         <input id=\"try-username\" name=\"username\" value=\"{}\" placeholder=\"sample_user\">\
         <label for=\"try-account\">Account id (optional: its own rules, if it has them)</label>\
         <input id=\"try-account\" name=\"account\" value=\"{}\">\
         <label><input type=\"checkbox\" name=\"mention\"{}> a mention, not a comment</label>\
         <button type=\"submit\" id=\"try-submit\">What would the rules do?</button></form>",
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
        let rules: Vec<String> = decision
            .matched
            .iter()
            .map(|m| format!("{} ({})", m.rule, m.mode.as_str()))
            .collect();
        body.push_str(&format!(
            "<h2 id=\"try-verdict\">{}</h2><p id=\"try-rules\">{}</p><pre id=\"try-report\">{}</pre>",
            esc(&verdict),
            if rules.is_empty() {
                "No rule matched.".to_string()
            } else {
                format!("Matched: {}", esc(&rules.join(", ")))
            },
            esc(&String::from_utf8_lossy(&report))
        ));
    }
    body.push_str("<p class=\"note\">Nothing is stored or sent to Instagram. Rules that count comments over time see this comment alone.</p><p><a href=\"/review\">Back to the review</a></p>");
    respond(StatusCode::OK, html_page("Try a comment", "", &body))
}
