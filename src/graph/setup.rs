//! The Graph calls of the link to Meta (Facebook Login): which app a token belongs to, the
//! app's webhook subscriptions, the Page behind an Instagram account and whether the app is
//! installed on it, a token's expiry and scopes, the exchange for a long-lived token and the
//! granted permissions. Used by `connect`, `doctor` and the hourly and daily checks of serve.
//!
//! What each call relies on is in docs/OPERATIONS.md ("What commentguard asks Meta").

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::{check_id, decode, Endpoint};
use super::{AccountCtx, GraphClient, GraphError};
use crate::secret::Secret;

/// The app a token was issued to (`GET /app`).
#[derive(Debug, Clone, Deserialize)]
pub struct AppInfo {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// One object the app subscribes to (`GET /{app-id}/subscriptions`).
#[derive(Debug, Clone, Deserialize)]
pub struct AppSubscription {
    pub object: String,
    #[serde(default)]
    pub callback_url: Option<String>,
    #[serde(default)]
    pub active: bool,
    /// Meta's reference says strings, its own examples show `{name, version}`: both read.
    #[serde(default, deserialize_with = "field_names")]
    pub fields: Vec<String>,
}

fn field_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items: Vec<Value> = Deserialize::deserialize(d)?;
    Ok(items
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            other => other
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect())
}

/// A Facebook Page and the Instagram professional account linked to it.
#[derive(Debug, Clone, Deserialize)]
pub struct PageInfo {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The Page's token: in `/me/accounts` answers only (never printed, never logged).
    #[serde(default)]
    pub access_token: Option<Secret>,
    #[serde(default)]
    pub instagram_business_account: Option<LinkedInstagram>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkedInstagram {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
}

/// An app installed on a Page (`GET /{page-id}/subscribed_apps`).
#[derive(Debug, Clone, Deserialize)]
pub struct InstalledApp {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub subscribed_fields: Vec<String>,
}

/// What `debug_token` says of a token. Every field but `is_valid` may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub is_valid: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    /// Unix seconds; 0 or absent: never.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Unix seconds after which the token reads no more data; 0 or absent: not set.
    #[serde(default)]
    pub data_access_expires_at: Option<i64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Meta's words when the token is not valid.
    #[serde(default)]
    pub error: Option<TokenInfoError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenInfoError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: Option<i64>,
}

impl TokenInfo {
    /// When the token stops working, counting the data-access expiry too (unix seconds);
    /// `None`: it does not expire.
    pub fn lapses_at(&self) -> Option<i64> {
        [self.expires_at, self.data_access_expires_at]
            .into_iter()
            .flatten()
            .filter(|t| *t > 0)
            .min()
    }
}

/// A token traded for a long-lived one.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub token: Secret,
    /// Seconds; absent when Meta does not say.
    pub expires_in: Option<i64>,
}

/// The token of the app itself, `{app-id}|{app-secret}`: it reads the app's subscriptions and
/// debugs tokens.
pub fn app_ctx(app_id: &str, app_secret: &Secret) -> AccountCtx {
    AccountCtx {
        account_id: format!("app:{app_id}"),
        token: Secret::new(format!("{app_id}|{}", app_secret.expose())),
    }
}

impl GraphClient {
    /// The app a token belongs to: `GET /app`.
    pub async fn app_of_token(&self, ctx: &AccountCtx) -> Result<AppInfo, GraphError> {
        let v = self
            .call(ctx, Endpoint::App, Method::GET, &["app"], vec![])
            .await?;
        decode(Endpoint::App, v)
    }

