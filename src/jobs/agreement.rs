//! Keeps the label agreement gauges fresh in /metrics.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::moderation::labels::{agreement, AGREEMENT_WINDOW};
use crate::store::{now_ms, Store};

/// Keeps the agreement gauges fresh in /metrics (every ten minutes).
pub async fn agreement_periodically(store: std::sync::Arc<dyn Store>, cancel: CancellationToken) {
    loop {
        let since = now_ms() - AGREEMENT_WINDOW.as_millis() as i64;
        if let Err(e) = agreement(store.as_ref(), since).await {
            tracing::warn!(error = %e, "label agreement not computed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}
