//! The admin listener as an operator's tools see it: bearer auth, the moderation log with a
//! cursor, undo, dead letters and metrics.

mod common;
use common::service::{start_service, Service, SECRET};
use common::wait::wait_until;
use std::time::Duration;

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::store::{now_ms, ActionKind, ActionState, NewAction, NewDecision, Store};
use serde_json::{json, Value};

const ADMIN: &str = "admin-token-for-tests";

/// The shared service builder (tests/common/service.rs) as this file's tests want it: no admin
/// token and no Graph token unless a test sets them, and a Graph API address where nothing
/// answers (a planned call stays pending).
async fn spawn_app(extra: &[(&'static str, &str)]) -> Service {
    let mut env: Vec<(&'static str, String)> = vec![
        ("COMMENTGUARD_ADMIN_TOKEN", String::new()),
        ("COMMENTGUARD_ACCESS_TOKEN", String::new()),
        ("COMMENTGUARD_GRAPH_URL", "http://127.0.0.1:9".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    start_service(move |_| env).await
}

/// Records a decision as the pipeline would, with a hide in the given state.
async fn seed(store: &dyn Store, comment: &str, rule: &str, hide: Option<ActionState>) -> i64 {
    let d = NewDecision {
        comment_id: comment.into(),
        kind: commentguard::store::DecisionKind::Comment,
        account_id: "17841400000000000".into(),
        author: Some("spammer".into()),
        text: Some("made $9,000 with forex".into()),
        matched: json!([{"rule": rule, "mode": "enforce", "actions": [{"type": "hide"}],
            "evidence": [{"condition": "words", "matched": "forex", "start": 17, "end": 22}]}])
        .to_string(),
        rules: vec![rule.into()],
        actions: hide.iter().map(|_| "hide".to_string()).collect(),
        received_at: now_ms(),
        decided_at: now_ms(),
        ..Default::default()
    };
    let actions: Vec<NewAction> = hide
        .into_iter()
        .map(|state| NewAction {
            kind: ActionKind::Hide,
            payload: json!({}),
            state,
            note: None,
        })
        .collect();
    store.record_decision(&d, &actions).await.unwrap().0
}

/// Robin, a reviewer with this password (`replace`: a new password for an existing Robin).
async fn put_robin(store: &dyn Store, password: &str, replace: bool) {
    let robin = commentguard::store::Person {
        name: "Robin".into(),
        role: commentguard::store::Role::Reviewer,
        password_hash: commentguard::admin::people::hash_password(password).unwrap(),
        created_at: 0,
    };
    store.put_person(&robin, replace).await.unwrap();
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = client().get(url).bearer_auth(ADMIN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_api_is_off_with_403_when_no_admin_token_is_set() {
    let app = spawn_app(&[]).await;
    let r = client()
        .get(format!("{}/api/v1/decisions", app.admin))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("COMMENTGUARD_ADMIN_TOKEN"));
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_on_every_api_path() {
    let app = spawn_app(&[("COMMENTGUARD_ADMIN_TOKEN", ADMIN)]).await;
    for path in [
        "/api/v1/decisions",
        "/api/v1/decisions/1",
        "/api/v1/rules",
        "/api/v1/dead-letters",
    ] {
        let url = format!("{}{path}", app.admin);
        let r = client()
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.headers().contains_key("www-authenticate"));
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = client()
        .post(format!("{}/api/v1/comments/1/unhide", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn decisions_page_back_with_a_cursor_and_filter_by_rule() {
    let app = spawn_app(&[("COMMENTGUARD_ADMIN_TOKEN", ADMIN)]).await;
    seed(app.store.as_ref(), "c1", "spam", Some(ActionState::Done)).await;
    seed(app.store.as_ref(), "c2", "scam", Some(ActionState::Done)).await;
    seed(app.store.as_ref(), "c3", "spam", Some(ActionState::Done)).await;

    let (status, page1) = get_json(&format!("{}/api/v1/decisions?limit=2", app.admin)).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page1["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["comment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c3", "c2"]);
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a full page has a cursor");
    let (_, page2) = get_json(&format!(
        "{}/api/v1/decisions?limit=2&cursor={cursor}",
        app.admin
    ))
    .await;
    let ids: Vec<&str> = page2["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["comment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c1"]);
    assert!(page2["next_cursor"].is_null());

    let (_, spam) = get_json(&format!(
        "{}/api/v1/decisions?rule=spam&since=1h",
        app.admin
    ))
    .await;
    assert_eq!(spam["decisions"].as_array().unwrap().len(), 2);

    let (status, bad) = get_json(&format!(
        "{}/api/v1/decisions?since=yesterdayish",
        app.admin
    ))
    .await;
    assert_eq!(status, 400);
    assert!(bad["error"].as_str().unwrap().contains("since"));

    let (status, one) = get_json(&format!("{}/api/v1/decisions/c2", app.admin)).await;
    assert_eq!(status, 200);
    assert_eq!(one["rules"], json!(["scam"]));
    assert_eq!(one["outcome"], "done");
    let (status, _) = get_json(&format!("{}/api/v1/decisions/nope", app.admin)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unhide_is_planned_once_and_shows_in_the_log() {
    // Dry run: the undo is recorded but nothing is called, so the test does not race the
    // executor.
    let app = spawn_app(&[
        ("COMMENTGUARD_ADMIN_TOKEN", ADMIN),
        ("COMMENTGUARD_DRY_RUN", "true"),
    ])
    .await;
    seed(
        app.store.as_ref(),
        "hidden-1",
        "spam",
        Some(ActionState::Done),
    )
    .await;
    seed(app.store.as_ref(), "not-hidden", "spam", None).await;

    let url = |c: &str| format!("{}/api/v1/comments/{c}/unhide", app.admin);
    let r = client()
        .post(url("hidden-1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let first: Value = r.json().await.unwrap();
    let action_id = first["action_id"].as_i64().unwrap();
    assert_eq!(first["already_planned"], false);

    let r = client()
        .post(url("hidden-1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let second: Value = r.json().await.unwrap();
    assert_eq!(second["action_id"].as_i64().unwrap(), action_id);
    assert_eq!(second["already_planned"], true);

    let (_, d) = get_json(&format!("{}/api/v1/decisions/hidden-1", app.admin)).await;
    assert_eq!(d["undo"]["action_id"].as_i64().unwrap(), action_id);
    let kinds: Vec<&str> = d["action_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["hide", "unhide"]);

    let r = client()
        .post(url("unknown"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .post(url("not-hidden"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn dead_letters_and_metrics_show_what_went_wrong() {
    let app = spawn_app(&[("COMMENTGUARD_ADMIN_TOKEN", ADMIN)]).await;
    let body = b"{\"not\": \"a notification\"}".to_vec();
    let r = client()
        .post(format!("{}/webhook", app.public))
        .header("x-hub-signature-256", sign(&body, &Secret::new(SECRET)))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!("{}/webhook", app.public))
        .header("x-hub-signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let (status, dl) = get_json(&format!("{}/api/v1/dead-letters", app.admin)).await;
    assert_eq!(status, 200);
    let letters = dl["dead_letters"].as_array().unwrap();
    assert_eq!(letters.len(), 1);
    assert!(letters[0]["body"]
        .as_str()
        .unwrap()
        .contains("a notification"));

    let text = client()
        .get(format!("{}/metrics", app.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "commentguard_signature_failures_total",
        "commentguard_inbox_pending",
        "commentguard_inbox_oldest_age_seconds",
        "commentguard_notifications_received_total",
        "commentguard_ack_duration_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    // Metrics are on the admin listener only.
    let r = client()
        .get(format!("{}/metrics", app.public))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn rules_endpoint_lists_loaded_rule_sets_and_recent_hits() {
    let app = spawn_app(&[
        ("COMMENTGUARD_ADMIN_TOKEN", ADMIN),
        ("COMMENTGUARD_RULE_STATS_INTERVAL", "100ms"),
    ])
    .await;
    seed(app.store.as_ref(), "c1", "spam", Some(ActionState::Done)).await;
    // Statistics are recomputed in the background, not per request.
    let rules = wait_until("rule hits", Duration::from_secs(10), async || {
        let (status, rules) = get_json(&format!("{}/api/v1/rules", app.admin)).await;
        assert_eq!(status, 200);
        if rules["hits"].as_array().is_some_and(|h| !h.is_empty()) {
            Ok(rules)
        } else {
            Err(format!("no hits: {rules:#}"))
        }
    })
    .await;
    assert_eq!(rules["decisions_last_hour"], 1);
    assert_eq!(rules["hits"][0]["share_last_hour"], 1.0);
    assert_eq!(rules["rule_sets"].as_array().unwrap().len(), 1);
    assert_eq!(rules["hits"][0]["rule"], "spam");
    assert_eq!(rules["hits"][0]["matches_last_hour"], 1);
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The seeded decision's undo state: the kinds of its planned actions.
async fn action_kinds(store: &dyn Store, comment: &str) -> Vec<&'static str> {
    let rows = store
        .list_decisions(&commentguard::store::DecisionFilter {
            comment_id: Some(comment.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.iter()
        .flat_map(|d| d.action_log.iter().map(|a| a.kind.as_str()))
        .collect()
}

#[tokio::test]
async fn without_an_admin_token_the_api_stays_closed_and_people_sign_in_with_their_passwords() {
    let app = spawn_app(&[("COMMENTGUARD_DRY_RUN", "true")]).await;
    seed(app.store.as_ref(), "h-1", "spam", Some(ActionState::Done)).await;
    let c = no_redirects();
    for path in [
        "/api/v1/decisions",
        "/api/v1/decisions/h-1",
        "/api/v1/rules",
        "/api/v1/dead-letters",
        "/api/v1/stories",
    ] {
        let r = c
            .get(format!("{}{path}", app.admin))
            .bearer_auth("")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = c
        .post(format!("{}/api/v1/comments/h-1/unhide", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The review page asks who you are; with nobody added yet it says how to add yourself.
    let r = c.get(format!("{}/review", app.admin)).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/review/login");
    let r = c
        .get(format!("{}/review/login", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/review/login", app.admin))
        .form(&[("name", "Robin"), ("token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!r.headers().contains_key("set-cookie"));
    assert!(r.text().await.unwrap().contains("users add"));
    let r = c
        .post(format!("{}/review/undo", app.admin))
        .form(&[("comment_id", "h-1"), ("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/review/login");
    assert_eq!(action_kinds(app.store.as_ref(), "h-1").await, ["hide"]);

    // A decision a model made: the page shows its score, not an empty quote.
    app.store
        .record_decision(
            &NewDecision {
                comment_id: "m-1".into(),
                kind: commentguard::store::DecisionKind::Comment,
                account_id: "17841400000000000".into(),
                text: Some("dm me for profits".into()),
                matched: json!([{"rule": "scam-model", "mode": "enforce", "actions": [{"type": "hide"}],
                    "evidence": [{"condition": "model scam", "matched": "", "start": 0, "end": 0, "score": 0.934}]}])
                .to_string(),
                rules: vec!["scam-model".into()],
                received_at: now_ms(),
                decided_at: now_ms(),
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    // A person added with a password signs in, and the page shows the log.
    put_robin(app.store.as_ref(), "robin-pass-2468", false).await;
    let r = c
        .post(format!("{}/review/login", app.admin))
        .form(&[("name", "Robin"), ("token", "robin-pass-2468")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/review");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // A page of the admin side, asked for with Robin's session.
    let signed_in = async |path: &str| {
        c.get(format!("{}{path}", app.admin))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
    };
    let page = signed_in("/review").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("h-1"));
    assert!(html.contains("model scam scored 0.93"), "{html}");
    // The service runs dry: every page says so, and the counts say decided, not hidden.
    assert!(html.contains("id=\"dry-run\""), "{html}");
    assert!(
        html.contains("1 decided hide (not carried out: dry run)"),
        "{html}"
    );
    let rules_page = signed_in("/review/rules").await.text().await.unwrap();
    assert!(rules_page.contains("id=\"dry-run\""));
    // A session is not a bearer token: the API stays closed.
    let r = signed_in("/api/v1/decisions").await;
    assert_eq!(r.status(), 403);

    // A rule edit that fails to load shows on every page until a good one loads.
    std::fs::write(
        app._dir.path().join("rules/test.toml"),
        "[[rule]]\nid = \"test-forex\"\n[rule.when]\nwords = [\"forex\"\n",
    )
    .unwrap();
    let html = wait_until(
        "the broken-edit banner",
        Duration::from_secs(20),
        async || {
            let html = signed_in("/review").await.text().await.unwrap();
            if html.contains("id=\"reload-failed\"") {
                Ok(html)
            } else {
                Err(format!("no banner: {html}"))
            }
        },
    )
    .await;
    assert!(html.contains("test.toml"), "{html}");
    // Not on the sign-in page: the errors quote the rule files.
    let login = c
        .get(format!("{}/review/login", app.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("reload-failed"));

    // A new password for Robin ends the sessions signed in with the old one.
    put_robin(app.store.as_ref(), "a-new-pass-1357", true).await;
    let r = signed_in("/review").await;
    assert_eq!(r.headers()["location"], "/review/login");
}

#[tokio::test]
async fn the_review_page_shows_nothing_and_undoes_nothing_without_a_session() {
    let app = spawn_app(&[
        ("COMMENTGUARD_ADMIN_TOKEN", ADMIN),
        ("COMMENTGUARD_DRY_RUN", "true"),
    ])
    .await;
    seed(app.store.as_ref(), "h-2", "spam", Some(ActionState::Done)).await;
    let c = no_redirects();

    // No cookie, a forged one, and the admin token itself as a cookie: sent to sign in.
    for cookie in [
        None,
        Some("cg_session=9999999999.nonce.forged".to_string()),
        Some(format!("cg_session={ADMIN}")),
    ] {
        let mut req = c.get(format!("{}/review", app.admin));
        if let Some(v) = &cookie {
            req = req.header("cookie", v);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_redirection(), "{cookie:?}: {}", r.status());
        assert_eq!(r.headers()["location"], "/review/login", "{cookie:?}");
        assert!(!r.text().await.unwrap().contains("forex"), "{cookie:?}");
    }

    // A wrong token does not sign in.
    let r = c
        .post(format!("{}/review/login", app.admin))
        .form(&[("token", "not-the-admin-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!r.headers().contains_key("set-cookie"));

    // Undo without a session is refused and plans nothing.
    let r = c
        .post(format!("{}/review/undo", app.admin))
        .form(&[("comment_id", "h-2"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/review/login");

    // The API with the review page's session cookie but no bearer token stays closed.
    let r = c
        .post(format!("{}/review/login", app.admin))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = c
        .post(format!("{}/api/v1/comments/h-2/unhide", app.admin))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // With a session but without the page's CSRF token, undo is refused too.
    let r = c
        .post(format!("{}/review/undo", app.admin))
        .header("cookie", &cookie)
        .form(&[("comment_id", "h-2"), ("csrf", "guessed")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(action_kinds(app.store.as_ref(), "h-2").await, ["hide"]);
    // The same for a label and a hide by hand: refused, nothing stored or planned.
    seed(app.store.as_ref(), "v-1", "", None).await;
    for (path, form) in [
        (
            "/review/label",
            vec![
                ("comment_id", "h-2"),
                ("kind", "comment"),
                ("label", "spam"),
                ("csrf", "guessed"),
            ],
        ),
        (
            "/review/hide",
            vec![("comment_id", "v-1"), ("csrf", "guessed")],
        ),
    ] {
        let r = c
            .post(format!("{}{path}", app.admin))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    assert!(app
        .store
        .labels_for(&["h-2".into(), "v-1".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(action_kinds(app.store.as_ref(), "v-1").await.is_empty());
}

/// One address trying many names is stopped, not only one name tried many times: after 20
/// failures from 127.0.0.1 even a right password from there waits out the window.
#[tokio::test]
async fn one_address_guessing_many_names_is_refused() {
    let app = spawn_app(&[("COMMENTGUARD_DRY_RUN", "true")]).await;
    put_robin(app.store.as_ref(), "robin-pass-2468", false).await;
    let c = no_redirects();
    let try_sign_in = |name: String, password: &'static str| {
        let c = c.clone();
        let url = format!("{}/review/login", app.admin);
        async move {
            c.post(url)
                .form(&[("name", name.as_str()), ("token", password)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..20 {
        assert_eq!(try_sign_in(format!("guess-{i}"), "wrong").await, 401);
    }
    assert_eq!(try_sign_in("Robin".into(), "robin-pass-2468").await, 429);
}
