//! Tokens that never lapse unseen: at start and daily every account's token is inspected
//! (`GET /debug_token` with the app token: valid, expiry, data-access expiry, scopes). A token
//! that will lapse within [`WARN_WITHIN`], is no longer valid, or lacks a scope the service
//! needs shows on the status endpoint, the review page and the metrics
//! (`commentguard_token_expires_in_seconds{account}`, infinite for a token that does not
//! expire), before calls start failing with code 190 while scams stay up.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::{Login, Settings};
use crate::graph::setup::TokenInfo;
use crate::graph::{AccountCtx, GraphClient, GraphError};
use crate::store::now_ms;

/// How often the tokens are inspected.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// A token lapsing sooner than this is shown as a problem.
pub const WARN_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The scopes (Facebook Login) serve needs, with what each is for.
pub const NEEDED_SCOPES: [(&str, &str); 4] = [
    ("instagram_basic", "reading comments, mentions and media"),
    ("instagram_manage_comments", "hiding, deleting and replying"),
    ("pages_read_engagement", "reading comments through the Page"),
    ("instagram_manage_insights", "story insights"),
];

/// One account's token as last inspected.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenStatus {
    pub account_id: String,
    /// Unix milliseconds.
    pub checked_at: i64,
    pub valid: Option<bool>,
    /// `PAGE`, `USER`, `SYSTEM_USER`.
    pub kind: Option<String>,
    /// Unix seconds when it lapses (the earlier of its expiry and its data-access expiry);
    /// `None`: it does not.
    pub lapses_at: Option<i64>,
    /// Needed scopes the token lacks, each with what it is for.
    pub missing_scopes: Vec<String>,
    /// Why it could not be inspected, or why Meta calls it invalid, in Meta's words.
    pub error: Option<String>,
}

impl TokenStatus {
    /// A problem a person must fix, in words: lapsed, lapsing soon, or missing scopes.
    pub fn problem(&self, now_s: i64) -> Option<String> {
        if self.valid == Some(false) {
            return Some(format!(
                "its access token is no longer valid ({}): get a new one with `commentguard connect`",
                self.error.as_deref().unwrap_or("Meta gave no reason")
            ));
        }
        let mut out = Vec::new();
        if let Some(at) = self.lapses_at {
            let left = at - now_s;
            if left < WARN_WITHIN.as_secs() as i64 {
                let fix = if self.kind.as_deref() == Some("INSTAGRAM") {
                    "serve refreshes it; if that keeps failing, `commentguard connect --instagram-login` with a new token"
                } else {
                    "get a Page token that does not expire with `commentguard connect`"
                };
                out.push(format!("its access token lapses in {} ({fix})", days(left)));
            }
        }
        if !self.missing_scopes.is_empty() {
            out.push(format!(
                "its access token lacks {}",
                self.missing_scopes.join("; ")
            ));
        }
        (!out.is_empty()).then(|| out.join(", and "))
    }
}

