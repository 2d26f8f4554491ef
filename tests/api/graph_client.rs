//! The Graph API client against the fake Graph API: paths, parameters, secrets, errors and
//! the per-account governor.

use std::time::Duration;

use commentguard::graph::{
    parse_insights, AccountCtx, GraphClient, GraphError, STORY_NAVIGATION_BREAKDOWN,
};
use commentguard::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::support::fake_graph::{FakeGraph, Fault};

const ACCOUNT: &str = "17841400000000000";
const TOKEN: &str = "EAAG-test-token-0123456789";

fn ctx(token: &str) -> AccountCtx {
    AccountCtx {
        account_id: ACCOUNT.to_string(),
        token: Secret::new(token),
    }
}

async fn setup() -> (FakeGraph, GraphClient) {
    let fake = FakeGraph::start().await;
    let client = GraphClient::new(fake.config());
    (fake, client)
}

fn proof(token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(FakeGraph::APP_SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn hide_posts_to_the_comment_with_bearer_token_and_appsecret_proof() {
    let (fake, client) = setup().await;
    fake.require_appsecret_proof(true);
    client.hide(&ctx(TOKEN), "1790001", true).await.unwrap();

    let calls = fake.calls_to("hide");
    assert_eq!(calls.len(), 1);
    let r = &calls[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v23.0/1790001");
    assert_eq!(r.param("hide"), Some("true"));
    assert_eq!(r.bearer.as_deref(), Some(TOKEN));
    assert_eq!(r.appsecret_proof.as_deref(), Some(proof(TOKEN).as_str()));
    assert!(!r.token_in_url());
    assert!(!r.raw_query.contains(TOKEN));
    assert_eq!(fake.is_hidden("1790001"), Some(true));
}

#[tokio::test]
async fn unhide_and_delete_reach_their_endpoints() {
    let (fake, client) = setup().await;
    client.hide(&ctx(TOKEN), "c1", false).await.unwrap();
    client.delete(&ctx(TOKEN), "c2").await.unwrap();

    let unhide = &fake.calls_to("unhide")[0];
    assert_eq!(unhide.param("hide"), Some("false"));
    assert_eq!(fake.is_hidden("c1"), Some(false));
    let delete = &fake.calls_to("delete")[0];
    assert_eq!(
        (delete.method.as_str(), delete.path.as_str()),
        ("DELETE", "/v23.0/c2")
    );
    assert_eq!(
        delete.appsecret_proof.as_deref(),
        Some(proof(TOKEN).as_str())
    );
    assert!(fake.is_deleted("c2"));
}

#[tokio::test]
async fn reply_sends_the_message_in_the_body_and_returns_the_new_id() {
    let (fake, client) = setup().await;
    let id = client
        .reply(&ctx(TOKEN), "c1", "Thanks & welcome! 🎉")
        .await
        .unwrap();

    let r = &fake.calls_to("reply")[0];
    assert_eq!(r.path, "/v23.0/c1/replies");
    assert_eq!(
        r.form.get("message").map(String::as_str),
        Some("Thanks & welcome! 🎉")
    );
    assert!(
        r.raw_query.is_empty(),
        "nothing in the URL: {}",
        r.raw_query
    );
    let stored = fake.replies_to("c1");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
}

#[tokio::test]
async fn list_replies_follows_cursors_and_never_the_next_url() {
    let (fake, client) = setup().await;
    fake.set_page_size(2);
    for i in 0..5 {
        fake.add_reply("c1", &format!("reply {i}"), "someone");
    }
    let replies = client.list_replies(&ctx(TOKEN), "c1").await.unwrap();

    assert_eq!(replies.len(), 5);
    assert_eq!(replies[0].text, "reply 4", "newest first");
    assert_eq!(replies[4].username.as_deref(), Some("someone"));
    let calls = fake.calls_to("replies");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].param("fields"), Some("id,text,username"));
    assert_eq!(calls[1].param("after"), Some("2"));
    assert!(calls
        .iter()
        .all(|c| c.path == "/v23.0/c1/replies" && !c.token_in_url()));
}

#[tokio::test]
async fn mentions_are_fetched_and_answered() {
    let (fake, client) = setup().await;
    fake.set_mentioned_comment("cm1", "Shout out to @brand", "fan", "m1");
    fake.set_mentioned_media("m2", "brand headquarters!", "other");

    let c = client
        .mentioned_comment(&ctx(TOKEN), ACCOUNT, "cm1")
        .await
        .unwrap();
    assert_eq!(c.id, "cm1");
    assert_eq!(c.text, "Shout out to @brand");
    assert_eq!(c.username.as_deref(), Some("fan"));
    assert_eq!(c.media_id.as_deref(), Some("m1"));
    assert!(c.timestamp.is_some());
    let r = &fake.calls_to("mentioned_comment")[0];
    assert_eq!(r.path, format!("/v23.0/{ACCOUNT}"));
    assert_eq!(
        r.param("fields"),
        Some("mentioned_comment.comment_id(cm1){id,text,username,timestamp,media{id}}")
    );

    let m = client
        .mentioned_media(&ctx(TOKEN), ACCOUNT, "m2")
        .await
        .unwrap();
    assert_eq!(m.caption.as_deref(), Some("brand headquarters!"));
    assert_eq!(m.media_type.as_deref(), Some("IMAGE"));

    let id1 = client
        .mention_reply(&ctx(TOKEN), ACCOUNT, "m1", Some("cm1"), "Thank you!")
        .await
        .unwrap();
    client
        .mention_reply(&ctx(TOKEN), ACCOUNT, "m2", None, "Thanks for the post")
        .await
        .unwrap();
    let sent = fake.mention_replies();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].id, id1);
    assert_eq!(sent[0].comment_id.as_deref(), Some("cm1"));
    assert_eq!(sent[1].comment_id, None);
    assert_eq!(sent[1].media_id, "m2");
    assert_eq!(
        fake.calls_to("mention_reply")[0].path,
        format!("/v23.0/{ACCOUNT}/mentions")
    );
}

