//! The link to Meta as serve watches it: the subscription check asks the edges Meta answers
//! for Facebook Login (the app's `/{app-id}/subscriptions`, the Page's `/subscribed_apps`), and
//! every token's expiry and scopes are inspected with `debug_token`. Seen from outside: the
//! status endpoint, the metrics, and what reached the fake Graph API.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{
    metric_value, metrics_text, review_html, spawn_app_with, AppOptions, TestApp, APP_SECRET,
};
use crate::support::fake_graph::{FakeGraph, Fault};
use crate::support::fake_meta::ALL_SCOPES;

const ADMIN: &str = "admin-token-for-the-meta-link-tests-0123";

/// An Instagram account of its own for each test, linked to a Page of its own with the app
/// installed or not: the metrics are one registry for every service in this process, so
/// their labels must not meet. Returns the account, its Page and the Page's token.
fn linked(fake: &FakeGraph, n: u32, installed: bool) -> (String, String, String) {
    let account = format!("178415000000{n:05}");
    let page = format!("500000000{n:05}");
    let token = format!("EAAGpagetoken{n:05}x");
    fake.add_page(&page, Some((&account, "brand")), &token, installed);
    (account, page, token)
}

async fn serve(fake: &FakeGraph, account: &str, token: &str, extra: &[(&str, &str)]) -> TestApp {
    fake.set_app_secret(APP_SECRET);
    let mut env: Vec<(String, String)> = vec![
        ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
        ("COMMENTGUARD_ACCESS_TOKEN".into(), token.into()),
        ("COMMENTGUARD_ACCOUNT_IDS".into(), account.into()),
        ("COMMENTGUARD_ADMIN_TOKEN".into(), ADMIN.into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_app_with(AppOptions {
        env,
        ..Default::default()
    })
    .await
}

/// The status endpoint once `key` of the account ("subscription", "token") is there.
async fn status_with(app: &TestApp, key: &str) -> Value {
    crate::helpers::status_when(app, ADMIN, Duration::from_secs(15), |s| {
        !s["accounts"][0][key].is_null()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_check_asks_the_app_and_the_page_not_the_instagram_account() {
    let fake = FakeGraph::start().await;
    let (account, page, token) = linked(&fake, 1, true);
    let app = serve(&fake, &account, &token, &[]).await;
    let status = status_with(&app, "subscription").await;
    let sub = &status["accounts"][0]["subscription"];
    assert_eq!(sub["complete"], true, "{status}");
    assert_eq!(sub["page_id"], page.as_str(), "{status}");
    assert_eq!(sub["app_installed"], true, "{status}");
    assert_eq!(status["app"]["app_id"], FakeGraph::APP_ID, "{status}");
    assert_eq!(status["app"]["active"], true, "{status}");
    assert_eq!(
        status["app"]["callback_url"],
        "https://commentguard.example/webhook"
    );

    // The app's subscription was read with the app token, the Page's apps with the Page's.
    let app_subs = fake.calls_to("app_subscriptions");
    assert!(!app_subs.is_empty());
    assert_eq!(
        app_subs[0].bearer.as_deref(),
        Some(format!("{}|{APP_SECRET}", FakeGraph::APP_ID).as_str())
    );
    let page_apps = fake.calls_to("page_apps");
    assert_eq!(page_apps[0].object_id, page.as_str());
    // The edge of the other API is never asked.
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.ends_with(&format!("{account}/subscribed_apps"))),
        "asked /{{ig-user-id}}/subscribed_apps"
    );
    let m = metrics_text(&app).await;
    assert_eq!(
        metric_value(
            &m,
            &format!("commentguard_subscription_app_installed{{account=\"{account}\"}}")
        ),
        Some(1.0)
    );
}

/// The most common cause of "no webhooks arrive": the app never installed on the Page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_the_app_installed_shows_that_nothing_arrives_for_the_account() {
    let fake = FakeGraph::start().await;
    let (account, page, token) = linked(&fake, 2, false);
    let app = serve(
        &fake,
        &account,
        &token,
        &[("COMMENTGUARD_APP_ID", FakeGraph::APP_ID)],
    )
    .await;
    let status = status_with(&app, "subscription").await;
    let sub = &status["accounts"][0]["subscription"];
    assert_eq!(sub["app_installed"], false, "{status}");
    assert_eq!(sub["page_id"], page.as_str(), "{status}");
    assert_eq!(sub["complete"], false, "{status}");
    assert_eq!(
        sub["missing"],
        serde_json::json!(["comments", "live_comments", "mentions", "story_insights"])
    );
    // serve reports; it does not change the Page (that is `connect`'s job).
    assert!(fake.calls_to("install_app").is_empty());
    // The app id was set: Meta was not asked for it.
    assert!(fake.calls_to("app").is_empty());
    let m = metrics_text(&app).await;
    assert_eq!(
        metric_value(
            &m,
            &format!("commentguard_subscription_app_installed{{account=\"{account}\"}}")
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_value(
            &m,
            &format!("commentguard_subscription_missing_fields{{account=\"{account}\"}}")
        ),
        Some(4.0)
    );
    let html = review_html(&app, ADMIN, "").await;
    assert!(
        html.contains(&format!("Instagram sends no notifications for account {account}: the app is not installed on its Facebook Page ({page})")),
        "{html}"
    );
}

/// With a user token, the Page and its own token come from `/me/accounts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_user_token_the_page_is_found_among_the_pages_it_manages() {
    let fake = FakeGraph::start().await;
    let account = "17841500000000003".to_string();
    const USER_TOKEN: &str = "EAAGusertoken98765";
    fake.add_page("2000000000000002", None, "EAAGotherpage", false);
    fake.add_page(
        "3000000000000003",
        Some((account.as_str(), "brand")),
        "EAAGbrandpage",
        true,
    );
    fake.add_user_token(
        USER_TOKEN,
        &ALL_SCOPES,
        &["2000000000000002", "3000000000000003"],
    );
    let app = serve(&fake, &account, USER_TOKEN, &[]).await;
    let status = status_with(&app, "subscription").await;
    let sub = &status["accounts"][0]["subscription"];
    assert_eq!(sub["page_id"], "3000000000000003", "{status}");
    assert_eq!(sub["complete"], true, "{status}");
    let page_apps = fake.calls_to("page_apps");
    assert_eq!(page_apps[0].bearer.as_deref(), Some("EAAGbrandpage"));
}

/// An error from Meta is reported as Meta's words, not as a missing subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_from_meta_is_reported_in_metas_words() {
    let fake = FakeGraph::start().await;
    let (account, _page, token) = linked(&fake, 4, true);
    fake.fail_next(
        "page_apps",
        1000,
        Fault::graph_error(
            403,
            10,
            "(#10) Application does not have permission for this action",
        ),
    );
    let app = serve(&fake, &account, &token, &[]).await;
    let status = status_with(&app, "subscription").await;
    let sub = &status["accounts"][0]["subscription"];
    assert!(
        sub["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Application does not have permission for this action"),
        "{status}"
    );
    assert_eq!(sub["missing"], serde_json::json!([]), "{status}");
    assert_eq!(sub["complete"], false, "{status}");
    let m = metrics_text(&app).await;
    assert_eq!(
        metric_value(
            &m,
            &format!("commentguard_subscription_check_ok{{account=\"{account}\"}}")
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_lapsing_in_five_days_raises_the_metric_and_shows_on_the_status() {
    let fake = FakeGraph::start().await;
    let (account, _page, token) = linked(&fake, 5, true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    fake.set_token_expiry(token.as_str(), now + 5 * 86400 + 600);
    let app = serve(&fake, &account, &token, &[]).await;
    let status = status_with(&app, "token").await;
    let inspected = &status["accounts"][0]["token"];
    assert_eq!(inspected["valid"], true, "{status}");
    assert_eq!(inspected["lapses_in_days"], 5, "{status}");
    assert!(
        inspected["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("lapses in 5 days"),
        "{status}"
    );
    // Inspected with the app token; the inspected token went nowhere else in the URL.
    let debug = fake.calls_to("debug_token");
    assert_eq!(debug[0].param("input_token"), Some(token.as_str()));
    assert_eq!(
        debug[0].bearer.as_deref(),
        Some(format!("{}|{APP_SECRET}", FakeGraph::APP_ID).as_str())
    );
    let m = metrics_text(&app).await;
    let left = metric_value(
        &m,
        &format!("commentguard_token_expires_in_seconds{{account=\"{account}\"}}"),
    )
    .expect("the metric is there");
    assert!(left > 5.0 * 86400.0 && left < 6.0 * 86400.0, "{left}");
    assert!(!m.contains(token.as_str()), "the token is in the metrics");

    // The brand team sees it on the review page, in words, without the token.
    let html = review_html(&app, ADMIN, "").await;
    assert!(html.contains("id=\"token-warning\""), "{html}");
    assert!(
        html.contains(&format!(
            "Account {account}: its access token lapses in 5 days"
        )),
        "{html}"
    );
    assert!(!html.contains(token.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_that_does_not_expire_is_no_problem_and_a_missing_scope_is_named() {
    let fake = FakeGraph::start().await;
    let (account, page, token) = linked(&fake, 6, true);
    let app = serve(&fake, &account, &token, &[]).await;
    let status = status_with(&app, "token").await;
    let token = &status["accounts"][0]["token"];
    assert_eq!(token["type"], "PAGE", "{status}");
    assert!(token["lapses_at"].is_null(), "{status}");
    assert!(token["problem"].is_null(), "{status}");
    let m = metrics_text(&app).await;
    // Infinite (`inf`, which Prometheus reads as +Inf): never below the alert's week.
    assert_eq!(
        metric_value(
            &m,
            &format!("commentguard_token_expires_in_seconds{{account=\"{account}\"}}")
        ),
        Some(f64::INFINITY),
        "{m}"
    );
    drop(app);

    // A user token without the scope that hides comments.
    let fake = FakeGraph::start().await;
    const USER_TOKEN: &str = "EAAGuserwithoutcomments";
    let scopes: Vec<&str> = ALL_SCOPES
        .into_iter()
        .filter(|s| *s != "instagram_manage_comments")
        .collect();
    fake.add_user_token(USER_TOKEN, &scopes, &[page.as_str()]);
    let app = serve(&fake, &account, USER_TOKEN, &[]).await;
    let status = status_with(&app, "token").await;
    let token = &status["accounts"][0]["token"];
    assert_eq!(
        token["missing_scopes"],
        serde_json::json!(["instagram_manage_comments (hiding, deleting and replying)"]),
        "{status}"
    );
    let problem = token["problem"].as_str().unwrap_or_default();
    // A short-lived user token (Graph API Explorer's) lapses within the hour.
    assert!(problem.contains("lapses in 1 hour"), "{problem}");
    assert!(problem.contains("instagram_manage_comments"), "{problem}");
}
