//! The store conformance suite: every test runs against SQLite (a fresh file, always) and
//! against PostgreSQL when COMMENTGUARD_TEST_DATABASE_URL is set (a fresh database per test,
//! dropped afterwards), so both engines keep the promises the pipeline relies on.
//!
//! Each test is a plain async function over a [`Db`]; `conformance!` turns it into
//! `name::sqlite` and `name::postgres`.

#[path = "common/pg.rs"]
mod pg;
use pg::FreshPostgres;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use commentguard::store::*;
use serde_json::json;

/// A fresh, empty database for one test; several stores may open it (several instances).
#[derive(Clone)]
struct Db {
    url: String,
}

impl Db {
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(
            SqlStore::connect(&self.url)
                .await
                .expect("the store opens and migrates a fresh database"),
        )
    }
}

async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    test(Db { url }).await;
}

async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let what = "the PostgreSQL half of the store conformance tests (every `::postgres` test passes without running)";
    let Some(db) = FreshPostgres::create("test", what).await else {
        return;
    };
    test(Db {
        url: db.url.clone(),
    })
    .await;
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::run_sqlite(super::$name).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::run_postgres(super::$name).await
            }
        }
    )*};
}

conformance!(
    a_redelivery_is_stored_once_and_counted_as_a_duplicate,
    a_redelivery_reaching_two_instances_is_stored_once,
    dead_letters_are_kept_newest_first,
    a_claimed_event_returns_only_when_its_lease_expires,
    released_events_return_at_once_without_counting_an_attempt,
    concurrent_claimers_never_get_the_same_event,
    events_are_completed_retried_and_given_up,
    an_event_that_keeps_failing_is_given_up,
    inbox_stats_count_pending_and_failed_events,
    a_decision_is_recorded_once_per_comment_and_kind,
    concurrent_instances_record_one_decision_per_comment,
    an_added_action_is_idempotent_by_key,
    actions_are_claimed_in_order_within_a_decision,
    a_retried_action_waits_for_its_due_time,
    action_updates_show_in_the_action_log,
    decisions_are_filtered_by_rule_action_account_and_time,
    decisions_page_with_cursors,
    purge_removes_old_texts_and_keeps_decisions,
    purge_deletes_processed_inbox_events_and_keeps_pending_ones,
    stored_work_wakes_a_subscribed_worker,
    rule_matches_are_grouped_by_account_and_rule_list_in_both_windows,
    an_auto_shadow_is_switched_once_per_rule_version_and_cleared,
    a_rule_version_keeps_its_first_time_until_it_changes,
    rule_events_are_written_once_with_their_decision_and_answer_state_questions,
    old_rule_events_are_pruned,
    a_restarted_instance_takes_back_its_previous_runs_claims,
    the_claims_of_an_instance_whose_heartbeat_stopped_are_taken_over,
    an_instance_started_beside_a_running_one_leaves_its_claims_alone,
    a_persons_latest_label_stands_and_labels_keep_their_text,
    rule_matches_are_counted_per_rule_and_day,
    people_are_added_once_replaced_on_request_and_removed,
    the_session_key_is_made_once_and_shared,
    saved_replies_are_kept_per_account_replaced_by_title_and_removed,
);

async fn rule_matches_are_counted_per_rule_and_day(db: Db) {
    let store = db.store().await;
    const DAY: i64 = 86_400_000;
    let now = 100 * DAY;
    for (id, at, rules) in [
        ("d1", now - 10, vec!["spam", "scam"]),
        ("d2", now - DAY - 10, vec!["spam"]),
        ("d3", now - 6 * DAY - 10, vec!["spam"]),
        ("d4", now - 8 * DAY, vec!["spam"]), // outside the week
        ("d5", now - 20, vec![]),
    ] {
        let mut d = decision(id, at);
        d.rules = rules.into_iter().map(String::from).collect();
        store.record_decision(&d, &[]).await.unwrap();
    }
    let mut got: Vec<(String, i64, i64)> = store
        .rule_matches_by_day(now, 7, DAY)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.rule, c.day, c.count))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("scam".to_string(), 6, 1),
            ("spam".to_string(), 0, 1),
            ("spam".to_string(), 5, 1),
            ("spam".to_string(), 6, 1),
        ]
    );
}

async fn the_session_key_is_made_once_and_shared(db: Db) {
    let a = db.store().await;
    let b = db.store().await;
    assert_eq!(a.session_key("first").await.unwrap(), "first");
    // Another instance (or a restart) with a key of its own gets the one stored first.
    assert_eq!(b.session_key("second").await.unwrap(), "first");
    assert_eq!(a.session_key("third").await.unwrap(), "first");
}

async fn people_are_added_once_replaced_on_request_and_removed(db: Db) {
    let store = db.store().await;
    let p = |role, hash: &str| Person {
        name: "Robin".into(),
        role,
        password_hash: hash.into(),
        created_at: 1,
    };
    store
        .put_person(&p(Role::Reviewer, "h1"), false)
        .await
        .unwrap();
    assert!(store
        .put_person(&p(Role::Admin, "h2"), false)
        .await
        .is_err());
    assert_eq!(
        store.person("Robin").await.unwrap().unwrap().role,
        Role::Reviewer
    );
    store.put_person(&p(Role::Admin, "h2"), true).await.unwrap();
    let got = store.person("Robin").await.unwrap().unwrap();
    assert_eq!((got.role, got.password_hash.as_str()), (Role::Admin, "h2"));
    assert!(
        !format!("{got:?}").contains("h2"),
        "Debug leaves the hash out"
    );
    assert_eq!(store.list_people().await.unwrap().len(), 1);
    assert!(store.remove_person("Robin").await.unwrap());
    assert!(!store.remove_person("Robin").await.unwrap());
    assert!(store.person("Robin").await.unwrap().is_none());
}

// ---------------------------------------------------------------------------------------
// Fixtures

fn event(key: &str) -> NewEvent {
    NewEvent {
        dedup_key: key.to_string(),
        account_id: "17841400000000001".to_string(),
        field: "comments".to_string(),
        entry_time: Some(1_700_000_000),
        payload: json!({"field": "comments", "value": {"id": key}}).to_string(),
    }
}

fn events(keys: impl IntoIterator<Item = String>) -> Delivery {
    Delivery::Events(keys.into_iter().map(|k| event(&k)).collect())
}

fn decision(comment_id: &str, decided_at: i64) -> NewDecision {
    NewDecision {
        inbox_id: None,
        comment_id: comment_id.to_string(),
        kind: commentguard::store::DecisionKind::Comment,
        account_id: "acct-a".to_string(),
        media_id: Some("media-1".to_string()),
        author: Some("someone".to_string()),
        author_id: Some("u-1".to_string()),
        text: Some(format!("text of {comment_id}")),
        normalized: Some(format!("normalized {comment_id}")),
        matched: json!([{"rule": "spam"}]).to_string(),
        scores: Some(json!({"scam": 0.25}).to_string()),
        rules: vec!["spam".to_string()],
        actions: vec!["hide".to_string()],
        note: None,
        received_at: decided_at - 5,
        decided_at,
        rule_event: None,
    }
}

fn planned(kind: ActionKind) -> NewAction {
    NewAction {
        kind,
        payload: match kind {
            ActionKind::Reply => json!("Thanks for reaching out"),
            _ => serde_json::Value::Null,
        },
        state: ActionState::Pending,
        note: None,
    }
}

fn skipped(kind: ActionKind) -> NewAction {
    NewAction {
        state: ActionState::Skipped,
        note: Some("dry run".to_string()),
        ..planned(kind)
    }
}

const LEASE: Duration = Duration::from_secs(30);
const LEASE_MS: i64 = 30_000;

