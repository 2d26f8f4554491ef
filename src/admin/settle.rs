//! `POST /review/settle`: one or several comments settled at once as Spam or Not spam (see
//! [`crate::moderation::settle`]). The form repeats `comment_id` once per selected comment, so
//! the body is read as pairs rather than into a struct.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::kit::error_page;
use super::AdminState;
use crate::moderation::settle::{settle as settle_one, SettleError, Settled, Verdict};

/// At most this many comments in one click (a page shows 500 at most).
const MAX_AT_ONCE: usize = 500;

pub async fn settle(State(state): State<AdminState>, headers: HeaderMap, body: Bytes) -> Response {
    let (mut csrf, mut verdict, mut back) = (String::new(), None, None);
    let (mut ids, mut seen) = (Vec::new(), std::collections::HashSet::new());
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "verdict" => verdict = Verdict::parse(&v),
            "back" => back = Some(v.into_owned()),
            // One past the limit is enough to refuse.
            "comment_id"
                if !v.is_empty() && ids.len() <= MAX_AT_ONCE && seen.insert(v.to_string()) =>
            {
                ids.push(v.into_owned())
            }
            _ => {}
        }
    }
    let signed = match super::sign_in::form_session(&state, &headers, &csrf).await {
        Ok(s) => s,
        Err(resp) => return *resp,
    };
    let Some(verdict) = verdict else {
        return error_page(StatusCode::BAD_REQUEST, "Choose Spam or Not spam.");
    };
    if ids.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Select at least one comment (the box at the top left of each card, or x on the keyboard).",
        );
    }
    if ids.len() > MAX_AT_ONCE {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("At most {MAX_AT_ONCE} comments at once."),
        );
    }
    let mut acted = false;
    // Whatever happens to a later one, the calls already planned go out now.
    let wake = |acted: bool| {
        if acted {
            state.actions_wake.notify_one();
        }
    };
    for id in &ids {
        match settle_one(
            state.store.as_ref(),
            &state.settings,
            id,
            verdict,
            &signed.person,
        )
        .await
        {
            Ok(Settled::Hidden | Settled::Shown) => acted = true,
            Ok(Settled::Labelled) => {}
            Err(SettleError::UnknownComment(c)) => {
                wake(acted);
                return error_page(
                    StatusCode::NOT_FOUND,
                    &format!(
                    "No decision for comment {c} in the log; the comments before it are settled."
                ),
                );
            }
            Err(SettleError::Store(e)) => {
                wake(acted);
                tracing::error!(error = %e, "settling comments failed");
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "It could not be recorded; try again (the comments settled before the error stay settled).",
                );
            }
        }
    }
    wake(acted);
    metrics::counter!("commentguard_review_settled_total", "verdict" => match verdict {
        Verdict::Spam => "spam",
        Verdict::NotSpam => "not_spam",
    })
    .increment(ids.len() as u64);
    let n = ids.len().to_string();
    super::kit::back_to(
        back.as_deref(),
        &[
            ("settled", &n),
            (
                "verdict",
                match verdict {
                    Verdict::Spam => "spam",
                    Verdict::NotSpam => "not_spam",
                },
            ),
        ],
    )
}
