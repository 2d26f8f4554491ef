//! Tokens renewed while running (Instagram Login): one row per account, the newest token and
//! when it expires, shared by every instance. Owns the `account_tokens` table.

use async_trait::async_trait;
use sqlx::Row;

use super::db::SqlStore;
use super::Result;
use crate::secret::Secret;

/// An account's renewed token.
#[derive(Debug, Clone)]
pub struct RenewedToken {
    pub account_id: String,
    pub token: Secret,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub renewed_at: i64,
}

#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Every renewed token.
    async fn renewed_tokens(&self) -> Result<Vec<RenewedToken>>;

    /// Keeps `token` as the account's (replacing an older one).
    async fn put_renewed_token(&self, t: &RenewedToken) -> Result<()>;

    /// Forgets the account's renewed token (it changed login: the settings' token holds).
    async fn forget_renewed_token(&self, account_id: &str) -> Result<bool>;
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn renewed_tokens(&self) -> Result<Vec<RenewedToken>> {
        let rows = sqlx::query(
            "SELECT account_id, token, expires_at, renewed_at FROM account_tokens ORDER BY account_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RenewedToken {
                    account_id: r.try_get("account_id")?,
                    token: Secret::new(r.try_get::<String, _>("token")?),
                    expires_at: r.try_get("expires_at")?,
                    renewed_at: r.try_get("renewed_at")?,
                })
            })
            .collect()
    }

    async fn put_renewed_token(&self, t: &RenewedToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO account_tokens (account_id, token, expires_at, renewed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at",
        )
        .bind(&t.account_id)
        .bind(t.token.expose())
        .bind(t.expires_at)
        .bind(t.renewed_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn forget_renewed_token(&self, account_id: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM account_tokens WHERE account_id = $1")
                .bind(account_id)
                .execute(&self.writer)
                .await?
                .rows_affected()
                > 0,
        )
    }
}
