//! The admin listener: metrics, the admin API and the review page. Never exposed publicly.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Settings;
use crate::graph::GraphClient;
use crate::pipeline::RulesRegistry;
use crate::store::Store;

pub mod stories;

#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub rules: Arc<RulesRegistry>,
    pub graph: Arc<GraphClient>,
    pub metrics: PrometheusHandle,
    /// Wakes the action executor (after an undo is planned).
    pub actions_wake: Arc<tokio::sync::Notify>,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/stories", get(stories::stories))
        .with_state(state)
}

async fn metrics(State(state): State<AdminState>) -> Response {
    if let Ok(stats) = state.store.inbox_stats().await {
        metrics::gauge!("commentguard_inbox_pending").set(stats.pending as f64);
        metrics::gauge!("commentguard_inbox_failed").set(stats.failed as f64);
        let age = stats
            .oldest_pending_received_at
            .map(|t| (crate::store::now_ms() - t).max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        metrics::gauge!("commentguard_inbox_oldest_age_seconds").set(age);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
