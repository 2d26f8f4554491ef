//! The moderation log: one decision per comment and kind (what the rules matched, the actions
//! they chose, the text as it was), its queries for the `log` command, the admin API and the
//! review page, and purging old texts.
//!
//! Owns the `decisions` table. Recording a decision also writes, in the same transaction, the
//! actions it plans ([`super::actions`]), the rule event its stateful conditions count
//! ([`super::rule_state`]) and the completion of the inbox events it came from: one commit,
//! so a crash never leaves a decision without its actions or an event decided twice. Reading
//! and claiming actions belongs to the action queue, not here.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::Row;

use super::actions::{self, action_from_row, ActionRow, ActionState, NewAction, ACTION_COLUMNS};
use super::db::{id_list, join_list, placeholders, split_list, values_list, Dialect, SqlStore};
use super::rule_state::{self, RuleEvent};
use super::work::WorkChannel;
use super::Result;

/// Rows per multi-row INSERT of decisions (15 parameters each).
const DECISION_CHUNK: usize = 200;

/// What a decision is about: a comment on the account's media, a live comment, or a mention of
/// the account elsewhere. Stored as its name (`comment`, `live_comment`, `mention`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    #[default]
    Comment,
    LiveComment,
    Mention,
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Comment => "comment",
            DecisionKind::LiveComment => "live_comment",
            DecisionKind::Mention => "mention",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionKind> {
        Some(match s {
            "comment" => DecisionKind::Comment,
            "live_comment" => DecisionKind::LiveComment,
            "mention" => DecisionKind::Mention,
            _ => return None,
        })
    }
}

/// A decision about to be recorded, with the actions it plans.
#[derive(Debug, Clone, Default)]
pub struct NewDecision {
    pub inbox_id: Option<i64>,
    pub comment_id: String,
    pub kind: DecisionKind,
    pub account_id: String,
    pub media_id: Option<String>,
    pub author: Option<String>,
    pub author_id: Option<String>,
    pub text: Option<String>,
    pub normalized: Option<String>,
    /// JSON array of the rules that matched, with mode, actions and evidence.
    pub matched: String,
    /// JSON object of the models' scores (`{"scam": 0.12}`), when any model was asked.
    pub scores: Option<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct DecisionRow {
    pub id: i64,
    pub comment_id: String,
    pub kind: DecisionKind,
    pub account_id: String,
    pub media_id: Option<String>,
    pub author: Option<String>,
    pub author_id: Option<String>,
    pub text: Option<String>,
    pub normalized: Option<String>,
    pub matched: serde_json::Value,
    /// The models' scores (`{"scam": 0.12}`); null for decisions made before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<serde_json::Value>,
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
    /// Only decisions of these comments (empty: no such condition).
    pub comment_ids: Vec<String>,
    /// Cursor: only decisions with a smaller id (older), for paging back.
    pub before_id: Option<i64>,
    /// Only decisions with a larger id (newer), for following.
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// The moderation log. Every method is one transaction.
#[async_trait]
pub trait DecisionStore: Send + Sync + 'static {
    /// Records a decision and its planned actions atomically. Returns the decision id, or the
    /// existing one's id with `false` when a decision for (comment, kind) already exists
    /// (a redelivery or a re-claimed event): then nothing new is planned.
    async fn record_decision(&self, d: &NewDecision, actions: &[NewAction]) -> Result<(i64, bool)>;

    /// Records several decisions (each with its planned actions) and marks the inbox events
    /// `completed` done, all in ONE transaction: the pipeline's group commit. One
    /// `(decision id, created)` per decision, as [`DecisionStore::record_decision`] gives.
    async fn record_decisions(
        &self,
        decisions: &[(NewDecision, Vec<NewAction>)],
        completed: &[i64],
        now: i64,
    ) -> Result<Vec<(i64, bool)>>;

    async fn list_decisions(&self, filter: &DecisionFilter) -> Result<Vec<DecisionRow>>;

    /// Removes comment texts decided before `before`; the decisions stay. Returns how many
    /// decisions lost their text. [`Store::purge_texts`](super::Store::purge_texts) also
    /// deletes the processed inbox events that hold the same texts.
    async fn forget_texts(&self, before: i64) -> Result<u64>;

    /// Which of `comment_ids` already have a decision of `kind` (`comment`, `live_comment`).
    async fn decided_among(&self, kind: &str, comment_ids: &[String]) -> Result<Vec<String>>;
}

#[async_trait]
impl DecisionStore for SqlStore {
    async fn record_decision(&self, d: &NewDecision, actions: &[NewAction]) -> Result<(i64, bool)> {
        let mut out = self
            .record_decisions(&[(d.clone(), actions.to_vec())], &[], d.decided_at)
            .await?;
        Ok(out.remove(0))
    }

