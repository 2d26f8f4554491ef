//! Labels: what people said about comments ("spam", "not spam") on the review page, by an
//! undo (not spam) or a hide by hand (spam). One label per comment, kind and person, the latest
//! standing; each keeps the comment's text, so that `commentguard labels export` and
//! `model train --from-log` can learn from it after the moderation log's text is purged.
//!
//! Owns the `labels` table; reads nothing else.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{placeholders, SqlStore};
use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Spam,
    NotSpam,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Spam => "spam",
            Label::NotSpam => "not_spam",
        }
    }

    pub fn parse(s: &str) -> Option<Label> {
        match s {
            "spam" => Some(Label::Spam),
            "not_spam" => Some(Label::NotSpam),
            _ => None,
        }
    }

    /// What a person reads: "Spam", "Not spam".
    pub fn title(self) -> &'static str {
        match self {
            Label::Spam => "Spam",
            Label::NotSpam => "Not spam",
        }
    }
}

/// A label about to be stored.
#[derive(Debug, Clone)]
pub struct NewLabel {
    pub comment_id: String,
    /// `comment`, `live_comment` or `mention`, as in the moderation log.
    pub kind: String,
    pub account_id: String,
    pub person: String,
    pub label: Label,
    /// `review` (the buttons), `undo`, `hide` (by hand), `api`.
    pub source: String,
    pub text: Option<String>,
    pub author: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LabelRow {
    pub comment_id: String,
    pub kind: String,
    pub account_id: String,
    pub person: String,
    pub label: Label,
    pub source: String,
    pub text: Option<String>,
    pub author: Option<String>,
    pub labelled_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct LabelFilter {
    pub since_ms: Option<i64>,
    pub account: Option<String>,
}

#[async_trait]
pub trait LabelStore: Send + Sync + 'static {
    /// Stores a person's label; a later one by the same person on the same comment replaces it.
    async fn set_label(&self, l: &NewLabel) -> Result<()>;

    /// The labels on these comments, every person's.
    async fn labels_for(&self, comment_ids: &[String]) -> Result<Vec<LabelRow>>;

    /// Labels given at or after `since`, of one account or all, oldest first.
    async fn list_labels(&self, f: &LabelFilter) -> Result<Vec<LabelRow>>;

    /// Deletes labels given before `before` (the label retention). Returns how many.
    async fn purge_labels(&self, before: i64) -> Result<u64>;
}

const LABEL_COLUMNS: &str =
    "comment_id, kind, account_id, person, label, source, text, author, labelled_at";

fn label_from_row(r: &AnyRow) -> Result<LabelRow> {
    let label: String = r.try_get("label")?;
    Ok(LabelRow {
        comment_id: r.try_get("comment_id")?,
        kind: r.try_get("kind")?,
        account_id: r.try_get("account_id")?,
        person: r.try_get("person")?,
        label: Label::parse(&label).unwrap_or(Label::NotSpam),
        source: r.try_get("source")?,
        text: r.try_get("text")?,
        author: r.try_get("author")?,
        labelled_at: r.try_get("labelled_at")?,
    })
}

#[async_trait]
impl LabelStore for SqlStore {
    async fn set_label(&self, l: &NewLabel) -> Result<()> {
        sqlx::query(
            "INSERT INTO labels (comment_id, kind, person, account_id, label, source, text, author, labelled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (comment_id, kind, person) DO UPDATE SET label = excluded.label, \
               source = excluded.source, labelled_at = excluded.labelled_at, \
               text = COALESCE(excluded.text, labels.text), author = COALESCE(excluded.author, labels.author)",
        )
        .bind(&l.comment_id)
        .bind(&l.kind)
        .bind(&l.person)
        .bind(&l.account_id)
        .bind(l.label.as_str())
        .bind(&l.source)
        .bind(&l.text)
        .bind(&l.author)
        .bind(l.at)
        .execute(&self.writer)
        .await?;
        metrics::counter!("commentguard_labels_total", "label" => l.label.as_str(), "source" => l.source.clone())
            .increment(1);
        Ok(())
    }

    async fn labels_for(&self, comment_ids: &[String]) -> Result<Vec<LabelRow>> {
        let mut out = Vec::new();
        for chunk in comment_ids.chunks(500) {
            let list = placeholders(1, chunk.len());
            let sql = format!(
                "SELECT {LABEL_COLUMNS} FROM labels WHERE comment_id IN ({list}) ORDER BY labelled_at"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(label_from_row(&r)?);
            }
        }
        Ok(out)
    }

    async fn list_labels(&self, f: &LabelFilter) -> Result<Vec<LabelRow>> {
        let mut sql = format!("SELECT {LABEL_COLUMNS} FROM labels WHERE labelled_at >= $1");
        if f.account.is_some() {
            sql.push_str(" AND account_id = $2");
        }
        sql.push_str(" ORDER BY labelled_at, comment_id, person");
        let mut q = sqlx::query(&sql).bind(f.since_ms.unwrap_or(0));
        if let Some(a) = &f.account {
            q = q.bind(a.as_str());
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(label_from_row)
            .collect()
    }

    async fn purge_labels(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM labels WHERE labelled_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}
