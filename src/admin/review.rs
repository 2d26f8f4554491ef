//! The review page for brand teams: recent decisions with the comment's text, the rule and its
//! evidence highlighted, filters, and an Undo button.
//!
//! Server-rendered HTML with no script at all (the Content-Security-Policy forbids scripts), so
//! there is no front-end build. Every string that came from a commenter or a rule file goes
//! through [`esc`]. Sign-in exchanges the admin token for a session cookie (see
//! [`super::auth`]); the Undo form carries a CSRF token bound to that session.

use std::fmt::Write as _;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::api::DecisionQuery;
use super::auth::csrf_token;
use super::undo::{can_undo, plan_unhide, undo_of, UndoError, UndoSource};
use super::view::{evidence_spans, highlight_segments};
use super::AdminState;
use crate::store::{ActionState, DecisionRow};

pub fn router() -> Router<AdminState> {
    Router::new()
        .route("/review", get(page))
        .route(
            "/review/login",
            get(super::sign_in::login_form).post(super::sign_in::login),
        )
        .route("/review/logout", post(super::sign_in::logout))
        .route("/review/undo", post(undo))
        .route("/review/label", post(super::labels::label))
        .route("/review/hide", post(super::by_hand::hide))
        .route("/review/act", post(super::by_hand::act))
        .route("/review/replay", get(super::replay::page))
        .route("/review/try", get(super::try_comment::page))
        .route("/review/rules", get(super::rules_view::page))
        .route("/review/rules/clear", post(super::rules_view::clear))
        .route("/review/dead-letters", get(super::rules_view::dead_letters))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}\
