//! Hot reload: the running rule set behind an atomic pointer, replaced only by a set that
//! loaded without errors.
//!
//! A reload goes through the same [`RuleSet::load`] as start-up, off to the side; readers
//! keep using the old set until the swap, and keep it when the new one fails to load.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::{LoadError, RuleSet};

/// The outcome of the last reload attempt, for the admin API and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadStatus {
    pub at: SystemTime,
    /// Number of rules now loaded (the old count when the reload failed).
    pub rules: usize,
    /// Empty when the reload succeeded.
    pub errors: Vec<String>,
}

impl ReloadStatus {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Shared handle to the running rule set.
#[derive(Debug)]
pub struct RulesHandle {
    dir: PathBuf,
    current: ArcSwap<RuleSet>,
    last: Mutex<Option<ReloadStatus>>,
    reloads_failed: AtomicU64,
    reloads_succeeded: AtomicU64,
    /// What the folder looked like at the last load attempt, so that events that change
    /// nothing (inotify reports the loader's own reads as events) do not reload.
    fingerprint: Mutex<Vec<(PathBuf, u64, Option<SystemTime>)>>,
}

/// Every file under `dir` (recursively) with its size and modification time, sorted.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

impl RulesHandle {
    /// Loads `dir` for the first time.
    pub fn load(dir: &Path) -> Result<Arc<RulesHandle>, Vec<LoadError>> {
        let set = RuleSet::load(dir)?;
        Ok(Arc::new(RulesHandle::new(dir, set)))
    }

    /// Wraps an already loaded set; reloads read `dir`.
    pub fn new(dir: &Path, set: RuleSet) -> RulesHandle {
        RulesHandle {
            dir: dir.to_path_buf(),
            current: ArcSwap::from_pointee(set),
            last: Mutex::new(None),
            reloads_failed: AtomicU64::new(0),
            reloads_succeeded: AtomicU64::new(0),
            fingerprint: Mutex::new(fingerprint(dir)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The rule set to evaluate with; cheap, never blocks on a reload.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// Loads the folder again; on success swaps the new set in and returns its rule count,
    /// on failure keeps the running set and returns every error.
    pub fn reload(&self) -> Result<usize, Vec<LoadError>> {
        *self.fingerprint.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&self.dir);
        let result = RuleSet::load(&self.dir);
        let status = match &result {
            Ok(set) => ReloadStatus {
                at: SystemTime::now(),
                rules: set.len(),
                errors: Vec::new(),
            },
            Err(errors) => ReloadStatus {
                at: SystemTime::now(),
                rules: self.current().len(),
                errors: errors.iter().map(ToString::to_string).collect(),
            },
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
        match result {
            Ok(set) => {
                let n = set.len();
                self.current.store(Arc::new(set));
                self.reloads_succeeded.fetch_add(1, Ordering::Relaxed);
                Ok(n)
            }
            Err(errors) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                Err(errors)
            }
        }
    }

    /// The last reload attempt, if any.
    pub fn last_reload(&self) -> Option<ReloadStatus> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn reloads_failed(&self) -> u64 {
        self.reloads_failed.load(Ordering::Relaxed)
    }

    pub fn reloads_succeeded(&self) -> u64 {
        self.reloads_succeeded.load(Ordering::Relaxed)
    }

    /// Whether any file of the folder was added, removed or changed since the last load.
    pub fn changed_on_disk(&self) -> bool {
        *self.fingerprint.lock().unwrap_or_else(|e| e.into_inner()) != fingerprint(&self.dir)
    }

    /// Reloads and logs the outcome (an error is logged here, where it is handled).
    pub fn reload_logged(&self, cause: &str) {
        match self.reload() {
            Ok(n) => {
                tracing::info!(rules.count = n, rules.dir = %self.dir.display(), reload.cause = cause, "RulesReloaded")
            }
            Err(errors) => {
                for e in &errors {
                    tracing::warn!(rules.error = %e, "RuleError");
                }
                tracing::error!(
                    rules.errors = errors.len(),
                    rules.dir = %self.dir.display(),
                    reload.cause = cause,
                    "RulesReloadFailed: keeping the running rules"
                );
            }
        }
    }
}

/// Keeps the folder watcher alive; dropping it stops watching.
pub type Watcher = Debouncer<RecommendedWatcher>;

/// Watches the rules folder (and its `lists/` and `tests/`) and reloads after changes settle
/// for half a second.
pub fn spawn_watcher(handle: Arc<RulesHandle>) -> notify_debouncer_mini::notify::Result<Watcher> {
    let h = handle.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(500),
        move |res: DebounceEventResult| match res {
            Ok(events) if !events.is_empty() && h.changed_on_disk() => {
                h.reload_logged("file change")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "RulesWatchFailed"),
        },
    )?;
    debouncer
        .watcher()
        .watch(handle.dir(), RecursiveMode::Recursive)?;
    Ok(debouncer)
}

/// Reloads on SIGHUP. Needs a running tokio runtime.
#[cfg(unix)]
pub fn spawn_sighup(handle: Arc<RulesHandle>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let h = handle.clone();
            // Loading reads files and compiles automata: keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || h.reload_logged("SIGHUP")).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "[[rule]]\nid = \"a\"\n[rule.when]\nwords = [\"spam\"]\n[rule.then]\nhide = true\n";

    #[test]
    fn failed_reload_keeps_the_running_rules_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        let h = RulesHandle::load(dir.path()).unwrap();
        assert_eq!(h.current().len(), 1);
        std::fs::write(dir.path().join("a.toml"), "[[rule]]\nid = \"a\"\n").unwrap();
        assert!(h.reload().is_err());
        assert_eq!(h.current().len(), 1);
        assert!(!h.last_reload().unwrap().ok());
        assert_eq!(h.reloads_failed(), 1);
        std::fs::write(dir.path().join("b.toml"), GOOD.replace("\"a\"", "\"b\"")).unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        assert_eq!(h.reload().unwrap(), 2);
        assert!(h.last_reload().unwrap().ok());
    }

    #[test]
    fn watcher_reloads_after_a_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        let h = RulesHandle::load(dir.path()).unwrap();
        let _w = spawn_watcher(h.clone()).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD.replace("\"a\"", "\"b\"")).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while h.current().len() != 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(h.current().len(), 2);
    }

    #[test]
    fn reading_the_rules_does_not_make_the_watcher_reload_them_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        let h = RulesHandle::load(dir.path()).unwrap();
        let _w = spawn_watcher(h.clone()).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD.replace("\"a\"", "\"b\"")).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while h.reloads_succeeded() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(h.reloads_succeeded(), 1);
        // The reload read every file (inotify reports those reads); nothing changed since.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(h.reloads_succeeded(), 1, "the watcher reloads in a loop");
    }
}
