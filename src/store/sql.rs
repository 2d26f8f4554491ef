//! [`Store`] over sqlx's `Any` driver, for SQLite and PostgreSQL.
//!
//! One implementation: the SQL is shared, and [`Dialect`] switches only where the engines
//! differ (row locks for claims, substring search, `BEGIN IMMEDIATE`, `NOTIFY`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::postgres::PgListener;
use sqlx::{AnyPool, Executor, Row};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::sqlite_inbox::{inbox_path, SqliteInbox};
use super::*;
use crate::secret::Secret;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_EVENT_ATTEMPTS: i64 = 10;
/// Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const INSERT_CHUNK: usize = 500;

#[derive(Debug, Clone)]
pub struct SqlStore {
    /// Reads (several connections; WAL lets them run beside the writer).
    pool: AnyPool,
    /// Writes. On SQLite one connection: writers queue here in-process instead of meeting
    /// SQLITE_BUSY across connections and sleeping in the busy handler, which made p99 latency
    /// jump to seconds under load. On PostgreSQL the same pool as reads.
    writer: AnyPool,
    dialect: Dialect,
    work: Arc<WorkHub>,
    /// SQLite: the inbox and dead letters, in a file of their own with their own writer
    /// thread, so that webhooks never wait for the pipeline's writes. PostgreSQL keeps them in
    /// the same database (`None`): its writers do not exclude each other.
    inbox: Option<SqliteInbox>,
}

/// Announces new work to this instance's [`WorkSignal`]s: fed by this store's own commits and,
/// on PostgreSQL, by a `LISTEN` on the channels every instance `NOTIFY`s.
#[derive(Debug)]
struct WorkHub {
    inbox: Arc<watch::Sender<u64>>,
    actions: Arc<watch::Sender<u64>>,
    /// Where the listener connects; `None` on SQLite. It may hold a password: never logged.
    pg_url: Option<Secret>,
    /// The listener task, started by the first subscription.
    listener: OnceLock<Option<AbortHandle>>,
}

impl WorkHub {
    fn new(pg_url: Option<Secret>) -> WorkHub {
        WorkHub {
            inbox: Arc::new(watch::channel(0).0),
            actions: Arc::new(watch::channel(0).0),
            pg_url,
            listener: OnceLock::new(),
        }
    }

    fn sender(&self, channel: WorkChannel) -> &watch::Sender<u64> {
        match channel {
            WorkChannel::Inbox => &self.inbox,
            WorkChannel::Actions => &self.actions,
        }
    }

    fn announce(&self, channel: WorkChannel) {
        bump(self.sender(channel));
    }

    fn subscribe(&self, channel: WorkChannel) -> WorkSignal {
        if let Some(url) = &self.pg_url {
            self.listener.get_or_init(|| {
                // Without a runtime there is no listener: the signal then only carries this
                // instance's announcements, and polling covers the rest.
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                let task = runtime.spawn(listen(
                    url.clone(),
                    self.inbox.clone(),
                    self.actions.clone(),
                ));
                Some(task.abort_handle())
            });
        }
        WorkSignal::new(self.sender(channel).subscribe())
    }
}

impl Drop for WorkHub {
    fn drop(&mut self) {
        if let Some(Some(task)) = self.listener.get() {
            task.abort();
        }
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|n| *n = n.wrapping_add(1));
}