fn days(seconds: i64) -> String {
    match seconds {
        s if s <= 0 => "no time: it has lapsed".into(),
        s if s < 7200 => "1 hour".into(),
        s if s < 2 * 86400 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// What a token lacks of [`NEEDED_SCOPES`], named with its purpose.
pub fn missing_scopes(granted: &[String]) -> Vec<String> {
    NEEDED_SCOPES
        .iter()
        .filter(|(s, _)| !granted.iter().any(|g| g == s))
        .map(|(s, why)| format!("{s} ({why})"))
        .collect()
}

/// The last answers.
#[derive(Debug, Default)]
pub struct TokenWatch {
    by_account: super::ByAccount<TokenStatus>,
}

impl TokenWatch {
    pub fn snapshot(&self) -> Vec<TokenStatus> {
        self.by_account.snapshot()
    }

    /// Inspects every account's token once.
    pub async fn check_all(&self, graph: &GraphClient, settings: &Settings) {
        for (account_id, token) in crate::sweep::accounts_with_tokens(settings) {
            let ctx = AccountCtx {
                account_id: account_id.clone(),
                token,
            };
            let status = inspect(graph, settings, &ctx).await;
            record_metrics(&status);
            if let Some(problem) = status.problem(now_ms() / 1000) {
                tracing::warn!(account_id = %account_id, "{problem}");
            } else if let Some(e) = &status.error {
                tracing::warn!(account_id = %account_id, error = %e, "access token not inspected");
            }
            self.by_account.put(account_id, status);
        }
    }

    /// Inspects at start and then every `every` until `cancel`.
    pub async fn run(
        self: Arc<Self>,
        graph: Arc<GraphClient>,
        settings: Arc<Settings>,
        every: Duration,
        cancel: CancellationToken,
    ) {
        crate::jobs::every(every, cancel, || self.check_all(&graph, &settings)).await
    }
}

/// One account's token, through `debug_token`.
pub async fn inspect(graph: &GraphClient, settings: &Settings, ctx: &AccountCtx) -> TokenStatus {
    let mut out = TokenStatus {
        account_id: ctx.account_id.clone(),
        checked_at: now_ms(),
        valid: None,
        kind: None,
        lapses_at: None,
        missing_scopes: Vec::new(),
        error: None,
    };
    if settings.login_of(&ctx.account_id) == Login::Instagram {
        // No debug_token for Instagram Login tokens: the account answering says the token is
        // valid; its expiry is the one recorded when it was last traded or refreshed.
        match graph.instagram_me(ctx).await {
            Ok(_) => {
                out.valid = Some(true);
                out.kind = Some("INSTAGRAM".into());
                out.lapses_at = settings
                    .renewed_tokens
                    .expires_at(&ctx.account_id)
                    .map(|ms| ms / 1000);
                if out.lapses_at.is_none() {
                    // Not "never": an Instagram Login token lives 60 days from when it was
                    // made, which nobody recorded (pasted by hand). serve refreshes it as soon
                    // as Meta allows, and its expiry is known from then on.
                    out.error = Some("its expiry is not known yet (not traded by `connect`): serve refreshes it once Meta allows, then knows".into());
                }
            }
            Err(GraphError::TokenInvalid { message }) => {
                out.valid = Some(false);
                out.error = Some(message);
            }
            Err(e) => out.error = Some(e.to_string()),
        }
        return out;
    }
    let app_id = match super::health::app_id(graph, settings, ctx).await {
        Ok(id) => id,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let Some(secret) = settings.app_secrets.first() else {
        out.error = Some("COMMENTGUARD_APP_SECRET is not set: tokens cannot be inspected".into());
        return out;
    };
    match graph.debug_token(&app_id, secret, &ctx.token).await {
        Ok(info) => fill(&mut out, &info),
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

fn fill(out: &mut TokenStatus, info: &TokenInfo) {
    out.valid = Some(info.is_valid);
    out.kind = info.kind.clone();
    if info.is_valid {
        out.lapses_at = info.lapses_at();
        out.missing_scopes = missing_scopes(&info.scopes);
    } else {
        out.error = info.error.as_ref().map(|e| e.message.clone());
    }
}

fn record_metrics(s: &TokenStatus) {
    let Some(valid) = s.valid else {
        return;
    };
    let left = match (valid, s.lapses_at) {
        (false, _) => 0.0,
        // An Instagram Login token whose expiry is not known yet: no figure rather than a
        // reassuring one.
        (true, None) if s.kind.as_deref() == Some("INSTAGRAM") => return,
        (true, None) => f64::INFINITY,
        (true, Some(at)) => (at - now_ms() / 1000).max(0) as f64,
    };
    metrics::gauge!("commentguard_token_expires_in_seconds", "account" => s.account_id.clone())
        .set(left);
    metrics::gauge!("commentguard_token_missing_scopes", "account" => s.account_id.clone())
        .set(s.missing_scopes.len() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(valid: bool, lapses_at: Option<i64>, missing: &[&str]) -> TokenStatus {
        TokenStatus {
            account_id: "1".into(),
            checked_at: 0,
            valid: Some(valid),
            kind: Some("PAGE".into()),
            lapses_at,
            missing_scopes: missing.iter().map(|s| s.to_string()).collect(),
            error: None,
        }
    }

    #[test]
    fn a_token_lapsing_within_a_week_or_lacking_a_scope_is_a_problem_and_a_lasting_one_is_not() {
        let now = 1_000_000_000;
        assert_eq!(status(true, None, &[]).problem(now), None);
        assert_eq!(status(true, Some(now + 30 * 86400), &[]).problem(now), None);
        let soon = status(true, Some(now + 5 * 86400), &[])
            .problem(now)
            .unwrap();
        assert!(soon.contains("lapses in 5 days"), "{soon}");
        let scope = status(
            true,
            None,
            &["instagram_manage_comments (hiding, deleting and replying)"],
        )
        .problem(now)
        .unwrap();
        assert!(scope.contains("instagram_manage_comments"), "{scope}");
        assert!(status(false, None, &[])
            .problem(now)
            .unwrap()
            .contains("no longer valid"));
    }

    #[test]
    fn missing_scopes_are_named_with_what_they_are_for() {
        let granted = vec![
            "instagram_basic".to_string(),
            "pages_read_engagement".to_string(),
        ];
        assert_eq!(
            missing_scopes(&granted),
            [
                "instagram_manage_comments (hiding, deleting and replying)",
                "instagram_manage_insights (story insights)"
            ]
        );
    }
}
