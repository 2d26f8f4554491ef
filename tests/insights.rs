//! Story insights over a controlled clock.
//!
//! The poller is driven round by round ([`Poller::step`]) with a clock the test moves, over a
//! story's whole 24-hour life. Graph calls go to [`FakeStories`], which stands behind the
//! poller's `StorySource` seam; it is the one part to switch to the shared fake Graph API
//! (tests/api/support/fake_graph.rs) once that lands.

#[path = "common/pg.rs"]
mod pg;
use pg::FreshPostgres;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use commentguard::actions::TokenSource;
use commentguard::graph::{AccountCtx, GraphClient, GraphConfig, GraphError, Story};
use commentguard::insights::export::{self, RowKind};
use commentguard::insights::schedule::has_last_snapshot;
use commentguard::insights::{Count, Poller, StorySource};
use commentguard::pipeline::{Pipeline, RulesRegistry};
use commentguard::secret::Secret;
use commentguard::store::{InboxEvent, SqlStore, Store, StoryFilter};

const ACCOUNT: &str = "17841400000000001";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// 2023-11-14T22:13:20Z: the story is posted here.
const T0: i64 = 1_700_000_000_000;

#[derive(Clone, Copy)]
enum Behaviour {
    Counts,
    NotEnoughViewers,
}

/// Stands in for the Graph API's `/{ig-user-id}/stories` and `/{story-id}/insights`.
struct FakeStories {
    clock: Arc<AtomicI64>,
    /// story id -> (posted at, unix ms; behaviour)
    stories: Mutex<HashMap<String, (i64, Behaviour)>>,
    listing_fails: AtomicBool,
    /// (story id, clock, metrics asked) of every insights call.
    insights_calls: Mutex<Vec<(String, i64, Vec<String>)>>,
}

impl FakeStories {
    fn new(clock: Arc<AtomicI64>) -> Arc<FakeStories> {
        Arc::new(FakeStories {
            clock,
            stories: Mutex::new(HashMap::new()),
            listing_fails: AtomicBool::new(false),
            insights_calls: Mutex::new(Vec::new()),
        })
    }

    fn post(&self, id: &str, at: i64, b: Behaviour) {
        self.stories.lock().unwrap().insert(id.into(), (at, b));
    }

    fn calls_for(&self, id: &str) -> Vec<(i64, Vec<String>)> {
        self.insights_calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == id)
            .map(|c| (c.1, c.2.clone()))
            .collect()
    }
}

#[async_trait]
impl StorySource for FakeStories {
    async fn stories(&self, _: &AccountCtx, _: &str) -> Result<Vec<Story>, GraphError> {
        if self.listing_fails.load(Ordering::SeqCst) {
            return Err(GraphError::Transient {
                message: "listing down".into(),
                sent: true,
            });
        }
        let now = self.clock.load(Ordering::SeqCst);
        Ok(self
            .stories
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (at, _))| *at + 24 * HOUR > now)
            .map(|(id, (at, _))| Story {
                id: id.clone(),
                timestamp: at / 1000,
                media_type: Some("IMAGE".into()),
            })
            .collect())
    }

    async fn story_insights(
        &self,
        _: &AccountCtx,
        story_id: &str,
        metrics: &[&str],
    ) -> Result<Value, GraphError> {
        let now = self.clock.load(Ordering::SeqCst);
        self.insights_calls.lock().unwrap().push((
            story_id.into(),
            now,
            metrics.iter().map(|m| m.to_string()).collect(),
        ));
        let Some((posted, b)) = self.stories.lock().unwrap().get(story_id).copied() else {
            return Err(GraphError::Permanent {
                code: 100,
                message: "unknown story".into(),
            });
        };
        if now >= posted + 24 * HOUR {
            return Err(GraphError::Permanent {
                code: 100,
                message: "story expired".into(),
            });
        }
        if let Behaviour::NotEnoughViewers = b {
            return Err(GraphError::NotEnoughViewers);
        }
        // Counts grow with the story's age, so later snapshots differ.
        let age_h = (now - posted) / HOUR;
        if metrics == ["navigation"] {
            return Ok(
                json!({"data": [{"name": "navigation", "values": [{"value": 25}],
                "total_value": {"value": 25, "breakdowns": [{"dimension_keys": ["story_navigation_action_type"],
                "results": [{"dimension_values": ["tap_forward"], "value": 19},
                            {"dimension_values": ["tap_exit"], "value": 6}]}]}}]}),
            );
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| json!({"name": m, "period": "lifetime", "values": [{"value": 10 + age_h}]}))
            .collect();
        Ok(json!({ "data": data }))
    }
}

