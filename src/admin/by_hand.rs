//! Hiding a comment by hand from the review page: a comment the rules let through that a
//! person sees is a scam. Like an undo, the hide is planned in the durable action log and the
//! executor carries it out (with its retries and rate-limit handling); it counts as a "Spam"
//! label by that person.

use crate::config::Settings;
use crate::store::{
    now_ms, ActionKind, ActionState, DecisionFilter, DecisionRow, NewAction, Store,
};

#[derive(Debug, thiserror::Error)]
pub enum HideError {
    #[error("no decision is recorded for comment {0}")]
    UnknownComment(String),
    #[error("comment {0} is hidden already")]
    AlreadyHidden(String),
    #[error("comment {0} cannot be hidden: {1}")]
    NotHideable(String, &'static str),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Is the comment hidden now (or about to be), by the rules or by hand, and not shown again?
pub fn is_hidden(d: &DecisionRow) -> bool {
    let last = |k: ActionKind| {
        d.action_log
            .iter()
            .filter(|a| a.kind == k && matches!(a.state, ActionState::Done | ActionState::Pending))
            .map(|a| a.seq)
            .max()
    };
    match (last(ActionKind::Hide), last(ActionKind::Unhide)) {
        (Some(h), Some(u)) => h > u,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether the review page offers "Hide" for this decision.
pub fn can_hide(d: &DecisionRow) -> bool {
    d.kind == "comment" && !is_hidden(d)
}

/// Plans a hide of `comment_id` asked by `person`; returns the action id and the note when
/// it will not be called (dry run).
pub async fn plan_hide(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    person: &str,
) -> Result<(i64, Option<String>), HideError> {
    let decisions = store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.to_string()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    let Some(d) = decisions.iter().find(|d| d.kind == "comment") else {
        return Err(if decisions.is_empty() {
            HideError::UnknownComment(comment_id.to_string())
        } else {
            HideError::NotHideable(
                comment_id.to_string(),
                "only comments on the account's own media can be hidden",
            )
        });
    };
    if is_hidden(d) {
        return Err(HideError::AlreadyHidden(comment_id.to_string()));
    }
    let note = if settings.dry_run {
        Some("dry run: COMMENTGUARD_DRY_RUN is set".to_string())
    } else if settings.token_for(&d.account_id).is_none() {
        Some("dry run: no access token for this account".to_string())
    } else {
        None
    };
    let n = d
        .action_log
        .iter()
        .filter(|a| a.kind == ActionKind::Hide)
        .count();
    let action = NewAction {
        kind: ActionKind::Hide,
        payload: serde_json::json!({ "requested_by": "review_page", "person": person }),
        state: if note.is_some() {
            ActionState::Skipped
        } else {
            ActionState::Pending
        },
        note: note.clone(),
    };
    let key = format!("{}:hide-by-hand:{n}", d.comment_id);
    let id = store
        .add_action(d.id, &key, &action, now_ms())
        .await?
        .unwrap_or(0);
    metrics::counter!("commentguard_hides_by_hand_total").increment(1);
    tracing::info!(comment.id = %comment_id, action.id = id, person, "hide by hand planned");
    Ok((id, note))
}
