//! The whole service against a failing Graph API: 30 failed calls in a row, rate limits with
//! usage headers, time-outs, dropped connections, answers that are not JSON, refusals.
//!
//! Every test ends the same way: every planned action is either applied (the fake shows the
//! hide, the reply) or recorded as a permanent failure with Meta's reason, nothing stays
//! pending, and no comment got its reply twice.
//!
//! The service runs with `COMMENTGUARD_GRAPH_TIMEOUT=1s` and `COMMENTGUARD_RETRY_BASE=10ms`
//! (schedule 10 ms, 50 ms, 300 ms, 1.2 s, 6 s...), so retries take milliseconds, not minutes.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use commentguard::store::{ActionKind, ActionState, DecisionFilter, DecisionRow, Store};

use crate::helpers::*;
use crate::support::fake_graph::{FakeGraph, Fault};

pub const ACCOUNT: &str = "17841400000000000";
pub const ACCESS_TOKEN: &str = "EAAG-faults-access-token-0123456789";
pub const REPLY: &str = "Please do not trust offers in comments, {author}.";
pub const ANSWER: &str = "Shipping takes 3 days, {author}.";
/// Words of [`write_rules`]: `scamword` hides and replies, `spamword` only hides,
/// `shipping` only replies (an answer to a question; the comment stays visible).
pub const SCAM: &str = "great deal scamword here";
pub const SPAM: &str = "buy spamword now";
pub const QUESTION: &str = "how long does shipping take?";

/// A small rules folder: one rule that replies and hides, one that only hides.
pub fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("10-test.toml"),
        format!(
            r#"
[[rule]]
id = "scam-reply"
priority = 10
[rule.when]
words = ["scamword"]
[rule.then]
hide = true
reply = "{REPLY}"

[[rule]]
id = "spam-hide"
[rule.when]
words = ["spamword"]
[rule.then]
hide = true

[[rule]]
id = "shipping-answer"
[rule.when]
words = ["shipping"]
[rule.then]
reply = "{ANSWER}"
"#
        ),
    )
    .unwrap();
}

pub fn reply_for(username: &str) -> String {
    REPLY.replace("{author}", username)
}

/// Every decision in the moderation log, oldest first (the store pages by 1000).
pub async fn all_decisions(store: &dyn Store) -> Vec<DecisionRow> {
    let mut all: Vec<DecisionRow> = Vec::new();
    loop {
        let page = store
            .list_decisions(&DecisionFilter {
                after_id: Some(all.last().map_or(0, |d| d.id)),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return all;
        }
    }
}

pub struct Harness {
    pub app: TestApp,
    pub fake: FakeGraph,
    _rules: tempfile::TempDir,
}

pub async fn start() -> Harness {
    let fake = FakeGraph::start().await;
    // The service signs its calls with its app secret; the fake checks every proof.
    fake.set_app_secret(APP_SECRET);
    fake.require_appsecret_proof(true);
    let rules = tempfile::tempdir().unwrap();
    write_rules(rules.path());
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), ACCESS_TOKEN.into()),
            ("COMMENTGUARD_GRAPH_TIMEOUT".into(), "1s".into()),
            ("COMMENTGUARD_RETRY_BASE".into(), "10ms".into()),
        ],
        rules: Some(rules.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    Harness {
        app,
        fake,
        _rules: rules,
    }
}

impl Harness {
    pub async fn post_comment(&self, id: &str, text: &str, username: &str) {
        let resp = self
            .app
            .post_signed(&comment_body(ACCOUNT, id, text, username))
            .await;
        assert_eq!(resp.status(), 200, "webhook for {id}");
    }

