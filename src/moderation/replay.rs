//! Replay (`commentguard rules replay`, the review page's "Compare the next rules"): runs a
//! rules folder (with its models) over the comments stored in the moderation log within the window
//! and reports what would change against what was decided: comments newly hidden or no longer
//! hidden, replies that would be sent or no longer sent, per rule and category, with a few
//! examples each, and the comments people labelled counted apart ("would now hide 3 comments
//! a person marked Not spam"). Nothing is called and nothing is written.
//!
//! Stateful conditions (floods, waves, repeat offenders) start from an empty state and see the
//! replayed comments in the order they were decided, so their answers can differ from what the
//! service saw; comments whose text was purged are skipped and counted.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::rules::{Action, Decision, Input, Kind, MemoryState, RuleSet};
use crate::store::{DecisionFilter, DecisionRow, Label, Store};

/// One kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    NewlyHidden,
    NoLongerHidden,
    NewReply,
    NoLongerReplied,
}

impl Change {
    pub fn title(self) -> &'static str {
        match self {
            Change::NewlyHidden => "would now hide",
            Change::NoLongerHidden => "would no longer hide",
            Change::NewReply => "would now reply to",
            Change::NoLongerReplied => "would no longer reply to",
        }
    }
}

/// A changed comment.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub comment_id: String,
    pub text: String,
    pub author: Option<String>,
    /// For a new reply: what would be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The latest label people gave it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

/// The changes of one kind caused by one rule (the rule that now acts, or that acted before).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub change: Change,
    pub rule: String,
    pub category: String,
    pub count: usize,
    /// Of those, labelled by people: Spam / Not spam.
    pub labelled_spam: usize,
    pub labelled_not_spam: usize,
    pub examples: Vec<Example>,
    /// Every changed comment id (for tools; the text report shows the examples).
    pub comment_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub rules: String,
    pub since: String,
    pub comments: usize,
    pub skipped_without_text: usize,
    pub changed: usize,
    pub groups: Vec<Group>,
}

