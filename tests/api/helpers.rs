//! `spawn_app()`: a whole commentguard on random ports with its own database and rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use commentguard::config::Settings;
use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::startup::Application;
use commentguard::store::{DecisionFilter, DecisionRow, SqlStore, Store};
use tokio::sync::oneshot;

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";

#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub admin_address: String,
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Options for [`spawn_app_with`]: extra environment and a rules folder to copy.
#[derive(Default)]
pub struct AppOptions {
    pub env: Vec<(String, String)>,
    pub rules: Option<PathBuf>,
    /// Reuse this folder (its database and rules): a restart.
    pub dir: Option<tempfile::TempDir>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub async fn spawn_app_with(opts: AppOptions) -> TestApp {
    let dir = opts.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let rules_dir = dir.path().join("rules");
    if !rules_dir.exists() {
        match &opts.rules {
            Some(src) => copy_dir(src, &rules_dir),
            // The shipped pack: tests run against the rules brand teams start from.
            None => copy_dir(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
                &rules_dir,
            ),
        }
    }
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("COMMENTGUARD_APP_SECRET".into(), APP_SECRET.into());
    env.insert("COMMENTGUARD_VERIFY_TOKEN".into(), VERIFY_TOKEN.into());
    env.insert("COMMENTGUARD_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("COMMENTGUARD_ADMIN_LISTEN".into(), "127.0.0.1:0".into());
    env.insert(
        "COMMENTGUARD_DATABASE_URL".into(),
        format!("sqlite:{}", dir.path().join("cg.db").display()),
    );
    env.insert("COMMENTGUARD_RULES".into(), rules_dir.display().to_string());
    // Nothing in a test may reach the real Graph API.
    env.insert("COMMENTGUARD_GRAPH_URL".into(), "http://127.0.0.1:9".into());
    // Tests that edit their rules while running must not see them switched to shadow by the
    // safety net for careless edits. Tests of that switch turn it on.
    env.insert("COMMENTGUARD_AUTO_SHADOW_SHARE".into(), "0".into());
    for (k, v) in opts.env {
        env.insert(k, v);
    }
    let settings = Settings::load(None, &|k| env.get(k).cloned()).expect("settings");
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let admin_address = format!("http://127.0.0.1:{}", app.admin_port());
    let store = app.store.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        admin_address,
        store,
        dir,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    pub async fn post_signed(&self, body: &[u8]) -> reqwest::Response {
        self.post_with_signature(body, Some(&sign(body, &Secret::new(APP_SECRET))))
            .await
    }

    pub async fn post_with_signature(&self, body: &[u8], sig: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/webhook", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        req.send().await.expect("request sent")
    }

    pub async fn handshake(&self, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/webhook?{query}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Every inbox row, read through its own connection to the SQLite file.
    pub async fn inbox_keys(&self) -> Vec<String> {
        let store = SqlStore::connect(&format!(
            "sqlite:{}",
            self.dir.path().join("cg.db").display()
        ))
        .await
        .unwrap();
        inbox_keys_of(&store).await
    }

    pub async fn dead_letter_count(&self) -> usize {
        self.store.dead_letters(10_000).await.unwrap().len()
    }

    /// Stops gracefully and hands back the folder (database, rules) for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

/// A `comments` notification for one comment.
pub fn comment_body(account: &str, comment_id: &str, text: &str, username: &str) -> Vec<u8> {
    serde_json::json!({
        "object": "instagram",
        "entry": [{"id": account, "time": 1_700_000_000, "changes": [{"field": "comments", "value": {
            "from": {"id": format!("u-{username}"), "username": username},
            "media": {"id": "media-1", "media_product_type": "FEED"},
            "id": comment_id,
            "text": text
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// Waits (up to 20 s) until the comment's decision exists and no planned action is pending.
pub async fn settled_decision(store: &dyn Store, comment: &str) -> DecisionRow {
    let what = format!("the decision for {comment} to settle");
    crate::wait::wait_until(&what, std::time::Duration::from_secs(20), async || {
        let rows = store
            .list_decisions(&DecisionFilter {
                comment_id: Some(comment.to_string()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        match rows.into_iter().next() {
            Some(d) if d.outcome() != "pending" => Ok(d),
            other => Err(format!("{other:#?}")),
        }
    })
    .await
}

/// Every event key in the inbox file of a SQLite store, read through a connection of its own
/// (what an operator's `sqlite3` would see).
pub async fn inbox_keys_of(store: &SqlStore) -> Vec<String> {
    let file = store
        .inbox_file()
        .expect("a SQLite store has an inbox file");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT dedup_key FROM inbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

/// Says NOT RUN for a test that cannot run here, and why; under `.ci/test`
/// (COMMENTGUARD_TEST_REQUIRE_ALL=1) it fails instead.
pub fn say_not_run(what: &str, why: &str) {
    if std::env::var("COMMENTGUARD_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{what} did not run: {why}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "NOT RUN: {what}: {why}");
}

/// The review page (`/review?QUERY`) as HTML, signed in with the admin token `admin`.
pub async fn review_html(app: &TestApp, admin: &str, query: &str) -> String {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/review/login", app.admin_address))
        .form(&[("name", "oncall"), ("token", admin)])
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
    c.get(format!("{}/review?{query}", app.admin_address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The service's /metrics text.
pub async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.admin_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the series `name_and_labels` (`name{label="v"}`) in a /metrics text.
pub fn metric_value(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

/// The admin status endpoint (`/api/v1/status`, with the admin token `admin`) once `ready`
/// says so, for up to `within`.
pub async fn status_when(
    app: &TestApp,
    admin: &str,
    within: std::time::Duration,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    crate::wait::wait_until("the status endpoint", within, async || {
        let status: serde_json::Value = app
            .client
            .get(format!("{}/api/v1/status", app.admin_address))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready(&status) {
            Ok(status)
        } else {
            Err(status.to_string())
        }
    })
    .await
}
