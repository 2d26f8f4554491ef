//! Sweeps: finding the comments no webhook announced (posted before commentguard, or whose
//! notification Meta dropped or never sent) by listing the account's media within a window,
//! their comments and replies, and the comments of a live video on air.
//!
//! A comment found is handed to the pipeline exactly as a webhook would: an inbox event with
//! the same dedup key (`comments:ID`, `live_comments:ID`) and the same payload shape, so it is
//! decided once and acted on once whichever way it came. Comments already decided are not
//! queued again; one already waiting in the inbox counts as a duplicate.
//!
//! A sweep is resumable: the media page it works on and the media it finished are stored
//! ([`crate::store::SweepStore`]); run again, it goes on where it stopped. Its Graph calls go
//! through the same client and per-account governor as the moderation calls, and it steps
//! back whenever the account's usage passes [`USAGE_CEILING`], so the webhook path keeps the
//! rest of the rate limit.
//!
//! `commentguard sweep` runs one ([`crate::commands::sweep`]); `serve` reconciles every
//! COMMENTGUARD_SWEEP_INTERVAL over COMMENTGUARD_SWEEP_WINDOW ([`reconcile_periodically`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient, GraphError, ListedComment, MediaItem};
use crate::secret::Secret;
use crate::store::{now_ms, Delivery, NewEvent, Store, StoreError, SweepProgress, SweepRun};

/// Above this usage of the account's rate limit (percent, from Meta's usage headers) a sweep
/// waits between calls: the webhook path's hides and replies keep the rest.
pub const USAGE_CEILING: f64 = 60.0;
/// How long a sweep waits before a call while usage is above [`USAGE_CEILING`]. The call it
/// then makes reads the usage anew.
const USAGE_BACKOFF: Duration = Duration::from_secs(10);
/// A transient failure (network, 5xx) is tried this many times before the sweep stops (it
/// resumes where it stopped when run again).
const TRANSIENT_TRIES: u32 = 5;
/// A rate-limit answer is waited out this many times in a row before the sweep stops.
const RATE_LIMIT_TRIES: u32 = 20;
/// A run left unfinished less than this long ago is resumed by `commentguard sweep`.
pub const RESUME_WITHIN: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("Graph API: {0}")]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stopped")]
    Stopped,
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub account_id: String,
    pub token: Secret,
    /// Media posted within this long before the run started.
    pub window: Duration,
    /// Only this media (its comments), whatever its age.
    pub media: Option<String>,
    /// List and count; store nothing.
    pub dry_run: bool,
    /// Resume an unfinished run of the same scope and window (the CLI); serve's
    /// reconciliation starts afresh each time.
    pub resume: bool,
    /// `reconcile` for serve's sweeps; the CLI's scope follows from `media`.
    pub scope: Option<String>,
}

impl SweepRequest {
    fn scope(&self) -> String {
        match (&self.scope, &self.media) {
            (Some(s), _) => s.clone(),
            (None, Some(m)) => format!("media:{m}"),
            (None, None) => "all".into(),
        }
    }
}

/// What a sweep did, so far or in all.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    pub account_id: String,
    /// It went on with a run stopped half way.
    pub resumed: bool,
    pub media_done: u64,
    /// Media a resumed run had finished before.
    pub media_skipped: u64,
    /// Comments and replies by people (the account's own are not counted).
    pub comments_seen: u64,
    /// The account's own comments and replies (its answers): never moderated.
    pub own_comments: u64,
    /// Already in the moderation log.
    pub already_decided: u64,
    /// Already waiting in the inbox (its webhook came, not yet decided).
    pub already_queued: u64,
    /// No webhook had announced them: handed to the pipeline now (with `--dry-run`: would be).
    pub queued: u64,
    pub graph_calls: u64,
    /// Graph calls the new decisions planned that were not done yet when the sweep ended.
    pub actions_pending: u64,
    /// `(kind, comment id)` of every comment queued, to wait for their decisions.
    #[serde(skip)]
    pub queued_ids: Vec<(&'static str, String)>,
}

/// Runs sweeps.
pub struct Sweeper {
    pub store: Arc<dyn Store>,
    pub graph: Arc<GraphClient>,
}

