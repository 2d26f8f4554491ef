//! The story poller: lists each configured account's stories and takes the due snapshots.
//!
//! All state that matters lives in the database (first sightings, the next due time of every
//! story, every snapshot), so a restart loses nothing: on start the poller lists stories at once
//! and takes every snapshot that fell due while it was down. Only the time of the next listing
//! is kept in memory.
//!
//! Time comes from an injected [`Clock`] so tests can drive [`Poller::step`] over a day of
//! story life without waiting.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::metrics::{parse_insights, story_metrics, Metrics, NAVIGATION_METRICS};
use super::schedule::{self, expires_at, has_last_snapshot, next_due, retry_at};
use crate::actions::TokenSource;
use crate::graph::{AccountCtx, GraphClient, GraphError, Story};
use crate::store::{NewSnapshot, NewStory, StoryRow, StoryStore};

/// Unix milliseconds now.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A claimed story not snapshotted within this time (a crash) is due again.
const LEASE: Duration = Duration::from_secs(120);
const BATCH: i64 = 32;
/// Upper bound of one sleep, so a clock change (or a story added by another instance) is
/// noticed.
const MAX_SLEEP: Duration = Duration::from_secs(300);

/// The Graph calls the poller makes. [`GraphClient`] in production; a fake in tests.
#[async_trait]
pub trait StorySource: Send + Sync {
    async fn stories(&self, ctx: &AccountCtx, ig_user_id: &str) -> Result<Vec<Story>, GraphError>;
    /// The raw insights answer. Asked with [`NAVIGATION_METRICS`] alone, the client adds the
    /// `story_navigation_action_type` breakdown.
    async fn story_insights(
        &self,
        ctx: &AccountCtx,
        story_id: &str,
        metrics: &[&str],
    ) -> Result<Value, GraphError>;
}

#[async_trait]
impl StorySource for GraphClient {
    async fn stories(&self, ctx: &AccountCtx, ig_user_id: &str) -> Result<Vec<Story>, GraphError> {
        GraphClient::stories(self, ctx, ig_user_id).await
    }

    async fn story_insights(
        &self,
        ctx: &AccountCtx,
        story_id: &str,
        metrics: &[&str],
    ) -> Result<Value, GraphError> {
        // Meta refuses a breakdown on a call whose other metrics do not support one, so the
        // breakdown goes only with `navigation` asked alone.
        let breakdown =
            (metrics == NAVIGATION_METRICS).then_some(crate::graph::STORY_NAVIGATION_BREAKDOWN);
        GraphClient::story_insights_with_breakdown(self, ctx, story_id, metrics, breakdown).await
    }
}

/// How a snapshot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStatus {
    Ok,
    /// Code 10: fewer than 5 viewers. A result, not a failure.
    NotEnoughViewers,
    Error,
}

impl SnapshotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Ok => "ok",
            SnapshotStatus::NotEnoughViewers => "not_enough_viewers",
            SnapshotStatus::Error => "error",
        }
    }
}

fn is_not_enough_viewers(e: &GraphError) -> bool {
    match e {
        GraphError::NotEnoughViewers => true,
        // Defensive: a client that does not classify code 10 on insights still says so.
        GraphError::Permanent { code: 10, message } => {
            message.to_ascii_lowercase().contains("not enough viewers")
        }
        _ => false,
    }
}

pub struct Poller {
    store: Arc<dyn StoryStore>,
    source: Arc<dyn StorySource>,
    tokens: Arc<dyn TokenSource>,
    accounts: Vec<String>,
    interval: Duration,
    api_version: String,
    now: Clock,
    next_poll: i64,
    warned_no_token: HashSet<String>,
}

impl Poller {
    pub fn new(
        store: Arc<dyn StoryStore>,
        source: Arc<dyn StorySource>,
        tokens: Arc<dyn TokenSource>,
        accounts: Vec<String>,
        interval: Duration,
        api_version: impl Into<String>,
    ) -> Poller {
        Poller {
            store,
            source,
            tokens,
            accounts,
            interval: interval.max(Duration::from_secs(1)),
            api_version: api_version.into(),
            now: Arc::new(crate::store::now_ms),
            next_poll: i64::MIN,
            warned_no_token: HashSet::new(),
        }
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, now: Clock) -> Poller {
        self.now = now;
        self
    }

