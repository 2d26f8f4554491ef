//! `commentguard connect` as a new user runs it: the binary, a user token on standard input,
//! a fake Graph API with the Pages and tokens Meta would have; then serve started on the
//! settings file it wrote, moderating with the Page token.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{comment_body, spawn_app_with, AppOptions, APP_SECRET};
use crate::support::fake_graph::FakeGraph;
use crate::support::fake_meta::ALL_SCOPES;

const SHORT_TOKEN: &str = "EAAGshortlivedusertoken0001";
const ACCOUNT: &str = "17841500000000101";
const PAGE: &str = "6000000000000101";
const PAGE_TOKEN: &str = "EAAGpagetokenofthebrandpage01";

/// Runs `connect` off the test's runtime (the fake Graph API answers on it meanwhile).
async fn connect(fake: &FakeGraph, config: &Path, stdin: &str) -> Output {
    let (url, config, stdin) = (fake.url(), config.to_path_buf(), stdin.to_string());
    tokio::task::spawn_blocking(move || run_connect(&url, &config, &stdin))
        .await
        .unwrap()
}

fn run_connect(graph_url: &str, config: &Path, stdin: &str) -> Output {
    run_connect_with(
        &["--config".into(), config.display().to_string()],
        &[
            ("COMMENTGUARD_GRAPH_URL", graph_url.to_string()),
            ("COMMENTGUARD_APP_SECRET", APP_SECRET.to_string()),
        ],
        stdin,
    )
}

/// `commentguard connect ARGS` with only `env` (and PATH) set, `stdin` on its standard input.
pub(crate) fn run_connect_with(args: &[String], env: &[(&str, String)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .arg("connect")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("commentguard runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A person who manages the brand's Page (linked to the Instagram account, app not yet
/// installed) and a Page with no Instagram account.
async fn fake_with_a_brand(scopes: &[&str]) -> FakeGraph {
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.add_page(PAGE, Some((ACCOUNT, "shopbrand")), PAGE_TOKEN, false);
    fake.add_page("6000000000000999", None, "EAAGanotherpage", false);
    fake.add_user_token(SHORT_TOKEN, scopes, &[PAGE, "6000000000000999"]);
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_from_a_short_lived_token_writes_accounts_that_serve_moderates_with() {
    let fake = fake_with_a_brand(&ALL_SCOPES).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commentguard.toml");
    let out = connect(&fake, &config, &format!("{SHORT_TOKEN}\n")).await;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    // The Page was found without the app, and mended.
    assert!(fake.app_installed(PAGE), "{said}");
    assert!(said.contains("installed now"), "{said}");
    assert!(said.contains("@shopbrand"), "{said}");
    // Tokens are never printed.
    for secret in [SHORT_TOKEN, PAGE_TOKEN, APP_SECRET, "EAALONG"] {
        assert!(!said.contains(secret), "{secret} printed: {said}");
    }
    // The settings file: the account with the Page's token, owner-only.
    let written = std::fs::read_to_string(&config).unwrap();
    let parsed: toml::Value = toml::from_str(&written).unwrap();
    let account = &parsed["accounts"][ACCOUNT];
    assert_eq!(account["access_token"].as_str(), Some(PAGE_TOKEN));
    assert_eq!(account["page_id"].as_str(), Some(PAGE));
    assert_eq!(account["username"].as_str(), Some("shopbrand"));
    assert_eq!(parsed["app_id"].as_str(), Some(FakeGraph::APP_ID));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }

    // serve on that file moderates the account with the Page token.
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        "[[rule]]\nid = \"forex\"\n[rule.when]\nwords = [\"forex\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("COMMENTGUARD_CONFIG".into(), config.display().to_string()),
            ("COMMENTGUARD_GRAPH_URL".into(), fake.url()),
        ],
        rules: Some(rules.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let body = comment_body(ACCOUNT, "c-connect-1", "I made $9000 with FOREX", "victim");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let hides = fake
        .wait_for_calls("hide", 1, Duration::from_secs(20))
        .await;
    assert_eq!(hides[0].object_id, "c-connect-1");
    assert_eq!(hides[0].bearer.as_deref(), Some(PAGE_TOKEN));
    drop(app);

    // Again: nothing that is right changes.
    let installs = fake.calls_to("install_app").len();
    let out = connect(&fake, &config, SHORT_TOKEN).await;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("unchanged"), "{said}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
    assert_eq!(fake.calls_to("install_app").len(), installs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named_with_what_it_is_for_and_the_command_fails() {
    let scopes: Vec<&str> = ALL_SCOPES
        .into_iter()
        .filter(|s| *s != "pages_manage_metadata")
        .collect();
    let fake = fake_with_a_brand(&scopes).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commentguard.toml");
    let out = connect(&fake, &config, SHORT_TOKEN).await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("pages_manage_metadata (installing the app on the Page"),
        "{said}"
    );
    // Meta's own words for the refused install.
    assert!(
        said.contains("Requires pages_manage_metadata permission"),
        "{said}"
    );
    assert!(!fake.app_installed(PAGE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_on_standard_input_is_a_clear_error_and_writes_nothing() {
    let fake = fake_with_a_brand(&ALL_SCOPES).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commentguard.toml");
    let out = connect(&fake, &config, "\n").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no user token on standard input"));
    assert!(!config.exists());
}