    /// Waits until every comment in `ids` has its decision and none of their actions is
    /// pending any more; panics with the action log when `timeout` passes first.
    pub async fn settled(&self, ids: &[String], timeout: Duration) -> Vec<DecisionRow> {
        let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let all = all_decisions(self.app.store.as_ref()).await;
            let mine: Vec<DecisionRow> = all
                .into_iter()
                .filter(|d| want.contains(d.comment_id.as_str()))
                .collect();
            let decided: BTreeSet<&str> = mine.iter().map(|d| d.comment_id.as_str()).collect();
            let pending = mine
                .iter()
                .flat_map(|d| &d.action_log)
                .any(|a| a.state == ActionState::Pending);
            if decided == want && !pending {
                return mine;
            }
            if std::time::Instant::now() > deadline {
                let log: Vec<String> = mine
                    .iter()
                    .flat_map(|d| &d.action_log)
                    .map(|a| {
                        format!(
                            "{} {} {:?} attempts={} error={:?}",
                            a.comment_id,
                            a.kind.as_str(),
                            a.state,
                            a.attempts,
                            a.last_error
                        )
                    })
                    .collect();
                panic!(
                    "not settled within {timeout:?}: {} of {} decided; actions: {log:#?}",
                    decided.len(),
                    want.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn action(d: &DecisionRow, kind: ActionKind) -> &commentguard::store::ActionRow {
    d.action_log
        .iter()
        .find(|a| a.kind == kind)
        .unwrap_or_else(|| panic!("{} has no {} action", d.comment_id, kind.as_str()))
}

/// Every comment hidden on the fake, its reply posted exactly once, every action `done`.
fn assert_all_applied(h: &Harness, decisions: &[DecisionRow], with_reply: bool) {
    for d in decisions {
        let who = d.author.clone().unwrap_or_default();
        assert_eq!(
            h.fake.is_hidden(&d.comment_id),
            Some(true),
            "{} not hidden",
            d.comment_id
        );
        for a in &d.action_log {
            assert_eq!(
                a.state,
                ActionState::Done,
                "{} {}: {:?}",
                d.comment_id,
                a.kind.as_str(),
                a.last_error
            );
        }
        if with_reply {
            let replies: Vec<String> = h
                .fake
                .replies_to(&d.comment_id)
                .into_iter()
                .map(|r| r.text)
                .collect();
            assert_eq!(
                replies,
                vec![reply_for(&who)],
                "replies to {}",
                d.comment_id
            );
        }
    }
}

#[tokio::test]
async fn thirty_failed_calls_in_a_row_delay_the_actions_but_lose_none() {
    let h = start().await;
    h.fake.fail_next("*", 30, Fault::server_error());
    let ids: Vec<String> = (0..8).map(|i| format!("c-outage-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        h.post_comment(id, SCAM, &format!("user{i}")).await;
    }
    let decisions = h.settled(&ids, Duration::from_secs(40)).await;
    assert_all_applied(&h, &decisions, true);
    // The outage really happened: 30 refused calls before the successful ones.
    let calls = h.fake.requests().len();
    assert!(calls >= 30 + 16, "only {calls} calls reached the fake");
    // Reply before hide, for every comment: Meta refuses replies to hidden comments.
    for id in &ids {
        let order: Vec<String> = h
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.object_id == *id && (r.endpoint == "reply" || r.endpoint == "hide"))
            .map(|r| r.endpoint)
            .collect();
        let last_reply = order.iter().rposition(|e| e == "reply").unwrap();
        let first_hide = order.iter().position(|e| e == "hide").unwrap();
        assert!(last_reply < first_hide, "{id}: {order:?}");
    }
}

#[tokio::test]
async fn a_rate_limit_with_usage_headers_pauses_calls_until_the_announced_time() {
    let h = start().await;
    // Code 4 with usage headers at 100% and access back in 0.05 minutes (3 s).
    let regain = Duration::from_secs(3);
    h.fake.fail_next(
        "hide",
        1,
        Fault::graph_error(400, 4, "(#4) Application request limit reached")
            .with_header(
                "x-app-usage",
                r#"{"call_count":100,"total_time":40,"total_cputime":30}"#,
            )
            .with_header(
                "x-business-use-case-usage",
                &format!(
                    r#"{{"{ACCOUNT}":[{{"type":"instagram","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0.05}}]}}"#
                ),
            ),
    );
    h.post_comment("c-limited", SPAM, "ana").await;
    h.fake
        .wait_for_calls("hide", 1, Duration::from_secs(10))
        .await;
    // More comments arrive during the pause.
    let mut ids = vec!["c-limited".to_string()];
    for i in 0..4 {
        let id = format!("c-during-pause-{i}");
        h.post_comment(&id, SPAM, "bob").await;
        ids.push(id);
    }
    let decisions = h.settled(&ids, Duration::from_secs(30)).await;
    assert_all_applied(&h, &decisions, false);

    let hides = h.fake.calls_to("hide");
    let limited_at = hides[0].at;
    let too_early: Vec<&str> = hides[1..]
        .iter()
        .filter(|r| r.at.duration_since(limited_at) < regain - Duration::from_millis(100))
        .map(|r| r.object_id.as_str())
        .collect();
    assert!(
        too_early.is_empty(),
        "calls made during the announced pause: {too_early:?}"
    );
    let limited = action(&decisions[0], ActionKind::Hide);
    assert!(limited.attempts >= 2, "{limited:?}");
}

#[tokio::test]
async fn a_reply_that_meta_finishes_after_the_timeout_is_not_posted_twice() {
    let h = start().await;
    // Meta answers after 1.5 s, past the service's 1 s timeout, and creates the reply then.
    let delay = Duration::from_millis(1500);
    h.fake.fail_next("reply", 1, Fault::delay(delay));
    h.post_comment("c-slow", QUESTION, "ana").await;
    let decisions = h
        .settled(&["c-slow".to_string()], Duration::from_secs(20))
        .await;
    // Let the slow request land before counting replies.
    let first = h.fake.calls_to("reply")[0].at;
    tokio::time::sleep_until(first + delay + Duration::from_millis(500)).await;
    let replies: Vec<String> = h
        .fake
        .replies_to("c-slow")
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(replies, vec![ANSWER.replace("{author}", "ana")]);
    let reply = action(&decisions[0], ActionKind::Reply);
    assert_eq!(reply.state, ActionState::Done, "{reply:?}");
    assert!(
        reply.attempts >= 2,
        "the first attempt timed out: {reply:?}"
    );
    // The reply on the fake is the one the service recorded.
    assert_eq!(
        reply.result_id.as_deref(),
        Some(h.fake.replies_to("c-slow")[0].id.as_str())
    );
}

#[tokio::test]
async fn hides_that_time_out_are_tried_again_until_they_are_applied() {
    let h = start().await;
    h.fake
        .fail_next("hide", 3, Fault::delay(Duration::from_secs(3)));
    let ids: Vec<String> = (0..3).map(|i| format!("c-timeout-{i}")).collect();
    for id in &ids {
        h.post_comment(id, SPAM, "ana").await;
    }
    let decisions = h.settled(&ids, Duration::from_secs(30)).await;
    assert_all_applied(&h, &decisions, false);
    // Three calls timed out and each action was then applied once more.
    let attempts: i64 = decisions
        .iter()
        .map(|d| action(d, ActionKind::Hide).attempts)
        .sum();
    assert_eq!(attempts, 6);
    assert_eq!(h.fake.calls_to("hide").len(), 6);
}

#[tokio::test]
async fn dropped_connections_are_retried_and_a_reply_still_appears_once() {
    let h = start().await;
    h.fake.fail_next("reply", 2, Fault::drop_connection());
    h.fake.fail_next("hide", 2, Fault::drop_connection());
    h.fake.fail_next("replies", 1, Fault::drop_connection());
    let ids: Vec<String> = (0..2).map(|i| format!("c-drop-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        h.post_comment(id, SCAM, &format!("user{i}")).await;
    }
    let decisions = h.settled(&ids, Duration::from_secs(30)).await;
    assert_all_applied(&h, &decisions, true);
}

#[tokio::test]
async fn answers_that_are_not_json_are_retried_until_applied() {
    let h = start().await;
    h.fake.fail_next("reply", 1, Fault::non_json(502));
    h.fake.fail_next("reply", 1, Fault::non_json(200));
    h.fake.fail_next("hide", 2, Fault::non_json(503));
    h.post_comment("c-html", SCAM, "ana").await;
    let decisions = h
        .settled(&["c-html".to_string()], Duration::from_secs(30))
        .await;
    assert_all_applied(&h, &decisions, true);
}

#[tokio::test]
async fn a_refused_reply_is_recorded_with_meta_reason_and_the_hide_still_happens() {
    let h = start().await;
    h.fake.fail_next(
        "reply",
        1,
        Fault::graph_error(400, 100, "(#100) Unsupported post request"),
    );
    h.fake.fail_next(
        "hide",
        1,
        Fault::graph_error(400, 10, "(#10) Application does not have permission"),
    );
    h.post_comment("c-refused", SCAM, "ana").await;
    let mut decisions = h
        .settled(&["c-refused".to_string()], Duration::from_secs(20))
        .await;
    // The refusals were about that comment only: the next one is handled normally.
    h.post_comment("c-fine", SCAM, "bob").await;
    decisions.extend(
        h.settled(&["c-fine".to_string()], Duration::from_secs(20))
            .await,
    );

    let refused = decisions
        .iter()
        .find(|d| d.comment_id == "c-refused")
        .unwrap();
    let reply = action(refused, ActionKind::Reply);
    assert_eq!(reply.state, ActionState::Failed);
    let reason = reply.last_error.as_deref().unwrap_or_default();
    assert!(reason.contains("Unsupported post request"), "{reason}");
    assert_eq!(reply.attempts, 1, "a refusal is not retried");
    let hide = action(refused, ActionKind::Hide);
    assert_eq!(hide.state, ActionState::Failed);
    assert!(
        hide.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("does not have permission"),
        "{hide:?}"
    );
    assert_eq!(refused.outcome(), "failed");
    assert!(h.fake.replies_to("c-refused").is_empty());

    let fine = decisions.iter().find(|d| d.comment_id == "c-fine").unwrap();
    assert_all_applied(&h, std::slice::from_ref(fine), true);
}

#[tokio::test]
async fn a_mixed_storm_of_faults_leaves_nothing_pending_and_no_double_reply() {
    let h = start().await;
    for fault in [
        Fault::server_error(),
        Fault::drop_connection(),
        Fault::non_json(502),
        Fault::apply_then(500),
        Fault::delay(Duration::from_millis(1500)),
        Fault::server_error(),
        Fault::apply_then(503),
        Fault::drop_connection(),
    ] {
        h.fake.fail_next("*", 2, fault);
    }
    let ids: Vec<String> = (0..12).map(|i| format!("c-storm-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let text = if i % 2 == 0 { SCAM } else { SPAM };
        h.post_comment(id, text, &format!("user{i}")).await;
    }
    let decisions = h.settled(&ids, Duration::from_secs(40)).await;
    // Let a slow request (the 1.5 s delays) land before counting replies.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for d in &decisions {
        assert_all_applied(
            &h,
            std::slice::from_ref(d),
            d.actions.contains(&"reply".into()),
        );
    }
    let inbox = h.app.store.inbox_stats().await.unwrap();
    assert_eq!((inbox.pending, inbox.failed), (0, 0), "{inbox:?}");
}
