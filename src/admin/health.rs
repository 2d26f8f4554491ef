//! What a brand team should know about delivery, at the top of the review page: Meta sends
//! nothing for an account (the app not installed, fields missing), a token lapsing, comments a
//! sweep found that no webhook announced.

use std::fmt::Write as _;

use super::kit::esc;
use super::AdminState;

/// What a brand team should know about delivery: an account whose webhook subscription is
/// incomplete, and comments Instagram never notified that a check of recent posts found.
pub(super) async fn health_html(state: &AdminState) -> String {
    let mut out = String::new();
    for s in state.subscriptions.snapshot() {
        if s.app_installed == Some(false) {
            let _ = write!(
                out,
                "<p class=\"error\" id=\"subscription-warning\">Instagram sends no notifications for account {}: the app is not installed on its Facebook Page{}. Ask your engineer to run <code>commentguard connect</code>.</p>",
                esc(&s.account_id),
                s.page_id.as_deref().map(|p| format!(" ({})", esc(p))).unwrap_or_default()
            );
        } else if s.error.is_none() && !s.missing.is_empty() {
            let _ = write!(
                out,
                "<p class=\"error\" id=\"subscription-warning\">Account {} is not subscribed to {}: Instagram sends no notifications for them. Ask your engineer to subscribe the app to them (App Dashboard, Webhooks, Instagram).</p>",
                esc(&s.account_id),
                esc(&s.missing.join(", "))
            );
        }
    }
    let now_s = crate::store::now_ms() / 1000;
    for t in state.tokens.snapshot() {
        if let Some(problem) = t.problem(now_s) {
            let _ = write!(
                out,
                "<p class=\"error\" id=\"token-warning\">Account {}: {}. Until it is fixed, comments may stay up.</p>",
                esc(&t.account_id),
                esc(&problem)
            );
        }
    }
    if let Ok(runs) = state.store.sweeps().await {
        for r in runs
            .iter()
            .filter(|r| r.scope == "reconcile" && r.finished_at.is_some() && r.queued > 0)
        {
            let _ = write!(
                out,
                "<p class=\"notice\" id=\"sweep-notice\">The check of recent posts at {} found {} comment{} on account {} that Instagram never notified; {} moderated like the others.</p>",
                super::view::local_time_html(r.finished_at.unwrap_or(r.started_at), &state.settings.timezone),
                r.queued,
                if r.queued == 1 { "" } else { "s" },
                esc(&r.account_id),
                if r.queued == 1 { "it was" } else { "they were" }
            );
        }
    }
    out
}
