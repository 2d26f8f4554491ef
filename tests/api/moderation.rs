//! From a signed webhook to the right Graph API calls, exactly once (issue 4). The service runs
//! on port 0 against the fake Graph API, with the rules in tests/fixtures/moderation-rules.

use std::path::Path;
use std::time::Duration;

use commentguard::store::{ActionState, DecisionFilter, DecisionRow};

use crate::helpers::*;
use crate::support::fake_graph::{FakeGraph, Fault};

const ACCOUNT: &str = "17841400000000000";
const TOKEN: &str = "page-token-for-tests";
const WAIT: Duration = Duration::from_secs(20);

async fn moderating_app(fake: &FakeGraph, extra: &[(&str, &str)]) -> TestApp {
    fake.set_app_secret(APP_SECRET);
    let mut env = vec![
        ("COMMENTGUARD_GRAPH_URL".to_string(), fake.url()),
        (
            "COMMENTGUARD_GRAPH_VERSION".to_string(),
            "v23.0".to_string(),
        ),
        ("COMMENTGUARD_ACCESS_TOKEN".to_string(), TOKEN.to_string()),
        // Short timeout and retry steps keep the tests quick; the schedule's shape is the same.
        ("COMMENTGUARD_GRAPH_TIMEOUT".to_string(), "2s".to_string()),
        ("COMMENTGUARD_RETRY_BASE".to_string(), "100ms".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(AppOptions {
        env,
        rules: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moderation-rules")),
        dir: None,
    })
    .await
}

/// Waits until the comment's decision exists and `done` holds for it.
async fn wait_decision(
    app: &TestApp,
    comment: &str,
    done: impl Fn(&DecisionRow) -> bool,
) -> DecisionRow {
    let what = format!("the decision for {comment}");
    crate::wait::wait_until(&what, WAIT, async || {
        let rows = app
            .store
            .list_decisions(&DecisionFilter {
                comment_id: Some(comment.to_string()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        match rows.into_iter().next() {
            Some(d) if done(&d) => Ok(d),
            Some(d) => Err(format!("never settled: {d:#?}")),
            None => Err("no decision".into()),
        }
    })
    .await
}

fn settled(d: &DecisionRow) -> bool {
    d.outcome() != "pending"
}

#[tokio::test]
async fn a_scam_comment_is_hidden() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    let body = comment_body(ACCOUNT, "c-scam", "I made $9000 with FOREX", "victim");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let hides = fake.wait_for_calls("hide", 1, WAIT).await;
    assert_eq!(hides[0].object_id, "c-scam");
    assert_eq!(hides[0].param("hide"), Some("true"));
    assert_eq!(hides[0].bearer.as_deref(), Some(TOKEN));
    assert!(!hides[0].token_in_url());
    let d = wait_decision(&app, "c-scam", settled).await;
    assert_eq!(d.rules, vec!["scam-hide"]);
    assert_eq!(d.outcome(), "done");
    assert_eq!(fake.is_hidden("c-scam"), Some(true));
}

#[tokio::test]
async fn a_delete_rule_deletes_the_comment() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-del", "deleteme please", "x"))
        .await;
    fake.wait_for_calls("delete", 1, WAIT).await;
    assert!(fake.is_deleted("c-del"));
    assert!(fake.calls_to("hide").is_empty());
}

#[tokio::test]
async fn the_reply_is_posted_before_the_hide() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(
        ACCOUNT,
        "c-give",
        "GIVEAWAY winner dm me",
        "spammer",
    ))
    .await;
    fake.wait_for_calls("hide", 1, WAIT).await;
    let replies = fake.replies_to("c-give");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].text, "Please ignore giveaway DMs, spammer.");
    let order: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.object_id == "c-give")
        .map(|r| r.endpoint.clone())
        .collect();
    assert_eq!(order, vec!["reply", "hide"]);
}

