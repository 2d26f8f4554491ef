//! The rule engine's state shared across instances, and rules switched to shadow when a fresh
//! edit matches too much (issue 5 item 4, issue 7 item 2).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::helpers::*;
use crate::support::fake_graph::FakeGraph;

const ACCOUNT: &str = "17841400000000000";
const TOKEN: &str = "page-token-for-tests";
const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn graph_env(fake: &FakeGraph) -> Vec<(String, String)> {
    fake.set_app_secret(APP_SECRET);
    vec![
        ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
        ("COMMENTGUARD_GRAPH_VERSION".into(), "v23.0".into()),
        ("COMMENTGUARD_ACCESS_TOKEN".into(), TOKEN.into()),
    ]
}

#[tokio::test]
async fn a_flood_split_across_two_instances_on_one_database_is_still_a_flood() {
    let fake = FakeGraph::start().await;
    let shared = tempfile::tempdir().unwrap();
    let mut env = graph_env(&fake);
    env.push((
        "COMMENTGUARD_DATABASE_URL".into(),
        format!("sqlite:{}", shared.path().join("shared.db").display()),
    ));
    let a = spawn_app_with(AppOptions {
        env: env.clone(),
        rules: Some(fixture("flood-rules")),
        dir: None,
    })
    .await;
    let b = spawn_app_with(AppOptions {
        env,
        rules: Some(fixture("flood-rules")),
        dir: None,
    })
    .await;

    // Two comments, one on each instance: neither is a flood yet.
    for (app, comment) in [(&a, "c-1"), (&b, "c-2")] {
        let body = comment_body(ACCOUNT, comment, "buy now", "flooder");
        assert_eq!(app.post_signed(&body).await.status(), 200);
        let d = settled_decision(app.store.as_ref(), comment).await;
        assert!(d.actions.is_empty(), "{comment} is not a flood: {d:#?}");
    }
    // The third reaches the first instance, which saw only one of the earlier two itself.
    a.post_signed(&comment_body(ACCOUNT, "c-3", "buy now", "flooder"))
        .await;
    let d = settled_decision(a.store.as_ref(), "c-3").await;
    assert_eq!(d.rules, ["flood-hide"]);
    assert_eq!(d.actions, ["hide"]);
    let hides = fake.wait_for_calls("hide", 1, WAIT).await;
    assert_eq!(hides[0].object_id, "c-3");

    // Someone else's comment on the other instance is not part of the flood.
    b.post_signed(&comment_body(ACCOUNT, "c-calm", "buy now", "calm"))
        .await;
    let d = settled_decision(b.store.as_ref(), "c-calm").await;
    assert!(d.actions.is_empty());
    assert_eq!(fake.calls_to("hide").len(), 1);
}