async fn claim_all_events(store: &dyn Store, now: i64) -> Vec<InboxEvent> {
    store.claim_events(1000, LEASE, now).await.unwrap()
}

async fn find_decision(store: &dyn Store, comment_id: &str) -> DecisionRow {
    let found = store
        .list_decisions(&DecisionFilter {
            comment_id: Some(comment_id.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one decision for {comment_id}");
    found.into_iter().next().unwrap()
}

fn comment_ids(rows: &[DecisionRow]) -> Vec<&str> {
    rows.iter().map(|d| d.comment_id.as_str()).collect()
}

fn kinds(actions: &[ActionRow]) -> Vec<ActionKind> {
    actions.iter().map(|a| a.kind).collect()
}

// ---------------------------------------------------------------------------------------
// The inbox

async fn a_redelivery_is_stored_once_and_counted_as_a_duplicate(db: Db) {
    let store = db.store().await;
    let outcomes = store
        .insert_deliveries(&[
            events(["comments:1".into(), "comments:2".into()]),
            events(["comments:1".into()]),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            InsertOutcome {
                stored: 2,
                duplicates: 0,
                dead_letters: 0
            },
            InsertOutcome {
                stored: 0,
                duplicates: 1,
                dead_letters: 0
            },
        ]
    );

    let later = store
        .insert_deliveries(&[events(["comments:2".into(), "comments:3".into()])])
        .await
        .unwrap();
    assert_eq!(
        later,
        vec![InsertOutcome {
            stored: 1,
            duplicates: 1,
            dead_letters: 0
        }]
    );

    let claimed = claim_all_events(&*store, now_ms()).await;
    let keys: Vec<&str> = claimed.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys, ["comments:1", "comments:2", "comments:3"]);
    let first = &claimed[0];
    assert_eq!(first.account_id, "17841400000000001");
    assert_eq!(first.field, "comments");
    assert_eq!(first.entry_time, Some(1_700_000_000));
    assert_eq!(first.payload, event("comments:1").payload);
}

async fn a_redelivery_reaching_two_instances_is_stored_once(db: Db) {
    let instances = [db.store().await, db.store().await];
    let keys: Vec<String> = (0..60).map(|i| format!("comments:{i}")).collect();
    let mut tasks = Vec::new();
    for store in instances.iter().cycle().take(6) {
        let store = store.clone();
        let keys = keys.clone();
        // Each task delivers every key, in batches of 10, like Meta retrying everywhere.
        tasks.push(tokio::spawn(async move {
            let mut total = InsertOutcome::default();
            for batch in keys.chunks(10) {
                for o in store
                    .insert_deliveries(&[events(batch.iter().cloned())])
                    .await
                    .unwrap()
                {
                    total.stored += o.stored;
                    total.duplicates += o.duplicates;
                }
            }
            total
        }));
    }
    let (mut stored, mut duplicates) = (0, 0);
    for t in tasks {
        let o = t.await.unwrap();
        stored += o.stored;
        duplicates += o.duplicates;
    }
    assert_eq!(stored, 60, "each key stored once across instances");
    assert_eq!(duplicates, 5 * 60);
    assert_eq!(instances[1].inbox_stats().await.unwrap().pending, 60);
}

async fn dead_letters_are_kept_newest_first(db: Db) {
    let store = db.store().await;
    let outcomes = store
        .insert_deliveries(&[
            Delivery::DeadLetter {
                reason: "not JSON".to_string(),
                body: b"hello".to_vec(),
            },
            events(["comments:1".into()]),
            Delivery::DeadLetter {
                reason: "no entry array".to_string(),
                body: vec![0xff, b'a'],
            },
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0].dead_letters, 1);
    assert_eq!(outcomes[1].dead_letters, 0);
    assert_eq!(outcomes[2].dead_letters, 1);

    let letters = store.dead_letters(10).await.unwrap();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert_eq!(reasons, ["no entry array", "not JSON"]);
    assert_eq!(
        letters[0].body, "\u{fffd}a",
        "non-UTF-8 bytes shown lossily"
    );
    assert_eq!(letters[1].body, "hello");
    assert!(letters[0].received_at > 0);
    assert_eq!(store.dead_letters(1).await.unwrap().len(), 1);
    assert_eq!(store.inbox_stats().await.unwrap().pending, 1);
}

async fn a_claimed_event_returns_only_when_its_lease_expires(db: Db) {
    let store = db.store().await;
    store
        .insert_deliveries(&[events(["comments:1".into()])])
        .await
        .unwrap();
    let now = now_ms();

    let first = claim_all_events(&*store, now).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);

    assert!(claim_all_events(&*store, now + 1_000).await.is_empty());
    assert!(claim_all_events(&*store, now + LEASE_MS - 1)
        .await
        .is_empty());

    // The worker that held it crashed: once the lease expires, the event comes back.
    let again = claim_all_events(&*store, now + LEASE_MS + 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempts, 2);
}

async fn concurrent_claimers_never_get_the_same_event(db: Db) {
    let instances = [db.store().await, db.store().await];
    let keys: Vec<String> = (0..300).map(|i| format!("comments:{i}")).collect();
    for batch in keys.chunks(32) {
        instances[0]
            .insert_deliveries(&[events(batch.iter().cloned())])
            .await
            .unwrap();
    }
    let now = now_ms();
    let mut tasks = Vec::new();
    for store in instances.iter().cycle().take(8) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_events(7, LEASE, now).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                for e in claimed {
                    store.complete_event(e.id, now).await.unwrap();
                    mine.push(e.dedup_key);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "an event was claimed twice");
    assert_eq!(unique, keys.iter().collect::<BTreeSet<_>>());
    let stats = instances[1].inbox_stats().await.unwrap();
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.failed, 0);
}

async fn released_events_return_at_once_without_counting_an_attempt(db: Db) {
    let store = db.store().await;
    store
        .insert_deliveries(&[events(["done".into(), "unreached".into()])])
        .await
        .unwrap();
    let now = now_ms();
    let claimed = claim_all_events(&*store, now).await;
    let id = |key: &str| claimed.iter().find(|e| e.dedup_key == key).unwrap().id;
    store.complete_event(id("done"), now).await.unwrap();

    // A batch that ran out of time hands back what it did not reach (and a finished event by
    // mistake, which must stay finished).
    store
        .release_events(&[id("unreached"), id("done")])
        .await
        .unwrap();
    let again = claim_all_events(&*store, now + 1).await;
    assert_eq!(
        again.len(),
        1,
        "claimable at once, long before the lease ends"
    );
    assert_eq!(again[0].id, id("unreached"));
    assert_eq!(
        again[0].attempts, 1,
        "the handed-back claim was not an attempt"
    );
    assert!(claim_all_events(&*store, now + 2).await.is_empty());
}

async fn events_are_completed_retried_and_given_up(db: Db) {
    let store = db.store().await;
    store
        .insert_deliveries(&[events(["done".into(), "again".into(), "hopeless".into()])])
        .await
        .unwrap();
    let now = now_ms();
    let claimed = claim_all_events(&*store, now).await;
    let id = |key: &str| claimed.iter().find(|e| e.dedup_key == key).unwrap().id;

    store.complete_event(id("done"), now).await.unwrap();
    store
        .retry_event(id("again"), "graph answered 500", now + 10_000, false)
        .await
        .unwrap();
    store
        .retry_event(id("hopeless"), "payload has no comment id", now, true)
        .await
        .unwrap();

    let stats = store.inbox_stats().await.unwrap();
    assert_eq!(stats.pending, 1);
    assert_eq!(stats.failed, 1);

    assert!(
        claim_all_events(&*store, now + 9_999).await.is_empty(),
        "a retried event waits for its time; done and failed ones never return"
    );
    let retried = claim_all_events(&*store, now + 10_000).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].dedup_key, "again");
    assert_eq!(retried[0].attempts, 2);
    store
        .complete_event(retried[0].id, now + 10_000)
        .await
        .unwrap();
    assert!(claim_all_events(&*store, now + 100_000).await.is_empty());
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 1));
}

