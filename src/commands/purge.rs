//! Retention: comment texts older than the retention period are removed from the moderation
//! log; the decisions themselves (who, when, which rule, what was done) are kept.
//!
//! `commentguard purge` does it on demand; the service runs [`run_periodically`] hourly.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::admin::view::iso_time;
use crate::config::{parse_duration, Settings};
use crate::store::{now_ms, SqlStore, Store};

/// How often the service purges.
pub const INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Remove texts of decisions older than this; default: the `retention` setting (30d).
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Option<Duration>,
}

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

pub async fn run(settings: Settings, args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let retention = args.older_than.unwrap_or(settings.retention);
    let (before, n) = purge_once(&store, retention).await?;
    println!(
        "removed the text of {n} decisions decided before {}",
        iso_time(before)
    );
    let labels = purge_labels_once(&store, settings.label_retention).await?;
    println!(
        "removed {labels} labels older than COMMENTGUARD_LABEL_RETENTION (labels keep their text until then)"
    );
    Ok(ExitCode::SUCCESS)
}
