//! Persistence, in rooms: one module per thing the service keeps, each behind its own small
//! trait, all implemented by one [`SqlStore`] for SQLite (embedded, one instance) and
//! PostgreSQL (several instances).
//!
//! - [`inbox`]: verified notifications as received, claimed by the pipeline; dead letters.
//! - [`decisions`]: the moderation log and its queries.
//! - [`actions`]: the action queue of Graph calls and their outcomes.
//! - [`rule_state`]: rule events, match counts and automatic shadowing.
//! - [`stories`]: stories, their snapshots and final counts.
//! - [`sweeps`]: where each account's sweep of its media stands.
//! - [`labels`]: people's "spam" / "not spam" on comments, with the texts they label.
//! - [`people`]: who signs in to the review page, in which role, with a password hash.
//! - [`instances`]: who holds a claim, and taking back the claims of a run that is gone.
//! - [`work`]: waking workers when work was stored ([`WorkSignal`]).
//! - [`db`]: connecting, migrating, transactions, and the one place where the two engines'
//!   SQL differs ([`Dialect`]).
//!
//! A caller takes the narrowest room it needs (the insights poller a [`StoryStore`], the
//! executor an [`ActionStore`], ingress an [`InboxStore`]); [`Store`] is all of them, for the
//! pipeline, the admin API and the commands. The store knows nothing of HTTP, Graph or rules.
//! Times are unix milliseconds unless a field says otherwise.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub mod actions;
pub mod backup;
pub mod db;
pub mod decisions;
pub mod inbox;
pub mod instances;
pub mod labels;
pub mod people;
pub mod replies;
pub mod rule_state;
pub mod stories;
pub mod sweeps;
pub mod tokens;
pub mod work;

pub use actions::{ActionKind, ActionRow, ActionState, ActionStore, ActionUpdate, NewAction};
pub use db::{Dialect, SqlStore};
pub use decisions::{DecisionFilter, DecisionKind, DecisionRow, DecisionStore, NewDecision};
pub use inbox::{
    DeadLetter, Delivery, InboxEvent, InboxStats, InboxStore, InsertOutcome, NewEvent,
};
pub use instances::{InstanceStore, TakenBack};
pub use labels::{Label, LabelFilter, LabelRow, LabelStore, NewLabel};
pub use people::{PeopleStore, Person, Role};
pub use replies::{SavedReply, SavedReplyStore};
pub use rule_state::{
    AutoShadow, AutoShadowState, RuleDayCount, RuleEvent, RuleMatchGroup, RuleStateRows,
    RuleStateStore, RuleVersion,
};
pub use stories::{
    NewSnapshot, NewStory, NewStoryFinal, SnapshotRow, StoryFilter, StoryFinalRow, StoryRow,
    StoryStore,
};
pub use sweeps::{SweepProgress, SweepRun, SweepStore};
pub use tokens::{RenewedToken, TokenStore};
pub use work::{WorkChannel, WorkSignal, WorkSignals};

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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Every room together: what the pipeline (inbox, decisions, actions, rule state, story
/// finals), the admin API and the commands use.
#[async_trait]
pub trait Store:
    InboxStore
    + DecisionStore
    + ActionStore
    + RuleStateStore
    + StoryStore
    + InstanceStore
    + SweepStore
    + LabelStore
    + PeopleStore
    + TokenStore
    + SavedReplyStore
    + WorkSignals
{
    fn dialect(&self) -> Dialect;

    /// Answers when the database (and on SQLite the inbox file) answers.
    async fn ping(&self) -> Result<()>;

    /// Answers when the database takes a write where deliveries are written (on SQLite the
    /// inbox file; on PostgreSQL, a ping).
    async fn probe_write(&self) -> Result<()> {
        self.ping().await
    }

    /// Removes comment texts decided before `before` (the decisions stay), and the processed
    /// inbox events received before then (their payloads hold the same texts). Returns how
    /// many decisions lost their text.
    async fn purge_texts(&self, before: i64) -> Result<u64> {
        let texts = self.forget_texts(before).await?;
        let events = self.prune_done_events(before).await?;
        if events > 0 {
            tracing::info!(events, "processed inbox events past retention deleted");
        }
        Ok(texts)
    }
}
