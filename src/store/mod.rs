//! Persistence: the durable inbox, the moderation log (decisions), the action log and dead
//! letters, behind the [`Store`] trait.
//!
//! [`sql::SqlStore`] implements it for SQLite (embedded, one instance) and PostgreSQL (several
//! instances) over sqlx's `Any` driver: the SQL is shared and the few statements that differ
//! (claims with `FOR UPDATE SKIP LOCKED`, substring search, `LISTEN/NOTIFY`) switch on
//! [`Dialect`]. Times are unix milliseconds.
//!
//! Workers learn of new work through [`Store::subscribe`]: a [`WorkSignal`] that wakes when
//! this instance stores work and, on PostgreSQL, when any instance sharing the database does.
//! Polling with a bounded wait stays the fallback, so a lost wake-up costs latency, never work.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::watch;

pub mod sql;
pub mod sqlite_inbox;

pub use sql::SqlStore;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("inbox database error: {0}")]
    Inbox(String),
    #[error("stored data is invalid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Row ids for an `IN (...)` list. Ids are integers, so they are written into the statement
/// itself: one statement for a whole batch, whatever its size.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The statement of [`Store::release_events`], the same for both engines' inbox tables.
fn release_statement(ids: &[i64]) -> String {
    format!(
        "UPDATE inbox SET lease_until = 0, attempts = attempts - 1 \
         WHERE state = 'pending' AND attempts > 0 AND id IN ({})",
        id_list(ids)
    )
}

/// The outcome of the one delivery an insert was given.
fn single_outcome(mut outcomes: Vec<InsertOutcome>) -> Result<InsertOutcome> {
    outcomes
        .pop()
        .ok_or_else(|| StoreError::Invalid("no outcome for the delivery".into()))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One change of a verified notification, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Per-change key (`comments:ID`, `mentions:MEDIA:COMMENT`, ...): a redelivery is stored once.
    pub dedup_key: String,
    pub account_id: String,
    pub field: String,
    /// `entry[].time`, seconds, when Meta sent it.
    pub entry_time: Option<i64>,
    /// The change as JSON: `{"field":..,"value":..}` plus the entry id.
    pub payload: String,
}

/// What one verified POST becomes.
#[derive(Debug, Clone)]
pub enum Delivery {
    Events(Vec<NewEvent>),
    /// Signed correctly but not a notification: kept for operators.
    DeadLetter {
        reason: String,
        body: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub stored: usize,
    pub duplicates: usize,
    pub dead_letters: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEvent {
    pub id: i64,
    pub dedup_key: String,
    pub account_id: String,
    pub field: String,
    pub entry_time: Option<i64>,
    pub payload: String,
    pub received_at: i64,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InboxStats {
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_received_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub received_at: i64,
    pub reason: String,
    /// The body as text (lossy for non-UTF-8 bytes).
    pub body: String,
}

/// A decision about to be recorded, with the actions it plans.
#[derive(Debug, Clone, Default)]
pub struct NewDecision {
    pub inbox_id: Option<i64>,
    pub comment_id: String,
    /// `comment`, `live_comment` or `mention`.
    pub kind: String,
    pub account_id: String,
    pub media_id: Option<String>,
    pub author: Option<String>,
    pub author_id: Option<String>,
    pub text: Option<String>,
    pub normalized: Option<String>,
    /// JSON array of the rules that matched, with mode, actions and evidence.
    pub matched: String,
    /// Ids of every matched rule (enforced and shadow).
    pub rules: Vec<String>,
    /// Names of the final enforced actions.
    pub actions: Vec<String>,
    /// Why nothing was called, when that is the case (dry run, live media, own comment).
    pub note: Option<String>,
    pub received_at: i64,
    pub decided_at: i64,
    /// What the rule engine's stateful conditions learn from this comment; written with the
    /// decision when the decision is new, so a re-processed event is counted once.
    pub rule_event: Option<RuleEvent>,
}

/// One evaluated comment as flood, wave and repeat-offender conditions count it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleEvent {
    pub account_id: String,
    /// The engine's author key (normalized username, else user id).
    pub author: String,
    /// The engine's text key of the normalized text.
    pub text_key: String,
    /// The comment's time as the engine saw it: unix SECONDS.
    pub time: i64,
    /// The decision enforced at least one action.
    pub enforced: bool,
}

/// What one batch's stateful conditions need, read before it is evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleStateRows {
    /// `(author, time, enforced)` of every event by the asked authors.
    pub author_events: Vec<(String, i64, bool)>,
    /// `(text_key, author, latest time)`: each distinct author of each asked text key.
    pub text_authors: Vec<(String, String, i64)>,
}

/// Decisions of one account with one exact list of matched rules: rule statistics are sums of
/// these, so the database groups and the caller splits the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatchGroup {
    pub account_id: String,
    /// Matched rule ids (empty: decisions that matched nothing).
    pub rules: Vec<String>,
    /// Decisions decided at or after `since`.
    pub count: i64,
    /// Of those, decided at or after `recent`.
    pub recent: i64,
}

