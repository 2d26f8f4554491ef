//! Story insights: the stories seen in each account's story listing and their snapshot
//! schedule (claimed by the insights poller with a lease, so that several instances take
//! disjoint stories), the snapshots taken before a story expires, and the final counts a
//! `story_insights` notification delivers.
//!
//! Owns the `stories`, `story_snapshots` and `story_finals` tables; touches nothing else.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::SqlStore;
use super::Result;

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

/// Stories, snapshots and finals. Every method is one transaction.
#[async_trait]
pub trait StoryStore: Send + Sync + 'static {
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
}

const STORY_COLUMNS: &str = "story_id, account_id, media_type, posted_at, first_seen, expires_at, next_snapshot_at, snapshot_count, last_status, last_snapshot_at, closed_at";

fn story_from_row(r: &AnyRow) -> Result<StoryRow> {
    Ok(StoryRow {
        story_id: r.try_get("story_id")?,
        account_id: r.try_get("account_id")?,
        media_type: r.try_get("media_type")?,
        posted_at: r.try_get("posted_at")?,
        first_seen: r.try_get("first_seen")?,
        expires_at: r.try_get("expires_at")?,
        next_snapshot_at: r.try_get("next_snapshot_at")?,
        snapshot_count: r.try_get("snapshot_count")?,
        last_status: r.try_get("last_status")?,
        last_snapshot_at: r.try_get("last_snapshot_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

fn json_column(r: &AnyRow, name: &str) -> Result<serde_json::Value> {
    let text: String = r.try_get(name)?;
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A value bound to a numbered placeholder.
enum Bind {
    Str(String),
    Int(i64),
}

/// ` AND ...` clauses of a [`StoryFilter`], with `$N` placeholders in bind order.
fn story_filter_sql(f: &StoryFilter, time_column: &str) -> (String, Vec<Bind>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    if let Some(since) = f.since_ms {
        binds.push(Bind::Int(since));
        sql.push_str(&format!(" AND {time_column} >= ${}", binds.len()));
    }
    if let Some(account) = &f.account {
        binds.push(Bind::Str(account.clone()));
        sql.push_str(&format!(" AND account_id = ${}", binds.len()));
    }
    if let Some(story) = &f.story_id {
        binds.push(Bind::Str(story.clone()));
        sql.push_str(&format!(" AND story_id = ${}", binds.len()));
    }
    (sql, binds)
}

fn limit_sql(limit: i64) -> String {
    if limit > 0 {
        format!(" LIMIT {limit}")
    } else {
        String::new()
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Str(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

#[async_trait]
impl StoryStore for SqlStore {
    async fn upsert_story(&self, st: &NewStory) -> Result<(StoryRow, bool)> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO stories (story_id, account_id, media_type, posted_at, first_seen, expires_at, next_snapshot_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (story_id) DO NOTHING",
        )
        .bind(&st.story_id)
        .bind(&st.account_id)
        .bind(st.media_type.clone())
        .bind(st.posted_at)
        .bind(st.first_seen)
        .bind(st.expires_at)
        .bind(st.next_snapshot_at)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE story_id = $1"
        ))
        .bind(&st.story_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((story_from_row(&row)?, done.rows_affected() == 1))
    }

    async fn set_story_due(&self, story_id: &str, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE stories SET next_snapshot_at = $1 \
             WHERE story_id = $2 AND closed_at IS NULL \
             AND (next_snapshot_at IS NULL OR next_snapshot_at > $1)",
        )
        .bind(at)
        .bind(story_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn claim_due_stories(
        &self,
        limit: i64,
        lease: Duration,
        now: i64,
    ) -> Result<Vec<StoryRow>> {
        let claim = super::instances::Claim {
            table: "stories",
            key: "story_id",
            alias: "",
            // The lease is the next snapshot's time: a crashed poller's claim comes back then.
            set: "next_snapshot_at = $1",
            due: "closed_at IS NULL AND expires_at > $2 AND next_snapshot_at IS NOT NULL",
            lease: "next_snapshot_at",
            owner: "claimed_by",
            order: "next_snapshot_at, story_id",
            returning: STORY_COLUMNS,
        };
        let mut stories = self
            .claim(&claim, limit, lease, now, story_from_row)
            .await?;
        stories.sort_by(|a, b| (a.expires_at, &a.story_id).cmp(&(b.expires_at, &b.story_id)));
        Ok(stories)
    }

    async fn record_snapshot(
        &self,
        snap: &NewSnapshot,
        next_snapshot_at: Option<i64>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO story_snapshots (story_id, account_id, taken_at, status, metrics, raw, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&snap.story_id)
        .bind(&snap.account_id)
        .bind(snap.taken_at)
        .bind(&snap.status)
        .bind(&snap.metrics)
        .bind(&snap.raw)
        .bind(snap.error.clone())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let read = if snap.status == "error" { 0i64 } else { 1i64 };
        // The next snapshot waits for its time: the claim is over.
        sqlx::query(&format!(
            "UPDATE stories SET snapshot_count = snapshot_count + 1, last_status = $1, \
               next_snapshot_at = $2{}, \
               last_snapshot_at = CASE WHEN $3 = 1 THEN $4 ELSE last_snapshot_at END \
             WHERE story_id = $5",
            self.clear_owner()
        ))
        .bind(&snap.status)
        .bind(next_snapshot_at)
        .bind(read)
        .bind(snap.taken_at)
        .bind(&snap.story_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn next_story_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN next_snapshot_at IS NOT NULL AND next_snapshot_at < expires_at \
                        THEN next_snapshot_at ELSE expires_at END) AS due \
             FROM stories WHERE closed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("due")?)
    }

    async fn close_expired_stories(&self, now: i64) -> Result<Vec<StoryRow>> {
        let rows = sqlx::query(&format!(
            "UPDATE stories SET closed_at = $1, next_snapshot_at = NULL \
             WHERE closed_at IS NULL AND expires_at <= $1 RETURNING {STORY_COLUMNS}"
        ))
        .bind(now)
        .fetch_all(&self.writer)
        .await?;
        rows.iter().map(story_from_row).collect()
    }

    async fn count_open_stories(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM stories WHERE closed_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn record_story_final(&self, f: &NewStoryFinal) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO story_finals (story_id, account_id, received_at, metrics, raw) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (story_id) DO NOTHING",
        )
        .bind(&f.story_id)
        .bind(&f.account_id)
        .bind(f.received_at)
        .bind(&f.metrics)
        .bind(&f.raw)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_stories(&self, f: &StoryFilter) -> Result<Vec<StoryRow>> {
        let (clauses, binds) = story_filter_sql(f, "posted_at");
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE 1 = 1{clauses} \
             ORDER BY posted_at DESC, story_id{}",
            limit_sql(f.limit)
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(story_from_row).collect()
    }

    async fn list_story_snapshots(&self, f: &StoryFilter) -> Result<Vec<SnapshotRow>> {
        let (clauses, binds) = story_filter_sql(f, "taken_at");
        let sql = format!(
            "SELECT id, story_id, account_id, taken_at, status, metrics, raw, error \
             FROM story_snapshots WHERE 1 = 1{clauses} ORDER BY taken_at, id{}",
            limit_sql(f.limit)
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotRow {
                    id: r.try_get("id")?,
                    story_id: r.try_get("story_id")?,
                    account_id: r.try_get("account_id")?,
                    taken_at: r.try_get("taken_at")?,
                    status: r.try_get("status")?,
                    metrics: json_column(r, "metrics")?,
                    raw: json_column(r, "raw")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    async fn list_story_finals(&self, f: &StoryFilter) -> Result<Vec<StoryFinalRow>> {
        let (clauses, binds) = story_filter_sql(f, "received_at");
        let sql = format!(
            "SELECT story_id, account_id, received_at, metrics, raw \
             FROM story_finals WHERE 1 = 1{clauses} ORDER BY received_at, story_id{}",
            limit_sql(f.limit)
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoryFinalRow {
                    story_id: r.try_get("story_id")?,
                    account_id: r.try_get("account_id")?,
                    received_at: r.try_get("received_at")?,
                    metrics: json_column(r, "metrics")?,
                    raw: json_column(r, "raw")?,
                })
            })
            .collect()
    }
}
