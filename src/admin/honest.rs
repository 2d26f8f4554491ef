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

/// Puts the banners at the top of every review page: dry run, while the service carries out
/// nothing; and a rule edit that failed to load, with its first errors, until the next good
/// load (not on the sign-in page: the errors quote the rule files).
pub(super) async fn banners(
    axum::extract::State(state): axum::extract::State<AdminState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let signing_in = req.uri().path() == "/review/login";
    let here = req.uri().to_string();
    // Who is signed in, for the navigation bar (the page itself checks again, and answers a
    // visitor without a session with the sign-in page).
    let signed = if signing_in {
        None
    } else {
        super::sign_in::session(&state, req.headers()).await.ok()
    };
    let resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return resp;
    }
    let mut top = String::new();
    if dry_run(&state.settings) {
        top.push_str(DRY_RUN_BANNER);
    }
    if signed.is_some() {
        top.push_str(&failed_reload_banner(&state));
    }
    let nav = signed
        .as_ref()
        .map(|s| nav_html(&state, s, &here))
        .unwrap_or_default();
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
    };
    let page = String::from_utf8_lossy(&bytes)
        .replacen(super::kit::NAV_SLOT, &nav, 1)
        .replacen("<main>", &format!("<main>{top}"), 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// The navigation bar of every signed-in page: the queue first, then the log, the tools, and
/// who is signed in. The link to the page shown is marked current.
fn nav_html(state: &AdminState, signed: &super::sign_in::SignedIn, here: &str) -> String {
    use super::kit::esc;
    let mut links: Vec<(&str, &str, &str, &str)> = vec![
        (
            "/review?queue=review",
            "needs-review",
            "Needs review",
            "The comments to settle, the ones the rules were unsure of first",
        ),
        (
            "/review",
            "all-decisions",
            "All decisions",
            "Every decision, newest first",
        ),
        (
            "/review?queue=unsure",
            "unsure",
            "Unsure",
            "Only the comments the rules were unsure of: your labels teach the model most here",
        ),
        (
            "/review/try",
            "try",
            "Try a comment",
            "What the rules would do with a comment you write",
        ),
        (
            "/review/rules",
            "rules-view",
            "Rules",
            "Each rule, its mode and its matches this week",
        ),
        (
            "/review/replies",
            "saved-replies",
            "Saved replies",
            "Answers your team sends often, per account",
        ),
    ];
    if signed.role == crate::store::Role::Admin {
        links.push((
            "/review/dead-letters",
            "dead-letters",
            "Dead letters",
            "Notifications that could not be processed",
        ));
    }
    if state.settings.rules_next.is_some() {
        links.push((
            "/review/replay",
            "compare",
            "Compare the next rules",
            "What the edited rules would change",
        ));
    }
    let current = |href: &str| {
        let (path, query) = here.split_once('?').unwrap_or((here, ""));
        let queue = query.split('&').find_map(|kv| kv.strip_prefix("queue="));
        match href.split_once('?') {
            Some((p, q)) => p == path && Some(q.trim_start_matches("queue=")) == queue,
            None => href == path && (path != "/review" || queue.is_none()),
        }
    };
    let mut out = String::from("<nav aria-label=\"Review pages\">");
    for (href, id, text, title) in links {
        let _ = write!(
            out,
            "<a href=\"{href}\" id=\"{id}\" title=\"{title}\"{}>{text}</a>",
            if current(href) {
                " aria-current=\"page\""
            } else {
                ""
            }
        );
    }
    let _ = write!(
        out,
        "</nav><div class=\"who\"><span id=\"signed-in\">{} ({})</span>\
         <form method=\"post\" action=\"/review/logout\"><button type=\"submit\">Sign out</button></form></div>",
        esc(&signed.person),
        signed.role.as_str()
    );
    out
}

/// The rule folders whose last edit failed to load, each with its first errors: the rules
/// before the edit keep running until a good one loads.
fn failed_reload_banner(state: &AdminState) -> String {
    let mut out = String::new();
    for (account, handle) in state.rules.handles() {
        let Some(r) = handle.last_reload().filter(|r| !r.ok()) else {
            continue;
        };
        let folder = match account {
            None => "The rules".to_string(),
            Some(a) => format!("The rules of account {}", super::kit::esc(a)),
        };
        let errors: Vec<String> = r
            .errors
            .iter()
            .take(3)
            .map(|e| format!("<li><code>{}</code></li>", super::kit::esc(e)))
            .collect();
        let _ = write!(
            out,
            "<div class=\"banner\" id=\"reload-failed\" role=\"alert\"><strong>{folder}: the last edit did not load</strong> ({} error{}); the rules before it keep running until a good edit loads.<ul>{}</ul></div>",
            r.errors.len(),
            if r.errors.len() == 1 { "" } else { "s" },
            errors.join("")
        );
    }
    out
}

/// A model's match as a person reads it: its score, and the words that pushed the score most
/// (asked of the model the account's rules use now, on the comment's text while it is kept).
pub(super) fn model_evidence(
    name: &str,
    score: f64,
    threshold: &str,
    text: Option<&str>,
    rules: &crate::rules::RuleSet,
) -> String {
    let mut out = format!("model {name} scored {score:.2}");
    if !threshold.is_empty() {
        let _ = write!(out, " (the rule asks {threshold})");
    }
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
        let shown = model_evidence("scam", 0.934, "above 0.944", Some(text), &set);
        assert!(
            shown.starts_with("model scam scored 0.93 (the rule asks above 0.944), pushed by "),
            "{shown}"
        );
        // The engine records the threshold the rule asks beside the score, read from the
        // model file's header for an `fpr` rule.
        let d = set.evaluate(
            &crate::rules::Input {
                text: "I made $9,000 in two weeks with @trade_with_anna, she is legit, message her on whatsapp +1 555 0100 to start investing".into(),
                ..Default::default()
            },
            &crate::rules::MemoryState::default(),
        );
        let asks: Vec<&str> = d
            .matched
            .iter()
            .flat_map(|m| m.evidence.iter())
            .filter(|e| e.score.is_some())
            .filter_map(|e| e.threshold.as_deref())
            .collect();
        assert!(
            !asks.is_empty() && asks.iter().all(|t| t.starts_with("above 0.")),
            "{:?}",
            d.matched
        );
        // Without the text (purged) only the score.
        assert_eq!(
            model_evidence("scam", 0.934, "", None, &set),
            "model scam scored 0.93"
        );
    }
}
