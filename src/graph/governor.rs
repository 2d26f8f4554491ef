//! Per-account call governor: pauses, slow-down and dead tokens.
//!
//! Meta counts calls per app and account pair; the governor keeps, for every account, until
//! when calls are paused (a rate-limit error, or usage headers at 95% or more), how far apart
//! calls must be (usage above 80%), and which tokens Meta rejected with code 190. Tokens are
//! known only by a SHA-256 hash: the governor never holds a token.
//!
//! Time is `tokio::time::Instant`, so tests with a paused clock control it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::error::{GraphError, DEFAULT_RATE_LIMIT_PAUSE};
use super::usage::Usage;

/// At or above this usage (percent), calls stop until the announced time.
pub const PAUSE_AT_PERCENT: f64 = 95.0;
/// Above this usage (percent), calls are spaced out.
pub const SLOW_DOWN_ABOVE_PERCENT: f64 = 80.0;
/// Spacing added per percent of usage above [`SLOW_DOWN_ABOVE_PERCENT`].
const SPACING_PER_PERCENT: Duration = Duration::from_millis(50);

pub(crate) type TokenHash = [u8; 32];

pub(crate) fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// What ops see about one account (`GraphClient::account_status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountStatus {
    /// The token last used for this account was rejected with code 190: no call is made with
    /// it any more; a new token resumes calls.
    pub token_invalid: bool,
    /// Calls are paused for this long still (rate limited).
    pub paused_for: Option<Duration>,
    /// The Meta error code that caused the pause (0: the usage headers reached the limit).
    pub paused_code: Option<i64>,
    /// The highest usage percentage Meta reported on the last response for this account.
    pub usage_percent: Option<f64>,
    /// The spacing currently added between calls (usage above 80%).
    pub spacing: Option<Duration>,
}

#[derive(Debug, Default)]
struct AccountState {
    paused_until: Option<Instant>,
    paused_code: i64,
    usage_percent: Option<f64>,
    spacing: Duration,
    next_call_at: Option<Instant>,
    dead_tokens: HashSet<TokenHash>,
    current_token: Option<TokenHash>,
    /// Tokens Meta has accepted at least once. Until then calls with a token go one at a
    /// time, so a dead token meets one code 190, not one per call in flight.
    trusted_tokens: HashSet<TokenHash>,
    /// A call with this (not yet trusted) token is in flight.
    probing: Option<TokenHash>,
}

impl AccountState {
    fn current_token_dead(&self) -> bool {
        self.current_token
            .is_some_and(|t| self.dead_tokens.contains(&t))
    }
}

/// What the governor decided about a call about to be made.
pub(crate) enum Admission {
    /// Go, after waiting this long (zero when usage is low).
    Go(Duration),
    /// Do not call: answer this error at once.
    Refuse(GraphError),
    /// A call with this token, not yet accepted by Meta, is in flight: ask again after this.
    Wait(Duration),
}

/// How long a call waits before asking again while another call tries an untrusted token.
const PROBE_WAIT: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
pub(crate) struct Governor {
    accounts: Mutex<HashMap<String, AccountState>>,
}

