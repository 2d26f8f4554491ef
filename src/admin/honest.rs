//! What the review page says so that it is honest: a banner on every page while the service
//! runs dry, and a model's match told as its score and the words that pushed it.

use std::fmt::Write;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AdminState;

/// True when this service carries out nothing on Instagram: `COMMENTGUARD_DRY_RUN`, or no
/// access token at all (neither the default one nor any account's).
pub(super) fn dry_run(settings: &crate::config::Settings) -> bool {
    settings.dry_run
        || (settings.access_token.is_none()
            && settings.accounts.values().all(|a| a.access_token.is_none()))
}

const DRY_RUN_BANNER: &str = "<p class=\"banner\" id=\"dry-run\" role=\"status\"><strong>Dry run.</strong> commentguard decides and logs, and calls nothing on Instagram: no comment shown here as decided hide was hidden, no reply was sent. (COMMENTGUARD_DRY_RUN is set, or there is no access token.)</p>";

/// Puts the dry-run banner at the top of every review page while the service runs dry.
pub(super) async fn dry_run_banner(
    axum::extract::State(state): axum::extract::State<AdminState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html || !dry_run(&state.settings) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
    };
    let page =
        String::from_utf8_lossy(&bytes).replacen("<main>", &format!("<main>{DRY_RUN_BANNER}"), 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// A model's match as a person reads it: its score, and the words that pushed the score most
/// (asked of the model the account's rules use now, on the comment's text while it is kept).
pub(super) fn model_evidence(
    name: &str,
    score: f64,
    text: Option<&str>,
    rules: &crate::rules::RuleSet,
) -> String {
    let mut out = format!("model {name} scored {score:.2}");
    let model = rules.models().iter().find(|(n, _)| n == name);
    if let (Some((_, model)), Some(text)) = (model, text) {
        let norm = crate::rules::normalize::normalize(text);
        let pushed: Vec<String> = model
            .explain(&norm, text, 4)
            .into_iter()
            .filter(|c| c.weight > 0.0)
            .map(|c| format!("{} +{:.2}", c.what, c.weight))
            .collect();
        if !pushed.is_empty() {
            let _ = write!(out, ", pushed by {}", pushed.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_match_tells_its_score_and_what_pushed_it() {
        let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let set = crate::rules::RuleSet::load(&pack).expect("the shipped pack loads");
        let text = "I made $9,000 in two weeks with @trade_with_anna, message her on whatsapp";
        let shown = model_evidence("scam", 0.934, Some(text), &set);
        assert!(
            shown.starts_with("model scam scored 0.93, pushed by "),
            "{shown}"
        );
        // Without the text (purged) only the score.
        assert_eq!(
            model_evidence("scam", 0.934, None, &set),
            "model scam scored 0.93"
        );
    }
}