async fn an_event_that_keeps_failing_is_given_up(db: Db) {
    let store = db.store().await;
    store
        .insert_deliveries(&[events(["flaky".into()])])
        .await
        .unwrap();
    let mut now = now_ms();
    let mut attempts = 0;
    loop {
        let claimed = claim_all_events(&*store, now).await;
        let Some(e) = claimed.first() else { break };
        attempts = e.attempts;
        assert!(attempts <= 100, "an always-failing event is never given up");
        store
            .retry_event(e.id, "still failing", now + 1, false)
            .await
            .unwrap();
        now += 1;
    }
    assert_eq!(attempts, 10, "given up after 10 attempts");
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 1));
}

async fn inbox_stats_count_pending_and_failed_events(db: Db) {
    let store = db.store().await;
    let empty = store.inbox_stats().await.unwrap();
    assert_eq!((empty.pending, empty.failed), (0, 0));
    assert_eq!(empty.oldest_pending_received_at, None);

    let before = now_ms();
    store
        .insert_deliveries(&[events(["a".into(), "b".into()])])
        .await
        .unwrap();
    let after = now_ms();
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!(stats.pending, 2);
    let oldest = stats.oldest_pending_received_at.expect("an oldest pending");
    assert!((before..=after).contains(&oldest));

    // Claimed but not finished still counts as pending: it is not done yet.
    let claimed = claim_all_events(&*store, after).await;
    assert_eq!(store.inbox_stats().await.unwrap().pending, 2);
    store.complete_event(claimed[0].id, after).await.unwrap();
    store
        .retry_event(claimed[1].id, "bad", after, true)
        .await
        .unwrap();
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 1));
    assert_eq!(stats.oldest_pending_received_at, None);
}

// ---------------------------------------------------------------------------------------
// Decisions and actions

