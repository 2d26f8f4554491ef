//! Saved replies on the review page: a list per account, added and removed by the brand team,
//! offered in every comment's reply box. `{author}` in a saved reply becomes the commenter's
//! name when it is sent.

use std::fmt::Write as _;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::kit::{error_page, esc, html_page, respond};
use super::AdminState;
use crate::store::SavedReply;

pub async fn page(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let signed = match super::sign_in::session(&state, &headers).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let replies = match state.store.saved_replies().await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "saved replies could not be read");
            return super::kit::unavailable();
        }
    };
    let csrf = super::auth::csrf_token(&signed.key, &signed.session);
    let mut accounts: Vec<String> = state.settings.accounts.keys().cloned().collect();
    for r in &replies {
        if !accounts.contains(&r.account_id) {
            accounts.push(r.account_id.clone());
        }
    }
    let mut body = String::from("<h2>Saved replies</h2><p class=\"meta\">Answers your team sends often, per account. Pick one in a comment's reply box; <code>{author}</code> becomes the commenter's name.</p>");
    if replies.is_empty() {
        body.push_str("<p id=\"no-replies\">No saved replies yet.</p>");
    } else {
        body.push_str("<div class=\"scroll\"><table class=\"rules\" id=\"replies\"><thead><tr><th>Account</th><th>Title</th><th>Reply</th><th>Saved by</th><th></th></tr></thead><tbody>");
        for r in &replies {
            let _ = write!(
                body,
                "<tr><td>{a}</td><td>{t}</td><td>{x}</td><td>{p}</td><td><form method=\"post\" action=\"/review/replies/delete\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{c}\"><input type=\"hidden\" name=\"account_id\" value=\"{a}\">\
                 <input type=\"hidden\" name=\"title\" value=\"{t}\"><button type=\"submit\" class=\"danger\">Remove</button></form></td></tr>",
                a = esc(&r.account_id),
                t = esc(&r.title),
                x = esc(&r.text),
                p = esc(&r.person),
                c = esc(&csrf),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let options: String = accounts
        .iter()
        .map(|a| format!("<option value=\"{}\">", esc(a)))
        .collect();
    let _ = write!(
        body,
        "<h2>Add one</h2><form method=\"post\" action=\"/review/replies\" class=\"stacked\" id=\"add-reply\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>Account id<input name=\"account_id\" id=\"reply-account\" list=\"accounts\" required maxlength=\"40\"></label><datalist id=\"accounts\">{options}</datalist>\
         <label>Title (shown in the list)<input name=\"title\" id=\"reply-title\" required maxlength=\"60\"></label>\
         <label>Reply<textarea name=\"text\" id=\"reply-text\" rows=\"3\" required maxlength=\"2200\"></textarea></label>\
         <p><button type=\"submit\" class=\"primary\" id=\"save-reply\">Save</button></p></form>",
        esc(&csrf)
    );
    respond(StatusCode::OK, html_page("Saved replies", &body))
}

#[derive(Deserialize)]
pub struct SaveForm {
    csrf: String,
    account_id: String,
    title: String,
    #[serde(default)]
    text: String,
}

pub async fn save(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<SaveForm>,
) -> Response {
    let signed = match super::sign_in::form_session(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let (account, title, text) = (form.account_id.trim(), form.title.trim(), form.text.trim());
    if account.is_empty() || title.is_empty() || text.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A saved reply needs an account, a title and a text.",
        );
    }
    if text.chars().count() > 2200 || title.chars().count() > 60 {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A title has at most 60 characters and a reply at most 2,200 (Instagram's limit).",
        );
    }
    let reply = SavedReply {
        account_id: account.to_string(),
        title: title.to_string(),
        text: text.to_string(),
        person: signed.person.clone(),
        saved_at: crate::store::now_ms(),
    };
    match state.store.put_saved_reply(&reply).await {
        Ok(()) => Redirect::to("/review/replies").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a saved reply could not be stored");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "It could not be saved; try again.",
            )
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
    account_id: String,
    title: String,
}

pub async fn delete(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Err(resp) = super::sign_in::form_session(&state, &headers, &form.csrf).await {
        return *resp;
    }
    match state
        .store
        .delete_saved_reply(&form.account_id, &form.title)
        .await
    {
        Ok(_) => Redirect::to("/review/replies").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a saved reply could not be removed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "It could not be removed; try again.",
            )
        }
    }
}

/// The text to send for a reply form: what was typed, else the account's saved reply of that
/// title, with `{author}` filled in.
pub fn resolve(
    typed: &str,
    saved: &str,
    account_id: &str,
    author: Option<&str>,
    replies: &[SavedReply],
) -> String {
    let text = if typed.trim().is_empty() && !saved.is_empty() {
        replies
            .iter()
            .find(|r| r.account_id == account_id && r.title == saved)
            .map(|r| r.text.clone())
            .unwrap_or_default()
    } else {
        typed.to_string()
    };
    text.replace("{author}", author.unwrap_or(""))
}
