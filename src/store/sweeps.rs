//! Sweeps: where each account's sweep of its media stands (the run in progress or the last
//! one), so that a sweep stopped half way goes on where it stopped, and what the last runs
//! found for operators.
//!
//! Owns the `sweeps` and `sweep_media` tables; the comments a sweep finds go to the inbox like
//! a webhook's, through [`super::InboxStore`].

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::SqlStore;
use super::Result;

/// One account's sweep of one scope: in progress (`finished_at` `None`) or the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepRun {
    pub account_id: String,
    /// `all`, `media:ID` (a CLI sweep), or `reconcile` (serve's periodic sweep).
    pub scope: String,
    pub window_ms: i64,
    pub started_at: i64,
    /// The cursor of the media page being worked on (`None`: the first page).
    pub media_cursor: Option<String>,
    pub finished_at: Option<i64>,
    pub media_done: i64,
    pub comments_seen: i64,
    /// Comments no webhook had announced, handed to the pipeline.
    pub queued: i64,
}

impl SweepRun {
    /// Media posted at or after this (unix milliseconds) are swept.
    pub fn since_ms(&self) -> i64 {
        self.started_at - self.window_ms
    }
}

/// What a media page, or a whole media, added to a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepProgress {
    pub media_done: i64,
    pub comments_seen: i64,
    pub queued: i64,
}

#[async_trait]
pub trait SweepStore: Send + Sync + 'static {
    /// The unfinished run of `account_id` and `scope` with the same window, started at or after
    /// `resume_after`, to go on with (`true`); else a new run started at `now` (`false`).
    async fn start_sweep(
        &self,
        account_id: &str,
        scope: &str,
        window_ms: i64,
        resume_after: i64,
        now: i64,
    ) -> Result<(SweepRun, bool)>;

    /// The media the run started at `started_at` has finished.
    async fn swept_media(
        &self,
        account_id: &str,
        scope: &str,
        started_at: i64,
    ) -> Result<HashSet<String>>;

    /// Records a finished media and what it added.
    async fn media_swept(
        &self,
        run: &SweepRun,
        media_id: &str,
        progress: SweepProgress,
    ) -> Result<()>;

    /// The media page the run works on from now (a page fully done moves it on).
    async fn set_sweep_cursor(&self, run: &SweepRun, cursor: Option<&str>) -> Result<()>;

    async fn finish_sweep(&self, run: &SweepRun, now: i64) -> Result<()>;

    /// Every account's runs, newest first.
    async fn sweeps(&self) -> Result<Vec<SweepRun>>;
}

const SWEEP_COLUMNS: &str = "account_id, scope, window_ms, started_at, media_cursor, \
    finished_at, media_done, comments_seen, queued";

fn sweep_from_row(r: &AnyRow) -> Result<SweepRun> {
    Ok(SweepRun {
        account_id: r.try_get("account_id")?,
        scope: r.try_get("scope")?,
        window_ms: r.try_get("window_ms")?,
        started_at: r.try_get("started_at")?,
        media_cursor: r.try_get("media_cursor")?,
        finished_at: r.try_get("finished_at")?,
        media_done: r.try_get("media_done")?,
        comments_seen: r.try_get("comments_seen")?,
        queued: r.try_get("queued")?,
    })
}

#[async_trait]
impl SweepStore for SqlStore {
    async fn start_sweep(
        &self,
        account_id: &str,
        scope: &str,
        window_ms: i64,
        resume_after: i64,
        now: i64,
    ) -> Result<(SweepRun, bool)> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM sweeps WHERE account_id = $1 AND scope = $2"
        ))
        .bind(account_id)
        .bind(scope)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = row {
            let run = sweep_from_row(&r)?;
            if run.finished_at.is_none()
                && run.window_ms == window_ms
                && run.started_at >= resume_after
            {
                tx.commit().await?;
                return Ok((run, true));
            }
        }
        // A new run: the old one's finished media no longer count.
        sqlx::query("DELETE FROM sweep_media WHERE account_id = $1 AND scope = $2")
            .bind(account_id)
            .bind(scope)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sweeps (account_id, scope, window_ms, started_at, media_cursor, finished_at, \
               media_done, comments_seen, queued) VALUES ($1, $2, $3, $4, NULL, NULL, 0, 0, 0) \
             ON CONFLICT (account_id, scope) DO UPDATE SET window_ms = excluded.window_ms, \
               started_at = excluded.started_at, media_cursor = NULL, finished_at = NULL, \
               media_done = 0, comments_seen = 0, queued = 0",
        )
        .bind(account_id)
        .bind(scope)
        .bind(window_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((
            SweepRun {
                account_id: account_id.to_string(),
                scope: scope.to_string(),
                window_ms,
                started_at: now,
                media_cursor: None,
                finished_at: None,
                media_done: 0,
                comments_seen: 0,
                queued: 0,
            },
            false,
        ))
    }

    async fn swept_media(
        &self,
        account_id: &str,
        scope: &str,
        started_at: i64,
    ) -> Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT media_id FROM sweep_media WHERE account_id = $1 AND scope = $2 AND started_at = $3",
        )
        .bind(account_id)
        .bind(scope)
        .bind(started_at)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("media_id")?)).collect()
    }

    async fn media_swept(
        &self,
        run: &SweepRun,
        media_id: &str,
        progress: SweepProgress,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO sweep_media (account_id, scope, started_at, media_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&run.account_id)
        .bind(&run.scope)
        .bind(run.started_at)
        .bind(media_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 1 {
            sqlx::query(
                "UPDATE sweeps SET media_done = media_done + $1, comments_seen = comments_seen + $2, \
                   queued = queued + $3 WHERE account_id = $4 AND scope = $5 AND started_at = $6",
            )
            .bind(progress.media_done)
            .bind(progress.comments_seen)
            .bind(progress.queued)
            .bind(&run.account_id)
            .bind(&run.scope)
            .bind(run.started_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_sweep_cursor(&self, run: &SweepRun, cursor: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE sweeps SET media_cursor = $1 WHERE account_id = $2 AND scope = $3 AND started_at = $4",
        )
        .bind(cursor)
        .bind(&run.account_id)
        .bind(&run.scope)
        .bind(run.started_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn finish_sweep(&self, run: &SweepRun, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE sweeps SET finished_at = $1, media_cursor = NULL \
             WHERE account_id = $2 AND scope = $3 AND started_at = $4",
        )
        .bind(now)
        .bind(&run.account_id)
        .bind(&run.scope)
        .bind(run.started_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn sweeps(&self) -> Result<Vec<SweepRun>> {
        let rows = sqlx::query(&format!(
            "SELECT {SWEEP_COLUMNS} FROM sweeps ORDER BY started_at DESC, account_id, scope"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sweep_from_row).collect()
    }
}
