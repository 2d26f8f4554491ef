//! The review page's "Compare the next rules": the running rules' log replayed with the folder
//! COMMENTGUARD_RULES_NEXT names (an edit not copied in yet), showing what would change, like
//! `commentguard rules replay` ([`crate::moderation::replay`]).

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::kit::{esc, html_page, respond};
use super::sign_in::session;
use super::AdminState;
use crate::config::parse_duration;
use crate::moderation::replay::{replay, Change, Report};
use crate::rules::RuleSet;
use crate::store::now_ms;

#[derive(Debug, Default, Deserialize)]
pub struct ReplayQuery {
    since: Option<String>,
}

pub async fn page(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<ReplayQuery>,
) -> Response {
    if let Err(resp) = session(&state, &headers).await {
        return *resp;
    }
    let back = "<p><a href=\"/review\">Back to the review</a></p>";
    let Some(dir) = state.settings.rules_next.clone() else {
        return respond(
            StatusCode::NOT_FOUND,
            html_page("Compare",
                &format!("<p class=\"error\">No folder to compare with: set COMMENTGUARD_RULES_NEXT to the folder holding the edited rules.</p>{back}"),
            ),
        );
    };
    let since_name = q
        .since
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "7d".into());
    let Ok(window) = parse_duration(&since_name) else {
        return respond(
            StatusCode::BAD_REQUEST,
            html_page(
                "Compare",
                &format!(
                    "<p class=\"error\">since={}: not a duration such as 7d</p>{back}",
                    esc(&since_name)
                ),
            ),
        );
    };
    let set = match tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || RuleSet::load(&dir)
    })
    .await
    {
        Ok(Ok(set)) => set,
        Ok(Err(errors)) => {
            let mut body = format!(
                "<p class=\"error\">The rules in {} do not load:</p><ul class=\"errors\">",
                esc(&dir.display().to_string())
            );
            for e in &errors {
                let _ = write!(body, "<li><code>{}</code></li>", esc(&e.to_string()));
            }
            body.push_str("</ul>");
            body.push_str(back);
            return respond(StatusCode::OK, html_page("Compare", &body));
        }
        Err(_) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                html_page(
                    "Compare",
                    "<p class=\"error\">Loading the rules failed.</p>",
                ),
            )
        }
    };
    let since = now_ms() - window.as_millis().min(i64::MAX as u128) as i64;
    let report = match replay(
        state.store.as_ref(),
        &set,
        since,
        None,
        3,
        &dir.display().to_string(),
        &since_name,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "replay on the review page failed");
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                html_page(
                    "Compare",
                    &format!("<p class=\"error\">The moderation log could not be read.</p>{back}"),
                ),
            );
        }
    };
    let mut body = report_html(&report);
    body.push_str(back);
    respond(StatusCode::OK, html_page("Compare", &body))
}

/// What would change, by rule and kind of change, with a few examples of each and the labels
/// people gave them.
fn report_html(report: &Report) -> String {
    let mut body = format!(
        "<h2>The rules in {} over the last {}</h2><p id=\"replay-summary\">{} comments replayed ({} without text skipped): {} would be decided differently.</p>",
        esc(&report.rules),
        esc(&report.since),
        report.comments,
        report.skipped_without_text,
        report.changed
    );
    for g in &report.groups {
        let title = match g.change {
            Change::NewlyHidden => "would now hide",
            Change::NoLongerHidden => "would no longer hide",
            Change::NewReply => "would now reply to",
            Change::NoLongerReplied => "would no longer reply to",
        };
        let _ = write!(
            body,
            "<section class=\"replay-group\"><h3>{title} {} comment{} <span class=\"rule\">{}</span> <span class=\"badge\">{}</span></h3>",
            g.count,
            if g.count == 1 { "" } else { "s" },
            esc(&g.rule),
            esc(&g.category)
        );
        if g.change == Change::NewlyHidden && g.labelled_not_spam > 0 {
            let _ = write!(
                body,
                "<p class=\"error\">{} of them a person marked Not spam.</p>",
                g.labelled_not_spam
            );
        }
        if g.change == Change::NoLongerHidden && g.labelled_spam > 0 {
            let _ = write!(
                body,
                "<p class=\"error\">{} of them a person marked Spam.</p>",
                g.labelled_spam
            );
        }
        body.push_str("<ul>");
        for e in &g.examples {
            let _ = write!(
                body,
                "<li><span class=\"meta\">@{}</span> <span class=\"text\">{}</span>{}{}</li>",
                esc(e.author.as_deref().unwrap_or("?")),
                esc(&e.text),
                e.label
                    .map(|l| format!(" <span class=\"label\">{}</span>", l.title()))
                    .unwrap_or_default(),
                e.reply
                    .as_deref()
                    .map(|r| format!("<br><span class=\"meta\">reply: {}</span>", esc(r)))
                    .unwrap_or_default()
            );
        }
        body.push_str("</ul></section>");
    }
    if report.groups.is_empty() {
        body.push_str("<p>Nothing would change.</p>");
    }
    body
}