struct Tokens;
impl TokenSource for Tokens {
    fn token_for(&self, _: &str) -> Option<Secret> {
        Some(Secret::new("test-token"))
    }
}

struct World {
    _dir: tempfile::TempDir,
    /// Dropped (with its database) when the world is.
    _pg: Option<FreshPostgres>,
    url: String,
    clock: Arc<AtomicI64>,
    fake: Arc<FakeStories>,
}

impl World {
    /// SQLite in a temporary folder, or (`pg`) a fresh PostgreSQL database.
    fn new(pg: Option<FreshPostgres>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite:{}", dir.path().join("cg.db").display()),
        };
        let clock = Arc::new(AtomicI64::new(T0));
        let fake = FakeStories::new(clock.clone());
        World {
            _dir: dir,
            _pg: pg,
            url,
            clock,
            fake,
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqlStore::connect(&self.url).await.unwrap())
    }

    /// A fresh poller over a fresh connection: what a restarted service builds.
    async fn poller(&self, interval: Duration, version: &str) -> (Poller, Arc<dyn Store>) {
        let store = self.store().await;
        let clock = self.clock.clone();
        let poller = Poller::new(
            store.clone(),
            self.fake.clone(),
            Arc::new(Tokens),
            vec![ACCOUNT.to_string()],
            interval,
            version,
        )
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        (poller, store)
    }

    fn set(&self, t: i64) {
        self.clock.store(t, Ordering::SeqCst);
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Runs the poller round after round, moving the clock to each wake-up it asks for, until
    /// the clock passes `until`.
    async fn drive(&self, poller: &mut Poller, until: i64) {
        loop {
            let next = poller.step().await;
            let next = next.max(self.now() + 1000);
            if next > until {
                self.set(until);
                break;
            }
            self.set(next);
        }
    }
}

