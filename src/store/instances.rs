//! Who holds a claim: every running instance has an identity (its instance id and boot time)
//! that it writes into each claim it takes on inbox events, actions and story snapshots, and on
//! PostgreSQL a heartbeat. A claim is then not only a lease that runs out: the claims of a run
//! that is gone are taken over at once.
//!
//! - On start, an instance takes back the claims of its own previous run. On SQLite every
//!   instance on a file holds a shared lock on `NAME-inbox.db.instances` while it runs (the
//!   operating system lets go of it when the process dies, SIGKILL included); an instance that
//!   finds no other holder is alone, so every old claim is its own and all of them come back
//!   at once. One that finds another instance running (a rolling deploy, two services on one
//!   file) leaves the claims alone: they may be in flight, a reply among them. On
//!   PostgreSQL the rows of earlier runs with the same instance id that stopped beating are
//!   removed, which makes their claims free; a run killed moments ago frees its claims when
//!   its heartbeat is `dead_after` old (two processes given one id by mistake must not take
//!   each other's work).
//! - On PostgreSQL, a claim whose run has not sent a heartbeat for `dead_after` is free for
//!   any instance ([`SqlStore::orphaned_claim`]); a living instance keeps its claims for as
//!   long as their leases say, however slow its Graph calls are.
//!
//! Owns the `instances` table (PostgreSQL) and the `claimed_by` columns' meaning; the rooms
//! write `claimed_by` in their claims.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;

use super::db::{Dialect, SqlStore};
use super::{Result, StoreError};

/// This run's name in claims: `INSTANCE_ID@BOOT_MS`.
#[derive(Debug, Clone)]
pub(super) struct Owner {
    pub key: String,
    pub instance_id: String,
    pub boot_ms: i64,
    pub dead_after_ms: i64,
}

/// Claims an instance found on start and made claimable at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TakenBack {
    pub events: u64,
    pub actions: u64,
    pub stories: u64,
}

/// The running instances and their claims.
#[async_trait]
pub trait InstanceStore: Send + Sync + 'static {
    /// Registers this run (`instance_id` started at `boot_ms`) and takes back the claims of the
    /// instance's previous runs; from now on this store's claims carry the run's name. A claim
    /// whose run has sent no heartbeat for `dead_after` is free for others (PostgreSQL).
    async fn register_instance(
        &self,
        instance_id: &str,
        boot_ms: i64,
        dead_after: Duration,
        now: i64,
    ) -> Result<TakenBack>;

    /// Tells the other instances this run is alive (PostgreSQL; nothing to do on SQLite).
    async fn heartbeat(&self, now: i64) -> Result<()>;

    /// Says this process works on the store without registering as an instance (a sweep from
    /// the command line): on SQLite an instance starting meanwhile then leaves its claims
    /// alone. Its claims are plain leases; nothing to do on PostgreSQL.
    async fn attend(&self) -> Result<()>;

    /// A clean stop: this run's row goes, so nothing waits for its heartbeat to age.
    async fn unregister_instance(&self) -> Result<()>;
}

#[async_trait]
impl InstanceStore for SqlStore {
    async fn register_instance(
        &self,
        instance_id: &str,
        boot_ms: i64,
        dead_after: Duration,
        now: i64,
    ) -> Result<TakenBack> {
        let key = format!("{instance_id}@{boot_ms}");
        let owner = Owner {
            key: key.clone(),
            instance_id: instance_id.to_string(),
            boot_ms,
            dead_after_ms: dead_after.as_millis() as i64,
        };
        match self.dialect {
            Dialect::Sqlite => self.register_on_sqlite(owner, now).await,
            Dialect::Postgres => {
                self.register_on_postgres(owner, instance_id, &key, dead_after, now)
                    .await
            }
        }
    }

    async fn heartbeat(&self, now: i64) -> Result<()> {
        let (Dialect::Postgres, Some(owner)) = (self.dialect, self.owner.get()) else {
            return Ok(());
        };
        // An upsert: a row removed meanwhile (a pause of a day) comes back.
        sqlx::query(
            "INSERT INTO instances (owner, instance_id, boot_ms, heartbeat_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&owner.key)
        .bind(&owner.instance_id)
        .bind(owner.boot_ms)
        .bind(now)
        .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn attend(&self) -> Result<()> {
        if let (Dialect::Sqlite, Some(inbox)) = (self.dialect, &self.inbox) {
            let lock = open_lock(&lock_path(inbox.path()))?;
            let _ = self.running_lock.set(hold_shared(lock, false).await?);
        }
        Ok(())
    }

    async fn unregister_instance(&self) -> Result<()> {
        let (Dialect::Postgres, Some(owner)) = (self.dialect, self.owner.get()) else {
            return Ok(());
        };
        sqlx::query("DELETE FROM instances WHERE owner = $1")
            .bind(&owner.key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// How often a run beats: four times per `dead_after`, so one late beat never makes a living
/// instance look dead.
pub fn heartbeat_interval(dead_after: Duration) -> Duration {
    (dead_after / 4).max(Duration::from_millis(100))
}

/// Other runs of `instance_id` that beat at or after `since`: `(owner, heartbeat_at)`.
async fn fresh_twins(
    pool: &sqlx::AnyPool,
    instance_id: &str,
    key: &str,
    since: i64,
) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT owner, heartbeat_at FROM instances \
         WHERE instance_id = $1 AND owner <> $2 AND heartbeat_at >= $3",
    )
    .bind(instance_id)
    .bind(key)
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("owner")?, r.try_get("heartbeat_at")?)))
        .collect()
}