/// A rule switched to shadow automatically (or cleared by an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoShadow {
    /// `""` for the default rules folder, else the account whose folder holds the rule.
    pub scope: String,
    pub rule_id: String,
    pub state: AutoShadowState,
    pub matches: i64,
    pub decisions: i64,
    pub window_ms: i64,
    /// The rule file's modification time when it was switched (unix milliseconds).
    pub file_mtime: i64,
    /// When it was switched or cleared (unix milliseconds).
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShadowState {
    Shadowed,
    /// An operator vouched for the rule's current version: not switched again until it changes.
    Cleared,
}

impl AutoShadowState {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoShadowState::Shadowed => "shadowed",
            AutoShadowState::Cleared => "cleared",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Hide,
    Unhide,
    Delete,
    Reply,
    MentionReply,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Hide => "hide",
            ActionKind::Unhide => "unhide",
            ActionKind::Delete => "delete",
            ActionKind::Reply => "reply",
            ActionKind::MentionReply => "mention_reply",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        Some(match s {
            "hide" => ActionKind::Hide,
            "unhide" => ActionKind::Unhide,
            "delete" => ActionKind::Delete,
            "reply" => ActionKind::Reply,
            "mention_reply" => ActionKind::MentionReply,
            _ => return None,
        })
    }
}

