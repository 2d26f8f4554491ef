//! The review page's side of acting by hand: the reply and delete forms and their handlers.
//! What an action by hand does is [`crate::moderation::by_hand`].

use crate::moderation::by_hand::{plan, plan_hide, ByHand, HideError};
use crate::store::DecisionRow;

/// The review page's reply and delete forms for a decision.
pub fn forms_html(d: &DecisionRow, csrf: &str) -> String {
    use super::review::esc;
    if d.kind != crate::store::DecisionKind::Comment {
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
