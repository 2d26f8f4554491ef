//! Is Meta still delivering? At start and every hour the service asks the edges that decide
//! it (Facebook Login, see docs/OPERATIONS.md):
//!
//! - the app level, `GET /{app-id}/subscriptions` with the app token: the `instagram` object,
//!   active, with the fields commentguard handles, and the callback URL;
//! - per account, its Facebook Page, `GET /{page-id}/subscribed_apps` with the Page token:
//!   the app installed on the Page. Without it Meta sends nothing for the account, whatever
//!   the app subscribes to: the most common cause of "no webhooks arrive".
//!
//! The answers are kept for the status endpoint, the review page and the metrics. An error
//! from Meta is reported in Meta's words, never as "missing".

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::pages::{find_page, LinkedPage};
use crate::config::{Login, Settings};
use crate::graph::{AccountCtx, GraphClient};
use crate::store::now_ms;

/// The fields commentguard moderates and measures.
pub const WANTED: [&str; 4] = ["comments", "live_comments", "mentions", "story_insights"];
/// How often the subscriptions are checked.
pub const EVERY: Duration = Duration::from_secs(3600);

/// The app's `instagram` webhook subscription as last read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct AppSubscriptionStatus {
    pub checked_at: i64,
    pub app_id: Option<String>,
    /// The `instagram` object is subscribed and active.
    pub active: bool,
    pub callback_url: Option<String>,
    pub fields: Vec<String>,
    /// Of [`WANTED`], the fields the app does not subscribe to (App Dashboard > Webhooks).
    pub missing: Vec<String>,
    /// Why it could not be read, in Meta's words.
    pub error: Option<String>,
}

/// One account's delivery as last checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountSubscription {
    pub account_id: String,
    /// Unix milliseconds.
    pub checked_at: i64,
    /// The Facebook Page the account is linked to.
    pub page_id: Option<String>,
    /// The app is installed on that Page (`None`: not known).
    pub app_installed: Option<bool>,
    /// The fields Meta delivers for this account: the app's, once installed on the Page.
    pub subscribed: Vec<String>,
    /// Of [`WANTED`], the fields Meta does not deliver for it.
    pub missing: Vec<String>,
    /// Why the check could not be made, in Meta's words (then `missing` is unknown).
    pub error: Option<String>,
}

/// The last answers.
#[derive(Debug, Default)]
pub struct SubscriptionWatch {
    app: RwLock<Option<AppSubscriptionStatus>>,
    by_account: super::ByAccount<AccountSubscription>,
}

fn missing_of(fields: &[String]) -> Vec<String> {
    WANTED
        .iter()
        .filter(|f| !fields.iter().any(|s| s == *f))
        .map(|f| f.to_string())
        .collect()
}

impl SubscriptionWatch {
    pub fn snapshot(&self) -> Vec<AccountSubscription> {
        self.by_account.snapshot()
    }

