//! Labels on the review page: "Spam" and "Not spam" on every decision (an Undo counts as "Not
//! spam"), who said what, and how well the moderation agreed with people over the last week.
//! What people say is kept in [`crate::store::LabelStore`] and exported by
//! `commentguard labels export` for `commentguard model train --from-log`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::review::{error_page, esc};
use super::sign_in::form_session;
use super::AdminState;
use crate::store::{
    now_ms, DecisionFilter, DecisionRow, Label, LabelFilter, LabelRow, NewLabel, Store,
};

/// The window of the agreement figures.
pub const AGREEMENT_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// The labels shown on a decision and its two buttons.
pub fn labels_html(
    d: &DecisionRow,
    labels: &[&LabelRow],
    csrf: &str,
    tz: &jiff::tz::TimeZone,
) -> String {
    let mut out = String::from("<div class=\"labels\">");
    for l in labels {
        let _ = write!(
            out,
            "<span class=\"label label-{}\">{} · {} · {}</span>",
            l.label.as_str(),
            l.label.title(),
            esc(&l.person),
            super::view::local_time_html(l.labelled_at, tz)
        );
    }
    for label in [Label::Spam, Label::NotSpam] {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/review/label\" class=\"label-form\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"comment_id\" value=\"{}\">\
             <input type=\"hidden\" name=\"kind\" value=\"{}\">\
             <input type=\"hidden\" name=\"label\" value=\"{}\">\
             <button type=\"submit\" class=\"mark-{}\">{}</button></form>",
            esc(csrf),
            esc(&d.comment_id),
            esc(&d.kind),
            label.as_str(),
            label.as_str(),
            label.title()
        );
    }
    out.push_str("</div>");
    out
}

/// Does a decision pass the page's `label` filter (`spam`, `not_spam`, `none`, `any`)?
pub fn passes(filter: Option<&str>, labels: &[&LabelRow]) -> bool {
    match filter {
        None | Some("") => true,
        Some("none") => labels.is_empty(),
        Some("any") => !labels.is_empty(),
        Some(l) => labels.iter().any(|x| x.label.as_str() == l),
    }
}

#[derive(Deserialize)]
pub struct LabelForm {
    csrf: String,
    comment_id: String,
    kind: String,
    label: String,
}

/// Stores the signed-in person's label on a decision's comment.
pub async fn label(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<LabelForm>,
) -> Response {
    let signed = match form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let error = error_page;
    let Some(label) = Label::parse(&form.label) else {
        return error(StatusCode::BAD_REQUEST, "Unknown label.");
    };
    let person = signed.person.clone();
    match record(
        state.store.as_ref(),
        &form.comment_id,
        &form.kind,
        label,
        &person,
        "review",
    )
    .await
    {
        Ok(true) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("labelled", &form.comment_id)
                .finish();
            Redirect::to(&format!("/review?{q}")).into_response()
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            &format!("No decision for comment {} in the log.", form.comment_id),
        ),
        Err(e) => {
            tracing::error!(error = %e, "storing a label failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The label could not be stored; try again.",
            )
        }
    }
}

/// Stores `person`'s label on the decided comment (`kind`: `None` for any kind), with its
/// text and author. `false` when the log has no such decision.
pub async fn record(
    store: &dyn Store,
    comment_id: &str,
    kind: &str,
    label: Label,
    person: &str,
    source: &str,
) -> crate::store::Result<bool> {
    let rows = store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.to_string()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    let Some(d) = rows.iter().find(|d| kind.is_empty() || d.kind == kind) else {
        return Ok(false);
    };
    store
        .set_label(&NewLabel {
            comment_id: d.comment_id.clone(),
            kind: d.kind.clone(),
            account_id: d.account_id.clone(),
            person: person.to_string(),
            label,
            source: source.to_string(),
            text: d.text.clone(),
            author: d.author.clone(),
            at: now_ms(),
        })
        .await?;
    Ok(true)
}

