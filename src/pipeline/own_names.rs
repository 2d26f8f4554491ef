//! The accounts' own @usernames, which the `impersonates` rule condition compares authors and
//! named handles with (`acme.support.help` imitating `acme`).
//!
//! A username written in the settings file (`[accounts.ID] username = "acme"`) is used as it
//! is. Otherwise the Graph API is asked (`GET /{ig-user-id}?fields=username`) the first time a
//! rule set that uses the condition decides for the account, and the answer is kept for an
//! hour; a failed lookup is asked again after five minutes, and meanwhile the condition holds
//! only for the names a rule lists. In dry run nothing is asked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient};

const KEEP: Duration = Duration::from_secs(3600);
const RETRY_FAILED: Duration = Duration::from_secs(300);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct OwnUsernames {
    /// Account id -> its username (`None`: asked, no answer) and when that was learnt.
    cache: Mutex<HashMap<String, (Option<String>, Instant)>>,
    /// Per account, held while asking, so that the comments of one batch (prepared side by
    /// side) ask once, and a slow answer for one account holds up no other.
    asking: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl OwnUsernames {
    /// The account's own username, if the settings name it or the Graph API told it.
    pub async fn get(
        &self,
        settings: &Settings,
        graph: &GraphClient,
        account_id: &str,
    ) -> Option<String> {
        if let Some(name) = settings
            .accounts
            .get(account_id)
            .and_then(|a| a.username.clone())
        {
            return Some(name);
        }
        if settings.dry_run {
            return None;
        }
        if let Some(known) = self.cached(account_id) {
            return known;
        }
        let lock = self
            .asking
            .lock()
            .expect("usernames lock")
            .entry(account_id.to_string())
            .or_default()
            .clone();
        let _asking = lock.lock().await;
        if let Some(known) = self.cached(account_id) {
            return known;
        }
        let token = settings.token_for(account_id)?.clone();
        let ctx = AccountCtx {
            account_id: account_id.to_string(),
            token,
        };
        let answer = match tokio::time::timeout(
            LOOKUP_TIMEOUT,
            graph.object_field(&ctx, account_id, "username"),
        )
        .await
        {
            Ok(Ok(name)) => name,
            Ok(Err(e)) => {
                tracing::warn!(account.id = %account_id, error = %e, "the account's own username could not be read; impersonation rules compare with the names they list only, for five minutes");
                None
            }
            Err(_) => {
                tracing::warn!(account.id = %account_id, "the account's own username was not read in time; impersonation rules compare with the names they list only, for five minutes");
                None
            }
        };
        self.cache
            .lock()
            .expect("usernames lock")
            .insert(account_id.to_string(), (answer.clone(), Instant::now()));
        answer
    }

    /// `Some(answer)` while the last answer for the account is fresh.
    fn cached(&self, account_id: &str) -> Option<Option<String>> {
        let cache = self.cache.lock().expect("usernames lock");
        let (name, at) = cache.get(account_id)?;
        let keep = if name.is_some() { KEEP } else { RETRY_FAILED };
        (at.elapsed() < keep).then(|| name.clone())
    }
}
