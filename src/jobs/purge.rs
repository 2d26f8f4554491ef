//! Retention: comment texts older than the retention period are removed from the moderation
//! log (the decisions themselves are kept), and labels older than theirs are deleted. serve
//! runs [`run_periodically`]; `commentguard purge` runs [`purge_once`] on demand.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::moderation::record::iso_time;
use crate::store::{now_ms, Store};

/// How often the service purges.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Purges texts decided more than `retention` ago; returns the cut-off and how many.
pub async fn purge_once(store: &dyn Store, retention: Duration) -> anyhow::Result<(i64, u64)> {
    let before = now_ms() - retention.as_millis().min(i64::MAX as u128) as i64;
    let n = store.purge_texts(before).await?;
    metrics::counter!("commentguard_texts_purged_total").increment(n);
    Ok((before, n))
}

/// Deletes labels (and the texts kept with them) given more than `retention` ago.
pub async fn purge_labels_once(store: &dyn Store, retention: Duration) -> anyhow::Result<u64> {
    let before = now_ms() - retention.as_millis().min(i64::MAX as u128) as i64;
    let n = store.purge_labels(before).await?;
    metrics::counter!("commentguard_labels_purged_total").increment(n);
    Ok(n)
}

/// Purges every [`INTERVAL`] (the first time shortly after start) until `shutdown`.
pub async fn run_periodically(
    store: Arc<dyn Store>,
    retention: Duration,
    label_retention: Duration,
    shutdown: CancellationToken,
) {
    let mut next = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        next += INTERVAL;
        match purge_once(store.as_ref(), retention).await {
            Ok((before, n)) if n > 0 => {
                tracing::info!(purged = n, before = %iso_time(before), "comment texts purged")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "purging comment texts failed; trying again in an hour")
            }
        }
        match purge_labels_once(store.as_ref(), label_retention).await {
            Ok(n) if n > 0 => tracing::info!(
                purged = n,
                "labels past COMMENTGUARD_LABEL_RETENTION deleted"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "purging labels failed; trying again in an hour"),
        }
    }
}
