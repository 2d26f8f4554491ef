//! The action executor: carries out planned Graph calls from the durable action log.
//!
//! Every action was recorded before it is tried (see `store::record_decision`). The executor
//! claims due actions with a lease, calls the Graph API, and records the outcome; retries follow
//! a durable schedule kept in the database, so they survive restarts. For one decision, actions
//! run in order (a reply before a hide: Meta refuses replies to hidden comments).
//!
//! A reply is done exactly once in effect: when an earlier attempt may have reached Meta (the
//! action was claimed before), the comment's replies are listed first and a matching one is
//! adopted instead of posting again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::graph::{AccountCtx, GraphClient, GraphError};
use crate::secret::Secret;
use crate::store::{now_ms, ActionKind, ActionRow, ActionStore, ActionUpdate, WorkChannel};

mod call;
pub use call::{Call, Requested};

/// Backoff between attempts at the default [`Executor::retry_base`] of 1 s; the last step
/// repeats until [`GIVE_UP_AFTER`].
const SCHEDULE: [Duration; 6] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];
/// An action not done within a day is recorded as failed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// While a token is known to be dead, look again this often (it may have been replaced).
const DEAD_TOKEN_RECHECK: Duration = Duration::from_secs(15 * 60);
const BATCH: i64 = 16;

/// Which token an account's calls use; `None` means dry run for that account.
pub trait TokenSource: Send + Sync {
    fn token_for(&self, account_id: &str) -> Option<Secret>;
}

impl TokenSource for crate::config::Settings {
    fn token_for(&self, account_id: &str) -> Option<Secret> {
        crate::config::Settings::token_for(self, account_id)
    }
}

pub struct Executor {
    pub store: Arc<dyn ActionStore>,
    pub graph: Arc<GraphClient>,
    pub tokens: Arc<dyn TokenSource>,
    /// Notified when new actions are planned, so they run at once.
    pub wake: Arc<Notify>,
    /// First step of the retry schedule (`COMMENTGUARD_RETRY_BASE`, 1 s); later steps scale.
    pub retry_base: Duration,
    /// How long a claim holds an action: longer than the calls made under it (a listing and a
    /// post for a reply), so that a live claim never expires; a crashed instance's claims
    /// return after it. See [`action_lease`].
    pub lease: Duration,
}

/// The retry schedule at the default base of 1 s.
pub fn backoff(attempts: i64) -> Duration {
    backoff_from(Duration::from_secs(1), attempts)
}

/// The retry schedule scaled so that its first step is `base`.
pub fn backoff_from(base: Duration, attempts: i64) -> Duration {
    let i = (attempts.max(1) - 1) as usize;
    let step = SCHEDULE[i.min(SCHEDULE.len() - 1)];
    base.saturating_mul(step.as_secs() as u32)
}

/// The executor's lease for a Graph timeout: 6 timeouts (120 s at the default 20 s), enough
/// for a reply's listing and post, each bounded by the timeout, and any slow-down spacing.
pub fn action_lease(graph_timeout: Duration) -> Duration {
    graph_timeout.saturating_mul(6)
}

