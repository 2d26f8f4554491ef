//! SQLite on a filesystem that fills up (issue 28): the real binary keeps its two SQLite files
//! on a small tmpfs of the test's own; signed deliveries keep coming while a ballast file takes
//! every free byte, and then the ballast is removed. Measured from outside:
//!
//! - while the disk is full, every delivery is answered within 5 s: a clean 503 (Meta retries
//!   it), or 200 for one whose commit still found room; /readyz says not ready;
//! - once space is freed, /readyz alone (no delivery arriving, as behind a load balancer that
//!   listens to it) sees the database take writes again within 5 s, and deliveries are
//!   acknowledged and acted on again within 10 s, by the same process;
//! - every delivery answered 200 is stored and acted on, no reply twice, and both files pass
//!   SQLite's `integrity_check` afterwards.
//!
//! Mounting a tmpfs needs root (as the PostgreSQL outage tests need root to run a cluster).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::crash::{free_port, tail, wait_healthy, Service};
use crate::faults::write_rules;
use crate::helpers::say_not_run;
use crate::outage::{deliver, each_acted_on_once, is_root, resumed_after, Sent};
use crate::support::fake_graph::FakeGraph;

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk {
            path: at.to_path_buf(),
        })
    }

    /// Writes a ballast file until the filesystem refuses another byte; returns its size.
    fn fill(&self) -> u64 {
        let mut f = std::fs::File::create(self.path.join("ballast")).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match f.write(&chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
        // The last partial blocks, byte by byte in small pieces.
        while let Ok(n) = f.write(&chunk[..512]) {
            if n == 0 {
                break;
            }
            written += n as u64;
        }
        let _ = f.sync_all();
        written
    }

    fn free(&self) {
        std::fs::remove_file(self.path.join("ballast")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a process holds a file): detach it so the test run goes on, and say so.
            eprintln!(
                "the test's tmpfs at {} was busy: detached",
                self.path.display()
            );
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// The service process, killed when the test ends however it ends (before the disk is
/// unmounted: it holds files there).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_on_a_full_disk_refuses_cleanly_loses_nothing_and_resumes_when_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let disk = if is_root() {
        SmallDisk::mount(&dir.path().join("disk"), "24m")
    } else {
        None
    };
    let Some(disk) = disk else {
        say_not_run(
            "the SQLite full-disk test",
            "it mounts a small tmpfs, which needs root (and a kernel that allows it)",
        );
        return;
    };
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let log = dir.path().join("service.log");
    let fake = FakeGraph::start().await;
    fake.set_app_secret(crate::helpers::APP_SECRET);
    let graph_url = fake.url();
    let db_file = disk.path.join("cg.db");
    let db_url = format!("sqlite:{}", db_file.display());
    let service = Service {
        port: free_port(),
        db_url: &db_url,
        rules: &rules,
        graph_url: &graph_url,
        log: &log,
        env: vec![],
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(25))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", service.port);
    let mut child = Running(service.spawn());
    let pid = child.0.id();
    wait_healthy(&client, &base, &log).await;

    // Two senders, each a delivery every 40 ms, for the whole run.
    let sent: Arc<Mutex<BTreeMap<String, Sent>>> = Default::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let next = Arc::new(Mutex::new(0u64));
    let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (client, base, sent, stop, next, paused) = (
            client.clone(),
            base.clone(),
            sent.clone(),
            stop.clone(),
            next.clone(),
            paused.clone(),
        );
        senders.spawn(async move {
            while !stop.is_cancelled() {
                if paused.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let n = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    *g
                };
                let id = format!("1796{n:011}");
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
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        });
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let ballast = tokio::task::block_in_place(|| disk.fill());
    let full_at = Instant::now();
    // Until the service refuses (SQLite reuses its WAL file after a checkpoint, so writes go on
    // succeeding, durably, until the WAL must grow: seen from at once to 5 s after the fill),
    // then a few seconds more of deliveries answered while full.
    let refused = || {
        sent.lock()
            .unwrap()
            .values()
            .any(|s| s.at > full_at && s.status == Some(503))
    };
    while !refused() {
        assert!(
            full_at.elapsed() < Duration::from_secs(60),
            "no delivery refused in 60 s of a full disk; log:\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    let ready_status = ready.status().as_u16();
    let ready_said = ready.text().await.unwrap();
    // As a load balancer that stopped sending on /readyz's word: no delivery comes while the
    // space returns, and /readyz alone must see that the database takes writes again.
    paused.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| disk.free());
    let freed_at = Instant::now();
    loop {
        let r = client.get(format!("{base}/readyz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            freed_at.elapsed() < Duration::from_secs(5),
            "/readyz did not see the space return: {}",
            r.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_again = freed_at.elapsed();
    paused.store(false, std::sync::atomic::Ordering::Relaxed);

    // Within 10 s of the space's return, a delivery is acknowledged and acted on.
    let resumed = resumed_after(&sent, freed_at, &fake, &log, "freeing the disk").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    while senders.join_next().await.is_some() {}
    let sent = sent.lock().unwrap().clone();

    let slow: Vec<_> = sent
        .iter()
        .filter(|(_, s)| s.took > Duration::from_secs(5) || s.status.is_none())
        .collect();
    assert!(slow.is_empty(), "answered late or not at all: {slow:?}");
    // Once the service saw the disk full, the answers were 503s.
    let first_refusal = sent
        .values()
        .filter(|s| s.at > full_at && s.status == Some(503))
        .map(|s| s.at)
        .min()
        .unwrap_or_else(|| {
            panic!(
                "no delivery was refused while the disk was full; log:\n{}",
                tail(&log)
            )
        });
    let during: Vec<&Sent> = sent
        .values()
        .filter(|s| s.at > first_refusal && s.at + s.took < freed_at)
        .collect();
    assert!(
        during.len() > 20,
        "only {} deliveries while full",
        during.len()
    );
    let refused = during.iter().filter(|s| s.status == Some(503)).count();
    assert!(
        refused * 10 >= during.len() * 9,
        "while the disk was full: {:?}; log:\n{}",
        during.iter().map(|s| s.status).collect::<Vec<_>>(),
        tail(&log)
    );
    assert_eq!(ready_status, 503, "/readyz while full: {ready_said}");

    // Every acknowledged delivery stored, decided and acted on; no reply twice.
    let acked: BTreeMap<String, String> = sent
        .iter()
        .filter(|(_, s)| s.status == Some(200))
        .map(|(id, s)| (id.clone(), s.user.clone()))
        .collect();
    assert!(acked.len() > 30, "only {} acknowledged", acked.len());
    each_acted_on_once(&db_url, &fake, &acked, Duration::from_secs(30), &[&log]).await;
    assert!(child.0.try_wait().unwrap().is_none(), "the service exited");
    assert_eq!(child.0.id(), pid);
    drop(child);

    // Both files whole after a disk that filled up under them.
    for file in [db_file.clone(), disk.path.join("cg-inbox.db")] {
        let conn = rusqlite::Connection::open(&file).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{}", file.display());
    }
    eprintln!(
        "full-disk test: {} acknowledged, {} of {} answered 503 while full (ballast {} KiB; slowest answer {:?}); /readyz ready again {:?} after space was freed, acted on again {:?} after",
        acked.len(),
        refused,
        during.len(),
        ballast / 1024,
        sent.values().map(|s| s.took).max().unwrap_or_default(),
        ready_again,
        resumed,
    );
}
