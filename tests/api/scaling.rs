//! Several instances on one database (issue 7): deliveries split between two services, then
//! every one redelivered to the other; each comment is acted on exactly once.

use std::path::Path;
use std::time::Duration;

use crate::helpers::*;
use crate::support::fake_graph::FakeGraph;

const ACCOUNT: &str = "17841400000000000";

async fn instance(fake: &FakeGraph, db: &str) -> TestApp {
    spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_DATABASE_URL".into(), db.to_string()),
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), "tok".into()),
        ],
        rules: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moderation-rules")),
        dir: None,
    })
    .await
}

async fn two_instances_act_once(db: String) {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let a = instance(&fake, &db).await;
    let b = instance(&fake, &db).await;
    let n = 30;
    let body = |i: usize| {
        let text = if i.is_multiple_of(3) {
            "free giveaway"
        } else {
            "forex profits"
        };
        comment_body(ACCOUNT, &format!("two-{i}"), text, &format!("user{i}"))
    };
    // Split between the instances, then each redelivered to the other, concurrently.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..n {
        for first in [true, false] {
            let to_a = (i % 2 == 0) == first;
            let url = if to_a {
                a.address.clone()
            } else {
                b.address.clone()
            };
            let client = a.client.clone();
            let bytes = body(i);
            sends.spawn(async move {
                let sig = commentguard::ingress::signature::sign(
                    &bytes,
                    &commentguard::secret::Secret::new(APP_SECRET),
                );
                client
                    .post(format!("{url}/webhook"))
                    .header("x-hub-signature-256", sig)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        }
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    fake.wait_until(Duration::from_secs(30), || {
        (0..n).all(|i| fake.is_hidden(&format!("two-{i}")) == Some(true))
    })
    .await;
    // Let any second attempt that would happen, happen.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hides = fake.calls_to("hide");
    for i in 0..n {
        let id = format!("two-{i}");
        assert_eq!(
            hides.iter().filter(|r| r.object_id == id).count(),
            1,
            "{id} hidden once"
        );
        let replies = fake.replies_to(&id).len();
        assert_eq!(
            replies,
            usize::from(i % 3 == 0),
            "{id} answered at most once"
        );
    }
    // Every redelivery was recognised: one inbox row per comment.
    let stats = a.store.inbox_stats().await.unwrap();
    assert_eq!(stats.pending + stats.failed, 0, "{stats:?}");
}

#[tokio::test]
async fn two_instances_on_one_sqlite_file_act_on_each_comment_once() {
    let dir = tempfile::tempdir().unwrap();
    two_instances_act_once(format!("sqlite:{}", dir.path().join("shared.db").display())).await;
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_act_on_each_comment_once() {
    let Some(db) = crate::pg::FreshPostgres::create(
        "two",
        "scaling::two_instances_on_one_postgres_database_act_on_each_comment_once",
    )
    .await
    else {
        return;
    };
    two_instances_act_once(db.url.clone()).await;
}
