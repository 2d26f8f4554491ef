//! Labels: what people say of a decided comment ("Spam", "Not spam"; an undo counts as "Not
//! spam"), kept in [`crate::store::LabelStore`], and how well the moderation agreed with them
//! over the last week (the review page's figures and the agreement gauges).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::store::{now_ms, DecisionFilter, Label, LabelFilter, NewLabel, Store};

/// The window of the agreement figures.
pub const AGREEMENT_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// Stores `person`'s label on the decided comment (`kind`: `None` for any kind), with its
/// text and author. `false` when the log has no such decision.
pub async fn record(
    store: &dyn Store,
    comment_id: &str,
    kind: &str,
    label: Label,
    person: &str,
    source: &str,
) -> crate::store::Result<bool> {
    let rows = store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.to_string()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    let Some(d) = rows
        .iter()
        .find(|d| kind.is_empty() || d.kind.as_str() == kind)
    else {
        return Ok(false);
    };
    store
        .set_label(&NewLabel {
            comment_id: d.comment_id.clone(),
            kind: d.kind.as_str().to_string(),
            account_id: d.account_id.clone(),
            person: person.to_string(),
            label,
            source: source.to_string(),
            text: d.text.clone(),
            author: d.author.clone(),
            at: now_ms(),
        })
        .await?;
    Ok(true)
}

/// How the moderation agreed with people's labels: precision (of the labelled comments it
/// hid, the share people call spam) and recall (of those people call spam, the share it hid).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Agreement {
    pub labels: usize,
    pub spam: usize,
    pub not_spam: usize,
    /// Hidden (or deleted) and labelled spam.
    pub agreed_hidden: usize,
    /// Hidden but labelled not spam: customers silenced.
    pub hidden_not_spam: usize,
    /// Labelled spam but left visible: scams missed.
    pub missed_spam: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// The agreement over labels given since `since` (one per comment: the latest label wins).
pub async fn agreement(store: &dyn Store, since: i64) -> crate::store::Result<Agreement> {
    let labels = store
        .list_labels(&LabelFilter {
            since_ms: Some(since),
            account: None,
        })
        .await?;
    let mut latest: BTreeMap<(String, String), Label> = BTreeMap::new();
    for l in &labels {
        latest.insert((l.comment_id.clone(), l.kind.clone()), l.label);
    }
    let mut a = Agreement {
        labels: latest.len(),
        ..Default::default()
    };
    let ids: Vec<String> = latest
        .keys()
        .map(|(c, _)| c.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(2000)
        .collect();
    // One query per 500 comments (a comment has at most a comment and a mention decision).
    for chunk in ids.chunks(500) {
        let rows = store
            .list_decisions(&DecisionFilter {
                comment_ids: chunk.to_vec(),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        for d in rows {
            let Some(label) = latest.get(&(d.comment_id.clone(), d.kind.as_str().to_string()))
            else {
                continue;
            };
            let hidden = d.actions.iter().any(|a| a == "hide" || a == "delete")
                && super::undo::undo_of(&d).is_none();
            match (label, hidden) {
                (Label::Spam, true) => a.agreed_hidden += 1,
                (Label::Spam, false) => a.missed_spam += 1,
                (Label::NotSpam, true) => a.hidden_not_spam += 1,
                (Label::NotSpam, false) => {}
            }
            match label {
                Label::Spam => a.spam += 1,
                Label::NotSpam => a.not_spam += 1,
            }
        }
    }
    let hidden = a.agreed_hidden + a.hidden_not_spam;
    a.precision = (hidden > 0).then(|| a.agreed_hidden as f64 / hidden as f64);
    a.recall = (a.spam > 0).then(|| a.agreed_hidden as f64 / a.spam as f64);
    metrics::gauge!("commentguard_labels_week").set(a.labels as f64);
    if let Some(p) = a.precision {
        metrics::gauge!("commentguard_label_agreement_precision").set(p);
    }
    if let Some(r) = a.recall {
        metrics::gauge!("commentguard_label_agreement_recall").set(r);
    }
    Ok(a)
}
