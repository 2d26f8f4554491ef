//! What the rules remember between comments: the rule events that flood, wave and
//! repeat-offender conditions count, the per-rule match counts the rule monitor reads from the
//! moderation log, and the rules it switched to shadow automatically (or an operator cleared).
//!
//! Owns the `rule_events` and `rule_auto_shadow` tables, and only reads `decisions` (match
//! counts). Rule events are written with their decision (`insert_rule_events`, called by
//! [`super::decisions`]), so a re-processed comment is counted once.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::Row;

use super::db::{placeholders, split_list, values_list, Dialect, SqlStore, ROW_CHUNK};
use super::Result;

/// One evaluated comment as flood, wave and repeat-offender conditions count it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleEvent {
    pub account_id: String,
    /// The engine's author key (normalized username, else user id).
    pub author: String,
    /// The engine's text key of the normalized text.
    pub text_key: String,
    /// The comment's time as the engine saw it: unix SECONDS.
    pub time: i64,
    /// The decision enforced at least one action.
    pub enforced: bool,
}

/// What one batch's stateful conditions need, read before it is evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleStateRows {
    /// `(author, time, enforced)` of every event by the asked authors.
    pub author_events: Vec<(String, i64, bool)>,
    /// `(text_key, author, latest time)`: each distinct author of each asked text key.
    pub text_authors: Vec<(String, String, i64)>,
}

/// Decisions of one account with one exact list of matched rules: rule statistics are sums of
/// these, so the database groups and the caller splits the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatchGroup {
    pub account_id: String,
    /// Matched rule ids (empty: decisions that matched nothing).
    pub rules: Vec<String>,
    /// Decisions decided at or after `since`.
    pub count: i64,
    /// Of those, decided at or after `recent`.
    pub recent: i64,
}

/// Decisions of one account that matched one rule on one day ([`RuleStateStore::rule_matches_by_day`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDayCount {
    pub account_id: String,
    pub rule: String,
    /// 0 is the oldest day of the window.
    pub day: i64,
    pub count: i64,
}

/// What a rule says (a hash of its definition) and since when (unix milliseconds; 0: found at
/// the first start, so not a fresh edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleVersion {
    /// `""` for the default rules folder, else the account whose folder holds the rule.
    pub scope: String,
    pub rule_id: String,
    pub version: String,
    pub since: i64,
}

/// A rule switched to shadow automatically (or cleared by an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoShadow {
    /// `""` for the default rules folder, else the account whose folder holds the rule.
    pub scope: String,
    pub rule_id: String,
    pub state: AutoShadowState,
    pub matches: i64,
    pub decisions: i64,
    pub window_ms: i64,
    /// When the version of the rule that was switched was first seen (unix milliseconds; see
    /// [`RuleVersion`]). Named after the column, from when an edit was told by the file's
    /// modification time.
    pub file_mtime: i64,
    /// When it was switched or cleared (unix milliseconds).
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShadowState {
    Shadowed,
    /// An operator vouched for the rule's current version: not switched again until it changes.
    Cleared,
}

impl AutoShadowState {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoShadowState::Shadowed => "shadowed",
            AutoShadowState::Cleared => "cleared",
        }
    }
}

