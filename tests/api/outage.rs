//! The database as a fault (issue 28): a PostgreSQL server of the test's own (initdb in a
//! temporary folder, on a free port) is stopped for a while and started again while signed
//! deliveries keep coming to the real binary. Measured from outside, as Meta and an operator
//! see it:
//!
//! - every delivery is answered within 5 s (a clean 503 while the database is away: Meta
//!   retries those), none hangs until Meta's 20 s timeout;
//! - every delivery answered 200, before the stop or after the start, is stored and acted
//!   on; no reply is posted twice;
//! - the process is the same one throughout (not restarted), and new deliveries are
//!   acknowledged and acted on within 10 s of the database's return.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::store::SqlStore;

use crate::crash::{free_port, tail, wait_healthy, Service};
use crate::faults::{all_decisions, reply_for, write_rules, ACCOUNT, SCAM};
use crate::helpers::{comment_body, say_not_run, APP_SECRET};
use crate::support::fake_graph::FakeGraph;

/// A PostgreSQL cluster for one test, stopped and removed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// initdb refuses root: the cluster then runs as the `postgres` user.
    as_postgres: bool,
}

impl Cluster {
    fn bin_dir() -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    }

    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).output().expect("PostgreSQL's programs run")
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start() -> Option<Cluster> {
        let bin = Self::bin_dir()?;
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
        }
        let c = Cluster {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let out = c.run(
            "initdb",
            &[
                "-D",
                &c.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.up();
        Some(c)
    }

    fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("pg.log").display().to_string();
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-o",
                &opts,
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server the way a failover or an upgrade does: connections are cut.
    fn down(&self) {
        let out = self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

pub(crate) fn is_root() -> bool {
    // The effective user id, without a crate for it: `id -u`.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Delivers a signed scam comment `id` by `user`: the status, when an answer came.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    user: &str,
) -> Option<u16> {
    let body = comment_body(ACCOUNT, id, SCAM, user);
    let sig = sign(&body, &Secret::new(APP_SECRET));
    client
        .post(format!("{base}/webhook"))
        .header("x-hub-signature-256", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// One delivery's fate as the sender saw it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub user: String,
    pub status: Option<u16>,
    pub took: Duration,
    pub at: Instant,
}

/// How long after `since` the first delivery acknowledged after it was acted on (hidden);
/// fails after 10 s, saying `what` returned.
pub(crate) async fn resumed_after(
    sent: &Mutex<BTreeMap<String, Sent>>,
    since: Instant,
    fake: &FakeGraph,
    log: &std::path::Path,
    what: &str,
) -> Duration {
    loop {
        let ok = sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.at > since && s.status == Some(200))
            .map(|(id, s)| (id.clone(), s.at))
            .min_by_key(|(_, at)| *at);
        if let Some((id, at)) = ok {
            if fake.is_hidden(&id) == Some(true) {
                return at.duration_since(since);
            }
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "nothing acknowledged and acted on within 10 s of {what}; log:\n{}",
            tail(log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits up to `within` for every acknowledged comment (id -> author) to be decided, hidden
/// and answered, then checks each got exactly the one reply its author's rule writes.
pub(crate) async fn each_acted_on_once(
    db_url: &str,
    fake: &FakeGraph,
    acked: &BTreeMap<String, String>,
    within: Duration,
    logs: &[&std::path::Path],
) {
    let store = SqlStore::connect(db_url).await.unwrap();
    let deadline = Instant::now() + within;
    loop {
        let decided: std::collections::BTreeSet<String> = all_decisions(&store)
            .await
            .into_iter()
            .map(|d| d.comment_id)
            .collect();
        let missing: Vec<&String> = acked
            .keys()
            .filter(|id| {
                fake.is_hidden(id) != Some(true)
                    || fake.replies_to(id).is_empty()
                    || !decided.contains(id.as_str())
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} acknowledged comments not acted on, e.g. {:?}; logs:\n{}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)],
            logs.iter().map(|l| tail(l)).collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (id, user) in acked {
        let replies = fake.replies_to(id);
        assert_eq!(replies.len(), 1, "{id}: {} replies", replies.len());
        assert_eq!(replies[0].text, reply_for(user));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_then_started_loses_nothing_acknowledged_and_answers_fast() {
    let Some(cluster) = Cluster::start() else {
        say_not_run(
            "the PostgreSQL outage test",
            "it needs PostgreSQL's initdb and pg_ctl (Debian's postgresql package)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let log = dir.path().join("service.log");
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let graph_url = fake.url();
    let db_url = cluster.url();
    let service = Service {
        port: free_port(),
        db_url: &db_url,
        rules: &rules,
        graph_url: &graph_url,
        log: &log,
        env: vec![],
    };
    let client = reqwest::Client::builder()
        // Longer than any answer should take: a hang shows as a long `took`, not an error.
        .timeout(Duration::from_secs(25))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", service.port);
    let mut child = service.spawn();
    let pid = child.id();
    wait_healthy(&client, &base, &log).await;

    // Four senders, each a delivery every 50 ms, for the whole run.
    let sent: Arc<Mutex<BTreeMap<String, Sent>>> = Default::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let next = Arc::new(Mutex::new(0u64));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, base, sent, stop, next) = (
            client.clone(),
            base.clone(),
            sent.clone(),
            stop.clone(),
            next.clone(),
        );
        senders.spawn(async move {
            while !stop.is_cancelled() {
                let n = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    *g
                };
                let id = format!("1795{n:011}");
                let user = format!("user{n}");
                let at = Instant::now();
                let status = deliver(&client, &base, &id, &user).await;
                let took = at.elapsed();
                sent.lock().unwrap().insert(
                    id,
                    Sent {
                        user,
                        status,
                        took,
                        at,
                    },
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let down_at = Instant::now();
    // Blocks this worker for the second pg_ctl takes; the senders run on the others.
    cluster.down();
    let log_lines_before = std::fs::read_to_string(&log).unwrap().lines().count();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let log_lines_during =
        std::fs::read_to_string(&log).unwrap().lines().count() - log_lines_before;
    // /readyz says why, in words, for the load balancer and the operator.
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let why = ready.text().await.unwrap();
    assert!(why.contains("not ready: the database"), "{why}");
    cluster.up();
    let up_at = Instant::now();

    // Within 10 s of the database's return, a delivery is acknowledged and acted on.
    let resumed = resumed_after(&sent, up_at, &fake, &log, "the database's return").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    while senders.join_next().await.is_some() {}
    let sent = sent.lock().unwrap().clone();

    // Every delivery answered within 5 s; during the outage, 503 (or 200 from a commit that
    // made it just before the stop).
    let slow: Vec<_> = sent
        .iter()
        .filter(|(_, s)| s.took > Duration::from_secs(5) || s.status.is_none())
        .collect();
    assert!(slow.is_empty(), "answered late or not at all: {slow:?}");
    let during: Vec<&Sent> = sent
        .values()
        .filter(|s| s.at > down_at + Duration::from_secs(1) && s.at + s.took < up_at)
        .collect();
    assert!(
        during.len() > 20,
        "only {} deliveries during the outage",
        during.len()
    );
    assert!(
        during.iter().all(|s| s.status == Some(503)),
        "answers during the outage: {:?}",
        during.iter().map(|s| s.status).collect::<Vec<_>>()
    );

    // Refused at once while another delivery probes the database: Meta's retries are quick.
    let fast = during
        .iter()
        .filter(|s| s.took < Duration::from_millis(500))
        .count();
    assert!(
        fast * 10 >= during.len() * 9,
        "only {fast} of {} answered within 0.5 s during the outage",
        during.len()
    );

    // Every acknowledged delivery stored, decided and acted on; no reply twice.
    let acked: BTreeMap<String, String> = sent
        .iter()
        .filter(|(_, s)| s.status == Some(200))
        .map(|(id, s)| (id.clone(), s.user.clone()))
        .collect();
    assert!(acked.len() > 50, "only {} acknowledged", acked.len());
    each_acted_on_once(&db_url, &fake, &acked, Duration::from_secs(30), &[&log]).await;
    // The same process throughout.
    assert!(child.try_wait().unwrap().is_none(), "the service exited");
    assert_eq!(child.id(), pid);
    eprintln!(
        "outage test: {} acknowledged, {} answered 503 during a 20 s outage (slowest answer {:?}); acted on again {:?} after the database returned; {} log lines during the outage",
        acked.len(),
        during.len(),
        sent.values().map(|s| s.took).max().unwrap_or_default(),
        resumed,
        log_lines_during
    );
    // Logged once per state change, not once per request: a few lines a second at most (the
    // tasks that wait on the database each say so, the pool's own pings add a few).
    assert!(
        log_lines_during < 80,
        "{log_lines_during} log lines in 20 s of outage; log:\n{}",
        tail(&log)
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Two instances on one PostgreSQL server that restarts under load (every connection reset,
/// transactions cut in the middle): each acknowledged comment is acted on, and no comment gets
/// two replies, whichever instance held it when the connections dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_through_a_postgres_restart_act_on_each_comment_and_reply_once() {
    let Some(cluster) = Cluster::start() else {
        say_not_run(
            "the PostgreSQL restart test",
            "it needs PostgreSQL's initdb and pg_ctl (Debian's postgresql package)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let fake = FakeGraph::start().await;
    fake.set_app_secret(APP_SECRET);
    let graph_url = fake.url();
    let db_url = cluster.url();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let instance = |name: &'static str, log| Service {
        port: free_port(),
        db_url: &db_url,
        rules: &rules,
        graph_url: &graph_url,
        log,
        env: vec![("COMMENTGUARD_INSTANCE_ID", name.into())],
    };
    let (a, b) = (instance("a", &logs[0]), instance("b", &logs[1]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(25))
        .build()
        .unwrap();
    let mut children = [a.spawn(), b.spawn()];
    let bases = [
        format!("http://127.0.0.1:{}", a.port),
        format!("http://127.0.0.1:{}", b.port),
    ];
    wait_healthy(&client, &bases[0], &logs[0]).await;
    wait_healthy(&client, &bases[1], &logs[1]).await;

    let acked: Arc<Mutex<BTreeMap<String, String>>> = Default::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let next = Arc::new(Mutex::new(0u64));
    let mut senders = tokio::task::JoinSet::new();
    for k in 0..4 {
        let (client, base, acked, stop, next) = (
            client.clone(),
            bases[k % 2].clone(),
            acked.clone(),
            stop.clone(),
            next.clone(),
        );
        senders.spawn(async move {
            while !stop.is_cancelled() {
                let n = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    *g
                };
                let id = format!("1796{n:011}");
                let user = format!("user{n}");
                if deliver(&client, &base, &id, &user).await == Some(200) {
                    acked.lock().unwrap().insert(id, user);
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A restart: every connection cut, the server back three seconds later.
    cluster.down();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.up();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    while senders.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} acknowledged", acked.len());

    each_acted_on_once(
        &db_url,
        &fake,
        &acked,
        Duration::from_secs(40),
        &[&logs[0], &logs[1]],
    )
    .await;
    for c in &mut children {
        assert!(c.try_wait().unwrap().is_none(), "an instance exited");
        c.kill().unwrap();
        c.wait().unwrap();
    }
    eprintln!(
        "restart test: {} acknowledged across two instances, each acted on, one reply each",
        acked.len()
    );
}