/// One leased queue's claim, the same shape for the inbox, the actions and the stories: rows
/// that are due and not held by a live lease (or held by an instance whose heartbeat stopped)
/// get a new lease and are returned. `$1` is the new lease's end, `$2` now, `$3` the limit.
pub(super) struct Claim<'a> {
    pub table: &'a str,
    /// The row key, and the alias the inner SELECT gives the table (`""` for none).
    pub key: &'a str,
    pub alias: &'a str,
    /// The assignments that take the lease (`lease_until = $1, attempts = attempts + 1`).
    pub set: &'a str,
    /// Which rows are due, besides the lease (`state = 'pending'`).
    pub due: &'a str,
    /// The column that holds the lease's end: a row is free once it is `<= $2`.
    pub lease: &'a str,
    /// The column that says who holds the claim (PostgreSQL, several instances).
    pub owner: &'a str,
    pub order: &'a str,
    pub returning: &'a str,
}

impl SqlStore {
    /// Claims up to `limit` rows of `c` until `now + lease`: the one claim every leased queue
    /// makes, in one statement (SKIP LOCKED on PostgreSQL, so instances take disjoint rows).
    pub(super) async fn claim<T>(
        &self,
        c: &Claim<'_>,
        limit: i64,
        lease: std::time::Duration,
        now: i64,
        from_row: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let inner_key = if c.alias.is_empty() {
            c.key.to_string()
        } else {
            format!("{}.{}", c.alias, c.key)
        };
        let sql = format!(
            "UPDATE {table} SET {set}{owner} WHERE {key} IN ( \
               SELECT {inner_key} FROM {table} {alias} WHERE {due} AND ({lease} <= $2{orphaned}) \
               ORDER BY {order} LIMIT $3 {skip} ) \
             RETURNING {returning}",
            table = c.table,
            set = c.set,
            owner = self.claim_owner(),
            key = c.key,
            alias = c.alias,
            due = c.due,
            lease = c.lease,
            orphaned = self.orphaned_claim(c.owner, "$2"),
            order = c.order,
            skip = self.skip_locked(),
            returning = c.returning,
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The `claimed_by = '...'` assignment of a claim, with a leading comma; empty when this
    /// store has not registered an instance, or on SQLite (one instance: no names needed).
    /// The name is the validated instance id and a number, quoted for SQL all the same.
    pub(super) fn claim_owner(&self) -> String {
        match (self.dialect, self.owner.get()) {
            (Dialect::Postgres, Some(owner)) => {
                format!(", claimed_by = '{}'", owner.key.replace('\'', "''"))
            }
            _ => String::new(),
        }
    }

    /// `, claimed_by = NULL` where claims carry names (PostgreSQL): for a row that goes back to
    /// waiting on its schedule, so that its old claim cannot make it due early.
    pub(super) fn clear_owner(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => ", claimed_by = NULL",
            Dialect::Sqlite => "",
        }
    }

    /// ` OR (...)`: a claim whose run is gone (no heartbeat for its `dead_after`, or replaced by
    /// a restart) is free. `now` is the placeholder of the current time. PostgreSQL only.
    pub(super) fn orphaned_claim(&self, column: &str, now: &str) -> String {
        match (self.dialect, self.owner.get()) {
            (Dialect::Postgres, Some(owner)) => format!(
                " OR ({column} IS NOT NULL AND {column} NOT IN \
                 (SELECT owner FROM instances WHERE heartbeat_at >= {now} - {}))",
                owner.dead_after_ms
            ),
            _ => String::new(),
        }
    }
}

/// The lock file of the SQLite store whose inbox is `inbox`: held shared by every instance
/// running on that file.
fn lock_path(inbox: &Path) -> PathBuf {
    let mut name = inbox.as_os_str().to_owned();
    name.push(".instances");
    PathBuf::from(name)
}

fn open_lock(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::Invalid(format!("cannot open {}: {e}", path.display())))
}

/// Whether no other instance holds the file: the exclusive lock taken if so.
fn try_exclusive(lock: &std::fs::File) -> Result<bool> {
    match lock.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Invalid(format!(
            "cannot lock the instances file: {e}"
        ))),
    }
}

