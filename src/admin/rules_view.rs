//! The review page's rules view (`/review/rules`): every loaded rule with its category, mode
//! and automatic-shadow state, its matches over the last hour and day, a small bar chart of its
//! matches on each of the last seven days (SVG drawn here: no script, no image fetched, so the
//! page's CSP stays as it is), and each rules folder's last reload. Admins can clear an
//! automatic shadow from here; the dead letters (`/review/dead-letters`) are for admins too.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::csrf_token;
use super::kit::{error_page, esc, html_page, respond, unavailable};
use super::sign_in::{admin_session, form_session, session};
use super::AdminState;
use crate::store::{now_ms, Role};

const DAY_MS: i64 = 86_400_000;

const DAYS: i64 = 7;

/// Seven bars, oldest first, scaled to the largest; each bar's title gives its count.
pub fn bars_svg(counts: &[i64]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(
        "<svg class=\"chart\" width=\"120\" height=\"30\" viewBox=\"0 0 120 30\" role=\"img\" aria-label=\"matches on each of the last 7 days\">",
    );
    for (i, &n) in counts.iter().enumerate() {
        let h = if n == 0 { 1 } else { (n * 28 / max).max(2) };
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{h}\" fill=\"{}\"><title>{} day(s) ago: {n}</title></rect>",
            i * 17,
            30 - h,
            if n == 0 { "#ccc" } else { "#5c6bc0" },
            counts.len() - 1 - i,
        );
    }
    svg.push_str("</svg>");
    svg
}

pub async fn page(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let signed = match session(&state, &headers).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let csrf = csrf_token(&signed.key, &signed.session);
    let now = now_ms();
    let days = match state.store.rule_matches_by_day(now, DAYS, DAY_MS).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "rules view: match counts not read");
            return unavailable();
        }
    };
    let mut per: HashMap<(String, String), Vec<i64>> = HashMap::new();
    for d in days {
        per.entry((d.account_id, d.rule))
            .or_insert_with(|| vec![0; DAYS as usize])[d.day as usize] += d.count;
    }
    let view = state.monitor.view();
    let mut body = String::from("<h2>Rules</h2>");
    for (account, handle) in state.rules.handles() {
        let scope = account.unwrap_or("");
        let set = handle.current();
        let _ = write!(
            body,
            "<section class=\"rules-folder\"><h3>{}</h3>",
            if scope.is_empty() {
                "The shared rules".to_string()
            } else {
                format!("Rules of account {}", esc(scope))
            }
        );
        body.push_str(&reload_html(handle.last_reload(), &state.settings.timezone));
        body.push_str("<div class=\"scroll\"><table class=\"rules\"><thead><tr><th>rule</th><th>category</th><th>mode</th><th>last hour</th><th>last day</th><th>last 7 days</th></tr></thead><tbody>");
        let stats = view.scopes.get(scope);
        for info in set.rules() {
            let counts = stats
                .and_then(|s| s.rules.get(&info.id))
                .copied()
                .unwrap_or_default();
            // Per-account folders count their own account; the shared rules count every
            // account that has no folder of its own.
            let week: Vec<i64> = if scope.is_empty() {
                let mut sum = vec![0; DAYS as usize];
                for ((acct, rule), v) in &per {
                    if rule == &info.id && state.rules.scope_for(acct).is_empty() {
                        for (s, n) in sum.iter_mut().zip(v) {
                            *s += n;
                        }
                    }
                }
                sum
            } else {
                per.get(&(scope.to_string(), info.id.clone()))
                    .cloned()
                    .unwrap_or_else(|| vec![0; DAYS as usize])
            };
            let auto = view.auto_shadow(scope, &info.id);
            let mode = match auto {
                Some(a) => {
                    let mut m = format!(
                        "<span class=\"badge outcome-pending\">shadow (automatic: {} of {} decisions)</span>",
                        a.matches, a.decisions
                    );
                    if signed.role == Role::Admin {
                        let _ = write!(
                            m,
                            "<form method=\"post\" action=\"/review/rules/clear\" class=\"clear\">\
                             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                             <input type=\"hidden\" name=\"rule_id\" value=\"{}\">\
                             <input type=\"hidden\" name=\"scope\" value=\"{}\">\
                             <button type=\"submit\">Clear: let it act</button></form>",
                            esc(&csrf),
                            esc(&info.id),
                            esc(scope)
                        );
                    }
                    m
                }
                None => format!("<span class=\"badge\">{}</span>", info.mode.as_str()),
            };
            let _ = write!(
                body,
                "<tr data-rule=\"{id}\"><td><code>{id}</code><br><small>{desc}</small></td><td>{cat}</td><td>{mode}</td><td>{h}</td><td>{d}</td><td>{chart} <small class=\"week-total\">{w}</small></td></tr>",
                id = esc(&info.id),
                desc = esc(&info.description),
                cat = esc(info.category.as_str()),
                h = counts.matches_last_hour,
                d = counts.matches_last_day,
                chart = bars_svg(&week),
                w = week.iter().sum::<i64>(),
            );
        }
        body.push_str("</tbody></table></div></section>");
    }
    body.push_str("<p><a href=\"/review\">Back to the review</a></p>");
    respond(StatusCode::OK, html_page("Rules", &body))
}