async fn snapshots(store: &dyn Store, story: &str) -> Vec<commentguard::store::SnapshotRow> {
    store
        .list_story_snapshots(&StoryFilter {
            story_id: Some(story.into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn last_snapshot_is_taken_before_expiry_even_when_the_service_restarts_in_between(w: World) {
    let expiry = T0 + 24 * HOUR;
    w.fake.post("story-1", T0, Behaviour::Counts);

    // First run: sees the story a minute after it was posted, then stops after two hours.
    w.set(T0 + MIN);
    let (mut first, _) = w.poller(Duration::from_secs(6 * 3600), "v23.0").await;
    w.drive(&mut first, T0 + 2 * HOUR).await;
    drop(first);

    // Down for 18 hours. The second run cannot even list stories: only the schedule kept in
    // the database knows that story-1 needs its last snapshots. Its polls are 6 hours apart,
    // so without that schedule its next look would come after the story expired.
    w.set(T0 + 20 * HOUR);
    w.fake.listing_fails.store(true, Ordering::SeqCst);
    let (mut second, store) = w.poller(Duration::from_secs(6 * 3600), "v23.0").await;
    w.drive(&mut second, T0 + 26 * HOUR).await;

    let snaps = snapshots(store.as_ref(), "story-1").await;
    let ok_in_last_hour: Vec<i64> = snaps
        .iter()
        .filter(|s| s.status == "ok" && s.taken_at >= expiry - HOUR && s.taken_at < expiry)
        .map(|s| s.taken_at)
        .collect();
    assert_eq!(
        ok_in_last_hour,
        vec![expiry - 60 * MIN, expiry - 20 * MIN, expiry - 5 * MIN],
        "snapshots: {snaps:?}"
    );
    assert_eq!(snaps[0].taken_at, T0 + MIN, "first sighting is snapshotted");
    assert!(snaps.iter().all(|s| s.taken_at < expiry));

    let story = &store.list_stories(&StoryFilter::default()).await.unwrap()[0];
    assert_eq!(
        story.first_seen,
        T0 + MIN,
        "first sighting survives the restart"
    );
    assert_eq!(story.expires_at, expiry);
    assert!(story.closed_at.is_some(), "expired stories are closed");
    assert!(has_last_snapshot(story.expires_at, story.last_snapshot_at));
    assert_eq!(store.count_open_stories().await.unwrap(), 0);

    // v23 asks for views (not impressions); navigation comes broken down.
    let last = snaps.last().unwrap();
    assert!(last.metrics.get("views").is_some(), "{:?}", last.metrics);
    assert!(last.metrics.get("impressions").is_none());
    assert_eq!(last.metrics["navigation.tap_forward"], json!(19));
}

async fn a_snapshot_missed_while_the_service_was_down_is_taken_at_once_on_start(w: World) {
    let expiry = T0 + 24 * HOUR;
    w.fake.post("story-2", T0, Behaviour::Counts);
    w.set(T0 + 5 * MIN);
    let (mut first, _) = w.poller(Duration::from_secs(15 * 60), "v23.0").await;
    w.drive(&mut first, T0 + HOUR).await;
    drop(first);

    // Back 30 minutes before expiry: the 60-minute snapshot was missed.
    let back = expiry - 30 * MIN;
    w.set(back);
    w.fake.listing_fails.store(true, Ordering::SeqCst);
    let (mut second, store) = w.poller(Duration::from_secs(15 * 60), "v23.0").await;
    second.step().await;
    let snaps = snapshots(store.as_ref(), "story-2").await;
    assert_eq!(snaps.last().unwrap().taken_at, back);
    assert_eq!(snaps.last().unwrap().status, "ok");
}

async fn a_story_with_too_few_viewers_is_recorded_not_retried_forever(w: World) {
    let expiry = T0 + 24 * HOUR;
    w.fake.post("quiet", T0, Behaviour::NotEnoughViewers);
    w.set(T0 + MIN);
    // Polls every 15 minutes: 96 listings over the story's life.
    let (mut poller, store) = w.poller(Duration::from_secs(15 * 60), "v21.0").await;
    w.drive(&mut poller, T0 + 30 * HOUR).await;

    let snaps = snapshots(store.as_ref(), "quiet").await;
    assert!(!snaps.is_empty());
    assert!(
        snaps.iter().all(|s| s.status == "not_enough_viewers"),
        "{snaps:?}"
    );
    // First sighting, then only the scheduled times before expiry.
    let times: Vec<i64> = snaps.iter().map(|s| s.taken_at).collect();
    assert_eq!(
        times,
        vec![
            T0 + MIN,
            expiry - 60 * MIN,
            expiry - 20 * MIN,
            expiry - 5 * MIN
        ]
    );
    assert_eq!(
        w.fake.calls_for("quiet").len(),
        4,
        "no call after each poll"
    );
    // Before v22 the metric is impressions.
    assert!(w.fake.calls_for("quiet")[0]
        .1
        .contains(&"impressions".to_string()));

    let story = &store.list_stories(&StoryFilter::default()).await.unwrap()[0];
    assert_eq!(story.last_status.as_deref(), Some("not_enough_viewers"));
    assert!(story.closed_at.is_some());
    // "Fewer than 5 viewers" is a result: the story is covered for its last hour.
    assert!(has_last_snapshot(story.expires_at, story.last_snapshot_at));
}

fn pipeline(store: Arc<dyn Store>, rules: &std::path::Path) -> Pipeline {
    let settings = commentguard::config::Settings::load(None, &|_| None).unwrap();
    let registry = Arc::new(RulesRegistry::load(rules, &[]).unwrap());
    let monitor = Arc::new(commentguard::pipeline::RuleMonitor::new(
        store.clone(),
        registry.clone(),
        &settings,
    ));
    Pipeline {
        store,
        rules: registry,
        state_lock: Default::default(),
        monitor,
        graph: Arc::new(GraphClient::new(GraphConfig {
            base_url: "http://127.0.0.1:9".into(),
            version: "v23.0".into(),
            app_secret: None,
            timeout: Duration::from_secs(1),
            instagram: None,
        })),
        settings: Arc::new(settings),
        actions_wake: Default::default(),
        own_usernames: Default::default(),
    }
}

fn story_insights_event(id: i64, value: Value) -> InboxEvent {
    let media = value["media_id"].as_str().unwrap().to_string();
    InboxEvent {
        id,
        dedup_key: format!("story_insights:{media}"),
        account_id: ACCOUNT.into(),
        field: "story_insights".into(),
        entry_time: Some(T0 / 1000),
        payload: json!({"field": "story_insights", "value": value, "entry_id": ACCOUNT})
            .to_string(),
        received_at: T0 + 25 * HOUR,
        attempts: 1,
    }
}

async fn the_webhooks_final_metrics_and_the_polled_snapshots_both_appear_in_the_export(w: World) {
    w.fake.post("story-3", T0, Behaviour::Counts);
    w.set(T0 + MIN);
    let (mut poller, store) = w.poller(Duration::from_secs(3 * 3600), "v23.0").await;
    w.drive(&mut poller, T0 + 25 * HOUR).await;
    let polled = snapshots(store.as_ref(), "story-3").await.len();
    assert!(polled >= 4);

    // Meta's notification, an hour after expiry; delivered twice.
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        "[[rule]]\nid = \"r\"\n[rule.when]\nwords = [\"forex\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let p = pipeline(store.clone(), rules.path());
    let value = json!({"media_id": "story-3", "exits": 1, "replies": -1, "reach": 17,
                       "taps_forward": 12, "taps_back": -1, "impressions": 28});
    assert_eq!(
        p.process(&story_insights_event(1, value.clone()))
            .await
            .unwrap(),
        "stored"
    );
    assert_eq!(
        p.process(&story_insights_event(2, value)).await.unwrap(),
        "duplicate"
    );

    let rows = export::rows(store.as_ref(), &StoryFilter::default())
        .await
        .unwrap();
    let finals: Vec<_> = rows.iter().filter(|r| r.kind == RowKind::Final).collect();
    assert_eq!(finals.len(), 1, "a redelivery adds no row");
    assert_eq!(finals[0].metrics["replies"], Count::FewerThanFive);
    assert_eq!(finals[0].metrics["reach"], Count::Exact(17));
    assert_eq!(
        rows.iter().filter(|r| r.kind == RowKind::Snapshot).count(),
        polled
    );

    let mut csv = Vec::new();
    export::write_csv(&rows, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("kind,account_id,story_id,"), "{header}");
    assert!(csv.lines().any(|l| l.starts_with("snapshot,")));
    let final_line = csv.lines().find(|l| l.starts_with("final,")).unwrap();
    let cells: Vec<&str> = final_line.split(',').collect();
    assert!(cells.contains(&"<5"), "{final_line}");
    assert!(!cells.contains(&"-1"), "{final_line}");

    // The same through the command line.
    drop(poller);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["insights", "export", "--format", "json"])
        .env("COMMENTGUARD_DATABASE_URL", &w.url)
        .env_remove("COMMENTGUARD_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.iter().any(|r| r["kind"] == "snapshot"));
    let fin = json.iter().find(|r| r["kind"] == "final").unwrap();
    assert_eq!(fin["metrics"]["replies"], "<5");
    assert_eq!(fin["metrics"]["taps_back"], "<5");
    assert_eq!(fin["metrics"]["reach"], 17);
}

async fn a_transient_error_is_tried_again_at_the_next_round_not_at_the_next_poll(w: World) {
    let expiry = T0 + 24 * HOUR;
    w.fake.post("story-4", T0, Behaviour::Counts);
    w.set(T0 + MIN);
    let (mut poller, store) = w.poller(Duration::from_secs(6 * 3600), "v23.0").await;
    poller.step().await;
    // The story disappears from the fake for a while: calls fail.
    let story = w.fake.stories.lock().unwrap().remove("story-4").unwrap();
    w.set(expiry - 60 * MIN);
    poller.step().await;
    w.fake
        .stories
        .lock()
        .unwrap()
        .insert("story-4".into(), story);
    w.drive(&mut poller, T0 + 25 * HOUR).await;
    let snaps = snapshots(store.as_ref(), "story-4").await;
    let statuses: Vec<(&str, i64)> = snaps
        .iter()
        .map(|s| (s.status.as_str(), s.taken_at))
        .collect();
    assert!(
        statuses.contains(&("error", expiry - 60 * MIN)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("ok", expiry - 20 * MIN)),
        "{statuses:?}"
    );
    let story = &store.list_stories(&StoryFilter::default()).await.unwrap()[0];
    assert!(has_last_snapshot(story.expires_at, story.last_snapshot_at));
}

async fn the_poller_stops_when_the_service_shuts_down(w: World) {
    let store = w.store().await;
    let poller = Poller::new(
        store,
        w.fake.clone(),
        Arc::new(Tokens),
        vec![ACCOUNT.to_string()],
        Duration::from_secs(900),
        "v23.0",
    );
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(poller.run(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the poller stops on cancellation")
        .unwrap();
}

async fn the_admin_api_lists_stories_with_their_latest_snapshot_and_final_counts(w: World) {
    w.fake.post("story-5", T0, Behaviour::Counts);
    w.set(T0 + MIN);
    let (mut poller, store) = w.poller(Duration::from_secs(3 * 3600), "v23.0").await;
    poller.step().await;
    commentguard::insights::record_final(
        store.as_ref(),
        ACCOUNT,
        &json!({"media_id": "story-5", "reach": -1}),
        T0 + 25 * HOUR,
    )
    .await
    .unwrap();
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        "[[rule]]\nid = \"r\"\n[rule.when]\nwords = [\"forex\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let settings = commentguard::config::Settings::load(None, &|_| None).unwrap();
    let state = commentguard::admin::AdminState {
        store: store.clone(),
        settings: Arc::new(settings),
        rules: Arc::new(RulesRegistry::load(rules.path(), &[]).unwrap()),
        monitor: pipeline(store.clone(), rules.path()).monitor,
        graph: pipeline(store.clone(), rules.path()).graph,
        metrics: commentguard::telemetry::metrics_handle(),
        actions_wake: Default::default(),
        subscriptions: Default::default(),
        tokens: Default::default(),
        sign_ins: Default::default(),
        links: Default::default(),
        session_key: commentguard::secret::Secret::new("a session key for tests"),
    };
    let app = axum::Router::new()
        .route(
            "/api/v1/stories",
            axum::routing::get(commentguard::admin::stories::stories),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let body: Value = reqwest::get(format!("http://{addr}/api/v1/stories?account={ACCOUNT}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stories = body["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 1, "{body}");
    assert_eq!(stories[0]["story_id"], "story-5");
    assert_eq!(stories[0]["latest_snapshot"]["status"], "ok");
    assert_eq!(stories[0]["final"]["metrics"]["reach"], "<5");
    let bad = reqwest::get(format!("http://{addr}/api/v1/stories?since=soon"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// Each test on SQLite and on PostgreSQL (`NAME::sqlite`, `NAME::postgres`; the PostgreSQL one
/// says NOT RUN without COMMENTGUARD_TEST_DATABASE_URL, and fails under .ci/test).
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::World::new(None)).await
            }
            #[tokio::test]
            async fn postgres() {
                let what = concat!("insights::", stringify!($name), "::postgres");
                let Some(db) = super::FreshPostgres::create("insights", what).await else {
                    return;
                };
                super::$name(super::World::new(Some(db))).await
            }
        }
    )*};
}

on_both_stores!(
    last_snapshot_is_taken_before_expiry_even_when_the_service_restarts_in_between,
    a_snapshot_missed_while_the_service_was_down_is_taken_at_once_on_start,
    a_story_with_too_few_viewers_is_recorded_not_retried_forever,
    the_webhooks_final_metrics_and_the_polled_snapshots_both_appear_in_the_export,
    a_transient_error_is_tried_again_at_the_next_round_not_at_the_next_poll,
    the_poller_stops_when_the_service_shuts_down,
    the_admin_api_lists_stories_with_their_latest_snapshot_and_final_counts,
);
