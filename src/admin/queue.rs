//! The size of the "Needs review" queue per account, for the gauge
//! `commentguard_review_queue_size`.

use std::collections::BTreeMap;

use super::AdminState;

/// How many comments wait in "Needs review" per account (of the last 500 decisions, as the
/// page reads them unfiltered), for the `commentguard_review_queue_size` gauge.
pub(super) async fn sizes(state: &AdminState) -> crate::store::Result<BTreeMap<String, usize>> {
    let rows = state
        .store
        .list_decisions(&crate::store::DecisionFilter {
            limit: 500,
            ..Default::default()
        })
        .await?;
    let ids: Vec<String> = rows.iter().map(|d| d.comment_id.clone()).collect();
    let labels = state.store.labels_for(&ids).await?;
    let mut sizes: BTreeMap<String, usize> = state
        .settings
        .accounts
        .keys()
        .map(|a| (a.clone(), 0))
        .collect();
    for (d, _) in crate::moderation::unsure::queue(
        &rows,
        |a| state.rules.for_account(a),
        |d| {
            labels
                .iter()
                .any(|l| l.comment_id == d.comment_id && l.kind == d.kind.as_str())
        },
    ) {
        *sizes.entry(d.account_id.clone()).or_default() += 1;
    }
    // An account whose queue emptied since the last reading reads 0, not its old size.
    static SEEN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut seen = SEEN.lock().expect("queue accounts lock");
    for a in seen.iter() {
        sizes.entry(a.clone()).or_default();
    }
    seen.extend(sizes.keys().cloned());
    Ok(sizes)
}
