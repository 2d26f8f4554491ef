//! Acting on a comment by hand from the review page: hiding one the rules let through (it
//! counts as a "Spam" label by that person), deleting one, or replying to a customer. Like an
//! undo, each is planned in the durable action log and the executor carries it out with its
//! retries and rate-limit handling; a reply whose outcome is unknown is looked up among the
//! comment's replies before it is posted again, as for the rules' replies.

use crate::actions::{Call, Requested};
use crate::config::Settings;
use crate::store::{now_ms, ActionKind, ActionState, DecisionRow, Store};

#[derive(Debug, thiserror::Error)]
pub enum HideError {
    #[error("no decision is recorded for comment {0}")]
    UnknownComment(String),
    #[error("comment {0} is hidden already")]
    AlreadyHidden(String),
    #[error("comment {0} cannot be hidden: {1}")]
    NotHideable(String, &'static str),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Is the comment hidden now (or about to be), by the rules or by hand, and not shown again?
pub fn is_hidden(d: &DecisionRow) -> bool {
    let last = |k: ActionKind| {
        d.action_log
            .iter()
            .filter(|a| a.kind == k && matches!(a.state, ActionState::Done | ActionState::Pending))
            .map(|a| a.seq)
            .max()
    };
    match (last(ActionKind::Hide), last(ActionKind::Unhide)) {
        (Some(h), Some(u)) => h > u,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether the review page offers "Hide" for this decision.
pub fn can_hide(d: &DecisionRow) -> bool {
    d.kind == "comment" && !is_hidden(d)
}

/// The `comment` decision of `comment_id` (a mention's cannot be acted on from here: `why`).
async fn comment_decision(
    store: &dyn Store,
    comment_id: &str,
    why: &'static str,
) -> Result<DecisionRow, HideError> {
    let decisions = super::undo::decisions_of(store, comment_id).await?;
    if decisions.is_empty() {
        return Err(HideError::UnknownComment(comment_id.to_string()));
    }
    decisions
        .into_iter()
        .find(|d| d.kind == "comment")
        .ok_or_else(|| HideError::NotHideable(comment_id.to_string(), why))
}

/// Plans a hide of `comment_id` asked by `person`; returns the action id and the note when
/// it will not be called (dry run).
pub async fn plan_hide(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    person: &str,
) -> Result<(i64, Option<String>), HideError> {
    plan(store, settings, comment_id, person, ByHand::Hide).await
}

/// What a person can do by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByHand {
    Hide,
    Delete,
    Reply(String),
}

/// Plans a hide, a delete or a reply by hand on the comment's decision.
pub async fn plan(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    person: &str,
    what: ByHand,
) -> Result<(i64, Option<String>), HideError> {
    let d = &comment_decision(
        store,
        comment_id,
        "only comments on the account's own media can be hidden, deleted or answered here",
    )
    .await?;
    let (call, name) = match &what {
        ByHand::Hide => {
            if is_hidden(d) {
                return Err(HideError::AlreadyHidden(comment_id.to_string()));
            }
            (Call::Hide, "hide")
        }
        ByHand::Delete => (Call::Delete, "delete"),
        ByHand::Reply(text) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2200 {
                return Err(HideError::NotHideable(
                    comment_id.to_string(),
                    "a reply needs a text of at most 2,200 characters",
                ));
            }
            (
                Call::Reply {
                    message: text.to_string(),
                },
                "reply",
            )
        }
    };
    let kind = call.kind();
    if kind == ActionKind::Delete
        && d.action_log
            .iter()
            .any(|a| a.kind == ActionKind::Delete && a.state != ActionState::Failed)
    {
        return Err(HideError::NotHideable(
            comment_id.to_string(),
            "it is deleted already (or about to be)",
        ));
    }
    let note = super::undo::dry_run_note(settings, &d.account_id);
    let n = d.action_log.iter().filter(|a| a.kind == kind).count();
    let requested = Requested {
        by: "review_page".into(),
        person: Some(person.to_string()),
    };
    let action = call.planned(Some(&requested), note.as_deref());
    let key = format!("{}:{name}-by-hand:{n}", d.comment_id);
    let id = store
        .add_action(d.id, &key, &action, now_ms())
        .await?
        .unwrap_or(0);
    if what == ByHand::Hide {
        metrics::counter!("commentguard_hides_by_hand_total").increment(1);
    }
    metrics::counter!("commentguard_actions_by_hand_total", "action" => name).increment(1);
    tracing::info!(comment.id = %comment_id, action.id = id, person, action = name, "action by hand planned");
    Ok((id, note))
}

/// The review page's reply and delete forms for a decision.
pub fn forms_html(d: &DecisionRow, csrf: &str) -> String {
    use super::review::esc;
    if d.kind != "comment" {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"/review/act\" class=\"reply-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"comment_id\" value=\"{id}\">\
         <input type=\"hidden\" name=\"what\" value=\"reply\">\
         <label>Reply<input type=\"text\" name=\"text\" maxlength=\"2200\" required class=\"reply-text\"></label>\
         <button type=\"submit\" class=\"reply\">Send reply</button></form>\
         <form method=\"post\" action=\"/review/act\" class=\"delete-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"comment_id\" value=\"{id}\">\
         <input type=\"hidden\" name=\"what\" value=\"delete\">\
         <label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required class=\"delete-confirm\"> delete for good</label>\
         <button type=\"submit\" class=\"delete\">Delete</button></form>",
        csrf = esc(csrf),
        id = esc(&d.comment_id)
    )
}

#[derive(serde::Deserialize)]
pub struct ActForm {
    csrf: String,
    comment_id: String,
    what: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /review/act`: a reply or a delete by hand.
pub async fn act(
    axum::extract::State(state): axum::extract::State<super::AdminState>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<ActForm>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Redirect};
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let what = match form.what.as_str() {
        "reply" => ByHand::Reply(form.text.clone()),
        "delete" if form.confirm == "yes" => ByHand::Delete,
        "delete" => {
            return super::review::error_page(
                StatusCode::BAD_REQUEST,
                "Tick \"delete for good\" to delete a comment: it cannot be undone.",
            )
        }
        _ => return super::review::error_page(StatusCode::BAD_REQUEST, "Unknown action."),
    };
    let person = signed.person.clone();
    match plan(
        state.store.as_ref(),
        &state.settings,
        &form.comment_id,
        &person,
        what.clone(),
    )
    .await
    {
        Ok(_) => {
            state.actions_wake.notify_one();
            let key = if what == ByHand::Delete {
                "deleted"
            } else {
                "replied"
            };
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(key, &form.comment_id)
                .finish();
            Redirect::to(&format!("/review?{q}")).into_response()
        }
        Err(e @ HideError::Store(_)) => {
            tracing::error!(error = %e, "action by hand failed");
            super::review::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "It could not be recorded; try again.",
            )
        }
        Err(e) => super::review::error_page(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// Hides a comment by hand: planned for the executor, and a "Spam" label by this person.
pub(super) async fn hide(
    axum::extract::State(state): axum::extract::State<super::AdminState>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<super::review::UndoForm>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Redirect};
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let page = super::review::error_page;
    let person = signed.person.clone();
    match plan_hide(
        state.store.as_ref(),
        &state.settings,
        &form.comment_id,
        &person,
    )
    .await
    {
        Ok(_) => {
            state.actions_wake.notify_one();
            if let Err(e) = super::labels::record(
                state.store.as_ref(),
                &form.comment_id,
                "comment",
                crate::store::Label::Spam,
                &person,
                "hide",
            )
            .await
            {
                tracing::warn!(error = %e, "the hide's label was not stored");
            }
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("hidden", &form.comment_id)
                .finish();
            Redirect::to(&format!("/review?{q}")).into_response()
        }
        Err(e @ HideError::Store(_)) => {
            tracing::error!(error = %e, "hide by hand failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The hide could not be recorded; try again.",
            )
        }
        Err(e) => page(StatusCode::CONFLICT, &e.to_string()),
    }
}
