//! The action queue: the Graph calls decisions plan (hide, unhide, delete, reply, mention
//! reply), claimed by the executor with a lease, in order within their decision, retried when
//! due, and their outcomes (done with the id Meta gave, failed with the reason, skipped).
//!
//! Owns the `actions` table. Rows are planned by [`super::decisions`] in the decision's own
//! transaction (through `insert_planned`) or added later to an existing decision (an undo);
//! must not read or change decisions, the inbox or rule state.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{placeholders, values_list, Dialect, SqlStore, ROW_CHUNK};
use super::instances::Claim;
use super::work::{WorkChannel, WorkSignals};
use super::{Result, StoreError};

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

/// The action queue. Every method is one transaction.
#[async_trait]
pub trait ActionStore: WorkSignals {
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

    /// How many actions on these comments are still pending.
    async fn pending_for_comments(&self, comment_ids: &[String]) -> Result<i64>;
}

pub(super) const ACTION_COLUMNS: &str = "id, decision_id, account_id, comment_id, kind, payload, seq, state, attempts, next_at, last_error, result_id, created_at, updated_at";

pub(super) fn action_from_row(r: &AnyRow) -> Result<ActionRow> {
    let kind: String = r.try_get("kind")?;
    let payload: String = r.try_get("payload")?;
    let state: String = r.try_get("state")?;
    Ok(ActionRow {
        id: r.try_get("id")?,
        decision_id: r.try_get("decision_id")?,
        account_id: r.try_get("account_id")?,
        comment_id: r.try_get("comment_id")?,
        kind: ActionKind::parse(&kind)
            .ok_or_else(|| StoreError::Invalid(format!("unknown action kind {kind:?}")))?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        seq: r.try_get("seq")?,
        state: ActionState::parse(&state),
        attempts: r.try_get("attempts")?,
        next_at: r.try_get("next_at")?,
        last_error: r.try_get("last_error")?,
        result_id: r.try_get("result_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl ActionStore for SqlStore {
    async fn add_action(
        &self,
        decision_id: i64,
        action_key: &str,
        action: &NewAction,
        now: i64,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT account_id, comment_id FROM decisions WHERE id = $1")
            .bind(decision_id)
            .fetch_one(&mut *tx)
            .await?;
        let account: String = row.try_get("account_id")?;
        let comment: String = row.try_get("comment_id")?;
        let seq: i64 = sqlx::query(
            "SELECT COALESCE(MAX(seq), -1) + 1 AS seq FROM actions WHERE decision_id = $1",
        )
        .bind(decision_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("seq")?;
        let planned = Planned {
            action_key: action_key.to_string(),
            decision_id,
            account_id: &account,
            comment_id: &comment,
            action,
            seq,
            at: now,
        };
        let id = insert_one(&mut tx, self.dialect, planned).await?;
        let planned = id.is_some() && action.state == ActionState::Pending;
        if planned {
            self.notify_in(&mut tx, WorkChannel::Actions).await?;
        }
        tx.commit().await?;
        if planned {
            self.work.announce(WorkChannel::Actions);
        }
        Ok(id)
    }

    async fn claim_actions(&self, limit: i64, lease: Duration, now: i64) -> Result<Vec<ActionRow>> {
        let claim = Claim {
            table: "actions",
            key: "id",
            alias: "a",
            set: "lease_until = $1, attempts = attempts + 1, updated_at = $2",
            // A decision's actions run in order: none while an earlier one is pending.
            due: "a.state = 'pending' AND a.next_at <= $2 \
                  AND NOT EXISTS (SELECT 1 FROM actions b WHERE b.decision_id = a.decision_id \
                                  AND b.seq < a.seq AND b.state = 'pending')",
            lease: "a.lease_until",
            owner: "a.claimed_by",
            order: "a.next_at, a.id",
            returning: ACTION_COLUMNS,
        };
        let mut actions = self
            .claim(&claim, limit, lease, now, action_from_row)
            .await?;
        actions.sort_by_key(|a| (a.next_at, a.id));
        Ok(actions)
    }

    async fn update_action(&self, id: i64, update: &ActionUpdate, now: i64) -> Result<()> {
        action_update_query(id, update, now)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn update_actions(&self, updates: &[(i64, ActionUpdate)], now: i64) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (id, update) in updates {
            action_update_query(*id, update, now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pending_for_comments(&self, comment_ids: &[String]) -> Result<i64> {
        let mut n = 0;
        for chunk in comment_ids.chunks(500) {
            let list = placeholders(1, chunk.len());
            let sql = format!(
                "SELECT COUNT(*) AS n FROM actions WHERE state = 'pending' AND comment_id IN ({list})"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            let c: i64 = q.fetch_one(&self.pool).await?.try_get("n")?;
            n += c;
        }
        Ok(n)
    }

    async fn next_action_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN a.lease_until > a.next_at THEN a.lease_until ELSE a.next_at END) AS due \
             FROM actions a WHERE a.state = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM actions b WHERE b.decision_id = a.decision_id \
                             AND b.seq < a.seq AND b.state = 'pending')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("due")?)
    }
}

fn action_update_query(
    id: i64,
    update: &ActionUpdate,
    now: i64,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>> {
    match update {
        ActionUpdate::Done { result_id } => sqlx::query(
            "UPDATE actions SET state = 'done', result_id = $1, last_error = NULL, lease_until = 0, updated_at = $2 WHERE id = $3",
        )
        .bind(result_id.clone())
        .bind(now)
        .bind(id),
        ActionUpdate::Retry { error, next_at } => sqlx::query(
            "UPDATE actions SET next_at = $1, last_error = $2, lease_until = 0, updated_at = $3 WHERE id = $4",
        )
        .bind(*next_at)
        .bind(error.clone())
        .bind(now)
        .bind(id),
        ActionUpdate::Failed { error } => sqlx::query(
            "UPDATE actions SET state = 'failed', last_error = $1, lease_until = 0, updated_at = $2 WHERE id = $3",
        )
        .bind(error.clone())
        .bind(now)
        .bind(id),
    }
}

/// The columns every planned action is inserted with; [`Planned::bind`] binds one row.
const ACTION_INSERT: &str =
    "INSERT INTO actions (action_key, decision_id, account_id, comment_id, \
    kind, payload, seq, state, last_error, next_at, created_at, updated_at) VALUES";
const ACTION_INSERT_WIDTH: usize = 12;

/// One action to insert: due, created and updated `at`.
pub(super) struct Planned<'a> {
    /// Unique: an action planned twice (a redelivery, an undo clicked twice) is stored once.
    pub action_key: String,
    pub decision_id: i64,
    pub account_id: &'a str,
    pub comment_id: &'a str,
    pub action: &'a NewAction,
    /// Its place among its decision's actions: a later one waits for the earlier ones.
    pub seq: i64,
    pub at: i64,
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl<'a> Planned<'a> {
    /// Binds one row of [`ACTION_INSERT`].
    fn bind<'q>(&'q self, q: Query<'q>) -> Query<'q> {
        let a = self.action;
        q.bind(self.action_key.as_str())
            .bind(self.decision_id)
            .bind(self.account_id)
            .bind(self.comment_id)
            .bind(a.kind.as_str())
            .bind(a.payload.to_string())
            .bind(self.seq)
            .bind(a.state.as_str())
            .bind(a.note.clone())
            .bind(self.at)
            .bind(self.at)
            .bind(self.at)
    }
}

/// Inserts planned actions inside `tx`, in one multi-row statement per chunk; an action whose
/// key exists already is left as it is.
pub(super) async fn insert_planned(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    dialect: Dialect,
    planned: &[Planned<'_>],
) -> Result<()> {
    for chunk in planned.chunks(ROW_CHUNK) {
        let sql = format!(
            "{ACTION_INSERT} {} ON CONFLICT (action_key) DO NOTHING",
            values_list(dialect, chunk.len(), ACTION_INSERT_WIDTH)
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = p.bind(q);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts one action inside `tx`; its id, or `None` when its key exists already.
async fn insert_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    planned: Planned<'_>,
) -> Result<Option<i64>> {
    let sql = format!(
        "{ACTION_INSERT} {} ON CONFLICT (action_key) DO NOTHING RETURNING id",
        values_list(dialect, 1, ACTION_INSERT_WIDTH)
    );
    let row = planned
        .bind(sqlx::query(&sql))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}