/// One comment found, with the webhook field it belongs to.
struct Found<'a> {
    field: &'static str,
    comment: &'a ListedComment,
}

impl Sweeper {
    /// Sweeps one account; `progress` hears after every media.
    pub async fn run(
        &self,
        req: &SweepRequest,
        cancel: &CancellationToken,
        progress: &(dyn Fn(&SweepReport) + Send + Sync),
    ) -> Result<SweepReport, SweepError> {
        let ctx = AccountCtx {
            account_id: req.account_id.clone(),
            token: req.token.clone(),
        };
        let now = now_ms();
        let window_ms = req.window.as_millis().min(i64::MAX as u128) as i64;
        let scope = req.scope();
        let (run, resumed) = if req.dry_run {
            (
                SweepRun {
                    account_id: req.account_id.clone(),
                    scope: scope.clone(),
                    window_ms,
                    started_at: now,
                    media_cursor: None,
                    finished_at: None,
                    media_done: 0,
                    comments_seen: 0,
                    queued: 0,
                },
                false,
            )
        } else {
            let resume_after = if req.resume {
                now - RESUME_WITHIN.as_millis() as i64
            } else {
                i64::MAX
            };
            self.store
                .start_sweep(&req.account_id, &scope, window_ms, resume_after, now)
                .await?
        };
        let done = if resumed {
            self.store
                .swept_media(&run.account_id, &run.scope, run.started_at)
                .await?
        } else {
            Default::default()
        };
        let mut report = SweepReport {
            account_id: req.account_id.clone(),
            resumed,
            ..Default::default()
        };

        if let Some(media) = &req.media {
            let item = MediaItem {
                id: media.clone(),
                timestamp: None,
                media_product_type: None,
                comments_count: None,
            };
            self.media(&ctx, req, &run, &item, "comments", &mut report, cancel)
                .await?;
            progress(&report);
        } else {
            let since_secs = run.since_ms() / 1000;
            let mut cursor = run.media_cursor.clone();
            loop {
                let (items, next) = self
                    .call(&ctx, cancel, &mut report, || {
                        self.graph
                            .media_page(&ctx, &req.account_id, cursor.as_deref())
                    })
                    .await?;
                // Newest first: the first media older than the window ends the listing.
                let mut older = false;
                for item in &items {
                    if item.timestamp.is_some_and(|t| t < since_secs) {
                        older = true;
                        break;
                    }
                    if done.contains(&item.id) {
                        report.media_skipped += 1;
                        continue;
                    }
                    self.media(&ctx, req, &run, item, "comments", &mut report, cancel)
                        .await?;
                    progress(&report);
                }
                if older || next.is_none() {
                    break;
                }
                cursor = next;
                if !req.dry_run {
                    self.store.set_sweep_cursor(&run, cursor.as_deref()).await?;
                }
            }
            // A live video on air: its comments arrive as `live_comments`.
            let live = self
                .call(&ctx, cancel, &mut report, || {
                    self.graph.live_media(&ctx, &req.account_id)
                })
                .await?;
            for item in &live {
                if done.contains(&item.id) {
                    continue;
                }
                self.media(&ctx, req, &run, item, "live_comments", &mut report, cancel)
                    .await?;
                progress(&report);
            }
        }
        if !req.dry_run {
            self.store.finish_sweep(&run, now_ms()).await?;
        }
        Ok(report)
    }

