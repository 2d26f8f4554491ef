//! Instagram Login accounts (graph.instagram.com, no Facebook Page) beside Facebook Login
//! ones: `connect --instagram-login`, one service moderating both kinds side by side (each
//! account's calls on its own host, webhooks signed with either app's secret), and tokens
//! refreshed before their 60 days end, kept across a restart.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use commentguard::secret::Secret;
use commentguard::store::{now_ms, RenewedToken, SqlStore, TokenStore};

use crate::helpers::{
    comment_body, metric_value, metrics_text, spawn_app_with, AppOptions, TestApp, APP_SECRET,
};
use crate::support::fake_graph::FakeGraph;

const IG_SECRET: &str = "instagram-app-secret-0f9e8d7c6b";
const IG_ACCOUNT: &str = "17841500000000301";
const FB_ACCOUNT: &str = "17841500000000302";
const FB_PAGE: &str = "6000000000000302";
const FB_TOKEN: &str = "EAAGpagetokenfacebooklogin302";
const IG_LONG: &str = "IGAAlonglivedinstagramtoken301";
const ADMIN: &str = "admin-token-for-the-instagram-tests-01";
const WAIT: Duration = Duration::from_secs(20);

const RULES: &str = r#"
[[rule]]
id = "forex"
[rule.when]
words = ["forex"]
[rule.then]
hide = true
reply = "We removed a comment that broke our rules."
"#;

fn rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.toml"), RULES).unwrap();
    dir
}

fn settings_file(dir: &Path) -> String {
    let path = dir.join("commentguard.toml");
    std::fs::write(
        &path,
        format!(
            "[accounts.{FB_ACCOUNT}]\naccess_token = \"{FB_TOKEN}\"\n\n\
             [accounts.{IG_ACCOUNT}]\naccess_token = \"{IG_LONG}\"\nlogin = \"instagram\"\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

async fn serve_both(
    facebook: &FakeGraph,
    instagram: &FakeGraph,
    config: &str,
    rules: &Path,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_CONFIG".into(), config.into()),
            ("COMMENTGUARD_GRAPH_URL".into(), facebook.url()),
            ("COMMENTGUARD_INSTAGRAM_GRAPH_URL".into(), instagram.url()),
            ("COMMENTGUARD_INSTAGRAM_APP_SECRET".into(), IG_SECRET.into()),
            ("COMMENTGUARD_ADMIN_TOKEN".into(), ADMIN.into()),
            ("COMMENTGUARD_SWEEP_INTERVAL".into(), "1s".into()),
            ("COMMENTGUARD_STORY_POLL".into(), "1s".into()),
        ],
        rules: Some(rules.to_path_buf()),
        dir,
    })
    .await
}

