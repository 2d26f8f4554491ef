//! The front door: handshake, signatures, limits, durability, deduplication, dead letters.

use std::process::{Command, Stdio};
use std::time::Duration;

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;

use crate::helpers::*;

#[tokio::test]
async fn handshake_with_the_right_token_echoes_the_challenge_as_plain_text() {
    let app = spawn_app().await;
    let resp = app
        .handshake(&format!(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(resp.text().await.unwrap(), "1158201444");
}

#[tokio::test]
async fn handshake_with_a_wrong_missing_or_empty_token_is_forbidden() {
    let app = spawn_app().await;
    for q in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
        &format!("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY_TOKEN}"),
        &format!(
            "hub.mode=subscribe&hub.challenge={}&hub.verify_token={VERIFY_TOKEN}",
            "9".repeat(1000)
        ),
    ] {
        assert_eq!(app.handshake(q).await.status(), 403, "{q}");
    }
}

#[tokio::test]
async fn a_signed_comment_is_stored_before_the_200() {
    let app = spawn_app().await;
    let resp = app
        .post_signed(&comment_body("1784", "c-1", "hello", "ana"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.inbox_keys().await, vec!["comments:c-1".to_string()]);
}

#[tokio::test]
async fn unsigned_webhook_is_rejected_and_nothing_is_stored() {
    let app = spawn_app().await;
    let body = comment_body("1784", "c-1", "hello", "ana");
    assert_eq!(app.post_with_signature(&body, None).await.status(), 401);
    let wrong = sign(&body, &Secret::new("not-the-secret"));
    assert_eq!(
        app.post_with_signature(&body, Some(&wrong)).await.status(),
        401
    );
    assert_eq!(
        app.post_with_signature(&body, Some("sha256=nothex"))
            .await
            .status(),
        401
    );
    assert!(app.inbox_keys().await.is_empty());
    assert_eq!(app.dead_letter_count().await, 0);
}

#[tokio::test]
async fn the_legacy_sha1_header_alone_is_not_enough() {
    let app = spawn_app().await;
    let body = comment_body("1784", "c-1", "hello", "ana");
    let resp = app
        .client
        .post(format!("{}/webhook", app.address))
        .header(
            "x-hub-signature",
            "sha1=0123456789abcdef0123456789abcdef01234567",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(app.inbox_keys().await.is_empty());
}

#[tokio::test]
async fn meta_escaped_body_verifies_over_the_raw_bytes_not_a_reserialisation() {
    let app = spawn_app().await;
    // As Meta sends it: non-ASCII escaped, slashes escaped.
    let raw = br#"{"object":"instagram","entry":[{"id":"1784","time":1,"changes":[{"field":"comments","value":{"id":"c-esc","text":"caf\u00e9 https:\/\/x.example\/a","from":{"id":"9","username":"z"},"media":{"id":"m"}}}]}]}"#;
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(raw).unwrap()).unwrap();
    assert_ne!(raw.to_vec(), reserialised);
    let bad_sig = sign(&reserialised, &Secret::new(APP_SECRET));
    assert_eq!(
        app.post_with_signature(raw, Some(&bad_sig)).await.status(),
        401
    );
    assert!(app.inbox_keys().await.is_empty());
    assert_eq!(app.post_signed(raw).await.status(), 200);
    assert_eq!(app.inbox_keys().await, vec!["comments:c-esc".to_string()]);
}

#[tokio::test]
async fn either_secret_verifies_during_a_rotation() {
    let app = spawn_app_with(AppOptions {
        env: vec![(
            "COMMENTGUARD_APP_SECRET".into(),
            format!("new-secret,{APP_SECRET}"),
        )],
        ..Default::default()
    })
    .await;
    let a = comment_body("1784", "c-old", "x", "a");
    let b = comment_body("1784", "c-new", "x", "a");
    assert_eq!(app.post_signed(&a).await.status(), 200);
    let sig = sign(&b, &Secret::new("new-secret"));
    assert_eq!(app.post_with_signature(&b, Some(&sig)).await.status(), 200);
    assert_eq!(app.inbox_keys().await.len(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_and_not_stored() {
    let app = spawn_app_with(AppOptions {
        env: vec![("COMMENTGUARD_BODY_LIMIT".into(), "4096".into())],
        ..Default::default()
    })
    .await;
    let body = comment_body("1784", "c-big", &"x".repeat(10_000), "a");
    assert_eq!(app.post_signed(&body).await.status(), 413);
    assert!(app.inbox_keys().await.is_empty());
    let default_app = spawn_app().await;
    let body = comment_body("1784", "c-big", &"x".repeat(1_100_000), "a");
    assert_eq!(default_app.post_signed(&body).await.status(), 413);
    // Counted, so an operator sees deliveries refused for their size.
    let refused = metric_value(
        &metrics_text(&app).await,
        "commentguard_notifications_received_total{outcome=\"too_large\"}",
    )
    .expect("the too_large count is in the metrics");
    assert!(refused >= 2.0, "{refused}");
}

#[tokio::test]
async fn a_duplicate_delivery_is_answered_200_and_stored_once() {
    let app = spawn_app().await;
    let body = comment_body("1784", "c-dup", "hello", "ana");
    for _ in 0..3 {
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    // The same comment under `comment_id` instead of `id` is the same change.
    let alt = br#"{"object":"instagram","entry":[{"id":"1784","time":2,"changes":[{"field":"comments","value":{"comment_id":"c-dup","text":"hello"}}]}]}"#;
    assert_eq!(app.post_signed(alt).await.status(), 200);
    assert_eq!(app.inbox_keys().await, vec!["comments:c-dup".to_string()]);
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_notification_becomes_a_dead_letter() {
    let app = spawn_app().await;
    assert_eq!(app.post_signed(b"this is not json").await.status(), 200);
    assert_eq!(app.post_signed(br#"{"hello":"world"}"#).await.status(), 200);
    assert_eq!(app.dead_letter_count().await, 2);
    assert!(app.inbox_keys().await.is_empty());
    let letters = app.store.dead_letters(10).await.unwrap();
    assert!(letters.iter().any(|d| d.body.contains("hello")));
}

#[tokio::test]
async fn unknown_fields_and_keys_do_not_fail_the_batch() {
    let app = spawn_app().await;
    let body = br#"{"object":"instagram","surprise":1,"entry":[{"id":"1784","time":1,"changes":[
        {"field":"comments","value":{"id":"c-a","text":"hi","new_key":{"x":1}}},
        {"field":"brand_new_field","value":{"anything":true}}]}]}"#;
    assert_eq!(app.post_signed(body).await.status(), 200);
    let keys = app.inbox_keys().await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], "comments:c-a");
}

#[tokio::test]
async fn every_naughty_string_as_a_comment_is_stored_without_a_panic() {
    let app = spawn_app().await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpora/naughty-strings/blns.json"
    );
    let strings: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (i, s) in strings.iter().enumerate() {
        let body = comment_body("1784", &format!("n-{i}"), s, "naughty");
        let status = app.post_signed(&body).await.status();
        assert_eq!(status, 200, "string {i}: {s:?}");
    }
    assert_eq!(app.inbox_keys().await.len(), strings.len());
    // The pipeline decided on every one of them without dying.
    let stats = crate::wait::wait_until(
        "the pipeline to drain",
        Duration::from_secs(30),
        async || {
            let stats = app.store.inbox_stats().await.unwrap();
            if stats.pending == 0 {
                Ok(stats)
            } else {
                Err(format!("pipeline stuck: {stats:?}"))
            }
        },
    )
    .await;
    assert_eq!(stats.failed, 0);
}

#[tokio::test]
async fn readiness_and_health_answer() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn graceful_stop_keeps_everything_and_a_restart_reads_it() {
    let app = spawn_app().await;
    for i in 0..20 {
        let body = comment_body("1784", &format!("g-{i}"), "hello", "ana");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    let dir = app.stop().await;
    let app = spawn_app_with(AppOptions {
        dir: Some(dir),
        ..Default::default()
    })
    .await;
    assert_eq!(app.inbox_keys().await.len(), 20);
}

/// The real binary, killed with SIGKILL right after a burst of 200s: every acknowledged
/// notification is in the inbox when it comes back.
#[tokio::test]
async fn sigkill_after_a_burst_loses_no_acknowledged_notification() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &dir.path().join("rules"),
    );
    let port = free_port();
    let db = dir.path().join("cg.db");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_commentguard"))
            .arg("serve")
            // Not what this measures: rules freshly copied here would look just edited.
            .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
            .env("COMMENTGUARD_APP_SECRET", APP_SECRET)
            .env("COMMENTGUARD_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("COMMENTGUARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:0")
            .env(
                "COMMENTGUARD_DATABASE_URL",
                format!("sqlite:{}", db.display()),
            )
            .env("COMMENTGUARD_RULES", dir.path().join("rules"))
            .env("COMMENTGUARD_GRAPH_URL", "http://127.0.0.1:9")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut acknowledged = std::collections::BTreeSet::new();
    for round in 0..3 {
        let mut child = spawn();
        wait_healthy(&client, &base).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let client = client.clone();
            let base = base.clone();
            let id = format!("k-{round}-{i}");
            tasks.spawn(async move {
                let body = comment_body("1784", &id, "burst", "ana");
                let sig = sign(&body, &Secret::new(APP_SECRET));
                let resp = client
                    .post(format!("{base}/webhook"))
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => Some(id),
                    _ => None,
                }
            });
        }
        // Kill while answers are still arriving.
        let mut answered = 0;
        while let Some(r) = tasks.join_next().await {
            if let Some(id) = r.unwrap() {
                acknowledged.insert(format!("comments:{id}"));
                answered += 1;
                if answered == 150 {
                    child.kill().unwrap();
                }
            }
        }
        let _ = child.kill();
        child.wait().unwrap();
    }
    assert!(
        acknowledged.len() >= 450,
        "too few answers: {}",
        acknowledged.len()
    );
    let store = commentguard::store::SqlStore::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let stored: std::collections::BTreeSet<String> = crate::helpers::inbox_keys_of(&store)
        .await
        .into_iter()
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("service did not become healthy");
}

