//! The real binary end to end, its log captured: the webhook handshake, signed and unsigned
//! notifications, a decision, Graph calls (one of them failing), the admin API with a wrong
//! and a right token, the review page's sign-in, a graceful stop. None of the configured
//! secrets, nor the `appsecret_proof` derived from them, may appear in what it wrote, in the
//! text and in the JSON log format, at `debug` level.

use std::process::Command;
use std::time::Duration;

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::faults::{reply_for, write_rules, SCAM, SPAM};
use crate::helpers::comment_body;
use crate::support::fake_graph::{FakeGraph, Fault};

const ACCOUNT: &str = "17841400000000000";
const APP_SECRET: &str = "appsecret-5d1f0c9e8b7a6d5c4b3a2f1e";
const VERIFY_TOKEN: &str = "verifytoken-9a8b7c6d5e4f3a2b1c0d";
const ACCESS_TOKEN: &str = "EAAGaccesstoken7Q2w9E4r1T6y3U8i";
const ADMIN_TOKEN: &str = "admintoken-4e5f6a7b8c9d0e1f2a3b";

fn appsecret_proof() -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(ACCESS_TOKEN.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the scenario against the binary with `format` and returns everything it wrote.
async fn run_and_capture(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.require_appsecret_proof(true);
    // A failed call: the first reply meets a 500 and is retried.
    fake.fail_next("reply", 1, Fault::server_error());
    let (port, admin_port) = (free_port(), free_port());
    let log_path = dir.path().join("stderr.log");
    let out_path = dir.path().join("stdout.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .arg("serve")
        .env_clear()
        // Not what this measures: rules freshly copied here would look just edited.
        .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "debug")
        .env("COMMENTGUARD_LOG_FORMAT", format)
        .env("COMMENTGUARD_APP_SECRET", APP_SECRET)
        .env("COMMENTGUARD_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("COMMENTGUARD_ACCESS_TOKEN", ACCESS_TOKEN)
        .env("COMMENTGUARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("COMMENTGUARD_ACCOUNT_IDS", ACCOUNT)
        .env("COMMENTGUARD_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "COMMENTGUARD_ADMIN_LISTEN",
            format!("127.0.0.1:{admin_port}"),
        )
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("cg.db").display()),
        )
        .env("COMMENTGUARD_RULES", &rules)
        .env("COMMENTGUARD_GRAPH_URL", fake.url())
        .env("COMMENTGUARD_GRAPH_TIMEOUT", "2s")
        .env("COMMENTGUARD_RETRY_BASE", "10ms")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("the service binary starts");

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    let mut up = false;
    for _ in 0..400 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            up = r.status() == 200;
            if up {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        up,
        "service did not start: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    // The handshake, right and wrong: the verify token travels in the query string.
    let r = client
        .get(format!(
            "{base}/webhook?hub.mode=subscribe&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!(
            "{base}/webhook?hub.mode=subscribe&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Signed notifications that lead to a reply (failing once) and hides; an unsigned one.
    let post = |body: Vec<u8>, sig: Option<String>| {
        let mut req = client
            .post(format!("{base}/webhook"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = sig {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };
    for (id, text) in [("c-secret-1", SCAM), ("c-secret-2", SPAM)] {
        let body = comment_body(ACCOUNT, id, text, "ana");
        let sig = sign(&body, &Secret::new(APP_SECRET));
        assert_eq!(post(body, Some(sig)).await.unwrap().status(), 200);
    }
    let body = comment_body(ACCOUNT, "c-unsigned", SCAM, "eve");
    assert_eq!(post(body.clone(), None).await.unwrap().status(), 401);
    let wrong = sign(&body, &Secret::new("not-the-secret"));
    assert_eq!(post(body, Some(wrong)).await.unwrap().status(), 401);
    // A signed body that is not a notification: a dead letter.
    let junk = b"{\"not\":\"a notification\"}".to_vec();
    let sig = sign(&junk, &Secret::new(APP_SECRET));
    assert_eq!(post(junk, Some(sig)).await.unwrap().status(), 200);

    fake.wait_until(Duration::from_secs(20), || {
        fake.replies_to("c-secret-1").len() == 1
            && fake.is_hidden("c-secret-1") == Some(true)
            && fake.is_hidden("c-secret-2") == Some(true)
    })
    .await;
    assert_eq!(
        fake.replies_to("c-secret-1")[0].text,
        reply_for("ana"),
        "the reply went out after its failed first attempt"
    );
    assert!(
        fake.calls_to("reply").len() >= 2,
        "the failed call happened"
    );

    // The admin API: a wrong token, no token, the right token; the review sign-in.
    let r = client
        .get(format!("{admin}/api/v1/decisions"))
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{admin}/api/v1/decisions"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{admin}/api/v1/decisions?limit=10"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{admin}/review/login"))
        .form(&[("token", "wrong-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{admin}/review/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let r = client
        .post(format!("{admin}/api/v1/comments/c-secret-2/unhide"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    fake.wait_until(Duration::from_secs(10), || {
        fake.is_hidden("c-secret-2") == Some(false)
    })
    .await;
    let r = client.get(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let metrics = r.text().await.unwrap();

    // A graceful stop, so that everything buffered is written.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut exited = false;
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut output = std::fs::read_to_string(&log_path).unwrap();
    output.push_str(&std::fs::read_to_string(&out_path).unwrap());
    output.push_str(&metrics);
    output
}

fn assert_no_secret(format: &str, output: &str) {
    // The log is real: it shows the work that was done.
    for expected in ["comment decided", "c-secret-1", "action will be retried"] {
        assert!(
            output.contains(expected),
            "{format} log lacks {expected:?}:\n{output}"
        );
    }
    let proof = appsecret_proof();
    for (name, secret) in [
        ("app secret", APP_SECRET),
        ("verify token", VERIFY_TOKEN),
        ("access token", ACCESS_TOKEN),
        ("admin token", ADMIN_TOKEN),
        ("appsecret_proof", proof.as_str()),
    ] {
        if let Some(at) = output.find(secret) {
            let start = output[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = output[at..].find('\n').map_or(output.len(), |i| at + i);
            panic!(
                "the {name} appears in the {format} log: {}",
                &output[start..end]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_the_json_log_of_a_whole_run() {
    let output = run_and_capture("json").await;
    assert!(output.lines().any(|l| l.starts_with('{')), "{output}");
    assert_no_secret("json", &output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_the_text_log_of_a_whole_run() {
    let output = run_and_capture("text").await;
    assert_no_secret("text", &output);
    // Written to a pipe, as to a file: no colour escape codes.
    assert!(!output.is_empty());
    assert!(!output.contains('\u{1b}'), "{output}");
}
