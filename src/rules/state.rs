//! The state behind flood, wave and repeat-offender conditions.
//!
//! The engine only asks counting questions and reports what it saw; it never stores anything
//! itself. `rules eval`/`rules test` use [`MemoryState`]; the service implements
//! [`RuleState`] over data it prefetched from its store (answers are counts since a time, so
//! a store can answer each with one indexed query before evaluation starts).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

/// Stateful conditions ask this; object safe and synchronous.
///
/// [`RuleSet::evaluate`](super::RuleSet::evaluate) calls [`record_comment`](Self::record_comment)
/// for the comment being evaluated *before* it asks the counting questions (so counts include
/// the current comment), and [`record_enforced`](Self::record_enforced) when the decision
/// enforces at least one action. A store-backed implementation that already holds the comment
/// may ignore the record calls. The engine only calls this when a rule uses a stateful condition.
pub trait RuleState: Send + Sync {
    /// Comments by `author` at or after `since` (unix seconds).
    fn author_comments_since(&self, _author: &str, _since: i64) -> u64 {
        0
    }
    /// Distinct authors who wrote the text with key `text_key`
    /// ([`normalize::text_key`](super::normalize::text_key)) at or after `since`.
    fn distinct_authors_since(&self, _text_key: &str, _since: i64) -> u64 {
        0
    }
    /// Decisions with an enforced action against `author` at or after `since`.
    fn enforced_since(&self, _author: &str, _since: i64) -> u64 {
        0
    }
    fn record_comment(&self, _author: &str, _text_key: &str, _time: i64) {}
    fn record_enforced(&self, _author: &str, _time: i64) {}
}

/// A state that remembers nothing: every stateful condition is false.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoState;
impl RuleState for NoState {}

/// In-memory state for `rules eval`, `rules test` and a single instance. Events older than
/// `retention_secs` are dropped as new ones arrive.
#[derive(Debug)]
pub struct MemoryState {
    retention_secs: i64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    comments: HashMap<String, VecDeque<i64>>,
    texts: HashMap<String, VecDeque<(i64, String)>>,
    enforced: HashMap<String, VecDeque<i64>>,
}

impl Default for MemoryState {
    fn default() -> Self {
        MemoryState::new(7 * 24 * 3600)
    }
}

impl MemoryState {
    pub fn new(retention_secs: i64) -> Self {
        MemoryState {
            retention_secs,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counts that are still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn prune<T>(q: &mut VecDeque<T>, before: i64, time: impl Fn(&T) -> i64) {
    while q.front().is_some_and(|e| time(e) < before) {
        q.pop_front();
    }
}

impl RuleState for MemoryState {
    fn author_comments_since(&self, author: &str, since: i64) -> u64 {
        let g = self.lock();
        g.comments
            .get(author)
            .map_or(0, |q| q.iter().filter(|&&t| t >= since).count() as u64)
    }

    fn distinct_authors_since(&self, text_key: &str, since: i64) -> u64 {
        let g = self.lock();
        g.texts.get(text_key).map_or(0, |q| {
            q.iter()
                .filter(|(t, _)| *t >= since)
                .map(|(_, a)| a.as_str())
                .collect::<HashSet<_>>()
                .len() as u64
        })
    }

    fn enforced_since(&self, author: &str, since: i64) -> u64 {
        let g = self.lock();
        g.enforced
            .get(author)
            .map_or(0, |q| q.iter().filter(|&&t| t >= since).count() as u64)
    }

    fn record_comment(&self, author: &str, text_key: &str, time: i64) {
        let before = time - self.retention_secs;
        let mut g = self.lock();
        let q = g.comments.entry(author.to_string()).or_default();
        prune(q, before, |t| *t);
        q.push_back(time);
        let q = g.texts.entry(text_key.to_string()).or_default();
        prune(q, before, |(t, _)| *t);
        q.push_back((time, author.to_string()));
    }

    fn record_enforced(&self, author: &str, time: i64) {
        let before = time - self.retention_secs;
        let mut g = self.lock();
        let q = g.enforced.entry(author.to_string()).or_default();
        prune(q, before, |t| *t);
        q.push_back(time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_state_counts_within_the_window() {
        let s = MemoryState::default();
        s.record_comment("ann", "k1", 100);
        s.record_comment("ann", "k1", 200);
        s.record_comment("bob", "k1", 250);
        assert_eq!(s.author_comments_since("ann", 150), 1);
        assert_eq!(s.author_comments_since("ann", 0), 2);
        assert_eq!(s.distinct_authors_since("k1", 0), 2);
        assert_eq!(s.distinct_authors_since("k2", 0), 0);
        s.record_enforced("ann", 300);
        assert_eq!(s.enforced_since("ann", 299), 1);
        assert_eq!(s.enforced_since("bob", 0), 0);
    }
}
