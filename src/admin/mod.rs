//! The admin listener: metrics, the admin API and the review page. Never exposed publicly.
//!
//! `/metrics` answers without a token (Prometheus scrapes it from inside the network); every
//! `/api/` path wants the admin bearer token; `/review` wants a session made from it.

pub mod api;
pub mod auth;
pub mod by_hand;
pub mod card;
pub mod error;
mod filters;
mod health;
mod honest;
pub mod kit;
pub mod labels;
pub mod links;
pub mod people;
mod queue;
pub mod replay;
pub mod replies;
pub mod review;
pub mod rules_view;
pub mod settle;
pub mod sign_in;
pub use crate::moderation::undo;
pub mod view;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Settings;
use crate::graph::GraphClient;
use crate::pipeline::{RuleMonitor, RulesRegistry};
use crate::store::Store;

pub mod stories;
pub mod try_comment;

#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub rules: Arc<RulesRegistry>,
    /// Rule statistics and auto-shadowed rules.
    pub monitor: Arc<RuleMonitor>,
    pub graph: Arc<GraphClient>,
    pub metrics: PrometheusHandle,
    /// Wakes the action executor (after an undo is planned).
    pub actions_wake: Arc<tokio::sync::Notify>,
    /// The accounts' webhook subscriptions as last checked.
    pub subscriptions: Arc<crate::link::health::SubscriptionWatch>,
    /// The accounts' tokens as last inspected.
    pub tokens: Arc<crate::link::tokens::TokenWatch>,
    /// Failed review-page sign-ins per name ([`people::SignInLimiter`]).
    pub sign_ins: Arc<people::SignInLimiter>,
    /// Accounts' usernames and posts' permalinks, asked of the Graph API once.
    pub links: Arc<links::Links>,
    /// Signs review-page sessions: made at the first start and kept in the database
    /// ([`crate::store::PeopleStore::session_key`]), so it is the same on every instance.
    pub session_key: crate::secret::Secret,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(|| async { Redirect::to("/review") }))
        .merge(api::router(state.clone()))
        .merge(review::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            honest::banners,
        )))
        .with_state(state)
}

/// Gauges that describe the database are set here, when Prometheus asks, so they are never
/// stale and cost nothing between scrapes.
async fn metrics(State(state): State<AdminState>) -> Response {
    match state.store.inbox_stats().await {
        Ok(stats) => {
            metrics::gauge!("commentguard_inbox_pending").set(stats.pending as f64);
            metrics::gauge!("commentguard_inbox_failed").set(stats.failed as f64);
            let age = stats
                .oldest_pending_received_at
                .map(|t| (crate::store::now_ms() - t).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            metrics::gauge!("commentguard_inbox_oldest_age_seconds").set(age);
            metrics::gauge!("commentguard_database_up").set(1.0);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database does not answer");
            metrics::gauge!("commentguard_database_up").set(0.0);
        }
    }
    // How far behind the action executor is: 0 when nothing is due, else how long the
    // earliest pending action has been due (a growing value means calls are not going out).
    if let Ok(due) = state.store.next_action_due().await {
        let now = crate::store::now_ms();
        let overdue = due.map(|d| (now - d).max(0) as f64 / 1000.0).unwrap_or(0.0);
        metrics::gauge!("commentguard_actions_overdue_seconds").set(overdue);
    }
    // The review queue's size: what a person still has to settle.
    if let Ok(sizes) = queue::sizes(&state).await {
        for (account, n) in sizes {
            metrics::gauge!("commentguard_review_queue_size", "account" => account).set(n as f64);
        }
    }
    state.rules.publish_metrics();
    metrics::gauge!("commentguard_rules_loaded").set(state.rules.for_account("").len() as f64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