    async fn record_decisions(
        &self,
        decisions: &[(NewDecision, Vec<NewAction>)],
        completed: &[i64],
        now: i64,
    ) -> Result<Vec<(i64, bool)>> {
        let mut tx = self.begin_write().await?;
        let out = insert_decisions(&mut tx, self.dialect, decisions).await?;
        let pending = decisions
            .iter()
            .zip(&out)
            .any(|((_, actions), (_, created))| {
                *created && actions.iter().any(|a| a.state == ActionState::Pending)
            });
        if !completed.is_empty() && self.inbox.is_none() {
            sqlx::query(&format!(
                "UPDATE inbox SET state = 'done', done_at = $1, last_error = NULL WHERE id IN ({})",
                id_list(completed)
            ))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if pending {
            self.notify_in(&mut tx, WorkChannel::Actions).await?;
        }
        tx.commit().await?;
        if pending {
            self.work.announce(WorkChannel::Actions);
        }
        // SQLite: the inbox is another file, so its events are marked done after the decisions
        // are committed. A crash in between lets the leases expire and the events be claimed
        // again; the decisions exist by then, so nothing is planned twice.
        if let Some(inbox) = &self.inbox {
            inbox.complete(completed.to_vec(), now).await?;
        }
        Ok(out)
    }

    async fn list_decisions(&self, f: &DecisionFilter) -> Result<Vec<DecisionRow>> {
        let mut sql = String::from(
            "SELECT id, comment_id, kind, account_id, media_id, author, author_id, text, normalized, \
             matched, scores, rules, actions, note, received_at, decided_at FROM decisions WHERE 1 = 1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        // Placeholders are numbered in the order the values are bound below: strings first.
        let mut n = 0;
        let mut push_str = |sql: &mut String, clause: &str, v: String| {
            n += 1;
            sql.push_str(&clause.replace("?", &format!("${n}")));
            binds.push(v);
        };
        if let Some(rule) = &f.rule {
            let clause = format!(" AND {}", self.contains("rules", "?"));
            push_str(&mut sql, &clause, format!(",{rule},"));
        }
        if let Some(action) = &f.action {
            let clause = format!(" AND {}", self.contains("actions", "?"));
            push_str(&mut sql, &clause, format!(",{action},"));
        }
        if let Some(account) = &f.account {
            push_str(&mut sql, " AND account_id = ?", account.clone());
        }
        if let Some(c) = &f.comment_id {
            push_str(&mut sql, " AND comment_id = ?", c.clone());
        }
        if !f.comment_ids.is_empty() {
            sql.push_str(&format!(
                " AND comment_id IN ({})",
                placeholders(binds.len() + 1, f.comment_ids.len())
            ));
            binds.extend(f.comment_ids.iter().cloned());
        }
        let mut k = binds.len();
        let mut push_int = |sql: &mut String, clause: &str, v: i64| {
            k += 1;
            sql.push_str(&clause.replace("?", &format!("${k}")));
            ints.push(v);
        };
        if let Some(since) = f.since_ms {
            push_int(&mut sql, " AND decided_at >= ?", since);
        }
        if let Some(before) = f.before_id {
            push_int(&mut sql, " AND id < ?", before);
        }
        if let Some(after) = f.after_id {
            push_int(&mut sql, " AND id > ?", after);
        }
        let limit = if f.limit <= 0 { 100 } else { f.limit.min(1000) };
        if f.after_id.is_some() {
            sql.push_str(&format!(" ORDER BY id ASC LIMIT {limit}"));
        } else {
            sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        for i in &ints {
            q = q.bind(*i);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let matched: String = r.try_get("matched")?;
            let rules: String = r.try_get("rules")?;
            let actions: String = r.try_get("actions")?;
            out.push(DecisionRow {
                id: r.try_get("id")?,
                comment_id: r.try_get("comment_id")?,
                kind: {
                    let k: String = r.try_get("kind")?;
                    DecisionKind::parse(&k).ok_or_else(|| {
                        super::StoreError::Invalid(format!("unknown decision kind {k:?}"))
                    })?
                },
                account_id: r.try_get("account_id")?,
                media_id: r.try_get("media_id")?,
                author: r.try_get("author")?,
                author_id: r.try_get("author_id")?,
                text: r.try_get("text")?,
                normalized: r.try_get("normalized")?,
                matched: serde_json::from_str(&matched).unwrap_or(serde_json::Value::Null),
                scores: r
                    .try_get::<Option<String>, _>("scores")?
                    .and_then(|s| serde_json::from_str(&s).ok()),
                rules: split_list(&rules),
                actions: split_list(&actions),
                note: r.try_get("note")?,
                received_at: r.try_get("received_at")?,
                decided_at: r.try_get("decided_at")?,
                action_log: Vec::new(),
            });
        }
        if !out.is_empty() {
            let ids: Vec<String> = out.iter().map(|d| d.id.to_string()).collect();
            let sql = format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE decision_id IN ({}) ORDER BY decision_id, seq",
                ids.join(",")
            );
            let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
            for r in &rows {
                let a = action_from_row(r)?;
                if let Some(d) = out.iter_mut().find(|d| d.id == a.decision_id) {
                    d.action_log.push(a);
                }
            }
        }
        Ok(out)
    }

    async fn decided_among(&self, kind: &str, comment_ids: &[String]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for chunk in comment_ids.chunks(500) {
            let list = placeholders(2, chunk.len());
            let sql = format!(
                "SELECT comment_id FROM decisions WHERE kind = $1 AND comment_id IN ({list})"
            );
            let mut q = sqlx::query(&sql).bind(kind);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                found.push(r.try_get("comment_id")?);
            }
        }
        Ok(found)
    }

    async fn forget_texts(&self, before: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE decisions SET text = NULL, normalized = NULL WHERE decided_at < $1 AND (text IS NOT NULL OR normalized IS NOT NULL)",
        )
        .bind(before)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Inserts decisions and their actions inside `tx`, each kind of row in one multi-row
/// statement per chunk: every statement is a round trip, and one per decision and action
/// made the pipeline's transactions long. An existing decision for the same comment and kind
/// wins (a redelivery or a re-claimed event), and then nothing new is planned for it.
/// One `(decision id, created)` per decision, in order.
async fn insert_decisions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    dialect: Dialect,
    decisions: &[(NewDecision, Vec<NewAction>)],
) -> Result<Vec<(i64, bool)>> {
    let mut created: HashMap<(String, String), i64> = HashMap::new();
    for chunk in decisions.chunks(DECISION_CHUNK) {
        let sql = format!(
            "INSERT INTO decisions (inbox_id, comment_id, kind, account_id, media_id, author, author_id, \
               text, normalized, matched, scores, rules, actions, note, received_at, decided_at) \
             VALUES {} ON CONFLICT (comment_id, kind) DO NOTHING RETURNING id, comment_id, kind",
            values_list(dialect, chunk.len(), 16)
        );
        let mut q = sqlx::query(&sql);
        for (d, _) in chunk {
            q = q
                .bind(d.inbox_id)
                .bind(&d.comment_id)
                .bind(d.kind.as_str())
                .bind(&d.account_id)
                .bind(&d.media_id)
                .bind(&d.author)
                .bind(&d.author_id)
                .bind(&d.text)
                .bind(&d.normalized)
                .bind(&d.matched)
                .bind(&d.scores)
                .bind(join_list(&d.rules))
                .bind(join_list(&d.actions))
                .bind(&d.note)
                .bind(d.received_at)
                .bind(d.decided_at);
        }
        for row in q.fetch_all(&mut **tx).await? {
            created.insert(
                (row.try_get("comment_id")?, row.try_get("kind")?),
                row.try_get("id")?,
            );
        }
    }
    // In order; a (comment, kind) met twice in one batch is created by its first decision.
    let mut out = Vec::with_capacity(decisions.len());
    for (d, _) in decisions {
        match created.remove(&(d.comment_id.clone(), d.kind.as_str().to_string())) {
            Some(id) => out.push((id, true)),
            None => {
                let existing: i64 =
                    sqlx::query("SELECT id FROM decisions WHERE comment_id = $1 AND kind = $2")
                        .bind(&d.comment_id)
                        .bind(d.kind.as_str())
                        .fetch_one(&mut **tx)
                        .await?
                        .try_get("id")?;
                out.push((existing, false));
            }
        }
    }
    let new: Vec<(&NewDecision, &[NewAction], i64)> = decisions
        .iter()
        .zip(&out)
        .filter(|(_, (_, created))| *created)
        .map(|((d, actions), (id, _))| (d, actions.as_slice(), *id))
        .collect();

    let events: Vec<(&RuleEvent, i64)> = new
        .iter()
        .filter_map(|(d, _, _)| d.rule_event.as_ref().map(|e| (e, d.decided_at)))
        .collect();
    rule_state::insert_rule_events(tx, dialect, &events).await?;

    let planned: Vec<actions::Planned> = new
        .iter()
        .flat_map(|(d, actions, id)| {
            actions
                .iter()
                .enumerate()
                .map(move |(seq, a)| actions::Planned {
                    action_key: format!("{}:{}", d.comment_id, a.kind.as_str()),
                    decision_id: *id,
                    account_id: &d.account_id,
                    comment_id: &d.comment_id,
                    action: a,
                    seq: seq as i64,
                    at: d.decided_at,
                })
        })
        .collect();
    actions::insert_planned(tx, dialect, &planned).await?;
    Ok(out)
}
