//! Instagram Login tokens live 60 days unless refreshed. Every hour each instance reads the
//! renewed tokens from the database (so a token another instance refreshed reaches it), and
//! refreshes an account's token when it has under [`REFRESH_WITHIN`] left, or when its expiry
//! was never recorded (a token pasted into the settings file; Meta refuses tokens under a day
//! old, and then it is tried again the next hour). The new token is stored durably before it
//! is used, so it survives a restart.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{Login, Settings};
use crate::graph::{AccountCtx, GraphClient};
use crate::store::{now_ms, RenewedToken, Store};

/// How often the renewed tokens are read and the refreshes are due.
pub const EVERY: Duration = Duration::from_secs(3600);
/// A token with less than this left is refreshed.
pub const REFRESH_WITHIN: Duration = Duration::from_secs(30 * 24 * 3600);
/// What Meta gives a refreshed token when it does not say.
const SIXTY_DAYS_MS: i64 = 60 * 24 * 3600 * 1000;

/// Reads the renewed tokens into the settings: at start before anything calls Meta, and
/// every hour.
pub async fn load(store: &dyn Store, settings: &Settings) -> crate::store::Result<usize> {
    let tokens = store.renewed_tokens().await?;
    for t in &tokens {
        settings
            .renewed_tokens
            .set(&t.account_id, t.token.clone(), t.expires_at);
    }
    Ok(tokens.len())
}

/// Refreshes every Instagram Login token that is due, once.
pub async fn refresh_due(store: &dyn Store, graph: &GraphClient, settings: &Settings) {
    for (account_id, token) in crate::sweep::accounts_with_tokens(settings) {
        if settings.login_of(&account_id) != Login::Instagram {
            continue;
        }
        let now = now_ms();
        let due = match settings.renewed_tokens.expires_at(&account_id) {
            Some(at) => at - now < REFRESH_WITHIN.as_millis() as i64,
            None => true,
        };
        if !due {
            continue;
        }
        let ctx = AccountCtx {
            account_id: account_id.clone(),
            token,
        };
        match graph.instagram_refresh(&ctx).await {
            Ok(new) => {
                let renewed = RenewedToken {
                    account_id: account_id.clone(),
                    token: new.token,
                    expires_at: now
                        + new
                            .expires_in
                            .map(|s| s.saturating_mul(1000))
                            .unwrap_or(SIXTY_DAYS_MS),
                    renewed_at: now,
                };
                // Stored first: a token used but lost at a restart would be refreshed from
                // the old one, which may have lapsed by then.
                if let Err(e) = store.put_renewed_token(&renewed).await {
                    tracing::error!(account_id = %account_id, error = %e, "a refreshed Instagram token could not be stored; the old one stays in use");
                    continue;
                }
                settings
                    .renewed_tokens
                    .set(&account_id, renewed.token, renewed.expires_at);
                metrics::counter!("commentguard_token_refreshes_total", "outcome" => "ok")
                    .increment(1);
                metrics::gauge!("commentguard_token_expires_in_seconds", "account" => account_id.clone())
                    .set(((renewed.expires_at - now) / 1000) as f64);
                tracing::info!(account_id = %account_id, expires_in_days = (renewed.expires_at - now) / 86_400_000, "Instagram Login token refreshed");
            }
            Err(e) => {
                metrics::counter!("commentguard_token_refreshes_total", "outcome" => "failed")
                    .increment(1);
                tracing::warn!(account_id = %account_id, error = %e, "Instagram Login token not refreshed; tried again in an hour");
            }
        }
    }
}

/// Refreshes right away, then every `every` reads the renewed tokens and refreshes, until
/// `cancel`. [`load`] must have run before (serve does it at start).
pub async fn run(
    store: Arc<dyn Store>,
    graph: Arc<GraphClient>,
    settings: Arc<Settings>,
    every: Duration,
    cancel: CancellationToken,
) {
    // serve read them just before starting this: the first round only refreshes.
    let mut read_at_start = true;
    crate::jobs::every(every, cancel, || {
        let fresh = std::mem::replace(&mut read_at_start, false);
        let (store, graph, settings) = (store.clone(), graph.clone(), settings.clone());
        async move {
            if !fresh {
                if let Err(e) = load(store.as_ref(), &settings).await {
                    tracing::warn!(error = %e, "renewed tokens not read from the database");
                }
            }
            refresh_due(store.as_ref(), &graph, &settings).await;
        }
    })
    .await
}
