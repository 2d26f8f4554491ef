//! What the review page shows instead of bare ids: the account's @username and a link to the
//! post (its permalink), each asked of the Graph API once and kept in memory. A page load asks
//! for at most [`PER_PAGE`] new ones, each with a short timeout, so a slow or failing Graph API
//! never makes the page slow; an id the Graph API did not answer for is asked again after
//! [`RETRY_AFTER`].

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient};
use crate::store::DecisionRow;

const PER_PAGE: usize = 25;
const TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub struct Links {
    /// Media id -> permalink; account id -> username. `None`: asked, no answer (at that time).
    permalinks: Mutex<HashMap<String, (Option<String>, Instant)>>,
    usernames: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

/// What one page shows.
#[derive(Debug, Default)]
pub struct PageLinks {
    pub permalinks: HashMap<String, String>,
    pub usernames: HashMap<String, String>,
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

fn known(
    map: &Mutex<HashMap<String, (Option<String>, Instant)>>,
    id: &str,
) -> Option<Option<String>> {
    let m = map.lock().expect("links lock");
    match m.get(id) {
        Some((Some(v), _)) => Some(Some(v.clone())),
        Some((None, at)) if at.elapsed() < RETRY_AFTER => Some(None),
        _ => None,
    }
}

impl Links {
    fn cache(&self, is_media: bool) -> &Mutex<HashMap<String, (Option<String>, Instant)>> {
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
                let field = if is_media { "permalink" } else { "username" };
                let answer = tokio::time::timeout(TIMEOUT, graph.object_field(&ctx, &id, field))
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .flatten()
                    // Only Instagram's own links become links on the page.
                    .filter(|v| !is_media || v.starts_with("https://www.instagram.com/"));
                (is_media, id, answer)
            })
        });
        for (is_media, id, answer) in futures_util::future::join_all(calls).await {
            self.cache(is_media)
                .lock()
                .expect("links lock")
                .insert(id.clone(), (answer.clone(), Instant::now()));
            if let Some(v) = answer {
                out.put(is_media, id, v);
            }
        }
        out
    }
}