    /// Polls and snapshots until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        // Registered at start so that dashboards see the zero.
        metrics::counter!("commentguard_stories_expired_without_snapshot_total").increment(0);
        tracing::info!(
            accounts = ?self.accounts,
            poll_interval_s = self.interval.as_secs(),
            "story poller started"
        );
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let next = self.step().await;
            let wait = (next - (self.now)()).max(0) as u64;
            let wait = Duration::from_millis(wait).clamp(Duration::from_millis(200), MAX_SLEEP);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("story poller stopped");
    }

    /// One round: lists stories when a poll is due, takes every due snapshot, closes expired
    /// stories. Returns when the next round is needed (unix ms).
    pub async fn step(&mut self) -> i64 {
        let now = (self.now)();
        if now >= self.next_poll {
            for account in self.accounts.clone() {
                self.poll_account(&account, now).await;
            }
            self.next_poll = now + self.interval.as_millis() as i64;
        }
        let mut store_failed = false;
        for _ in 0..100 {
            let now = (self.now)();
            let claimed = match self.store.claim_due_stories(BATCH, LEASE, now).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "claiming due story snapshots failed");
                    store_failed = true;
                    break;
                }
            };
            let full = claimed.len() as i64 == BATCH;
            for story in claimed {
                self.snapshot(&story).await;
            }
            if !full {
                break;
            }
        }
        self.close_expired((self.now)()).await;
        if let Ok(n) = self.store.count_open_stories().await {
            metrics::gauge!("commentguard_stories_tracked").set(n as f64);
        }
        let now = (self.now)();
        let mut next = self.next_poll;
        match self.store.next_story_due().await {
            Ok(Some(due)) => next = next.min(due),
            Ok(None) => {}
            Err(_) => store_failed = true,
        }
        if store_failed {
            next = next.min(now + schedule::RETRY_AFTER.as_millis() as i64);
        }
        next
    }

    fn ctx(&mut self, account: &str) -> Option<AccountCtx> {
        match self.tokens.token_for(account) {
            Some(token) => Some(AccountCtx {
                account_id: account.to_string(),
                token,
            }),
            None => {
                if self.warned_no_token.insert(account.to_string()) {
                    tracing::warn!(
                        account.id = account,
                        "no access token for this account: its stories are not polled"
                    );
                }
                None
            }
        }
    }

    /// Lists an account's live stories: records first sightings and makes a snapshot due now
    /// for every story whose numbers could be read.
    async fn poll_account(&mut self, account: &str, now: i64) {
        let Some(ctx) = self.ctx(account) else {
            return;
        };
        let stories = match self.source.stories(&ctx, account).await {
            Ok(s) => s,
            Err(e) => {
                // Scheduled snapshots go on from the database; the listing is tried again at
                // the next poll.
                tracing::warn!(account.id = account, error = %e, "listing stories failed");
                return;
            }
        };
        for story in stories {
            let posted_at = if story.timestamp > 0 {
                story.timestamp * 1000
            } else {
                tracing::warn!(story.id = %story.id, "story without a timestamp: first sighting used");
                now
            };
            let expires = expires_at(posted_at);
            if expires <= now {
                continue;
            }
            let new = NewStory {
                story_id: story.id.clone(),
                account_id: account.to_string(),
                media_type: story.media_type.clone(),
                posted_at,
                first_seen: now,
                expires_at: expires,
                next_snapshot_at: Some(now),
            };
            match self.store.upsert_story(&new).await {
                Ok((_, true)) => {
                    tracing::info!(story.id = %story.id, account.id = account, expires_at = expires, "story first seen");
                }
                Ok((row, false)) => {
                    // After "not enough viewers" the story waits for its scheduled times: asking
                    // at every poll would mostly get the same answer.
                    if row.closed_at.is_none()
                        && row.last_status.as_deref()
                            != Some(SnapshotStatus::NotEnoughViewers.as_str())
                    {
                        if let Err(e) = self.store.set_story_due(&story.id, now).await {
                            tracing::error!(story.id = %story.id, error = %e, "scheduling a snapshot failed");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(story.id = %story.id, error = %e, "recording a story failed");
                }
            }
        }
    }

    /// Reads one story's insights and records the snapshot with the story's next due time.
    async fn snapshot(&mut self, story: &StoryRow) {
        let expires = story.expires_at;
        let (status, metrics, raw, error, next) = match self.ctx(&story.account_id) {
            None => {
                let now = (self.now)();
                (
                    SnapshotStatus::Error,
                    Metrics::new(),
                    Value::Null,
                    Some("no access token for this account".to_string()),
                    next_due(expires, now),
                )
            }
            Some(ctx) => self.read(&ctx, story).await,
        };
        let taken_at = (self.now)();
        let snap = NewSnapshot {
            story_id: story.story_id.clone(),
            account_id: story.account_id.clone(),
            taken_at,
            status: status.as_str().to_string(),
            metrics: serde_json::to_string(&metrics).unwrap_or_else(|_| "{}".into()),
            raw: raw.to_string(),
            error: error.clone(),
        };
        match self.store.record_snapshot(&snap, next).await {
            Ok(_) => {
                metrics::counter!("commentguard_story_snapshots_total", "status" => status.as_str())
                    .increment(1);
                tracing::info!(
                    story.id = %story.story_id,
                    account.id = %story.account_id,
                    snapshot.status = status.as_str(),
                    minutes_to_expiry = (expires - taken_at) / 60_000,
                    next_snapshot_at = ?next,
                    error = error.as_deref().unwrap_or(""),
                    "story snapshot taken"
                );
            }
            Err(e) => {
                // The claim's lease brings the story back.
                tracing::error!(story.id = %story.story_id, error = %e, "recording a snapshot failed");
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn read(
        &self,
        ctx: &AccountCtx,
        story: &StoryRow,
    ) -> (SnapshotStatus, Metrics, Value, Option<String>, Option<i64>) {
        let expires = story.expires_at;
        let wanted = story_metrics(&self.api_version);
        let main = self
            .source
            .story_insights(ctx, &story.story_id, &wanted)
            .await;
        let now = (self.now)();
        match main {
            Ok(body) => {
                let mut metrics = parse_insights(&body);
                let nav = match self
                    .source
                    .story_insights(ctx, &story.story_id, NAVIGATION_METRICS)
                    .await
                {
                    Ok(nav) => {
                        metrics.extend(parse_insights(&nav));
                        nav
                    }
                    // The main numbers are in; the breakdown is missing from this snapshot only.
                    Err(e) => json!({ "error": e.to_string() }),
                };
                let now = (self.now)();
                (
                    SnapshotStatus::Ok,
                    metrics,
                    json!({ "metrics": body, "navigation": nav }),
                    None,
                    next_due(expires, now),
                )
            }
            Err(e) if is_not_enough_viewers(&e) => (
                SnapshotStatus::NotEnoughViewers,
                Metrics::new(),
                json!({ "error": e.to_string() }),
                None,
                next_due(expires, now),
            ),
            Err(e) => {
                let next = match &e {
                    GraphError::Transient { .. } => retry_at(expires, now, Duration::ZERO),
                    GraphError::RateLimited { retry_after, .. } => {
                        retry_at(expires, now, *retry_after)
                    }
                    // Not worth asking again soon; the next scheduled time may find it fixed
                    // (a replaced token).
                    _ => next_due(expires, now),
                };
                (
                    SnapshotStatus::Error,
                    Metrics::new(),
                    json!({ "error": e.to_string() }),
                    Some(e.to_string()),
                    next,
                )
            }
        }
    }

    async fn close_expired(&self, now: i64) {
        let closed = match self.store.close_expired_stories(now).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "closing expired stories failed");
                return;
            }
        };
        for s in closed {
            if has_last_snapshot(s.expires_at, s.last_snapshot_at) {
                tracing::info!(story.id = %s.story_id, snapshots = s.snapshot_count, "story expired with its last snapshot");
            } else {
                metrics::counter!("commentguard_stories_expired_without_snapshot_total")
                    .increment(1);
                tracing::error!(
                    story.id = %s.story_id,
                    account.id = %s.account_id,
                    last_snapshot_at = ?s.last_snapshot_at,
                    "story expired without a snapshot in its last hour"
                );
            }
        }
    }
}