impl Governor {
    fn with<R>(&self, account: &str, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(account.to_string()).or_default())
    }

    fn publish_invalid_gauge(&self) {
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.values().filter(|s| s.current_token_dead()).count();
        metrics::gauge!("commentguard_graph_accounts_token_invalid").set(n as f64);
    }

    /// Called before every call.
    pub(crate) fn admit(&self, account: &str, token: TokenHash) -> Admission {
        let now = Instant::now();
        let (admission, token_changed) = self.with(account, |s| {
            let token_changed = s.current_token != Some(token);
            s.current_token = Some(token);
            if s.dead_tokens.contains(&token) {
                let e = GraphError::TokenInvalid {
                    message: format!(
                        "the access token of account {account} was rejected earlier (code 190); \
                         calls stop until the token changes"
                    ),
                };
                return (Admission::Refuse(e), token_changed);
            }
            if let Some(until) = s.paused_until {
                if until > now {
                    let e = GraphError::RateLimited {
                        code: s.paused_code,
                        retry_after: until - now,
                    };
                    return (Admission::Refuse(e), token_changed);
                }
                s.paused_until = None;
            }
            if !s.trusted_tokens.contains(&token) {
                if s.probing == Some(token) {
                    return (Admission::Wait(PROBE_WAIT), token_changed);
                }
                s.probing = Some(token);
            }
            if s.spacing.is_zero() {
                return (Admission::Go(Duration::ZERO), token_changed);
            }
            let at = s.next_call_at.map_or(now, |t| t.max(now));
            s.next_call_at = Some(at + s.spacing);
            (Admission::Go(at - now), token_changed)
        });
        if token_changed {
            self.publish_invalid_gauge();
        }
        admission
    }

    /// Called with the usage headers of every response.
    pub(crate) fn observe_usage(&self, account: &str, usage: &Usage) {
        let pct = usage.max_percent;
        self.with(account, |s| {
            s.usage_percent = Some(pct);
            s.spacing = if pct > SLOW_DOWN_ABOVE_PERCENT {
                SPACING_PER_PERCENT.mul_f64((pct - SLOW_DOWN_ABOVE_PERCENT).min(20.0))
            } else {
                Duration::ZERO
            };
        });
        if pct >= PAUSE_AT_PERCENT {
            let wait = usage.regain_after.unwrap_or(DEFAULT_RATE_LIMIT_PAUSE);
            self.pause(account, 0, wait);
        }
    }

    /// Stops calls for the account for `wait` (never shortens an existing pause).
    pub(crate) fn pause(&self, account: &str, code: i64, wait: Duration) {
        let until = Instant::now() + wait;
        let extended = self.with(account, |s| {
            if s.paused_until.is_none_or(|u| u < until) {
                s.paused_until = Some(until);
                s.paused_code = code;
                true
            } else {
                false
            }
        });
        if extended {
            tracing::warn!(
                graph.account_id = account,
                graph.error_code = code,
                pause_ms = wait.as_millis() as u64,
                "Graph calls paused for account (rate limit)"
            );
        }
    }

    /// After every admitted call (also one abandoned half-way): a probe with an untrusted
    /// token ends, and a token Meta accepted (`accepted`) is trusted from now on.
    pub(crate) fn settle(&self, account: &str, token: TokenHash, accepted: bool) {
        self.with(account, |s| {
            if s.probing == Some(token) {
                s.probing = None;
            }
            if accepted {
                s.trusted_tokens.insert(token);
            }
        });
    }

    /// Code 190: the token is dead. Logs and counts once per token.
    pub(crate) fn mark_token_dead(&self, account: &str, token: TokenHash) {
        let newly = self.with(account, |s| s.dead_tokens.insert(token));
        if newly {
            tracing::error!(
                graph.account_id = account,
                "Graph API rejected the access token (code 190): calls for this account stop \
                 until its token is replaced"
            );
            metrics::counter!("commentguard_graph_token_invalid_total").increment(1);
            self.publish_invalid_gauge();
        }
    }

    pub(crate) fn status(&self, account: &str) -> AccountStatus {
        let now = Instant::now();
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = map.get(account) else {
            return AccountStatus::default();
        };
        let paused_for = s.paused_until.filter(|u| *u > now).map(|u| u - now);
        AccountStatus {
            token_invalid: s.current_token_dead(),
            paused_for,
            paused_code: paused_for.map(|_| s.paused_code),
            usage_percent: s.usage_percent,
            spacing: (!s.spacing.is_zero()).then_some(s.spacing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(a: Admission) -> Duration {
        match a {
            Admission::Go(d) => d,
            Admission::Wait(d) => panic!("asked to wait {d:?}"),
            Admission::Refuse(e) => panic!("refused: {e}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_refuses_until_it_ends() {
        let g = Governor::default();
        let t = token_hash("t");
        g.pause("a", 4, Duration::from_secs(10));
        match g.admit("a", t) {
            Admission::Refuse(GraphError::RateLimited {
                code: 4,
                retry_after,
            }) => {
                assert_eq!(retry_after, Duration::from_secs(10))
            }
            _ => panic!("expected a refusal"),
        }
        assert_eq!(go(g.admit("other", t)), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn usage_spaces_then_pauses() {
        let g = Governor::default();
        let t = token_hash("t");
        g.observe_usage(
            "a",
            &Usage {
                max_percent: 90.0,
                regain_after: None,
            },
        );
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
        g.settle("a", t, true);
        assert_eq!(go(g.admit("a", t)), Duration::from_millis(500));
        assert_eq!(g.status("a").spacing, Some(Duration::from_millis(500)));
        g.observe_usage(
            "a",
            &Usage {
                max_percent: 97.0,
                regain_after: Some(Duration::from_secs(120)),
            },
        );
        assert!(matches!(
            g.admit("a", t),
            Admission::Refuse(GraphError::RateLimited { code: 0, .. })
        ));
        assert_eq!(g.status("a").paused_for, Some(Duration::from_secs(120)));
    }

    #[test]
    fn an_untrusted_token_is_tried_by_one_call_at_a_time() {
        let g = Governor::default();
        let t = token_hash("t");
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
        assert!(
            matches!(g.admit("a", t), Admission::Wait(_)),
            "a second call waits for the first answer"
        );
        assert_eq!(go(g.admit("b", t)), Duration::ZERO, "accounts are apart");
        // The first call failed in transit: nothing is learned, the next call tries.
        g.settle("a", t, false);
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
        assert!(matches!(g.admit("a", t), Admission::Wait(_)));
        // Meta accepted it: calls go side by side from now on.
        g.settle("a", t, true);
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
        assert_eq!(go(g.admit("a", t)), Duration::ZERO);
    }

    #[test]
    fn a_dead_token_is_refused_and_a_new_one_is_not() {
        let g = Governor::default();
        let old = token_hash("old");
        g.mark_token_dead("a", old);
        assert!(matches!(
            g.admit("a", old),
            Admission::Refuse(GraphError::TokenInvalid { .. })
        ));
        assert!(g.status("a").token_invalid);
        assert_eq!(go(g.admit("a", token_hash("new"))), Duration::ZERO);
        assert!(!g.status("a").token_invalid);
    }
}