    /// The app's webhook subscriptions: `GET /{app-id}/subscriptions` with the app token.
    pub async fn app_subscriptions(
        &self,
        app_id: &str,
        app_secret: &Secret,
    ) -> Result<Vec<AppSubscription>, GraphError> {
        check_id("app id", app_id)?;
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            data: Vec<AppSubscription>,
        }
        let v = self
            .call(
                &app_ctx(app_id, app_secret),
                Endpoint::AppSubscriptions,
                Method::GET,
                &[app_id, "subscriptions"],
                vec![],
            )
            .await?;
        Ok(decode::<Wire>(Endpoint::AppSubscriptions, v)?.data)
    }

    /// The Page a Page token belongs to, with its Instagram account: `GET /me`. `None` when
    /// the token is not a Page's (a user token: Meta answers code 100, no such field).
    pub async fn page_of_token(&self, ctx: &AccountCtx) -> Result<Option<PageInfo>, GraphError> {
        let answer = self
            .call(
                ctx,
                Endpoint::Me,
                Method::GET,
                &["me"],
                vec![("fields", "id,name,instagram_business_account".into())],
            )
            .await;
        match answer {
            Ok(v) => Ok(Some(decode(Endpoint::Me, v)?)),
            Err(GraphError::Permanent { code: 100, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The Pages a user token can act for, each with its own token and Instagram account:
    /// `GET /me/accounts`.
    pub async fn pages_of_user(&self, ctx: &AccountCtx) -> Result<Vec<PageInfo>, GraphError> {
        self.get_pages(
            ctx,
            Endpoint::Pages,
            &["me", "accounts"],
            "id,name,access_token,instagram_business_account{id,username}",
            10,
        )
        .await
    }

    /// The apps installed on a Page: `GET /{page-id}/subscribed_apps` with the Page's token.
    pub async fn page_apps(
        &self,
        page: &AccountCtx,
        page_id: &str,
    ) -> Result<Vec<InstalledApp>, GraphError> {
        check_id("page id", page_id)?;
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            data: Vec<InstalledApp>,
        }
        let v = self
            .call(
                page,
                Endpoint::PageApps,
                Method::GET,
                &[page_id, "subscribed_apps"],
                vec![],
            )
            .await?;
        Ok(decode::<Wire>(Endpoint::PageApps, v)?.data)
    }

    /// Installs the app on a Page: `POST /{page-id}/subscribed_apps?subscribed_fields=feed`.
    /// Instagram webhooks reach the app once it is installed with any Page field.
    pub async fn install_app(&self, page: &AccountCtx, page_id: &str) -> Result<(), GraphError> {
        check_id("page id", page_id)?;
        let v = self
            .call(
                page,
                Endpoint::InstallApp,
                Method::POST,
                &[page_id, "subscribed_apps"],
                vec![("subscribed_fields", "feed".into())],
            )
            .await?;
        // Meta answers `{"success": true}`, in some examples `"true"`.
        match v.get("success") {
            Some(Value::Bool(false)) => Err(GraphError::Permanent {
                code: 0,
                message: "installing the app on the Page answered success: false".into(),
            }),
            _ => Ok(()),
        }
    }

    /// What Meta knows of `token`: `GET /debug_token?input_token=` with the app token.
    pub async fn debug_token(
        &self,
        app_id: &str,
        app_secret: &Secret,
        token: &Secret,
    ) -> Result<TokenInfo, GraphError> {
        check_id("app id", app_id)?;
        #[derive(Deserialize)]
        struct Wire {
            data: TokenInfo,
        }
        let v = self
            .call(
                &app_ctx(app_id, app_secret),
                Endpoint::DebugToken,
                Method::GET,
                &["debug_token"],
                vec![("input_token", token.expose().to_string())],
            )
            .await
            .map_err(|e| e.scrubbed(&[token.expose()]))?;
        Ok(decode::<Wire>(Endpoint::DebugToken, v)?.data)
    }

    /// Trades a user token for a long-lived one (about 60 days):
    /// `GET /oauth/access_token?grant_type=fb_exchange_token`.
    pub async fn exchange_token(
        &self,
        app_id: &str,
        app_secret: &Secret,
        short: &Secret,
    ) -> Result<Exchanged, GraphError> {
        #[derive(Deserialize)]
        struct Wire {
            access_token: Secret,
            #[serde(default)]
            expires_in: Option<i64>,
        }
        let ctx = AccountCtx {
            account_id: format!("app:{app_id}"),
            token: short.clone(),
        };
        let v = self
            .call(
                &ctx,
                Endpoint::TokenExchange,
                Method::GET,
                &["oauth", "access_token"],
                vec![
                    ("grant_type", "fb_exchange_token".into()),
                    ("client_id", app_id.to_string()),
                    ("client_secret", app_secret.expose().to_string()),
                    ("fb_exchange_token", short.expose().to_string()),
                ],
            )
            .await
            .map_err(|e| e.scrubbed(&[app_secret.expose()]))?;
        let w: Wire = decode(Endpoint::TokenExchange, v)?;
        Ok(Exchanged {
            token: w.access_token,
            expires_in: w.expires_in,
        })
    }

    /// The permissions a user granted the app, by status (`granted`, `declined`, `expired`):
    /// `GET /me/permissions`.
    pub async fn permissions(&self, ctx: &AccountCtx) -> Result<Vec<(String, String)>, GraphError> {
        #[derive(Deserialize)]
        struct Item {
            permission: String,
            #[serde(default)]
            status: String,
        }
        let items: Vec<Item> = self
            .get_pages(
                ctx,
                Endpoint::Permissions,
                &["me", "permissions"],
                "permission,status",
                5,
            )
            .await?;
        Ok(items
            .into_iter()
            .map(|i| (i.permission, i.status))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_subscription_fields_read_as_strings_or_objects() {
        for body in [
            r#"{"object":"instagram","active":true,"fields":["comments","mentions"]}"#,
            r#"{"object":"instagram","active":true,"fields":[{"name":"comments","version":"v23.0"},{"name":"mentions","version":"v23.0"}]}"#,
        ] {
            let s: AppSubscription = serde_json::from_str(body).unwrap();
            assert_eq!(s.fields, ["comments", "mentions"]);
        }
    }

    #[test]
    fn a_token_lapses_at_the_earlier_of_its_expiries_and_never_when_both_are_zero() {
        let t = |e, d| TokenInfo {
            expires_at: e,
            data_access_expires_at: d,
            ..Default::default()
        };
        assert_eq!(t(Some(0), Some(0)).lapses_at(), None);
        assert_eq!(t(None, None).lapses_at(), None);
        assert_eq!(t(Some(0), Some(500)).lapses_at(), Some(500));
        assert_eq!(t(Some(300), Some(500)).lapses_at(), Some(300));
    }

    #[test]
    fn the_app_token_is_not_in_debug_output() {
        let ctx = app_ctx("1234", &Secret::new("s3cr3t-app"));
        assert!(!format!("{ctx:?}").contains("s3cr3t-app"));
    }
}
