//! Waiting for something the service does in the background, with a deadline instead of a
//! sleep: polled every 50 ms; past the deadline the test fails with what it last saw.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Ok`; after `within`, fails naming `what` and the last
/// `Err` (what was seen instead).
pub async fn wait_until<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {seen}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