fn fakes_setup(facebook: &FakeGraph, instagram: &FakeGraph) {
    facebook.set_app_secret(APP_SECRET);
    facebook.add_page(FB_PAGE, Some((FB_ACCOUNT, "bigbrand")), FB_TOKEN, true);
    instagram.set_app_secret(IG_SECRET);
    instagram.add_instagram_account(
        IG_ACCOUNT,
        "smallbrand",
        &["comments", "live_comments"],
        "IGshortunused",
        Some(IG_LONG),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_moderates_a_facebook_login_and_an_instagram_login_account_side_by_side() {
    let facebook = FakeGraph::start().await;
    let instagram = FakeGraph::start_instagram().await;
    fakes_setup(&facebook, &instagram);
    let now = now_ms() / 1000;
    // What the sweep and the story poller find on the Instagram Login account.
    instagram.add_media(IG_ACCOUNT, "ig-media-1", now - 3600, "FEED");
    instagram.add_comment(
        "ig-media-1",
        "c-ig-swept",
        "forex signals here",
        "someone",
        now - 60,
    );
    instagram.add_story(IG_ACCOUNT, "ig-story-1", now - 3600, "IMAGE");
    instagram.set_insights("ig-story-1", &[("reach", 40), ("replies", 2)]);
    let files = tempfile::tempdir().unwrap();
    let config = settings_file(files.path());
    let rules = rules_dir();
    let app = serve_both(&facebook, &instagram, &config, rules.path(), None).await;

    // A webhook for each, the Instagram one signed with the Instagram app's secret.
    let fb = comment_body(FB_ACCOUNT, "c-fb", "FOREX pays, DM me", "scammer1");
    assert_eq!(app.post_signed(&fb).await.status(), 200);
    let ig = comment_body(IG_ACCOUNT, "c-ig", "FOREX pays, DM me", "scammer2");
    let sig = commentguard::ingress::signature::sign(&ig, &Secret::new(IG_SECRET));
    assert_eq!(app.post_with_signature(&ig, Some(&sig)).await.status(), 200);

    instagram
        .wait_until(WAIT, || {
            instagram.is_hidden("c-ig") == Some(true)
                && instagram.is_hidden("c-ig-swept") == Some(true)
        })
        .await;
    facebook
        .wait_until(WAIT, || facebook.is_hidden("c-fb") == Some(true))
        .await;
    // Replied once each, on its own host.
    assert_eq!(facebook.replies_to("c-fb").len(), 1);
    assert_eq!(instagram.replies_to("c-ig").len(), 1);
    assert_eq!(instagram.replies_to("c-ig-swept").len(), 1);
    for r in facebook.requests() {
        assert!(
            !r.path.contains("c-ig"),
            "an Instagram Login call reached graph.facebook.com: {}",
            r.path
        );
    }
    for r in instagram.requests() {
        assert!(
            !r.path.contains("c-fb"),
            "a Facebook Login call reached graph.instagram.com: {}",
            r.path
        );
        // Meta documents appsecret_proof for graph.facebook.com only.
        assert!(r.appsecret_proof.is_none(), "{}", r.path);
    }
    let fb_hide = &facebook.calls_to("hide")[0];
    assert_eq!(fb_hide.bearer.as_deref(), Some(FB_TOKEN));
    assert!(fb_hide.appsecret_proof.is_some());
    let ig_hide = instagram
        .calls_to("hide")
        .into_iter()
        .find(|r| r.object_id == "c-ig")
        .unwrap();
    // The settings' token, or the one it was refreshed into at start (its age was unknown).
    let mut issued = instagram.instagram_refreshed();
    issued.push(IG_LONG.to_string());
    assert!(
        issued
            .iter()
            .any(|t| ig_hide.bearer.as_deref() == Some(t.as_str())),
        "{:?}",
        ig_hide.bearer
    );

    // Story insights of the Instagram Login account, read on its host.
    instagram
        .wait_until(WAIT, || {
            instagram
                .calls_to("insights")
                .iter()
                .any(|r| r.object_id == "ig-story-1")
        })
        .await;
    assert!(facebook
        .calls_to("stories")
        .iter()
        .all(|r| r.object_id != IG_ACCOUNT));

    // Each account's subscription asked where it lives.
    let status = status_of(&app, |s| {
        s["accounts"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| !x["subscription"].is_null()))
    })
    .await;
    let by_id = |id: &str| {
        status["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account_id"] == id)
            .unwrap()
            .clone()
    };
    let igs = by_id(IG_ACCOUNT);
    assert_eq!(igs["subscription"]["complete"], true, "{status}");
    assert!(igs["subscription"]["page_id"].is_null(), "{status}");
    let fbs = by_id(FB_ACCOUNT);
    assert_eq!(fbs["subscription"]["page_id"], FB_PAGE, "{status}");
    assert_eq!(fbs["subscription"]["complete"], true, "{status}");
    assert!(instagram
        .calls_to("page_apps")
        .iter()
        .any(|r| r.object_id == IG_ACCOUNT));
}

async fn status_of(app: &TestApp, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    crate::helpers::status_when(app, ADMIN, WAIT, ready).await
}

