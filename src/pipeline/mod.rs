//! Pipeline workers: claim stored notifications, route each change, and turn comments and
//! mentions into recorded decisions with planned actions.
//!
//! A claim is a lease: a crashed worker's events return when it expires. Processing is
//! idempotent (one decision per comment and kind; actions unique by comment and kind), so an
//! event processed twice plans nothing twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::actions::Call;
use crate::graph::{AccountCtx, GraphClient, GraphError};
use crate::inbox::change::id_string;
use crate::inbox::{Change, CommentChange, MentionChange};
use crate::rules::{Action, Decision, Input, Kind, NoState, RuleSet};
use crate::store::{
    now_ms, ActionState, DecisionKind, InboxEvent, NewAction, NewDecision, Store, StoreError,
    WorkChannel,
};

mod decide;
pub mod monitor;
pub mod own_names;
pub mod registry;
pub mod state;

use decide::{action_label, Pending, Step};
pub use decide::{plan, Prepared};
pub use monitor::RuleMonitor;
pub use registry::RulesRegistry;
pub use state::StateSnapshot;

/// A claim on inbox events lasts this many Graph timeouts (60 s at the default 20 s): a
/// mention's text is fetched under it.
const LEASE_TIMEOUTS: u32 = 3;
/// Events of a batch prepared at once: a mention's text is fetched from Graph, and a batch of
/// mentions fetches this many side by side (the governor still paces the calls).
const STEP_CONCURRENCY: usize = 8;
/// Most events claimed and committed together: under a backlog a larger batch means fewer
/// transactions and thread handoffs per event (measured: bench/RESULTS.md); without
/// a backlog a claim takes what is there. A batch slow in Graph stops early (see
/// `handle_batch`).
const BATCH: i64 = 128;

/// Why an event could not be processed now; it is given back and tried again later.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("graph: {0}")]
    Graph(GraphError),
}

pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub rules: Arc<RulesRegistry>,
    /// Held from reading the rule state to committing the decisions of a batch that uses
    /// stateful rules, so that this instance's workers count each other's comments.
    pub state_lock: tokio::sync::Mutex<()>,
    /// Rules switched to shadow automatically are evaluated as shadow rules.
    pub monitor: Arc<RuleMonitor>,
    pub graph: Arc<GraphClient>,
    pub settings: Arc<crate::config::Settings>,
    /// Notified when actions are planned.
    pub actions_wake: Arc<Notify>,
    /// The accounts' own usernames, for rules that look for impersonators.
    pub own_usernames: own_names::OwnUsernames,
}