/// A database that cannot take the write (here the inbox file locked by another process, as
/// during a backup tool's exclusive lock or a stuck writer) gets a quick 503, not a request
/// left hanging until Meta gives up; once the lock goes, Meta's retry is stored, and once.
#[tokio::test]
async fn a_locked_database_gets_a_quick_503_and_the_retry_is_stored_once() {
    let app = spawn_app().await;
    // Serving (start-up touches the inbox too).
    let warm = app
        .post_signed(&comment_body("1784", "c-warm", "hi", "ana"))
        .await;
    assert_eq!(warm.status(), 200);
    let inbox = app.dir.path().join("cg-inbox.db");
    let locker = rusqlite::Connection::open(&inbox).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let body = comment_body("1784", "c-locked", "hello", "ana");
    // Meta waits 20 s; this client waits 8 s (less than the database's own 10 s busy wait, so
    // only the service's deadline can answer in time).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(8))
        .build()
        .unwrap();
    let resp = client
        .post(format!("{}/webhook", app.address))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&body, &Secret::new(APP_SECRET)))
        .body(body.clone())
        .send()
        .await
        .expect("answered before the client gave up");
    assert_eq!(resp.status(), 503);

    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    // Meta retries the 503.
    let retry = app.post_signed(&body).await;
    assert_eq!(retry.status(), 200);
    // Stored once, whether or not the write held up by the lock went through after all.
    let mut keys = app.inbox_keys().await;
    keys.sort();
    assert_eq!(keys, ["comments:c-locked", "comments:c-warm"]);
}
