//! When a story's snapshots are due. Pure functions over unix milliseconds.
//!
//! A story expires 24 hours after it is posted. Snapshots are taken:
//! - at its first sighting and at each poll while its numbers can be read (not after a "not
//!   enough viewers" answer: that story waits for its next scheduled time);
//! - at fixed times before expiry, [`DUE_BEFORE_EXPIRY`] (60, 20 and 5 minutes before), which
//!   are stored in the database as the story's `next_snapshot_at`. A snapshot taken at or after
//!   a due time counts for it, so the due times are never missed and never doubled.
//!
//! The 60-minute due time guarantees a snapshot in the last hour even when the poll interval is
//! longer than an hour or the service was down; the later ones catch the growth in the last
//! minutes and give failed attempts more chances.

use std::time::Duration;

/// How long a story's insights can be read.
pub const STORY_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The window in which a last snapshot must exist.
pub const LAST_WINDOW: Duration = Duration::from_secs(3600);
/// Snapshot due times, before expiry, latest last.
pub const DUE_BEFORE_EXPIRY: [Duration; 3] = [
    Duration::from_secs(60 * 60),
    Duration::from_secs(20 * 60),
    Duration::from_secs(5 * 60),
];
/// After a transient error or a rate limit, try again this soon at the earliest.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

pub fn expires_at(posted_at: i64) -> i64 {
    posted_at + ms(STORY_LIFETIME)
}

/// The first scheduled due time strictly after `after`, if one is left before expiry.
pub fn next_due(expires_at: i64, after: i64) -> Option<i64> {
    DUE_BEFORE_EXPIRY
        .iter()
        .map(|d| expires_at - ms(*d))
        .find(|t| *t > after)
}

/// The next attempt after a transient error at `now`: after `wait` (at least [`RETRY_AFTER`]),
/// but no later than the next scheduled time, and never after expiry.
pub fn retry_at(expires_at: i64, now: i64, wait: Duration) -> Option<i64> {
    let retry = now + ms(wait.max(RETRY_AFTER));
    let next = match next_due(expires_at, now) {
        Some(due) => Some(retry.min(due)),
        None => Some(retry),
    };
    next.filter(|t| *t < expires_at)
}

/// Whether a story whose last successful read was `last_read` is covered for its last hour.
pub fn has_last_snapshot(expires_at: i64, last_read: Option<i64>) -> bool {
    last_read.is_some_and(|t| t >= expires_at - ms(LAST_WINDOW) && t < expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn due_times_approach_expiry() {
        let exp = 24 * 60 * MIN;
        assert_eq!(next_due(exp, 0), Some(exp - 60 * MIN));
        assert_eq!(next_due(exp, exp - 60 * MIN), Some(exp - 20 * MIN));
        assert_eq!(next_due(exp, exp - 30 * MIN), Some(exp - 20 * MIN));
        assert_eq!(next_due(exp, exp - 20 * MIN), Some(exp - 5 * MIN));
        assert_eq!(next_due(exp, exp - 5 * MIN), None);
    }

    #[test]
    fn retries_never_skip_a_due_time_nor_pass_expiry() {
        let exp = 24 * 60 * MIN;
        assert_eq!(retry_at(exp, 0, Duration::ZERO), Some(MIN));
        assert_eq!(
            retry_at(exp, exp - 62 * MIN, Duration::from_secs(3600)),
            Some(exp - 60 * MIN)
        );
        assert_eq!(
            retry_at(exp, exp - 2 * MIN, Duration::ZERO),
            Some(exp - MIN)
        );
        assert_eq!(retry_at(exp, exp - MIN / 2, Duration::ZERO), None);
    }

    #[test]
    fn last_snapshot_window() {
        let exp = 24 * 60 * MIN;
        assert!(has_last_snapshot(exp, Some(exp - 60 * MIN)));
        assert!(!has_last_snapshot(exp, Some(exp - 61 * MIN)));
        assert!(!has_last_snapshot(exp, None));
    }
}