async fn a_decision_is_recorded_once_per_comment_and_kind(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    let d = decision("c1", now);
    let (id, created) = store
        .record_decision(&d, &[planned(ActionKind::Hide), planned(ActionKind::Reply)])
        .await
        .unwrap();
    assert!(created);

    // The same comment decided again (a redelivery, a re-claimed event): nothing new planned.
    let (again, created) = store
        .record_decision(&d, &[planned(ActionKind::Delete)])
        .await
        .unwrap();
    assert_eq!((again, created), (id, false));

    let row = find_decision(&*store, "c1").await;
    assert_eq!(row.id, id);
    assert_eq!(row.rules, ["spam"]);
    assert_eq!(row.actions, ["hide"]);
    assert_eq!(row.text.as_deref(), Some("text of c1"));
    assert_eq!(row.matched, json!([{"rule": "spam"}]));
    assert_eq!(row.scores, Some(json!({"scam": 0.25})));
    assert_eq!(
        kinds(&row.action_log),
        [ActionKind::Hide, ActionKind::Reply]
    );
    assert_eq!(
        row.action_log.iter().map(|a| a.seq).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(row.action_log[1].payload, json!("Thanks for reaching out"));
    assert!(row
        .action_log
        .iter()
        .all(|a| a.state == ActionState::Pending && a.comment_id == "c1"));
    assert_eq!(row.outcome(), "pending");

    // Another kind for the same id (a mention) is its own decision.
    let mention = NewDecision {
        kind: commentguard::store::DecisionKind::Mention,
        ..decision("c1", now)
    };
    let (other, created) = store.record_decision(&mention, &[]).await.unwrap();
    assert!(created);
    assert_ne!(other, id);

    // One batch (the pipeline's group commit) carrying new decisions, one already recorded,
    // and the same new comment twice: each is answered in order, the first of a pair wins.
    let batch = vec![
        (decision("c2", now), vec![planned(ActionKind::Hide)]),
        (decision("c1", now), vec![planned(ActionKind::Delete)]),
        (decision("c3", now), vec![]),
        (decision("c2", now), vec![planned(ActionKind::Delete)]),
    ];
    let out = store.record_decisions(&batch, &[], now).await.unwrap();
    let created: Vec<bool> = out.iter().map(|(_, c)| *c).collect();
    assert_eq!(created, [true, false, true, false]);
    assert_eq!(out[1].0, id);
    assert_eq!(out[3].0, out[0].0);
    assert_eq!(
        kinds(&find_decision(&*store, "c2").await.action_log),
        [ActionKind::Hide]
    );
    let c1 = store
        .list_decisions(&DecisionFilter {
            comment_id: Some("c1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let c1 = c1
        .iter()
        .find(|d| d.kind == commentguard::store::DecisionKind::Comment)
        .unwrap();
    assert_eq!(
        kinds(&c1.action_log),
        [ActionKind::Hide, ActionKind::Reply],
        "nothing new planned for a decision that existed"
    );
}

async fn concurrent_instances_record_one_decision_per_comment(db: Db) {
    let instances = [db.store().await, db.store().await];
    let now = now_ms();
    let mut tasks = Vec::new();
    for store in instances.iter().cycle().take(8) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_decision(
                    &decision("c-race", now),
                    &[planned(ActionKind::Hide), planned(ActionKind::Reply)],
                )
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert!(results.iter().all(|(id, _)| *id == results[0].0));
    let row = find_decision(&*instances[0], "c-race").await;
    assert_eq!(
        kinds(&row.action_log),
        [ActionKind::Hide, ActionKind::Reply]
    );
}

async fn an_added_action_is_idempotent_by_key(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    let (id, _) = store
        .record_decision(&decision("c1", now), &[planned(ActionKind::Hide)])
        .await
        .unwrap();
    let undo = planned(ActionKind::Unhide);
    let first = store
        .add_action(id, "c1:unhide:operator", &undo, now + 1)
        .await
        .unwrap();
    assert!(first.is_some());
    let second = store
        .add_action(id, "c1:unhide:operator", &undo, now + 2)
        .await
        .unwrap();
    assert_eq!(second, None, "the same key plans nothing new");

    let row = find_decision(&*store, "c1").await;
    assert_eq!(
        kinds(&row.action_log),
        [ActionKind::Hide, ActionKind::Unhide]
    );
    let unhide = &row.action_log[1];
    assert_eq!(Some(unhide.id), first);
    assert_eq!(unhide.seq, 1);
    assert_eq!(unhide.account_id, "acct-a");
    assert_eq!(unhide.comment_id, "c1");
    assert_eq!(unhide.created_at, now + 1);
}

async fn actions_are_claimed_in_order_within_a_decision(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    store
        .record_decision(
            &decision("c1", now),
            &[planned(ActionKind::Hide), planned(ActionKind::Reply)],
        )
        .await
        .unwrap();
    store
        .record_decision(
            &decision("c2", now),
            &[skipped(ActionKind::Reply), planned(ActionKind::Delete)],
        )
        .await
        .unwrap();

    // c1's reply waits for its hide; c2's skipped reply is settled and never claimed.
    let claimed = store.claim_actions(10, LEASE, now).await.unwrap();
    let got: Vec<(&str, ActionKind)> = claimed
        .iter()
        .map(|a| (a.comment_id.as_str(), a.kind))
        .collect();
    assert_eq!(got, [("c1", ActionKind::Hide), ("c2", ActionKind::Delete)]);
    assert!(claimed.iter().all(|a| a.attempts == 1));

    assert!(
        store
            .claim_actions(10, LEASE, now + 1)
            .await
            .unwrap()
            .is_empty(),
        "leased actions are not claimed again, and the reply still waits for the hide"
    );

    let hide = claimed[0].id;
    store
        .update_action(hide, &ActionUpdate::Done { result_id: None }, now + 2)
        .await
        .unwrap();
    let next = store.claim_actions(10, LEASE, now + 3).await.unwrap();
    assert_eq!(kinds(&next), [ActionKind::Reply]);
    assert_eq!(next[0].comment_id, "c1");
    assert_eq!(next[0].payload, json!("Thanks for reaching out"));

    // A crashed executor's claim returns when its lease expires.
    let returned = store
        .claim_actions(10, LEASE, now + LEASE_MS + 1)
        .await
        .unwrap();
    assert_eq!(kinds(&returned), [ActionKind::Delete]);
    assert_eq!(
        returned[0].attempts, 2,
        "a second try is visible to the executor"
    );
}

async fn concurrent_action_claimers_split_the_work(db: Db) {
    let instances = [db.store().await, db.store().await];
    let now = now_ms();
    for i in 0..60 {
        instances[0]
            .record_decision(
                &decision(&format!("c{i}"), now),
                &[planned(ActionKind::Hide), planned(ActionKind::Reply)],
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for store in instances.iter().cycle().take(6) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut idle = 0;
            // Replies become claimable as hides finish, so stop only after a few empty rounds.
            while idle < 20 {
                let claimed = store.claim_actions(5, LEASE, now).await.unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                idle = 0;
                for a in claimed {
                    store
                        .update_action(a.id, &ActionUpdate::Done { result_id: None }, now)
                        .await
                        .unwrap();
                    mine.push(a.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "an action was claimed twice");
    assert_eq!(unique.len(), 120, "every action was claimed");
    assert_eq!(instances[1].next_action_due().await.unwrap(), None);
}

async fn a_retried_action_waits_for_its_due_time(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    store
        .record_decision(
            &decision("c1", now),
            &[planned(ActionKind::Hide), planned(ActionKind::Reply)],
        )
        .await
        .unwrap();
    assert_eq!(store.next_action_due().await.unwrap(), Some(now));
    let hide = store.claim_actions(10, LEASE, now).await.unwrap();
    assert_eq!(kinds(&hide), [ActionKind::Hide]);
    assert_eq!(
        store.next_action_due().await.unwrap(),
        Some(now + LEASE_MS),
        "a claimed action is due again when its lease expires; the reply waiting behind it is not due"
    );

    store
        .update_action(
            hide[0].id,
            &ActionUpdate::Retry {
                error: "rate limited".to_string(),
                next_at: now + 60_000,
            },
            now + 1,
        )
        .await
        .unwrap();
    assert_eq!(store.next_action_due().await.unwrap(), Some(now + 60_000));
    assert!(store
        .claim_actions(10, LEASE, now + 59_999)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim_actions(10, LEASE, now + 60_000).await.unwrap();
    assert_eq!(kinds(&again), [ActionKind::Hide]);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("rate limited"));
}

async fn action_updates_show_in_the_action_log(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    store
        .record_decision(
            &decision("c1", now),
            &[planned(ActionKind::Hide), planned(ActionKind::Reply)],
        )
        .await
        .unwrap();
    store
        .record_decision(
            &decision("c2", now),
            &[skipped(ActionKind::Reply), planned(ActionKind::Delete)],
        )
        .await
        .unwrap();
    store
        .record_decision(&decision("c3", now), &[skipped(ActionKind::Hide)])
        .await
        .unwrap();
    store
        .record_decision(&decision("c4", now), &[])
        .await
        .unwrap();

    let first = store.claim_actions(10, LEASE, now).await.unwrap();
    for a in &first {
        store
            .update_action(a.id, &ActionUpdate::Done { result_id: None }, now + 1)
            .await
            .unwrap();
    }
    let reply = store.claim_actions(10, LEASE, now + 2).await.unwrap();
    assert_eq!(kinds(&reply), [ActionKind::Reply]);
    store
        .update_action(
            reply[0].id,
            &ActionUpdate::Failed {
                error: "comment was deleted".to_string(),
            },
            now + 3,
        )
        .await
        .unwrap();

    let c1 = find_decision(&*store, "c1").await;
    let states: Vec<ActionState> = c1.action_log.iter().map(|a| a.state).collect();
    assert_eq!(states, [ActionState::Done, ActionState::Failed]);
    assert_eq!(
        c1.action_log[1].last_error.as_deref(),
        Some("comment was deleted")
    );
    assert_eq!(c1.action_log[1].updated_at, now + 3);
    assert_eq!(c1.outcome(), "failed");

    let c2 = find_decision(&*store, "c2").await;
    assert_eq!(c2.action_log[0].state, ActionState::Skipped);
    assert_eq!(c2.action_log[0].last_error.as_deref(), Some("dry run"));
    assert_eq!(c2.outcome(), "done");
    assert_eq!(find_decision(&*store, "c3").await.outcome(), "skipped");
    assert_eq!(find_decision(&*store, "c4").await.outcome(), "none");

    // A reply that Meta accepted keeps the id of the comment it created.
    store
        .add_action(
            c1.id,
            "c1:reply:again",
            &planned(ActionKind::Reply),
            now + 4,
        )
        .await
        .unwrap();
    let again = store.claim_actions(10, LEASE, now + 5).await.unwrap();
    store
        .update_action(
            again[0].id,
            &ActionUpdate::Done {
                result_id: Some("18000000000000001".to_string()),
            },
            now + 6,
        )
        .await
        .unwrap();
    let c1 = find_decision(&*store, "c1").await;
    assert_eq!(
        c1.action_log[2].result_id.as_deref(),
        Some("18000000000000001")
    );
    assert_eq!(c1.action_log[2].state, ActionState::Done);
    assert_eq!(store.next_action_due().await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// The moderation log

/// Records decisions `d0..` one second apart, with the given account, rules and actions.
async fn seed_log(store: &dyn Store, t0: i64) -> Vec<i64> {
    let rows: [(&str, &[&str], &[ActionKind]); 7] = [
        ("acct-a", &["spam"], &[ActionKind::Hide]),
        ("acct-b", &["spam2", "links"], &[ActionKind::Delete]),
        ("acct-a", &[], &[]),
        ("acct-a", &["a_b"], &[ActionKind::Hide, ActionKind::Reply]),
        ("acct-a", &["Spam"], &[ActionKind::Hide]),
        ("acct-b", &["axb", "spam"], &[ActionKind::Reply]),
        ("acct-a", &["100%"], &[]),
    ];
    let mut ids = Vec::new();
    for (i, (account, rules, actions)) in rows.into_iter().enumerate() {
        let d = NewDecision {
            account_id: account.to_string(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            actions: actions.iter().map(|a| a.as_str().to_string()).collect(),
            ..decision(&format!("d{i}"), t0 + 1000 * i as i64)
        };
        let planned: Vec<NewAction> = actions.iter().map(|k| planned(*k)).collect();
        ids.push(store.record_decision(&d, &planned).await.unwrap().0);
    }
    ids
}

async fn list(store: &dyn Store, filter: DecisionFilter) -> Vec<DecisionRow> {
    store.list_decisions(&filter).await.unwrap()
}

async fn decisions_are_filtered_by_rule_action_account_and_time(db: Db) {
    let store = db.store().await;
    let t0 = now_ms();
    seed_log(&*store, t0).await;
    let by = |f: DecisionFilter| list(&*store, f);

    let all = by(DecisionFilter::default()).await;
    assert_eq!(
        comment_ids(&all),
        ["d6", "d5", "d4", "d3", "d2", "d1", "d0"]
    );

    // A rule matches whole ids only, case-sensitively, with no wildcards.
    let rule = |r: &str| DecisionFilter {
        rule: Some(r.to_string()),
        ..Default::default()
    };
    assert_eq!(comment_ids(&by(rule("spam")).await), ["d5", "d0"]);
    assert_eq!(comment_ids(&by(rule("Spam")).await), ["d4"]);
    assert_eq!(comment_ids(&by(rule("a_b")).await), ["d3"]);
    assert_eq!(comment_ids(&by(rule("links")).await), ["d1"]);
    assert_eq!(comment_ids(&by(rule("100%")).await), ["d6"]);
    assert!(by(rule("spa")).await.is_empty());
    assert!(by(rule("%")).await.is_empty());

    let action = |a: &str| DecisionFilter {
        action: Some(a.to_string()),
        ..Default::default()
    };
    assert_eq!(comment_ids(&by(action("hide")).await), ["d4", "d3", "d0"]);
    assert_eq!(comment_ids(&by(action("reply")).await), ["d5", "d3"]);
    assert!(by(action("unhide")).await.is_empty());

    let account_b = by(DecisionFilter {
        account: Some("acct-b".to_string()),
        ..Default::default()
    })
    .await;
    assert_eq!(comment_ids(&account_b), ["d5", "d1"]);

    let since = by(DecisionFilter {
        since_ms: Some(t0 + 4000),
        ..Default::default()
    })
    .await;
    assert_eq!(comment_ids(&since), ["d6", "d5", "d4"]);

    let combined = by(DecisionFilter {
        account: Some("acct-a".to_string()),
        action: Some("hide".to_string()),
        since_ms: Some(t0 + 1000),
        ..Default::default()
    })
    .await;
    assert_eq!(comment_ids(&combined), ["d4", "d3"]);
    // Each row carries its action log.
    assert_eq!(
        kinds(&combined[1].action_log),
        [ActionKind::Hide, ActionKind::Reply]
    );
    assert_eq!(kinds(&combined[0].action_log), [ActionKind::Hide]);
    assert!(combined
        .iter()
        .all(|d| d.action_log.iter().all(|a| a.decision_id == d.id)));

    let limited = by(DecisionFilter {
        limit: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(comment_ids(&limited), ["d6", "d5"]);
}

async fn decisions_page_with_cursors(db: Db) {
    let store = db.store().await;
    let ids = seed_log(&*store, now_ms()).await;

    // Paging back, newest first, three at a time, covers everything once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = list(
            &*store,
            DecisionFilter {
                before_id: before,
                limit: 3,
                ..Default::default()
            },
        )
        .await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        before = Some(page.last().unwrap().id);
        seen.extend(page.iter().map(|d| d.id));
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    // Following: only newer decisions, oldest first.
    let newer = list(
        &*store,
        DecisionFilter {
            after_id: Some(ids[4]),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(comment_ids(&newer), ["d5", "d6"]);

    let window = list(
        &*store,
        DecisionFilter {
            after_id: Some(ids[1]),
            before_id: Some(ids[5]),
            account: Some("acct-a".to_string()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(comment_ids(&window), ["d2", "d3", "d4"]);
}

async fn purge_removes_old_texts_and_keeps_decisions(db: Db) {
    let store = db.store().await;
    let t0 = now_ms();
    store
        .record_decision(&decision("old", t0), &[planned(ActionKind::Hide)])
        .await
        .unwrap();
    store
        .record_decision(&decision("new", t0 + 10_000), &[])
        .await
        .unwrap();

    assert_eq!(store.purge_texts(t0 + 5_000).await.unwrap(), 1);
    assert_eq!(
        store.purge_texts(t0 + 5_000).await.unwrap(),
        0,
        "nothing left to purge"
    );

    let old = find_decision(&*store, "old").await;
    assert_eq!(old.text, None);
    assert_eq!(old.normalized, None);
    assert_eq!(old.rules, ["spam"]);
    assert_eq!(old.author.as_deref(), Some("someone"));
    assert_eq!(kinds(&old.action_log), [ActionKind::Hide]);

    let new = find_decision(&*store, "new").await;
    assert_eq!(new.text.as_deref(), Some("text of new"));
    assert_eq!(new.normalized.as_deref(), Some("normalized new"));
}

/// `(key, state)` of every inbox row, read straight from the database that holds the inbox
/// (on SQLite the inbox file beside the main one).
async fn inbox_rows(db: &Db) -> Vec<(String, String)> {
    let sql = "SELECT dedup_key, state FROM inbox ORDER BY dedup_key";
    if let Some(main) = db.url.strip_prefix("sqlite:") {
        let file = inbox::sqlite::inbox_path(std::path::Path::new(main));
        let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
            .await
            .unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

async fn purge_deletes_processed_inbox_events_and_keeps_pending_ones(db: Db) {
    let store = db.store().await;
    store
        .insert_deliveries(&[events(["old-done".into(), "old-pending".into()])])
        .await
        .unwrap();
    let now = now_ms();
    let claimed = claim_all_events(&*store, now).await;
    let done = claimed.iter().find(|e| e.dedup_key == "old-done").unwrap();
    store
        .record_decisions(&[(decision("c1", now), vec![])], &[done.id], now)
        .await
        .unwrap();
    // The cut-off falls between the first two events and the last one.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cut = now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .insert_deliveries(&[events(["new-done".into()])])
        .await
        .unwrap();
    let later = now_ms();
    let new = claim_all_events(&*store, later + 3_600_000).await;
    let new = new.iter().find(|e| e.dedup_key == "new-done").unwrap();
    store.complete_event(new.id, later).await.unwrap();

    store.purge_texts(cut).await.unwrap();
    let rows = inbox_rows(&db).await;
    let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["new-done", "old-pending"],
        "a processed event past retention is deleted (its payload holds the comment); a pending \
         one is kept whatever its age, and so is a recent one"
    );
}

// ---------------------------------------------------------------------------------------
// The SQLite inbox file

/// An earlier version kept the inbox in the main file. Opening such a database moves the
/// events (pending ones still to be processed) and the dead letters into the inbox file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_kept_in_the_main_file_by_an_earlier_version_is_moved_to_the_inbox_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("store.db");
    let url = format!("sqlite:{}", main.display());
    let store = SqlStore::connect(&url).await.unwrap();
    store
        .record_decision(&decision("c1", now_ms()), &[])
        .await
        .unwrap();
    // What the earlier version wrote, in its own tables of the main file.
    sqlx::query(
        "INSERT INTO inbox (id, dedup_key, account_id, field, payload, received_at, state) VALUES \
         (7, 'comments:old-done', '1784', 'comments', '{}', 1, 'done'), \
         (8, 'comments:old-pending', '1784', 'comments', '{\"value\":{}}', 2, 'pending')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO dead_letters (received_at, reason, body) VALUES (3, 'not JSON', x'7b')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let inbox_file = store.inbox_file().unwrap().to_path_buf();
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", inbox_file.display()));
    }

    let store = SqlStore::connect(&url).await.unwrap();
    let pending = store
        .claim_events(10, Duration::from_secs(60), now_ms())
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].id, pending[0].dedup_key.as_str()),
        (8, "comments:old-pending")
    );
    let outcome = store
        .insert_deliveries(&[events(["comments:old-done".into()])])
        .await
        .unwrap();
    assert_eq!(
        outcome[0].duplicates, 1,
        "a redelivery of a moved event is still recognised"
    );
    assert_eq!(store.dead_letters(10).await.unwrap()[0].reason, "not JSON");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM inbox) + (SELECT COUNT(*) FROM dead_letters)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(left, 0, "nothing is left behind in the main file");
    assert_eq!(find_decision(&store, "c1").await.comment_id, "c1");
    drop(store);

    // Opening again moves nothing twice.
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(store.dead_letters(10).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Waking workers

async fn stored_work_wakes_a_subscribed_worker(db: Db) {
    const PATIENCE: Duration = Duration::from_secs(30);
    let worker = db.store().await;
    let mut inbox = worker.subscribe(WorkChannel::Inbox);
    let mut actions = worker.subscribe(WorkChannel::Actions);
    // On PostgreSQL the work comes from another instance; SQLite serves one instance, whose
    // own writes wake its workers.
    let writer = match worker.dialect() {
        Dialect::Postgres => db.store().await,
        Dialect::Sqlite => worker.clone(),
    };
    if worker.dialect() == Dialect::Postgres {
        // The listener is connected once it wakes everyone to say it may have missed something.
        assert!(inbox.wait(PATIENCE).await, "the listener connects");
        actions.wait(PATIENCE).await;
    }

    writer
        .insert_deliveries(&[events(["comments:1".into()])])
        .await
        .unwrap();
    assert!(
        inbox.wait(PATIENCE).await,
        "a stored event wakes the inbox worker"
    );

    writer
        .record_decision(&decision("c1", now_ms()), &[planned(ActionKind::Hide)])
        .await
        .unwrap();
    assert!(
        actions.wait(PATIENCE).await,
        "a planned action wakes the executor"
    );

    // The one-shot form, for callers without a loop.
    let waiter = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.wait_for_work(WorkChannel::Inbox, PATIENCE).await })
    };
    // Keep delivering until it wakes: the waiter subscribes whenever its task gets to run.
    let mut n = 2;
    while !waiter.is_finished() {
        writer
            .insert_deliveries(&[events([format!("comments:{n}")])])
            .await
            .unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(waiter.await.unwrap(), "woken, not timed out");
}

conformance!(
    concurrent_action_claimers_split_the_work,
    instances_starting_together_migrate_once,
);

async fn instances_starting_together_migrate_once(db: Db) {
    // A rolling deploy or a scale-up starts several replicas on one (possibly fresh) database.
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.store().await })
        })
        .collect();
    let mut instances = Vec::new();
    for s in starts {
        instances.push(s.await.expect("every instance starts"));
    }
    instances[0]
        .insert_deliveries(&[events(["comments:1".into()])])
        .await
        .unwrap();
    for store in &instances {
        store.ping().await.unwrap();
        assert_eq!(store.inbox_stats().await.unwrap().pending, 1);
    }
}

// ---------------------------------------------------------------------------------------
// Rule statistics, automatic shadowing and shared rule state

fn decided(comment_id: &str, account: &str, rules: &[&str], at: i64) -> NewDecision {
    NewDecision {
        account_id: account.to_string(),
        rules: rules.iter().map(|r| r.to_string()).collect(),
        ..decision(comment_id, at)
    }
}

async fn rule_matches_are_grouped_by_account_and_rule_list_in_both_windows(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    let hour = 3_600_000;
    let seed = [
        ("old", "acct-a", vec!["spam"], now - 3 * hour),
        ("a1", "acct-a", vec!["spam"], now - 2 * hour),
        ("a2", "acct-a", vec!["spam"], now - 60_000),
        ("a3", "acct-a", vec!["spam", "link_x"], now - 30_000),
        ("a4", "acct-a", vec![], now - 10_000),
        ("b1", "acct-b", vec!["spam"], now - 10_000),
    ];
    for (c, account, rules, at) in &seed {
        store
            .record_decision(&decided(c, account, rules, *at), &[])
            .await
            .unwrap();
    }
    let mut groups = store
        .rule_match_counts(now - 150 * 60_000, now - hour)
        .await
        .unwrap();
    groups.sort_by(|a, b| (&a.account_id, &a.rules).cmp(&(&b.account_id, &b.rules)));
    let got: Vec<(&str, Vec<&str>, i64, i64)> = groups
        .iter()
        .map(|g| {
            (
                g.account_id.as_str(),
                g.rules.iter().map(String::as_str).collect(),
                g.count,
                g.recent,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("acct-a", vec![], 1, 1),
            ("acct-a", vec!["spam"], 2, 1),
            ("acct-a", vec!["spam", "link_x"], 1, 1),
            ("acct-b", vec!["spam"], 1, 1),
        ]
    );
    assert!(store
        .rule_match_counts(now + 1, now + 1)
        .await
        .unwrap()
        .is_empty());
}

fn shadow(rule: &str, scope: &str, file_mtime: i64, at: i64) -> AutoShadow {
    AutoShadow {
        scope: scope.to_string(),
        rule_id: rule.to_string(),
        state: AutoShadowState::Shadowed,
        matches: 30,
        decisions: 40,
        window_ms: 3_600_000,
        file_mtime,
        at,
    }
}

async fn a_rule_version_keeps_its_first_time_until_it_changes(db: Db) {
    use commentguard::store::RuleVersion;
    let a = db.store().await;
    let b = db.store().await;
    let v = |rule: &str, version: &str, since: i64| RuleVersion {
        scope: String::new(),
        rule_id: rule.into(),
        version: version.into(),
        since,
    };
    assert!(a.rule_versions().await.unwrap().is_empty());
    a.note_rule_versions(&[v("scam", "v1", 0), v("greedy", "g1", 0)])
        .await
        .unwrap();
    // The same version noted again (a redeploy, or another instance) keeps its time.
    b.note_rule_versions(&[v("scam", "v1", 5_000)])
        .await
        .unwrap();
    // A new version takes the time it was first noted; the second instance's later noting of
    // the same version does not move it.
    a.note_rule_versions(&[v("greedy", "g2", 7_000)])
        .await
        .unwrap();
    b.note_rule_versions(&[v("greedy", "g2", 9_000)])
        .await
        .unwrap();
    // Back to the first version (two instances mid-deploy, or an edit undone): it keeps the
    // time it was first seen, so neither version looks freshly edited again.
    a.note_rule_versions(&[v("greedy", "g1", 11_000)])
        .await
        .unwrap();
    let mut rows = b.rule_versions().await.unwrap();
    rows.sort_by(|x, y| (&x.rule_id, &x.version).cmp(&(&y.rule_id, &y.version)));
    assert_eq!(
        rows,
        vec![
            v("greedy", "g1", 0),
            v("greedy", "g2", 7_000),
            v("scam", "v1", 0)
        ]
    );
}

async fn an_auto_shadow_is_switched_once_per_rule_version_and_cleared(db: Db) {
    let a = db.store().await;
    let b = db.store().await;
    let t = now_ms();
    assert!(a.auto_shadows().await.unwrap().is_empty());

    // Two instances notice together: one switches, the other finds it done.
    assert!(a
        .set_auto_shadow(&shadow("greedy", "", t, t + 10))
        .await
        .unwrap());
    assert!(!b
        .set_auto_shadow(&shadow("greedy", "", t, t + 20))
        .await
        .unwrap());
    let rows = b.auto_shadows().await.unwrap();
    assert_eq!(rows, vec![shadow("greedy", "", t, t + 10)]);

    // The same rule id in an account's own folder is another rule.
    assert!(b
        .set_auto_shadow(&shadow("greedy", "acct-a", t, t + 30))
        .await
        .unwrap());

    // Cleared by an operator: this version is not switched again.
    assert_eq!(
        a.clear_auto_shadow("greedy", Some(""), t + 40)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        a.clear_auto_shadow("greedy", Some(""), t + 41)
            .await
            .unwrap(),
        0
    );
    assert!(!a
        .set_auto_shadow(&shadow("greedy", "", t, t + 50))
        .await
        .unwrap());
    let rows = a.auto_shadows().await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].scope, "");
    assert_eq!(rows[0].state, AutoShadowState::Cleared);
    assert_eq!(rows[0].at, t + 40);
    assert_eq!(rows[1].state, AutoShadowState::Shadowed);

    // The file changed after the clear: the new version may be switched.
    assert!(a
        .set_auto_shadow(&shadow("greedy", "", t + 60, t + 70))
        .await
        .unwrap());
    assert_eq!(
        a.auto_shadows().await.unwrap()[0].state,
        AutoShadowState::Shadowed
    );

    // Without a scope, every folder's rule of that id is cleared.
    assert_eq!(
        b.clear_auto_shadow("greedy", None, t + 80).await.unwrap(),
        2
    );
    assert_eq!(b.clear_auto_shadow("nope", None, t + 80).await.unwrap(), 0);
}

fn with_event(
    mut d: NewDecision,
    author: &str,
    text_key: &str,
    time: i64,
    enforced: bool,
) -> NewDecision {
    d.rule_event = Some(RuleEvent {
        account_id: d.account_id.clone(),
        author: author.to_string(),
        text_key: text_key.to_string(),
        time,
        enforced,
    });
    d
}

async fn rule_events_are_written_once_with_their_decision_and_answer_state_questions(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    let t = 1_700_000_000;
    let writes = vec![
        (
            with_event(decision("c1", now), "ann", "k1", t, false),
            vec![],
        ),
        (
            with_event(decision("c2", now), "ann", "k1", t + 10, true),
            vec![],
        ),
        (
            with_event(decision("c3", now), "bob", "k1", t + 20, false),
            vec![],
        ),
        (
            with_event(decision("c4", now), "bob", "k2", t + 30, false),
            vec![],
        ),
        (
            with_event(
                decided("c5", "acct-b", &[], now),
                "ann",
                "k1",
                t + 40,
                false,
            ),
            vec![],
        ),
    ];
    store.record_decisions(&writes, &[], now).await.unwrap();
    // Re-processing the same events writes no second rule event.
    store.record_decisions(&writes, &[], now).await.unwrap();

    let rows = store
        .rule_state("acct-a", &["ann".into(), "carl".into()], &["k1".into()], t)
        .await
        .unwrap();
    let mut authors = rows.author_events.clone();
    authors.sort();
    assert_eq!(
        authors,
        vec![
            ("ann".to_string(), t, false),
            ("ann".to_string(), t + 10, true)
        ]
    );
    let mut texts = rows.text_authors.clone();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            ("k1".to_string(), "ann".to_string(), t + 10),
            ("k1".to_string(), "bob".to_string(), t + 20),
        ]
    );

    // `since` bounds both questions; nothing asked, nothing read.
    let later = store
        .rule_state("acct-a", &["ann".into()], &["k1".into()], t + 15)
        .await
        .unwrap();
    assert!(later.author_events.is_empty());
    assert_eq!(
        later.text_authors,
        vec![("k1".to_string(), "bob".to_string(), t + 20)]
    );
    assert_eq!(
        store.rule_state("acct-a", &[], &[], 0).await.unwrap(),
        RuleStateRows::default()
    );
}

async fn old_rule_events_are_pruned(db: Db) {
    let store = db.store().await;
    let now = now_ms();
    let t = 1_700_000_000;
    store
        .record_decision(
            &with_event(decision("old", now - 10_000), "ann", "k", t, false),
            &[],
        )
        .await
        .unwrap();
    store
        .record_decision(&with_event(decision("new", now), "ann", "k", t, false), &[])
        .await
        .unwrap();
    assert_eq!(store.prune_rule_events(now - 5_000).await.unwrap(), 1);
    assert_eq!(store.prune_rule_events(now - 5_000).await.unwrap(), 0);
    let rows = store
        .rule_state("acct-a", &["ann".into()], &[], 0)
        .await
        .unwrap();
    assert_eq!(rows.author_events.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Instances and their claims

const DEAD_AFTER: Duration = Duration::from_secs(10);

/// One event claimed and one action claimed by `store`, at `now`, with long leases.
async fn claim_one_of_each(store: &dyn Store, now: i64) -> (i64, i64) {
    store
        .insert_deliveries(&[events(["comments:crash".into()])])
        .await
        .unwrap();
    store
        .record_decision(&decision("crash", now), &[planned(ActionKind::Hide)])
        .await
        .unwrap();
    let long = Duration::from_secs(120);
    let events = store.claim_events(10, long, now).await.unwrap();
    let actions = store.claim_actions(10, long, now).await.unwrap();
    assert_eq!((events.len(), actions.len()), (1, 1));
    (events[0].id, actions[0].id)
}

async fn a_restarted_instance_takes_back_its_previous_runs_claims(db: Db) {
    let t0 = now_ms();
    let first_run = db.store().await;
    first_run
        .register_instance("web-1", t0, DEAD_AFTER, t0)
        .await
        .unwrap();
    let (event, action) = claim_one_of_each(&*first_run, t0).await;
    // Killed: no clean stop, no more heartbeats. The same instance starts again 2 s later.
    drop(first_run);
    let t1 = t0 + 2_000;
    let second_run = db.store().await;
    let taken = second_run
        .register_instance("web-1", t1, DEAD_AFTER, t1)
        .await
        .unwrap();
    // SQLite: no other instance holds the file, so every old claim was its own. On PostgreSQL the previous
    // run of the same id beat 2 s ago, but not again while the new one watched: gone.
    assert_eq!((taken.events, taken.actions), (1, 1));
    let long = Duration::from_secs(120);
    let events = second_run.claim_events(10, long, t1).await.unwrap();
    let actions = second_run.claim_actions(10, long, t1).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [event]);
    assert_eq!(actions.iter().map(|a| a.id).collect::<Vec<_>>(), [action]);
    assert_eq!(events[0].attempts, 2, "the interrupted try still counts");
    assert_eq!(
        actions[0].attempts, 2,
        "a reply is looked up before posting again"
    );

    if second_run.dialect() == Dialect::Postgres {
        // A second process started by mistake with the same id while the first still runs:
        // the first beats while it is watched, and keeps its claims.
        let (event, _) = {
            second_run
                .insert_deliveries(&[events_of("comments:twin")])
                .await
                .unwrap();
            let claimed = second_run.claim_events(10, long, t1).await.unwrap();
            (claimed[0].id, ())
        };
        let beating = second_run.clone();
        let beats = tokio::spawn(async move {
            for _ in 0..40 {
                beating.heartbeat(now_ms()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let twin = db.store().await;
        let t2 = now_ms();
        twin.register_instance("web-1", t2, DEAD_AFTER, t2)
            .await
            .unwrap();
        assert!(
            twin.claim_events(10, long, now_ms())
                .await
                .unwrap()
                .is_empty(),
            "a living run's claim ({event}) was taken"
        );
        beats.abort();
    }
}

/// A rolling deploy, or two services on one SQLite file: the new instance starts while the
/// old one is still at work. What the old one holds may be in flight (a reply being posted);
/// the new one must not take it, on either engine.
async fn an_instance_started_beside_a_running_one_leaves_its_claims_alone(db: Db) {
    let t0 = now_ms();
    let old = db.store().await;
    old.register_instance("old", t0, DEAD_AFTER, t0)
        .await
        .unwrap();
    claim_one_of_each(&*old, t0).await;
    let t1 = t0 + 1_000;
    old.heartbeat(t1).await.unwrap();
    let new = db.store().await;
    let taken = new
        .register_instance("new", t1, DEAD_AFTER, t1)
        .await
        .unwrap();
    assert_eq!(taken, TakenBack::default());
    let long = Duration::from_secs(120);
    assert!(new.claim_events(10, long, t1).await.unwrap().is_empty());
    assert!(new.claim_actions(10, long, t1).await.unwrap().is_empty());

    // A sweep from the command line works beside a serve the same way.
    let sweep = db.store().await;
    sweep.attend().await.unwrap();
    sweep
        .insert_deliveries(&[events_of("comments:swept")])
        .await
        .unwrap();
    assert_eq!(sweep.claim_events(10, long, t1).await.unwrap().len(), 1);
    let third = db.store().await;
    let t2 = t1 + 1_000;
    old.heartbeat(t2).await.unwrap();
    new.heartbeat(t2).await.unwrap();
    third
        .register_instance("third", t2, DEAD_AFTER, t2)
        .await
        .unwrap();
    assert!(third.claim_events(10, long, t2).await.unwrap().is_empty());
}

fn events_of(key: &str) -> Delivery {
    events([key.to_string()])
}

async fn the_claims_of_an_instance_whose_heartbeat_stopped_are_taken_over(db: Db) {
    if db.url.starts_with("sqlite") {
        // One instance per SQLite file: there is no other instance to take over.
        return;
    }
    let t0 = now_ms();
    let a = db.store().await;
    let b = db.store().await;
    a.register_instance("a", t0, DEAD_AFTER, t0).await.unwrap();
    b.register_instance("b", t0, DEAD_AFTER, t0).await.unwrap();
    let (event, action) = claim_one_of_each(&*a, t0).await;
    let story = NewStory {
        story_id: "story-1".into(),
        account_id: "acct-a".into(),
        media_type: Some("IMAGE".into()),
        posted_at: t0,
        first_seen: t0,
        expires_at: t0 + 86_400_000,
        next_snapshot_at: Some(t0),
    };
    a.upsert_story(&story).await.unwrap();
    let long = Duration::from_secs(120);
    assert_eq!(a.claim_due_stories(10, long, t0).await.unwrap().len(), 1);

    // A slow Graph call: `a` still beats, so it keeps every claim past DEAD_AFTER.
    let t1 = t0 + 9_000;
    a.heartbeat(t1).await.unwrap();
    b.heartbeat(t1).await.unwrap();
    let t2 = t0 + 15_000;
    assert!(b.claim_events(10, long, t2).await.unwrap().is_empty());
    assert!(b.claim_actions(10, long, t2).await.unwrap().is_empty());
    assert!(b.claim_due_stories(10, long, t2).await.unwrap().is_empty());

    // `a` dies (no more heartbeats); DEAD_AFTER after its last one, `b` takes its work.
    let t3 = t1 + DEAD_AFTER.as_millis() as i64 + 1;
    b.heartbeat(t3).await.unwrap();
    let events = b.claim_events(10, long, t3).await.unwrap();
    let actions = b.claim_actions(10, long, t3).await.unwrap();
    let stories = b.claim_due_stories(10, long, t3).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [event]);
    assert_eq!(actions.iter().map(|a| a.id).collect::<Vec<_>>(), [action]);
    assert_eq!(stories.len(), 1);
    // Now `b` holds them: nobody else takes them while `b` beats.
    let c = db.store().await;
    c.register_instance("c", t3, DEAD_AFTER, t3).await.unwrap();
    assert!(c
        .claim_events(10, long, t3 + 1_000)
        .await
        .unwrap()
        .is_empty());

    // A snapshot recorded ends the claim: the story waits for its next time, even with `b`
    // gone later.
    b.record_snapshot(
        &NewSnapshot {
            story_id: "story-1".into(),
            account_id: "acct-a".into(),
            taken_at: t3,
            status: "ok".into(),
            metrics: "{}".into(),
            raw: "{}".into(),
            error: None,
        },
        Some(t3 + 3_600_000),
    )
    .await
    .unwrap();
    let t4 = t3 + 60_000;
    c.heartbeat(t4).await.unwrap();
    assert!(c.claim_due_stories(10, long, t4).await.unwrap().is_empty());
    // An event given back for a retry waits for its time, whoever claimed it last.
    b.retry_event(event, "Graph down", t4 + 600_000, false)
        .await
        .unwrap();
    assert!(c.claim_events(10, long, t4).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Labels

fn label(comment: &str, person: &str, l: Label, at: i64) -> NewLabel {
    NewLabel {
        comment_id: comment.into(),
        kind: "comment".into(),
        account_id: "acct-a".into(),
        person: person.into(),
        label: l,
        source: "review".into(),
        text: Some(format!("text of {comment}")),
        author: Some("someone".into()),
        at,
    }
}

async fn a_persons_latest_label_stands_and_labels_keep_their_text(db: Db) {
    let store = db.store().await;
    let t0 = now_ms();
    store
        .set_label(&label("c1", "dana", Label::Spam, t0))
        .await
        .unwrap();
    store
        .set_label(&label("c1", "omar", Label::Spam, t0 + 1))
        .await
        .unwrap();
    // Dana changes her mind: one label per person and comment, the latest standing. A label
    // given without the text (purged from the log meanwhile) keeps the text it had.
    store
        .set_label(&NewLabel {
            text: None,
            ..label("c1", "dana", Label::NotSpam, t0 + 2)
        })
        .await
        .unwrap();
    store
        .set_label(&label("c2", "dana", Label::Spam, t0 + 3))
        .await
        .unwrap();
    let on_c1 = store.labels_for(&["c1".into()]).await.unwrap();
    let mut seen: Vec<(String, Label)> =
        on_c1.iter().map(|l| (l.person.clone(), l.label)).collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            ("dana".to_string(), Label::NotSpam),
            ("omar".to_string(), Label::Spam)
        ]
    );
    let dana = on_c1.iter().find(|l| l.person == "dana").unwrap();
    assert_eq!(dana.text.as_deref(), Some("text of c1"));
    let all = store.list_labels(&LabelFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    let recent = store
        .list_labels(&LabelFilter {
            since_ms: Some(t0 + 3),
            account: Some("acct-a".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|l| l.comment_id.as_str())
            .collect::<Vec<_>>(),
        ["c2"]
    );
    // Retention: labels given before the cut-off go, with their texts.
    assert_eq!(store.purge_labels(t0 + 2).await.unwrap(), 1);
    assert_eq!(
        store
            .list_labels(&LabelFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn saved_replies_are_kept_per_account_replaced_by_title_and_removed(db: Db) {
    use commentguard::store::SavedReply;
    let a = db.store().await;
    let b = db.store().await;
    let reply = |account: &str, title: &str, text: &str| SavedReply {
        account_id: account.into(),
        title: title.into(),
        text: text.into(),
        person: "Robin".into(),
        saved_at: 5,
    };
    a.put_saved_reply(&reply("acc-2", "Thanks", "Thank you!"))
        .await
        .unwrap();
    a.put_saved_reply(&reply("acc-1", "Scam warning", "We never DM first."))
        .await
        .unwrap();
    a.put_saved_reply(&reply("acc-1", "Thanks", "Thanks a lot!"))
        .await
        .unwrap();
    // The same title again replaces the text; another instance reads the same list.
    a.put_saved_reply(&reply("acc-1", "Thanks", "Thanks, {author}!"))
        .await
        .unwrap();
    let all = b.saved_replies().await.unwrap();
    let seen: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|r| (r.account_id.as_str(), r.title.as_str(), r.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("acc-1", "Scam warning", "We never DM first."),
            ("acc-1", "Thanks", "Thanks, {author}!"),
            ("acc-2", "Thanks", "Thank you!"),
        ]
    );
    assert!(b.delete_saved_reply("acc-1", "Thanks").await.unwrap());
    assert!(!b.delete_saved_reply("acc-1", "Thanks").await.unwrap());
    assert_eq!(a.saved_replies().await.unwrap().len(), 2);
}
