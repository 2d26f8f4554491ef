//! The review page's queue of comments the rules were unsure of (issue 26): left visible, yet a
//! shadow rule matched them or the scam model leaned towards them. Through the service with a
//! real model and real corpus comments: the models' scores are kept with each decision, and
//! `?queue=unsure` lists exactly the unsure ones that nobody has labelled yet.

use std::path::Path;
use std::time::Duration;

use commentguard::rules::model::Model;
use commentguard::store::DecisionFilter;

use crate::helpers::*;
use crate::support::fake_graph::FakeGraph;

const ACCOUNT: &str = "17841500000000501";
const TOKEN: &str = "EAAGunsurepagetoken501";
const ADMIN: &str = "admin-token-for-the-unsure-tests-0001";

/// A real scamspot comment the shipped scam model leans towards (above its 5% threshold) but
/// is not sure of (below its 0.5% threshold), and one it is sure of.
fn corpus_texts(model: &Model) -> (String, String) {
    let lean = model.threshold_at_fpr(0.05).unwrap();
    let sure = model.threshold_at_fpr(0.005).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/scamspot-dev/comments.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "msg")
        .unwrap();
    let (mut leaning, mut certain) = (None, None);
    for r in reader.records() {
        let text = r.unwrap()[column].to_string();
        if text.to_lowercase().contains("forex") || text.len() < 20 {
            continue;
        }
        let norm = commentguard::rules::normalize::normalize(&text);
        let s = model.score(&norm, &text);
        if leaning.is_none() && s > lean + 0.02 && s < sure - 0.02 {
            leaning = Some(text.clone());
        }
        if certain.is_none() && s > sure + 0.01 {
            certain = Some(text);
        }
        if leaning.is_some() && certain.is_some() {
            break;
        }
    }
    (leaning.unwrap(), certain.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unsure_queue_lists_shadow_matches_and_model_leans_that_no_rule_hid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = Model::load(&root.join("rules/models/scam.model")).unwrap();
    let (leaning, certain) = corpus_texts(&model);
    let rules = tempfile::tempdir().unwrap();
    std::fs::create_dir(rules.path().join("models")).unwrap();
    std::fs::copy(
        root.join("rules/models/scam.model"),
        rules.path().join("models/scam.model"),
    )
    .unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        r#"
[[rule]]
id = "forex-watch"
mode = "shadow"
[rule.when]
words = ["forex"]
[rule.then]
hide = true

[[rule]]
id = "scam-model-sure"
[rule.when]
model = { name = "scam", fpr = 0.005 }
[rule.then]
hide = true
"#,
    )
    .unwrap();
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), TOKEN.into()),
            ("COMMENTGUARD_ADMIN_TOKEN".into(), ADMIN.into()),
        ],
        rules: Some(rules.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let comments = [
        ("c-shadow", "is forex trading worth learning?".to_string()),
        ("c-lean", leaning.clone()),
        ("c-sure", certain.clone()),
        (
            "c-plain",
            "what a lovely dress, where is it from?".to_string(),
        ),
    ];
    for (id, text) in &comments {
        let body = comment_body(ACCOUNT, id, text, "someone");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    crate::wait::wait_until("the four decisions", Duration::from_secs(20), async || {
        let n = app
            .store
            .list_decisions(&DecisionFilter {
                account: Some(ACCOUNT.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len();
        if n == 4 {
            Ok(())
        } else {
            Err(format!("{n} of 4 decided"))
        }
    })
    .await;
    // The model's score is kept with each decision.
    let lean = app
        .store
        .list_decisions(&DecisionFilter {
            comment_id: Some("c-lean".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let kept = lean
        .scores
        .as_ref()
        .and_then(|s| s["scam"].as_f64())
        .unwrap();
    let norm = commentguard::rules::normalize::normalize(&leaning);
    assert!((kept - f64::from(model.score(&norm, &leaning))).abs() < 1e-3);

    let html = review_html(&app, ADMIN, "queue=unsure").await;
    let shown = |id: &str| html.contains(&format!("data-comment-id=\"{id}\""));
    assert!(shown("c-shadow"), "{html}");
    assert!(shown("c-lean"), "{html}");
    assert!(!shown("c-sure"), "a hidden comment is not unsure");
    assert!(!shown("c-plain"), "an ordinary comment is not unsure");
    assert!(html.contains("Unsure: the shadow rule forex-watch matched"));
    assert!(html.contains("Unsure: the scam model leaned towards it"));
}