/// Rule statistics, automatic shadowing and shared rule state. Every method is one
/// transaction.
#[async_trait]
pub trait RuleStateStore: Send + Sync + 'static {
    /// Decisions at or after `since`, grouped by account and matched-rule list, each group
    /// also counting those at or after `recent`: one indexed range scan however many rules.
    async fn rule_match_counts(&self, since: i64, recent: i64) -> Result<Vec<RuleMatchGroup>>;

    /// How many decisions each rule matched on each of the `days` days of `day_ms` ending at
    /// `now`: `(account, rule, day)` with day 0 the oldest. For the review page's rules view.
    async fn rule_matches_by_day(
        &self,
        now: i64,
        days: i64,
        day_ms: i64,
    ) -> Result<Vec<RuleDayCount>>;

    /// Every auto-shadow row, shadowed and cleared.
    async fn auto_shadows(&self) -> Result<Vec<AutoShadow>>;

    /// Every rule version noted (see [`RuleVersion`]).
    async fn rule_versions(&self) -> Result<Vec<RuleVersion>>;

    /// Notes rule versions in one transaction: a version not noted before gets the `since`
    /// given; one noted already keeps its own (so a redeploy of the same rules changes nothing,
    /// of two instances noting one edit the first one's time stands, and a rule that goes back
    /// to an earlier version gets that version's time back).
    async fn note_rule_versions(&self, versions: &[RuleVersion]) -> Result<()>;

    /// Switches a rule to shadow, unless a row for it already applies to the rule's current
    /// version (its `at` is at or after `s.file_mtime`, when that version was first seen):
    /// another instance switched it, or an operator cleared it. Returns `true` when this call
    /// made the switch.
    async fn set_auto_shadow(&self, s: &AutoShadow) -> Result<bool>;

    /// Clears a shadowed rule (in `scope`, or in every scope when `None`): an operator vouches
    /// for its current version. Returns how many were cleared.
    async fn clear_auto_shadow(&self, rule_id: &str, scope: Option<&str>, now: i64) -> Result<u64>;

    // --- shared rule state ---------------------------------------------------------------

    /// The rule events of `account_id` at or after `since` (unix seconds) that stateful
    /// conditions about `authors` and `text_keys` count.
    async fn rule_state(
        &self,
        account_id: &str,
        authors: &[String],
        text_keys: &[String],
        since: i64,
    ) -> Result<RuleStateRows>;

    /// Deletes rule events recorded before `before` (unix milliseconds). Returns how many.
    async fn prune_rule_events(&self, before: i64) -> Result<u64>;
}

#[async_trait]
impl RuleStateStore for SqlStore {
    async fn rule_matches_by_day(
        &self,
        now: i64,
        days: i64,
        day_ms: i64,
    ) -> Result<Vec<RuleDayCount>> {
        let since = now - days * day_ms;
        // Grouped by the matched-rule list, as rule_match_counts is: the lists are split here.
        let rows = sqlx::query(
            "SELECT account_id, rules, (decided_at - $1) / $2 AS day, COUNT(*) AS n \
             FROM decisions WHERE decided_at >= $1 AND rules <> '' GROUP BY account_id, rules, day",
        )
        .bind(since)
        .bind(day_ms.max(1))
        .fetch_all(&self.pool)
        .await?;
        let mut sums: std::collections::BTreeMap<(String, String, i64), i64> = Default::default();
        for r in &rows {
            let account: String = r.try_get("account_id")?;
            let rules: String = r.try_get("rules")?;
            let day: i64 = r.try_get("day")?;
            let n: i64 = r.try_get("n")?;
            for rule in split_list(&rules) {
                *sums
                    .entry((account.clone(), rule, day.clamp(0, days - 1)))
                    .or_default() += n;
            }
        }
        Ok(sums
            .into_iter()
            .map(|((account_id, rule, day), count)| RuleDayCount {
                account_id,
                rule,
                day,
                count,
            })
            .collect())
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

    async fn rule_versions(&self) -> Result<Vec<RuleVersion>> {
        let rows = sqlx::query("SELECT scope, rule_id, version, since FROM rule_versions")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RuleVersion {
                    scope: r.try_get("scope")?,
                    rule_id: r.try_get("rule_id")?,
                    version: r.try_get("version")?,
                    since: r.try_get("since")?,
                })
            })
            .collect()
    }

    async fn note_rule_versions(&self, versions: &[RuleVersion]) -> Result<()> {
        if versions.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for v in versions {
            sqlx::query(
                "INSERT INTO rule_versions (scope, rule_id, version, since) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scope, rule_id, version) DO NOTHING",
            )
            .bind(&v.scope)
            .bind(&v.rule_id)
            .bind(&v.version)
            .bind(v.since)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
        let list = |n: usize| placeholders(3, n);
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
}

/// Inserts rule events (each with the time its decision was recorded) inside `tx`.
pub(super) async fn insert_rule_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    dialect: Dialect,
    events: &[(&RuleEvent, i64)],
) -> Result<()> {
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
    Ok(())
}
