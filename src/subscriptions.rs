//! Is Meta still delivering? At start and every hour, for every account with a token, the
//! Graph API is asked which webhook fields the account is subscribed to
//! (`GET /{ig-user-id}/subscribed_apps`), and the answer is kept for the status endpoint
//! (`GET /api/v1/status`) and the metrics: a missing per-account subscription is the most
//! common cause of "no webhooks arrive", and nothing else would tell on-call while the
//! service looks healthy. `/readyz` stays about this process.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient};
use crate::store::now_ms;

/// The fields commentguard moderates and measures.
pub const WANTED: [&str; 4] = ["comments", "live_comments", "mentions", "story_insights"];
/// How often the subscriptions are checked.
pub const EVERY: Duration = Duration::from_secs(3600);

/// One account's subscription as last checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountSubscription {
    pub account_id: String,
    /// Unix milliseconds.
    pub checked_at: i64,
    pub subscribed: Vec<String>,
    /// Of [`WANTED`], the fields the account is not subscribed to.
    pub missing: Vec<String>,
    /// Why the check could not be made (then `subscribed` is empty and `missing` unknown).
    pub error: Option<String>,
}

/// The last answer per account.
#[derive(Debug, Default)]
pub struct SubscriptionWatch {
    by_account: RwLock<BTreeMap<String, AccountSubscription>>,
}

impl SubscriptionWatch {
    pub fn snapshot(&self) -> Vec<AccountSubscription> {
        self.by_account
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Checks every account with a token once.
    pub async fn check_all(&self, graph: &GraphClient, settings: &Settings) {
        for (account_id, token) in crate::sweep::accounts_with_tokens(settings) {
            let ctx = AccountCtx {
                account_id: account_id.clone(),
                token,
            };
            let answer = graph.subscribed_fields(&ctx, &account_id).await;
            let status = match answer {
                Ok(subscribed) => {
                    let missing: Vec<String> = WANTED
                        .iter()
                        .filter(|f| !subscribed.iter().any(|s| s == *f))
                        .map(|f| f.to_string())
                        .collect();
                    for field in WANTED {
                        metrics::gauge!("commentguard_subscription_field",
                            "account" => account_id.clone(), "field" => field)
                        .set(if missing.iter().any(|m| m == field) {
                            0.0
                        } else {
                            1.0
                        });
                    }
                    metrics::gauge!("commentguard_subscription_missing_fields", "account" => account_id.clone())
                        .set(missing.len() as f64);
                    metrics::gauge!("commentguard_subscription_check_ok", "account" => account_id.clone())
                        .set(1.0);
                    if missing.is_empty() {
                        tracing::info!(account_id = %account_id, "webhook subscription complete");
                    } else {
                        tracing::warn!(
                            account_id = %account_id,
                            missing = %missing.join(","),
                            "the account is not subscribed to every webhook field: Meta sends nothing for the missing ones (POST /{{ig-user-id}}/subscribed_apps with subscribed_fields)"
                        );
                    }
                    AccountSubscription {
                        account_id: account_id.clone(),
                        checked_at: now_ms(),
                        subscribed,
                        missing,
                        error: None,
                    }
                }
                Err(e) => {
                    metrics::gauge!("commentguard_subscription_check_ok", "account" => account_id.clone())
                        .set(0.0);
                    tracing::warn!(account_id = %account_id, error = %e, "webhook subscription not checked");
                    AccountSubscription {
                        account_id: account_id.clone(),
                        checked_at: now_ms(),
                        subscribed: Vec::new(),
                        missing: Vec::new(),
                        error: Some(e.to_string()),
                    }
                }
            };
            self.by_account
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(account_id, status);
        }
    }

    /// Checks at start and then every `every` until `cancel`.
    pub async fn run(
        self: Arc<Self>,
        graph: Arc<GraphClient>,
        settings: Arc<Settings>,
        every: Duration,
        cancel: CancellationToken,
    ) {
        loop {
            self.check_all(&graph, &settings).await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
