//! Sweeps: the comments no webhook announced, found by listing the account's media on the
//! fake Graph API, go through the same pipeline as webhooks: decided once, acted on once.
//!
//! - `commentguard sweep` (the real binary) over 3 media of 250 comments each (several pages,
//!   replies included, some beyond the inline page), 100 already decided through webhooks,
//!   while the service runs: exactly the other 650 are decided, every scam among them hidden
//!   once, no reply twice; a rate-limit answer in the middle slows it and webhooks sent
//!   meanwhile are still acted on; run again, it finds nothing new;
//! - a sweep stopped half way goes on where it stopped, without listing finished media again;
//! - `serve`'s reconciliation finds a comment whose webhook never came.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use commentguard::store::now_ms;

use crate::faults::{all_decisions, reply_for, start, Harness, ACCESS_TOKEN, ACCOUNT, SCAM};
use crate::helpers::{spawn_app_with, AppOptions, APP_SECRET};
use crate::support::fake_graph::{FakeGraph, Fault};

const MEDIA: [&str; 3] = ["media-a", "media-b", "media-c"];
const PER_MEDIA: usize = 250;

/// Comment `n` of a media: every third is a scam.
fn text_of(n: usize) -> &'static str {
    if n.is_multiple_of(3) {
        SCAM
    } else {
        "love this colour, where can I buy it?"
    }
}

/// 3 media posted in the last days, each with 200 top-level comments and 50 replies (40 of
/// them on one comment: its replies need a page beyond the inline one at page size 30).
/// Returns every comment id with its text.
fn fill(fake: &FakeGraph) -> BTreeMap<String, &'static str> {
    let now = now_ms() / 1000;
    let mut all = BTreeMap::new();
    for (m, media) in MEDIA.iter().enumerate() {
        fake.add_media(ACCOUNT, media, now - 3600 * (m as i64 + 1), "FEED");
        for n in 0..PER_MEDIA {
            let id = format!("17{m}{n:06}");
            let user = format!("user{m}x{n}");
            let t = now - 60 * (PER_MEDIA - n) as i64;
            if n < 200 {
                fake.add_comment(media, &id, text_of(n), &user, t);
            } else {
                // Replies: 40 on the first comment, 10 on the second.
                let parent = if n < 240 {
                    format!("17{m}{:06}", 0)
                } else {
                    format!("17{m}{:06}", 1)
                };
                fake.add_user_reply(&parent, &id, text_of(n), &user, t);
            }
            all.insert(id, text_of(n));
        }
    }
    // An old media, past the window: never listed.
    fake.add_media(ACCOUNT, "media-old", now - 30 * 86_400, "FEED");
    fake.add_comment("media-old", "17999999999", SCAM, "old", now - 30 * 86_400);
    // Newest first in listings: the old one was added last but is oldest.
    all
}

fn sweep_command(h: &Harness, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_commentguard"));
    cmd.arg("sweep")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", h.app.dir.path().join("cg.db").display()),
        )
        // The same rules as the running service (a sweep decides with the rules in force).
        .env("COMMENTGUARD_RULES", h.app.dir.path().join("rules"))
        // Not what this measures: rules freshly copied here would look just edited.
        .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
        .env("COMMENTGUARD_GRAPH_URL", h.fake.url())
        .env("COMMENTGUARD_ACCESS_TOKEN", ACCESS_TOKEN)
        .env("COMMENTGUARD_APP_SECRET", APP_SECRET);
    cmd
}