#[tokio::test]
async fn a_shadow_rule_is_logged_but_calls_nothing() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-shadow", "a shadowword here", "x"))
        .await;
    let d = wait_decision(&app, "c-shadow", |_| true).await;
    assert_eq!(d.rules, vec!["shadow-test"]);
    assert!(d.actions.is_empty());
    assert!(d.action_log.is_empty());
    // A later comment is acted on, so the executor was running all along.
    app.post_signed(&comment_body(ACCOUNT, "c-after", "forex", "x"))
        .await;
    fake.wait_for_calls("hide", 1, WAIT).await;
    assert!(fake.requests().iter().all(|r| r.object_id != "c-shadow"));
}

#[tokio::test]
async fn the_accounts_own_comment_is_never_moderated() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    // Our own reply comes back as a webhook: from.id equals the account (entry.id).
    let own = serde_json::json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1,"changes":[{"field":"comments","value":{
        "from":{"id":ACCOUNT,"username":"brand","self_ig_scoped_id":ACCOUNT},
        "media":{"id":"m1","media_product_type":"FEED"},"id":"c-own","text":"forex giveaway deleteme"}}]}]});
    app.post_signed(own.to_string().as_bytes()).await;
    app.post_signed(&comment_body(ACCOUNT, "c-other", "forex", "x"))
        .await;
    fake.wait_for_calls("hide", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.requests().iter().all(|r| r.object_id != "c-own"));
    let rows = app
        .store
        .list_decisions(&DecisionFilter {
            comment_id: Some("c-own".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn a_mention_is_fetched_and_answered_through_the_mentions_edge() {
    let fake = FakeGraph::start().await;
    fake.set_mentioned_comment("c-men", "We love this brand!", "fan", "m-their");
    let app = moderating_app(&fake, &[]).await;
    let body = serde_json::json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1,"changes":[
        {"field":"mentions","value":{"comment_id":"c-men","media_id":"m-their"}}]}]});
    app.post_signed(body.to_string().as_bytes()).await;
    fake.wait_until(WAIT, || !fake.mention_replies().is_empty())
        .await;
    let sent = fake.calls_to("mention_reply");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].object_id, ACCOUNT);
    assert_eq!(sent[0].param("media_id"), Some("m-their"));
    assert_eq!(sent[0].param("comment_id"), Some("c-men"));
    assert_eq!(sent[0].param("message"), Some("Thank you!"));
    let d = wait_decision(&app, "c-men", settled).await;
    assert_eq!(d.kind, commentguard::store::DecisionKind::Mention);
    assert_eq!(d.text.as_deref(), Some("We love this brand!"));
}

