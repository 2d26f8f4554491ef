//! `GET /api/v1/stories?since=&account=&limit=`: tracked stories, each with where its snapshot
//! schedule stands, its latest snapshot and its final counts.
//!
//! A plain handler: the admin router mounts it (behind the admin API's bearer auth).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AdminState;
use crate::insights::export;
use crate::store::{now_ms, StoryFilter};

#[derive(Debug, Default, Deserialize)]
pub struct StoriesQuery {
    /// Stories posted within this period (`24h`, `7d`).
    pub since: Option<String>,
    pub account: Option<String>,
    /// At most this many stories (default 100, at most 1000).
    pub limit: Option<i64>,
}

pub async fn stories(
    State(state): State<AdminState>,
    Query(q): Query<StoriesQuery>,
) -> (StatusCode, Json<Value>) {
    let since_ms = match q.since.as_deref().map(crate::config::parse_duration) {
        None => None,
        Some(Ok(d)) => Some(now_ms() - d.as_millis() as i64),
        Some(Err(e)) => return (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))),
    };
    let filter = StoryFilter {
        since_ms,
        account: q.account.filter(|a| !a.is_empty()),
        story_id: None,
        limit: q.limit.filter(|l| *l > 0).unwrap_or(100).min(1000),
    };
    match export::overview(state.store.as_ref(), &filter).await {
        Ok(stories) => (StatusCode::OK, Json(json!({ "stories": stories }))),
        Err(e) => {
            tracing::error!(error = %e, "listing stories failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "the database did not answer" })),
            )
        }
    }
}
