//! The service's periodic background jobs, one module each: retention ([`purge`]), the label
//! agreement gauges ([`agreement`]), old rule events ([`prune`]). serve starts them; they
//! stop with its shutdown token.

pub mod agreement;
pub mod prune;
pub mod purge;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `work` now and then every `period` (counted from the end of each run) until `cancel`.
pub async fn every<F, Fut>(period: Duration, cancel: CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        work().await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}
