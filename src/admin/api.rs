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
use crate::pipeline::monitor::{RuleCounts, ScopeStats};
use crate::store::{now_ms, AutoShadow, DecisionFilter};

pub fn router(state: AdminState) -> Router<AdminState> {
    Router::new()
        .route("/api/v1/decisions", get(decisions))
        .route("/api/v1/decisions/{comment_id}", get(decision))
        .route("/api/v1/comments/{comment_id}/unhide", post(unhide))
        .route("/api/v1/rules", get(rules))
        .route(
            "/api/v1/rules/{rule_id}/clear-auto-shadow",
            post(clear_auto_shadow),
        )
        .route("/api/v1/dead-letters", get(dead_letters))
        .route("/api/v1/status", get(status))
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
        None,
    )
    .await?;
    if !planned.already_planned {
        state.actions_wake.notify_one();
    }
    // An undo says the comment was fine: "Not spam", by whoever holds the admin token.
    super::labels::record(
        state.store.as_ref(),
        &comment_id,
        "",
        crate::store::Label::NotSpam,
        "api",
        "undo",
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(planned)).into_response())
}

/// Loaded rule sets; per rule its matches in the last hour and day and their share of the
/// decisions in that window (computed every `rule_stats_interval` from the whole moderation
/// log), and whether it was switched to shadow automatically, and why.
async fn rules(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let view = state.monitor.view();
    let empty = ScopeStats::default();
    let mut hits: BTreeMap<String, RuleCounts> = BTreeMap::new();
    let (mut decisions_hour, mut decisions_day) = (0, 0);
    for stats in view.scopes.values() {
        decisions_hour += stats.decisions_last_hour;
        decisions_day += stats.decisions_last_day;
        for (rule, c) in &stats.rules {
            let e = hits.entry(rule.clone()).or_default();
            e.matches_last_hour += c.matches_last_hour;
            e.matches_last_day += c.matches_last_day;
        }
    }
    let sets: Vec<Value> = state
        .rules
        .handles()
        .into_iter()
        .map(|(account, h)| {
            let set = h.current();
            let scope = account.unwrap_or("");
            let stats = view.scopes.get(scope).unwrap_or(&empty);
            let last = h.last_reload().map(|r| {
                json!({
                    "at_ms": r.at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0),
                    "ok": r.ok(),
                    "errors": r.errors,
                })
            });
            let loaded: Vec<Value> = set
                .rules()
                .into_iter()
                .map(|info| {
                    let counts = stats.rules.get(&info.id).copied().unwrap_or_default();
                    let (share_hour, share_day) = stats.shares(&info.id);
                    let auto = view.auto_shadow(scope, &info.id);
                    let mut v = serde_json::to_value(&info).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut v {
                        m.insert("matches_last_hour".into(), json!(counts.matches_last_hour));
                        m.insert("matches_last_day".into(), json!(counts.matches_last_day));
                        m.insert("share_last_hour".into(), json!(share_hour));
                        m.insert("share_last_day".into(), json!(share_day));
                        m.insert("auto_shadowed".into(), json!(auto.is_some()));
                        m.insert(
                            "effective_mode".into(),
                            json!(if auto.is_some() { "shadow" } else { info.mode.as_str() }),
                        );
                        m.insert("auto_shadow".into(), auto.map_or(Value::Null, auto_shadow_json));
                    }
                    v
                })
                .collect();
            json!({
                "account": account,
                "dir": h.dir().display().to_string(),
                "rules": set.len(),
                "loaded": loaded,
                "decisions_last_hour": stats.decisions_last_hour,
                "decisions_last_day": stats.decisions_last_day,
                "last_reload": last,
                "reloads_ok": h.reloads_succeeded(),
                "reloads_failed": h.reloads_failed(),
            })
        })
        .collect();
    let share = |n: i64, total: i64| {
        if total > 0 {
            n as f64 / total as f64
        } else {
            0.0
        }
    };
    let hits: Vec<Value> = hits
        .into_iter()
        .map(|(rule, c)| {
            json!({"rule": rule, "matches_last_hour": c.matches_last_hour,
                   "matches_last_day": c.matches_last_day,
                   "share_last_hour": share(c.matches_last_hour, decisions_hour),
                   "share_last_day": share(c.matches_last_day, decisions_day)})
        })
        .collect();
    Ok(Json(json!({
        "rule_sets": sets,
        "hits": hits,
        "decisions_last_hour": decisions_hour,
        "decisions_last_day": decisions_day,
        "stats_computed_at_ms": view.computed_at,
    })))
}

