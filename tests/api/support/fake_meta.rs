//! The fake Graph API's link-to-Meta half (Facebook Login): the app, its webhook subscription,
//! Pages linked to Instagram accounts with the app installed or not, user and Page tokens with
//! their scopes and expiry.
//!
//! | endpoint label      | request                                                     |
//! |---------------------|-------------------------------------------------------------|
//! | `app`               | `GET /app`: the token's app                                 |
//! | `app_subscriptions` | `GET /{app-id}/subscriptions` (app token only, else code 15) |
//! | `me`                | `GET /me?fields=..`: a Page token's Page; a user token asking for `instagram_business_account`: code 100 |
//! | `pages`             | `GET /me/accounts` (user token only): Pages with their tokens |
//! | `permissions`       | `GET /me/permissions` (user token only)                     |
//! | `page_apps`         | `GET /{page}/subscribed_apps` (that Page's token)           |
//! | `install_app`       | `POST /{page}/subscribed_apps` (that Page's token, `pages_manage_metadata`, else code 200) |
//! | `debug_token`       | `GET /debug_token?input_token=` (app token only)            |
//! | `token_exchange`    | `GET /oauth/access_token?grant_type=fb_exchange_token`      |
//!
//! Out of the box there is one Page, [`FakeGraph::PAGE_ID`], linked to the Instagram account
//! `17841400000000000`, with the app installed; any token the fake was not told about acts as
//! that Page's token with every scope and no expiry (so the service's own tests need nothing),
//! and the app subscribes to `instagram` with the four fields.

#![allow(dead_code)] // Shared by many test modules; each uses a part.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::fake_graph::{FakeGraph, RecordedRequest};

pub const ALL_SCOPES: [&str; 7] = [
    "instagram_basic",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
    "business_management",
];

#[derive(Debug, Clone)]
pub struct FakePage {
    pub name: String,
    pub ig_id: Option<String>,
    pub ig_username: Option<String>,
    /// Empty: any token not otherwise known is this Page's.
    pub token: String,
    pub installed: bool,
}

#[derive(Debug, Clone)]
struct FakeUser {
    id: String,
    scopes: Vec<String>,
    pages: Vec<String>,
    long_lived: bool,
}

#[derive(Debug, Clone)]
pub struct FakeAppSubscription {
    pub callback_url: String,
    pub fields: Vec<String>,
    pub active: bool,
}

/// An Instagram Login account on the Instagram host.
#[derive(Debug, Clone)]
struct IgUser {
    username: String,
    subscribed: Vec<String>,
}

#[derive(Debug)]
pub struct FakeMeta {
    /// This fake plays graph.instagram.com (Instagram Login), not graph.facebook.com.
    pub instagram_host: bool,
    /// Instagram Login: user id -> account; token -> (user id, long-lived).
    ig_users: BTreeMap<String, IgUser>,
    ig_tokens: HashMap<String, (String, bool)>,
    /// Tokens handed out by `refresh_access_token`, in order.
    pub ig_refreshed: Vec<String>,
    pub app_id: String,
    pub subscription: Option<FakeAppSubscription>,
    pages: BTreeMap<String, FakePage>,
    users: HashMap<String, FakeUser>,
    /// Token -> unix seconds it expires at (debug_token); absent: a Page token never expires,
    /// a user token an hour or 60 days after it was made.
    expiry: HashMap<String, i64>,
    next: u64,
}

impl Default for FakeMeta {
    fn default() -> Self {
        let mut pages = BTreeMap::new();
        pages.insert(
            FakeGraph::PAGE_ID.to_string(),
            FakePage {
                name: "Brand".into(),
                ig_id: Some("17841400000000000".into()),
                ig_username: Some("brand".into()),
                token: String::new(),
                installed: true,
            },
        );
        FakeMeta {
            instagram_host: false,
            ig_users: BTreeMap::new(),
            ig_tokens: HashMap::new(),
            ig_refreshed: Vec::new(),
            app_id: FakeGraph::APP_ID.to_string(),
            subscription: Some(FakeAppSubscription {
                callback_url: "https://commentguard.example/webhook".into(),
                fields: ["comments", "live_comments", "mentions", "story_insights"]
                    .map(String::from)
                    .to_vec(),
                active: true,
            }),
            pages,
            users: HashMap::new(),
            expiry: HashMap::new(),
            next: 1,
        }
    }
}

enum Who {
    App,
    User(FakeUser),
    Page(String),
    Nobody,
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn err(status: u16, code: i64, message: &str) -> (u16, String) {
    (
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "fbtrace_id": "AFakeTraceId"}})
        .to_string(),
    )
}

