//! The real binary under load, killed with SIGKILL at random moments and restarted on the same
//! database, several times, against the fake Graph API. After a last run that drains:
//!
//! - every acknowledged notification was acted on: each acknowledged scam or spam comment is
//!   hidden on the fake and has its decision in the moderation log;
//! - no reply was posted twice: every comment has at most one reply on the fake.
//!
//! Hide calls may repeat (a kill between Meta's answer and the action log's update; hiding is
//! idempotent): they are counted and printed, not limited.
//!
//! Runs on SQLite always and on PostgreSQL when COMMENTGUARD_TEST_DATABASE_URL is set (a fresh
//! database per test, dropped afterwards). The binary is the test profile's: a release build
//! costs CI more than it proves here. The leases are the production ones (60 s for events,
//! 120 s for actions): the work a kill interrupted must be taken back at the restart (SQLite)
//! or once the dead run's heartbeat is old (PostgreSQL), within seconds, not when they expire.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::store::{ActionState, SqlStore};
use rand::Rng;

use crate::faults::{all_decisions, reply_for, write_rules, ACCESS_TOKEN, ACCOUNT, SCAM, SPAM};
use crate::helpers::{comment_body, APP_SECRET, VERIFY_TOKEN};
use crate::support::fake_graph::FakeGraph;

const KILLS: usize = 5;
const RECOVERED_WITHIN: Duration = Duration::from_secs(10);
const SENDERS: usize = 12;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    HideAndReply,
    Hide,
    Nothing,
}

fn text_for(n: u64) -> (&'static str, Expect) {
    match n % 4 {
        0 | 1 => (SCAM, Expect::HideAndReply),
        2 => (SPAM, Expect::Hide),
        _ => ("what a lovely dress", Expect::Nothing),
    }
}

pub(crate) struct Service<'a> {
    pub port: u16,
    pub db_url: &'a str,
    pub rules: &'a Path,
    pub graph_url: &'a str,
    pub log: &'a Path,
    /// More settings, or other values for those above.
    pub env: Vec<(&'static str, String)>,
}

impl Service<'_> {
    pub(crate) fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log)
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_commentguard"))
            .arg("serve")
            .env_clear()
            // Not what this measures: rules freshly copied here would look just edited.
            .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("COMMENTGUARD_APP_SECRET", APP_SECRET)
            .env("COMMENTGUARD_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("COMMENTGUARD_ACCESS_TOKEN", ACCESS_TOKEN)
            .env("COMMENTGUARD_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:0")
            .env("COMMENTGUARD_DATABASE_URL", self.db_url)
            .env("COMMENTGUARD_RULES", self.rules)
            .env("COMMENTGUARD_GRAPH_URL", self.graph_url)
            .env("COMMENTGUARD_GRAPH_TIMEOUT", "1s")
            .env("COMMENTGUARD_RETRY_BASE", "10ms")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the service binary starts")
    }
}

pub(crate) async fn wait_healthy(client: &reqwest::Client, base: &str, log: &Path) {
    for _ in 0..400 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("service did not become healthy; its log:\n{}", tail(log));
}

pub(crate) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends signed comments from `SENDERS` tasks until `stop`; returns the acknowledged ones.
async fn load(
    client: reqwest::Client,
    base: String,
    next: Arc<Mutex<u64>>,
    stop: tokio_util::sync::CancellationToken,
) -> BTreeMap<String, Expect> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (client, base, next, stop) = (client.clone(), base.clone(), next.clone(), stop.clone());
        tasks.spawn(async move {
            let mut acked = BTreeMap::new();
            while !stop.is_cancelled() {
                let n = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    *g
                };
                let id = format!("179{n:014}");
                let (text, expect) = text_for(n);
                let body = comment_body(ACCOUNT, &id, text, &format!("user{n}"));
                let sig = sign(&body, &Secret::new(APP_SECRET));
                let resp = client
                    .post(format!("{base}/webhook"))
                    .header("x-hub-signature-256", sig)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => {
                        acked.insert(id, expect);
                    }
                    // The service is down (killed): wait for the next one.
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
            acked
        });
    }
    let mut all = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    all
}

