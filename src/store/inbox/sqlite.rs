//! The SQLite inbox: its own database file, written by one dedicated thread.
//!
//! Why a file of its own: SQLite lets one transaction write a file at a time. With the inbox
//! in the main file, every ingest commit queued behind the pipeline's decision transactions,
//! and ingest reached 8% of a plain HTTP server's throughput. In a file of its own, the webhook
//! only ever waits for other webhooks.
//!
//! Why a thread and not sqlx: each statement through sqlx's SQLite driver is a round trip to
//! its worker thread and back, and a commit took three of them. Here the HTTP handlers hand
//! their deliveries straight to the thread that owns the connection; it gathers everything
//! queued into ONE transaction (group commit: one fsync for the batch), then answers each.
//! The pipeline's claims and completions travel the same queue, so they ride along in the
//! ingest transactions instead of taking turns with them.
//!
//! Durability is unchanged: WAL with `synchronous=FULL`, and nobody is answered before the
//! transaction holding their work has committed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{mpsc, oneshot};

use super::{DeadLetter, Delivery, InboxEvent, InboxStats, InsertOutcome, Result, StoreError};

/// Most deliveries committed together.
const MAX_DELIVERIES: usize = 256;
/// Most jobs of any kind taken into one transaction.
const MAX_JOBS: usize = 512;
const MAX_EVENT_ATTEMPTS: i64 = 10;

/// The inbox file's schema, in its migration (each statement safe to repeat: run at every open).
const SCHEMA: &str = include_str!("../../../migrations/sqlite-inbox/0001_inbox.sql");

const INBOX_COLUMNS: &str = "id, dedup_key, account_id, field, entry_time, payload, received_at, \
    state, attempts, lease_until, last_error, done_at";

/// Where the inbox of the SQLite database at `main` lives: beside it, `-inbox` added to its
/// name (`data/commentguard.db` -> `data/commentguard-inbox.db`).
pub fn inbox_path(main: &Path) -> PathBuf {
    let stem = main
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match main.extension() {
        Some(ext) => format!("{stem}-inbox.{}", ext.to_string_lossy()),
        None => format!("{stem}-inbox"),
    };
    main.with_file_name(name)
}

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    StoreError::Inbox(e.to_string())
}

/// Work for the writer thread that is not an insert: runs inside the batch's transaction and
/// is answered after the commit.
trait Task: Send {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    fn finish(self: Box<Self>, result: std::result::Result<(), String>);
}

struct Call<T, F> {
    f: F,
    out: Option<T>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Task for Call<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.out = Some((self.f)(conn)?);
        Ok(())
    }

    fn finish(self: Box<Self>, result: std::result::Result<(), String>) {
        let answer = match (result, self.out) {
            (Ok(()), Some(out)) => Ok(out),
            (Ok(()), None) => Err(StoreError::Inbox("the inbox job did not run".into())),
            (Err(e), _) => Err(StoreError::Inbox(e)),
        };
        let _ = self.reply.send(answer);
    }
}

enum Job {
    Insert {
        deliveries: Vec<Delivery>,
        now: i64,
        outcomes: Vec<InsertOutcome>,
        reply: oneshot::Sender<Result<Vec<InsertOutcome>>>,
    },
    Task(Box<dyn Task>),
}

impl Job {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        match self {
            Job::Insert {
                deliveries,
                now,
                outcomes,
                ..
            } => {
                *outcomes = insert(conn, deliveries, *now)?;
                Ok(())
            }
            Job::Task(t) => t.run(conn),
        }
    }

    fn stored(&self) -> bool {
        matches!(self, Job::Insert { outcomes, .. } if outcomes.iter().any(|o| o.stored > 0))
    }

    fn finish(self, result: std::result::Result<(), String>) {
        match self {
            Job::Insert {
                outcomes, reply, ..
            } => {
                let _ = reply.send(result.map(|()| outcomes).map_err(StoreError::Inbox));
            }
            Job::Task(t) => t.finish(result),
        }
    }
}

