//! The review page for brand teams: the "Needs review" queue (the comments the rules were
//! unsure of first, then the ones they acted on that nobody confirmed), every decision with its
//! evidence highlighted, filters, one row of actions per comment, several settled at once, and
//! new decisions added without a reload.
//!
//! Server-rendered HTML; the one script ([`CONSOLE_JS`]) adds keyboard shortcuts, fills in saved
//! replies and follows new decisions, and every button works without it. Sign-in gives a
//! session cookie (see [`super::auth`]); every form carries a CSRF token bound to it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::auth::csrf_token;
use super::card::{card_html, CardContext};
use super::filters::{filters_form, PageQuery};
use super::kit::{back_to, error_page, esc, html_page, respond, CommentForm};
use super::undo::{plan_unhide, undo_of, UndoError, UndoSource};
use super::AdminState;
use crate::store::{DecisionRow, LabelRow};

/// The console's script: keyboard shortcuts, saved replies, new decisions without a reload.
pub const CONSOLE_JS: &str = include_str!("console.js");

pub fn router() -> Router<AdminState> {
    Router::new()
        .route("/review", get(page))
        .route("/review/live", get(live))
        .route("/review/console.js", get(console_js))
        .route(
            "/review/login",
            get(super::sign_in::login_form).post(super::sign_in::login),
        )
        .route("/review/logout", post(super::sign_in::logout))
        .route("/review/undo", post(undo))
        .route("/review/label", post(super::labels::label))
        .route("/review/hide", post(super::by_hand::hide))
        .route("/review/act", post(super::by_hand::act))
        .route("/review/settle", post(super::settle::settle))
        .route(
            "/review/replies",
            get(super::replies::page).post(super::replies::save),
        )
        .route("/review/replies/delete", post(super::replies::delete))
        .route("/review/replay", get(super::replay::page))
        .route("/review/try", get(super::try_comment::page))
        .route("/review/rules", get(super::rules_view::page))
        .route("/review/rules/clear", post(super::rules_view::clear))
        .route("/review/dead-letters", get(super::rules_view::dead_letters))
}

async fn console_js() -> Response {
    let mut resp = CONSOLE_JS.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    resp
}

/// What the page shows of the decisions read: the cards, and the counts over them.
#[derive(Default)]
struct Listed {
    cards: String,
    shown: usize,
    hidden: usize,
    replied: usize,
    failed: usize,
    shadow: usize,
    undone: usize,
    unsure: usize,
    per_category: BTreeMap<String, usize>,
}

fn mode_is(m: &serde_json::Value, want: &str) -> bool {
    m.get("mode").and_then(|v| v.as_str()) == Some(want)
}

/// Does an enforced rule of category `cat` match ("abuse" takes every kind of abuse)?
fn in_category(d: &DecisionRow, cat: &str) -> bool {
    let wanted = |c: &str| {
        c == cat
            || (cat == "abuse" && crate::rules::Category::parse(c).is_some_and(|k| k.is_abuse()))
    };
    d.matched.as_array().into_iter().flatten().any(|m| {
        mode_is(m, "enforce")
            && wanted(
                m.get("category")
                    .and_then(|v| v.as_str())
                    .unwrap_or("other"),
            )
    })
}

/// The decisions of `rows` the query keeps, in the order shown, each with why it is queued.
fn select<'a>(
    state: &AdminState,
    q: &PageQuery,
    rows: &'a [DecisionRow],
    labels: &[LabelRow],
) -> Vec<(&'a DecisionRow, Option<String>)> {
    let outcome = q.outcome.as_deref().filter(|o| !o.is_empty());
    let label_filter = q.label.as_deref().filter(|l| !l.is_empty());
    let category = q.category.as_deref().filter(|c| !c.is_empty());
    let mine = |d: &DecisionRow| -> Vec<&LabelRow> {
        labels
            .iter()
            .filter(|l| l.comment_id == d.comment_id && l.kind == d.kind.as_str())
            .collect()
    };
    let passes = |d: &&DecisionRow| {
        outcome.is_none_or(|o| d.outcome() == o)
            && super::labels::passes(label_filter, &mine(d))
            && category.is_none_or(|c| in_category(d, c))
    };
    match q.queue() {
        Some(which) => crate::moderation::unsure::queue(
            rows,
            |a| state.rules.for_account(a),
            |d| !mine(d).is_empty(),
        )
        .into_iter()
        .filter(|(d, r)| passes(d) && (which == "review" || r.tier == 0))
        .map(|(d, r)| (d, Some(r.why)))
        .collect(),
        None => rows.iter().filter(passes).map(|d| (d, None)).collect(),
    }
}