    pub fn app(&self) -> Option<AppSubscriptionStatus> {
        self.app.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Checks the app and every account with a token once.
    pub async fn check_all(&self, graph: &GraphClient, settings: &Settings) {
        let accounts = crate::sweep::accounts_with_tokens(settings);
        let app = check_app_with_any(graph, settings, &accounts).await;
        for (account_id, token) in accounts {
            let ctx = AccountCtx {
                account_id: account_id.clone(),
                token,
            };
            let status = check_account(graph, settings, &ctx, app.as_ref()).await;
            record_metrics(&status);
            self.by_account.put(account_id, status);
        }
        *self.app.write().unwrap_or_else(|e| e.into_inner()) = app;
    }

    /// Checks at start and then every `every` until `cancel`.
    pub async fn run(
        self: Arc<Self>,
        graph: Arc<GraphClient>,
        settings: Arc<Settings>,
        every: Duration,
        cancel: CancellationToken,
    ) {
        crate::jobs::every(every, cancel, || self.check_all(&graph, &settings)).await
    }
}

/// The app level, asked with the first Facebook Login account's token (`None` when every
/// account uses Instagram Login: their subscription is the account's own).
pub async fn check_app_with_any(
    graph: &GraphClient,
    settings: &Settings,
    accounts: &[(String, crate::secret::Secret)],
) -> Option<AppSubscriptionStatus> {
    let (id, token) = accounts
        .iter()
        .find(|(id, _)| settings.login_of(id) == Login::Facebook)?;
    let ctx = AccountCtx {
        account_id: id.clone(),
        token: token.clone(),
    };
    Some(check_app(graph, settings, &ctx).await)
}

/// The app's id: the setting, else the app the account's token was issued to.
pub async fn app_id(
    graph: &GraphClient,
    settings: &Settings,
    ctx: &AccountCtx,
) -> Result<String, String> {
    if let Some(id) = &settings.app_id {
        return Ok(id.clone());
    }
    graph.app_of_token(ctx).await.map(|a| a.id).map_err(|e| {
        format!("the app id is not set (COMMENTGUARD_APP_ID) and Meta did not tell it: {e}")
    })
}

/// The app level: `GET /{app-id}/subscriptions`.
pub async fn check_app(
    graph: &GraphClient,
    settings: &Settings,
    ctx: &AccountCtx,
) -> AppSubscriptionStatus {
    let mut out = AppSubscriptionStatus {
        checked_at: now_ms(),
        ..Default::default()
    };
    let id = match app_id(graph, settings, ctx).await {
        Ok(id) => id,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    out.app_id = Some(id.clone());
    let Some(secret) = settings.app_secrets.first() else {
        out.error = Some(
            "COMMENTGUARD_APP_SECRET is not set: the app's subscription cannot be read".into(),
        );
        return out;
    };
    match graph.app_subscriptions(&id, secret).await {
        Ok(subs) => {
            match subs.into_iter().find(|s| s.object == "instagram") {
                Some(s) => {
                    out.active = s.active;
                    out.callback_url = s.callback_url;
                    out.missing = if s.active {
                        missing_of(&s.fields)
                    } else {
                        WANTED.map(String::from).to_vec()
                    };
                    out.fields = s.fields;
                }
                None => out.missing = WANTED.map(String::from).to_vec(),
            }
            metrics::gauge!("commentguard_app_subscription_missing_fields")
                .set(out.missing.len() as f64);
            if !out.missing.is_empty() {
                tracing::warn!(app.id = %id, missing = %out.missing.join(","),
                    "the app does not subscribe to every Instagram webhook field: Meta sends nothing for the missing ones to any account (App Dashboard > Webhooks > Instagram: subscribe the fields)");
            }
        }
        Err(e) => {
            tracing::warn!(app.id = %id, error = %e, "the app's webhook subscription could not be read");
            out.error = Some(e.to_string());
        }
    }
    out
}

/// The fields an Instagram Login account subscribes to: `mentions` come inside `comments`
/// there, and `story_insights` is not offered.
pub const INSTAGRAM_WANTED: [&str; 2] = ["comments", "live_comments"];

/// The account level: the app installed on the account's Page (Facebook Login), or the
/// account's own subscription (Instagram Login).
pub async fn check_account(
    graph: &GraphClient,
    settings: &Settings,
    ctx: &AccountCtx,
    app: Option<&AppSubscriptionStatus>,
) -> AccountSubscription {
    let page_id = settings
        .accounts
        .get(&ctx.account_id)
        .and_then(|a| a.page_id.clone());
    match (settings.login_of(&ctx.account_id), app) {
        (Login::Instagram, _) => check_instagram_account(graph, ctx).await,
        (Login::Facebook, Some(app)) => check_page(graph, ctx, page_id.as_deref(), app).await,
        (Login::Facebook, None) => AccountSubscription {
            account_id: ctx.account_id.clone(),
            checked_at: now_ms(),
            page_id,
            app_installed: None,
            subscribed: Vec::new(),
            missing: Vec::new(),
            error: Some("the app's subscription was not read".into()),
        },
    }
}

async fn check_instagram_account(graph: &GraphClient, ctx: &AccountCtx) -> AccountSubscription {
    let mut out = AccountSubscription {
        account_id: ctx.account_id.clone(),
        checked_at: now_ms(),
        page_id: None,
        app_installed: None,
        subscribed: Vec::new(),
        missing: Vec::new(),
        error: None,
    };
    match graph
        .instagram_subscribed_fields(ctx, &ctx.account_id)
        .await
    {
        Ok(fields) => {
            out.app_installed = Some(!fields.is_empty());
            out.missing = INSTAGRAM_WANTED
                .iter()
                .filter(|f| !fields.iter().any(|s| s == *f))
                .map(|f| f.to_string())
                .collect();
            out.subscribed = fields;
            if !out.missing.is_empty() {
                tracing::warn!(account_id = %ctx.account_id, missing = %out.missing.join(","),
                    "the Instagram Login account is not subscribed to every field: Meta sends nothing for the missing ones (run `commentguard connect --instagram-login`)");
            }
        }
        Err(e) => {
            tracing::warn!(account_id = %ctx.account_id, error = %e, "webhook subscription not checked");
            out.error = Some(e.to_string());
        }
    }
    out
}

async fn check_page(
    graph: &GraphClient,
    ctx: &AccountCtx,
    page_id: Option<&str>,
    app: &AppSubscriptionStatus,
) -> AccountSubscription {
    let mut out = AccountSubscription {
        account_id: ctx.account_id.clone(),
        checked_at: now_ms(),
        page_id: page_id.map(str::to_string),
        app_installed: None,
        subscribed: Vec::new(),
        missing: Vec::new(),
        error: None,
    };
    let page: LinkedPage = match find_page(graph, ctx, page_id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(account_id = %ctx.account_id, error = %e, "webhook subscription not checked");
            out.error = Some(e);
            return out;
        }
    };
    out.page_id = Some(page.id.clone());
    let installed = match graph.page_apps(&page.ctx, &page.id).await {
        Ok(apps) => match &app.app_id {
            Some(id) => apps.iter().any(|a| &a.id == id),
            None => !apps.is_empty(),
        },
        Err(e) => {
            tracing::warn!(account_id = %ctx.account_id, page.id = %page.id, error = %e, "the apps installed on the account's Page could not be read");
            out.error = Some(e.to_string());
            return out;
        }
    };
    out.app_installed = Some(installed);
    if !installed {
        out.missing = WANTED.map(String::from).to_vec();
        tracing::warn!(account_id = %ctx.account_id, page.id = %page.id,
            "the app is not installed on the account's Facebook Page: Meta sends no webhook for this account (run `commentguard connect`, or POST /{{page-id}}/subscribed_apps?subscribed_fields=feed with the Page token)");
    } else if let Some(e) = &app.error {
        out.error = Some(format!(
            "the app is installed on Page {}, but what it subscribes to is not known: {e}",
            page.id
        ));
    } else {
        out.subscribed = app.fields.clone();
        out.missing = app.missing.clone();
        if out.missing.is_empty() {
            tracing::info!(account_id = %ctx.account_id, "webhook subscription complete");
        }
    }
    out
}

fn record_metrics(s: &AccountSubscription) {
    let account = s.account_id.clone();
    metrics::gauge!("commentguard_subscription_check_ok", "account" => account.clone())
        .set(if s.error.is_none() { 1.0 } else { 0.0 });
    if let Some(installed) = s.app_installed {
        metrics::gauge!("commentguard_subscription_app_installed", "account" => account.clone())
            .set(if installed { 1.0 } else { 0.0 });
    }
    if s.error.is_some() {
        return;
    }
    for field in WANTED {
        metrics::gauge!("commentguard_subscription_field",
            "account" => account.clone(), "field" => field)
        .set(if s.missing.iter().any(|m| m == field) {
            0.0
        } else {
            1.0
        });
    }
    metrics::gauge!("commentguard_subscription_missing_fields", "account" => account)
        .set(s.missing.len() as f64);
}
