//! `commentguard connect` (Facebook Login): from a user token to accounts serve moderates with.
//!
//! 1. The user token is traded for a long-lived one (`GET /oauth/access_token`), so that the
//!    Page tokens read with it do not expire.
//! 2. The permissions the person granted are read (`GET /me/permissions`) and every missing
//!    one is named with what it is for.
//! 3. The Pages the person manages are listed with their tokens and linked Instagram
//!    professional accounts (`GET /me/accounts`).
//! 4. On each Page linked to an Instagram account, the app is installed if it is not
//!    (`POST /{page-id}/subscribed_apps?subscribed_fields=feed`): without it Meta sends no
//!    webhook for the account.
//! 5. The app's `instagram` subscription is read (`GET /{app-id}/subscriptions`), and what
//!    only the App Dashboard can fix is said.
//!
//! A Page token already in the settings that is valid, does not lapse and belongs to the same
//! Page is kept: running `connect` again changes nothing that is right and mends what is not.
//! Tokens are never printed; the caller writes them into the settings file.

use crate::config::{Login, Settings};
use crate::graph::setup::PageInfo;
use crate::graph::{AccountCtx, GraphClient};
use crate::secret::Secret;

use super::health::{check_app, WANTED};

/// The permissions (Facebook Login) `connect` and serve need, with what each is for.
pub const NEEDED_PERMISSIONS: [(&str, &str); 6] = [
    ("instagram_basic", "reading comments, mentions and media"),
    ("instagram_manage_comments", "hiding, deleting and replying"),
    ("instagram_manage_insights", "story insights"),
    (
        "pages_show_list",
        "finding the Pages linked to Instagram accounts",
    ),
    ("pages_read_engagement", "reading comments through the Page"),
    (
        "pages_manage_metadata",
        "installing the app on the Page, so that webhooks arrive",
    ),
];

/// How one step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Right already.
    Ok,
    /// Was wrong, mended now.
    Mended,
    /// Wrong, and not mended: the line says what to do.
    Fail,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Mended => "mended",
            Mark::Fail => "FAIL",
        }
    }
}

/// An Instagram account ready for serve.
#[derive(Debug, Clone)]
pub struct ConnectedAccount {
    pub account_id: String,
    pub username: Option<String>,
    /// Facebook Login: the Page the account is linked to.
    pub page_id: Option<String>,
    pub login: Login,
    /// Facebook Login: the Page's token (does not lapse when read with a long-lived user
    /// token). Instagram Login: the long-lived Instagram token (60 days, refreshed by serve).
    pub token: Secret,
    /// When the token expires (unix milliseconds), when Meta said.
    pub expires_at: Option<i64>,
}

/// What `connect` did and found.
#[derive(Debug, Default)]
pub struct Report {
    pub app_id: Option<String>,
    pub lines: Vec<(Mark, String)>,
    pub accounts: Vec<ConnectedAccount>,
}

impl Report {
    fn say(&mut self, mark: Mark, line: impl Into<String>) {
        self.lines.push((mark, line.into()));
    }

    /// Every step held or was mended.
    pub fn ok(&self) -> bool {
        !self.accounts.is_empty() && self.lines.iter().all(|(m, _)| *m != Mark::Fail)
    }
}

