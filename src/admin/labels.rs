//! Labels on the review page: "Spam" and "Not spam" on every decision (an Undo counts as "Not
//! spam"), who said what, and how well the moderation agreed with people over the last week.
//! What people say is kept in [`crate::store::LabelStore`] and exported by
//! `commentguard labels export` for `commentguard model train --from-log`.

use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::kit::{error_page, esc};
use super::sign_in::form_session;
use super::AdminState;
use crate::store::{Label, LabelRow};

pub use crate::moderation::labels::{agreement, record, Agreement, AGREEMENT_WINDOW};

/// The labels people gave a decision, each with who and when.
pub fn labels_html(labels: &[&LabelRow], tz: &jiff::tz::TimeZone) -> String {
    if labels.is_empty() {
        return String::new();
    }
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
    #[serde(default)]
    back: Option<String>,
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
        Ok(true) => super::kit::back_to(form.back.as_deref(), &[("labelled", &form.comment_id)]),
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

/// The weekly view at the top of the review page.
pub fn agreement_html(a: &Agreement) -> String {
    if a.labels == 0 {
        return "<p class=\"agreement\" id=\"agreement\">No labels in the last 7 days. Mark comments Spam or Not spam below: commentguard learns from them (<code>commentguard model train --from-log</code>).</p>".into();
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
