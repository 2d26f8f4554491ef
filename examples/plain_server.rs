//! The baseline for bench/ingest.sh: an axum server that answers 200 to every POST with no
//! work at all, so the benchmark shows what signature checks and durable storage cost.

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18181".into());
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(|_body: axum::body::Bytes| async { "EVENT_RECEIVED" }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
