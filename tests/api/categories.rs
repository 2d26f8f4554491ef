//! The kinds of abuse a brand can choose between (issue 29): a threat, an unwanted sexual
//! comment and an insult, through the service with the shipped pack, each hidden with its own
//! category in the log, the metrics and the review page's filter.

use std::time::Duration;

use commentguard::store::DecisionFilter;

use crate::helpers::*;
use crate::support::fake_graph::FakeGraph;

const ACCOUNT: &str = "17841500000000401";
const TOKEN: &str = "EAAGcategoriespagetoken401";
const ADMIN: &str = "admin-token-for-the-category-tests-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threats_sexual_comments_and_insults_are_hidden_each_under_its_own_category() {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), TOKEN.into()),
            ("COMMENTGUARD_ADMIN_TOKEN".into(), ADMIN.into()),
        ],
        ..Default::default()
    })
    .await;
    let comments = [
        ("c-threat", "I will kill you", "threat"),
        ("c-sexual", "send nudes", "sexual"),
        ("c-insult", "você é um idiota", "harassment"),
        ("c-fine", "this fucking dress is gorgeous", ""),
    ];
    for (id, text, _) in comments {
        let body = comment_body(ACCOUNT, id, text, "someone");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    fake.wait_until(Duration::from_secs(20), || {
        ["c-threat", "c-sexual", "c-insult"]
            .iter()
            .all(|c| fake.is_hidden(c) == Some(true))
    })
    .await;
    for (id, _, category) in comments {
        let what = format!("the decision for {id}");
        let d = crate::wait::wait_until(&what, Duration::from_secs(20), async || {
            let rows = app
                .store
                .list_decisions(&DecisionFilter {
                    comment_id: Some(id.into()),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            rows.into_iter()
                .next()
                .ok_or_else(|| "no decision".to_string())
        })
        .await;
        let enforced: Vec<&str> = d
            .matched
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["mode"] == "enforce")
            .filter_map(|m| m["category"].as_str())
            .collect();
        if category.is_empty() {
            // Swearing aimed at nobody stays visible.
            assert!(enforced.is_empty(), "{id}: {enforced:?}");
            assert_ne!(fake.is_hidden(id), Some(true));
        } else {
            assert!(enforced.contains(&category), "{id}: {enforced:?}");
        }
    }

    let metrics = metrics_text(&app).await;
    for category in ["threat", "sexual", "harassment"] {
        assert!(
            metrics.contains(&format!(
                "commentguard_rule_matches_total{{mode=\"enforce\",category=\"{category}\"}}"
            )),
            "no {category} in the metrics"
        );
    }

    // The review page's filter: one kind, or every kind of abuse.
    let threats = review_html(&app, ADMIN, "category=threat").await;
    assert!(threats.contains("I will kill you"), "{threats}");
    assert!(!threats.contains("send nudes"));
    assert!(!threats.contains("idiota"));
    let abuse = review_html(&app, ADMIN, "category=abuse").await;
    for text in ["I will kill you", "send nudes", "idiota"] {
        assert!(abuse.contains(text), "{text} missing under abuse");
    }
    assert!(!abuse.contains("gorgeous"));
}