#[tokio::test]
async fn an_unknown_mentioned_comment_is_a_permanent_error() {
    let (_fake, client) = setup().await;
    let e = client
        .mentioned_comment(&ctx(TOKEN), ACCOUNT, "nope")
        .await
        .unwrap_err();
    assert!(
        matches!(e, GraphError::Permanent { code: 100, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn stories_come_with_unix_timestamps() {
    let (fake, client) = setup().await;
    fake.add_story(ACCOUNT, "s1", 1_700_000_000, "IMAGE");
    fake.add_story(ACCOUNT, "s2", 1_700_003_600, "VIDEO");
    let stories = client.stories(&ctx(TOKEN), ACCOUNT).await.unwrap();

    assert_eq!(stories.len(), 2);
    assert_eq!(stories[0].id, "s1");
    assert_eq!(stories[0].timestamp, 1_700_000_000);
    assert_eq!(stories[1].media_type.as_deref(), Some("VIDEO"));
    let r = &fake.calls_to("stories")[0];
    assert_eq!(r.path, format!("/v23.0/{ACCOUNT}/stories"));
    assert_eq!(r.param("fields"), Some("id,timestamp,media_type"));
}

#[tokio::test]
async fn story_insights_are_returned_raw_and_parse_with_the_navigation_breakdown() {
    let (fake, client) = setup().await;
    fake.set_insights("s1", &[("reach", 17), ("views", 28), ("replies", -1)]);
    fake.set_navigation("s1", &[("tap_forward", 12), ("tap_exit", 1)]);

    let raw = client
        .story_insights(&ctx(TOKEN), "s1", &["reach", "views", "replies"])
        .await
        .unwrap();
    let m = parse_insights(&raw);
    assert_eq!(m["reach"].value, Some(17));
    assert_eq!(m["replies"].value, Some(-1));
    let r = &fake.calls_to("insights")[0];
    assert_eq!(r.path, "/v23.0/s1/insights");
    assert_eq!(r.param("metric"), Some("reach,views,replies"));

    let raw = client
        .story_insights_with_breakdown(
            &ctx(TOKEN),
            "s1",
            &["navigation"],
            Some(STORY_NAVIGATION_BREAKDOWN),
        )
        .await
        .unwrap();
    let nav = &parse_insights(&raw)["navigation"];
    assert_eq!(nav.value, Some(13));
    assert_eq!(nav.breakdown["tap_forward"], 12);
    assert_eq!(
        fake.calls_to("insights")[1].param("breakdown"),
        Some("story_navigation_action_type")
    );
}

#[tokio::test]
async fn a_story_with_too_few_viewers_gives_not_enough_viewers() {
    let (fake, client) = setup().await;
    fake.set_not_enough_viewers("s1", true);
    let e = client
        .story_insights(&ctx(TOKEN), "s1", &["reach"])
        .await
        .unwrap_err();
    assert_eq!(e, GraphError::NotEnoughViewers);
    assert!(!client.account_status(ACCOUNT).token_invalid);
    // Not a rate limit: the next call goes out.
    fake.set_not_enough_viewers("s1", false);
    client
        .story_insights(&ctx(TOKEN), "s1", &["reach"])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_5xx_is_transient_with_the_request_sent() {
    let (fake, client) = setup().await;
    fake.fail_next("hide", 1, Fault::server_error());
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(
        matches!(e, GraphError::Transient { sent: true, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable() && e.outcome_unknown());
    // The next call is not held back.
    client.hide(&ctx(TOKEN), "c1", true).await.unwrap();
    assert_eq!(fake.calls_to("hide").len(), 2);
}

#[tokio::test]
async fn code_4_with_usage_headers_pauses_the_account_without_network() {
    let (fake, client) = setup().await;
    fake.fail_next("hide", 1, Fault::rate_limited(4, 5));
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert_eq!(
        e,
        GraphError::RateLimited {
            code: 4,
            retry_after: Duration::from_secs(300)
        }
    );

    let e = client.delete(&ctx(TOKEN), "c2").await.unwrap_err();
    match e {
        GraphError::RateLimited {
            code: 4,
            retry_after,
        } => {
            assert!(
                retry_after > Duration::from_secs(290) && retry_after <= Duration::from_secs(300)
            )
        }
        other => panic!("expected the pause, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1, "the paused call never left");
    let status = client.account_status(ACCOUNT);
    assert!(status.paused_for.is_some());
    assert_eq!(status.usage_percent, Some(100.0));

    // Another account is not paused.
    let other = AccountCtx {
        account_id: "other".into(),
        token: Secret::new("other-token"),
    };
    client.hide(&other, "c3", true).await.unwrap();
}

#[tokio::test]
async fn usage_at_95_percent_on_a_success_pauses_before_the_limit() {
    let (fake, client) = setup().await;
    fake.set_default_headers(&[(
        "x-business-use-case-usage",
        r#"{"17841400000000000":[{"type":"instagram","call_count":96,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":2}]}"#,
    )]);
    client.hide(&ctx(TOKEN), "c1", true).await.unwrap();
    let e = client.hide(&ctx(TOKEN), "c2", true).await.unwrap_err();
    assert!(
        matches!(e, GraphError::RateLimited { code: 0, .. }),
        "{e:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_expired_token_fails_fast_afterwards_and_a_new_token_works() {
    let (fake, client) = setup().await;
    fake.revoke_token(TOKEN);
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(matches!(e, GraphError::TokenInvalid { .. }), "{e:?}");
    assert!(client.account_status(ACCOUNT).token_invalid);

    for _ in 0..10 {
        let e = client.reply(&ctx(TOKEN), "c1", "hello").await.unwrap_err();
        assert!(matches!(e, GraphError::TokenInvalid { .. }), "{e:?}");
    }
    assert_eq!(fake.requests().len(), 1, "no retry storm");

    client
        .hide(&ctx("EAAG-new-token"), "c1", true)
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.requests()[1].bearer.as_deref(), Some("EAAG-new-token"));
    assert!(!client.account_status(ACCOUNT).token_invalid);
}

#[tokio::test]
async fn code_100_is_permanent_and_keeps_the_reason() {
    let (fake, client) = setup().await;
    fake.fail_next(
        "delete",
        1,
        Fault::graph_error(400, 100, "Unsupported delete request."),
    );
    let e = client.delete(&ctx(TOKEN), "c1").await.unwrap_err();
    assert!(
        matches!(e, GraphError::Permanent { code: 100, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("Unsupported delete request"));
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_wrong_app_secret_is_refused_by_graph() {
    let (fake, client) = setup().await;
    fake.set_app_secret("another-secret");
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(
        matches!(e, GraphError::Permanent { code: 100, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_are_classified_by_status() {
    let (fake, client) = setup().await;
    fake.fail_next("hide", 1, Fault::non_json(502));
    fake.fail_next("hide", 1, Fault::non_json(403));
    let first = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(
        matches!(first, GraphError::Transient { sent: true, .. }),
        "{first:?}"
    );
    let second = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(matches!(second, GraphError::Permanent { .. }), "{second:?}");
}

#[tokio::test]
async fn a_timeout_is_transient_with_an_unknown_outcome() {
    let fake = FakeGraph::start().await;
    let mut config = fake.config();
    config.timeout = Duration::from_millis(200);
    let client = GraphClient::new(config);
    fake.fail_next("reply", 1, Fault::delay(Duration::from_millis(800)));

    let e = client.reply(&ctx(TOKEN), "c1", "hi").await.unwrap_err();
    assert!(
        matches!(e, GraphError::Transient { sent: true, .. }),
        "{e:?}"
    );
    // The slow Graph did create it: this is why a reply is looked up before a retry.
    fake.wait_for(Duration::from_secs(5), |_| {
        !fake.replies_to("c1").is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_is_transient_with_an_unknown_outcome() {
    let (fake, client) = setup().await;
    fake.fail_next("hide", 1, Fault::drop_connection());
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    assert!(
        matches!(e, GraphError::Transient { sent: true, .. }),
        "{e:?}"
    );
    client.hide(&ctx(TOKEN), "c1", true).await.unwrap();
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_surely_not_sent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fake = FakeGraph::start().await;
    let mut config = fake.config();
    config.base_url = format!("http://127.0.0.1:{port}");
    let client = GraphClient::new(config);
    let e = client.reply(&ctx(TOKEN), "c1", "hi").await.unwrap_err();
    assert!(
        matches!(e, GraphError::Transient { sent: false, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_reply_created_then_answered_500_is_found_by_list_replies() {
    let (fake, client) = setup().await;
    fake.fail_next("reply", 1, Fault::apply_then(500));
    let e = client
        .reply(&ctx(TOKEN), "c1", "Please DM us")
        .await
        .unwrap_err();
    assert!(e.outcome_unknown(), "{e:?}");

    let replies = client.list_replies(&ctx(TOKEN), "c1").await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].text, "Please DM us");
    assert_eq!(replies[0].username.as_deref(), Some("brand"));
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    let (fake, client) = setup().await;
    fake.fail_next(
        "hide",
        1,
        Fault::graph_error(400, 100, &format!("Malformed access token {TOKEN}")),
    );
    let e = client.hide(&ctx(TOKEN), "c1", true).await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(&proof(TOKEN)), "{shown}");
}

#[tokio::test]
async fn wait_for_sees_requests_made_by_other_tasks() {
    let (fake, client) = setup().await;
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.hide(&ctx(TOKEN), "c9", true).await
    });
    let calls = fake.wait_for_calls("hide", 1, Duration::from_secs(5)).await;
    assert_eq!(calls[0].object_id, "c9");
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn calls_are_counted_by_endpoint_and_outcome() {
    // The test runtime is single-threaded, so a thread-local recorder sees every call.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let (fake, client) = setup().await;
    client.hide(&ctx(TOKEN), "c1", true).await.unwrap();
    fake.fail_next("reply", 1, Fault::server_error());
    let _ = client.reply(&ctx(TOKEN), "c1", "hi").await;
    fake.revoke_token(TOKEN);
    let _ = client.delete(&ctx(TOKEN), "c1").await;
    let _ = client.delete(&ctx(TOKEN), "c1").await;

    let text = handle.render();
    for line in [
        r#"commentguard_graph_calls_total{endpoint="hide",outcome="ok"} 1"#,
        r#"commentguard_graph_calls_total{endpoint="reply",outcome="transient"} 1"#,
        r#"commentguard_graph_calls_total{endpoint="delete",outcome="token_invalid"} 1"#,
        r#"commentguard_graph_calls_refused_total{endpoint="delete",reason="token_invalid"} 1"#,
        "commentguard_graph_token_invalid_total 1",
        "commentguard_graph_accounts_token_invalid 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("commentguard_graph_call_duration_seconds"),
        "{text}"
    );
}

/// The tests' shared wait gives up at its deadline and says what it last saw.
#[tokio::test]
#[should_panic(expected = "timed out waiting for the answer: still 41")]
async fn wait_until_fails_at_its_deadline_with_what_it_saw() {
    let mut polls = 0;
    let _: () = crate::wait::wait_until("the answer", Duration::from_millis(200), async || {
        polls += 1;
        Err(format!("still {}", 40 + polls.min(1)))
    })
    .await;
}