/// Waits until `want` comments are decided and nothing is pending; returns the decisions.
async fn settle(
    h: &Harness,
    want: usize,
    timeout: Duration,
) -> Vec<commentguard::store::DecisionRow> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = all_decisions(h.app.store.as_ref()).await;
        let pending = all
            .iter()
            .flat_map(|d| &d.action_log)
            .any(|a| a.state == commentguard::store::ActionState::Pending);
        if (all.len() >= want && !pending) || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sweep_moderates_exactly_the_comments_no_webhook_announced() {
    let h = start().await;
    h.fake.set_page_size(30);
    // Meta sends usage headers on every answer; a low figure here.
    h.fake.set_default_headers(&[(
        "x-app-usage",
        r#"{"call_count":5,"total_time":5,"total_cputime":5}"#,
    )]);
    let comments = fill(&h.fake);
    // 100 of them came through webhooks and are decided already.
    let announced: Vec<String> = comments.keys().take(100).cloned().collect();
    for id in &announced {
        h.post_comment(id, comments[id], &format!("hook{id}")).await;
    }
    let before = settle(&h, 100, Duration::from_secs(30)).await;
    assert_eq!(before.len(), 100);
    let hides_before = h.fake.calls_to("hide").len();

    // A rate-limit answer in the middle of the listing: Meta asks for 3 seconds.
    h.fake.fail_next(
        "comments",
        1,
        Fault::graph_error(400, 4, "(#4) Application request limit reached").with_header(
            "x-business-use-case-usage",
            &format!(
                r#"{{"{ACCOUNT}":[{{"type":"instagram","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0.05}}]}}"#
            ),
        ),
    );
    let started = Instant::now();
    let child = sweep_command(&h, &["--account", ACCOUNT, "--since", "7d", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Webhooks keep working meanwhile: a new comment is decided and hidden.
    h.post_comment("18000000001", SCAM, "during").await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "sweep failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["comments_seen"], 750, "{report}");
    // The account's own replies to the 34 scams among the announced ones.
    assert_eq!(report["own_comments"], 34, "{report}");
    assert_eq!(report["already_decided"], 100, "{report}");
    assert_eq!(report["queued"], 650, "{report}");
    assert_eq!(report["media_done"], 3, "{report}");
    let calls = report["graph_calls"].clone();
    assert!(
        took >= Duration::from_secs(3),
        "the rate limit's pause was not waited out ({took:?})"
    );

    let all = settle(&h, 751, Duration::from_secs(60)).await;
    let decided: BTreeSet<&str> = all.iter().map(|d| d.comment_id.as_str()).collect();
    assert_eq!(all.len(), 751, "750 swept or announced, 1 during the sweep");
    assert_eq!(decided.len(), 751, "no comment decided twice");
    for id in comments.keys() {
        assert!(decided.contains(id.as_str()), "{id} not decided");
    }
    assert!(
        decided.contains("18000000001"),
        "the webhook during the sweep"
    );
    assert!(
        !decided.contains("17999999999"),
        "media past the window swept"
    );
    // Every swept scam hidden once; replies once, to the right person.
    let hides = h.fake.calls_to("hide");
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &hides[hides_before..] {
        *per.entry(c.object_id.as_str()).or_default() += 1;
    }
    for (id, text) in &comments {
        if *text == SCAM && !announced.contains(id) {
            let d = all.iter().find(|d| &d.comment_id == id).unwrap();
            assert_eq!(
                per.get(id.as_str()),
                Some(&1),
                "{id} hidden once: {:?} {:?}",
                d.matched,
                d.action_log
            );
            assert_eq!(h.fake.is_hidden(id), Some(true));
        }
    }
    for id in comments.keys() {
        assert!(h.fake.replies_to(id).len() <= 1, "{id} answered twice");
    }
    let some_scam = comments
        .iter()
        .find(|(id, t)| **t == SCAM && !announced.contains(id))
        .unwrap();
    let n: usize = some_scam.0[3..].parse().unwrap();
    let m: usize = some_scam.0[2..3].parse().unwrap();
    assert_eq!(
        h.fake.replies_to(some_scam.0)[0].text,
        reply_for(&format!("user{m}x{n}"))
    );

    // Run again: nothing new.
    let again = sweep_command(&h, &["--account", ACCOUNT, "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["queued"], 0, "{report}");
    eprintln!(
        "sweep: 750 comments on 3 media in {:.1} s with one 3 s rate-limit pause, {} Graph calls",
        took.as_secs_f64(),
        calls
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sweep_stopped_half_way_goes_on_where_it_stopped() {
    let h = start().await;
    h.fake.set_page_size(30);
    let comments = fill(&h.fake);
    // Once the first media's 7 pages are listed, the listing fails for good: the first run
    // stops on the second media.
    let first = MEDIA[0];
    h.fake
        .fail_next_after("comments", 200usize.div_ceil(30), 50, Fault::server_error());
    let out = sweep_command(&h, &["--account", ACCOUNT, "--since", "7d"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the first run should stop");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run it again"), "{stderr}");
    let listed_first = h
        .fake
        .calls_to("comments")
        .iter()
        .filter(|c| c.object_id == first)
        .count();
    h.fake.clear_faults();

    // Second run: the first media is not listed again; everything ends decided once.
    let out = sweep_command(&h, &["--account", ACCOUNT, "--since", "7d", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resumed"], true, "{report}");
    assert_eq!(report["media_skipped"], 1, "{report}");
    assert_eq!(report["media_done"], 2, "{report}");
    let listed_first_after = h
        .fake
        .calls_to("comments")
        .iter()
        .filter(|c| c.object_id == first)
        .count();
    assert_eq!(
        listed_first, listed_first_after,
        "the finished media was listed again"
    );
    let all = settle(&h, comments.len(), Duration::from_secs(60)).await;
    let decided: BTreeSet<&str> = all.iter().map(|d| d.comment_id.as_str()).collect();
    assert_eq!(all.len(), comments.len());
    assert_eq!(decided.len(), comments.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconciliation_in_serve_finds_a_comment_whose_webhook_never_came() {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let now = now_ms() / 1000;
    fake.add_media(ACCOUNT, "media-r", now - 600, "FEED");
    fake.add_comment("media-r", "17555000001", SCAM, "lost", now - 300);
    let rules = tempfile::tempdir().unwrap();
    crate::faults::write_rules(rules.path());
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), ACCESS_TOKEN.into()),
            ("COMMENTGUARD_ACCOUNT_IDS".into(), ACCOUNT.into()),
            ("COMMENTGUARD_SWEEP_INTERVAL".into(), "1s".into()),
            ("COMMENTGUARD_RETRY_BASE".into(), "10ms".into()),
        ],
        rules: Some(rules.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.is_hidden("17555000001") != Some(true) {
        assert!(
            Instant::now() < deadline,
            "the lost comment was not found and hidden; Graph calls: {:?}",
            fake.requests()
                .iter()
                .map(|r| r.endpoint.clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The metric tells on-call how many comments no webhook announced.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.admin_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("commentguard_sweep_unannounced_total"),
        "no unannounced-comments metric"
    );
}

/// No service running: `commentguard sweep` itself decides what it found and carries out the
/// Graph calls, and exits 0 when done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_running_service_the_sweep_decides_and_acts_itself() {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let now = now_ms() / 1000;
    fake.add_media(ACCOUNT, "media-s", now - 600, "FEED");
    for n in 0..40 {
        fake.add_comment(
            "media-s",
            &format!("1766{n:04}"),
            text_of(n),
            &format!("solo{n}"),
            now - 500 + n as i64,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    crate::faults::write_rules(&rules);
    let db = format!("sqlite:{}", dir.path().join("cg.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["sweep", "--account", ACCOUNT, "--since", "1d"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMENTGUARD_DATABASE_URL", &db)
        .env("COMMENTGUARD_RULES", &rules)
        .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
        .env("COMMENTGUARD_GRAPH_URL", fake.url())
        .env("COMMENTGUARD_ACCESS_TOKEN", ACCESS_TOKEN)
        .env("COMMENTGUARD_APP_SECRET", APP_SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("40 comments no webhook announced are decided now"),
        "{stdout}"
    );
    let store = commentguard::store::SqlStore::connect(&db).await.unwrap();
    let all = all_decisions(&store).await;
    assert_eq!(all.len(), 40);
    for n in 0..40 {
        let id = format!("1766{n:04}");
        let scam = text_of(n) == SCAM;
        assert_eq!(fake.is_hidden(&id) == Some(true), scam, "{id}");
        assert_eq!(fake.replies_to(&id).len(), usize::from(scam), "{id}");
    }
}

/// An app not subscribed to every field: the status endpoint and the metrics say which are
/// missing for the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_missing_a_field_shows_in_the_status_and_the_metrics() {
    const ADMIN: &str = "admin-token-for-the-status-test-0123";
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.set_app_subscription(Some(&["comments", "mentions"]));
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), ACCESS_TOKEN.into()),
            ("COMMENTGUARD_ACCOUNT_IDS".into(), ACCOUNT.into()),
            ("COMMENTGUARD_ADMIN_TOKEN".into(), ADMIN.into()),
        ],
        ..Default::default()
    })
    .await;
    // Checked at start.
    let status = crate::helpers::status_when(&app, ADMIN, Duration::from_secs(10), |s| {
        !s["accounts"][0]["subscription"].is_null()
    })
    .await;
    let sub = &status["accounts"][0]["subscription"];
    assert_eq!(status["accounts"][0]["account_id"], ACCOUNT);
    assert_eq!(sub["complete"], false, "{status}");
    assert_eq!(
        sub["missing"],
        serde_json::json!(["live_comments", "story_insights"]),
        "{status}"
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.admin_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!("commentguard_subscription_missing_fields{{account=\"{ACCOUNT}\"}} 2");
    assert!(metrics.contains(&line), "no {line} in the metrics");
    assert!(metrics.contains(&format!(
        "commentguard_subscription_field{{account=\"{ACCOUNT}\",field=\"live_comments\"}} 0"
    )));
}
