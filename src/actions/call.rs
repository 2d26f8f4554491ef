//! [`Call`]: one Graph call as the pipeline plans it and the executor makes it.
//!
//! The action queue stores a call as its kind and a JSON payload (the columns every database
//! since the first version has); this is the one place that writes and reads that payload, so
//! `plan()`, the review page's actions by hand and the executor share one typed message.

use serde_json::{json, Value};

use crate::store::{ActionKind, ActionRow, ActionState, NewAction};

/// A Graph call on one comment (the comment id is the decision's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Hide,
    Unhide,
    Delete,
    /// A reply under a comment on the account's own media.
    Reply {
        message: String,
    },
    /// A reply to a mention on someone else's media: under the mentioning comment, or on the
    /// media when the caption mentioned the account (`comment_id` absent).
    MentionReply {
        message: String,
        media_id: String,
        comment_id: Option<String>,
    },
}

/// Who asked for a call by hand (undo, the review page); absent for the rules' own calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    /// `review_page`, `cli`, `api`.
    pub by: String,
    pub person: Option<String>,
}

impl Call {
    pub fn kind(&self) -> ActionKind {
        match self {
            Call::Hide => ActionKind::Hide,
            Call::Unhide => ActionKind::Unhide,
            Call::Delete => ActionKind::Delete,
            Call::Reply { .. } => ActionKind::Reply,
            Call::MentionReply { .. } => ActionKind::MentionReply,
        }
    }

    /// The text a reply posts.
    pub fn message(&self) -> Option<&str> {
        match self {
            Call::Reply { message } | Call::MentionReply { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The call as the queue stores it: to be made, or (`skip` says why) recorded and never
    /// made.
    pub fn planned(&self, requested: Option<&Requested>, skip: Option<&str>) -> NewAction {
        let mut payload = match self {
            Call::Hide | Call::Unhide | Call::Delete => json!({}),
            Call::Reply { message } => json!({ "message": message }),
            Call::MentionReply {
                message,
                media_id,
                comment_id,
            } => json!({ "message": message, "media_id": media_id, "comment_id": comment_id }),
        };
        if let (Some(r), Some(map)) = (requested, payload.as_object_mut()) {
            map.insert("requested_by".into(), json!(r.by));
            if let Some(p) = &r.person {
                map.insert("person".into(), json!(p));
            }
        }
        NewAction {
            kind: self.kind(),
            payload,
            state: if skip.is_some() {
                ActionState::Skipped
            } else {
                ActionState::Pending
            },
            note: skip.map(str::to_string),
        }
    }

    /// The call a stored action makes. Reads every payload the queue has held: an object with
    /// `message` (and a mention's ids), or a reply's text alone as a JSON string.
    pub fn of(row: &ActionRow) -> Call {
        let get = |k: &str| {
            row.payload
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let message = || {
            get("message")
                .or_else(|| row.payload.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        match row.kind {
            ActionKind::Hide => Call::Hide,
            ActionKind::Unhide => Call::Unhide,
            ActionKind::Delete => Call::Delete,
            ActionKind::Reply => Call::Reply { message: message() },
            ActionKind::MentionReply => Call::MentionReply {
                message: message(),
                media_id: get("media_id").unwrap_or_default(),
                comment_id: get("comment_id"),
            },
        }
    }

    /// Who asked for a stored action, when a person or command did.
    pub fn requested(row: &ActionRow) -> Option<Requested> {
        let by = row.payload.get("requested_by")?.as_str()?.to_string();
        let person = row
            .payload
            .get("person")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Requested { by, person })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(a: &NewAction) -> ActionRow {
        ActionRow {
            id: 1,
            decision_id: 1,
            account_id: "acct".into(),
            comment_id: "c1".into(),
            kind: a.kind,
            // Through text, as the database keeps it.
            payload: serde_json::from_str(&a.payload.to_string()).unwrap(),
            seq: 0,
            state: a.state,
            attempts: 0,
            next_at: 0,
            last_error: None,
            result_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn every_call_reads_back_as_planned() {
        let person = Requested {
            by: "review_page".into(),
            person: Some("Robin".into()),
        };
        for call in [
            Call::Hide,
            Call::Unhide,
            Call::Delete,
            Call::Reply {
                message: "Thanks, we'll DM you".into(),
            },
            Call::MentionReply {
                message: "Thank you!".into(),
                media_id: "m1".into(),
                comment_id: None,
            },
            Call::MentionReply {
                message: "Thank you!".into(),
                media_id: "m1".into(),
                comment_id: Some("c9".into()),
            },
        ] {
            for requested in [None, Some(&person)] {
                let row = stored(&call.planned(requested, None));
                assert_eq!(Call::of(&row), call);
                assert_eq!(Call::requested(&row).as_ref(), requested);
            }
        }
    }

    #[test]
    fn a_skipped_call_says_why_and_is_never_pending() {
        let a = Call::Hide.planned(None, Some("dry run: COMMENTGUARD_DRY_RUN is set"));
        assert_eq!(a.state, ActionState::Skipped);
        assert_eq!(
            a.note.as_deref(),
            Some("dry run: COMMENTGUARD_DRY_RUN is set")
        );
    }

    #[test]
    fn payloads_written_by_earlier_versions_read_the_same() {
        // The rules' replies and mention replies, as `plan()` wrote them with `json!`.
        let mut row = stored(&Call::Hide.planned(None, None));
        row.kind = ActionKind::Reply;
        row.payload = serde_json::from_str(r#"{"message":"hi there"}"#).unwrap();
        assert_eq!(
            Call::of(&row),
            Call::Reply {
                message: "hi there".into()
            }
        );
        row.payload = json!("hi there");
        assert_eq!(
            Call::of(&row),
            Call::Reply {
                message: "hi there".into()
            }
        );
        row.kind = ActionKind::MentionReply;
        row.payload =
            serde_json::from_str(r#"{"comment_id":null,"media_id":"m1","message":"thanks"}"#)
                .unwrap();
        assert_eq!(
            Call::of(&row),
            Call::MentionReply {
                message: "thanks".into(),
                media_id: "m1".into(),
                comment_id: None
            }
        );
    }
}