/// Connects every Instagram account the user token reaches. Never fails as a whole: what went
/// wrong is a [`Mark::Fail`] line with Meta's words and the fix.
pub async fn connect(graph: &GraphClient, settings: &Settings, user_token: Secret) -> Report {
    let mut r = Report::default();
    let Some(secret) = settings.app_secrets.first() else {
        r.say(
            Mark::Fail,
            "COMMENTGUARD_APP_SECRET is not set: App Dashboard > App settings > Basic > App secret",
        );
        return r;
    };
    let short = AccountCtx {
        account_id: "connect".into(),
        token: user_token.clone(),
    };
    let app_id = match super::health::app_id(graph, settings, &short).await {
        Ok(id) => id,
        Err(e) => {
            r.say(Mark::Fail, e);
            return r;
        }
    };
    r.app_id = Some(app_id.clone());
    let user = match graph.exchange_token(&app_id, secret, &user_token).await {
        Ok(long) => {
            r.say(
                Mark::Ok,
                "the user token was traded for a long-lived one, so the Page tokens do not expire",
            );
            AccountCtx {
                account_id: "connect".into(),
                token: long.token,
            }
        }
        Err(e) => {
            r.say(Mark::Fail, format!("the user token could not be traded for a long-lived one ({e}): is it this app's, and less than an hour old? Make a new one in Graph API Explorer with this app selected"));
            return r;
        }
    };
    check_permissions(graph, &user, &mut r).await;
    let pages = match graph.pages_of_user(&user).await {
        Ok(p) => p,
        Err(e) => {
            r.say(Mark::Fail, format!("the Pages could not be listed: {e}"));
            return r;
        }
    };
    let linked: Vec<&PageInfo> = pages
        .iter()
        .filter(|p| p.instagram_business_account.is_some())
        .collect();
    if linked.is_empty() {
        r.say(Mark::Fail, format!(
            "none of the {} Page(s) this person manages is linked to an Instagram professional account: link one in the Page's settings (Linked accounts) or Meta Business Suite, and grant this app the Page when asked",
            pages.len()
        ));
    }
    for page in linked {
        connect_page(graph, settings, &app_id, secret, page, &mut r).await;
    }
    let app = check_app(graph, settings, &user).await;
    match (&app.error, app.missing.is_empty()) {
        (Some(e), _) => r.say(Mark::Fail, format!("the app's webhook subscription could not be read: {e}")),
        (None, true) => r.say(Mark::Ok, format!(
            "the app subscribes to Instagram's {} (callback {})",
            WANTED.join(", "),
            app.callback_url.as_deref().unwrap_or("not set")
        )),
        (None, false) => r.say(Mark::Fail, format!(
            "the app does not subscribe to Instagram's {}: only the App Dashboard can fix it (Webhooks > Instagram: callback URL, verify token, subscribe to each field)",
            app.missing.join(", ")
        )),
    }
    r
}

async fn check_permissions(graph: &GraphClient, user: &AccountCtx, r: &mut Report) {
    match graph.permissions(user).await {
        Ok(granted) => {
            let missing: Vec<String> = NEEDED_PERMISSIONS
                .iter()
                .filter(|(p, _)| !granted.iter().any(|(g, s)| g == p && s == "granted"))
                .map(|(p, why)| format!("{p} ({why})"))
                .collect();
            if missing.is_empty() {
                r.say(Mark::Ok, "every permission the service needs is granted");
            } else {
                r.say(Mark::Fail, format!(
                    "not granted: {}. Make a new token with them (Graph API Explorer: Permissions), and in Live mode ask Meta for Advanced Access to them (App Review)",
                    missing.join("; ")
                ));
            }
        }
        Err(e) => r.say(
            Mark::Fail,
            format!("the granted permissions could not be read: {e}"),
        ),
    }
}

async fn connect_page(
    graph: &GraphClient,
    settings: &Settings,
    app_id: &str,
    secret: &Secret,
    page: &PageInfo,
    r: &mut Report,
) {
    let Some(ig) = &page.instagram_business_account else {
        return;
    };
    let who = match &ig.username {
        Some(u) => format!("@{u} ({})", ig.id),
        None => ig.id.clone(),
    };
    let Some(page_token) = page.access_token.clone() else {
        r.say(Mark::Fail, format!("{who}: Meta gave no token for Page {}: the person needs a task on the Page (Page settings > Page roles)", page.id));
        return;
    };
    let ctx = AccountCtx {
        account_id: ig.id.clone(),
        token: page_token.clone(),
    };
    match graph.page_apps(&ctx, &page.id).await {
        Ok(apps) if apps.iter().any(|a| a.id == app_id) => {
            r.say(Mark::Ok, format!("{who}: the app is installed on Page {}", page.id))
        }
        Ok(_) => match graph.install_app(&ctx, &page.id).await {
            Ok(()) => r.say(Mark::Mended, format!("{who}: the app was not installed on Page {}; installed now, so webhooks arrive", page.id)),
            Err(e) => {
                r.say(Mark::Fail, format!("{who}: the app could not be installed on Page {} ({e}); without it Meta sends no webhook for this account", page.id));
                return;
            }
        },
        Err(e) => {
            r.say(Mark::Fail, format!("{who}: the apps installed on Page {} could not be read: {e}", page.id));
            return;
        }
    }
    // A token already configured that is right stays.
    let existing = settings
        .accounts
        .get(&ig.id)
        .filter(|a| a.page_id.as_deref().is_none_or(|p| p == page.id));
    let mut token = page_token;
    if let Some(old) = existing.and_then(|a| a.access_token.clone()) {
        match graph.debug_token(app_id, secret, &old).await {
            Ok(info) if info.is_valid && info.lapses_at().is_none() && info.kind.as_deref() == Some("PAGE") => {
                r.say(Mark::Ok, format!("{who}: the Page token in the settings is valid and does not lapse; kept"));
                token = old;
            }
            Ok(_) | Err(_) => r.say(Mark::Mended, format!("{who}: the token in the settings lapses or is not valid; replaced with the Page's token, which does not lapse")),
        }
    }
    r.accounts.push(ConnectedAccount {
        account_id: ig.id.clone(),
        username: ig.username.clone(),
        page_id: Some(page.id.clone()),
        login: Login::Facebook,
        token,
        expires_at: None,
    });
}

