//! The service as tests start it: on a fresh SQLite file with one rule, talking to a fake
//! Graph API that is a real HTTP server; waits with a deadline instead of sleeps.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::Router;
use commentguard::config::Settings;
use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::startup::Application;
use commentguard::store::{now_ms, DecisionFilter, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "app-secret";
pub const ADMIN: &str = "review-admin-token";
pub const ACCOUNT: &str = "17841400000000000";

/// One request the fake Graph API received: method, path and query, body.
pub type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// A tiny stand-in for the Graph API that records every request and answers `{"success":true}`
/// (a permalink or a username when those fields are asked for).
/// (To be replaced by the shared fake in tests/api/support/fake_graph.rs.)
pub async fn fake_graph() -> (String, Seen) {
    async fn record(State(seen): State<Seen>, req: Request) -> axum::Json<serde_json::Value> {
        let method = req.method().to_string();
        let uri = req.uri().to_string();
        let body = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let answer = if uri.contains("fields=permalink") {
            json!({"permalink": "https://www.instagram.com/p/POST1/", "id": "1790001",
                   "caption": "Linen shirts are back in sage, sand and sky"})
        } else if uri.contains("fields=username") {
            json!({"username": "brand_account", "id": ACCOUNT})
        } else {
            json!({"success": true})
        };
        seen.lock()
            .unwrap()
            .push((method, uri, String::from_utf8_lossy(&body).into_owned()));
        axum::Json(answer)
    }
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(record).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// Polls `f` until it gives a value, for up to 15 s (see [`super::wait::wait_until`]).
pub async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    super::wait::wait_until(what, Duration::from_secs(15), async || {
        f().await.ok_or_else(|| "not yet".to_string())
    })
    .await
}

/// The service on a fresh SQLite file with one rule (`test-forex`) and the admin token set,
/// talking to [`fake_graph`]; `extra` adds settings (it may write files in the folder).
pub struct Service {
    pub _dir: tempfile::TempDir,
    pub public: String,
    pub admin: String,
    pub db: String,
    pub version: String,
    pub store: Arc<dyn Store>,
    pub seen: Seen,
    pub stop: CancellationToken,
}

pub async fn start_service(
    extra: impl FnOnce(&std::path::Path) -> Vec<(&'static str, String)>,
) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("test.toml"),
        "[[rule]]\nid = \"test-forex\"\n[rule.when]\nwords = [\"forex\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let (graph_url, seen) = fake_graph().await;
    let db = format!("sqlite:{}", dir.path().join("db.sqlite").display());
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("COMMENTGUARD_LISTEN", "127.0.0.1:0".into());
    env.insert("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:0".into());
    env.insert("COMMENTGUARD_APP_SECRET", SECRET.into());
    env.insert("COMMENTGUARD_VERIFY_TOKEN", "verify".into());
    env.insert("COMMENTGUARD_ACCESS_TOKEN", "graph-token".into());
    env.insert("COMMENTGUARD_ADMIN_TOKEN", ADMIN.into());
    env.insert("COMMENTGUARD_GRAPH_URL", graph_url);
    env.insert("COMMENTGUARD_DATABASE_URL", db.clone());
    env.insert("COMMENTGUARD_RULES", rules.display().to_string());
    for (k, v) in extra(dir.path()) {
        env.insert(k, v);
    }
    let settings = Settings::load(None, &|k| env.get(k).cloned()).unwrap();
    let version = settings.graph_version.clone();
    let app = Application::build(settings).await.unwrap();
    let public = format!("http://127.0.0.1:{}", app.port());
    let admin = format!("http://127.0.0.1:{}", app.admin_port());
    let store: Arc<dyn Store> = app.store.clone();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(app.run_until(async move { s.cancelled().await }));
    Service {
        _dir: dir,
        public,
        admin,
        db,
        version,
        store,
        seen,
        stop,
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Service {
    /// A signed `comments` notification; returns once the pipeline has decided it.
    pub async fn comment(&self, id: &str, username: &str, text: &str) {
        let body = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": now_ms() / 1000,
            "changes": [{"field": "comments", "value": {
                "from": {"id": "555", "username": username},
                "media": {"id": "1790001", "media_product_type": "FEED"},
                "id": id, "text": text}}]}]})
        .to_string();
        let r = reqwest::Client::new()
            .post(format!("{}/webhook", self.public))
            .header(
                "x-hub-signature-256",
                sign(body.as_bytes(), &Secret::new(SECRET)),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        wait_for("the pipeline to decide the comment", async || {
            let rows = self
                .store
                .list_decisions(&DecisionFilter {
                    comment_id: Some(id.into()),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            (!rows.is_empty()).then_some(())
        })
        .await;
    }
}

/// `commentguard users add`, through the real binary, on the service's database.
pub fn users_add(db: &str, name: &str, role: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["users", "add", name, "--role", role, "--password-stdin"])
        .env("COMMENTGUARD_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}
