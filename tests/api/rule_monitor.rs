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

const ADMIN: &str = "admin-token-for-tests";

async fn rules_json(app: &TestApp) -> serde_json::Value {
    app.client
        .get(format!("{}/api/v1/rules", app.admin_address))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn greedy(rules: &serde_json::Value) -> serde_json::Value {
    rules["rule_sets"][0]["loaded"][0].clone()
}

/// The greedy rule's versions as the store noted them.
async fn noted_versions(app: &TestApp) -> Vec<String> {
    app.store
        .rule_versions()
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.rule_id == "greedy")
        .map(|v| v.version)
        .collect()
}

async fn wait_version(app: &TestApp, not: Option<&str>) -> String {
    crate::wait::wait_until("a rule version noted", WAIT, async || {
        let noted = noted_versions(app).await;
        match noted.iter().find(|v| Some(v.as_str()) != not) {
            Some(v) => Ok(v.clone()),
            None => Err(format!("noted: {noted:?}")),
        }
    })
    .await
}

#[tokio::test]
async fn a_redeploy_keeps_a_rule_enforced_and_an_edit_that_matches_everything_is_switched_to_shadow(
) {
    let fake = FakeGraph::start().await;
    let mut env = graph_env(&fake);
    for (k, v) in [
        ("COMMENTGUARD_AUTO_SHADOW_SHARE", "0.05"),
        ("COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS", "20"),
        ("COMMENTGUARD_RULE_STATS_INTERVAL", "100ms"),
        ("COMMENTGUARD_ADMIN_TOKEN", ADMIN),
    ] {
        env.push((k.into(), v.into()));
    }
    // First start: the rules found then count as old.
    let app = spawn_app_with(AppOptions {
        env: env.clone(),
        rules: Some(fixture("greedy-rules")),
        dir: None,
    })
    .await;
    let first = wait_version(&app, None).await;
    let dir = app.stop().await;

    // A redeploy: every rule file rewritten (new modification time), the same rule with a new
    // comment and description, and the service restarted during a wave it matches entirely.
    let file = dir.path().join("rules/greedy.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!(
            "# redeployed\n{}",
            text.replace("Meant to catch one word", "Reworded")
        ),
    )
    .unwrap();
    let app = spawn_app_with(AppOptions {
        env: env.clone(),
        rules: None,
        dir: Some(dir),
    })
    .await;
    for i in 1..=20 {
        let body = comment_body(ACCOUNT, &format!("g-{i}"), &format!("hello {i}"), "fan");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    for i in 1..=20 {
        let d = settled_decision(app.store.as_ref(), &format!("g-{i}")).await;
        assert_eq!(d.actions, ["hide"]);
    }
    assert_eq!(fake.wait_for_calls("hide", 20, WAIT).await.len(), 20);
    // Statistics computed after all 20 (100% of comments) still leave it enforced.
    let seen_all = app
        .store
        .list_decisions(&commentguard::store::DecisionFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|d| d.decided_at)
        .max()
        .unwrap();
    let rules = crate::wait::wait_until("the rule statistics computed", WAIT, async || {
        let rules = rules_json(&app).await;
        if rules["stats_computed_at_ms"].as_i64().unwrap() > seen_all + 200 {
            Ok(rules)
        } else {
            Err(format!("{rules:#}"))
        }
    })
    .await;
    assert_eq!(greedy(&rules)["auto_shadowed"], false, "{rules:#}");
    assert_eq!(greedy(&rules)["matches_last_hour"], 20);
    assert_eq!(
        noted_versions(&app).await,
        std::slice::from_ref(&first),
        "a redeploy notes nothing new"
    );

    // An edit to what the rule does arms the net for it.
    std::fs::write(&file, text.replace("min_length = 1", "min_length = 2")).unwrap();
    wait_version(&app, Some(&first)).await;
    for i in 21..=40 {
        let body = comment_body(ACCOUNT, &format!("g-{i}"), &format!("hello {i}"), "fan");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }

    // 20 of the 20 comments since the edit is far above 5%: the rule is switched to shadow,
    // and says why.
    let rule = crate::wait::wait_until("the rule auto-shadowed", WAIT, async || {
        let rule = greedy(&rules_json(&app).await);
        if rule["auto_shadowed"] == true {
            Ok(rule)
        } else {
            Err(format!("{rule:#}"))
        }
    })
    .await;
    assert_eq!(rule["id"], "greedy");
    assert_eq!(rule["mode"], "enforce");
    assert_eq!(rule["effective_mode"], "shadow");
    assert_eq!(rule["auto_shadow"]["matches"], 20);
    assert_eq!(rule["auto_shadow"]["decisions"], 20);
    assert!(rule["auto_shadow"]["reason"]
        .as_str()
        .unwrap()
        .contains("20 of 20"));
    assert_eq!(rule["matches_last_hour"], 40);
    assert_eq!(rule["share_last_hour"], 1.0);

    // Later comments still match, in shadow: logged, never hidden.
    for i in 41..=45 {
        app.post_signed(&comment_body(
            ACCOUNT,
            &format!("g-{i}"),
            "hello again",
            "fan",
        ))
        .await;
    }
    for i in 41..=45 {
        let d = settled_decision(app.store.as_ref(), &format!("g-{i}")).await;
        assert_eq!(d.rules, ["greedy"]);
        assert!(d.actions.is_empty(), "{d:#?}");
        assert_eq!(d.matched[0]["mode"], "shadow");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.calls_to("hide").len(), 40);

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
        metrics.contains("commentguard_rules_auto_shadowed_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("commentguard_rules_auto_shadowed 1"),
        "{metrics}"
    );

    // An operator vouches for the rule: it enforces again and is not switched back.
    let r = app
        .client
        .post(format!(
            "{}/api/v1/rules/greedy/clear-auto-shadow",
            app.admin_address
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.post_signed(&comment_body(ACCOUNT, "g-46", "hello once more", "fan"))
        .await;
    let d = settled_decision(app.store.as_ref(), "g-46").await;
    assert_eq!(d.actions, ["hide"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(greedy(&rules_json(&app).await)["auto_shadowed"], false);
    // Clearing twice finds nothing to clear; without the token, nothing at all.
    let again = app
        .client
        .post(format!(
            "{}/api/v1/rules/greedy/clear-auto-shadow",
            app.admin_address
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let anonymous = app
        .client
        .post(format!(
            "{}/api/v1/rules/greedy/clear-auto-shadow",
            app.admin_address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Upgrading from the version that told edits by file times: at the first start with rule
/// versions, an automatic shadow switched before the rule's file last changed no longer holds
/// (the rule was edited after it was switched, as the old test said), and one switched after it
/// still does.
#[tokio::test]
async fn after_the_upgrade_a_shadow_older_than_its_rule_file_no_longer_holds() {
    let fake = FakeGraph::start().await;
    let mut env = graph_env(&fake);
    for (k, v) in [
        ("COMMENTGUARD_AUTO_SHADOW_SHARE", "0.05"),
        ("COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS", "20"),
        ("COMMENTGUARD_RULE_STATS_INTERVAL", "100ms"),
    ] {
        env.push((k.into(), v.into()));
    }
    let app = spawn_app_with(AppOptions {
        env: env.clone(),
        rules: Some(fixture("greedy-rules")),
        dir: None,
    })
    .await;
    wait_version(&app, None).await;
    let mut dir = app.stop().await;

    for (case, shadow_at, hidden) in [("stale", 1_000_i64, true), ("fresh", i64::MAX / 2, false)] {
        // The database as the earlier version left it: no rule versions, one shadow row.
        let db = rusqlite::Connection::open(dir.path().join("cg.db")).unwrap();
        db.execute_batch("DELETE FROM rule_versions; DELETE FROM rule_auto_shadow;")
            .unwrap();
        db.execute(
            "INSERT INTO rule_auto_shadow (scope, rule_id, state, matches, decisions, window_ms, file_mtime, at) \
             VALUES ('', 'greedy', 'shadowed', 20, 20, 60000, 0, ?1)",
            [shadow_at],
        )
        .unwrap();
        drop(db);
        let app = spawn_app_with(AppOptions {
            env: env.clone(),
            rules: None,
            dir: Some(dir),
        })
        .await;
        let id = format!("u-{case}");
        app.post_signed(&comment_body(ACCOUNT, &id, "hello", "fan"))
            .await;
        let d = settled_decision(app.store.as_ref(), &id).await;
        assert_eq!(d.rules, ["greedy"], "{case}");
        assert_eq!(!d.actions.is_empty(), hidden, "{case}: {d:#?}");
        dir = app.stop().await;
    }
}