/// How the moderation agreed with people's labels: precision (of the labelled comments it
/// hid, the share people call spam) and recall (of those people call spam, the share it hid).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Agreement {
    pub labels: usize,
    pub spam: usize,
    pub not_spam: usize,
    /// Hidden (or deleted) and labelled spam.
    pub agreed_hidden: usize,
    /// Hidden but labelled not spam: customers silenced.
    pub hidden_not_spam: usize,
    /// Labelled spam but left visible: scams missed.
    pub missed_spam: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// The agreement over labels given since `since` (one per comment: the latest label wins).
pub async fn agreement(store: &dyn Store, since: i64) -> crate::store::Result<Agreement> {
    let labels = store
        .list_labels(&LabelFilter {
            since_ms: Some(since),
            account: None,
        })
        .await?;
    let mut latest: BTreeMap<(String, String), Label> = BTreeMap::new();
    for l in &labels {
        latest.insert((l.comment_id.clone(), l.kind.clone()), l.label);
    }
    let mut a = Agreement {
        labels: latest.len(),
        ..Default::default()
    };
    let ids: Vec<String> = latest
        .keys()
        .map(|(c, _)| c.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(2000)
        .collect();
    // One query per 500 comments (a comment has at most a comment and a mention decision).
    for chunk in ids.chunks(500) {
        let rows = store
            .list_decisions(&DecisionFilter {
                comment_ids: chunk.to_vec(),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        for d in rows {
            let Some(label) = latest.get(&(d.comment_id.clone(), d.kind.clone())) else {
                continue;
            };
            let hidden = d.actions.iter().any(|a| a == "hide" || a == "delete")
                && super::undo::undo_of(&d).is_none();
            match (label, hidden) {
                (Label::Spam, true) => a.agreed_hidden += 1,
                (Label::Spam, false) => a.missed_spam += 1,
                (Label::NotSpam, true) => a.hidden_not_spam += 1,
                (Label::NotSpam, false) => {}
            }
            match label {
                Label::Spam => a.spam += 1,
                Label::NotSpam => a.not_spam += 1,
            }
        }
    }
    let hidden = a.agreed_hidden + a.hidden_not_spam;
    a.precision = (hidden > 0).then(|| a.agreed_hidden as f64 / hidden as f64);
    a.recall = (a.spam > 0).then(|| a.agreed_hidden as f64 / a.spam as f64);
    metrics::gauge!("commentguard_labels_week").set(a.labels as f64);
    if let Some(p) = a.precision {
        metrics::gauge!("commentguard_label_agreement_precision").set(p);
    }
    if let Some(r) = a.recall {
        metrics::gauge!("commentguard_label_agreement_recall").set(r);
    }
    Ok(a)
}

/// The weekly view at the top of the review page.
pub fn agreement_html(a: &Agreement) -> String {
    if a.labels == 0 {
        return "<p class=\"agreement\" id=\"agreement\">No labels in the last 7 days. Mark comments Spam or Not spam below: commentguard learns from them (`commentguard model train --from-log`).</p>".into();
    }
    let pct = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{:.0}%", v * 100.0));
    format!(
        "<p class=\"agreement\" id=\"agreement\">Last 7 days: {} labels ({} Spam, {} Not spam). \
         Of the comments people called Spam, commentguard hid <strong>{}</strong>; of the labelled \
         comments it hid, <strong>{}</strong> were Spam. {} hidden comment{} marked Not spam, {} \
         Spam comment{} left visible.</p>",
        a.labels,
        a.spam,
        a.not_spam,
        pct(a.recall),
        pct(a.precision),
        a.hidden_not_spam,
        if a.hidden_not_spam == 1 { "" } else { "s" },
        a.missed_spam,
        if a.missed_spam == 1 { "" } else { "s" },
    )
}

/// Keeps the agreement gauges fresh in /metrics (every ten minutes).
pub async fn agreement_periodically(store: std::sync::Arc<dyn Store>, cancel: CancellationToken) {
    loop {
        let since = now_ms() - AGREEMENT_WINDOW.as_millis() as i64;
        if let Err(e) = agreement(store.as_ref(), since).await {
            tracing::warn!(error = %e, "label agreement not computed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}