/// `pending` (to be tried), `done`, `failed` (permanent, with its reason), `skipped` (dry run
/// or not applicable: recorded, never called).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    Pending,
    Done,
    Failed,
    Skipped,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Done => "done",
            ActionState::Failed => "failed",
            ActionState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> ActionState {
        match s {
            "done" => ActionState::Done,
            "failed" => ActionState::Failed,
            "skipped" => ActionState::Skipped,
            _ => ActionState::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewAction {
    pub kind: ActionKind,
    /// Reply text, or for a mention reply `{"media_id":..,"comment_id":..,"message":..}`.
    pub payload: serde_json::Value,
    pub state: ActionState,
    /// Why it was skipped, when it was.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRow {
    pub id: i64,
    pub decision_id: i64,
    pub account_id: String,
    pub comment_id: String,
    pub kind: ActionKind,
    pub payload: serde_json::Value,
    pub seq: i64,
    pub state: ActionState,
    /// How many times it was claimed: above 1, an earlier try may have reached Meta.
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
    pub result_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What happened to a claimed action.
#[derive(Debug, Clone)]
pub enum ActionUpdate {
    Done { result_id: Option<String> },
    Retry { error: String, next_at: i64 },
    Failed { error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionRow {
    pub id: i64,
    pub comment_id: String,
    pub kind: String,
    pub account_id: String,
    pub media_id: Option<String>,
    pub author: Option<String>,
    pub author_id: Option<String>,
    pub text: Option<String>,
    pub normalized: Option<String>,
    pub matched: serde_json::Value,
    pub rules: Vec<String>,
    pub actions: Vec<String>,
    pub note: Option<String>,
    pub received_at: i64,
    pub decided_at: i64,
    /// The Graph calls planned for it and where each stands.
    pub action_log: Vec<ActionRow>,
}

impl DecisionRow {
    /// `none`, `pending`, `done`, `failed` or `skipped`, derived from the action log.
    pub fn outcome(&self) -> &'static str {
        let states: Vec<ActionState> = self.action_log.iter().map(|a| a.state).collect();
        if states.is_empty() {
            "none"
        } else if states.contains(&ActionState::Pending) {
            "pending"
        } else if states.contains(&ActionState::Failed) {
            "failed"
        } else if states.iter().all(|s| *s == ActionState::Skipped) {
            "skipped"
        } else {
            "done"
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub since_ms: Option<i64>,
    pub rule: Option<String>,
    pub action: Option<String>,
    pub account: Option<String>,
    pub comment_id: Option<String>,
    /// Cursor: only decisions with a smaller id (older), for paging back.
    pub before_id: Option<i64>,
    /// Only decisions with a larger id (newer), for following.
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// A story seen in an account's story listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStory {
    pub story_id: String,
    pub account_id: String,
    pub media_type: Option<String>,
    pub posted_at: i64,
    pub first_seen: i64,
    pub expires_at: i64,
    /// The first snapshot's due time.
    pub next_snapshot_at: Option<i64>,
}

/// A tracked story and where its snapshot schedule stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryRow {
    pub story_id: String,
    pub account_id: String,
    pub media_type: Option<String>,
    pub posted_at: i64,
    pub first_seen: i64,
    pub expires_at: i64,
    pub next_snapshot_at: Option<i64>,
    pub snapshot_count: i64,
    /// `ok`, `not_enough_viewers` or `error`, of the last snapshot.
    pub last_status: Option<String>,
    /// The last snapshot that read the numbers (`ok` or `not_enough_viewers`).
    pub last_snapshot_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// A snapshot about to be recorded.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub story_id: String,
    pub account_id: String,
    pub taken_at: i64,
    /// `ok`, `not_enough_viewers` or `error`.
    pub status: String,
    /// JSON object of metric name to count (a number, or `"<5"`).
    pub metrics: String,
    /// The Graph API's answers as received (JSON).
    pub raw: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRow {
    pub id: i64,
    pub story_id: String,
    pub account_id: String,
    pub taken_at: i64,
    pub status: String,
    pub metrics: serde_json::Value,
    pub raw: serde_json::Value,
    pub error: Option<String>,
}

/// A story's final counts from a `story_insights` notification.
#[derive(Debug, Clone)]
pub struct NewStoryFinal {
    pub story_id: String,
    pub account_id: String,
    pub received_at: i64,
    /// JSON object of metric name to count (a number, or `"<5"`).
    pub metrics: String,
    /// The notification's value as received (JSON).
    pub raw: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryFinalRow {
    pub story_id: String,
    pub account_id: String,
    pub received_at: i64,
    pub metrics: serde_json::Value,
    pub raw: serde_json::Value,
}

/// Which stories, snapshots or finals to list. Times are unix milliseconds.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    /// Stories posted, snapshots taken, finals received at or after this.
    pub since_ms: Option<i64>,
    pub account: Option<String>,
    pub story_id: Option<String>,
    /// 0: no limit.
    pub limit: i64,
}

/// Which kind of work a [`WorkSignal`] announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkChannel {
    /// New events in the inbox.
    Inbox,
    /// New pending actions.
    Actions,
}

impl WorkChannel {
    /// The PostgreSQL `LISTEN/NOTIFY` channel it travels on between instances.
    pub fn pg_channel(self) -> &'static str {
        match self {
            WorkChannel::Inbox => "commentguard_inbox",
            WorkChannel::Actions => "commentguard_actions",
        }
    }
}

/// Wakes a worker when work was announced on one [`WorkChannel`].
///
/// An announcement made after the subscription and before a [`WorkSignal::wait`] is
/// remembered, so the loop "subscribe once; claim until empty; wait" never misses one. Several
/// announcements between two waits wake once.
#[derive(Debug, Clone)]
pub struct WorkSignal {
    rx: watch::Receiver<u64>,
}

impl WorkSignal {
    pub fn new(rx: watch::Receiver<u64>) -> Self {
        WorkSignal { rx }
    }

    /// Waits until work was announced since the last wait (or the subscription), or until
    /// `max_wait` passes. Returns `true` when woken by an announcement, `false` on time out:
    /// then poll anyway, the announcement may have been lost (a listener reconnecting).
    pub async fn wait(&mut self, max_wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + max_wait;
        match tokio::time::timeout_at(deadline, self.rx.changed()).await {
            Ok(Ok(())) => {
                self.rx.borrow_and_update();
                true
            }
            // The store is gone: nothing will announce anything, polling is all that is left.
            Ok(Err(_)) => {
                tokio::time::sleep_until(deadline).await;
                false
            }
            Err(_) => false,
        }
    }
}

/// The whole persistence interface. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;

    /// Answers when the database answers.
    async fn ping(&self) -> Result<()>;

    /// Stores deliveries in ONE transaction (group commit); one outcome per delivery.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<InsertOutcome>>;

    /// `true` when [`Store::insert_delivery`] already gathers concurrent callers into one
    /// transaction (SQLite's inbox writer thread), so that callers need no batching of their own.
    fn groups_inserts(&self) -> bool {
        false
    }

    /// Stores one delivery (taken by value: no copy on the way to a writer thread). A store
    /// that [groups inserts](Store::groups_inserts) commits it with whatever else is queued.
    async fn insert_delivery(&self, delivery: Delivery) -> Result<InsertOutcome> {
        single_outcome(
            self.insert_deliveries(std::slice::from_ref(&delivery))
                .await?,
        )
    }

    /// Claims up to `limit` pending events whose lease has expired, leasing them until
    /// `now + lease`. A crashed worker's claim returns when its lease expires.
    async fn claim_events(&self, limit: i64, lease: Duration, now: i64) -> Result<Vec<InboxEvent>>;

    async fn complete_event(&self, id: i64, now: i64) -> Result<()>;

    /// Gives the event back to be tried again not before `not_before`; after `give_up`
    /// attempts it is marked failed with the error.
    async fn retry_event(&self, id: i64, error: &str, not_before: i64, give_up: bool)
        -> Result<()>;

    /// Hands claimed events back untouched: claimable again at once, and the claim not
    /// counted as an attempt (they were not tried). Events no longer pending are left alone.
    async fn release_events(&self, ids: &[i64]) -> Result<()>;

    async fn inbox_stats(&self) -> Result<InboxStats>;

    async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>>;

    /// Records a decision and its planned actions atomically. Returns the decision id, or the
    /// existing one's id with `false` when a decision for (comment, kind) already exists
    /// (a redelivery or a re-claimed event): then nothing new is planned.
    async fn record_decision(&self, d: &NewDecision, actions: &[NewAction]) -> Result<(i64, bool)>;

    /// Records several decisions (each with its planned actions) and marks the inbox events
    /// `completed` done, all in ONE transaction: the pipeline's group commit. One
    /// `(decision id, created)` per decision, as [`Store::record_decision`] gives.
    async fn record_decisions(
        &self,
        decisions: &[(NewDecision, Vec<NewAction>)],
        completed: &[i64],
        now: i64,
    ) -> Result<Vec<(i64, bool)>>;

    /// Plans one more action for an existing decision (an undo). Idempotent by `action_key`.
    async fn add_action(
        &self,
        decision_id: i64,
        action_key: &str,
        action: &NewAction,
        now: i64,
    ) -> Result<Option<i64>>;

    /// Claims due actions whose earlier siblings (same decision, lower seq) are settled.
    async fn claim_actions(&self, limit: i64, lease: Duration, now: i64) -> Result<Vec<ActionRow>>;

    async fn update_action(&self, id: i64, update: &ActionUpdate, now: i64) -> Result<()>;

    /// Records the outcomes of several claimed actions in ONE transaction (the executor's group
    /// commit).
    async fn update_actions(&self, updates: &[(i64, ActionUpdate)], now: i64) -> Result<()>;

    /// The earliest `next_at` among pending actions, to sleep until then.
    async fn next_action_due(&self) -> Result<Option<i64>>;

    async fn list_decisions(&self, filter: &DecisionFilter) -> Result<Vec<DecisionRow>>;

    /// Removes comment texts decided before `before` (the decisions stay), and the processed
    /// inbox events received before then (their payloads hold the same texts). Returns how
    /// many decisions lost their text.
    async fn purge_texts(&self, before: i64) -> Result<u64>;

    // --- rule statistics and automatic shadowing -----------------------------------------

    /// Decisions at or after `since`, grouped by account and matched-rule list, each group
    /// also counting those at or after `recent`: one indexed range scan however many rules.
    async fn rule_match_counts(&self, since: i64, recent: i64) -> Result<Vec<RuleMatchGroup>>;

    /// Every auto-shadow row, shadowed and cleared.
    async fn auto_shadows(&self) -> Result<Vec<AutoShadow>>;

    /// Switches a rule to shadow, unless a row for it already applies to the file's current
    /// version (its `at` is at or after `s.file_mtime`): another instance switched it, or an
    /// operator cleared it. Returns `true` when this call made the switch.
    async fn set_auto_shadow(&self, s: &AutoShadow) -> Result<bool>;

    /// Clears a shadowed rule (in `scope`, or in every scope when `None`): an operator vouches
    /// for its current version. Returns how many were cleared.
    async fn clear_auto_shadow(&self, rule_id: &str, scope: Option<&str>, now: i64) -> Result<u64>;

    // --- shared rule state ---------------------------------------------------------------

    /// The rule events of `account_id` at or after `since` (unix seconds) that stateful
    /// conditions about `authors` and `text_keys` count.
    async fn rule_state(
        &self,
        account_id: &str,
        authors: &[String],
        text_keys: &[String],
        since: i64,
    ) -> Result<RuleStateRows>;

    /// Deletes rule events recorded before `before` (unix milliseconds). Returns how many.
    async fn prune_rule_events(&self, before: i64) -> Result<u64>;

    // --- story insights -------------------------------------------------------------------

    /// Records a story at its first sighting; a story already known is left as it is (its
    /// first sighting and schedule stay). Returns the stored row and whether it is new.
    async fn upsert_story(&self, story: &NewStory) -> Result<(StoryRow, bool)>;

    /// Brings the story's next snapshot forward to `at` (never later than already planned).
    /// Closed stories are left alone.
    async fn set_story_due(&self, story_id: &str, at: i64) -> Result<()>;

    /// Claims up to `limit` open, unexpired stories whose snapshot is due at `now`: their
    /// `next_snapshot_at` moves to `now + lease`, so a crashed poller's claim comes back and
    /// several instances claim disjoint stories.
    async fn claim_due_stories(
        &self,
        limit: i64,
        lease: Duration,
        now: i64,
    ) -> Result<Vec<StoryRow>>;

    /// Records a snapshot and plans the story's next one (`None`: nothing planned).
    async fn record_snapshot(
        &self,
        snap: &NewSnapshot,
        next_snapshot_at: Option<i64>,
    ) -> Result<i64>;

    /// The earliest time an open story needs attention: a due snapshot or its expiry.
    async fn next_story_due(&self) -> Result<Option<i64>>;

    /// Closes the open stories that expired at or before `now` and returns them.
    async fn close_expired_stories(&self, now: i64) -> Result<Vec<StoryRow>>;

    /// Open (not yet expired and closed) stories.
    async fn count_open_stories(&self) -> Result<i64>;

    /// Stores a story's final counts once; a redelivery changes nothing and returns `false`.
    async fn record_story_final(&self, f: &NewStoryFinal) -> Result<bool>;

    /// Stories, newest posted first.
    async fn list_stories(&self, filter: &StoryFilter) -> Result<Vec<StoryRow>>;

    /// Snapshots, oldest first.
    async fn list_story_snapshots(&self, filter: &StoryFilter) -> Result<Vec<SnapshotRow>>;

    /// Final counts, oldest first.
    async fn list_story_finals(&self, filter: &StoryFilter) -> Result<Vec<StoryFinalRow>>;

    /// Subscribes to announcements of new work on `channel`: inbox events stored and pending
    /// actions planned by this instance, and on PostgreSQL by every instance on the database.
    /// Subscribe once, before the first claim, and keep the signal across the loop.
    fn subscribe(&self, channel: WorkChannel) -> WorkSignal;

    /// Waits for work announced on `channel` after this call, or `max_wait`. Returns `true`
    /// when woken by an announcement. A loop should prefer [`Store::subscribe`], which also
    /// remembers announcements made while it was busy claiming.
    async fn wait_for_work(&self, channel: WorkChannel, max_wait: Duration) -> bool {
        self.subscribe(channel).wait(max_wait).await
    }
}