    /// Every comment and reply of one media: the undecided ones to the inbox.
    #[allow(clippy::too_many_arguments)]
    async fn media(
        &self,
        ctx: &AccountCtx,
        req: &SweepRequest,
        run: &SweepRun,
        item: &MediaItem,
        field: &'static str,
        report: &mut SweepReport,
        cancel: &CancellationToken,
    ) -> Result<(), SweepError> {
        let before = report.clone();
        let mut cursor: Option<String> = None;
        loop {
            let (threads, next) = self
                .call(ctx, cancel, report, || {
                    self.graph.comments_page(ctx, &item.id, cursor.as_deref())
                })
                .await?;
            let mut more: Vec<ListedComment> = Vec::new();
            for t in &threads {
                let mut after = t.more_replies.clone();
                while let Some(a) = after {
                    let (replies, next) = self
                        .call(ctx, cancel, report, || {
                            self.graph.replies_page(ctx, &t.comment.id, Some(&a))
                        })
                        .await?;
                    more.extend(replies);
                    after = next;
                }
            }
            let found: Vec<Found> = threads
                .iter()
                .flat_map(|t| std::iter::once(&t.comment).chain(t.replies.iter()))
                .chain(more.iter())
                .map(|comment| Found { field, comment })
                .collect();
            self.hand_over(req, item, &found, report).await?;
            if next.is_none() {
                break;
            }
            cursor = next;
        }
        report.media_done += 1;
        if !req.dry_run {
            self.store
                .media_swept(
                    run,
                    &item.id,
                    SweepProgress {
                        media_done: 1,
                        comments_seen: (report.comments_seen - before.comments_seen) as i64,
                        queued: (report.queued - before.queued) as i64,
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Queues the comments not yet decided, as webhook events.
    async fn hand_over(
        &self,
        req: &SweepRequest,
        item: &MediaItem,
        found: &[Found<'_>],
        report: &mut SweepReport,
    ) -> Result<(), SweepError> {
        // The account's own comments (its replies) are never moderated, as with webhooks.
        let (own, found): (Vec<&Found>, Vec<&Found>) = found
            .iter()
            .partition(|f| f.comment.user_id.as_deref() == Some(req.account_id.as_str()));
        report.own_comments += own.len() as u64;
        report.comments_seen += found.len() as u64;
        metrics::counter!("commentguard_sweep_comments_total", "outcome" => "seen")
            .increment(found.len() as u64);
        let mut undecided: Vec<&Found> = Vec::new();
        for field in ["comments", "live_comments"] {
            let kind = if field == "live_comments" {
                "live_comment"
            } else {
                "comment"
            };
            let ids: Vec<String> = found
                .iter()
                .filter(|f| f.field == field)
                .map(|f| f.comment.id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let decided = self.store.decided_among(kind, &ids).await?;
            report.already_decided += decided.len() as u64;
            metrics::counter!("commentguard_sweep_comments_total", "outcome" => "decided")
                .increment(decided.len() as u64);
            let decided: std::collections::HashSet<&str> =
                decided.iter().map(String::as_str).collect();
            undecided.extend(
                found
                    .iter()
                    .copied()
                    .filter(|f| f.field == field && !decided.contains(f.comment.id.as_str())),
            );
        }
        if undecided.is_empty() {
            return Ok(());
        }
        if req.dry_run {
            report.queued += undecided.len() as u64;
            return Ok(());
        }
        let events: Vec<NewEvent> = undecided
            .iter()
            .map(|f| event(&req.account_id, item, f))
            .collect();
        let outcome = self.store.insert_delivery(Delivery::Events(events)).await?;
        report.queued_ids.extend(undecided.iter().map(|f| {
            (
                if f.field == "live_comments" {
                    "live_comment"
                } else {
                    "comment"
                },
                f.comment.id.clone(),
            )
        }));
        report.queued += outcome.stored as u64;
        report.already_queued += outcome.duplicates as u64;
        metrics::counter!("commentguard_sweep_comments_total", "outcome" => "queued")
            .increment(outcome.stored as u64);
        metrics::counter!("commentguard_sweep_unannounced_total", "account" => req.account_id.clone())
            .increment(outcome.stored as u64);
        Ok(())
    }

    /// One Graph call with the sweep's manners: it steps back while the account's usage is
    /// high, waits out rate limits and tries transient failures again.
    async fn call<T, F, Fut>(
        &self,
        ctx: &AccountCtx,
        cancel: &CancellationToken,
        report: &mut SweepReport,
        f: F,
    ) -> Result<T, SweepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, GraphError>>,
    {
        let mut transient = 0;
        let mut limited = 0;
        loop {
            let status = self.graph.account_status(&ctx.account_id);
            let wait = match (status.paused_for, status.usage_percent) {
                (Some(p), _) => Some(p),
                (None, Some(u)) if u > USAGE_CEILING => Some(USAGE_BACKOFF),
                _ => None,
            };
            if let Some(w) = wait {
                tokio::select! {
                    _ = cancel.cancelled() => return Err(SweepError::Stopped),
                    _ = tokio::time::sleep(w) => {}
                }
            }
            if cancel.is_cancelled() {
                return Err(SweepError::Stopped);
            }
            report.graph_calls += 1;
            match f().await {
                Ok(v) => return Ok(v),
                // The governor now holds the pause Meta asked for: the next turn waits it out.
                Err(GraphError::RateLimited { .. }) if limited < RATE_LIMIT_TRIES => {
                    limited += 1;
                    metrics::counter!("commentguard_sweep_rate_limited_total").increment(1);
                    if self
                        .graph
                        .account_status(&ctx.account_id)
                        .paused_for
                        .is_none()
                    {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Err(GraphError::Transient { .. }) if transient + 1 < TRANSIENT_TRIES => {
                    transient += 1;
                    tokio::time::sleep(Duration::from_millis(200 << transient)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The inbox event a webhook would have stored for this comment.
fn event(account_id: &str, item: &MediaItem, f: &Found<'_>) -> NewEvent {
    let c = f.comment;
    let mut value = json!({
        "id": c.id,
        "text": c.text,
        "from": {"id": c.user_id, "username": c.username},
        "media": {"id": item.id, "media_product_type": item.media_product_type},
    });
    if let Some(p) = &c.parent_id {
        value["parent_id"] = Value::String(p.clone());
    }
    let payload = crate::inbox::Change {
        entry_id: account_id.into(),
        field: f.field.into(),
        object: "instagram".into(),
        time: c.timestamp,
        value: std::borrow::Cow::Owned(value),
        source: Some("sweep".into()),
    }
    .to_json();
    NewEvent {
        dedup_key: format!("{}:{}", f.field, c.id),
        account_id: account_id.to_string(),
        field: f.field.to_string(),
        entry_time: c.timestamp,
        payload,
    }
}

/// The accounts a sweep covers: every account with a token (its own or the default one).
pub fn accounts_with_tokens(settings: &Settings) -> Vec<(String, Secret)> {
    settings
        .polled_accounts()
        .into_iter()
        .filter_map(|id| settings.token_for(&id).map(|t| (id, t)))
        .collect()
}

/// serve's reconciliation: every `interval` (the first one an interval after start), a sweep
/// of every account with a token over media posted within `window`. Comments it hands to the
/// pipeline are ones no webhook announced: near 0 while webhooks are healthy.
pub async fn reconcile_periodically(
    sweeper: Sweeper,
    settings: Arc<Settings>,
    interval: Duration,
    window: Duration,
    cancel: CancellationToken,
) {
    if interval.is_zero() {
        tracing::info!("reconciliation sweeps off (COMMENTGUARD_SWEEP_INTERVAL=0)");
        return;
    }
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        for (account_id, token) in accounts_with_tokens(&settings) {
            let req = SweepRequest {
                account_id: account_id.clone(),
                token,
                window,
                media: None,
                // Queued even when the service runs dry: the pipeline then decides and logs.
                dry_run: false,
                resume: false,
                scope: Some("reconcile".into()),
            };
            let started = std::time::Instant::now();
            match sweeper.run(&req, &cancel, &|_| {}).await {
                Ok(r) => {
                    metrics::gauge!("commentguard_sweep_last_unannounced", "account" => account_id.clone())
                        .set(r.queued as f64);
                    metrics::gauge!("commentguard_sweep_last_finished_timestamp_seconds", "account" => account_id.clone())
                        .set(now_ms() as f64 / 1000.0);
                    if r.queued > 0 {
                        tracing::warn!(
                            account_id = %account_id,
                            unannounced = r.queued,
                            comments_seen = r.comments_seen,
                            media = r.media_done,
                            "reconciliation sweep found comments no webhook announced; they are moderated now. Many: check the webhook subscription"
                        );
                    } else {
                        tracing::info!(
                            account_id = %account_id,
                            comments_seen = r.comments_seen,
                            media = r.media_done,
                            graph_calls = r.graph_calls,
                            duration_ms = started.elapsed().as_millis() as u64,
                            "reconciliation sweep: every comment was announced"
                        );
                    }
                }
                Err(SweepError::Stopped) => return,
                Err(e) => {
                    tracing::warn!(account_id = %account_id, error = %e, "reconciliation sweep failed; trying again next interval")
                }
            }
        }
    }
}