fn auto_shadow_json(a: &AutoShadow) -> Value {
    let share = if a.decisions > 0 {
        a.matches as f64 / a.decisions as f64
    } else {
        0.0
    };
    json!({
        "reason": format!(
            "edited rule matched {} of {} comments ({:.1}%) in {} min; shadowed until it is edited again or an operator clears it",
            a.matches, a.decisions, share * 100.0, a.window_ms / 60_000
        ),
        "share": share,
        "matches": a.matches,
        "decisions": a.decisions,
        "window_ms": a.window_ms,
        // When this version of the rule was first seen (the old name is kept for scripts).
        "file_mtime_ms": a.file_mtime,
        "edited_at_ms": a.file_mtime,
        "at_ms": a.at,
    })
}

#[derive(Debug, Deserialize)]
struct ScopeQuery {
    /// The account whose own rules folder holds the rule; every folder when absent.
    account: Option<String>,
}

/// Puts an auto-shadowed rule back into enforcement: the operator vouches for the rule's
/// current version, which is not switched again until it is edited.
async fn clear_auto_shadow(
    State(state): State<AdminState>,
    Path(rule_id): Path<String>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = non_empty(&q.account).map(|a| state.rules.scope_for(&a).to_string());
    let cleared = state
        .store
        .clear_auto_shadow(&rule_id, scope.as_deref(), now_ms())
        .await?;
    if cleared == 0 {
        return Err(ApiError::NotFound(format!(
            "rule {rule_id} is not auto-shadowed"
        )));
    }
    tracing::info!(rule.id = %rule_id, cleared, "RuleAutoShadowCleared: an operator put the rule back into enforcement");
    // This instance enforces it again at once; the others at their next refresh.
    if let Err(e) = state.monitor.refresh().await {
        tracing::warn!(error = %e, "rule statistics not refreshed after a clear");
    }
    Ok(Json(json!({ "rule": rule_id, "cleared": cleared })))
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

/// Per account: the webhook subscription as last checked, when its last notification came,
/// and what the last sweeps found that no webhook had announced.
async fn status(State(state): State<AdminState>) -> Result<Json<Value>, ApiError> {
    let subscriptions = state.subscriptions.snapshot();
    let sweeps = state.store.sweeps().await?;
    let mut accounts: BTreeMap<String, Value> = BTreeMap::new();
    for id in state.settings.polled_accounts() {
        accounts.insert(
            id.clone(),
            json!({"account_id": id, "has_token": state.settings.token_for(&id).is_some()}),
        );
    }
    for s in subscriptions {
        let entry = accounts
            .entry(s.account_id.clone())
            .or_insert_with(|| json!({"account_id": s.account_id}));
        entry["subscription"] = json!({
            "checked_at": super::view::iso_time(s.checked_at),
            "page_id": s.page_id,
            "app_installed": s.app_installed,
            "subscribed": s.subscribed,
            "missing": s.missing,
            "complete": s.error.is_none() && s.missing.is_empty(),
            "error": s.error,
        });
    }
    let now_s = crate::store::now_ms() / 1000;
    for t in state.tokens.snapshot() {
        let entry = accounts
            .entry(t.account_id.clone())
            .or_insert_with(|| json!({"account_id": t.account_id}));
        entry["token"] = json!({
            "checked_at": super::view::iso_time(t.checked_at),
            "valid": t.valid,
            "type": t.kind,
            "lapses_at": t.lapses_at.map(|s| super::view::iso_time(s * 1000)),
            "lapses_in_days": t.lapses_at.map(|s| (s - now_s) / 86400),
            "missing_scopes": t.missing_scopes,
            "problem": t.problem(now_s),
            "error": t.error,
        });
    }
    for run in sweeps {
        let entry = accounts
            .entry(run.account_id.clone())
            .or_insert_with(|| json!({"account_id": run.account_id}));
        let list = entry
            .as_object_mut()
            .expect("an object")
            .entry("sweeps")
            .or_insert_with(|| json!([]));
        list.as_array_mut().expect("an array").push(json!({
            "scope": run.scope,
            "started_at": super::view::iso_time(run.started_at),
            "finished_at": run.finished_at.map(super::view::iso_time),
            "media_done": run.media_done,
            "comments_seen": run.comments_seen,
            "unannounced": run.queued,
        }));
    }
    let app = state.subscriptions.app().map(|a| {
        json!({
            "checked_at": super::view::iso_time(a.checked_at),
            "app_id": a.app_id,
            "active": a.active,
            "callback_url": a.callback_url,
            "fields": a.fields,
            "missing": a.missing,
            "error": a.error,
        })
    });
    Ok(Json(json!({
        "instance_id": state.settings.instance_id,
        "app": app,
        "accounts": accounts.into_values().collect::<Vec<_>>(),
    })))
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
