//! What the review page shows instead of bare ids: the account's @username and a link to the
//! post (its permalink, with the start of its caption), each asked of the Graph API once and kept in memory. A page load asks
//! for at most [`PER_PAGE`] new ones, each with a short timeout, so a slow or failing Graph API
//! never makes the page slow; an id the Graph API did not answer for is asked again after
//! [`RETRY_AFTER`]. Each cache holds at most [`MAX_ENTRIES`]: beyond that the least recently
//! shown entry goes (ids come from the log, which anyone can fill with comments on many
//! posts); the metric `commentguard_link_cache_entries` says how full they are.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient};
use crate::store::DecisionRow;

const PER_PAGE: usize = 25;
const TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_AFTER: Duration = Duration::from_secs(600);
/// Entries per cache (usernames, permalinks).
pub const MAX_ENTRIES: usize = 5_000;

/// A cached answer: the value (`None`: asked, no answer), when it was asked, when last shown.
#[derive(Debug, Clone)]
struct Entry {
    value: Option<String>,
    asked: Instant,
    used: Instant,
}

type Cache = Mutex<HashMap<String, Entry>>;

#[derive(Debug, Default)]
pub struct Links {
    /// Media id -> permalink; account id -> username. `None`: asked, no answer (at that time).
    permalinks: Cache,
    usernames: Cache,
    /// Media id -> caption, asked with the permalink.
    captions: Cache,
}

/// What one page shows.
#[derive(Debug, Default)]
pub struct PageLinks {
    pub permalinks: HashMap<String, String>,
    pub usernames: HashMap<String, String>,
    pub captions: HashMap<String, String>,
}

impl PageLinks {
    fn put(&mut self, is_media: bool, id: String, value: String) {
        if is_media {
            self.permalinks.insert(id, value);
        } else {
            self.usernames.insert(id, value);
        }
    }
}

fn known(map: &Cache, id: &str) -> Option<Option<String>> {
    let mut m = map.lock().expect("links lock");
    let e = m.get_mut(id)?;
    match &e.value {
        Some(v) => {
            e.used = Instant::now();
            Some(Some(v.clone()))
        }
        None if e.asked.elapsed() < RETRY_AFTER => Some(None),
        None => None,
    }
}

/// Stores an answer, making room by dropping the least recently shown entry when full.
fn remember(map: &Cache, id: String, value: Option<String>) {
    let mut m = map.lock().expect("links lock");
    if m.len() >= MAX_ENTRIES && !m.contains_key(&id) {
        if let Some(oldest) = m.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) {
            m.remove(&oldest);
        }
    }
    let now = Instant::now();
    m.insert(
        id,
        Entry {
            value,
            asked: now,
            used: now,
        },
    );
}

impl Links {
    fn cache(&self, is_media: bool) -> &Cache {
        if is_media {
            &self.permalinks
        } else {
            &self.usernames
        }
    }

    /// The usernames and permalinks for these decisions: the cached ones, plus up to
    /// [`PER_PAGE`] asked now (skipped for accounts without a token, and in dry-run mode: a
    /// dry run calls nothing).
    pub async fn for_page(
        &self,
        graph: &GraphClient,
        settings: &Settings,
        decisions: &[DecisionRow],
    ) -> PageLinks {
        let mut out = PageLinks::default();
        let mut ask: Vec<(bool, String, String)> = Vec::new(); // (is_media, id, account)
        let mut seen = HashSet::new();
        for d in decisions {
            let mut wants = vec![(false, d.account_id.clone())];
            if let Some(m) = &d.media_id {
                wants.push((true, m.clone()));
            }
            for (is_media, id) in wants {
                if !seen.insert((is_media, id.clone())) {
                    continue;
                }
                if is_media {
                    if let Some(Some(c)) = known(&self.captions, &id) {
                        out.captions.insert(id.clone(), c);
                    }
                }
                match known(self.cache(is_media), &id) {
                    Some(Some(v)) => out.put(is_media, id, v),
                    Some(None) => {}
                    None => ask.push((is_media, id, d.account_id.clone())),
                }
            }
        }
        if settings.dry_run {
            return out;
        }
        ask.truncate(PER_PAGE);
        let calls = ask.into_iter().filter_map(|(is_media, id, account)| {
            let token = settings.token_for(&account)?.clone();
            let ctx = AccountCtx {
                account_id: account,
                token,
            };
            Some(async move {
                let fields = if is_media {
                    "permalink,caption"
                } else {
                    "username"
                };
                let v = tokio::time::timeout(TIMEOUT, graph.object_fields(&ctx, &id, fields))
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .unwrap_or_default();
                let text = |f: &str| v.get(f).and_then(|x| x.as_str()).map(str::to_string);
                let answer = text(if is_media { "permalink" } else { "username" })
                    // Only Instagram's own links become links on the page.
                    .filter(|v| !is_media || v.starts_with("https://www.instagram.com/"));
                let caption = if is_media { text("caption") } else { None };
                (is_media, id, answer, caption)
            })
        });
        for (is_media, id, answer, caption) in futures_util::future::join_all(calls).await {
            remember(self.cache(is_media), id.clone(), answer.clone());
            if is_media {
                remember(&self.captions, id.clone(), caption.clone());
                if let Some(c) = caption {
                    out.captions.insert(id.clone(), c);
                }
            }
            if let Some(v) = answer {
                out.put(is_media, id, v);
            }
        }
        for (kind, cache) in [
            ("permalink", &self.permalinks),
            ("username", &self.usernames),
        ] {
            let n = cache.lock().expect("links lock").len();
            metrics::gauge!("commentguard_link_cache_entries", "kind" => kind).set(n as f64);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_recently_shown_and_stays_bounded() {
        let cache = Cache::default();
        for i in 0..MAX_ENTRIES {
            remember(&cache, format!("m{i}"), Some(format!("link {i}")));
        }
        // m0 is shown again, so m1 is now the least recently shown.
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(known(&cache, "m0"), Some(Some("link 0".into())));
        remember(&cache, "new".into(), Some("new link".into()));
        let m = cache.lock().unwrap();
        assert_eq!(m.len(), MAX_ENTRIES);
        assert!(m.contains_key("m0") && m.contains_key("new"));
        assert!(!m.contains_key("m1"));
    }
}