impl Pipeline {
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        // Subscribed before the first claim: work announced while a batch is in hand (by this
        // instance's inbox writer, or on PostgreSQL by any instance) is not missed.
        let mut signal = self.store.subscribe(WorkChannel::Inbox);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let lease = self.settings.graph_timeout.saturating_mul(LEASE_TIMEOUTS);
            let events = match self.store.claim_events(BATCH, lease, now_ms()).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "claiming inbox events failed");
                    Vec::new()
                }
            };
            if events.is_empty() {
                // Polling stays the fallback: an announcement can be lost (a listener
                // reconnecting), and a retried event becomes due without one.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = signal.wait(Duration::from_millis(500)) => {}
                }
                continue;
            }
            self.handle_batch(events, lease).await;
        }
    }

    /// Prepares every claimed event, then commits all their decisions, planned actions and
    /// completions in ONE transaction (group commit: one fsync for the batch, not three per
    /// event). An event that cannot be processed now is given back with a backoff.
    async fn handle_batch(&self, events: Vec<InboxEvent>, lease: Duration) {
        // A mention's text is fetched from Graph while the batch holds the claim on all its
        // events. Once a third of the lease has gone no further event is started: the rest are
        // handed back at once (not counted as attempts), so that no claim runs out while its
        // batch is still working, which would let another worker process the same events.
        let deadline = Instant::now() + lease / 3;
        // Started in order, STEP_CONCURRENCY at a time; `None` for an event reached too late.
        // (Collected first: a stream over the mapping closure itself is not `Send`.)
        let starts: Vec<_> = events
            .iter()
            .map(|event| self.step_unless_late(event, deadline))
            .collect();
        let prepared: Vec<Option<Result<Step, ProcessError>>> = futures_util::stream::iter(starts)
            .buffered(STEP_CONCURRENCY)
            .collect()
            .await;
        let mut steps: Vec<(&InboxEvent, Step)> = Vec::new();
        let mut unreached: Vec<i64> = Vec::new();
        for (event, result) in events.iter().zip(prepared) {
            match result {
                None => unreached.push(event.id),
                Some(Ok(step)) => steps.push((event, step)),
                Some(Err(e)) => self.give_back(event, &e.to_string()).await,
            }
        }
        if !unreached.is_empty() {
            tracing::info!(
                events = unreached.len(),
                "batch out of time (slow Graph calls): the events it did not reach are handed back"
            );
            metrics::counter!("commentguard_events_released_total")
                .increment(unreached.len() as u64);
            if let Err(e) = self.store.release_events(&unreached).await {
                // Their leases expire instead; only the wait is longer.
                tracing::warn!(error = %e, "handing back unreached events failed");
            }
        }
        let pending: Vec<&Pending> = steps
            .iter()
            .filter_map(|(_, s)| match s {
                Step::Evaluate(p) => Some(p),
                _ => None,
            })
            .collect();
        // Stateful rules: read, evaluate and commit under the lock, so that this instance's
        // next batch reads what this one wrote.
        let _guard = if self.needs_state(&pending) {
            Some(self.state_lock.lock().await)
        } else {
            None
        };
        let snapshot = match self.prefetch(&pending).await {
            Ok(s) => s,
            Err(e) => {
                for (event, step) in &steps {
                    if matches!(step, Step::Evaluate(_)) {
                        self.give_back(event, &e.to_string()).await;
                    }
                }
                steps.retain(|(_, s)| !matches!(s, Step::Evaluate(_)));
                None
            }
        };
        let mut writes: Vec<(NewDecision, Vec<NewAction>)> = Vec::new();
        let mut completed: Vec<i64> = Vec::new();
        for (event, step) in steps {
            let prepared = match step {
                Step::Ready(p) => p,
                Step::Evaluate(p) => self.decide(&p, snapshot.as_ref()),
            };
            let field = field_label(&event.field);
            match prepared {
                Prepared::Done(label) => {
                    metrics::counter!("commentguard_events_processed_total", "field" => field, "outcome" => label)
                        .increment(1);
                }
                Prepared::Decision {
                    label,
                    decision,
                    actions,
                } => {
                    metrics::counter!("commentguard_events_processed_total", "field" => field, "outcome" => label)
                        .increment(1);
                    writes.push((decision, actions));
                }
            }
            completed.push(event.id);
        }
        if completed.is_empty() {
            return;
        }
        match self
            .store
            .record_decisions(&writes, &completed, now_ms())
            .await
        {
            Ok(ids) => {
                for ((d, actions), (id, created)) in writes.iter().zip(ids) {
                    self.decided(d, actions, id, created);
                }
            }
            // The leases expire and the events are claimed again; processing is idempotent.
            Err(e) => {
                tracing::error!(error = %e, events = completed.len(), "recording decisions failed")
            }
        }
    }

    /// Prepares `event`, unless `deadline` has passed when its turn comes (`None`).
    async fn step_unless_late(
        &self,
        event: &InboxEvent,
        deadline: Instant,
    ) -> Option<Result<Step, ProcessError>> {
        if Instant::now() >= deadline {
            return None;
        }
        Some(self.step(event).await)
    }

    /// Gives an event back to be tried again after a backoff.
    async fn give_back(&self, event: &InboxEvent, error: &str) {
        let wait = crate::actions::backoff_from(self.settings.retry_base, event.attempts);
        tracing::warn!(event.id = event.id, event.field = %event.field, attempts = event.attempts, error = %error, "event will be retried");
        metrics::counter!("commentguard_events_processed_total", "field" => field_label(&event.field), "outcome" => "retry")
            .increment(1);
        let _ = self
            .store
            .retry_event(event.id, error, now_ms() + wait.as_millis() as i64, false)
            .await;
    }

    fn needs_state(&self, pending: &[&Pending]) -> bool {
        pending
            .iter()
            .any(|p| self.rules.for_account(&p.account).uses_state())
    }

    /// Reads the rule state the evaluations of `pending` will ask about; `None` when no rule
    /// set involved uses state (then nothing is read or written).
    async fn prefetch(&self, pending: &[&Pending]) -> Result<Option<StateSnapshot>, StoreError> {
        use std::collections::{BTreeMap, BTreeSet};
        // account -> (authors, text keys, earliest time asked about)
        let mut wanted: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>, i64)> = BTreeMap::new();
        let now = now_ms() / 1000;
        for p in pending {
            let set = self.rules.for_account(&p.account);
            if !set.uses_state() {
                continue;
            }
            let (author, text_key) = RuleSet::state_keys(&p.input);
            let since = p.input.time.unwrap_or(now) - set.state_window();
            let w = wanted
                .entry(p.account.as_str())
                .or_insert_with(|| (BTreeSet::new(), BTreeSet::new(), since));
            if !author.is_empty() {
                w.0.insert(author);
            }
            w.1.insert(text_key);
            w.2 = w.2.min(since);
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let snapshot = StateSnapshot::default();
        for (account, (authors, keys, since)) in wanted {
            let authors: Vec<String> = authors.into_iter().collect();
            let keys: Vec<String> = keys.into_iter().collect();
            let rows = self
                .store
                .rule_state(account, &authors, &keys, since)
                .await?;
            snapshot.add(account, rows);
        }
        Ok(Some(snapshot))
    }

    /// Logs, counts and wakes the executor after a decision is committed.
    fn decided(&self, d: &NewDecision, actions: &[NewAction], id: i64, created: bool) {
        tracing::info!(
            decision.id = id,
            comment.id = %d.comment_id,
            comment.kind = %d.kind,
            account.id = %d.account_id,
            rules = ?d.rules,
            actions = ?d.actions,
            note = d.note.as_deref().unwrap_or(""),
            new = created,
            "comment decided"
        );
        if !created {
            return;
        }
        for a in &d.actions {
            metrics::counter!("commentguard_decisions_total", "action" => action_label(a))
                .increment(1);
        }
        if actions.iter().any(|a| a.state == ActionState::Pending) {
            self.actions_wake.notify_one();
        }
    }

    /// Processes and commits one change on its own; returns a metrics label of what happened.
    pub async fn process(&self, event: &InboxEvent) -> Result<&'static str, ProcessError> {
        let step = self.step(event).await?;
        let _guard = match &step {
            Step::Evaluate(p) if self.needs_state(&[p]) => Some(self.state_lock.lock().await),
            _ => None,
        };
        let prepared = match step {
            Step::Ready(p) => p,
            Step::Evaluate(p) => {
                let snapshot = self.prefetch(&[&p]).await?;
                self.decide(&p, snapshot.as_ref())
            }
        };
        match prepared {
            Prepared::Done(label) => {
                self.store.complete_event(event.id, now_ms()).await?;
                Ok(label)
            }
            Prepared::Decision {
                label,
                decision,
                actions,
            } => {
                let ids = self
                    .store
                    .record_decisions(
                        &[(decision.clone(), actions.clone())],
                        &[event.id],
                        now_ms(),
                    )
                    .await?;
                self.decided(&decision, &actions, ids[0].0, ids[0].1);
                Ok(label)
            }
        }
    }

    /// Everything up to the rule engine: fetches what a mention needs, routes other fields.
    async fn step(&self, event: &InboxEvent) -> Result<Step, ProcessError> {
        let change = Change::read(&event.payload);
        // When Meta last delivered for the account (a sweep's events are not deliveries). Set
        // here, off the acknowledgement's path, from the time the event was stored.
        if !change.from_sweep() {
            metrics::gauge!("commentguard_last_notification_timestamp_seconds",
                "account" => event.account_id.clone())
            .set(event.received_at as f64 / 1000.0);
        }
        let value = change.value.as_ref();
        match event.field.as_str() {
            "comments" | "live_comments" => match CommentChange::read(value) {
                Some(c) => self.comment(event, c).await,
                None => {
                    tracing::warn!(event.id = event.id, "comment without an id skipped");
                    Ok(Step::Ready(Prepared::Done("invalid")))
                }
            },
            "mentions" => match MentionChange::read(value) {
                Some(m) => self.mention(event, m).await,
                None => Ok(Step::Ready(Prepared::Done("invalid"))),
            },
            "story_insights" => {
                // A story's final counts: stored once (a redelivery changes nothing).
                let outcome = crate::insights::record_final(
                    self.store.as_ref(),
                    &event.account_id,
                    value,
                    now_ms(),
                )
                .await?;
                tracing::info!(event.id = event.id, media.id = ?id_string(value.get("media_id")), outcome = ?outcome, "story insights received");
                Ok(Step::Ready(Prepared::Done(match outcome {
                    crate::insights::FinalOutcome::Stored => "stored",
                    crate::insights::FinalOutcome::Duplicate => "duplicate",
                    crate::insights::FinalOutcome::Invalid => "invalid",
                })))
            }
            other => {
                tracing::info!(
                    event.id = event.id,
                    event.field = other,
                    "unknown field recorded and skipped"
                );
                Ok(Step::Ready(Prepared::Done("unknown_field")))
            }
        }
    }

    async fn comment(&self, event: &InboxEvent, c: CommentChange) -> Result<Step, ProcessError> {
        let own = c.by_self || c.author_id.as_deref() == Some(event.account_id.as_str());
        if own {
            // The account's own comments (including our replies) are never moderated: doing so
            // would loop on ourselves.
            tracing::debug!(comment.id = %c.id, "own comment not moderated");
            return Ok(Step::Ready(Prepared::Done("own_comment")));
        }
        let live =
            event.field == "live_comments" || c.media_product_type.as_deref() == Some("LIVE");
        let account_username = self.account_username(&event.account_id).await;
        let cid = c.id;
        let input = Input {
            text: c.text,
            username: c.author_username,
            user_id: c.author_id,
            comment_id: Some(cid.clone()),
            media_id: c.media_id,
            account_id: Some(event.account_id.clone()),
            account_username,
            media_product_type: c.media_product_type,
            parent_id: c.parent_id,
            kind: Kind::Comment,
            time: event.entry_time,
        };
        let kind = if event.field == "live_comments" {
            DecisionKind::LiveComment
        } else {
            DecisionKind::Comment
        };
        let not_callable =
            live.then_some("live media: comments cannot be hidden or answered through the API");
        Ok(Step::evaluate(event, &cid, kind, input, not_callable))
    }

    /// The account's own username when its rules look for impersonators (see [`own_names`]).
    async fn account_username(&self, account: &str) -> Option<String> {
        if !self.rules.for_account(account).uses_impersonation() {
            return None;
        }
        self.own_usernames
            .get(&self.settings, &self.graph, account)
            .await
    }

    async fn mention(&self, event: &InboxEvent, m: MentionChange) -> Result<Step, ProcessError> {
        let MentionChange {
            media_id,
            comment_id: mention_comment,
        } = m;
        let Some(token) = self.settings.token_for(&event.account_id) else {
            // Without a token the mention's text cannot be fetched (Meta sends none).
            let cid = mention_comment.clone().unwrap_or_else(|| media_id.clone());
            let d = NewDecision {
                inbox_id: Some(event.id),
                comment_id: cid,
                kind: DecisionKind::Mention,
                account_id: event.account_id.clone(),
                media_id: Some(media_id),
                matched: "[]".into(),
                note: Some(
                    "dry run: no access token, so the mention's text was not fetched".into(),
                ),
                received_at: event.received_at,
                decided_at: now_ms(),
                ..Default::default()
            };
            return Ok(Step::Ready(Prepared::Decision {
                label: "dry_run",
                decision: d,
                actions: Vec::new(),
            }));
        };
        let ctx = AccountCtx {
            account_id: event.account_id.clone(),
            token,
        };
        let (text, username, key) = match &mention_comment {
            Some(c) => {
                let m = self
                    .graph
                    .mentioned_comment(&ctx, &event.account_id, c)
                    .await
                    .map_err(ProcessError::Graph)?;
                (m.text, m.username, c.clone())
            }
            None => {
                let m = self
                    .graph
                    .mentioned_media(&ctx, &event.account_id, &media_id)
                    .await
                    .map_err(ProcessError::Graph)?;
                (m.caption.unwrap_or_default(), m.username, media_id.clone())
            }
        };
        let account_username = self.account_username(&event.account_id).await;
        let input = Input {
            text,
            username,
            account_username,
            comment_id: mention_comment.clone(),
            media_id: Some(media_id),
            account_id: Some(event.account_id.clone()),
            kind: Kind::Mention,
            time: event.entry_time,
            ..Default::default()
        };
        Ok(Step::evaluate(
            event,
            &key,
            DecisionKind::Mention,
            input,
            None,
        ))
    }
}

fn field_label(field: &str) -> &'static str {
    match field {
        "comments" => "comments",
        "live_comments" => "live_comments",
        "mentions" => "mentions",
        "story_insights" => "story_insights",
        _ => "other",
    }
}