/// The inbox file and its writer thread. Cloned handles share the thread; it ends when the
/// last handle is dropped, after the jobs already queued.
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Insert { .. } => "Job::Insert",
            Job::Task(_) => "Job::Task",
        })
    }
}

impl SqliteInbox {
    /// Opens (creating) the inbox file and starts its writer thread. `adopt` is the main
    /// database file: an inbox kept there by an earlier version is moved into the new file.
    /// `on_stored` is called after every commit that stored a new event.
    pub fn open(
        path: &Path,
        adopt: Option<&Path>,
        on_stored: Box<dyn Fn() + Send>,
    ) -> Result<SqliteInbox> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Invalid(format!("cannot open the inbox {}: {e}", path.display()))
        })?;
        // WAL + synchronous=FULL: a committed transaction survives a crash or a power loss,
        // which is what "200 only after it is stored" promises.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite_error)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite_error)?;
        // 64 MiB of page cache (the default is 2 MiB): the key index of a day's deliveries
        // stays in memory, so a commit does not first read back the pages it changes.
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(sqlite_error)?;
        // Another process (an admin command) may hold the write lock for a moment.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_error)?;
        conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        if let Some(main) = adopt {
            adopt_old_inbox(&conn, main)?;
        }
        let (jobs, rx) = mpsc::channel(4096);
        std::thread::Builder::new()
            .name("inbox-writer".into())
            .spawn(move || writer(conn, rx, on_stored))
            .map_err(|e| StoreError::Invalid(format!("cannot start the inbox writer: {e}")))?;
        Ok(SqliteInbox {
            jobs,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Inbox("the inbox writer has stopped".into()))
    }

    /// Runs `f` inside the writer's next transaction; answers after it has committed.
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Task(Box::new(Call {
            f,
            out: None,
            reply,
        })))
        .await?;
        rx.await
            .map_err(|_| StoreError::Inbox("the inbox writer has stopped".into()))?
    }

    /// Stores deliveries (with whatever else is queued) in one transaction.
    pub async fn insert(&self, deliveries: Vec<Delivery>, now: i64) -> Result<Vec<InsertOutcome>> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Insert {
            deliveries,
            now,
            outcomes: Vec::new(),
            reply,
        })
        .await?;
        rx.await
            .map_err(|_| StoreError::Inbox("the inbox writer has stopped".into()))?
    }

    pub async fn ping(&self) -> Result<()> {
        self.call(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .await
            .map(|_| ())
    }

    /// A committed write to the inbox file that changes nothing: the file's header rewritten
    /// with the schema version it has. It fails as a delivery's commit would (a full disk, a
    /// read-only file), where a read still succeeds.
    pub async fn probe_write(&self) -> Result<()> {
        self.call(|c| {
            let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            c.execute_batch(&format!("PRAGMA user_version = {v}"))
        })
        .await
    }

    pub async fn claim(&self, limit: i64, lease_until: i64, now: i64) -> Result<Vec<InboxEvent>> {
        let mut events = self
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "UPDATE inbox SET lease_until = ?1, attempts = attempts + 1 WHERE id IN ( \
                       SELECT id FROM inbox WHERE state = 'pending' AND lease_until <= ?2 \
                       ORDER BY id LIMIT ?3) \
                     RETURNING id, dedup_key, account_id, field, entry_time, payload, received_at, attempts",
                )?;
                let rows = stmt.query_map(params![lease_until, now, limit], |r| {
                    Ok(InboxEvent {
                        id: r.get(0)?,
                        dedup_key: r.get(1)?,
                        account_id: r.get(2)?,
                        field: r.get(3)?,
                        entry_time: r.get(4)?,
                        payload: r.get(5)?,
                        received_at: r.get(6)?,
                        attempts: r.get(7)?,
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    pub async fn complete(&self, ids: Vec<i64>, now: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.call(move |c| {
            c.execute(
                &format!(
                    "UPDATE inbox SET state = 'done', done_at = ?1, last_error = NULL WHERE id IN ({})",
                    super::id_list(&ids)
                ),
                [now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn release(&self, ids: Vec<i64>) -> Result<()> {
        self.call(move |c| {
            c.execute(&super::release_statement(&ids), [])?;
            Ok(())
        })
        .await
    }

    pub async fn retry(&self, id: i64, error: &str, not_before: i64, give_up: bool) -> Result<()> {
        let error = error.to_string();
        self.call(move |c| {
            c.prepare_cached(
                "UPDATE inbox SET lease_until = ?1, last_error = ?2, \
                 state = CASE WHEN ?3 = 1 OR attempts >= ?4 THEN 'failed' ELSE 'pending' END \
                 WHERE id = ?5",
            )?
            .execute(params![
                not_before,
                error,
                i64::from(give_up),
                MAX_EVENT_ATTEMPTS,
                id
            ])?;
            Ok(())
        })
        .await
    }

    /// Runs a read on a connection of its own, beside the writer: a scrape counting a large
    /// backlog must not hold up the next commit.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Inbox(format!("inbox read failed: {e}")))?
        .map_err(sqlite_error)
    }

    pub async fn stats(&self) -> Result<InboxStats> {
        self.read(|c| {
            c.query_row(
                "SELECT \
                   (SELECT COUNT(*) FROM inbox WHERE state = 'pending'), \
                   (SELECT COUNT(*) FROM inbox WHERE state = 'failed'), \
                   (SELECT MIN(received_at) FROM inbox WHERE state = 'pending')",
                [],
                |r| {
                    Ok(InboxStats {
                        pending: r.get(0)?,
                        failed: r.get(1)?,
                        oldest_pending_received_at: r.get(2)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, received_at, reason, body FROM dead_letters ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                let body: Vec<u8> = r.get(3)?;
                Ok(DeadLetter {
                    id: r.get(0)?,
                    received_at: r.get(1)?,
                    reason: r.get(2)?,
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Deletes processed events received before `before` (their payloads hold comment texts).
    /// Makes every pending event claimable at once: called at start when no other instance
    /// runs on the file, so every claim in it was taken by this instance's previous run
    /// ([`crate::store::InstanceStore`]). An event waiting
    /// for its retry is tried once sooner. Returns how many were taken back.
    pub async fn take_back_claims(&self, now: i64) -> Result<u64> {
        self.call(move |c| {
            c.execute(
                "UPDATE inbox SET lease_until = 0 WHERE state = 'pending' AND lease_until > ?1",
                [now],
            )
            .map(|n| n as u64)
        })
        .await
    }

    pub async fn prune_done(&self, before: i64) -> Result<u64> {
        self.call(move |c| {
            c.execute(
                "DELETE FROM inbox WHERE state = 'done' AND received_at < ?1",
                [before],
            )
            .map(|n| n as u64)
        })
        .await
    }
}

/// Moves an inbox kept in the main database by an earlier version into this file: copied
/// (ids and keys kept, so decisions still point at their events and redeliveries are still
/// recognised), committed, and only then removed from the main file. A crash in between
/// copies again next time; the keys make that a no-op.
fn adopt_old_inbox(conn: &Connection, main: &Path) -> Result<()> {
    let main = main.to_string_lossy().into_owned();
    conn.execute("ATTACH DATABASE ?1 AS old", [&main])
        .map_err(sqlite_error)?;
    let result = (|| -> rusqlite::Result<u64> {
        let has_inbox: Option<String> = conn
            .query_row(
                "SELECT name FROM old.sqlite_master WHERE type = 'table' AND name = 'inbox'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if has_inbox.is_none() {
            return Ok(0);
        }
        let old: i64 = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM old.inbox) + (SELECT COUNT(*) FROM old.dead_letters)",
            [],
            |r| r.get(0),
        )?;
        if old == 0 {
            return Ok(0);
        }
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; \
             INSERT OR IGNORE INTO main.inbox ({INBOX_COLUMNS}) SELECT {INBOX_COLUMNS} FROM old.inbox; \
             INSERT OR IGNORE INTO main.dead_letters (id, received_at, reason, body) \
               SELECT id, received_at, reason, body FROM old.dead_letters; \
             COMMIT;"
        ))?;
        conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM old.inbox; DELETE FROM old.dead_letters; COMMIT;",
        )?;
        Ok(old as u64)
    })();
    let _ = conn.execute_batch("ROLLBACK");
    let _ = conn.execute("DETACH DATABASE old", []);
    let moved = result.map_err(sqlite_error)?;
    if moved > 0 {
        tracing::info!(
            rows = moved,
            "moved the inbox and dead letters from the main database into the inbox file"
        );
    }
    Ok(())
}

/// Stores the events of each delivery; a key counts as stored once, the first time.
fn insert(
    conn: &Connection,
    deliveries: &[Delivery],
    now: i64,
) -> rusqlite::Result<Vec<InsertOutcome>> {
    let mut event_stmt = conn.prepare_cached(
        "INSERT INTO inbox (dedup_key, account_id, field, entry_time, payload, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (dedup_key) DO NOTHING",
    )?;
    let mut outcomes = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let mut outcome = InsertOutcome::default();
        match delivery {
            Delivery::Events(events) => {
                for e in events {
                    let n = event_stmt.execute(params![
                        e.dedup_key,
                        e.account_id,
                        e.field,
                        e.entry_time,
                        e.payload,
                        now
                    ])?;
                    if n == 1 {
                        outcome.stored += 1;
                    } else {
                        outcome.duplicates += 1;
                    }
                }
            }
            Delivery::DeadLetter { reason, body } => {
                conn.prepare_cached(
                    "INSERT INTO dead_letters (received_at, reason, body) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![now, reason, body])?;
                outcome.dead_letters += 1;
            }
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The writer thread: takes everything queued, runs it in one transaction, commits, answers.
fn writer(conn: Connection, mut rx: mpsc::Receiver<Job>, on_stored: Box<dyn Fn() + Send>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_JOBS);
    while let Some(first) = rx.blocking_recv() {
        let mut deliveries = delivery_count(&first);
        batch.push(first);
        while batch.len() < MAX_JOBS && deliveries < MAX_DELIVERIES {
            match rx.try_recv() {
                Ok(job) => {
                    deliveries += delivery_count(&job);
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let stored = match run_together(&conn, &mut batch) {
            Ok(()) => {
                let stored = batch.iter().any(Job::stored);
                for job in batch.drain(..) {
                    job.finish(Ok(()));
                }
                stored
            }
            Err(e) => {
                // One bad job must not fail the others: each runs alone, and only the jobs
                // that fail alone are answered with an error.
                tracing::warn!(error = %e, jobs = batch.len(), "inbox batch failed; running its jobs one by one");
                let mut stored = false;
                for mut job in batch.drain(..) {
                    let result = run_together(&conn, std::slice::from_mut(&mut job));
                    stored |= result.is_ok() && job.stored();
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "inbox commit failed");
                    }
                    job.finish(result.map_err(|e| e.to_string()));
                }
                stored
            }
        };
        if deliveries > 0 {
            metrics::histogram!("commentguard_inbox_commit_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            metrics::histogram!("commentguard_inbox_batch_size").record(deliveries as f64);
        }
        if stored {
            on_stored();
        }
    }
}

fn delivery_count(job: &Job) -> usize {
    match job {
        Job::Insert { deliveries, .. } => deliveries.len(),
        Job::Task(_) => 0,
    }
}

/// Runs `jobs` in one transaction and commits it; rolled back on any error.
fn run_together(conn: &Connection, jobs: &mut [Job]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = jobs
        .iter_mut()
        .try_for_each(|job| job.run(conn))
        .and_then(|()| conn.execute_batch("COMMIT"));
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_sits_beside_the_main_file() {
        assert_eq!(
            inbox_path(Path::new("data/commentguard.db")),
            PathBuf::from("data/commentguard-inbox.db")
        );
        assert_eq!(
            inbox_path(Path::new("/var/lib/cg/store")),
            PathBuf::from("/var/lib/cg/store-inbox")
        );
    }
}
