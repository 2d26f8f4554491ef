//! One comment or mention through the rules: the decision it gets, the Graph calls planned
//! for it, and the types a change passes through on the way (`Step`, `Pending`, `Prepared`).

use super::*;

impl Pipeline {
    /// Evaluates one comment or mention. `snapshot` holds the rule state when its rule set
    /// uses any; what the evaluation adds to it is written with the decision.
    pub(super) fn decide(&self, p: &Pending, snapshot: Option<&StateSnapshot>) -> Prepared {
        let (input, not_callable) = (&p.input, p.not_callable);
        let account = p.account.as_str();
        let rules = self.rules.for_account(account);
        let view = self.monitor.view();
        let scope = self.rules.scope_for(account);
        let forced_shadow = |id: &str| view.is_shadowed(scope, id);
        // A bug in a rule condition must not take the worker (and every comment after this
        // one) down with it: the comment is decided as matching nothing, with a note, and the
        // failure is logged and counted.
        let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match snapshot {
            Some(snapshot) if rules.uses_state() => {
                let state = snapshot.for_account(account);
                let d = rules.evaluate_with(input, &state, &forced_shadow);
                (d, state.into_event())
            }
            _ => (rules.evaluate_with(input, &NoState, &forced_shadow), None),
        }));
        let mut failed_note = None;
        let (decision, rule_event): (Decision, _) = match evaluated {
            Ok(v) => v,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown");
                tracing::error!(comment.id = %p.key, error = %why, "RuleEvaluationFailed: evaluating the rules panicked; the comment is logged as matching nothing");
                metrics::counter!("commentguard_rule_evaluation_failures_total").increment(1);
                failed_note = Some(format!("rule evaluation failed ({why}); nothing was done"));
                (Decision::default(), None)
            }
        };
        let token = self.settings.token_for(account);
        let dry_note = if self.settings.dry_run {
            Some("dry run: COMMENTGUARD_DRY_RUN is set")
        } else if token.is_none() {
            Some("dry run: no access token for this account")
        } else {
            not_callable
        };
        let actions = plan(&decision, input, dry_note);
        let d = NewDecision {
            inbox_id: Some(p.event_id),
            comment_id: p.key.clone(),
            kind: p.kind,
            account_id: account.to_string(),
            media_id: input.media_id.clone(),
            author: input.username.clone(),
            author_id: input.user_id.clone(),
            text: Some(input.text.clone()),
            normalized: Some(decision.normalized.clone()),
            matched: serde_json::to_string(&decision.matched).unwrap_or_else(|_| "[]".into()),
            scores: (!decision.scores.is_empty()).then(|| {
                let map: serde_json::Map<String, serde_json::Value> = decision
                    .scores
                    .iter()
                    .map(|s| {
                        (
                            s.model.clone(),
                            serde_json::json!((f64::from(s.score) * 1e4).round() / 1e4),
                        )
                    })
                    .collect();
                serde_json::Value::Object(map).to_string()
            }),
            rules: decision.matched.iter().map(|m| m.rule.clone()).collect(),
            actions: decision
                .actions
                .iter()
                .map(|a| a.name().to_string())
                .collect(),
            note: if failed_note.is_some() {
                failed_note
            } else if decision.actions.is_empty() {
                None
            } else {
                dry_note.map(str::to_string)
            },
            received_at: p.received_at,
            decided_at: now_ms(),
            rule_event,
        };
        for m in &decision.matched {
            metrics::counter!(
                "commentguard_rule_matches_total",
                "mode" => m.mode.as_str(),
                "category" => m.category.as_str()
            )
            .increment(1);
        }
        Prepared::Decision {
            label: if decision.actions.is_empty() {
                "no_action"
            } else {
                "actioned"
            },
            decision: d,
            actions,
        }
    }
}

/// Where one change stands before evaluation.
#[allow(clippy::large_enum_variant)] // short-lived, one per event in hand
pub(super) enum Step {
    /// Nothing for the rule engine: already what will be committed.
    Ready(Prepared),
    /// A comment or mention for the rule engine.
    Evaluate(Pending),
}

/// A comment or mention ready for the rule engine.
pub(super) struct Pending {
    pub(super) event_id: i64,
    pub(super) account: String,
    /// The comment id (or the media id of a caption mention) the decision is about.
    pub(super) key: String,
    pub(super) kind: DecisionKind,
    pub(super) input: Input,
    pub(super) received_at: i64,
    /// Why actions cannot be called (live media), when that is so.
    pub(super) not_callable: Option<&'static str>,
}

impl Step {
    pub(super) fn evaluate(
        event: &InboxEvent,
        key: &str,
        kind: DecisionKind,
        input: Input,
        not_callable: Option<&'static str>,
    ) -> Step {
        Step::Evaluate(Pending {
            event_id: event.id,
            account: event.account_id.clone(),
            key: key.to_string(),
            kind,
            input,
            received_at: event.received_at,
            not_callable,
        })
    }
}

/// What one change became, before it is committed.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, one per event in hand
pub enum Prepared {
    /// Nothing to record beyond marking the event done.
    Done(&'static str),
    /// A decision and its planned actions to commit with the event's completion.
    Decision {
        label: &'static str,
        decision: NewDecision,
        actions: Vec<NewAction>,
    },
}

pub(super) fn action_label(name: &str) -> &'static str {
    match name {
        "hide" => "hide",
        "delete" => "delete",
        "reply" => "reply",
        _ => "other",
    }
}

/// Turns the final enforced actions into planned Graph calls. `skip` (dry run, live media)
/// records them as skipped with that reason: decided and logged, never called.
pub fn plan(decision: &Decision, input: &Input, skip: Option<&str>) -> Vec<NewAction> {
    let mut out = Vec::new();
    for action in &decision.actions {
        let (call, not_applicable) = match (input.kind, action) {
            (Kind::Comment, Action::Hide) => (Call::Hide, None),
            (Kind::Comment, Action::Delete) => (Call::Delete, None),
            (Kind::Comment, Action::Reply { text }) => (
                Call::Reply {
                    message: text.clone(),
                },
                None,
            ),
            (Kind::Mention, Action::Reply { text }) => (
                Call::MentionReply {
                    message: text.clone(),
                    media_id: input.media_id.clone().unwrap_or_default(),
                    comment_id: input.comment_id.clone(),
                },
                None,
            ),
            (Kind::Mention, a) => (
                if matches!(a, Action::Delete) {
                    Call::Delete
                } else {
                    Call::Hide
                },
                Some("hide and delete do not apply to other people's media"),
            ),
        };
        out.push(call.planned(None, not_applicable.or(skip)));
    }
    out
}
