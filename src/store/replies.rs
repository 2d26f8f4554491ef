//! Saved replies: the answers a brand team sends again and again ("Thanks! Our team will DM you
//! from @brand, never from another account"), kept per account and picked on the review page.
//! Owns the `saved_replies` table.

use async_trait::async_trait;
use sqlx::Row;

use super::db::SqlStore;
use super::Result;

/// One saved reply of an account, known by its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReply {
    pub account_id: String,
    pub title: String,
    pub text: String,
    pub person: String,
    /// Unix milliseconds.
    pub saved_at: i64,
}

#[async_trait]
pub trait SavedReplyStore: Send + Sync + 'static {
    /// Every saved reply, by account then title.
    async fn saved_replies(&self) -> Result<Vec<SavedReply>>;

    /// Keeps a saved reply, replacing the account's reply of the same title.
    async fn put_saved_reply(&self, r: &SavedReply) -> Result<()>;

    /// Removes one; `false` when the account had no reply of that title.
    async fn delete_saved_reply(&self, account_id: &str, title: &str) -> Result<bool>;
}

#[async_trait]
impl SavedReplyStore for SqlStore {
    async fn saved_replies(&self) -> Result<Vec<SavedReply>> {
        let rows = sqlx::query(
            "SELECT account_id, title, text, person, saved_at FROM saved_replies ORDER BY account_id, title",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedReply {
                    account_id: r.try_get("account_id")?,
                    title: r.try_get("title")?,
                    text: r.try_get("text")?,
                    person: r.try_get("person")?,
                    saved_at: r.try_get("saved_at")?,
                })
            })
            .collect()
    }

    async fn put_saved_reply(&self, r: &SavedReply) -> Result<()> {
        sqlx::query(
            "INSERT INTO saved_replies (account_id, title, text, person, saved_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (account_id, title) DO UPDATE SET text = excluded.text, person = excluded.person, saved_at = excluded.saved_at",
        )
        .bind(&r.account_id)
        .bind(&r.title)
        .bind(&r.text)
        .bind(&r.person)
        .bind(r.saved_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_saved_reply(&self, account_id: &str, title: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM saved_replies WHERE account_id = $1 AND title = $2")
                .bind(account_id)
                .bind(title)
                .execute(&self.writer)
                .await?
                .rows_affected()
                > 0,
        )
    }
}
