//! Story insights: keep every story's numbers before Meta forgets them.
//!
//! A story's insights can be read through the Graph API only for 24 hours after it is posted.
//! This module owns:
//! - [`metrics`]: the metric names to ask for, by API version, and parsing of the answers and
//!   of the `story_insights` notification (counts under 5 stay [`Count::FewerThanFive`]);
//! - [`schedule`]: when snapshots are due (pure functions over times);
//! - [`poller`]: lists each account's stories and takes the due snapshots, with the schedule
//!   kept in the database so that it survives restarts;
//! - [`export`]: the rows of `commentguard insights export` and the admin API.
//!
//! It knows nothing of HTTP: Graph calls go through the [`poller::StorySource`] trait (the
//! shared [`crate::graph::GraphClient`] in production), storage through [`crate::store::StoryStore`].

pub mod export;
pub mod metrics;
pub mod poller;
pub mod schedule;

pub use metrics::{Count, Metrics};
pub use poller::{Poller, StorySource};

use serde_json::Value;

use crate::store::{NewStoryFinal, StoreError, StoryStore};

/// What a `story_insights` notification became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalOutcome {
    Stored,
    /// Already stored (a redelivery): nothing changed.
    Duplicate,
    /// No `media_id`: nothing to attach the counts to.
    Invalid,
}

/// Stores the final counts of a `story_insights` notification's `value`, once per story.
pub async fn record_final(
    store: &dyn StoryStore,
    account_id: &str,
    value: &Value,
    now: i64,
) -> Result<FinalOutcome, StoreError> {
    let Some(story_id) = crate::inbox::change::id_string(value.get("media_id")) else {
        return Ok(FinalOutcome::Invalid);
    };
    let metrics = metrics::parse_final(value);
    let stored = store
        .record_story_final(&NewStoryFinal {
            story_id,
            account_id: account_id.to_string(),
            received_at: now,
            metrics: serde_json::to_string(&metrics).unwrap_or_else(|_| "{}".into()),
            raw: value.to_string(),
        })
        .await?;
    Ok(if stored {
        FinalOutcome::Stored
    } else {
        FinalOutcome::Duplicate
    })
}
