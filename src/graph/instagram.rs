//! The Graph calls only Instagram Login accounts make, on graph.instagram.com: the token
//! exchange and refresh, the account behind a token, and the account's webhook subscription.
//! (Hide, delete, reply, media and comments use the same paths as on graph.facebook.com; the
//! client sends an account's calls to the host its login uses.) What each relies on is in
//! docs/OPERATIONS.md.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::client::{check_id, decode, Endpoint};
use super::setup::Exchanged;
use super::{AccountCtx, GraphClient, GraphError};
use crate::secret::Secret;

/// The account an Instagram user token belongs to.
#[derive(Debug, Clone, Deserialize)]
pub struct InstagramMe {
    /// The Instagram professional account id: the `id` of webhook entries for it.
    pub user_id: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Deserialize)]
struct TokenWire {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<i64>,
}

impl GraphClient {
    /// Trades a short-lived Instagram user token for a long-lived one (60 days):
    /// `GET /access_token?grant_type=ig_exchange_token` with the Instagram app secret.
    pub async fn instagram_exchange(
        &self,
        ctx: &AccountCtx,
        instagram_app_secret: &Secret,
    ) -> Result<Exchanged, GraphError> {
        let v = self
            .call(
                ctx,
                Endpoint::TokenExchange,
                Method::GET,
                &["access_token"],
                vec![
                    ("grant_type", "ig_exchange_token".into()),
                    ("client_secret", instagram_app_secret.expose().to_string()),
                    // Documented as a query parameter of this call only.
                    ("access_token", ctx.token.expose().to_string()),
                ],
            )
            .await
            .map_err(|e| e.scrubbed(&[instagram_app_secret.expose(), ctx.token.expose()]))?;
        let w: TokenWire = decode(Endpoint::TokenExchange, v)?;
        Ok(Exchanged {
            token: w.access_token,
            expires_in: w.expires_in,
        })
    }

    /// A long-lived Instagram user token at least a day old, traded for a new one valid 60
    /// days from now: `GET /refresh_access_token?grant_type=ig_refresh_token`.
    pub async fn instagram_refresh(&self, ctx: &AccountCtx) -> Result<Exchanged, GraphError> {
        let v = self
            .call(
                ctx,
                Endpoint::TokenRefresh,
                Method::GET,
                &["refresh_access_token"],
                vec![
                    ("grant_type", "ig_refresh_token".into()),
                    ("access_token", ctx.token.expose().to_string()),
                ],
            )
            .await
            .map_err(|e| e.scrubbed(&[ctx.token.expose()]))?;
        let w: TokenWire = decode(Endpoint::TokenRefresh, v)?;
        Ok(Exchanged {
            token: w.access_token,
            expires_in: w.expires_in,
        })
    }

    /// The account a token belongs to: `GET /me?fields=user_id,username`. Meta's example
    /// wraps the answer in `data: [...]`; real answers are flat: both read.
    pub async fn instagram_me(&self, ctx: &AccountCtx) -> Result<InstagramMe, GraphError> {
        let v = self
            .call(
                ctx,
                Endpoint::Me,
                Method::GET,
                &["me"],
                vec![("fields", "user_id,username".into())],
            )
            .await?;
        let v = match v.get("data").and_then(Value::as_array) {
            Some(items) => items.first().cloned().unwrap_or(Value::Null),
            None => v,
        };
        // user_id may come as a number.
        let user_id = match v.get("user_id") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        match user_id {
            Some(user_id) => Ok(InstagramMe {
                user_id,
                username: v
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            None => Err(GraphError::Permanent {
                code: 0,
                message: "unexpected answer to me: no user_id".into(),
            }),
        }
    }

    /// The webhook fields the account is subscribed to: `GET /{ig-user-id}/subscribed_apps`.
    pub async fn instagram_subscribed_fields(
        &self,
        ctx: &AccountCtx,
        user_id: &str,
    ) -> Result<Vec<String>, GraphError> {
        check_id("ig user id", user_id)?;
        #[derive(Deserialize)]
        struct App {
            #[serde(default)]
            subscribed_fields: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            data: Vec<App>,
        }
        let v = self
            .call(
                ctx,
                Endpoint::PageApps,
                Method::GET,
                &[user_id, "subscribed_apps"],
                vec![],
            )
            .await?;
        let mut fields: Vec<String> = decode::<Wire>(Endpoint::PageApps, v)?
            .data
            .into_iter()
            .flat_map(|a| a.subscribed_fields)
            .collect();
        fields.sort();
        fields.dedup();
        Ok(fields)
    }

    /// Subscribes the account to `fields`: `POST /{ig-user-id}/subscribed_apps` (the numeric
    /// id, as Meta's example does; `/me` has been seen refused for POST).
    pub async fn instagram_subscribe(
        &self,
        ctx: &AccountCtx,
        user_id: &str,
        fields: &[&str],
    ) -> Result<(), GraphError> {
        check_id("ig user id", user_id)?;
        let v = self
            .call(
                ctx,
                Endpoint::InstallApp,
                Method::POST,
                &[user_id, "subscribed_apps"],
                vec![("subscribed_fields", fields.join(","))],
            )
            .await?;
        match v.get("success") {
            Some(Value::Bool(false)) => Err(GraphError::Permanent {
                code: 0,
                message: "subscribing the account answered success: false".into(),
            }),
            _ => Ok(()),
        }
    }
}