/// Holds `lock` shared for the rest of this run, giving up the exclusive lock first if it was
/// taken (nothing is claimed yet, so a moment without a lock loses nothing). Waits while an
/// instance that is starting holds it exclusively to take back its previous run's claims.
async fn hold_shared(lock: std::fs::File, exclusive: bool) -> Result<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        if exclusive {
            lock.unlock()?;
        }
        lock.lock_shared()?;
        Ok(lock)
    })
    .await
    .map_err(|e| StoreError::Invalid(format!("locking the instances file: {e}")))?
    .map_err(|e: std::io::Error| {
        StoreError::Invalid(format!("cannot lock the instances file: {e}"))
    })
}

impl SqlStore {
    /// SQLite: the file's lock says whether another instance runs on it; alone, every claim in
    /// the file is this instance's previous run's, taken back at once.
    async fn register_on_sqlite(&self, owner: Owner, now: i64) -> Result<TakenBack> {
        let Some(inbox) = &self.inbox else {
            return Err(StoreError::Invalid(
                "a SQLite store without its inbox".into(),
            ));
        };
        let lock = open_lock(&lock_path(inbox.path()))?;
        // Exclusive only if no other instance holds its shared lock: then every claim
        // in the file is this instance's previous run's, and it is taken back while
        // the exclusive lock keeps a second starting instance waiting.
        let alone = try_exclusive(&lock)?;
        let mut taken = TakenBack::default();
        if alone {
            taken.events = inbox.take_back_claims(now).await?;
            taken.actions = sqlx::query(
                "UPDATE actions SET lease_until = 0 WHERE state = 'pending' AND lease_until > $1",
            )
            .bind(now)
            .execute(&self.writer)
            .await?
            .rows_affected();
            // Story claims move the schedule itself; on SQLite they return after
            // their lease (the poller's, two minutes).
        } else {
            tracing::info!(
                "another instance runs on this SQLite file: the claims it holds stay its own \
                 (they come back after their lease if it stops without finishing them)"
            );
        }
        let _ = self.running_lock.set(hold_shared(lock, alone).await?);
        let _ = self.owner.set(owner);
        Ok(taken)
    }

    /// PostgreSQL: this run's row, the rows of dead runs of the same id removed, and the
    /// claims of dead instances counted (the others' queries take them over).
    async fn register_on_postgres(
        &self,
        owner: Owner,
        instance_id: &str,
        key: &str,
        dead_after: Duration,
        now: i64,
    ) -> Result<TakenBack> {
        let boot_ms = owner.boot_ms;
        let _ = self.owner.set(owner);
        let dead_after_ms = dead_after.as_millis() as i64;
        // A run of this id that beat within `dead_after` is either this instance's
        // previous run, killed moments ago, or a second process given the same id by
        // mistake. Watch it for one heartbeat interval: one that beats again is alive
        // and keeps its claims (they free themselves once it stops); one that does not
        // is gone, and its claims are free at once.
        let twins = fresh_twins(&self.pool, instance_id, key, now - dead_after_ms).await?;
        let mut alive = 0;
        if !twins.is_empty() {
            tokio::time::sleep(heartbeat_interval(dead_after) + Duration::from_millis(500)).await;
            let later = fresh_twins(&self.pool, instance_id, key, now - dead_after_ms).await?;
            for (owner, beat) in &twins {
                if later.iter().any(|(o, b)| o == owner && b != beat) {
                    alive += 1;
                } else {
                    sqlx::query("DELETE FROM instances WHERE owner = $1 AND heartbeat_at = $2")
                        .bind(owner)
                        .bind(beat)
                        .execute(&self.writer)
                        .await?;
                }
            }
        }
        if alive > 0 {
            tracing::warn!(instance_id, "another running process has this instance id: give each instance its own COMMENTGUARD_INSTANCE_ID (its work stays its own meanwhile)");
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM instances WHERE (instance_id = $1 AND owner <> $2 AND heartbeat_at < $3) \
             OR heartbeat_at < $4",
        )
        .bind(instance_id)
        .bind(key)
        .bind(now - dead_after_ms)
        .bind(now - 86_400_000)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO instances (owner, instance_id, boot_ms, heartbeat_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(key)
        .bind(instance_id)
        .bind(boot_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut counts = [0u64; 3];
        for (i, (table, pending, due)) in [
            ("inbox", "state = 'pending'", "lease_until > $1"),
            ("actions", "state = 'pending'", "lease_until > $1"),
            ("stories", "closed_at IS NULL", "next_snapshot_at > $1"),
        ]
        .into_iter()
        .enumerate()
        {
            let n: i64 = sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE {pending} AND {due} \
                 AND (FALSE{})",
                self.orphaned_claim("claimed_by", "$1")
            ))
            .bind(now)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
            counts[i] = n as u64;
        }
        Ok(TakenBack {
            events: counts[0],
            actions: counts[1],
            stories: counts[2],
        })
    }
}
