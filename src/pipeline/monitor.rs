//! Rule statistics and automatic shadowing, recomputed in the background.
//!
//! Every `rule_stats_interval` the monitor reads the moderation log's match counts (one grouped
//! query per window, never per comment) and the auto-shadow rows every instance shares. A rule
//! edited within the last day that matches more than `auto_shadow_share` of the comments
//! decided since the edit (looking back at most an hour, and only once
//! `auto_shadow_min_comments` were decided) is switched to shadow: recorded in the store so
//! every instance and a restart agree, logged once (by the instance that switched it) and
//! counted. It stays shadowed until it is edited again or an operator clears it.
//!
//! "Edited" means that what the rule says changed: its version (a hash of its conditions,
//! actions, lists and models; see `rules::load::version`) differs from the one noted in the
//! store, which keeps since when each version is known. Rewriting the files with the same rules
//! (a redeploy, a checkout, a ConfigMap) edits nothing; the versions found at the very first
//! start count as old.
//!
//! The pipeline asks [`MonitorView::is_shadowed`] of the last computed view: reading it costs
//! a pointer load.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::RulesRegistry;
use crate::config::Settings;
use crate::rules::Mode;
use crate::store::{
    now_ms, AutoShadow, AutoShadowState, RuleMatchGroup, RuleStateStore, RuleVersion, StoreError,
};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Match counts of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    pub matches_last_hour: i64,
    pub matches_last_day: i64,
}

/// The decisions of the accounts one rule set decides for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScopeStats {
    pub decisions_last_hour: i64,
    pub decisions_last_day: i64,
    pub rules: BTreeMap<String, RuleCounts>,
}

impl ScopeStats {
    /// `(share of the last hour, share of the last day)` of the decisions that `rule` matched.
    pub fn shares(&self, rule: &str) -> (f64, f64) {
        let c = self.rules.get(rule).copied().unwrap_or_default();
        let share = |n: i64, total: i64| {
            if total > 0 {
                n as f64 / total as f64
            } else {
                0.0
            }
        };
        (
            share(c.matches_last_hour, self.decisions_last_hour),
            share(c.matches_last_day, self.decisions_last_day),
        )
    }
}

/// What the monitor last computed.
#[derive(Debug, Clone, Default)]
pub struct MonitorView {
    /// Unix milliseconds; 0 before the first computation.
    pub computed_at: i64,
    /// Keyed by scope: `""` for the default rules folder, else the account id.
    pub scopes: BTreeMap<String, ScopeStats>,
    /// Rules switched to shadow right now, by scope then rule id.
    pub shadowed: HashMap<String, HashMap<String, AutoShadow>>,
}

impl MonitorView {
    pub fn is_shadowed(&self, scope: &str, rule: &str) -> bool {
        self.shadowed
            .get(scope)
            .is_some_and(|rules| rules.contains_key(rule))
    }

    pub fn auto_shadow(&self, scope: &str, rule: &str) -> Option<&AutoShadow> {
        self.shadowed.get(scope).and_then(|rules| rules.get(rule))
    }

    fn shadowed_count(&self) -> usize {
        self.shadowed.values().map(HashMap::len).sum()
    }
}

pub struct RuleMonitor {
    store: Arc<dyn RuleStateStore>,
    rules: Arc<RulesRegistry>,
    share: f64,
    min_comments: i64,
    interval: Duration,
    view: ArcSwap<MonitorView>,
}

/// A rule that may be switched: edited within the last day, neither shadowed nor cleared.
struct Candidate {
    scope: String,
    rule_id: String,
    /// When its current version was first seen.
    edited_at: i64,
    window_start: i64,
}

impl RuleMonitor {
    pub fn new(
        store: Arc<dyn RuleStateStore>,
        rules: Arc<RulesRegistry>,
        settings: &Settings,
    ) -> Self {
        RuleMonitor {
            store,
            rules,
            share: settings.auto_shadow_share,
            min_comments: settings.auto_shadow_min_comments as i64,
            interval: settings.rule_stats_interval,
            view: ArcSwap::from_pointee(MonitorView::default()),
        }
    }