impl FakeMeta {
    fn who(&self, token: &str, app_secret: &str) -> Who {
        if token == format!("{}|{app_secret}", self.app_id) {
            return Who::App;
        }
        if let Some(u) = self.users.get(token) {
            return Who::User(u.clone());
        }
        if let Some((id, _)) = self.pages.iter().find(|(_, p)| p.token == token) {
            return Who::Page(id.clone());
        }
        match self.pages.iter().find(|(_, p)| p.token.is_empty()) {
            Some((id, _)) => Who::Page(id.clone()),
            None => Who::Nobody,
        }
    }

    fn page_json(&self, id: &str, with_token: bool) -> Value {
        let p = &self.pages[id];
        let mut v = json!({"id": id, "name": p.name});
        if let Some(ig) = &p.ig_id {
            v["instagram_business_account"] = json!({"id": ig, "username": p.ig_username});
        }
        if with_token {
            v["access_token"] = json!(p.token);
        }
        v
    }

    /// The answer of a link endpoint, `None` for any other endpoint.
    pub fn answer(
        &mut self,
        r: &RecordedRequest,
        token: &str,
        app_secret: &str,
        revoked: &dyn Fn(&str) -> bool,
    ) -> Option<(u16, String)> {
        if self.instagram_host {
            return self.answer_instagram(r, token, app_secret);
        }
        let who = self.who(token, app_secret);
        let param = |n: &str| r.param(n).map(str::to_string);
        let user_only = || {
            err(
                400,
                100,
                "(#100) Tried accessing nonexisting field (accounts) on node type (Page)",
            )
        };
        Some(match r.endpoint.as_str() {
            "app" => (200, json!({"id": self.app_id, "name": "commentguard"}).to_string()),
            "app_subscriptions" => {
                if !matches!(who, Who::App) {
                    return Some(err(400, 15, "(#15) This method must be called with an app access_token."));
                }
                let data: Vec<Value> = self
                    .subscription
                    .iter()
                    .map(|s| {
                        json!({"object": "instagram", "callback_url": s.callback_url, "active": s.active,
                            "fields": s.fields.iter().map(|f| json!({"name": f, "version": "v23.0"})).collect::<Vec<_>>()})
                    })
                    .collect();
                (200, json!({ "data": data }).to_string())
            }
            "me" => match who {
                Who::Page(id) => (200, self.page_json(&id, false).to_string()),
                Who::User(u) => {
                    if param("fields").is_some_and(|f| f.contains("instagram_business_account")) {
                        err(400, 100, "(#100) Tried accessing nonexisting field (instagram_business_account) on node type (User)")
                    } else {
                        (200, json!({"id": u.id, "name": "Robin"}).to_string())
                    }
                }
                _ => err(400, 2500, "An active access token must be used to query information about the current user."),
            },
            "pages" => match who {
                Who::User(u) => {
                    let data: Vec<Value> = u
                        .pages
                        .iter()
                        .filter(|p| self.pages.contains_key(*p))
                        .map(|p| self.page_json(p, true))
                        .collect();
                    (200, json!({"data": data, "paging": {"cursors": {"before": "0", "after": "0"}}}).to_string())
                }
                _ => user_only(),
            },
            "permissions" => match who {
                Who::User(u) => {
                    let data: Vec<Value> = ALL_SCOPES
                        .iter()
                        .map(|s| {
                            let granted = u.scopes.iter().any(|g| g == s);
                            json!({"permission": s, "status": if granted { "granted" } else { "declined" }})
                        })
                        .collect();
                    (200, json!({ "data": data }).to_string())
                }
                _ => err(400, 100, "(#100) Tried accessing nonexisting field (permissions) on node type (Page)"),
            },
            "page_apps" | "install_app" => {
                let page_id = r.object_id.clone();
                let Some(page) = self.pages.get(&page_id).cloned() else {
                    return Some(err(400, 100, &format!("(#100) Unsupported request. Object with ID '{page_id}' does not exist")));
                };
                let own_page = matches!(&who, Who::Page(id) if *id == page_id);
                if !own_page {
                    return Some(err(400, 210, "(#210) A page access token is required to request this resource."));
                }
                if r.endpoint == "page_apps" {
                    let data: Vec<Value> = if page.installed {
                        vec![json!({"id": self.app_id, "name": "commentguard", "category": "Business",
                            "subscribed_fields": ["feed"]})]
                    } else {
                        Vec::new()
                    };
                    return Some((200, json!({ "data": data }).to_string()));
                }
                // A Page token carries the scopes of the person it came from.
                let scopes = self
                    .users
                    .values()
                    .find(|u| u.pages.contains(&page_id))
                    .map(|u| u.scopes.clone())
                    .unwrap_or_else(|| ALL_SCOPES.map(String::from).to_vec());
                if !scopes.iter().any(|s| s == "pages_manage_metadata") {
                    return Some(err(403, 200, "(#200) Requires pages_manage_metadata permission to manage the object"));
                }
                if param("subscribed_fields").is_none_or(|f| f.is_empty()) {
                    return Some(err(400, 100, "(#100) The parameter subscribed_fields is required"));
                }
                self.pages.get_mut(&page_id).expect("checked").installed = true;
                (200, json!({"success": true}).to_string())
            }
            "debug_token" => {
                if !matches!(who, Who::App) {
                    return Some(err(400, 15, "(#15) This method must be called with an app access_token."));
                }
                let input = param("input_token").unwrap_or_default();
                if revoked(&input) {
                    return Some((200, json!({"data": {"is_valid": false, "app_id": self.app_id,
                        "error": {"code": 190, "message": "Error validating access token: Session has expired."},
                        "scopes": []}}).to_string()));
                }
                let (kind, scopes, default_expiry) = match self.who(&input, app_secret) {
                    Who::User(u) => ("USER", u.scopes.clone(), now_s() + if u.long_lived { 60 * 86400 } else { 3600 }),
                    Who::Page(id) => {
                        let scopes = self.users.values().find(|u| u.pages.contains(&id))
                            .map(|u| u.scopes.clone())
                            .unwrap_or_else(|| ALL_SCOPES.map(String::from).to_vec());
                        ("PAGE", scopes, 0)
                    }
                    _ => ("APP", Vec::new(), 0),
                };
                let expires_at = self.expiry.get(&input).copied().unwrap_or(default_expiry);
                (200, json!({"data": {"app_id": self.app_id, "type": kind, "application": "commentguard",
                    "is_valid": true, "expires_at": expires_at, "data_access_expires_at": 0,
                    "scopes": scopes}}).to_string())
            }
            "token_exchange" => {
                if param("client_id").as_deref() != Some(self.app_id.as_str())
                    || param("client_secret").as_deref() != Some(app_secret)
                {
                    return Some(err(400, 1, "Error validating client secret."));
                }
                let short = param("fb_exchange_token").unwrap_or_default();
                let Some(user) = self.users.get(&short).cloned() else {
                    return Some(err(400, 190, "Invalid OAuth access token - Cannot parse access token"));
                };
                let long = format!("EAALONG{}{}", self.next, user.id);
                self.next += 1;
                self.users.insert(long.clone(), FakeUser { long_lived: true, ..user });
                (200, json!({"access_token": long, "token_type": "bearer", "expires_in": 5_183_944}).to_string())
            }
            _ => return None,
        })
    }
}

