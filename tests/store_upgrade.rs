//! A database made by an earlier version opens and works: the migrations of existing
//! databases never change. The fixture (tests/fixtures/store-before-split/) was written by the
//! store before it was split into rooms; its README says what it holds.

#[path = "common/pg.rs"]
mod pg;
use pg::FreshPostgres;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use commentguard::store::*;
use sqlx::Connection;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/store-before-split"
);
const ACCOUNT: &str = "17841400000000001";
const T0: i64 = 1_764_000_000_000;

/// Everything the fixture holds reads back, and every room takes new work.
async fn the_old_database_reads_back_and_keeps_working(store: Arc<dyn Store>) {
    // The moderation log and its action log.
    let log = store
        .list_decisions(&DecisionFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = log.iter().map(|d| d.comment_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"], "newest first");
    let c1 = &log[1];
    assert_eq!(c1.rules, ["scam-model"]);
    assert_eq!(c1.actions, ["hide", "reply"]);
    assert_eq!(c1.text.as_deref(), Some("text of c1"));
    assert_eq!(c1.matched[0]["category"], "scam");
    let states: Vec<(ActionKind, ActionState)> =
        c1.action_log.iter().map(|a| (a.kind, a.state)).collect();
    assert_eq!(
        states,
        [
            (ActionKind::Hide, ActionState::Done),
            (ActionKind::Reply, ActionState::Pending)
        ]
    );
    assert_eq!(log[0].outcome(), "none");

    // The inbox: c3 is still pending, c1 and c2 were completed, the dead letter is kept.
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (1, 0));
    let dead = store.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "not a notification");
    let now = now_ms();
    let claimed = store
        .claim_events(10, Duration::from_secs(60), now)
        .await
        .unwrap();
    let keys: Vec<&str> = claimed.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys, ["comments:c3"]);
    assert!(claimed[0].payload.contains("text of c3"));
    // A redelivery of an event stored by the old version is still a duplicate.
    let outcome = store
        .insert_delivery(Delivery::Events(vec![
            NewEvent {
                dedup_key: "comments:c1".into(),
                account_id: ACCOUNT.into(),
                field: "comments".into(),
                entry_time: None,
                payload: "{}".into(),
            },
            NewEvent {
                dedup_key: "comments:c4".into(),
                account_id: ACCOUNT.into(),
                field: "comments".into(),
                entry_time: None,
                payload: "{}".into(),
            },
        ]))
        .await
        .unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (1, 1));

    // The action queue: the pending reply is claimed next; a decision for c1 is not made twice.
    let actions = store
        .claim_actions(10, Duration::from_secs(60), now)
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].kind, ActionKind::Reply);
    assert_eq!(actions[0].payload, "Thanks, we have sent you a DM");
    let again = NewDecision {
        comment_id: "c1".into(),
        kind: commentguard::store::DecisionKind::Comment,
        account_id: ACCOUNT.into(),
        matched: "[]".into(),
        received_at: now,
        decided_at: now,
        ..Default::default()
    };
    let (id, created) = store.record_decision(&again, &[]).await.unwrap();
    assert_eq!((id, created), (c1.id, false));

    // Rule state and automatic shadowing.
    let state = store
        .rule_state(ACCOUNT, &["alice".into()], &[], T0 / 1000 - 60)
        .await
        .unwrap();
    assert_eq!(state.author_events.len(), 2);
    let shadows = store.auto_shadows().await.unwrap();
    assert_eq!(shadows.len(), 1);
    assert_eq!(shadows[0].rule_id, "noisy");
    assert_eq!(shadows[0].state, AutoShadowState::Shadowed);
    let groups = store.rule_match_counts(T0 - 1, T0 - 1).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.count).sum::<i64>(), 2);

    // Stories, their snapshots and final counts.
    let all = StoryFilter::default();
    let stories = store.list_stories(&all).await.unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].story_id, "s1");
    assert_eq!(stories[0].snapshot_count, 1);
    let snaps = store.list_story_snapshots(&all).await.unwrap();
    assert_eq!(snaps[0].metrics["reach"], 12);
    assert_eq!(snaps[0].metrics["replies"], "<5");
    let finals = store.list_story_finals(&all).await.unwrap();
    assert_eq!(finals[0].metrics["reach"], 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_made_before_the_store_split_opens_and_works() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["commentguard.db", "commentguard-inbox.db"] {
        std::fs::copy(Path::new(FIXTURE).join(file), dir.path().join(file)).unwrap();
    }
    let url = format!("sqlite:{}", dir.path().join("commentguard.db").display());
    let store = SqlStore::connect(&url)
        .await
        .expect("the old database opens with today's migrations");
    the_old_database_reads_back_and_keeps_working(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_made_before_the_store_split_opens_and_works() {
    let Some(db) = FreshPostgres::create(
        "upgrade",
        "a_postgres_database_made_before_the_store_split_opens_and_works",
    )
    .await
    else {
        return;
    };
    let url = db.url.clone();
    let dump = std::fs::read_to_string(Path::new(FIXTURE).join("postgres.sql")).unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let loaded = sqlx::raw_sql(&dump).execute(&mut conn).await;
    conn.close().await.unwrap();
    loaded.expect("the dump loads");
    let store = SqlStore::connect(&url)
        .await
        .expect("the old database opens with today's migrations");
    the_old_database_reads_back_and_keeps_working(Arc::new(store)).await;
}
