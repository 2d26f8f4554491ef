//! The durable inbox: every verified notification's changes (events) as they were received,
//! claimed by the pipeline with a lease, completed, retried or given up; and the dead letters
//! (signed correctly but not a notification), kept for operators.
//!
//! Owns the `inbox` and `dead_letters` tables. On SQLite they live in a file of their own with
//! its own writer thread ([`sqlite`]), so that webhooks never wait for the pipeline's writes;
//! on PostgreSQL in the same database. Must not touch decisions or actions: the one write that
//! crosses rooms, completing events with the decisions made from them, is
//! [`DecisionStore::record_decisions`](super::DecisionStore::record_decisions).

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{id_list, SqlStore};
use super::work::{WorkChannel, WorkSignals};
use super::{now_ms, Result, StoreError};

pub mod sqlite;

pub(super) const MAX_EVENT_ATTEMPTS: i64 = 10;
/// Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const INSERT_CHUNK: usize = 500;

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

/// The inbox: what ingress stores and the pipeline claims. Every method is one transaction.
#[async_trait]
pub trait InboxStore: WorkSignals {
    /// Stores deliveries in ONE transaction (group commit); one outcome per delivery.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<InsertOutcome>>;

    /// `true` when [`InboxStore::insert_delivery`] already gathers concurrent callers into one
    /// transaction (SQLite's inbox writer thread), so that callers need no batching of their own.
    fn groups_inserts(&self) -> bool {
        false
    }

    /// Stores one delivery (taken by value: no copy on the way to a writer thread). A store
    /// that [groups inserts](InboxStore::groups_inserts) commits it with whatever else is queued.
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

    /// Deletes the processed events received before `before` (their payloads hold the
    /// comments' texts; Meta stops redelivering after 36 hours, so deduplication does not need
    /// them past retention). Pending and failed events stay. Returns how many were deleted.
    async fn prune_done_events(&self, before: i64) -> Result<u64>;
}

