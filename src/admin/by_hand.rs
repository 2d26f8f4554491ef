//! The review page's side of acting by hand: the reply and delete forms and their handlers.
//! What an action by hand does is [`crate::moderation::by_hand`].

use crate::moderation::by_hand::{plan, plan_hide, ByHand, HideError};

#[derive(serde::Deserialize)]
pub struct ActForm {
    csrf: String,
    comment_id: String,
    what: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    confirm: String,
    /// A saved reply's title, used when no text was typed.
    #[serde(default)]
    saved: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /review/act`: a reply or a delete by hand.
pub async fn act(
    axum::extract::State(state): axum::extract::State<super::AdminState>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<ActForm>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let what = match form.what.as_str() {
        "reply" => ByHand::Reply(reply_text(&state, &form).await),
        "delete" if form.confirm == "yes" => ByHand::Delete,
        "delete" => {
            return super::kit::error_page(
                StatusCode::BAD_REQUEST,
                "Tick \"delete for good\" to delete a comment: it cannot be undone.",
            )
        }
        _ => return super::kit::error_page(StatusCode::BAD_REQUEST, "Unknown action."),
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
            super::kit::back_to(form.back.as_deref(), &[(key, &form.comment_id)])
        }
        Err(e @ HideError::Store(_)) => {
            tracing::error!(error = %e, "action by hand failed");
            super::kit::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "It could not be recorded; try again.",
            )
        }
        Err(e) => super::kit::error_page(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// Hides a comment by hand: planned for the executor, and a "Spam" label by this person.
pub(super) async fn hide(
    axum::extract::State(state): axum::extract::State<super::AdminState>,
    headers: axum::http::HeaderMap,
    axum::extract::Form(form): axum::extract::Form<super::kit::CommentForm>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let page = super::kit::error_page;
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
            super::kit::back_to(form.back.as_deref(), &[("hidden", &form.comment_id)])
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

/// The reply's text: typed, or the account's saved reply picked, `{author}` filled in.
async fn reply_text(state: &super::AdminState, form: &ActForm) -> String {
    if form.saved.is_empty() && !form.text.contains("{author}") {
        return form.text.clone();
    }
    let decision = state
        .store
        .list_decisions(&crate::store::DecisionFilter {
            comment_id: Some(form.comment_id.clone()),
            limit: 1,
            ..Default::default()
        })
        .await
        .ok()
        .and_then(|mut rows| rows.pop());
    let replies = state.store.saved_replies().await.unwrap_or_default();
    let (account, author) = decision
        .map(|d| (d.account_id, d.author))
        .unwrap_or_default();
    super::replies::resolve(
        &form.text,
        &form.saved,
        &account,
        author.as_deref(),
        &replies,
    )
}