/// The cards of the decisions selected, and their counts.
async fn list(
    state: &AdminState,
    chosen: &[(&DecisionRow, Option<String>)],
    labels: &[LabelRow],
    c: &CardContext<'_>,
) -> Listed {
    let dry = super::honest::dry_run(&state.settings);
    let mut out = Listed::default();
    for (d, why) in chosen {
        let mine: Vec<&LabelRow> = labels
            .iter()
            .filter(|l| l.comment_id == d.comment_id && l.kind == d.kind.as_str())
            .collect();
        let rules = state.rules.for_account(&d.account_id);
        out.shown += 1;
        let hid = if dry {
            d.actions.iter().any(|a| a == "hide")
        } else {
            crate::moderation::by_hand::is_hidden(d)
        };
        out.hidden += usize::from(hid);
        out.replied += usize::from(d.actions.iter().any(|a| a == "reply"));
        out.failed += usize::from(d.outcome() == "failed");
        let matches = d.matched.as_array().cloned().unwrap_or_default();
        out.shadow += usize::from(matches.iter().any(|m| mode_is(m, "shadow")));
        out.undone += usize::from(undo_of(d).is_some());
        out.unsure += usize::from(crate::moderation::unsure::reason(d, &rules).is_some());
        let cats: std::collections::BTreeSet<String> = matches
            .iter()
            .filter(|m| mode_is(m, "enforce"))
            .map(|m| {
                m.get("category")
                    .and_then(|v| v.as_str())
                    .unwrap_or("other")
                    .to_string()
            })
            .collect();
        for cat in cats {
            *out.per_category.entry(cat).or_default() += 1;
        }
        out.cards
            .push_str(&card_html(d, &mine, &rules, why.as_deref(), c));
    }
    out
}

fn notices(state: &AdminState, q: &PageQuery) -> String {
    let mut body = String::new();
    let planned = "It is carried out in the background; its state shows below.";
    let dry = super::honest::dry_run(&state.settings);
    let mut note = |text: String| {
        let _ = write!(
            body,
            "<p class=\"notice\" role=\"status\" id=\"notice\">{text}</p>"
        );
    };
    let given = |v: &Option<String>| v.as_deref().filter(|c| !c.is_empty()).map(esc);
    if let Some(c) = given(&q.undone) {
        note(format!(
            "Unhide planned for comment {c}; it counts as Not spam. {planned}"
        ));
    }
    if let Some(c) = given(&q.replied) {
        note(format!("Reply planned for comment {c}. {planned}"));
    }
    if let Some(c) = given(&q.deleted) {
        note(format!("Delete planned for comment {c}. {planned}"));
    }
    if let Some(c) = given(&q.hidden) {
        note(format!(
            "{} for comment {c}; it counts as Spam. {}",
            if dry { "Hide recorded" } else { "Hide planned" },
            if dry {
                "Dry run: it is not carried out on Instagram (it shows below as skipped)."
            } else {
                planned
            }
        ));
    }
    if let Some(c) = given(&q.labelled) {
        note(format!("Label saved for comment {c}."));
    }
    if let (Some(n), Some(v)) = (given(&q.settled), given(&q.verdict)) {
        let n: usize = n.parse().unwrap_or(0);
        let (label, acted) = if v == "spam" {
            ("Spam", "visible ones are to be hidden")
        } else {
            ("Not spam", "hidden ones are to be shown again")
        };
        note(format!(
            "{} settled as {label}: each is labelled {label}, and {acted}{}",
            super::kit::plural(n, "comment", "comments"),
            if dry {
                " (dry run: recorded, not carried out on Instagram)."
            } else {
                " (carried out in the background; their states show below)."
            }
        ));
    }
    body
}