    /// The last computed statistics and auto-shadowed rules.
    pub fn view(&self) -> Arc<MonitorView> {
        self.view.load_full()
    }

    /// Recomputes until `shutdown`; a failed computation keeps the last view.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "rule statistics not refreshed; keeping the last ones");
            }
        }
    }

    /// Notes the loaded rules' versions (see the module documentation) and returns since when
    /// each loaded rule says what it says, by scope and rule id. Each version keeps the time it
    /// was first seen by any instance, so two instances running two versions of a rule during
    /// a rolling deploy do not make either look freshly edited at every refresh.
    ///
    /// At the very first start (no version noted yet) the rules count as old, except one whose
    /// automatic-shadow row is older than its file: the rule was edited after it was switched
    /// (the test before versions existed), so it counts as edited when its file was.
    async fn note_versions(
        &self,
        now: i64,
        rows: &HashMap<(String, String), AutoShadow>,
    ) -> Result<HashMap<(String, String), i64>, StoreError> {
        type Key = (String, String, String);
        let read = |versions: Vec<RuleVersion>| -> HashMap<Key, i64> {
            versions
                .into_iter()
                .map(|v| ((v.scope, v.rule_id, v.version), v.since))
                .collect()
        };
        let known = read(self.store.rule_versions().await?);
        let first_start = known.is_empty();
        let mut since = HashMap::new();
        let mut new = Vec::new();
        for (account, handle) in self.rules.handles() {
            let scope = account.unwrap_or("").to_string();
            for info in handle.current().rules() {
                let key = (scope.clone(), info.id.clone());
                let versioned = (scope.clone(), info.id.clone(), info.version.clone());
                if let Some(&at) = known.get(&versioned) {
                    since.insert(key, at);
                    continue;
                }
                let at = if first_start {
                    let mtime = std::fs::metadata(handle.dir().join(&info.file))
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as i64);
                    match rows.get(&key) {
                        Some(row) if row.at < mtime => mtime,
                        _ => 0,
                    }
                } else {
                    now
                };
                new.push(RuleVersion {
                    scope: scope.clone(),
                    rule_id: info.id.clone(),
                    version: info.version.clone(),
                    since: at,
                });
                since.insert(key, at);
            }
        }
        if !new.is_empty() {
            self.store.note_rule_versions(&new).await?;
            // Another instance may have noted the same version first: its time stands.
            let stored = read(self.store.rule_versions().await?);
            for v in &new {
                if let (Some(s), Some(&first)) = (
                    since.get_mut(&(v.scope.clone(), v.rule_id.clone())),
                    stored.get(&(v.scope.clone(), v.rule_id.clone(), v.version.clone())),
                ) {
                    *s = first;
                }
            }
        }
        Ok(since)
    }

    /// Recomputes the statistics, switches rules that trip, and publishes the new view.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let now = now_ms();
        let rows: HashMap<(String, String), AutoShadow> = self
            .store
            .auto_shadows()
            .await?
            .into_iter()
            .map(|r| ((r.scope.clone(), r.rule_id.clone()), r))
            .collect();
        let edited = self.note_versions(now, &rows).await?;
        let mut shadowed: HashMap<String, HashMap<String, AutoShadow>> = HashMap::new();
        let candidates = self.candidates(now, &rows, &edited, &mut shadowed);

        // Rules of one file share a window: one query per edited file at most.
        let mut windows: HashMap<i64, Vec<RuleMatchGroup>> = HashMap::new();
        for c in candidates {
            let groups = match windows.entry(c.window_start) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    self.store
                        .rule_match_counts(c.window_start, c.window_start)
                        .await?,
                ),
            };
            let (mut decisions, mut matches) = (0i64, 0i64);
            for g in groups.iter() {
                if self.rules.scope_for(&g.account_id) != c.scope {
                    continue;
                }
                decisions += g.count;
                if g.rules.contains(&c.rule_id) {
                    matches += g.count;
                }
            }
            let share = if decisions > 0 {
                matches as f64 / decisions as f64
            } else {
                0.0
            };
            if decisions < self.min_comments || decisions == 0 || share <= self.share {
                continue;
            }
            let row = AutoShadow {
                scope: c.scope,
                rule_id: c.rule_id,
                state: AutoShadowState::Shadowed,
                matches,
                decisions,
                window_ms: now - c.window_start,
                file_mtime: c.edited_at,
                at: now,
            };
            // Another instance may have switched it (or an operator cleared it) meanwhile:
            // then the next refresh reads its row, and only that instance logs and counts.
            if self.store.set_auto_shadow(&row).await? {
                tracing::warn!(
                    rule.id = %row.rule_id,
                    rules.scope = %row.scope,
                    share,
                    matches,
                    decisions,
                    window_ms = row.window_ms,
                    "RuleAutoShadowed: a freshly edited rule matches too many comments; it runs in shadow until its file changes or an operator clears it"
                );
                metrics::counter!("commentguard_rules_auto_shadowed_total").increment(1);
                shadowed
                    .entry(row.scope.clone())
                    .or_default()
                    .insert(row.rule_id.clone(), row);
            }
        }

        let scopes = self.scope_stats(now).await?;

        let view = MonitorView {
            computed_at: now,
            scopes,
            shadowed,
        };
        let before = self.view();
        for (scope, rules) in &before.shadowed {
            for rule in rules.keys() {
                if !view.is_shadowed(scope, rule) {
                    tracing::info!(rule.id = %rule, rules.scope = %scope, "RuleAutoShadowReleased: the rule is enforced again");
                }
            }
        }
        metrics::gauge!("commentguard_rules_auto_shadowed").set(view.shadowed_count() as f64);
        self.view.store(Arc::new(view));
        Ok(())
    }

    /// The enforced rules edited within the last day that no row speaks for yet: each to be
    /// measured over its window. A rule whose row (about this version) says shadowed goes
    /// into `shadowed`.
    fn candidates(
        &self,
        now: i64,
        rows: &HashMap<(String, String), AutoShadow>,
        edited: &HashMap<(String, String), i64>,
        shadowed: &mut HashMap<String, HashMap<String, AutoShadow>>,
    ) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for (account, handle) in self.rules.handles() {
            let scope = account.unwrap_or("");
            let set = handle.current();
            let mut seen = HashSet::new();
            for info in set.rules() {
                if info.mode == Mode::Shadow || !seen.insert(info.id.clone()) {
                    continue;
                }
                let key = (scope.to_string(), info.id.clone());
                let edited_at = edited.get(&key).copied();
                // A row written at or after this version was first seen is about this version.
                if let Some(row) = rows
                    .get(&key)
                    .filter(|r| edited_at.is_none_or(|m| r.at >= m))
                {
                    if row.state == AutoShadowState::Shadowed {
                        shadowed
                            .entry(key.0)
                            .or_default()
                            .insert(key.1, row.clone());
                    }
                    continue;
                }
                match edited_at {
                    Some(m) if self.share > 0.0 && now - m < DAY_MS => candidates.push(Candidate {
                        scope: key.0,
                        rule_id: key.1,
                        edited_at: m,
                        window_start: m.max(now - HOUR_MS),
                    }),
                    _ => {}
                }
            }
        }
        candidates
    }

    /// Each scope's decisions and rule matches over the last day and the last hour.
    async fn scope_stats(&self, now: i64) -> Result<BTreeMap<String, ScopeStats>, StoreError> {
        let mut scopes: BTreeMap<String, ScopeStats> = BTreeMap::new();
        for g in self
            .store
            .rule_match_counts(now - DAY_MS, now - HOUR_MS)
            .await?
        {
            let stats = scopes
                .entry(self.rules.scope_for(&g.account_id).to_string())
                .or_default();
            stats.decisions_last_day += g.count;
            stats.decisions_last_hour += g.recent;
            for rule in &g.rules {
                let c = stats.rules.entry(rule.clone()).or_default();
                c.matches_last_day += g.count;
                c.matches_last_hour += g.recent;
            }
        }
        Ok(scopes)
    }
}
