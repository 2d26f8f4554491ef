//! Ingest throughput of the store: `insert_deliveries` with one delivery per transaction
//! (a lone request) and with 32 (the writer's group commit under load), on SQLite (WAL,
//! synchronous=FULL, a file in a temporary folder) and, when COMMENTGUARD_TEST_DATABASE_URL
//! is set, on PostgreSQL (a fresh database, dropped afterwards).
//!
//! `cargo bench --bench store`; criterion reports rows per second as `thrpt`. Figures are kept
//! in bench/STORE.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use commentguard::store::{Delivery, InboxStore, NewEvent, SqlStore};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sqlx::{Connection, Executor};

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// `n` deliveries of one comment each, every one new (a duplicate would not be written).
fn deliveries(n: usize) -> Vec<Delivery> {
    (0..n)
        .map(|_| {
            let id = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
            Delivery::Events(vec![NewEvent {
                dedup_key: format!("comments:{id}"),
                account_id: "17841400000000001".to_string(),
                field: "comments".to_string(),
                entry_time: Some(1_700_000_000),
                payload: format!(
                    r#"{{"id":"17841400000000001","field":"comments","value":{{"id":"{id}","text":"great post, check my profile","from":{{"id":"1789","username":"someone"}},"media":{{"id":"1790","media_product_type":"FEED"}}}}}}"#
                ),
            }])
        })
        .collect()
}

fn bench_engine(c: &mut Criterion, rt: &tokio::runtime::Runtime, engine: &str, store: &SqlStore) {
    let mut group = c.benchmark_group(format!("insert_deliveries/{engine}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for batch in [1usize, 32] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                let work: Vec<Vec<Delivery>> = (0..iters).map(|_| deliveries(batch)).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for d in &work {
                        store.insert_deliveries(d).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn store_ingest(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let sqlite = rt.block_on(SqlStore::connect(&url)).unwrap();
    bench_engine(c, &rt, "sqlite", &sqlite);

    let Some(admin_url) = std::env::var("COMMENTGUARD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("COMMENTGUARD_TEST_DATABASE_URL is not set: PostgreSQL not measured");
        return;
    };
    let name = format!("cg_bench_{:016x}", rand::random::<u64>());
    let mut admin = rt
        .block_on(sqlx::PgConnection::connect(&admin_url))
        .unwrap();
    rt.block_on(admin.execute(format!("CREATE DATABASE {name}").as_str()))
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let postgres = rt.block_on(SqlStore::connect(url.as_str())).unwrap();
    bench_engine(c, &rt, "postgres", &postgres);
    drop(postgres);
    let _ = rt.block_on(admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()));
}

criterion_group!(benches, store_ingest);
criterion_main!(benches);
