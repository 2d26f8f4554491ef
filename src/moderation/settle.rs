//! Settling a comment in one click, the review queue's way: "Spam" hides it (when it is a
//! visible comment on the account's media) and stores the person's Spam label; "Not spam"
//! shows it again (when commentguard hid it) and stores a Not spam label. One click is both the
//! decision and what the model learns from. Several comments can be settled at once.

use crate::config::Settings;
use crate::store::{DecisionKind, Label, Store, StoreError};

use super::by_hand::{can_hide, plan, ByHand, HideError};
use super::undo::{can_undo, decisions_of, plan_unhide, UndoError, UndoSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Spam,
    NotSpam,
}

impl Verdict {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "spam" => Some(Verdict::Spam),
            "not_spam" => Some(Verdict::NotSpam),
            _ => None,
        }
    }

    pub fn label(self) -> Label {
        match self {
            Verdict::Spam => Label::Spam,
            Verdict::NotSpam => Label::NotSpam,
        }
    }
}

/// What settling did besides the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// A hide was planned (Spam on a visible comment).
    Hidden,
    /// An unhide was planned (Not spam on a comment commentguard hid).
    Shown,
    /// Only the label: the comment already was as the verdict wants (or is a mention).
    Labelled,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("no decision is recorded for comment {0}")]
    UnknownComment(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HideError> for SettleError {
    fn from(e: HideError) -> Self {
        match e {
            HideError::UnknownComment(c) => SettleError::UnknownComment(c),
            HideError::Store(s) => SettleError::Store(s),
            // Not reached from settle (it plans a hide only where one can be planned), but
            // an error all the same.
            other => SettleError::Store(StoreError::Invalid(other.to_string())),
        }
    }
}

/// Settles `comment_id` as `verdict`, by `person`.
pub async fn settle(
    store: &dyn Store,
    settings: &Settings,
    comment_id: &str,
    verdict: Verdict,
    person: &str,
) -> Result<Settled, SettleError> {
    let decisions = decisions_of(store, comment_id).await?;
    let Some(first) = decisions
        .iter()
        .find(|d| d.kind == DecisionKind::Comment)
        .or(decisions.first())
    else {
        return Err(SettleError::UnknownComment(comment_id.to_string()));
    };
    let kind = first.kind.as_str().to_string();
    let settled = match verdict {
        Verdict::Spam if can_hide(first) => {
            match plan(store, settings, comment_id, person, ByHand::Hide).await {
                Ok(_) | Err(HideError::AlreadyHidden(_)) => Settled::Hidden,
                Err(e) => return Err(e.into()),
            }
        }
        Verdict::NotSpam if decisions.iter().any(can_undo) => {
            match plan_unhide(
                store,
                settings,
                comment_id,
                UndoSource::ReviewPage,
                Some(person),
            )
            .await
            {
                Ok(_) => Settled::Shown,
                Err(UndoError::UnknownComment(c)) => return Err(SettleError::UnknownComment(c)),
                Err(UndoError::Store(e)) => return Err(e.into()),
                Err(UndoError::NotHidden { .. }) => Settled::Labelled,
            }
        }
        _ => Settled::Labelled,
    };
    super::labels::record(store, comment_id, &kind, verdict.label(), person, "review").await?;
    Ok(settled)
}