/// A token 55 days old (5 days left) is refreshed; the new one is used, and still used after
/// a restart without another refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instagram_login_token_55_days_old_is_refreshed_and_the_new_one_used_after_a_restart() {
    let facebook = FakeGraph::start().await;
    let instagram = FakeGraph::start_instagram().await;
    fakes_setup(&facebook, &instagram);
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let config = settings_file(files.path());
    let rules = rules_dir();
    // The database as `connect` left it 55 days ago.
    {
        let store = SqlStore::connect(&format!("sqlite:{}", dir.path().join("cg.db").display()))
            .await
            .unwrap();
        store
            .put_renewed_token(&RenewedToken {
                account_id: IG_ACCOUNT.into(),
                token: Secret::new(IG_LONG),
                expires_at: now_ms() + 5 * 86_400_000,
                renewed_at: now_ms() - 55 * 86_400_000,
            })
            .await
            .unwrap();
    }
    let app = serve_both(&facebook, &instagram, &config, rules.path(), Some(dir)).await;
    instagram
        .wait_until(WAIT, || instagram.instagram_refreshed().len() == 1)
        .await;
    let fresh = instagram.instagram_refreshed()[0].clone();
    // The refresh sent the old token, as Meta documents, and never printed it.
    let refresh = &instagram.calls_to("ig_refresh")[0];
    assert_eq!(refresh.param("access_token"), Some(IG_LONG));
    let ig = comment_body(IG_ACCOUNT, "c-ig-1", "FOREX pays", "scammer");
    let sig = commentguard::ingress::signature::sign(&ig, &Secret::new(IG_SECRET));
    assert_eq!(app.post_with_signature(&ig, Some(&sig)).await.status(), 200);
    instagram
        .wait_until(WAIT, || instagram.is_hidden("c-ig-1") == Some(true))
        .await;
    let hide = instagram
        .calls_to("hide")
        .into_iter()
        .find(|r| r.object_id == "c-ig-1")
        .unwrap();
    assert_eq!(hide.bearer.as_deref(), Some(fresh.as_str()));
    let metrics = metrics_text(&app).await;
    let left = metric_value(
        &metrics,
        &format!("commentguard_token_expires_in_seconds{{account=\"{IG_ACCOUNT}\"}}"),
    )
    .expect("the metric is there");
    assert!(left > 59.0 * 86400.0, "{left}");

    // Restart on the same database: the new token, no second refresh.
    let dir = app.stop().await;
    let app = serve_both(&facebook, &instagram, &config, rules.path(), Some(dir)).await;
    let ig = comment_body(IG_ACCOUNT, "c-ig-2", "FOREX pays", "scammer");
    let sig = commentguard::ingress::signature::sign(&ig, &Secret::new(IG_SECRET));
    assert_eq!(app.post_with_signature(&ig, Some(&sig)).await.status(), 200);
    instagram
        .wait_until(WAIT, || instagram.is_hidden("c-ig-2") == Some(true))
        .await;
    let hide = instagram
        .calls_to("hide")
        .into_iter()
        .find(|r| r.object_id == "c-ig-2")
        .unwrap();
    assert_eq!(hide.bearer.as_deref(), Some(fresh.as_str()));
    assert_eq!(instagram.instagram_refreshed().len(), 1);
}

fn run_connect(instagram_url: &str, dir: &Path, stdin: &str) -> Output {
    crate::connect::run_connect_with(
        &[
            "--instagram-login".into(),
            "--config".into(),
            dir.join("commentguard.toml").display().to_string(),
        ],
        &[
            (
                "COMMENTGUARD_INSTAGRAM_GRAPH_URL",
                instagram_url.to_string(),
            ),
            ("COMMENTGUARD_INSTAGRAM_APP_SECRET", IG_SECRET.to_string()),
            (
                "COMMENTGUARD_DATABASE_URL",
                format!("sqlite:{}", dir.join("cg.db").display()),
            ),
        ],
        stdin,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_instagram_login_subscribes_the_account_and_keeps_the_tokens_expiry() {
    let instagram = FakeGraph::start_instagram().await;
    instagram.set_app_secret(IG_SECRET);
    instagram.add_instagram_account(IG_ACCOUNT, "smallbrand", &[], "IGshort301", None);
    let dir = tempfile::tempdir().unwrap();
    let (url, path) = (instagram.url(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || run_connect(&url, &path, "IGshort301\n"))
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("@smallbrand"), "{said}");
    assert!(said.contains("subscribed now"), "{said}");
    assert_eq!(
        instagram.instagram_subscribed(IG_ACCOUNT),
        ["comments", "live_comments"]
    );
    for secret in ["IGshort301", "IGLONG", IG_SECRET] {
        assert!(!said.contains(secret), "{secret} printed: {said}");
    }
    let written = std::fs::read_to_string(dir.path().join("commentguard.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&written).unwrap();
    let account = &parsed["accounts"][IG_ACCOUNT];
    assert_eq!(account["login"].as_str(), Some("instagram"));
    assert!(account["access_token"]
        .as_str()
        .unwrap()
        .starts_with("IGLONG"));
    assert_eq!(account["username"].as_str(), Some("smallbrand"));
    assert!(account.get("page_id").is_none());
    // The token's expiry is kept where serve's refresher reads it.
    let store = SqlStore::connect(&format!("sqlite:{}", dir.path().join("cg.db").display()))
        .await
        .unwrap();
    let kept = store.renewed_tokens().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].account_id, IG_ACCOUNT);
    let days = (kept[0].expires_at - now_ms()) / 86_400_000;
    assert!((59..=60).contains(&days), "{days}");
}
