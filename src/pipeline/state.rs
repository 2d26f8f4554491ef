//! The rule engine's state (floods, waves, repeat offenders) shared by every instance on the
//! database.
//!
//! [`RuleState`] is synchronous and the engine asks it during evaluation, so the pipeline
//! reads what a batch will ask about before evaluating it ([`Store::rule_state`]), answers
//! from that [`StateSnapshot`], and writes what the batch adds as [`RuleEvent`]s in the same
//! transaction as its decisions. Everything is keyed by account: the engine's author key is
//! a username, which means something only within one account.
//!
//! [`Store::rule_state`]: crate::store::RuleStateStore::rule_state

use std::collections::HashMap;
use std::sync::Mutex;

use crate::rules::RuleState;
use crate::store::{RuleEvent, RuleStateRows};

/// What one batch's evaluations may ask about, prefetched, plus what the batch itself added
/// (so that a flood inside one batch counts).
#[derive(Debug, Default)]
pub struct StateSnapshot {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (account, author) -> (time, enforced) of each comment.
    authors: HashMap<(String, String), Vec<(i64, bool)>>,
    /// (account, text key) -> author -> their latest time.
    texts: HashMap<(String, String), HashMap<String, i64>>,
}

impl StateSnapshot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counts that are still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds what the store holds for `account`.
    pub fn add(&self, account: &str, rows: RuleStateRows) {
        let mut g = self.lock();
        for (author, time, enforced) in rows.author_events {
            g.authors
                .entry((account.to_string(), author))
                .or_default()
                .push((time, enforced));
        }
        for (key, author, time) in rows.text_authors {
            let latest = g
                .texts
                .entry((account.to_string(), key))
                .or_default()
                .entry(author)
                .or_insert(time);
            *latest = (*latest).max(time);
        }
    }

    /// The state as one account's evaluation sees it.
    pub fn for_account<'a>(&'a self, account: &'a str) -> AccountState<'a> {
        AccountState {
            snapshot: self,
            account,
            event: Mutex::new(None),
        }
    }
}

/// One evaluation's view: answers for its account and remembers what the engine recorded,
/// which becomes the decision's [`RuleEvent`].
#[derive(Debug)]
pub struct AccountState<'a> {
    snapshot: &'a StateSnapshot,
    account: &'a str,
    event: Mutex<Option<RuleEvent>>,
}

impl AccountState<'_> {
    /// The comment the engine recorded, if it recorded one.
    pub fn into_event(self) -> Option<RuleEvent> {
        self.event.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn key(&self, s: &str) -> (String, String) {
        (self.account.to_string(), s.to_string())
    }
}

impl RuleState for AccountState<'_> {
    fn author_comments_since(&self, author: &str, since: i64) -> u64 {
        let g = self.snapshot.lock();
        g.authors
            .get(&self.key(author))
            .map_or(0, |v| v.iter().filter(|(t, _)| *t >= since).count() as u64)
    }

    fn distinct_authors_since(&self, text_key: &str, since: i64) -> u64 {
        let g = self.snapshot.lock();
        g.texts
            .get(&self.key(text_key))
            .map_or(0, |m| m.values().filter(|&&t| t >= since).count() as u64)
    }

    fn enforced_since(&self, author: &str, since: i64) -> u64 {
        let g = self.snapshot.lock();
        g.authors.get(&self.key(author)).map_or(0, |v| {
            v.iter().filter(|(t, e)| *e && *t >= since).count() as u64
        })
    }

    fn record_comment(&self, author: &str, text_key: &str, time: i64) {
        let mut g = self.snapshot.lock();
        g.authors
            .entry(self.key(author))
            .or_default()
            .push((time, false));
        let latest = g
            .texts
            .entry(self.key(text_key))
            .or_default()
            .entry(author.to_string())
            .or_insert(time);
        *latest = (*latest).max(time);
        *self.event.lock().unwrap_or_else(|e| e.into_inner()) = Some(RuleEvent {
            account_id: self.account.to_string(),
            author: author.to_string(),
            text_key: text_key.to_string(),
            time,
            enforced: false,
        });
    }

    fn record_enforced(&self, author: &str, time: i64) {
        let mut g = self.snapshot.lock();
        // The engine records the comment first: the enforced decision is that comment's.
        if let Some(e) = g
            .authors
            .get_mut(&self.key(author))
            .and_then(|v| v.iter_mut().rev().find(|(t, e)| *t == time && !*e))
        {
            e.1 = true;
        }
        if let Some(e) = self
            .event
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            e.enforced = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_combine_the_store_and_the_batch_and_stay_per_account() {
        let snap = StateSnapshot::default();
        snap.add(
            "a",
            RuleStateRows {
                author_events: vec![("ann".into(), 100, true), ("ann".into(), 200, false)],
                text_authors: vec![("k".into(), "bob".into(), 150)],
            },
        );
        let a = snap.for_account("a");
        a.record_comment("ann", "k", 300);
        a.record_enforced("ann", 300);
        assert_eq!(a.author_comments_since("ann", 0), 3);
        assert_eq!(a.author_comments_since("ann", 150), 2);
        assert_eq!(a.enforced_since("ann", 0), 2);
        assert_eq!(a.distinct_authors_since("k", 0), 2);
        assert_eq!(a.distinct_authors_since("k", 200), 1);
        let event = a.into_event().unwrap();
        assert_eq!(
            (event.author.as_str(), event.time, event.enforced),
            ("ann", 300, true)
        );

        let b = snap.for_account("b");
        assert_eq!(b.author_comments_since("ann", 0), 0);
        assert_eq!(b.distinct_authors_since("k", 0), 0);
        assert!(b.into_event().is_none());
    }
}