impl FakeMeta {
    /// graph.instagram.com's side of the link: the token exchange and refresh, `/me`, and an
    /// account's own subscription. Everything else (hide, reply, media...) as on Facebook.
    fn answer_instagram(
        &mut self,
        r: &RecordedRequest,
        token: &str,
        app_secret: &str,
    ) -> Option<(u16, String)> {
        let param = |n: &str| r.param(n).map(str::to_string);
        let ig_err = |code: i64, message: &str| {
            (
                400,
                json!({"error": {"message": message, "type": "IGApiException", "code": code,
                "fbtrace_id": "AFakeTraceId"}})
                .to_string(),
            )
        };
        let issue = |m: &mut FakeMeta, prefix: &str, user: String| {
            let t = format!("{prefix}{}x{user}", m.next);
            m.next += 1;
            m.ig_tokens.insert(t.clone(), (user, true));
            t
        };
        Some(match r.endpoint.as_str() {
            "ig_exchange" => {
                if param("client_secret").as_deref() != Some(app_secret) {
                    return Some(ig_err(101, "Error validating client secret."));
                }
                let short = param("access_token").unwrap_or_default();
                let Some((user, false)) = self.ig_tokens.get(&short).cloned() else {
                    return Some(ig_err(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                    ));
                };
                let long = issue(self, "IGLONG", user);
                (
                    200,
                    json!({"access_token": long, "token_type": "bearer", "expires_in": 5_184_000})
                        .to_string(),
                )
            }
            "ig_refresh" => {
                let old = param("access_token").unwrap_or_default();
                let Some((user, true)) = self.ig_tokens.get(&old).cloned() else {
                    return Some(ig_err(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                    ));
                };
                let new = issue(self, "IGREFRESHED", user);
                self.ig_refreshed.push(new.clone());
                (
                    200,
                    json!({"access_token": new, "token_type": "bearer", "expires_in": 5_184_000})
                        .to_string(),
                )
            }
            "me" => {
                let Some((user, _)) = self.ig_tokens.get(token) else {
                    return Some(ig_err(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                    ));
                };
                let u = &self.ig_users[user];
                (200, json!({"user_id": user, "username": u.username, "id": format!("app-scoped-{user}")}).to_string())
            }
            "page_apps" | "install_app" => {
                let Some((user, _)) = self.ig_tokens.get(token).cloned() else {
                    return Some(ig_err(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                    ));
                };
                if r.object_id != user {
                    return Some(ig_err(100, "Unsupported request - method type: get"));
                }
                let u = self.ig_users.get_mut(&user).expect("known");
                if r.endpoint == "install_app" {
                    u.subscribed = param("subscribed_fields")
                        .unwrap_or_default()
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect();
                    return Some((200, json!({"success": true}).to_string()));
                }
                let data = if u.subscribed.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"id": self.app_id, "subscribed_fields": u.subscribed})]
                };
                (200, json!({ "data": data }).to_string())
            }
            _ => return None,
        })
    }
}

