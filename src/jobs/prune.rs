//! Deletes rule events (what the stateful conditions count: floods, waves, repeat
//! offenders) that no condition can ask about any more, hourly.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::pipeline::registry::RulesRegistry;
use crate::store::{now_ms, Store};

/// Rule events are kept this long, or as far back as the longest stateful condition looks.
const RULE_EVENTS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Deletes rule events no stateful condition can ask about any more, hourly.
pub async fn prune_rule_events_periodically(
    store: Arc<dyn Store>,
    rules: Arc<RulesRegistry>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let longest = rules
            .handles()
            .iter()
            .map(|(_, h)| h.current().state_window())
            .max()
            .unwrap_or(0);
        let keep = (RULE_EVENTS_KEPT.as_millis() as i64).max(longest.saturating_mul(1000));
        match store.prune_rule_events(now_ms() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rule_events.pruned = n, "old rule events pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning rule events failed"),
        }
    }
}