fn counts_html(l: &Listed, dry: bool, queue: Option<&str>) -> String {
    let what = match queue {
        Some("review") => "waiting for review",
        Some(_) => "unsure",
        None => "shown",
    };
    format!(
        "<p class=\"counts\" id=\"counts\">{} {what}: {} {}, {} answered, {} in shadow, {} undone, {} unsure{}{}.</p>",
        super::kit::plural(l.shown, "decision", "decisions"),
        l.hidden,
        if dry {
            "decided hide (not carried out: dry run)"
        } else {
            "hidden"
        },
        l.replied,
        l.shadow,
        l.undone,
        l.unsure,
        if l.per_category.is_empty() {
            String::new()
        } else {
            format!(
                "; by category: {}",
                l.per_category
                    .iter()
                    .map(|(c, n)| format!("{} {n}", esc(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        if l.failed > 0 {
            format!(", <strong>{} with a failed Graph call</strong>", l.failed)
        } else {
            String::new()
        }
    )
}

/// The cards the query keeps of `rows`, as the page and the live view show them (with the
/// links, the saved replies and the forms' way back).
async fn cards(
    state: &AdminState,
    q: &PageQuery,
    rows: &[DecisionRow],
    labels: &[LabelRow],
    csrf: &str,
) -> Listed {
    let back = format!("/review?{}", q.filters_query());
    let links = state
        .links
        .for_page(&state.graph, &state.settings, rows)
        .await;
    let replies = state.store.saved_replies().await.unwrap_or_default();
    let ctx = CardContext {
        csrf,
        back: &back,
        tz: &state.settings.timezone,
        links: &links,
        replies: &replies,
    };
    let chosen = select(state, q, rows, labels);
    list(state, &chosen, labels, &ctx).await
}

/// Reads the decisions a query asks for; the queues read further back (they filter after).
async fn read(
    state: &AdminState,
    q: &PageQuery,
) -> Result<
    (
        crate::store::DecisionFilter,
        Vec<DecisionRow>,
        Vec<LabelRow>,
    ),
    Response,
> {
    let limit = if q.queue().is_some() { 500 } else { 50 };
    let mut filter = q
        .decisions
        .filter(limit)
        .map_err(|e| error_page(StatusCode::BAD_REQUEST, &e.to_string()))?;
    filter.after_id = q.after;
    let rows = state.store.list_decisions(&filter).await.map_err(|e| {
        tracing::error!(error = %e, "review page: reading decisions failed");
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The moderation log could not be read.",
        )
    })?;
    let ids: Vec<String> = rows.iter().map(|d| d.comment_id.clone()).collect();
    let labels = state.store.labels_for(&ids).await.unwrap_or_default();
    Ok((filter, rows, labels))
}

async fn page(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let signed = match super::sign_in::session(&state, &headers).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let mut q = q;
    q.after = None;
    let (filter, rows, labels) = match read(&state, &q).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| rows.last().map(|d| d.id))
        .flatten();
    let csrf = csrf_token(&signed.key, &signed.session);
    let filters = q.filters_query();
    let back = format!("/review?{filters}");
    let listed = cards(&state, &q, &rows, &labels, &csrf).await;

    let mut body = notices(&state, &q);
    body.push_str(&super::health::health_html(&state).await);
    let week = crate::store::now_ms() - super::labels::AGREEMENT_WINDOW.as_millis() as i64;
    if let Ok(a) = super::labels::agreement(state.store.as_ref(), week).await {
        body.push_str(&super::labels::agreement_html(&a));
    }
    let title = match q.queue() {
        Some("review") => "Needs review",
        Some(_) => "Unsure",
        None => "All decisions",
    };
    let _ = write!(body, "<h2 id=\"title\">{title}</h2>");
    if q.queue() == Some("review") {
        body.push_str("<p class=\"meta\">The comments the rules were unsure of come first, then the ones they acted on that nobody has confirmed. One click settles each: it is the decision and what the model learns from.</p>");
    }
    body.push_str(&filters_form(&q));
    body.push_str("<p class=\"keys\" id=\"keys\">Keys: <kbd>j</kbd> <kbd>k</kbd> next, previous · <kbd>h</kbd> Spam (hide) · <kbd>n</kbd> Not spam (keep) · <kbd>r</kbd> reply · <kbd>x</kbd> select · <kbd>?</kbd> hide these hints</p>");
    if listed.shown == 0 {
        body.push_str(if q.queue() == Some("review") {
            "<p id=\"empty\">Nothing waits for review. New comments the rules are unsure of will appear here.</p>"
        } else {
            "<p id=\"empty\">No decisions match these filters.</p>"
        });
    } else {
        body.push_str(&counts_html(
            &listed,
            super::honest::dry_run(&state.settings),
            q.queue(),
        ));
        let _ = write!(
            body,
            "<form id=\"bulk\" class=\"bulk\" method=\"post\" action=\"/review/settle\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
             <span>Selected comments:</span>\
             <button type=\"submit\" name=\"verdict\" value=\"spam\" id=\"bulk-spam\">Spam · hide them</button>\
             <button type=\"submit\" name=\"verdict\" value=\"not_spam\" id=\"bulk-not-spam\">Not spam · keep or show them</button></form>",
            esc(&csrf),
            esc(&back)
        );
    }
    body.push_str("<p class=\"notice\" id=\"live-note\" role=\"status\" hidden></p>");
    // The live view follows the log newest-first; a page further back stays as it is.
    let live = if q.decisions.cursor.is_none() {
        format!(
            " data-live=\"/review/live?{}\" data-newest=\"{}\"",
            esc(&filters),
            rows.first().map_or(0, |d| d.id)
        )
    } else {
        String::new()
    };
    let _ = write!(body, "<div id=\"decisions\"{live}>{}</div>", listed.cards);
    if let Some(cursor) = next_cursor {
        let _ = write!(
            body,
            "<p><a href=\"/review?{}&amp;cursor={cursor}\" id=\"older\">Older decisions →</a></p>",
            esc(&filters),
        );
    }
    respond(StatusCode::OK, html_page(title, &body))
}

/// `GET /review/live?after=ID&...`: the cards of decisions newer than `after` that the page's
/// filters keep, as HTML to put at the top; the newest id read in `X-Newest`.
async fn live(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let signed = match super::sign_in::session(&state, &headers).await {
        Ok(s) => s,
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let Some(after) = q.after else {
        return (StatusCode::BAD_REQUEST, "after= is needed").into_response();
    };
    let (_, mut rows, labels) = match read(&state, &q).await {
        Ok(r) => r,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    // Read oldest first after `after`; shown newest first, as the page is.
    rows.reverse();
    let csrf = csrf_token(&signed.key, &signed.session);
    let listed = cards(&state, &q, &rows, &labels, &csrf).await;
    let newest = rows.iter().map(|d| d.id).max().unwrap_or(after);
    let html = listed.cards.replace(
        "<article class=\"decision\"",
        "<article class=\"decision fresh\"",
    );
    let mut resp = super::kit::respond(StatusCode::OK, html);
    if let Ok(v) = HeaderValue::from_str(&newest.to_string()) {
        resp.headers_mut().insert("x-newest", v);
    }
    resp
}

async fn undo(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<CommentForm>,
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
                &form.kind,
                crate::store::Label::NotSpam,
                &person,
                "undo",
            )
            .await
            {
                tracing::warn!(error = %e, "the undo's label was not stored");
            }
            back_to(form.back.as_deref(), &[("undone", &form.comment_id)])
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
