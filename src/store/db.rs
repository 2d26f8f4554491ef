//! The connection: one [`SqlStore`] over sqlx's `Any` driver, for SQLite and PostgreSQL, and
//! the one place where the two engines' SQL differs ([`Dialect`]): row locks for claims,
//! substring search, `BEGIN IMMEDIATE`, `NOTIFY`, placeholders of multi-row inserts.
//!
//! Owns: connecting, the migrations, the pools, transactions. Knows nothing of what the rooms
//! keep: each room (`inbox`, `decisions`, `actions`, `rule_state`, `stories`) implements its
//! own trait for [`SqlStore`] in its own module, with these helpers.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::inbox::sqlite::{inbox_path, SqliteInbox};
use super::instances::Owner;
use super::work::{WorkChannel, WorkHub};
use super::{Result, Store, StoreError};
use crate::secret::Secret;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Rows per multi-row INSERT of actions (12 parameters each) and rule events (6).
pub(super) const ROW_CHUNK: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct SqlStore {
    /// Reads (several connections; WAL lets them run beside the writer).
    pub(super) pool: AnyPool,
    /// Writes. On SQLite one connection: writers queue here in-process instead of meeting
    /// SQLITE_BUSY across connections and sleeping in the busy handler, which made p99 latency
    /// jump to seconds under load. On PostgreSQL the same pool as reads.
    pub(super) writer: AnyPool,
    pub(super) dialect: Dialect,
    pub(super) work: Arc<WorkHub>,
    /// SQLite: the inbox and dead letters, in a file of their own with their own writer
    /// thread, so that webhooks never wait for the pipeline's writes. PostgreSQL keeps them in
    /// the same database (`None`): its writers do not exclude each other.
    pub(super) inbox: Option<SqliteInbox>,
    /// This run's name in its claims, once it registered ([`super::InstanceStore`]).
    pub(super) owner: Arc<OnceLock<Owner>>,
    /// SQLite: the instances lock this process holds shared while it works on the file
    /// ([`super::InstanceStore`]); released by the operating system when the process ends.
    pub(super) running_lock: Arc<OnceLock<std::fs::File>>,
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

/// The main database file of a `sqlite:PATH` URL (no `//`, no `?options`); `None` for
/// PostgreSQL.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(std::path::PathBuf::from(
        path.split('?').next().unwrap_or(path),
    ))
}

impl SqlStore {
    /// Connects (creating the SQLite file and its folder when needed) and migrates.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let mut main_file = None;
        let (dialect, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or(path);
            main_file = sqlite_file(url);
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
            owner: Arc::new(OnceLock::new()),
            running_lock: Arc::new(OnceLock::new()),
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
    pub(super) fn skip_locked(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// A transaction that will write. SQLite's default deferred transaction takes its write
    /// lock at the first write, and a read before it can then fail at once with SQLITE_BUSY
    /// instead of waiting; `BEGIN IMMEDIATE` takes the lock up front, where busy_timeout applies.
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        if self.dialect == Dialect::Postgres {
            return Ok(self.writer.begin().await?);
        }
        for _ in 0..2 {
            match self.writer.begin_with("BEGIN IMMEDIATE").await {
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    // A COMMIT that failed on a full disk: SQLite rolled the transaction back
                    // itself, so sqlx's ROLLBACK failed and it still counts a transaction open
                    // on this connection, refusing every later BEGIN (sqlx-sqlite 0.8.6 keeps
                    // its depth when a ROLLBACK fails; found by tests/api/disk_full.rs). The
                    // connection is closed; the pool opens a fresh one.
                    tracing::warn!("the database writer's connection was left in a failed transaction: reconnecting");
                    if let Ok(conn) = self.writer.acquire().await {
                        let _ = conn.close().await;
                    }
                }
                other => return Ok(other?),
            }
        }
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Tells the other instances, at commit, that `channel` has new work. The channel names
    /// are constants, so the statement is never built from input.
    pub(super) async fn notify_in(
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
    pub(super) fn contains(&self, column: &str, placeholder: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("instr({column}, {placeholder}) > 0"),
            Dialect::Postgres => format!("strpos({column}, {placeholder}) > 0"),
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    async fn ping(&self) -> Result<()> {
        if let Some(inbox) = &self.inbox {
            inbox.ping().await?;
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<()> {
        if let Some(inbox) = &self.inbox {
            inbox.probe_write().await?;
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            return Ok(());
        }
        // PostgreSQL: a server that became a read-only standby (a failover) says so; a
        // committed write of this instance's heartbeat, unchanged, fails where a delivery's
        // commit would (a full disk).
        let read_only: String =
            sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                .fetch_one(&self.writer)
                .await?;
        if read_only == "on" {
            return Err(StoreError::Invalid(
                "the database is read-only (a standby?)".into(),
            ));
        }
        if let Some(owner) = self.owner.get() {
            sqlx::query("UPDATE instances SET heartbeat_at = heartbeat_at WHERE owner = $1")
                .bind(&owner.key)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }
}

/// The groups of a multi-row VALUES list of `rows` rows of `width` parameters, bound in order.
/// PostgreSQL numbers them (`$1, $2, ...`). SQLite gets anonymous `?`: it keeps numbered and
/// named parameters in a list that it searches from the start for every one of them, when the
/// statement is prepared and again (through sqlx) when each is bound, so a 3,000-parameter
/// statement cost millions of steps; this was the largest single item of the pipeline's
/// database time.
pub(super) fn values_list(dialect: Dialect, rows: usize, width: usize) -> String {
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

/// `$first, $first+1, ...`: `n` numbered placeholders for an `IN (...)` list of values bound
/// in order (text values, unlike [`id_list`]'s integers, are never written into the SQL).
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Row ids for an `IN (...)` list. Ids are integers, so they are written into the statement
/// itself: one statement for a whole batch, whatever its size.
pub(super) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `,a,b,` so that `LIKE '%,a,%'` finds a whole id.
pub(super) fn join_list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}