/// Ids of the pending events and actions whose claims are still running: what a kill left
/// in flight.
async fn claimed_at_kill(store: &SqlStore) -> (Vec<i64>, Vec<i64>) {
    let now = commentguard::store::now_ms();
    let claimed = "SELECT id FROM {} WHERE state = 'pending' AND lease_until > $1";
    let ids = |rows: Vec<sqlx::any::AnyRow>| -> Vec<i64> {
        rows.iter().map(|r| sqlx::Row::get(r, "id")).collect()
    };
    let events = match store.inbox_file() {
        Some(file) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
                .await
                .unwrap();
            let rows: Vec<(i64,)> = sqlx::query_as(&claimed.replace("{}", "inbox"))
                .bind(now)
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows.into_iter().map(|r| r.0).collect()
        }
        None => ids(sqlx::query(&claimed.replace("{}", "inbox"))
            .bind(now)
            .fetch_all(store.pool())
            .await
            .unwrap()),
    };
    let actions = ids(sqlx::query(&claimed.replace("{}", "actions"))
        .bind(now)
        .fetch_all(store.pool())
        .await
        .unwrap());
    (events, actions)
}

/// How many of `work` (event ids, action ids) are still pending.
async fn still_pending(store: &SqlStore, work: &(Vec<i64>, Vec<i64>)) -> usize {
    let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let mut left = 0;
    if !work.0.is_empty() {
        let sql = format!(
            "SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND id IN ({})",
            list(&work.0)
        );
        left += match store.inbox_file() {
            Some(file) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", file.display()))
                    .await
                    .unwrap();
                let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n as usize
            }
            None => {
                let n: i64 =
                    sqlx::Row::get(&sqlx::query(&sql).fetch_one(store.pool()).await.unwrap(), 0);
                n as usize
            }
        };
    }
    if !work.1.is_empty() {
        let sql = format!(
            "SELECT COUNT(*) FROM actions WHERE state = 'pending' AND id IN ({})",
            list(&work.1)
        );
        let n: i64 = sqlx::Row::get(&sqlx::query(&sql).fetch_one(store.pool()).await.unwrap(), 0);
        left += n as usize;
    }
    left
}