/// Relays other instances' `NOTIFY`s to this instance's signals, reconnecting for as long as
/// the store lives. Whenever it was not listening, it wakes every waiter once: what was
/// announced meanwhile is lost, and a claim that finds nothing is cheap.
async fn listen(url: Secret, inbox: Arc<watch::Sender<u64>>, actions: Arc<watch::Sender<u64>>) {
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let channels = [
        WorkChannel::Inbox.pg_channel(),
        WorkChannel::Actions.pg_channel(),
    ];
    let wake_all = || {
        bump(&inbox);
        bump(&actions);
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect(url.expose()).await?;
            listener.listen_all(channels).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64,
                    "work listener cannot LISTEN; workers poll meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == WorkChannel::Inbox.pg_channel() => bump(&inbox),
                Ok(Some(n)) if n.channel() == WorkChannel::Actions.pg_channel() => bump(&actions),
                Ok(Some(_)) => {}
                // Connection lost; the next try_recv reconnects and LISTENs again.
                Ok(None) => wake_all(),
                Err(e) => {
                    tracing::warn!(error = %e, "work listener lost its connection; reconnecting");
                    wake_all();
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

/// Connects the SQLite writer pool and lowers the worker thread sqlx starts for its
/// connection to background priority ([`crate::priority`]): that thread does the pipeline's
/// and the executor's SQLite writes, and webhooks come first.
async fn connect_background_writer(
    connect: impl std::future::Future<Output = std::result::Result<AnyPool, sqlx::Error>>,
) -> Result<AnyPool> {
    let before = sqlite_worker_threads();
    let pool = connect.await?;
    for tid in sqlite_worker_threads().difference(&before) {
        crate::priority::lower_thread(*tid);
    }
    Ok(pool)
}

/// Ids of this process's sqlx SQLite worker threads (Linux; empty elsewhere).
fn sqlite_worker_threads() -> std::collections::HashSet<i32> {
    let mut found = std::collections::HashSet::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return found;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.starts_with("sqlx-sqlite-wor") {
            if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
                found.insert(tid);
            }
        }
    }
    found
}

impl SqlStore {
    /// Connects (creating the SQLite file and its folder when needed) and migrates.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let mut main_file = None;
        let (dialect, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or(path);
            main_file = Some(std::path::PathBuf::from(file));
            if let Some(parent) = std::path::Path::new(file).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Invalid(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
            }
            let url = if path.contains('?') {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}?mode=rwc")
            };
            (Dialect::Sqlite, url)
        } else {
            (Dialect::Postgres, url.to_string())
        };
        let sqlite_options = |max: u32| {
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(30))
                // A local file cannot drop a connection: no ping round trip on every acquire.
                .test_before_acquire(false)
                .max_connections(max)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL + synchronous=FULL: a committed transaction survives a crash or a
                        // power loss, which is what "200 only after it is stored" promises.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                })
        };
        let (pool, writer) = match dialect {
            Dialect::Sqlite => {
                // The writer's connection lives as long as the store (never recycled), and its
                // worker thread runs at a lower CPU priority: see `on_background_thread`.
                let writer = connect_background_writer(
                    sqlite_options(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .connect(&url),
                )
                .await?;
                (sqlite_options(8).connect(&url).await?, writer)
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(10))
                    .max_connections(16)
                    .connect(&url)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let pg_url = (dialect == Dialect::Postgres).then(|| Secret::new(url));
        let mut store = SqlStore {
            pool,
            writer,
            dialect,
            work: Arc::new(WorkHub::new(pg_url)),
            inbox: None,
        };
        match dialect {
            Dialect::Sqlite => store.migrate_sqlite().await?,
            // Takes an advisory lock: instances starting together migrate one after another.
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        if let Some(main) = main_file {
            let work = store.work.clone();
            let inbox = tokio::task::spawn_blocking(move || {
                SqliteInbox::open(
                    &inbox_path(&main),
                    Some(&main),
                    Box::new(move || work.announce(WorkChannel::Inbox)),
                )
            })
            .await
            .map_err(|e| StoreError::Invalid(format!("opening the inbox failed: {e}")))??;
            store.inbox = Some(inbox);
        }
        Ok(store)
    }

    /// sqlx has no migration lock on SQLite, so two processes opening a fresh file together
    /// (the service and an admin command) race, and the loser fails with "table already
    /// exists". Each migration is one transaction, so the loser's is rolled back and a retry
    /// finds it applied.
    async fn migrate_sqlite(&self) -> Result<()> {
        let mut attempt = 1;
        loop {
            match SQLITE_MIGRATIONS.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 5 => {
                    tracing::debug!(error = %e, attempt, "migration raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// SQLite: the file that holds the inbox and dead letters (beside the main file).
    pub fn inbox_file(&self) -> Option<&std::path::Path> {
        self.inbox.as_ref().map(SqliteInbox::path)
    }

    /// `FOR UPDATE SKIP LOCKED` where the engine has it: several instances claim disjoint rows.
    fn skip_locked(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// A transaction that will write. SQLite's default deferred transaction takes its write
    /// lock at the first write, and a read before it can then fail at once with SQLITE_BUSY
    /// instead of waiting; `BEGIN IMMEDIATE` takes the lock up front, where busy_timeout applies.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.writer.begin().await?,
        })
    }

    /// Tells the other instances, at commit, that `channel` has new work. The channel names
    /// are constants, so the statement is never built from input.
    async fn notify_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        channel: WorkChannel,
    ) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            let sql = format!("NOTIFY {}", channel.pg_channel());
            (&mut **tx).execute(sql.as_str()).await?;
        }
        Ok(())
    }

    /// `column` contains `needle` as a plain, case-sensitive substring: no LIKE wildcards,
    /// so a rule id with `_` or `%` matches only itself, the same on both engines.
    fn contains(&self, column: &str, placeholder: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("instr({column}, {placeholder}) > 0"),
            Dialect::Postgres => format!("strpos({column}, {placeholder}) > 0"),
        }
    }
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