header{background:#222;color:#fff;padding:.6em 1.2em;display:flex;justify-content:space-between;align-items:center}\
header h1{font-size:1.1em;margin:0}main{max-width:980px;margin:1em auto;padding:0 1em}\
form.filters{display:flex;gap:.6em;flex-wrap:wrap;align-items:end;margin-bottom:1em}\
label{display:flex;flex-direction:column;font-size:.8em;color:#555}\
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em 1em;margin:.7em 0}\
.meta{font-size:.85em;color:#666;display:flex;gap:1em;flex-wrap:wrap}\
.text{font-size:1.05em;white-space:pre-wrap;word-break:break-word;margin:.5em 0}\
mark{background:#ffd54f;padding:0 .1em;border-radius:2px}.purged{color:#999;font-style:italic}\
.badge{border-radius:3px;padding:0 .4em;font-size:.85em;background:#eee}\
.outcome-done{background:#c8e6c9}.outcome-failed{background:#ffcdd2}.outcome-pending{background:#fff9c4}\
.notice{background:#e3f2fd;border:1px solid #90caf9;padding:.5em 1em;border-radius:4px}\
.banner{background:#fff3cd;border:1px solid #e0a800;padding:.5em 1em;border-radius:4px;color:#3d2e00}\
.error{background:#ffebee;border:1px solid #ef9a9a;padding:.5em 1em;border-radius:4px}\
button{cursor:pointer}ul{margin:.3em 0;padding-left:1.2em}\
table.rules{border-collapse:collapse;width:100%;background:#fff}table.rules td,table.rules th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}";

pub(super) fn html_page(title: &str, header_right: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\
         <header><h1>commentguard · review</h1><div>{header_right}</div></header>\
         <main>{body}</main></body></html>",
        esc(title)
    )
}

/// HTML with the headers every review response carries: no scripts, no framing, no caching,
/// no referrer leaking comment ids.
pub(super) fn respond(status: StatusCode, html: String) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(flatten)]
    decisions: DecisionQuery,
    outcome: Option<String>,
    /// The comment whose undo was just planned.
    undone: Option<String>,
    /// The comment just labelled.
    labelled: Option<String>,
    /// The comment just hidden, answered or deleted by hand.
    hidden: Option<String>,
    replied: Option<String>,
    deleted: Option<String>,
    /// `spam`, `not_spam`, `none` (no label) or `any`.
    label: Option<String>,
    /// Only decisions an enforced rule of this category (`scam`, `spam`, `abuse`,
    /// `promotion`, `other`) matched.
    category: Option<String>,
    /// `unsure`: only the comments the rules were unsure of and nobody has labelled yet.
    queue: Option<String>,
}

async fn page(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let (key, session, signed) = match super::sign_in::session(&state, &headers).await {
        Ok(s) => (s.key.clone(), s.session.clone(), s),
        Err(resp) => return *resp,
    };
    // The unsure queue is a filter on what the page reads: read further back for it.
    let limit = if q.queue.as_deref() == Some("unsure") {
        500
    } else {
        50
    };
    let filter = match q.decisions.filter(limit) {
        Ok(f) => f,
        Err(e) => {
            return respond(
                StatusCode::BAD_REQUEST,
                html_page(
                    "Review",
                    "",
                    &format!("<p class=\"error\">{}</p>", esc(&e.to_string())),
                ),
            )
        }
    };
    let rows = match state.store.list_decisions(&filter).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "review page: reading decisions failed");
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                html_page(
                    "Review",
                    "",
                    "<p class=\"error\">The moderation log could not be read.</p>",
                ),
            );
        }
    };
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| rows.last().map(|d| d.id))
        .flatten();
    let outcome = q.outcome.as_deref().filter(|o| !o.is_empty());
    let csrf = csrf_token(&key, &session);

    let mut body = String::new();
    if let Some(c) = q.undone.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\" id=\"notice\">Unhide planned for comment {}. It is carried out in the background; its state shows below.</p>",
            esc(c)
        );
    }
    for (c, what) in [(&q.replied, "Reply"), (&q.deleted, "Delete")] {
        if let Some(c) = c.as_deref().filter(|c| !c.is_empty()) {
            let _ = write!(
                body,
                "<p class=\"notice\" role=\"status\" id=\"notice\">{what} planned for comment {}. It is carried out in the background; its state shows below.</p>",
                esc(c)
            );
        }
    }
    if let Some(c) = q.hidden.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\" id=\"notice\">{} for comment {}; it counts as Spam. {}</p>",
            if super::honest::dry_run(&state.settings) { "Hide recorded" } else { "Hide planned" },
            esc(c),
            if super::honest::dry_run(&state.settings) {
                "Dry run: it is not carried out on Instagram (it shows below as skipped)."
            } else {
                "It is carried out in the background; its state shows below."
            }
        );
    }
    if let Some(c) = q.labelled.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\" id=\"notice\">Label saved for comment {}.</p>",
            esc(c)
        );
    }
    body.push_str(&super::health::health_html(&state).await);
    let week = crate::store::now_ms() - super::labels::AGREEMENT_WINDOW.as_millis() as i64;
    if let Ok(a) = super::labels::agreement(state.store.as_ref(), week).await {
        body.push_str(&super::labels::agreement_html(&a));
    }
    body.push_str(&filters_form(&q, outcome));
    let ids: Vec<String> = rows.iter().map(|d| d.comment_id.clone()).collect();
    let labels = state.store.labels_for(&ids).await.unwrap_or_default();
    let links = state
        .links
        .for_page(&state.graph, &state.settings, &rows)
        .await;
    let label_filter = q.label.as_deref().filter(|l| !l.is_empty());
    let dry = super::honest::dry_run(&state.settings);
    let mut shown = 0;
    let (mut hidden, mut replied, mut failed, mut shadow, mut undone) = (0, 0, 0, 0, 0);
    let mut per_category: std::collections::BTreeMap<String, usize> = Default::default();
    let mut list = String::new();
    for d in rows
        .iter()
        .filter(|d| outcome.is_none_or(|o| d.outcome() == o))
    {
        let mine: Vec<&crate::store::LabelRow> = labels
            .iter()
            .filter(|l| l.comment_id == d.comment_id && l.kind == d.kind.as_str())
            .collect();
        if !super::labels::passes(label_filter, &mine) {
            continue;
        }
        if q.queue.as_deref() == Some("unsure")
            && (!mine.is_empty()
                || crate::moderation::unsure::reason(d, &state.rules.for_account(&d.account_id))
                    .is_none())
        {
            continue;
        }
        if let Some(cat) = q.category.as_deref().filter(|c| !c.is_empty()) {
            // "abuse" takes every kind of abuse (hate, harassment, threat, sexual, profanity).
            let wanted = |c: &str| {
                c == cat
                    || (cat == "abuse"
                        && crate::rules::Category::parse(c).is_some_and(|k| k.is_abuse()))
            };
            let matched = d.matched.as_array().into_iter().flatten().any(|m| {
                m.get("mode").and_then(|v| v.as_str()) == Some("enforce")
                    && wanted(
                        m.get("category")
                            .and_then(|v| v.as_str())
                            .unwrap_or("other"),
                    )
            });
            if !matched {
                continue;
            }
        }
        shown += 1;
        let hid = if dry {
            d.actions.iter().any(|a| a == "hide")
        } else {
            crate::moderation::by_hand::is_hidden(d)
        };
        if hid {
            hidden += 1;
        }
        if d.actions.iter().any(|a| a == "reply") {
            replied += 1;
        }
        if d.outcome() == "failed" {
            failed += 1;
        }
        let matches = d.matched.as_array().cloned().unwrap_or_default();
        let mode = |m: &serde_json::Value, want: &str| {
            m.get("mode").and_then(|v| v.as_str()) == Some(want)
        };
        if matches.iter().any(|m| mode(m, "shadow")) {
            shadow += 1;
        }
        if undo_of(d).is_some() {
            undone += 1;
        }
        let cats: std::collections::BTreeSet<String> = matches
            .iter()
            .filter(|m| mode(m, "enforce"))
            .map(|m| {
                m.get("category")
                    .and_then(|v| v.as_str())
                    .unwrap_or("other")
                    .to_string()
            })
            .collect();
        for c in cats {
            *per_category.entry(c).or_default() += 1;
        }
        list.push_str(&decision_html(
            d,
            &mine,
            &csrf,
            &state.settings.timezone,
            &links,
            &state.rules.for_account(&d.account_id),
        ));
    }
    if shown == 0 {
        body.push_str("<p>No decisions match these filters.</p>");
    } else {
        let _ = write!(
            body,
            "<p class=\"counts\" id=\"counts\">{shown} decision{} shown: {hidden} {}, {replied} answered, {shadow} in shadow, {undone} undone{}{}.</p>",
            if shown == 1 { "" } else { "s" },
            if dry {
                "decided hide (not carried out: dry run)"
            } else {
                "hidden"
            },
            if per_category.is_empty() {
                String::new()
            } else {
                format!(
                    "; by category: {}",
                    per_category
                        .iter()
                        .map(|(c, n)| format!("{} {n}", esc(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            if failed > 0 {
                format!(", <strong>{failed} with a failed Graph call</strong>")
            } else {
                String::new()
            }
        );
    }
    body.push_str(&list);
    if let Some(cursor) = next_cursor {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("since", &q.decisions.since),
            ("rule", &q.decisions.rule),
            ("action", &q.decisions.action),
            ("account", &q.decisions.account),
            ("outcome", &q.outcome),
            ("label", &q.label),
            ("category", &q.category),
            ("queue", &q.queue),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                url.append_pair(k, v);
            }
        }
        url.append_pair("cursor", &cursor.to_string());
        let _ = write!(
            body,
            "<p><a href=\"/review?{}\" id=\"older\">Older decisions →</a></p>",
            esc(&url.finish())
        );
    }
    let mut header = format!(
        "<span id=\"signed-in\">{} ({})</span> <a href=\"/review?queue=unsure\" id=\"unsure\" title=\"Comments the rules were unsure of: your labels teach the model most here\">Unsure</a> <a href=\"/review/try\" id=\"try\">Try a comment</a> <a href=\"/review/rules\" id=\"rules-view\">Rules</a> ",
        esc(&signed.person),
        signed.role.as_str()
    );
    if signed.role == crate::store::Role::Admin {
        header.push_str("<a href=\"/review/dead-letters\" id=\"dead-letters\">Dead letters</a> ");
    }
    if state.settings.rules_next.is_some() {
        header.push_str("<a href=\"/review/replay\" id=\"compare\">Compare the next rules</a> ");
    }
    header.push_str("<form method=\"post\" action=\"/review/logout\"><button type=\"submit\">Sign out</button></form>");
    respond(StatusCode::OK, html_page("Review", &header, &body))
}

fn filters_form(q: &PageQuery, outcome: Option<&str>) -> String {
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
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/review\">{}\
         <label>rule<input name=\"rule\" value=\"{}\" size=\"16\"></label>{}\
         <label>account<input name=\"account\" value=\"{}\" size=\"18\"></label>{}{}{}\
         <button type=\"submit\">Filter</button></form>",
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
            outcome,
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

fn decision_html(
    d: &DecisionRow,
    labels: &[&crate::store::LabelRow],
    csrf: &str,
    tz: &jiff::tz::TimeZone,
    links: &super::links::PageLinks,
    rules: &crate::rules::RuleSet,
) -> String {
    let account = match links.usernames.get(&d.account_id) {
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
        .and_then(|m| links.permalinks.get(m))
        .map(|p| format!("<a class=\"post\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">the post</a>", esc(p)))
        .unwrap_or_default();
    let mut out = format!(
        "<article class=\"decision\" data-comment-id=\"{}\"><div class=\"meta\"><span>{}</span><span>{}</span>\
         {account}{post}<span>@{}</span><span>comment {}</span>\
         <span class=\"badge outcome-{}\">{}</span></div>",
        esc(&d.comment_id),
        super::view::local_time_html(d.decided_at, tz),
        esc(d.kind.as_str()),
        esc(d.author.as_deref().unwrap_or("unknown")),
        esc(&d.comment_id),
        d.outcome(),
        d.outcome(),
    );
    if let Some(why) = crate::moderation::unsure::reason(d, rules) {
        let _ = write!(
            out,
            "<p class=\"unsure\">Unsure: {}. Spam or Not spam here teaches the model most.</p>",
            esc(&why)
        );
    }
    out.push_str(&text_html(d));
    let matches = d.matched.as_array().cloned().unwrap_or_default();
    if !matches.is_empty() {
        out.push_str("<ul class=\"rules\">");
        for m in &matches {
            let rule = m.get("rule").and_then(|v| v.as_str()).unwrap_or("?");
            let mode = m.get("mode").and_then(|v| v.as_str()).unwrap_or("");
            let evidence: Vec<String> = m
                .get("evidence")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .map(|e| {
                    let condition = e.get("condition").and_then(|v| v.as_str()).unwrap_or("");
                    match (
                        condition.strip_prefix("model "),
                        e.get("score").and_then(|v| v.as_f64()),
                    ) {
                        (Some(name), Some(score)) => {
                            super::honest::model_evidence(name, score, d.text.as_deref(), rules)
                        }
                        _ => format!(
                            "{condition} “{}”",
                            e.get("matched").and_then(|v| v.as_str()).unwrap_or("")
                        ),
                    }
                })
                .collect();
            // A shadow rule acts on nothing: say what it would have done, its reply included.
            let would = if mode == "shadow" {
                let acts: Vec<String> = m
                    .get("actions")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .map(|a| match a.get("type").and_then(|t| t.as_str()) {
                        Some("reply") => format!(
                            "reply “{}”",
                            a.get("text").and_then(|t| t.as_str()).unwrap_or("")
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
    }
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
    if can_undo(d) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/review/undo\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"comment_id\" value=\"{}\">\
             <button type=\"submit\" class=\"undo\">Undo: show this comment again</button></form>",
            esc(csrf),
            esc(&d.comment_id)
        );
    } else if let Some(u) = undo_of(d) {
        let what = match u.state {
            ActionState::Done => "Undone: the comment is visible again.",
            ActionState::Skipped => "Undo recorded (dry run: nothing was called).",
            _ => "Undo planned: the comment will be shown again.",
        };
        let _ = write!(out, "<p class=\"undone\">{what}</p>");
    }
    if crate::moderation::by_hand::can_hide(d) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/review/hide\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"comment_id\" value=\"{}\">\
             <button type=\"submit\" class=\"hide\">Hide this comment</button></form>",
            esc(csrf),
            esc(&d.comment_id)
        );
    }
    out.push_str(&super::by_hand::forms_html(d, csrf));
    out.push_str(&super::labels::labels_html(d, labels, csrf, tz));
    out.push_str("</article>");
    out
}

/// A page with one error message and the way back.
/// The page for a request the database could not answer.
pub(super) fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database does not answer. Try again in a moment.",
    )
}

pub(super) fn error_page(status: StatusCode, msg: &str) -> Response {
    respond(
        status,
        html_page(
            "Review",
            "",
            &format!(
                "<p class=\"error\">{}</p><p><a href=\"/review\">Back to the review</a></p>",
                esc(msg)
            ),
        ),
    )
}

/// The signed-in session of a form post whose CSRF token is this session's, or the page
/// that says why not.
#[derive(Deserialize)]
pub(super) struct UndoForm {
    pub(super) csrf: String,
    pub(super) comment_id: String,
}

async fn undo(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<UndoForm>,
) -> Response {
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    match plan_unhide(
        state.store.as_ref(),
        &state.settings,
        &form.comment_id,
        UndoSource::ReviewPage,
        Some(&signed.person),
    )
    .await
    {
        Ok(planned) => {
            if !planned.already_planned {
                state.actions_wake.notify_one();
            }
            // An undo says the comment was fine: it counts as "Not spam" by this person.
            let person = signed.person.clone();
            if let Err(e) = super::labels::record(
                state.store.as_ref(),
                &form.comment_id,
                "",
                crate::store::Label::NotSpam,
                &person,
                "undo",
            )
            .await
            {
                tracing::warn!(error = %e, "the undo's label was not stored");
            }
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("undone", &form.comment_id)
                .finish();
            Redirect::to(&format!("/review?{q}")).into_response()
        }
        Err(e) => {
            let status = match &e {
                UndoError::UnknownComment(_) => StatusCode::NOT_FOUND,
                UndoError::NotHidden { .. } => StatusCode::CONFLICT,
                UndoError::Store(err) => {
                    tracing::error!(error = %err, "review undo failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            let msg = match &e {
                UndoError::Store(_) => "The undo could not be recorded; try again.".to_string(),
                other => other.to_string(),
            };
            error_page(status, &msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
