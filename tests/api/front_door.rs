//! The front door against slow and greedy clients, on the real binary: 2,000 connections from
//! one address send half a request header and stop. Meanwhile signed deliveries from another
//! address are answered 200 and stored, and every slow connection is closed within the header
//! timeout (before, they stayed open for good and took the process to its open-file limit).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use commentguard::ingress::signature::sign;
use commentguard::secret::Secret;
use commentguard::store::SqlStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::crash::{free_port, tail, wait_healthy, Service};
use crate::helpers::{comment_body, inbox_keys_of, APP_SECRET};

const SLOW_CLIENTS: usize = 2_000;
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

async fn connect_from(local: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(server).await
}

/// `true` when the server closed the connection (end of stream or a reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or an error page before the close: keep reading until the close.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_are_closed_and_meta_is_still_answered() {
    let limit = commentguard::front_door::raise_open_file_limit().unwrap_or(0);
    assert!(
        limit as usize > SLOW_CLIENTS + 500,
        "this test opens {SLOW_CLIENTS} sockets: the open-file limit ({limit}) is too low"
    );
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite:{}", dir.path().join("cg.db").display());
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let log = dir.path().join("service.log");
    let port = free_port();
    let service = Service {
        port,
        db_url: &db_url,
        rules: &rules,
        graph_url: "http://127.0.0.1:9",
        log: &log,
        env: vec![(
            "COMMENTGUARD_HEADER_TIMEOUT",
            format!("{}s", HEADER_TIMEOUT.as_secs()),
        )],
    };
    let mut child = service.spawn();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&reqwest::Client::new(), &base, &log).await;
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    // The slow clients, all from 127.0.0.1.
    let started = Instant::now();
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut s = connect_from("127.0.0.1".parse().unwrap(), server)
            .await
            .expect("the kernel accepts the connection");
        // Refused connections may already be closed: a failed write is a close too.
        let _ = s
            .write_all(b"POST /webhook HTTP/1.1\r\nHost: commentguard\r\nContent-Ty")
            .await;
        slow.push(s);
    }

    // Meta, from another address, while they hang.
    let meta = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut sent = Vec::new();
    for n in 0..20 {
        let id = format!("1790000000{n:04}");
        let body = comment_body("17841400000000001", &id, "lovely colours", "fan");
        let resp = meta
            .post(format!("{base}/webhook"))
            .header("x-hub-signature-256", sign(&body, &Secret::new(APP_SECRET)))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delivery {n} failed: {e}\n{}", tail(&log)));
        assert_eq!(resp.status(), 200, "delivery {n}");
        sent.push(format!("comments:{id}"));
    }

    // Every slow connection is closed within the header timeout (plus the time it took to
    // open them all and some slack for a loaded machine).
    let within = HEADER_TIMEOUT + Duration::from_secs(3);
    let mut still_open = 0;
    for s in &mut slow {
        let left =
            (started + within + Duration::from_secs(5)).saturating_duration_since(Instant::now());
        if !closed_within(s, left.max(Duration::from_millis(100))).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "slow connections left open");

    // An idle keep-alive connection is closed too.
    let mut idle = connect_from("127.0.0.3".parse().unwrap(), server)
        .await
        .unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: commentguard\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut idle, HEADER_TIMEOUT + Duration::from_secs(3)).await,
        "an idle keep-alive connection stays open"
    );

    child.kill().unwrap();
    let _ = child.wait();
    let store = SqlStore::connect(&db_url).await.unwrap();
    let stored = inbox_keys_of(&store).await;
    for key in &sent {
        assert!(
            stored.contains(key),
            "{key} was answered 200 but not stored"
        );
    }
}