async fn crash_and_recover(db_url: String) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let log = dir.path().join("service.log");
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.require_appsecret_proof(true);
    let graph_url = fake.url();
    let service = Service {
        port: free_port(),
        db_url: &db_url,
        rules: &rules,
        graph_url: &graph_url,
        log: &log,
        // The default timeout, so the claims a kill leaves behind have their production
        // leases (60 s for events, 120 s for actions): only taking them back at start can
        // bring the work back within the 10 s asked below.
        env: vec![("COMMENTGUARD_GRAPH_TIMEOUT", "20s".into())],
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", service.port);
    let next = Arc::new(Mutex::new(0u64));
    let mut acked: BTreeMap<String, Expect> = BTreeMap::new();
    // Random lifetimes: each kill lands at a different moment of ingest and action work.
    let lives: Vec<Duration> = {
        let mut rng = rand::rng();
        (0..KILLS)
            .map(|_| Duration::from_millis(rng.random_range(300..1500)))
            .collect()
    };

    for (round, life) in lives.into_iter().enumerate() {
        let mut child = service.spawn();
        wait_healthy(&client, &base, &log).await;
        let stop = tokio_util::sync::CancellationToken::new();
        let load = tokio::spawn(load(
            client.clone(),
            base.clone(),
            next.clone(),
            stop.clone(),
        ));
        tokio::time::sleep(life).await;
        // SIGKILL while requests are in flight and actions are being carried out.
        child.kill().unwrap();
        child.wait().unwrap();
        stop.cancel();
        let got = load.await.unwrap();
        eprintln!(
            "crash test: round {round}: killed after {life:?}, {} acknowledged, {} Graph calls so far",
            got.len(),
            fake.requests().len()
        );
        acked.extend(got);
    }
    assert!(
        acked.len() >= 100,
        "too little load to prove anything: {} acknowledged",
        acked.len()
    );

    // What the last kill interrupted: events and actions claimed, their leases still running.
    // A kill that found nothing claimed (all work done that instant) proves nothing about
    // recovery: run and kill again until one does.
    let store = SqlStore::connect(&db_url).await.unwrap();
    let mut interrupted = claimed_at_kill(&store).await;
    let mut extra = 0;
    while interrupted.0.is_empty() && interrupted.1.is_empty() {
        extra += 1;
        assert!(extra <= 20, "no kill interrupted claimed work in 20 tries");
        let mut child = service.spawn();
        wait_healthy(&client, &base, &log).await;
        let stop = tokio_util::sync::CancellationToken::new();
        let load = tokio::spawn(load(
            client.clone(),
            base.clone(),
            next.clone(),
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        stop.cancel();
        acked.extend(load.await.unwrap());
        interrupted = claimed_at_kill(&store).await;
    }

    // The last run: no new load. The interrupted work is done within 10 s of the restart
    // (before, it waited for its leases: 60 s for events, 120 s for actions); then the whole
    // backlog drains.
    let restarted = Instant::now();
    let mut child = service.spawn();
    wait_healthy(&client, &base, &log).await;
    let recovered_in = loop {
        let left = still_pending(&store, &interrupted).await;
        if left == 0 {
            break restarted.elapsed();
        }
        assert!(
            restarted.elapsed() < RECOVERED_WITHIN,
            "{left} of the {} events and {} actions claimed at the kill still pending {RECOVERED_WITHIN:?} after the restart; service log:\n{}",
            interrupted.0.len(),
            interrupted.1.len(),
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let decisions = all_decisions(&store).await;
        let decided: BTreeSet<&str> = decisions.iter().map(|d| d.comment_id.as_str()).collect();
        let pending = decisions
            .iter()
            .flat_map(|d| &d.action_log)
            .filter(|a| a.state == ActionState::Pending)
            .count();
        let missing: Vec<String> = acked
            .iter()
            .filter(|(id, expect)| {
                !decided.contains(id.as_str())
                    || (**expect != Expect::Nothing && fake.is_hidden(id) != Some(true))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if missing.is_empty() && pending == 0 {
            break missing;
        }
        if Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    child.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} acknowledged comments not acted on after the drain, e.g. {:?}; service log:\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        tail(&log)
    );

    // No reply twice, on any comment the service ever saw (acknowledged or not).
    let replies = fake.calls_to("reply");
    let replied: BTreeSet<String> = replies.iter().map(|r| r.object_id.clone()).collect();
    for id in &replied {
        let on_fake = fake.replies_to(id);
        assert!(
            on_fake.len() <= 1,
            "{id} got {} replies: {on_fake:?}",
            on_fake.len()
        );
    }
    for (id, expect) in &acked {
        if *expect == Expect::HideAndReply {
            let texts: Vec<String> = fake.replies_to(id).into_iter().map(|r| r.text).collect();
            let n: u64 = id[3..].parse().unwrap();
            assert_eq!(
                texts,
                vec![reply_for(&format!("user{n}"))],
                "replies to {id}"
            );
        }
    }
    let hides = fake.calls_to("hide");
    let hidden: BTreeSet<&str> = hides.iter().map(|r| r.object_id.as_str()).collect();
    eprintln!(
        "crash test ({}): {KILLS} kills, {} acknowledged, {} hide calls for {} comments \
         ({} repeated), {} reply posts for {} comments, {} reply listings, {:.1} s; \
         the work claimed at the last kill ({} events, {} actions) done {:.1} s after the restart",
        if db_url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        acked.len(),
        hides.len(),
        hidden.len(),
        hides.len() - hidden.len(),
        replies.len(),
        replied.len(),
        fake.calls_to("replies").len(),
        started.elapsed().as_secs_f64(),
        interrupted.0.len(),
        interrupted.1.len(),
        recovered_in.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_comment_and_posts_no_reply_twice_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_recover(format!("sqlite:{}", dir.path().join("cg.db").display())).await;
}

/// Runs `test` on a fresh PostgreSQL database (dropped afterwards); says NOT RUN without one.
async fn on_postgres<F, Fut>(what: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(db) = crate::pg::FreshPostgres::create("crash", what).await else {
        return;
    };
    test(db.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_comment_and_posts_no_reply_twice_postgres() {
    on_postgres("crash::sigkill_under_load_..._postgres", crash_and_recover).await;
}

/// Two instances on one PostgreSQL database, both receiving and moderating; one is killed
/// under load. The other finishes the dead one's claimed work within 20 s (its heartbeat stops;
/// after COMMENTGUARD_CLAIM_TIMEOUT its claims are free), long before the leases (60 s and
/// 120 s) would have run out. No reply twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_one_killed_the_other_finishes_its_work() {
    on_postgres(
        "crash::postgres_two_instances_..._finishes_its_work",
        two_instances,
    )
    .await;
}

async fn two_instances(db_url: String) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    fake.require_appsecret_proof(true);
    let graph_url = fake.url();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let instance = |name: &'static str, log| Service {
        port: free_port(),
        db_url: &db_url,
        rules: &rules,
        graph_url: &graph_url,
        log,
        env: vec![
            ("COMMENTGUARD_GRAPH_TIMEOUT", "20s".into()),
            ("COMMENTGUARD_INSTANCE_ID", name.into()),
        ],
    };
    let (a, b) = (instance("a", &logs[0]), instance("b", &logs[1]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut child_a = a.spawn();
    let mut child_b = b.spawn();
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{}", a.port),
        format!("http://127.0.0.1:{}", b.port),
    );
    wait_healthy(&client, &base_a, &logs[0]).await;
    wait_healthy(&client, &base_b, &logs[1]).await;

    // Load on both; `a` is killed while it holds work.
    let next = Arc::new(Mutex::new(0u64));
    let stop = tokio_util::sync::CancellationToken::new();
    let load_a = tokio::spawn(load(client.clone(), base_a, next.clone(), stop.clone()));
    let load_b = tokio::spawn(load(client.clone(), base_b, next.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child_a.kill().unwrap();
    child_a.wait().unwrap();
    let killed = Instant::now();
    stop.cancel();
    let mut acked = load_a.await.unwrap();
    acked.extend(load_b.await.unwrap());
    let store = SqlStore::connect(&db_url).await.unwrap();
    let interrupted = claimed_at_kill(&store).await;

    // `b` alone finishes everything, the dead one's claims included.
    let within = Duration::from_secs(20);
    let missing = loop {
        let decisions = all_decisions(&store).await;
        let decided: BTreeSet<&str> = decisions.iter().map(|d| d.comment_id.as_str()).collect();
        let missing: Vec<String> = acked
            .iter()
            .filter(|(id, expect)| {
                !decided.contains(id.as_str())
                    || (**expect != Expect::Nothing && fake.is_hidden(id) != Some(true))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if (missing.is_empty() && still_pending(&store, &interrupted).await == 0)
            || killed.elapsed() > within
        {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = killed.elapsed();
    let left = still_pending(&store, &interrupted).await;
    let _ = child_b.kill();
    child_b.wait().unwrap();
    assert!(
        missing.is_empty() && left == 0,
        "{} acknowledged comments not acted on and {left} claimed events or actions of the dead \
         instance still pending {within:?} after the kill, e.g. {:?}; b's log:\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        tail(&logs[1])
    );
    for id in fake.calls_to("reply").iter().map(|r| r.object_id.clone()) {
        assert!(fake.replies_to(&id).len() <= 1, "{id} got two replies");
    }
    eprintln!(
        "two instances (PostgreSQL): {} acknowledged; the killed one held {} events and {} \
         actions; the other finished everything {:.1} s after the kill",
        acked.len(),
        interrupted.0.len(),
        interrupted.1.len(),
        took.as_secs_f64()
    );
}
