//! Which rule set applies to which account: the default folder, or an account's own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::rules::{LoadError, RuleSet};

pub struct RulesRegistry {
    pub default_dir: PathBuf,
    default: ArcSwap<RuleSet>,
    accounts: HashMap<String, (PathBuf, ArcSwap<RuleSet>)>,
}

impl RulesRegistry {
    /// Loads the default folder and every account folder; any error stops start-up.
    pub fn load(
        default_dir: &Path,
        accounts: &[(String, PathBuf)],
    ) -> Result<RulesRegistry, Vec<LoadError>> {
        let default = RuleSet::load(default_dir)?;
        let mut map = HashMap::new();
        for (id, dir) in accounts {
            map.insert(
                id.clone(),
                (dir.clone(), ArcSwap::from_pointee(RuleSet::load(dir)?)),
            );
        }
        Ok(RulesRegistry {
            default_dir: default_dir.to_path_buf(),
            default: ArcSwap::from_pointee(default),
            accounts: map,
        })
    }

    pub fn for_account(&self, account_id: &str) -> Arc<RuleSet> {
        match self.accounts.get(account_id) {
            Some((_, set)) => set.load_full(),
            None => self.default.load_full(),
        }
    }
}
