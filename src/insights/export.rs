//! What `commentguard insights export` and `GET /api/v1/stories` show: a row per snapshot and
//! one per story's final counts, with "fewer than 5" shown as `<5`.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use super::metrics::Metrics;
use crate::store::{Result, SnapshotRow, StoryFilter, StoryFinalRow, StoryRow, StoryStore};

/// Metric columns shown first, in this order; any other metric follows by name.
const PREFERRED: &[&str] = &[
    "reach",
    "views",
    "impressions",
    "replies",
    "shares",
    "total_interactions",
    "follows",
    "profile_visits",
    "navigation",
    "exits",
    "taps_forward",
    "taps_back",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// Read through the Graph API while the story was live.
    Snapshot,
    /// Sent by Meta in a `story_insights` notification after the story expired.
    Final,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Snapshot => "snapshot",
            RowKind::Final => "final",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub kind: RowKind,
    pub account_id: String,
    pub story_id: String,
    /// Unknown for a story that was never polled (only its final counts arrived).
    pub posted_at: Option<String>,
    pub expires_at: Option<String>,
    /// When the snapshot was taken or the final counts were received.
    pub at: String,
    /// `ok`, `not_enough_viewers` or `error` for a snapshot; `final` for final counts.
    pub status: String,
    pub error: Option<String>,
    pub metrics: Metrics,
}

/// RFC 3339, seconds, UTC.
pub fn format_ms(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn metrics_of(v: &serde_json::Value) -> Metrics {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Every snapshot and final row matching `filter`, ordered by time.
pub async fn rows(store: &dyn StoryStore, filter: &StoryFilter) -> Result<Vec<ExportRow>> {
    let snapshots = store.list_story_snapshots(filter).await?;
    let finals = store.list_story_finals(filter).await?;
    let stories = store
        .list_stories(&StoryFilter {
            account: filter.account.clone(),
            story_id: filter.story_id.clone(),
            ..Default::default()
        })
        .await?;
    let by_id: HashMap<&str, &StoryRow> =
        stories.iter().map(|s| (s.story_id.as_str(), s)).collect();
    let mut out: Vec<(i64, ExportRow)> = Vec::new();
    let times = |id: &str| {
        let s = by_id.get(id);
        (
            s.map(|s| format_ms(s.posted_at)),
            s.map(|s| format_ms(s.expires_at)),
        )
    };
    for s in &snapshots {
        let (posted_at, expires_at) = times(&s.story_id);
        out.push((
            s.taken_at,
            ExportRow {
                kind: RowKind::Snapshot,
                account_id: s.account_id.clone(),
                story_id: s.story_id.clone(),
                posted_at,
                expires_at,
                at: format_ms(s.taken_at),
                status: s.status.clone(),
                error: s.error.clone(),
                metrics: metrics_of(&s.metrics),
            },
        ));
    }
    for f in &finals {
        let (posted_at, expires_at) = times(&f.story_id);
        out.push((
            f.received_at,
            ExportRow {
                kind: RowKind::Final,
                account_id: f.account_id.clone(),
                story_id: f.story_id.clone(),
                posted_at,
                expires_at,
                at: format_ms(f.received_at),
                status: "final".into(),
                error: None,
                metrics: metrics_of(&f.metrics),
            },
        ));
    }
    out.sort_by(|a, b| (a.0, &a.1.story_id).cmp(&(b.0, &b.1.story_id)));
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// The metric columns of `rows`: the usual ones first, then the rest by name.
pub fn metric_columns(rows: &[ExportRow]) -> Vec<String> {
    let present: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.metrics.keys().map(String::as_str))
        .collect();
    let mut cols: Vec<String> = PREFERRED
        .iter()
        .filter(|m| present.contains(*m))
        .map(|m| m.to_string())
        .collect();
    for m in present {
        if !PREFERRED.contains(&m) {
            cols.push(m.to_string());
        }
    }
    cols
}

/// CSV with a header; a metric a row lacks is an empty cell, "fewer than 5" is `<5`.
pub fn write_csv(rows: &[ExportRow], out: impl Write) -> csv::Result<()> {
    let cols = metric_columns(rows);
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "kind",
        "account_id",
        "story_id",
        "posted_at",
        "expires_at",
        "at",
        "status",
        "error",
    ];
    header.extend(cols.iter().map(String::as_str));
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![
            r.kind.as_str().to_string(),
            r.account_id.clone(),
            r.story_id.clone(),
            r.posted_at.clone().unwrap_or_default(),
            r.expires_at.clone().unwrap_or_default(),
            r.at.clone(),
            r.status.clone(),
            r.error.clone().unwrap_or_default(),
        ];
        rec.extend(
            cols.iter()
                .map(|c| r.metrics.get(c).map(|v| v.to_string()).unwrap_or_default()),
        );
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// A JSON array of rows.
pub fn write_json(rows: &[ExportRow], mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, rows)?;
    writeln!(out)
}

/// One story for the admin API: where its schedule stands, its latest snapshot and its final
/// counts.
#[derive(Debug, Clone, Serialize)]
pub struct StoryOverview {
    #[serde(flatten)]
    pub story: StoryRow,
    pub latest_snapshot: Option<SnapshotRow>,
    #[serde(rename = "final")]
    pub final_counts: Option<StoryFinalRow>,
}

/// Stories matching `filter` (newest first), each with its latest snapshot and final counts.
pub async fn overview(store: &dyn StoryStore, filter: &StoryFilter) -> Result<Vec<StoryOverview>> {
    let stories = store.list_stories(filter).await?;
    let Some(oldest) = stories.iter().map(|s| s.posted_at).min() else {
        return Ok(Vec::new());
    };
    let related = StoryFilter {
        since_ms: Some(oldest),
        account: filter.account.clone(),
        story_id: filter.story_id.clone(),
        limit: 0,
    };
    let mut latest: HashMap<String, SnapshotRow> = HashMap::new();
    for s in store.list_story_snapshots(&related).await? {
        latest.insert(s.story_id.clone(), s);
    }
    let mut finals: HashMap<String, StoryFinalRow> = store
        .list_story_finals(&related)
        .await?
        .into_iter()
        .map(|f| (f.story_id.clone(), f))
        .collect();
    Ok(stories
        .into_iter()
        .map(|s| StoryOverview {
            latest_snapshot: latest.remove(&s.story_id),
            final_counts: finals.remove(&s.story_id),
            story: s,
        })
        .collect())
}