impl Executor {
    /// Runs until `shutdown`; the actions in hand finish first.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        // Actions planned by any instance (PostgreSQL NOTIFY) or by this one wake the executor.
        let mut signal = self.store.subscribe(WorkChannel::Actions);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let now = now_ms();
            let claimed = match self.store.claim_actions(BATCH, self.lease, now).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "claiming actions failed");
                    Vec::new()
                }
            };
            if !claimed.is_empty() {
                let mut set = tokio::task::JoinSet::new();
                for action in claimed {
                    let me = self.clone();
                    set.spawn(async move { (action.id, me.attempt(&action).await) });
                }
                let mut updates = Vec::new();
                while let Some(done) = set.join_next().await {
                    if let Ok(u) = done {
                        updates.push(u);
                    }
                }
                // One transaction for the whole batch: one fsync instead of one per action.
                if let Err(e) = self.store.update_actions(&updates, now_ms()).await {
                    // The leases expire and the actions are claimed again; a reply is then
                    // looked up among the comment's replies before anything is posted.
                    tracing::error!(error = %e, actions = updates.len(), "recording action outcomes failed");
                }
                continue;
            }
            let sleep_for = match self.store.next_action_due().await {
                Ok(Some(due)) => Duration::from_millis((due - now_ms()).clamp(10, 1000) as u64),
                _ => Duration::from_secs(1),
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = signal.wait(sleep_for) => {}
            }
        }
    }

    /// Tries one claimed action; returns what to record (logged and counted here).
    pub async fn attempt(&self, a: &ActionRow) -> ActionUpdate {
        let a = a.clone();
        let update = match self.tokens.token_for(&a.account_id) {
            None => ActionUpdate::Failed {
                error: "no access token for this account any more".into(),
            },
            Some(token) => {
                let ctx = AccountCtx {
                    account_id: a.account_id.clone(),
                    token,
                };
                let result = self.call(&ctx, &a).await;
                // The schedule counts from when the outcome is known, not from when the call
                // started: a call that timed out after 20 s is not retried at once.
                self.outcome(&a, result, now_ms())
            }
        };
        let label = match &update {
            ActionUpdate::Done { .. } => "done",
            ActionUpdate::Retry { .. } => "retry",
            ActionUpdate::Failed { .. } => "failed",
        };
        metrics::counter!("commentguard_actions_total", "kind" => a.kind.as_str(), "outcome" => label)
            .increment(1);
        match &update {
            ActionUpdate::Done { .. } => {
                metrics::histogram!("commentguard_decision_to_action_seconds")
                    .record((now_ms() - a.created_at).max(0) as f64 / 1000.0);
                tracing::info!(action.id = a.id, action.kind = a.kind.as_str(), comment.id = %a.comment_id, attempts = a.attempts, "action done");
            }
            ActionUpdate::Retry { error, next_at } => tracing::warn!(
                action.id = a.id, action.kind = a.kind.as_str(), comment.id = %a.comment_id,
                attempts = a.attempts, retry_in_ms = next_at - now_ms(), error = %error, "action will be retried"),
            ActionUpdate::Failed { error } => tracing::error!(
                action.id = a.id, action.kind = a.kind.as_str(), comment.id = %a.comment_id,
                attempts = a.attempts, error = %error, "action failed for good"),
        }
        update
    }

    async fn call(&self, ctx: &AccountCtx, a: &ActionRow) -> Result<Option<String>, GraphError> {
        match Call::of(a) {
            Call::Hide => self
                .graph
                .hide(ctx, &a.comment_id, true)
                .await
                .map(|_| None),
            Call::Unhide => self
                .graph
                .hide(ctx, &a.comment_id, false)
                .await
                .map(|_| None),
            Call::Delete => self.graph.delete(ctx, &a.comment_id).await.map(|_| None),
            Call::Reply { message } => {
                let under = Some(a.comment_id.as_str());
                if let Some(id) = self.earlier_reply(ctx, a, under, &message, false).await? {
                    return Ok(Some(id));
                }
                self.graph
                    .reply(ctx, &a.comment_id, &message)
                    .await
                    .map(Some)
            }
            Call::MentionReply {
                message,
                media_id,
                comment_id,
            } => {
                let under = comment_id.as_deref();
                if let Some(id) = self.earlier_reply(ctx, a, under, &message, true).await? {
                    return Ok(Some(id));
                }
                self.graph
                    .mention_reply(ctx, &ctx.account_id, &media_id, under, &message)
                    .await
                    .map(Some)
            }
        }
    }

    /// The one path by which a reply is posted at most once: when an earlier attempt may have
    /// reached Meta (the action was claimed before), the replies under the comment are listed
    /// and one with the same text is adopted. `cautious` (a mention, on someone else's media):
    /// when the replies cannot be listed the earlier outcome stays unknown, and the call fails
    /// for good rather than risk answering twice; for the account's own comments a listing
    /// that fails is retried like any call.
    async fn earlier_reply(
        &self,
        ctx: &AccountCtx,
        a: &ActionRow,
        under: Option<&str>,
        message: &str,
        cautious: bool,
    ) -> Result<Option<String>, GraphError> {
        if a.attempts <= 1 {
            return Ok(None);
        }
        let unknown = |why: &str| GraphError::Permanent {
            code: 0,
            message: format!(
                "outcome of an earlier mention reply is unknown{why}; not posted again"
            ),
        };
        let Some(under) = under else {
            return Err(unknown(""));
        };
        let replies = match self.graph.list_replies(ctx, under).await {
            Ok(r) => r,
            Err(_) if cautious => return Err(unknown(" and replies cannot be listed")),
            Err(e) => return Err(e),
        };
        Ok(replies.iter().find(|r| r.text == message).map(|existing| {
            tracing::info!(comment.id = %under, reply.id = %existing.id, "reply already posted by an earlier attempt; adopted");
            existing.id.clone()
        }))
    }

    fn outcome(
        &self,
        a: &ActionRow,
        result: Result<Option<String>, GraphError>,
        now: i64,
    ) -> ActionUpdate {
        let err = match result {
            Ok(result_id) => return ActionUpdate::Done { result_id },
            Err(e) => e,
        };
        let too_old = now - a.created_at > GIVE_UP_AFTER.as_millis() as i64;
        let retry_at = |d: Duration| ActionUpdate::Retry {
            error: err.to_string(),
            next_at: now + d.as_millis() as i64,
        };
        let update = match &err {
            GraphError::Permanent { .. } | GraphError::NotEnoughViewers => ActionUpdate::Failed {
                error: err.to_string(),
            },
            GraphError::Transient { sent, .. } => {
                let mut wait = backoff_from(self.retry_base, a.attempts);
                if *sent && matches!(a.kind, ActionKind::Reply | ActionKind::MentionReply) {
                    // The outcome is unknown (a time-out, a 5xx, a dropped connection): Meta may
                    // still be creating the reply. Wait one more Graph timeout before the retry
                    // lists the replies, or it misses that reply and posts a second one.
                    wait = wait.max(self.graph.config.timeout);
                }
                retry_at(wait)
            }
            GraphError::RateLimited { retry_after, .. } => {
                retry_at((*retry_after).max(backoff_from(self.retry_base, a.attempts)))
            }
            GraphError::TokenInvalid { .. } => retry_at(DEAD_TOKEN_RECHECK),
        };
        match update {
            ActionUpdate::Retry { error, .. } if too_old => ActionUpdate::Failed {
                error: format!("gave up after 24 h: {error}"),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_then_stays_at_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(5));
        assert_eq!(backoff(6), Duration::from_secs(3600));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }

    #[test]
    fn a_shorter_base_scales_every_step() {
        let base = Duration::from_millis(10);
        assert_eq!(backoff_from(base, 1), Duration::from_millis(10));
        assert_eq!(backoff_from(base, 3), Duration::from_millis(300));
        assert_eq!(backoff_from(base, 99), Duration::from_secs(36));
        assert_eq!(
            action_lease(Duration::from_secs(20)),
            Duration::from_secs(120)
        );
    }
}
