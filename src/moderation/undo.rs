//! Undoing a hide: plans an `unhide` in the durable action log.
//!
//! The undo is never called on the Graph API from here. It is recorded as one more action of
//! the comment's decision, and the action executor of the running service carries it out with
//! the same retries, rate-limit handling and ordering as every other call: when the hide is
//! still pending, the unhide runs after it, never before. The CLI, the admin API and the review
//! page all come through [`plan_unhide`], so an undo is recorded the same way wherever it starts.

use serde::Serialize;

use crate::actions::{Call, Requested};
use crate::config::Settings;
use crate::store::{
    now_ms, ActionKind, ActionRow, ActionState, DecisionFilter, DecisionRow, Store, StoreError,
};

/// Where an undo was asked for; a small fixed set, used as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoSource {
    Cli,
    Api,
    ReviewPage,
}

impl UndoSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UndoSource::Cli => "cli",
            UndoSource::Api => "api",
            UndoSource::ReviewPage => "review_page",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no decision is recorded for comment {0}")]
    UnknownComment(String),
    #[error("comment {comment_id} was not hidden by commentguard: {reason}")]
    NotHidden { comment_id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The planned (or already planned) unhide.
#[derive(Debug, Clone, Serialize)]
pub struct UndoPlanned {
    pub action_id: i64,
    pub decision_id: i64,
    pub comment_id: String,
    pub state: ActionState,
    /// True when an earlier undo of this hide was found and nothing new was planned.
    pub already_planned: bool,
    /// Why it will not be called (dry run), when that is the case.
    pub note: Option<String>,
}

/// The hide an undo reverses, and the undo already planned for it, if any. A failed undo does
/// not count: asking again plans a new one.
fn hide_and_undo(d: &DecisionRow) -> (Option<&ActionRow>, Option<&ActionRow>) {
    let hide = d
        .action_log
        .iter()
        .filter(|a| a.kind == ActionKind::Hide)
        .max_by_key(|a| a.seq);
    let undo = hide.and_then(|h| {
        d.action_log
            .iter()
            .filter(|a| a.kind == ActionKind::Unhide && a.seq > h.seq)
            .filter(|a| a.state != ActionState::Failed)
            .max_by_key(|a| a.seq)
    });
    (hide, undo)
}

/// True when the decision hid the comment (or is about to) and no undo is planned yet: what
/// the review page shows an Undo button for.
pub fn can_undo(d: &DecisionRow) -> bool {
    matches!(hide_and_undo(d), (Some(h), None) if matches!(h.state, ActionState::Done | ActionState::Pending))
}

/// The undo recorded for a decision, if any: shown in the log and on the review page.
pub fn undo_of(d: &DecisionRow) -> Option<&ActionRow> {
    hide_and_undo(d).1
}

/// Plans an unhide of `comment_id`. Idempotent: asking twice returns the first plan.
/// Why a call planned by hand for `account_id` will not be made, when it will not: the
/// service runs dry, or the account has no token. Such an action is recorded as skipped.
pub fn dry_run_note(settings: &Settings, account_id: &str) -> Option<String> {
    if settings.dry_run {
        Some("dry run: COMMENTGUARD_DRY_RUN is set".to_string())
    } else if settings.token_for(account_id).is_none() {
        Some("dry run: no access token for this account".to_string())
    } else {
        None
    }
}

/// Every decision about `comment_id` (a comment and a mention share ids at most), for undo and
/// the actions by hand; empty when the log does not know it.
pub(super) async fn decisions_of(
    store: &dyn Store,
    comment_id: &str,
) -> Result<Vec<DecisionRow>, crate::store::StoreError> {
    store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.to_string()),
            limit: 10,
            ..Default::default()
        })
        .await
}

pub async fn plan_unhide(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    source: UndoSource,
    person: Option<&str>,
) -> Result<UndoPlanned, UndoError> {
    let decisions = decisions_of(store, comment_id).await?;
    if decisions.is_empty() {
        return Err(UndoError::UnknownComment(comment_id.to_string()));
    }
    // A comment id has at most a `comment` and a `mention` decision; only the one that hid it
    // can be undone.
    let Some((decision, hide, existing)) = decisions.iter().find_map(|d| match hide_and_undo(d) {
        (Some(h), u) => Some((d, h, u)),
        _ => None,
    }) else {
        return Err(UndoError::NotHidden {
            comment_id: comment_id.to_string(),
            reason: "its decision planned no hide".into(),
        });
    };
    if let Some(u) = existing {
        return Ok(UndoPlanned {
            action_id: u.id,
            decision_id: decision.id,
            comment_id: comment_id.to_string(),
            state: u.state,
            already_planned: true,
            note: None,
        });
    }
    match hide.state {
        ActionState::Done | ActionState::Pending => {}
        ActionState::Skipped => {
            return Err(UndoError::NotHidden {
                comment_id: comment_id.to_string(),
                reason: "the hide was skipped (dry run or not applicable), so nothing is hidden"
                    .into(),
            })
        }
        ActionState::Failed => {
            return Err(UndoError::NotHidden {
                comment_id: comment_id.to_string(),
                reason: "the hide failed, so nothing is hidden".into(),
            })
        }
    }
    let note = dry_run_note(settings, &decision.account_id);
    let n = decision
        .action_log
        .iter()
        .filter(|a| a.kind == ActionKind::Unhide)
        .count();
    let key = format!("{}:unhide:{n}", decision.comment_id);
    let requested = Requested {
        by: source.as_str().to_string(),
        person: person.map(str::to_string),
    };
    let action = Call::Unhide.planned(Some(&requested), note.as_deref());
    let id = match store
        .add_action(decision.id, &key, &action, now_ms())
        .await?
    {
        Some(id) => id,
        None => {
            // Someone planned the same undo a moment ago: return theirs.
            let again = store
                .list_decisions(&DecisionFilter {
                    comment_id: Some(comment_id.to_string()),
                    limit: 10,
                    ..Default::default()
                })
                .await?;
            let row = again
                .iter()
                .flat_map(|d| d.action_log.iter())
                .find(|a| a.kind == ActionKind::Unhide && a.decision_id == decision.id)
                .ok_or_else(|| {
                    StoreError::Invalid(format!("undo {key} vanished after a conflict"))
                })?;
            row.id
        }
    };
    metrics::counter!("commentguard_undos_total", "source" => source.as_str()).increment(1);
    tracing::info!(
        decision.id = decision.id,
        comment.id = %comment_id,
        action.id = id,
        undo.source = source.as_str(),
        note = note.as_deref().unwrap_or(""),
        "undo planned"
    );
    Ok(UndoPlanned {
        action_id: id,
        decision_id: decision.id,
        comment_id: comment_id.to_string(),
        state: action.state,
        already_planned: false,
        note,
    })
}