/// Connects the Instagram Login account a short-lived Instagram user token belongs to: the
/// token is traded for a long-lived one with the Instagram app secret, the account read
/// (`/me`: its `user_id` is the id webhooks carry), and subscribed to the fields Instagram
/// Login offers when it is not.
pub async fn connect_instagram(
    graph: &GraphClient,
    settings: &Settings,
    user_token: Secret,
) -> Report {
    let mut r = Report::default();
    let Some(secret) = settings.instagram_app_secret.as_ref() else {
        r.say(Mark::Fail, "COMMENTGUARD_INSTAGRAM_APP_SECRET is not set: App Dashboard > Instagram > API setup with Instagram login > Instagram app secret");
        return r;
    };
    let short = AccountCtx {
        account_id: "connect".into(),
        token: user_token,
    };
    let long = match graph.instagram_exchange(&short, secret).await {
        Ok(long) => long,
        Err(e) => {
            r.say(Mark::Fail, format!("the Instagram token could not be traded for a long-lived one ({e}): is it a new token of this Instagram app (Instagram Login)?"));
            return r;
        }
    };
    r.say(
        Mark::Ok,
        "the Instagram token was traded for a long-lived one (60 days; serve refreshes it)",
    );
    let ctx = AccountCtx {
        account_id: "connect".into(),
        token: long.token.clone(),
    };
    let me = match graph.instagram_me(&ctx).await {
        Ok(me) => me,
        Err(e) => {
            r.say(
                Mark::Fail,
                format!("the Instagram account could not be read: {e}"),
            );
            return r;
        }
    };
    let who = match &me.username {
        Some(u) => format!("@{u} ({})", me.user_id),
        None => me.user_id.clone(),
    };
    let ctx = AccountCtx {
        account_id: me.user_id.clone(),
        token: long.token.clone(),
    };
    let wanted = super::health::INSTAGRAM_WANTED;
    match graph.instagram_subscribed_fields(&ctx, &me.user_id).await {
        Ok(fields) if wanted.iter().all(|w| fields.iter().any(|f| f == w)) => r.say(
            Mark::Ok,
            format!("{who}: subscribed to {}", fields.join(", ")),
        ),
        Ok(_) => match graph.instagram_subscribe(&ctx, &me.user_id, &wanted).await {
            Ok(()) => r.say(
                Mark::Mended,
                format!(
                    "{who}: was not subscribed to {}; subscribed now, so webhooks arrive",
                    wanted.join(", ")
                ),
            ),
            Err(e) => {
                r.say(Mark::Fail, format!("{who}: could not be subscribed to {} ({e}); without it Meta sends no webhook for this account (the token needs instagram_business_manage_comments)", wanted.join(", ")));
                return r;
            }
        },
        Err(e) => {
            r.say(
                Mark::Fail,
                format!("{who}: the subscription could not be read: {e}"),
            );
            return r;
        }
    }
    r.accounts.push(ConnectedAccount {
        account_id: me.user_id,
        username: me.username,
        page_id: None,
        login: Login::Instagram,
        token: long.token,
        expires_at: long
            .expires_in
            .map(|s| crate::store::now_ms() + s.saturating_mul(1000)),
    });
    r
}
