//! `commentguard doctor` run as an operator runs it, on the machine beside serve: a good
//! set-up (serve on HTTPS with a certificate, an account connected) passes every check; a
//! closed port or a plain-HTTP URL fails with the fix.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::{spawn_app_with, AppOptions, TestApp, APP_SECRET, VERIFY_TOKEN};
use crate::support::fake_graph::FakeGraph;
use crate::tls::{pki, write};

const ACCOUNT: &str = "17841500000000201";
const PAGE: &str = "6000000000000201";
const TOKEN: &str = "EAAGdoctorpagetoken000201";

async fn doctor(app: &TestApp, fake: &FakeGraph, args: Vec<String>) -> Output {
    let dir = app.dir.path().to_path_buf();
    let graph = fake.url();
    tokio::task::spawn_blocking(move || run_doctor(&dir, &graph, &args))
        .await
        .unwrap()
}

fn run_doctor(dir: &Path, graph: &str, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .arg("doctor")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMENTGUARD_APP_SECRET", APP_SECRET)
        .env("COMMENTGUARD_VERIFY_TOKEN", VERIFY_TOKEN)
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", dir.join("cg.db").display()),
        )
        .env("COMMENTGUARD_RULES", dir.join("rules"))
        .env("COMMENTGUARD_GRAPH_URL", graph)
        .env("COMMENTGUARD_ACCESS_TOKEN", TOKEN)
        .env("COMMENTGUARD_ACCOUNT_IDS", ACCOUNT)
        .output()
        .expect("commentguard runs")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_a_good_set_up_and_fails_with_the_fix_on_a_closed_port() {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.add_page(PAGE, Some((ACCOUNT, "brand")), TOKEN, true);
    let pki = pki();
    let certs = tempfile::tempdir().unwrap();
    let ca = write(certs.path(), "ca.pem", &pki.ca_pem);
    let app = spawn_app_with(AppOptions {
        env: vec![
            (
                "COMMENTGUARD_TLS_CERT".into(),
                write(certs.path(), "cert.pem", &pki.server_cert),
            ),
            (
                "COMMENTGUARD_TLS_KEY".into(),
                write(certs.path(), "key.pem", &pki.server_key),
            ),
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
            ("COMMENTGUARD_ACCESS_TOKEN".into(), TOKEN.into()),
            ("COMMENTGUARD_ACCOUNT_IDS".into(), ACCOUNT.into()),
        ],
        ..Default::default()
    })
    .await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}/webhook");

    let out = doctor(
        &app,
        &fake,
        vec!["--url".into(), url.clone(), "--ca".into(), ca.clone()],
    )
    .await;
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    for line in [
        "ok    callback URL: ",
        "ok    signatures: ",
        "ok    database: ",
        "ok    rules: ",
        "ok    app: ",
    ] {
        assert!(text.contains(line), "no {line:?} in {text}");
    }
    assert!(
        text.contains(&format!(
            "ok    account {ACCOUNT}: the app is installed on Page {PAGE}"
        )),
        "{text}"
    );
    assert!(
        !text.contains(TOKEN) && !text.contains(APP_SECRET),
        "{text}"
    );
    // The handshake really reached the service, with the verify token.
    assert!(!text.contains("FAIL"), "{text}");

    // Without the private CA the certificate is not one Meta would accept.
    let out = doctor(&app, &fake, vec!["--url".into(), url.clone()]).await;
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the certificate is not one Meta accepts"),
        "{text}"
    );

    // A port where nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = doctor(
        &app,
        &fake,
        vec![
            "--url".into(),
            format!("https://localhost:{closed}/webhook"),
            "--ca".into(),
            ca,
        ],
    )
    .await;
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  callback URL: nothing answers at"),
        "{text}"
    );
    assert!(text.contains("is serve running"), "{text}");

    // Plain HTTP: Meta calls only HTTPS.
    let out = doctor(
        &app,
        &fake,
        vec!["--url".into(), format!("http://localhost:{port}/webhook")],
    )
    .await;
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Meta calls only HTTPS callback URLs"),
        "{text}"
    );

    // The app not installed on the Page: named, with the fix.
    fake.set_app_installed(PAGE, false);
    let out = doctor(&app, &fake, vec![]).await;
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("skip  callback URL: not checked"), "{text}");
    assert!(
        text.contains(&format!(
            "FAIL  account {ACCOUNT}: the app is not installed on Page {PAGE}"
        )),
        "{text}"
    );
    assert!(text.contains("commentguard connect"), "{text}");
}