#[tokio::test]
async fn a_batch_slowed_by_graph_hands_back_what_it_did_not_reach_and_nothing_is_done_twice() {
    // Forty mentions in one delivery land in one batch; each one's text takes 1.5 s to fetch,
    // 8 at a time. All forty (7.5 s) would outlast the claim (3 Graph timeouts: 6 s here), and
    // another worker would take the same mentions and fetch them again. The batch stops
    // starting new ones after a third of the claim and hands the rest back instead.
    let fake = FakeGraph::start().await;
    let ids: Vec<String> = (0..40).map(|i| format!("c-slow-{i}")).collect();
    for id in &ids {
        fake.set_mentioned_comment(id, "We love this brand!", "fan", "m-their");
    }
    fake.fail_next(
        "mentioned_comment",
        ids.len(),
        Fault::delay(Duration::from_millis(1500)),
    );
    let app = moderating_app(&fake, &[]).await;
    let changes: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"field":"mentions","value":{"comment_id":id,"media_id":"m-their"}}))
        .collect();
    let body = serde_json::json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1,"changes":changes}]});
    assert_eq!(
        app.post_signed(body.to_string().as_bytes()).await.status(),
        200
    );

    fake.wait_until(Duration::from_secs(60), || {
        fake.mention_replies().len() >= ids.len()
    })
    .await;
    for id in &ids {
        let d = wait_decision(&app, id, settled).await;
        assert_eq!(d.kind, commentguard::store::DecisionKind::Mention);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fake.calls_to("mentioned_comment").len(),
        ids.len(),
        "each mention's text fetched once"
    );
    assert_eq!(
        fake.calls_to("mention_reply").len(),
        ids.len(),
        "each mention answered once"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_is_acted_on_once() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    let body = comment_body(ACCOUNT, "c-twice", "free GIVEAWAY", "x");
    for _ in 0..3 {
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    fake.wait_for_calls("hide", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.replies_to("c-twice").len(), 1);
    assert_eq!(fake.calls_to("hide").len(), 1);
}

#[tokio::test]
async fn a_server_error_is_retried_until_the_hide_lands() {
    let fake = FakeGraph::start().await;
    fake.fail_next("hide", 1, Fault::server_error());
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-5xx", "forex", "x"))
        .await;
    fake.wait_until(WAIT, || fake.is_hidden("c-5xx") == Some(true))
        .await;
    assert_eq!(fake.calls_to("hide").len(), 2);
    let d = wait_decision(&app, "c-5xx", settled).await;
    assert_eq!(d.action_log[0].state, ActionState::Done);
    assert_eq!(d.action_log[0].attempts, 2);
}

#[tokio::test]
async fn a_rate_limit_pauses_calls_and_the_action_is_retried() {
    let fake = FakeGraph::start().await;
    fake.fail_next("hide", 1, Fault::rate_limited(4, 0));
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-rl", "forex", "x"))
        .await;
    let first = fake.wait_for_calls("hide", 1, WAIT).await;
    fake.wait_until(Duration::from_secs(90), || {
        fake.is_hidden("c-rl") == Some(true)
    })
    .await;
    let calls = fake.calls_to("hide");
    assert_eq!(calls.len(), 2, "one refused call, then one that landed");
    assert!(calls[1].at.duration_since(first[0].at) >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_reply_meta_created_but_answered_500_is_not_posted_twice() {
    let fake = FakeGraph::start().await;
    fake.fail_next("reply", 1, Fault::apply_then(500));
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-dup-reply", "giveaway", "x"))
        .await;
    fake.wait_for_calls("hide", 1, WAIT).await;
    assert_eq!(
        fake.replies_to("c-dup-reply").len(),
        1,
        "the reply exists once"
    );
    assert_eq!(fake.calls_to("reply").len(), 1, "it was never posted again");
    assert!(
        !fake.calls_to("replies").is_empty(),
        "the retry looked for it first"
    );
    let d = wait_decision(&app, "c-dup-reply", settled).await;
    assert!(
        d.action_log.iter().all(|a| a.state == ActionState::Done),
        "{d:#?}"
    );
    assert!(d.action_log[0].result_id.is_some());
}

#[tokio::test]
async fn an_expired_token_stops_calls_without_a_storm() {
    let fake = FakeGraph::start().await;
    fake.revoke_token(TOKEN);
    let app = moderating_app(&fake, &[]).await;
    for i in 0..5 {
        app.post_signed(&comment_body(ACCOUNT, &format!("c-190-{i}"), "forex", "x"))
            .await;
    }
    fake.wait_for_calls("hide", 1, WAIT).await;
    for i in 0..5 {
        wait_decision(&app, &format!("c-190-{i}"), |d| {
            d.action_log
                .first()
                .is_some_and(|a| a.attempts >= 1 && a.last_error.is_some())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fake.calls_to("hide").len(),
        1,
        "one call met the 190; the rest never left"
    );
    let d = wait_decision(&app, "c-190-4", |_| true).await;
    assert_eq!(
        d.action_log[0].state,
        ActionState::Pending,
        "kept for when the token is replaced"
    );
    assert!(d.action_log[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("190"));
}

#[tokio::test]
async fn dry_run_decides_and_logs_but_calls_nothing() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[("COMMENTGUARD_DRY_RUN", "true")]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-dry", "forex giveaway", "x"))
        .await;
    let d = wait_decision(&app, "c-dry", |_| true).await;
    assert_eq!(d.actions, vec!["reply", "hide"]);
    assert_eq!(d.outcome(), "skipped");
    assert!(d.note.as_deref().unwrap().contains("dry run"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn live_comments_are_decided_but_not_hidden() {
    let fake = FakeGraph::start().await;
    let app = moderating_app(&fake, &[]).await;
    let body = serde_json::json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1,"changes":[{"field":"live_comments","value":{
        "from":{"id":"9","username":"x"},"media":{"id":"m-live","media_product_type":"LIVE"},"id":"c-live","text":"forex"}}]}]});
    app.post_signed(body.to_string().as_bytes()).await;
    let d = wait_decision(&app, "c-live", |_| true).await;
    assert_eq!(d.actions, vec!["hide"]);
    assert_eq!(d.outcome(), "skipped");
    assert!(d.note.as_deref().unwrap().contains("live"));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_restart_in_the_middle_of_retries_resumes_the_schedule() {
    let fake = FakeGraph::start().await;
    fake.fail_next("hide", 1, Fault::server_error());
    let app = moderating_app(&fake, &[]).await;
    app.post_signed(&comment_body(ACCOUNT, "c-restart", "forex", "x"))
        .await;
    fake.wait_for_calls("hide", 1, WAIT).await;
    wait_decision(&app, "c-restart", |d| d.action_log[0].last_error.is_some()).await;
    let dir = app.stop().await;
    assert_eq!(fake.is_hidden("c-restart"), None);
    let env = vec![
        ("COMMENTGUARD_GRAPH_URL".to_string(), fake.url()),
        ("COMMENTGUARD_ACCESS_TOKEN".to_string(), TOKEN.to_string()),
    ];
    let app = spawn_app_with(AppOptions {
        env,
        rules: None,
        dir: Some(dir),
    })
    .await;
    fake.wait_until(WAIT, || fake.is_hidden("c-restart") == Some(true))
        .await;
    let d = wait_decision(&app, "c-restart", settled).await;
    assert_eq!(d.action_log[0].attempts, 2);
    assert_eq!(fake.calls_to("hide").len(), 2);
}

/// The shipped pack's impersonation rule, with the account's own username read from the Graph
/// API: an account named like the brand that answers a complaint is hidden, a fan account and a
/// customer tagging the brand are not, and the username is asked once, not per comment.
#[tokio::test]
async fn an_impersonator_of_the_account_is_hidden_and_its_fans_are_not() {
    let fake = FakeGraph::start().await;
    fake.set_own_username("acme");
    fake.set_app_secret(APP_SECRET);
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".to_string(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".to_string(), TOKEN.to_string()),
            ("COMMENTGUARD_RETRY_BASE".to_string(), "100ms".to_string()),
        ],
        rules: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")),
        dir: None,
    })
    .await;
    let comments = [
        (
            "c-fan",
            "obsessed with this drop, need it in every colour",
            "acme.fanclub",
        ),
        (
            "c-customer",
            "@acme my parcel never arrived, can you help?",
            "anna_b",
        ),
        (
            "c-imp",
            "Sorry for the trouble! Please DM us your order number for a full refund",
            "acme.support.help",
        ),
    ];
    for (id, text, user) in comments {
        assert_eq!(
            app.post_signed(&comment_body(ACCOUNT, id, text, user))
                .await
                .status(),
            200
        );
    }
    let hides = fake.wait_for_calls("hide", 1, WAIT).await;
    assert_eq!(hides[0].object_id, "c-imp");
    let d = wait_decision(&app, "c-imp", settled).await;
    assert!(d.rules.iter().any(|r| r == "impersonator"), "{:?}", d.rules);
    for id in ["c-fan", "c-customer"] {
        let d = wait_decision(&app, id, settled).await;
        assert!(
            d.rules.iter().all(|r| r != "impersonator"),
            "{id}: {:?}",
            d.rules
        );
    }
    assert!(fake.calls_to("hide").iter().all(|h| h.object_id == "c-imp"));
    let asked = fake.calls_to("username");
    assert_eq!(asked.len(), 1, "the username is cached per account");
    assert_eq!(asked[0].object_id, ACCOUNT);
}