const ACTION_COLUMNS: &str = "id, decision_id, account_id, comment_id, kind, payload, seq, state, attempts, next_at, last_error, result_id, created_at, updated_at";

fn action_from_row(r: &AnyRow) -> Result<ActionRow> {
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

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `,a,b,` so that `LIKE '%,a,%'` finds a whole id.
fn join_list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
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
impl Store for SqlStore {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn groups_inserts(&self) -> bool {
        self.inbox.is_some()
    }

    async fn insert_delivery(&self, delivery: Delivery) -> Result<InsertOutcome> {
        single_outcome(match &self.inbox {
            Some(inbox) => inbox.insert(vec![delivery], now_ms()).await?,
            None => self.insert_deliveries(&[delivery]).await?,
        })
    }

    async fn ping(&self) -> Result<()> {
        if let Some(inbox) = &self.inbox {
            inbox.ping().await?;
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
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
        let sql = format!(
            "UPDATE inbox SET lease_until = $1, attempts = attempts + 1 WHERE id IN ( \
               SELECT id FROM inbox WHERE state = 'pending' AND lease_until <= $2 \
               ORDER BY id LIMIT $3 {} ) \
             RETURNING id, dedup_key, account_id, field, entry_time, payload, received_at, attempts",
            self.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>>>()?;
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
        sqlx::query(
            "UPDATE inbox SET lease_until = $1, last_error = $2, \
             state = CASE WHEN $3 = 1 OR attempts >= $4 THEN 'failed' ELSE 'pending' END \
             WHERE id = $5",
        )
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
        sqlx::query(&super::release_statement(ids))
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
                super::id_list(completed)
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
        let id = insert_action(
            &mut tx,
            self.dialect,
            decision_id,
            action_key,
            &account,
            &comment,
            action,
            seq,
            now,
        )
        .await?;
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
        let sql = format!(
            "UPDATE actions SET lease_until = $1, attempts = attempts + 1, updated_at = $2 WHERE id IN ( \
               SELECT a.id FROM actions a WHERE a.state = 'pending' AND a.next_at <= $2 AND a.lease_until <= $2 \
               AND NOT EXISTS (SELECT 1 FROM actions b WHERE b.decision_id = a.decision_id \
                               AND b.seq < a.seq AND b.state = 'pending') \
               ORDER BY a.next_at, a.id LIMIT $3 {} ) \
             RETURNING {ACTION_COLUMNS}",
            self.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        let mut actions = rows
            .iter()
            .map(action_from_row)
            .collect::<Result<Vec<_>>>()?;
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

    async fn list_decisions(&self, f: &DecisionFilter) -> Result<Vec<DecisionRow>> {
        let mut sql = String::from(
            "SELECT id, comment_id, kind, account_id, media_id, author, author_id, text, normalized, \
             matched, rules, actions, note, received_at, decided_at FROM decisions WHERE 1 = 1",
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
                kind: r.try_get("kind")?,
                account_id: r.try_get("account_id")?,
                media_id: r.try_get("media_id")?,
                author: r.try_get("author")?,
                author_id: r.try_get("author_id")?,
                text: r.try_get("text")?,
                normalized: r.try_get("normalized")?,
                matched: serde_json::from_str(&matched).unwrap_or(serde_json::Value::Null),
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

    fn subscribe(&self, channel: WorkChannel) -> WorkSignal {
        self.work.subscribe(channel)
    }

    async fn purge_texts(&self, before: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE decisions SET text = NULL, normalized = NULL WHERE decided_at < $1 AND (text IS NOT NULL OR normalized IS NOT NULL)",
        )
        .bind(before)
        .execute(&self.writer)
        .await?;
        // The processed inbox events carry the same texts in their payloads. Meta stops
        // redelivering after 36 hours, so deduplication does not need them past retention.
        let events = match &self.inbox {
            Some(inbox) => inbox.prune_done(before).await?,
            None => sqlx::query("DELETE FROM inbox WHERE state = 'done' AND received_at < $1")
                .bind(before)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        };
        if events > 0 {
            tracing::info!(events, "processed inbox events past retention deleted");
        }
        Ok(done.rows_affected())
    }

    async fn rule_match_counts(&self, since: i64, recent: i64) -> Result<Vec<RuleMatchGroup>> {
        let rows = sqlx::query(
            "SELECT account_id, rules, COUNT(*) AS n, \
               COALESCE(SUM(CASE WHEN decided_at >= $2 THEN 1 ELSE 0 END), 0) AS recent \
             FROM decisions WHERE decided_at >= $1 GROUP BY account_id, rules",
        )
        .bind(since)
        .bind(recent)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let rules: String = r.try_get("rules")?;
                Ok(RuleMatchGroup {
                    account_id: r.try_get("account_id")?,
                    rules: split_list(&rules),
                    count: r.try_get("n")?,
                    recent: r.try_get("recent")?,
                })
            })
            .collect()
    }

    async fn auto_shadows(&self) -> Result<Vec<AutoShadow>> {
        let rows = sqlx::query(
            "SELECT scope, rule_id, state, matches, decisions, window_ms, file_mtime, at \
             FROM rule_auto_shadow ORDER BY scope, rule_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok(AutoShadow {
                    scope: r.try_get("scope")?,
                    rule_id: r.try_get("rule_id")?,
                    state: match state.as_str() {
                        "cleared" => AutoShadowState::Cleared,
                        _ => AutoShadowState::Shadowed,
                    },
                    matches: r.try_get("matches")?,
                    decisions: r.try_get("decisions")?,
                    window_ms: r.try_get("window_ms")?,
                    file_mtime: r.try_get("file_mtime")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    async fn set_auto_shadow(&self, a: &AutoShadow) -> Result<bool> {
        // A row written at or after the file's modification is about this version of the rule:
        // it stays (switched by another instance, or cleared by an operator).
        let done = sqlx::query(
            "INSERT INTO rule_auto_shadow (scope, rule_id, state, matches, decisions, window_ms, file_mtime, at) \
             VALUES ($1, $2, 'shadowed', $3, $4, $5, $6, $7) \
             ON CONFLICT (scope, rule_id) DO UPDATE SET state = 'shadowed', \
               matches = excluded.matches, decisions = excluded.decisions, \
               window_ms = excluded.window_ms, file_mtime = excluded.file_mtime, at = excluded.at \
             WHERE rule_auto_shadow.at < excluded.file_mtime",
        )
        .bind(&a.scope)
        .bind(&a.rule_id)
        .bind(a.matches)
        .bind(a.decisions)
        .bind(a.window_ms)
        .bind(a.file_mtime)
        .bind(a.at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn clear_auto_shadow(&self, rule_id: &str, scope: Option<&str>, now: i64) -> Result<u64> {
        let mut sql = String::from(
            "UPDATE rule_auto_shadow SET state = 'cleared', at = $1 \
             WHERE rule_id = $2 AND state = 'shadowed'",
        );
        if scope.is_some() {
            sql.push_str(" AND scope = $3");
        }
        let mut q = sqlx::query(&sql).bind(now).bind(rule_id);
        if let Some(scope) = scope {
            q = q.bind(scope);
        }
        Ok(q.execute(&self.writer).await?.rows_affected())
    }

    async fn rule_state(
        &self,
        account_id: &str,
        authors: &[String],
        text_keys: &[String],
        since: i64,
    ) -> Result<RuleStateRows> {
        let mut out = RuleStateRows::default();
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !authors.is_empty() {
            let sql = format!(
                "SELECT author, time, enforced FROM rule_events \
                 WHERE account_id = $1 AND time >= $2 AND author IN ({})",
                list(authors.len())
            );
            let mut q = sqlx::query(&sql).bind(account_id).bind(since);
            for a in authors {
                q = q.bind(a.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                let enforced: i64 = r.try_get("enforced")?;
                out.author_events
                    .push((r.try_get("author")?, r.try_get("time")?, enforced != 0));
            }
        }
        if !text_keys.is_empty() {
            // Distinct authors are what a wave counts: one row per author with their latest
            // time, however often they repeated the text.
            let sql = format!(
                "SELECT text_key, author, MAX(time) AS latest FROM rule_events \
                 WHERE account_id = $1 AND time >= $2 AND text_key IN ({}) \
                 GROUP BY text_key, author",
                list(text_keys.len())
            );
            let mut q = sqlx::query(&sql).bind(account_id).bind(since);
            for k in text_keys {
                q = q.bind(k.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.text_authors.push((
                    r.try_get("text_key")?,
                    r.try_get("author")?,
                    r.try_get("latest")?,
                ));
            }
        }
        Ok(out)
    }

    async fn prune_rule_events(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM rule_events WHERE recorded_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

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
        let sql = format!(
            "UPDATE stories SET next_snapshot_at = $1 WHERE story_id IN ( \
               SELECT story_id FROM stories WHERE closed_at IS NULL AND expires_at > $2 \
               AND next_snapshot_at IS NOT NULL AND next_snapshot_at <= $2 \
               ORDER BY next_snapshot_at, story_id LIMIT $3 {} ) \
             RETURNING {STORY_COLUMNS}",
            self.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        let mut stories = rows
            .iter()
            .map(story_from_row)
            .collect::<Result<Vec<_>>>()?;
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
        sqlx::query(
            "UPDATE stories SET snapshot_count = snapshot_count + 1, last_status = $1, \
               next_snapshot_at = $2, \
               last_snapshot_at = CASE WHEN $3 = 1 THEN $4 ELSE last_snapshot_at END \
             WHERE story_id = $5",
        )
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

/// Rows per multi-row INSERT of decisions (15 parameters each).
const DECISION_CHUNK: usize = 200;
/// Rows per multi-row INSERT of actions (12 parameters each) and rule events (6).
const ROW_CHUNK: usize = 500;

/// The groups of a multi-row VALUES list of `rows` rows of `width` parameters, bound in order.
/// PostgreSQL numbers them (`$1, $2, ...`). SQLite gets anonymous `?`: it keeps numbered and
/// named parameters in a list that it searches from the start for every one of them, when the
/// statement is prepared and again (through sqlx) when each is bound, so a 3,000-parameter
/// statement cost millions of steps; this was the largest single item of the pipeline's
/// database time.
fn values_list(dialect: Dialect, rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => sql.push_str(&format!("${}", r * width + c + 1)),
            }
        }
        sql.push(')');
    }
    sql
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
    use std::collections::HashMap;
    let mut created: HashMap<(String, String), i64> = HashMap::new();
    for chunk in decisions.chunks(DECISION_CHUNK) {
        let sql = format!(
            "INSERT INTO decisions (inbox_id, comment_id, kind, account_id, media_id, author, author_id, \
               text, normalized, matched, rules, actions, note, received_at, decided_at) \
             VALUES {} ON CONFLICT (comment_id, kind) DO NOTHING RETURNING id, comment_id, kind",
            values_list(dialect, chunk.len(), 15)
        );
        let mut q = sqlx::query(&sql);
        for (d, _) in chunk {
            q = q
                .bind(d.inbox_id)
                .bind(&d.comment_id)
                .bind(&d.kind)
                .bind(&d.account_id)
                .bind(&d.media_id)
                .bind(&d.author)
                .bind(&d.author_id)
                .bind(&d.text)
                .bind(&d.normalized)
                .bind(&d.matched)
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
        match created.remove(&(d.comment_id.clone(), d.kind.clone())) {
            Some(id) => out.push((id, true)),
            None => {
                let existing: i64 =
                    sqlx::query("SELECT id FROM decisions WHERE comment_id = $1 AND kind = $2")
                        .bind(&d.comment_id)
                        .bind(&d.kind)
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
    for chunk in events.chunks(ROW_CHUNK) {
        let sql = format!(
            "INSERT INTO rule_events (account_id, author, text_key, time, enforced, recorded_at) VALUES {}",
            values_list(dialect, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (e, at) in chunk {
            q = q
                .bind(&e.account_id)
                .bind(&e.author)
                .bind(&e.text_key)
                .bind(e.time)
                .bind(i64::from(e.enforced))
                .bind(*at);
        }
        q.execute(&mut **tx).await?;
    }

    let actions: Vec<(&NewDecision, i64, usize, &NewAction)> = new
        .iter()
        .flat_map(|(d, actions, id)| {
            actions
                .iter()
                .enumerate()
                .map(move |(seq, a)| (*d, *id, seq, a))
        })
        .collect();
    for chunk in actions.chunks(ROW_CHUNK) {
        let sql = format!(
            "{ACTION_INSERT} {} ON CONFLICT (action_key) DO NOTHING",
            values_list(dialect, chunk.len(), ACTION_INSERT_WIDTH)
        );
        let mut q = sqlx::query(&sql);
        for (d, id, seq, a) in chunk {
            q = bind_action(
                q,
                format!("{}:{}", d.comment_id, a.kind.as_str()),
                *id,
                &d.account_id,
                &d.comment_id,
                a,
                *seq as i64,
                d.decided_at,
            );
        }
        q.execute(&mut **tx).await?;
    }
    Ok(out)
}

/// The columns every planned action is inserted with; [`bind_action`] binds one row.
const ACTION_INSERT: &str =
    "INSERT INTO actions (action_key, decision_id, account_id, comment_id, \
    kind, payload, seq, state, last_error, next_at, created_at, updated_at) VALUES";
const ACTION_INSERT_WIDTH: usize = 12;

/// Binds one row of [`ACTION_INSERT`]; the action is due, created and updated `at`.
#[allow(clippy::too_many_arguments)]
fn bind_action<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    action_key: String,
    decision_id: i64,
    account_id: &'q str,
    comment_id: &'q str,
    a: &'q NewAction,
    seq: i64,
    at: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(action_key)
        .bind(decision_id)
        .bind(account_id)
        .bind(comment_id)
        .bind(a.kind.as_str())
        .bind(a.payload.to_string())
        .bind(seq)
        .bind(a.state.as_str())
        .bind(a.note.clone())
        .bind(at)
        .bind(at)
        .bind(at)
}

#[allow(clippy::too_many_arguments)]
async fn insert_action(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    decision_id: i64,
    action_key: &str,
    account_id: &str,
    comment_id: &str,
    a: &NewAction,
    seq: i64,
    now: i64,
) -> Result<Option<i64>> {
    let sql = format!(
        "{ACTION_INSERT} {} ON CONFLICT (action_key) DO NOTHING RETURNING id",
        values_list(dialect, 1, ACTION_INSERT_WIDTH)
    );
    let row = bind_action(
        sqlx::query(&sql),
        action_key.to_string(),
        decision_id,
        account_id,
        comment_id,
        a,
        seq,
        now,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}
