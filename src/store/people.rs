//! People: who signs in to the review page with a password of their own, and in which role.
//! The password is kept only as an argon2 hash (made and checked in [`crate::moderation::people`]);
//! this room stores and finds the rows.
//!
//! Owns the `people` table; reads nothing else.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::SqlStore;
use super::{Result, StoreError};

/// What a person may do on the review page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Moderates: labels, undoes, hides, replies, deletes, tries comments.
    Reviewer,
    /// Also clears auto-shadow and reads the dead letters.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A person as stored. `Debug` leaves the hash out.
#[derive(Clone)]
pub struct Person {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: i64,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// Adds a person, or with `replace` sets a new role and password for one who exists.
    /// Without `replace`, a name that exists is [`StoreError::Invalid`].
    async fn put_person(&self, p: &Person, replace: bool) -> Result<()>;

    /// The person of that name (names are compared as given; the CLI stores them trimmed).
    async fn person(&self, name: &str) -> Result<Option<Person>>;

    async fn list_people(&self) -> Result<Vec<Person>>;

    /// Removes a person; their sessions end at their next request. True if they existed.
    async fn remove_person(&self, name: &str) -> Result<bool>;

    /// The key that signs review-page sessions: `fresh` is stored the first time, and every
    /// later call (from any instance) returns what was stored first.
    async fn session_key(&self, fresh: &str) -> Result<String>;
}

fn person_from_row(r: &AnyRow) -> Result<Person> {
    let role: String = r.try_get("role")?;
    Ok(Person {
        name: r.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Invalid(format!("people: unknown role {role:?}")))?,
        password_hash: r.try_get("password_hash")?,
        created_at: r.try_get("created_at")?,
    })
}

#[async_trait]
impl PeopleStore for SqlStore {
    async fn put_person(&self, p: &Person, replace: bool) -> Result<()> {
        let sql = if replace {
            "INSERT INTO people (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash"
        } else {
            "INSERT INTO people (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING"
        };
        let n = sqlx::query(sql)
            .bind(&p.name)
            .bind(p.role.as_str())
            .bind(&p.password_hash)
            .bind(p.created_at)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "{} already exists (give --replace to set a new password and role)",
                p.name
            )));
        }
        Ok(())
    }

    async fn person(&self, name: &str) -> Result<Option<Person>> {
        sqlx::query("SELECT name, role, password_hash, created_at FROM people WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(person_from_row)
            .transpose()
    }

    async fn list_people(&self) -> Result<Vec<Person>> {
        sqlx::query("SELECT name, role, password_hash, created_at FROM people ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(person_from_row)
            .collect()
    }

    async fn session_key(&self, fresh: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO service_keys (name, value) VALUES ('session', $1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(fresh)
        .execute(&self.writer)
        .await?;
        let row = sqlx::query("SELECT value FROM service_keys WHERE name = 'session'")
            .fetch_one(&self.writer)
            .await?;
        Ok(row.try_get("value")?)
    }

    async fn remove_person(&self, name: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM people WHERE name = $1")
            .bind(name)
            .execute(&self.writer)
            .await?
            .rows_affected()
            > 0)
    }
}
