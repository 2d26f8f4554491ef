//! The admin API under `/api/v1`: the moderation log, undo, loaded rules and dead letters.
//! Every route sits behind [`super::auth::require_bearer`].

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::undo::{plan_unhide, UndoSource};
use super::view::decision_json;
use super::AdminState;
use crate::config::parse_duration;
use crate::store::{now_ms, DecisionFilter};

pub fn router(state: AdminState) -> Router<AdminState> {
    Router::new()
        .route("/api/v1/decisions", get(decisions))
        .route("/api/v1/decisions/{comment_id}", get(decision))
        .route("/api/v1/comments/{comment_id}/unhide", post(unhide))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/dead-letters", get(dead_letters))
        .route("/api/v1/stories", get(super::stories::stories))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_bearer,
        ))
}

/// Query of `GET /api/v1/decisions` (and of the review page).
#[derive(Debug, Default, Deserialize)]
pub struct DecisionQuery {
    /// A duration back from now (`1h`, `7d`) or an RFC 3339 time.
    pub since: Option<String>,
    pub rule: Option<String>,
    pub action: Option<String>,
    pub account: Option<String>,
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl DecisionQuery {
    pub fn filter(&self, default_limit: i64) -> Result<DecisionFilter, ApiError> {
        let since_ms = match non_empty(&self.since) {
            None => None,
            Some(s) => Some(match parse_duration(&s) {
                Ok(d) => now_ms() - d.as_millis().min(i64::MAX as u128) as i64,
                Err(_) => humantime::parse_rfc3339_weak(&s)
                    .map_err(|_| {
                        ApiError::BadRequest(format!(
                            "since={s:?}: expected a duration (1h, 7d) or an RFC 3339 time"
                        ))
                    })?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0),
            }),
        };
        let before_id = match non_empty(&self.cursor) {
            None => None,
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| ApiError::BadRequest(format!("cursor={c:?} is not a cursor")))?,
            ),
        };
        Ok(DecisionFilter {
            since_ms,
            rule: non_empty(&self.rule),
            action: non_empty(&self.action),
            account: non_empty(&self.account),
            before_id,
            limit: self.limit.unwrap_or(default_limit).clamp(1, 500),
            ..Default::default()
        })
    }
}

/// `{"decisions": [...], "next_cursor": "..." | null}`, newest first.
async fn decisions(
    State(state): State<AdminState>,
    Query(q): Query<DecisionQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = q.filter(100)?;
    let rows = state.store.list_decisions(&filter).await?;
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| rows.last().map(|d| d.id.to_string()))
        .flatten();
    Ok(Json(json!({
        "decisions": rows.iter().map(decision_json).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// The decision about one comment (the newest, when it was both a comment and a mention).
async fn decision(
    State(state): State<AdminState>,
    Path(comment_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rows = state
        .store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.clone()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    let d = rows
        .first()
        .ok_or_else(|| ApiError::NotFound(format!("no decision for comment {comment_id}")))?;
    Ok(Json(decision_json(d)))
}

/// Plans the unhide: 202 with the action id; the executor carries it out.
async fn unhide(
    State(state): State<AdminState>,
    Path(comment_id): Path<String>,
) -> Result<Response, ApiError> {
    let planned = plan_unhide(
        state.store.as_ref(),
        &state.settings,
        &comment_id,
        UndoSource::Api,
    )
    .await?;
    if !planned.already_planned {
        state.actions_wake.notify_one();
    }
    Ok((StatusCode::ACCEPTED, Json(planned)).into_response())
}

/// Loaded rule sets, and per rule the matches seen in the moderation log in the last hour and
/// day (from at most the newest 1000 decisions of the day; `sampled` says when that cap was hit).
async fn rules(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    const CAP: i64 = 1000;
    let sets: Vec<Value> = state
        .rules
        .handles()
        .into_iter()
        .map(|(account, h)| {
            let set = h.current();
            let last = h.last_reload().map(|r| {
                json!({
                    "at_ms": r.at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0),
                    "ok": r.ok(),
                    "errors": r.errors,
                })
            });
            json!({
                "account": account,
                "dir": h.dir().display().to_string(),
                "rules": set.len(),
                "loaded": set.rules(),
                "last_reload": last,
                "reloads_ok": h.reloads_succeeded(),
                "reloads_failed": h.reloads_failed(),
            })
        })
        .collect();
    let now = now_ms();
    let day = state
        .store
        .list_decisions(&DecisionFilter {
            since_ms: Some(now - 24 * 3600 * 1000),
            limit: CAP,
            ..Default::default()
        })
        .await?;
    let mut hits: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for d in &day {
        for r in &d.rules {
            let e = hits.entry(r.clone()).or_default();
            e.1 += 1;
            if d.decided_at >= now - 3600 * 1000 {
                e.0 += 1;
            }
        }
    }
    let total = day.len().max(1) as f64;
    let hits: Vec<Value> = hits
        .into_iter()
        .map(|(rule, (hour, day_n))| {
            json!({"rule": rule, "matches_last_hour": hour, "matches_last_day": day_n,
                   "share_last_day": day_n as f64 / total})
        })
        .collect();
    Ok(Json(json!({
        "rule_sets": sets,
        "hits": hits,
        "decisions_last_day": day.len(),
        "sampled": day.len() as i64 == CAP,
    })))
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

async fn dead_letters(
    State(state): State<AdminState>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let rows = state
        .store
        .dead_letters(q.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(json!({ "dead_letters": rows })))
}