/// How the folder's last reload went: when and how many rules, or the errors of an edit that
/// did not load (the rules before it keep running).
fn reload_html(
    last: Option<crate::rules::reload::ReloadStatus>,
    tz: &jiff::tz::TimeZone,
) -> String {
    match last {
        Some(r) if r.ok() => {
            let at =
                r.at.duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
            format!(
                "<p class=\"notice reload\">Last reload {}: {} rules loaded.</p>",
                super::view::local_time_html(at, tz),
                r.rules
            )
        }
        Some(r) => {
            format!(
                "<div class=\"error reload\"><p>The last edit did not load, so the rules before it keep running:</p><ul>{}</ul></div>",
                r.errors
                    .iter()
                    .map(|e| format!("<li><code>{}</code></li>", esc(e)))
                    .collect::<String>()
            )
        }
        None => "<p class=\"reload\">Not reloaded since the start.</p>".to_string(),
    }
}

#[derive(Deserialize)]
pub struct ClearForm {
    csrf: String,
    rule_id: String,
    #[serde(default)]
    scope: String,
}

/// Clears an automatic shadow: admins only.
pub async fn clear(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<ClearForm>,
) -> Response {
    let signed = match form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    if signed.role != Role::Admin {
        return error_page(
            StatusCode::FORBIDDEN,
            "Only admins can clear an automatic shadow.",
        );
    }
    match state
        .store
        .clear_auto_shadow(&form.rule_id, Some(&form.scope), now_ms())
        .await
    {
        Ok(n) => {
            tracing::info!(person = %signed.person, rule = %form.rule_id, scope = %form.scope, cleared = n, "automatic shadow cleared on the review page");
            if let Err(e) = state.monitor.refresh().await {
                tracing::warn!(error = %e, "rule statistics not refreshed after a clear");
            }
            Redirect::to("/review/rules").into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "clearing an automatic shadow failed");
            unavailable()
        }
    }
}

/// The notifications that could not be processed: admins only.
pub async fn dead_letters(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(resp) = admin_session(&state, &headers).await {
        return *resp;
    }
    let rows = match state.store.dead_letters(100).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "dead letters not read");
            return unavailable();
        }
    };
    let mut body = format!(
        "<h2>Dead letters</h2><p>Notifications that were acknowledged but could not be processed ({}).</p>",
        rows.len()
    );
    for r in &rows {
        let shown: String = r.body.chars().take(2000).collect();
        let _ = write!(
            body,
            "<article class=\"dead-letter\"><div class=\"meta\">{} · {}</div><pre class=\"text\">{}</pre></article>",
            super::view::local_time_html(r.received_at, &state.settings.timezone),
            esc(&r.reason),
            esc(&shown)
        );
    }
    body.push_str("<p><a href=\"/review\">Back to the review</a></p>");
    respond(StatusCode::OK, html_page("Dead letters", &body))
}
