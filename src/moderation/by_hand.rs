//! Acting on a comment by hand from the review page: hiding one the rules let through (it
//! counts as a "Spam" label by that person), deleting one, or replying to a customer. Like an
//! undo, each is planned in the durable action log and the executor carries it out with its
//! retries and rate-limit handling; a reply whose outcome is unknown is looked up among the
//! comment's replies before it is posted again, as for the rules' replies.

use crate::actions::{Call, Requested};
use crate::config::Settings;
use crate::store::{now_ms, ActionKind, ActionState, DecisionKind, DecisionRow, Store};

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

/// Whether the review page offers "Hide" for this decision: a comment on the account's media
/// that is visible (not hidden, and not deleted or about to be).
pub fn can_hide(d: &DecisionRow) -> bool {
    d.kind == DecisionKind::Comment && !is_hidden(d) && !is_deleted(d)
}

/// Is the comment deleted (or about to be)?
pub fn is_deleted(d: &DecisionRow) -> bool {
    d.action_log.iter().any(|a| {
        a.kind == ActionKind::Delete && matches!(a.state, ActionState::Done | ActionState::Pending)
    })
}

/// The `comment` decision of `comment_id` (a mention's cannot be acted on from here: `why`).
async fn comment_decision(
    store: &dyn Store,
    comment_id: &str,
    why: &'static str,
) -> Result<DecisionRow, HideError> {
    let decisions = super::undo::decisions_of(store, comment_id).await?;
    if decisions.is_empty() {
        return Err(HideError::UnknownComment(comment_id.to_string()));
    }
    decisions
        .into_iter()
        .find(|d| d.kind == DecisionKind::Comment)
        .ok_or_else(|| HideError::NotHideable(comment_id.to_string(), why))
}

/// Plans a hide of `comment_id` asked by `person`; returns the action id and the note when
/// it will not be called (dry run).
pub async fn plan_hide(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    person: &str,
) -> Result<(i64, Option<String>), HideError> {
    plan(store, settings, comment_id, person, ByHand::Hide).await
}

/// What a person can do by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByHand {
    Hide,
    Delete,
    Reply(String),
}

/// Plans a hide, a delete or a reply by hand on the comment's decision.
pub async fn plan(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    person: &str,
    what: ByHand,
) -> Result<(i64, Option<String>), HideError> {
    let d = &comment_decision(
        store,
        comment_id,
        "only comments on the account's own media can be hidden, deleted or answered here",
    )
    .await?;
    let (call, name) = match &what {
        ByHand::Hide => {
            if is_hidden(d) {
                return Err(HideError::AlreadyHidden(comment_id.to_string()));
            }
            (Call::Hide, "hide")
        }
        ByHand::Delete => (Call::Delete, "delete"),
        ByHand::Reply(text) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2200 {
                return Err(HideError::NotHideable(
                    comment_id.to_string(),
                    "a reply needs a text of at most 2,200 characters",
                ));
            }
            (
                Call::Reply {
                    message: text.to_string(),
                },
                "reply",
            )
        }
    };
    let kind = call.kind();
    if kind == ActionKind::Delete
        && d.action_log
            .iter()
            .any(|a| a.kind == ActionKind::Delete && a.state != ActionState::Failed)
    {
        return Err(HideError::NotHideable(
            comment_id.to_string(),
            "it is deleted already (or about to be)",
        ));
    }
    let note = super::undo::dry_run_note(settings, &d.account_id);
    let n = d.action_log.iter().filter(|a| a.kind == kind).count();
    let requested = Requested {
        by: "review_page".into(),
        person: Some(person.to_string()),
    };
    let action = call.planned(Some(&requested), note.as_deref());
    let key = format!("{}:{name}-by-hand:{n}", d.comment_id);
    let id = store
        .add_action(d.id, &key, &action, now_ms())
        .await?
        .unwrap_or(0);
    if what == ByHand::Hide {
        metrics::counter!("commentguard_hides_by_hand_total").increment(1);
    }
    metrics::counter!("commentguard_actions_by_hand_total", "action" => name).increment(1);
    tracing::info!(comment.id = %comment_id, action.id = id, person, action = name, "action by hand planned");
    Ok((id, note))
}