impl FakeGraph {
    /// An Instagram Login account `user_id` (@`username`) on this fake (which plays
    /// graph.instagram.com: see [`FakeGraph::start_instagram`]), subscribed to `fields`, with a
    /// short-lived token and, if given, a long-lived one.
    pub fn add_instagram_account(
        &self,
        user_id: &str,
        username: &str,
        fields: &[&str],
        short_token: &str,
        long_token: Option<&str>,
    ) {
        self.with_meta(|m| {
            m.ig_users.insert(
                user_id.to_string(),
                IgUser {
                    username: username.to_string(),
                    subscribed: fields.iter().map(|f| f.to_string()).collect(),
                },
            );
            m.ig_tokens
                .insert(short_token.to_string(), (user_id.to_string(), false));
            if let Some(t) = long_token {
                m.ig_tokens
                    .insert(t.to_string(), (user_id.to_string(), true));
            }
        });
    }

    /// A fake that plays graph.instagram.com, the Instagram Login host.
    pub async fn start_instagram() -> FakeGraph {
        let fake = FakeGraph::start().await;
        fake.with_meta(|m| m.instagram_host = true);
        fake
    }

    /// The fields an Instagram Login account is subscribed to.
    pub fn instagram_subscribed(&self, user_id: &str) -> Vec<String> {
        self.with_meta(|m| {
            m.ig_users
                .get(user_id)
                .map(|u| u.subscribed.clone())
                .unwrap_or_default()
        })
    }

    /// The tokens `refresh_access_token` handed out, in order.
    pub fn instagram_refreshed(&self) -> Vec<String> {
        self.with_meta(|m| m.ig_refreshed.clone())
    }

    /// The app id the fake answers for (`GET /app`) and expects in app tokens.
    pub const APP_ID: &'static str = "1234567890";
    /// The Page linked to the account `17841400000000000` out of the box.
    pub const PAGE_ID: &'static str = "1000000000000001";

    /// A Page linked to Instagram account `ig_id` (`None`: no Instagram account), with its own
    /// Page token, and the app `installed` or not.
    pub fn add_page(
        &self,
        page_id: &str,
        ig: Option<(&str, &str)>,
        page_token: &str,
        installed: bool,
    ) {
        self.with_meta(|m| {
            m.pages.insert(
                page_id.to_string(),
                FakePage {
                    name: format!("Page {page_id}"),
                    ig_id: ig.map(|(id, _)| id.to_string()),
                    ig_username: ig.map(|(_, u)| u.to_string()),
                    token: page_token.to_string(),
                    installed,
                },
            );
        });
    }

    /// A short-lived user token of a person who manages `pages`, with `scopes` granted.
    pub fn add_user_token(&self, token: &str, scopes: &[&str], pages: &[&str]) {
        self.with_meta(|m| {
            let id = format!("10{}", m.users.len() + 1);
            m.users.insert(
                token.to_string(),
                FakeUser {
                    id,
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    pages: pages.iter().map(|s| s.to_string()).collect(),
                    long_lived: false,
                },
            );
        });
    }

    /// The app installed on `page_id` or not.
    pub fn set_app_installed(&self, page_id: &str, installed: bool) {
        self.with_meta(|m| {
            if let Some(p) = m.pages.get_mut(page_id) {
                p.installed = installed;
            }
        });
    }

    pub fn app_installed(&self, page_id: &str) -> bool {
        self.with_meta(|m| m.pages.get(page_id).is_some_and(|p| p.installed))
    }

    /// The fields of the app's `instagram` subscription (`None`: no subscription at all).
    pub fn set_app_subscription(&self, fields: Option<&[&str]>) {
        self.with_meta(|m| {
            m.subscription = fields.map(|f| FakeAppSubscription {
                callback_url: "https://commentguard.example/webhook".into(),
                fields: f.iter().map(|s| s.to_string()).collect(),
                active: true,
            });
        });
    }

    /// `token` expires at `unix_seconds` (debug_token).
    pub fn set_token_expiry(&self, token: &str, unix_seconds: i64) {
        self.with_meta(|m| {
            m.expiry.insert(token.to_string(), unix_seconds);
        });
    }
}