/// The statement of [`InboxStore::release_events`], the same for both engines' inbox tables.
pub(super) fn release_statement(ids: &[i64]) -> String {
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

fn event_from_row(r: &AnyRow) -> Result<InboxEvent> {
    Ok(InboxEvent {
        id: r.try_get("id")?,
        dedup_key: r.try_get("dedup_key")?,
        account_id: r.try_get("account_id")?,
        field: r.try_get("field")?,
        entry_time: r.try_get("entry_time")?,
        payload: r.try_get("payload")?,
        received_at: r.try_get("received_at")?,
        attempts: r.try_get("attempts")?,
    })
}

#[async_trait]
impl InboxStore for SqlStore {
    fn groups_inserts(&self) -> bool {
        self.inbox.is_some()
    }

    async fn insert_delivery(&self, delivery: Delivery) -> Result<InsertOutcome> {
        single_outcome(match &self.inbox {
            Some(inbox) => inbox.insert(vec![delivery], now_ms()).await?,
            None => self.insert_deliveries(&[delivery]).await?,
        })
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<InsertOutcome>> {
        if let Some(inbox) = &self.inbox {
            return inbox.insert(deliveries.to_vec(), now_ms()).await;
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // PostgreSQL (SQLite's inbox has its own writer, above). Every event of the batch in as
        // few statements as possible: each statement is a round trip over the network.
        let events: Vec<&NewEvent> = deliveries
            .iter()
            .filter_map(|d| match d {
                Delivery::Events(e) => Some(e.iter()),
                Delivery::DeadLetter { .. } => None,
            })
            .flatten()
            .collect();
        let mut inserted: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in events.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO inbox (dedup_key, account_id, field, entry_time, payload, received_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let p = i * 5;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, $1)",
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                ));
            }
            sql.push_str(" ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key");
            let mut q = sqlx::query(&sql).bind(now);
            for e in chunk {
                q = q
                    .bind(e.dedup_key.as_str())
                    .bind(e.account_id.as_str())
                    .bind(e.field.as_str())
                    .bind(e.entry_time)
                    .bind(e.payload.as_str());
            }
            for row in q.fetch_all(&mut *tx).await? {
                inserted.insert(row.try_get("dedup_key")?);
            }
        }
        let mut outcomes = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let mut outcome = InsertOutcome::default();
            match delivery {
                Delivery::Events(events) => {
                    for e in events {
                        // A key counts as stored once: the first delivery that carried it.
                        if inserted.remove(&e.dedup_key) {
                            outcome.stored += 1;
                        } else {
                            outcome.duplicates += 1;
                        }
                    }
                }
                Delivery::DeadLetter { reason, body } => {
                    sqlx::query(
                        "INSERT INTO dead_letters (received_at, reason, body) VALUES ($1, $2, $3)",
                    )
                    .bind(now)
                    .bind(reason)
                    .bind(body.clone())
                    .execute(&mut *tx)
                    .await?;
                    outcome.dead_letters += 1;
                }
            }
            outcomes.push(outcome);
        }
        let stored = outcomes.iter().any(|o| o.stored > 0);
        if stored {
            self.notify_in(&mut tx, WorkChannel::Inbox).await?;
        }
        tx.commit().await?;
        if stored {
            self.work.announce(WorkChannel::Inbox);
        }
        Ok(outcomes)
    }

    async fn claim_events(&self, limit: i64, lease: Duration, now: i64) -> Result<Vec<InboxEvent>> {
        if let Some(inbox) = &self.inbox {
            return inbox
                .claim(limit, now + lease.as_millis() as i64, now)
                .await;
        }
        let claim = super::instances::Claim {
            table: "inbox",
            key: "id",
            alias: "",
            set: "lease_until = $1, attempts = attempts + 1",
            due: "state = 'pending'",
            lease: "lease_until",
            owner: "claimed_by",
            order: "id",
            returning:
                "id, dedup_key, account_id, field, entry_time, payload, received_at, attempts",
        };
        let mut events = self
            .claim(&claim, limit, lease, now, event_from_row)
            .await?;
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    async fn complete_event(&self, id: i64, now: i64) -> Result<()> {
        if let Some(inbox) = &self.inbox {
            return inbox.complete(vec![id], now).await;
        }
        sqlx::query(
            "UPDATE inbox SET state = 'done', done_at = $1, last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn retry_event(
        &self,
        id: i64,
        error: &str,
        not_before: i64,
        give_up: bool,
    ) -> Result<()> {
        if let Some(inbox) = &self.inbox {
            return inbox.retry(id, error, not_before, give_up).await;
        }
        // Waiting for its retry: no longer anyone's claim.
        sqlx::query(&format!(
            "UPDATE inbox SET lease_until = $1, last_error = $2{}, \
             state = CASE WHEN $3 = 1 OR attempts >= $4 THEN 'failed' ELSE 'pending' END \
             WHERE id = $5",
            self.clear_owner()
        ))
        .bind(not_before)
        .bind(error)
        .bind(if give_up { 1i64 } else { 0i64 })
        .bind(MAX_EVENT_ATTEMPTS)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn release_events(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        if let Some(inbox) = &self.inbox {
            return inbox.release(ids.to_vec()).await;
        }
        sqlx::query(&release_statement(ids))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn inbox_stats(&self) -> Result<InboxStats> {
        if let Some(inbox) = &self.inbox {
            return inbox.stats().await;
        }
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM inbox WHERE state = 'pending') AS pending, \
               (SELECT COUNT(*) FROM inbox WHERE state = 'failed') AS failed, \
               (SELECT MIN(received_at) FROM inbox WHERE state = 'pending') AS oldest",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(InboxStats {
            pending: row.try_get("pending")?,
            failed: row.try_get("failed")?,
            oldest_pending_received_at: row.try_get("oldest")?,
        })
    }

    async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        if let Some(inbox) = &self.inbox {
            return inbox.dead_letters(limit).await;
        }
        let rows = sqlx::query(
            "SELECT id, received_at, reason, body FROM dead_letters ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let body: Vec<u8> = r.try_get("body")?;
                Ok(DeadLetter {
                    id: r.try_get("id")?,
                    received_at: r.try_get("received_at")?,
                    reason: r.try_get("reason")?,
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
            })
            .collect()
    }

    async fn prune_done_events(&self, before: i64) -> Result<u64> {
        Ok(match &self.inbox {
            Some(inbox) => inbox.prune_done(before).await?,
            None => sqlx::query("DELETE FROM inbox WHERE state = 'done' AND received_at < $1")
                .bind(before)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        })
    }
}