/// Every decision of the window (oldest first, to replay in order).
async fn decisions(
    store: &dyn Store,
    since: i64,
    account: Option<String>,
) -> anyhow::Result<Vec<DecisionRow>> {
    let mut all: Vec<DecisionRow> = Vec::new();
    loop {
        let page = store
            .list_decisions(&DecisionFilter {
                since_ms: Some(since),
                account: account.clone(),
                after_id: Some(all.last().map_or(0, |d| d.id)),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The input the pipeline built for this decision, as far as the log keeps it.
fn input_of(d: &DecisionRow, text: &str) -> Input {
    Input {
        text: text.to_string(),
        username: d.author.clone(),
        user_id: d.author_id.clone(),
        comment_id: Some(d.comment_id.clone()),
        media_id: d.media_id.clone(),
        account_id: Some(d.account_id.clone()),
        // The log does not keep it: a replayed impersonation rule compares with the names it
        // lists only.
        account_username: None,
        media_product_type: None,
        parent_id: None,
        kind: if d.kind == crate::store::DecisionKind::Mention {
            Kind::Mention
        } else {
            Kind::Comment
        },
        time: Some(d.decided_at / 1000),
    }
}

/// The enforced rule that produced `action` in a decision (the first one listing it).
fn rule_for(decision: &Decision, action: &str) -> (String, String) {
    decision
        .matched
        .iter()
        .find(|m| {
            m.mode == crate::rules::Mode::Enforce && m.actions.iter().any(|a| a.name() == action)
        })
        .map(|m| (m.rule.clone(), m.category.as_str().to_string()))
        .unwrap_or_else(|| ("?".into(), "other".into()))
}

/// The enforced rule that produced `action` when the comment was decided, from the log.
fn logged_rule_for(d: &DecisionRow, action: &str) -> (String, String) {
    d.matched
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| {
            m.get("mode").and_then(|v| v.as_str()) == Some("enforce")
                && m.get("actions")
                    .and_then(|a| a.as_array())
                    .is_some_and(|a| {
                        a.iter()
                            .any(|x| x.get("type").and_then(|t| t.as_str()) == Some(action))
                    })
        })
        .map(|m| {
            (
                m.get("rule")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_string(),
                m.get("category")
                    .and_then(|v| v.as_str())
                    .unwrap_or("other")
                    .to_string(),
            )
        })
        .unwrap_or_else(|| ("?".into(), "other".into()))
}

pub async fn replay(
    store: &dyn Store,
    set: &RuleSet,
    since: i64,
    account: Option<String>,
    examples: usize,
    rules_name: &str,
    since_name: &str,
) -> anyhow::Result<Report> {
    let rows = decisions(store, since, account).await?;
    let ids: Vec<String> = rows.iter().map(|d| d.comment_id.clone()).collect();
    let mut latest: HashMap<(String, String), (i64, Label)> = HashMap::new();
    for l in store.labels_for(&ids).await? {
        let key = (l.comment_id.clone(), l.kind.clone());
        if latest.get(&key).is_none_or(|(at, _)| *at <= l.labelled_at) {
            latest.insert(key, (l.labelled_at, l.label));
        }
    }
    let state = MemoryState::default();
    let mut report = Report {
        rules: rules_name.to_string(),
        since: since_name.to_string(),
        ..Default::default()
    };
    let mut groups: BTreeMap<(Change, String), Group> = BTreeMap::new();
    for d in &rows {
        let Some(text) = d.text.as_deref() else {
            report.skipped_without_text += 1;
            continue;
        };
        report.comments += 1;
        let now = set.evaluate(&input_of(d, text), &state);
        let had = |a: &str| d.actions.iter().any(|x| x == a);
        let has = |a: &str| now.actions.iter().any(|x| x.name() == a);
        let hid_before = had("hide") || had("delete");
        let hides_now = has("hide") || has("delete");
        let mut changes: Vec<(Change, (String, String), Option<String>)> = Vec::new();
        if hides_now && !hid_before {
            let action = if has("delete") { "delete" } else { "hide" };
            changes.push((Change::NewlyHidden, rule_for(&now, action), None));
        }
        if hid_before && !hides_now {
            let action = if had("delete") { "delete" } else { "hide" };
            changes.push((Change::NoLongerHidden, logged_rule_for(d, action), None));
        }
        if has("reply") && !had("reply") {
            let text = now.actions.iter().find_map(|a| match a {
                Action::Reply { text } => Some(text.clone()),
                _ => None,
            });
            changes.push((Change::NewReply, rule_for(&now, "reply"), text));
        }
        if had("reply") && !has("reply") {
            changes.push((Change::NoLongerReplied, logged_rule_for(d, "reply"), None));
        }
        if !changes.is_empty() {
            report.changed += 1;
        }
        let label = latest
            .get(&(d.comment_id.clone(), d.kind.as_str().to_string()))
            .map(|(_, l)| *l);
        for (change, (rule, category), reply) in changes {
            let g = groups
                .entry((change, rule.clone()))
                .or_insert_with(|| Group {
                    change,
                    rule,
                    category,
                    count: 0,
                    labelled_spam: 0,
                    labelled_not_spam: 0,
                    examples: Vec::new(),
                    comment_ids: Vec::new(),
                });
            g.count += 1;
            match label {
                Some(Label::Spam) => g.labelled_spam += 1,
                Some(Label::NotSpam) => g.labelled_not_spam += 1,
                None => {}
            }
            g.comment_ids.push(d.comment_id.clone());
            // Labelled comments first among the examples: they are the ones to look at.
            if g.examples.len() < examples
                || (label.is_some() && g.examples.iter().any(|e| e.label.is_none()))
            {
                let ex = Example {
                    comment_id: d.comment_id.clone(),
                    text: text.to_string(),
                    author: d.author.clone(),
                    reply,
                    label,
                };
                if g.examples.len() >= examples {
                    if let Some(i) = g.examples.iter().rposition(|e| e.label.is_none()) {
                        g.examples[i] = ex;
                    }
                } else {
                    g.examples.push(ex);
                }
            }
        }
    }
    report.groups = groups.into_values().collect();
    Ok(report)
}
