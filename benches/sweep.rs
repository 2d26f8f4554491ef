//! A sweep's rate: 1,000 comments on 2 media (50 a page, 1 in 10 with 3 replies expanded
//! inline) read from a small fake Graph API on 127.0.0.1 that answers at once or after 50 ms
//! a call, each found comment checked against the moderation log and queued in a fresh SQLite
//! inbox. Criterion reports comments a second as `thrpt`; the Graph calls per 1,000 comments
//! are printed. Figures are kept in the README ("Performance").
//!
//! `cargo bench --bench sweep`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use commentguard::graph::{GraphClient, GraphConfig};
use commentguard::secret::Secret;
use commentguard::store::SqlStore;
use commentguard::sweep::{SweepRequest, Sweeper};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const ACCOUNT: &str = "17841400000000001";
const MEDIA: usize = 2;
const PER_MEDIA: usize = 500;
const PAGE: usize = 50;

#[derive(Clone)]
struct Fake {
    delay: Duration,
    calls: Arc<AtomicU64>,
}

fn ts(secs: i64) -> String {
    commentguard::graph::timestamp::format_graph_timestamp(secs)
}

async fn media(State(f): State<Fake>) -> Json<Value> {
    f.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(f.delay).await;
    let now = commentguard::store::now_ms() / 1000;
    let data: Vec<Value> = (0..MEDIA)
        .map(|m| json!({"id": format!("m{m}"), "timestamp": ts(now - 600 * (m as i64 + 1)), "media_product_type": "FEED"}))
        .collect();
    Json(json!({ "data": data }))
}

async fn live(State(f): State<Fake>) -> Json<Value> {
    f.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(f.delay).await;
    Json(json!({ "data": [] }))
}

async fn comments(
    State(f): State<Fake>,
    Path(media): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    f.calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(f.delay).await;
    let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let now = commentguard::store::now_ms() / 1000;
    // 500 comments a media: 455 top-level, 15 of them with 3 replies each.
    let top = PER_MEDIA - PER_MEDIA / 10 / 3 * 3;
    let end = (start + PAGE).min(top);
    let data: Vec<Value> = (start..end)
        .map(|n| {
            let id = format!("{media}c{n}");
            let mut c = json!({"id": id, "text": "so inspiring, DM @trader_jane to start earning",
                "timestamp": ts(now - n as i64), "username": format!("u{n}"),
                "from": {"id": format!("9{n}"), "username": format!("u{n}")}});
            if n % 10 == 0 && n / 10 < PER_MEDIA / 10 / 3 {
                let replies: Vec<Value> = (0..3)
                    .map(|r| json!({"id": format!("{id}r{r}"), "text": "thank you", "timestamp": ts(now),
                        "username": "fan", "from": {"id": "77", "username": "fan"}, "parent_id": id}))
                    .collect();
                c["replies"] = json!({"data": replies});
            }
            c
        })
        .collect();
    let mut page = json!({ "data": data });
    if end < top {
        page["paging"] =
            json!({"cursors": {"after": end.to_string()}, "next": "https://fake.invalid/next"});
    }
    Json(page)
}

async fn fake_graph(delay: Duration) -> (String, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/v23.0/{id}/media", get(media))
        .route("/v23.0/{id}/live_media", get(live))
        .route("/v23.0/{id}/comments", get(comments))
        .with_state(Fake {
            delay,
            calls: calls.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total = (MEDIA * PER_MEDIA) as u64;
    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(total));
    for delay_ms in [0u64, 50] {
        let (url, calls) = rt.block_on(fake_graph(Duration::from_millis(delay_ms)));
        let graph = Arc::new(GraphClient::new(GraphConfig {
            base_url: url,
            version: "v23.0".into(),
            app_secret: None,
            timeout: Duration::from_secs(20),
            instagram: None,
        }));
        let mut per_sweep_calls = 0;
        group.bench_function(format!("1000_comments/graph_{delay_ms}ms"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite:{}", dir.path().join("cg.db").display());
                    let store = rt.block_on(SqlStore::connect(&url)).unwrap();
                    let sweeper = Sweeper {
                        store: Arc::new(store),
                        graph: graph.clone(),
                    };
                    let req = SweepRequest {
                        account_id: ACCOUNT.into(),
                        token: Secret::new("bench-token".to_string()),
                        window: Duration::from_secs(86_400),
                        media: None,
                        dry_run: false,
                        resume: false,
                        scope: None,
                    };
                    let before = calls.load(Ordering::Relaxed);
                    let started = Instant::now();
                    let report = rt
                        .block_on(sweeper.run(&req, &CancellationToken::new(), &|_| {}))
                        .unwrap();
                    spent += started.elapsed();
                    assert_eq!(report.queued, total, "{report:?}");
                    per_sweep_calls = calls.load(Ordering::Relaxed) - before;
                }
                spent
            })
        });
        eprintln!(
            "sweep at {delay_ms} ms a call: {per_sweep_calls} Graph calls for {total} comments"
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
