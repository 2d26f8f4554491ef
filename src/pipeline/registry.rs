//! Which rule set applies to which account: the default folder, or an account's own. Each
//! folder is a [`RulesHandle`], reloaded on change or SIGHUP; a failed reload keeps the old set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::rules::reload::{spawn_watcher, RulesHandle, Watcher};
use crate::rules::{LoadError, RuleSet};

pub struct RulesRegistry {
    pub default_dir: PathBuf,
    default: Arc<RulesHandle>,
    accounts: BTreeMap<String, Arc<RulesHandle>>,
}

impl RulesRegistry {
    /// Loads the default folder and every account folder; any error stops start-up.
    pub fn load(
        default_dir: &Path,
        accounts: &[(String, PathBuf)],
    ) -> Result<RulesRegistry, Vec<LoadError>> {
        let default = RulesHandle::load(default_dir)?;
        let mut map = BTreeMap::new();
        let mut errors = Vec::new();
        for (id, dir) in accounts {
            match RulesHandle::load(dir) {
                Ok(h) => {
                    map.insert(id.clone(), h);
                }
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RulesRegistry {
            default_dir: default_dir.to_path_buf(),
            default,
            accounts: map,
        })
    }

    pub fn for_account(&self, account_id: &str) -> Arc<RuleSet> {
        self.handle_for(account_id).current()
    }

    pub fn handle_for(&self, account_id: &str) -> &Arc<RulesHandle> {
        self.accounts.get(account_id).unwrap_or(&self.default)
    }

    /// Which rule set decides for `account_id`: the account's id when it has its own folder,
    /// `""` for the default folder.
    pub fn scope_for<'a>(&self, account_id: &'a str) -> &'a str {
        if self.accounts.contains_key(account_id) {
            account_id
        } else {
            ""
        }
    }

    /// The default handle first, then each account's (`None` for the default).
    pub fn handles(&self) -> Vec<(Option<&str>, &Arc<RulesHandle>)> {
        let mut out = vec![(None, &self.default)];
        out.extend(self.accounts.iter().map(|(id, h)| (Some(id.as_str()), h)));
        out
    }

    /// Watches every folder; keep the returned watchers alive.
    pub fn watch(&self) -> Vec<Watcher> {
        let mut out = Vec::new();
        for (_, h) in self.handles() {
            match spawn_watcher(h.clone()) {
                Ok(w) => out.push(w),
                Err(e) => {
                    tracing::warn!(rules.dir = %h.dir().display(), error = %e, "rules folder cannot be watched; reload with SIGHUP")
                }
            }
        }
        out
    }

    /// Reloads every folder on SIGHUP.
    pub fn reload_on_sighup(&self) {
        #[cfg(unix)]
        for (_, h) in self.handles() {
            if let Err(e) = crate::rules::reload::spawn_sighup(h.clone()) {
                tracing::warn!(error = %e, "SIGHUP handler not installed");
            }
        }
    }

    /// Publishes reload counts as metrics (called on each scrape).
    pub fn publish_metrics(&self) {
        let (mut ok, mut failed) = (0, 0);
        for (_, h) in self.handles() {
            ok += h.reloads_succeeded();
            failed += h.reloads_failed();
        }
        metrics::gauge!("commentguard_rule_reloads", "result" => "ok").set(ok as f64);
        metrics::gauge!("commentguard_rule_reloads", "result" => "failed").set(failed as f64);
    }
}

/// The rules of the default folder and of every account with a folder of its own; every
/// mistake of every file in the error.
pub fn load_rules(settings: &crate::config::Settings) -> anyhow::Result<RulesRegistry> {
    let accounts: Vec<(String, PathBuf)> = settings
        .accounts
        .iter()
        .filter_map(|(id, a)| a.rules_dir.clone().map(|d| (id.clone(), d)))
        .collect();
    RulesRegistry::load(&settings.rules_dir, &accounts).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("the rules do not load:\n{}", lines.join("\n"))
    })
}
