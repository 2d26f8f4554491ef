//! Webhook-to-action latency, `rules eval` throughput and resident memory, for bench/latency.sh.
//!
//! 1. Starts a minimal fake Graph API in this process that answers every call at once and
//!    notes when the first call for each comment arrived.
//! 2. Runs the service binary (`COMMENTGUARD_BIN`, default target/release/commentguard) on a
//!    fresh SQLite file with one hiding rule, pointed at that fake.
//! 3. Sends signed comments at a steady rate (default 500 a second for 20 s), each one a
//!    scam, and measures from the moment the request was sent to the moment the fake
//!    received the hide: webhook received -> first Graph call issued, plus loopback.
//! 4. Samples the service's RSS (/proc/PID/status VmRSS) during the run.
//! 5. Pipes JSON Lines through `commentguard rules eval` with the shipped rules.
//!
//! `cargo run --release --example latency -- [RATE] [SECONDS] [EVAL_LINES]`; set
//! `BENCH_DATABASE_URL=postgres://...` (an empty database) to measure on PostgreSQL.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;

const SECRET: &str = "bench-app-secret";
const ACCOUNT: &str = "17841400000000000";

type Seen = Arc<Mutex<HashMap<String, Instant>>>;

async fn graph(State(seen): State<Seen>, uri: Uri, _body: Bytes) -> &'static str {
    let id = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().entry(id).or_insert_with(Instant::now);
    r#"{"success":true}"#
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let eval_lines: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let bin = std::env::var("COMMENTGUARD_BIN")
        .unwrap_or_else(|_| "target/release/commentguard".to_string());

    let seen: Seen = Arc::default();
    let app = axum::Router::new().fallback(graph).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let work = tempfile::tempdir().unwrap();
    let rules = work.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("10-bench.toml"),
        "[[rule]]\nid = \"bench-scam\"\n[rule.when]\nwords = [\"forex\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(&bin)
        .arg("serve")
        // Not what this measures: rules freshly copied here would look just edited.
        .env("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")
        .env("COMMENTGUARD_APP_SECRET", SECRET)
        .env("COMMENTGUARD_VERIFY_TOKEN", "bench")
        .env("COMMENTGUARD_ACCESS_TOKEN", "bench-access-token")
        .env("COMMENTGUARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:0")
        .env(
            "COMMENTGUARD_DATABASE_URL",
            std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| format!("sqlite:{}", work.path().join("bench.db").display())),
        )
        .env("COMMENTGUARD_RULES", &rules)
        .env("COMMENTGUARD_GRAPH_URL", &graph_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle_rss = rss_kib(pid).unwrap_or(0);

    // RSS sampler.
    let peak = Arc::new(Mutex::new(idle_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(r) = rss_kib(pid) {
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(r);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // Steady load: one request every 1/rate seconds, each on its own task.
    let total = rate * seconds;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for n in 0..total {
        tick.tick().await;
        let id = format!("179{n:014}");
        let body = serde_json::json!({
            "object": "instagram",
            "entry": [{"id": ACCOUNT, "time": 1_700_000_000, "changes": [{"field": "comments", "value": {
                "from": {"id": "42", "username": "someone"},
                "media": {"id": "m1", "media_product_type": "FEED"},
                "id": id,
                "text": "made $9,000 with forex thanks to @mark"
            }}]}]
        })
        .to_string();
        let sig = sign(body.as_bytes(), &Secret::new(SECRET));
        let (client, base, sent) = (client.clone(), base.clone(), sent.clone());
        tasks.spawn(async move {
            sent.lock().unwrap().insert(id, Instant::now());
            let r = client
                .post(format!("{base}/webhook"))
                .header("x-hub-signature-256", sig)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            r.map(|r| r.status().as_u16()).unwrap_or(0)
        });
    }
    let mut ok = 0u64;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap() == 200 {
            ok += 1;
        }
    }
    let send_secs = started.elapsed().as_secs_f64();
    // Wait for the last actions.
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < ok as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sampler.abort();
    let loaded_rss = *peak.lock().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();

    let sent = sent.lock().unwrap();
    let seen = seen.lock().unwrap();
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, t0)| seen.get(id).map(|t1| t1.saturating_duration_since(*t0)))
        .collect();
    lat.sort();
    println!(
        "webhook -> first Graph call: {} sent in {:.1} s ({:.0}/s), {} acknowledged, {} acted on",
        total,
        send_secs,
        total as f64 / send_secs,
        ok,
        lat.len()
    );
    if !lat.is_empty() {
        println!(
            "RESULT latency_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.90)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap())
        );
    }
    println!(
        "RESULT rss_mib idle={:.1} peak_under_load={:.1}",
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0
    );

    // rules eval throughput with the shipped rules.
    let texts = [
        "made $9,000 with forex thanks to @mark, DM him on WhatsApp",
        "what a lovely dress",
        "Congratulations! You have been selected as a winner of our giveaway, DM to claim your prize",
        "I lost my bitcoin to scammers until @cyber_recovery helped me recover my funds",
        "where can I buy this in size 38?",
        "𝐟𝐫𝐞𝐞 𝐦𝐨𝐧𝐞𝐲 at w h a t s a p p +1 555 123 4567",
        "love it ❤️🔥",
        "send 0.1 eth to 0x52908400098527886E0F7030069857D2E4169EE7 and get 0.2 back",
    ];
    let mut input = String::with_capacity(eval_lines * 80);
    for i in 0..eval_lines {
        let line = serde_json::json!({"text": texts[i % texts.len()], "username": format!("u{i}"), "comment_id": i.to_string()});
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let started = Instant::now();
    let mut eval = Command::new(&bin)
        .args(["rules", "eval", "--rules", "rules"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = eval.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = eval.wait_with_output().unwrap();
    writer.join().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count();
    assert_eq!(lines, eval_lines, "one output line per input line");
    println!(
        "RESULT rules_eval lines={} seconds={:.2} lines_per_second={:.0}",
        lines,
        secs,
        lines as f64 / secs
    );
}
