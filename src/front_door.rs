//! The front door of both listeners: accepting connections and serving HTTP/1.1 on them,
//! against slow and greedy clients.
//!
//! `axum::serve` sets no timer on hyper, so a client that sends half a request header and
//! stops keeps its connection (and a file descriptor) for good: measured, 1,100 such sockets
//! brought the process to its open-file limit and a signed delivery from Meta then failed.
//! Here every connection is served by hyper's HTTP/1 connection with a timer, so that:
//! - a request whose headers are not complete within `header_timeout` closes the connection,
//!   and the same timeout applies to an idle keep-alive connection waiting for its next
//!   request (hyper starts the header timer whenever the connection waits for a request);
//! - at most `max_connections` are open in all and `max_per_client` from one address (a
//!   trusted proxy's address is exempt: it carries many clients); a connection over a cap is
//!   closed at once, before any byte is read, so it costs no more than the accept;
//! - a TLS handshake has the same time to finish as the headers.
//!
//! Written by hand because neither axum nor axum-server has connection caps, and axum has no
//! header timeout; the HTTP itself is hyper's.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The limits of one listener: a setting, so they live with the settings.
pub use crate::config::limits::Limits;

/// Open connections, in all and per client address.
#[derive(Debug, Default)]
struct Census {
    total: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection: counted until dropped.
struct Ticket {
    census: Arc<Census>,
    client: Option<IpAddr>,
}

impl Census {
    /// Admits a connection from `client` (`None`: not counted per client) unless a cap is
    /// reached.
    fn admit(self: &Arc<Self>, client: Option<IpAddr>, limits: &Limits) -> Option<Ticket> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= limits.max_connections {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        if let Some(ip) = client {
            let mut per = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
            let n = per.entry(ip).or_insert(0);
            if *n >= limits.max_per_client {
                drop(per);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return None;
            }
            *n += 1;
        }
        Some(Ticket {
            census: self.clone(),
            client,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.census.total.fetch_sub(1, Ordering::AcqRel);
        if let Some(ip) = self.client {
            let mut per = self
                .census
                .per_client
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = per.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&ip);
                }
            }
        }
    }
}

/// Serves `app` on `listener` until `cancel`, then lets the open connections finish their
/// requests for up to `grace`. `tls`: a rustls configuration (reloaded certificates are
/// picked up by the next handshake).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    cancel: CancellationToken,
    grace: Duration,
    name: &'static str,
) -> std::io::Result<()> {
    let census = Arc::new(Census::default());
    let tracker = TaskTracker::new();
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors (EMFILE/ENFILE) or a connection reset before it
                    // was accepted: wait a moment rather than spin, the open connections'
                    // timeouts free descriptors.
                    tracing::warn!(listener = name, error = %e, "accept failed; retrying");
                    crate::telemetry::connection_refused(name, "accept_error");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let client = (!limits.trusted_proxies.contains(&peer.ip())).then_some(peer.ip());
        let Some(ticket) = census.admit(client, &limits) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(listener = name, client = %peer.ip(), refused,
                    max_connections = limits.max_connections,
                    max_per_client = limits.max_per_client,
                    "connection over the cap closed");
            }
            crate::telemetry::connection_refused(name, "over_cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let addr = ClientAddr {
            peer: peer.ip(),
            via_trusted_proxy: client.is_none(),
        };
        // Every request of the connection carries who sent it.
        let app = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(addr);
                req
            },
        );
        tracker.spawn(connection(
            stream,
            peer,
            app,
            limits.header_timeout,
            tls.clone(),
            cancel.clone(),
            ticket,
        ));
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            listener = name,
            open = census.total.load(Ordering::Acquire),
            "connections still open after the grace period; closing them"
        );
    }
    Ok(())
}

/// Who is on the other end of a request's connection, as a request extension: its address,
/// and whether that address is one of `trusted_proxies` (then the client is the last address
/// the proxy appended to `X-Forwarded-For`; see [`ClientAddr::client`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub peer: std::net::IpAddr,
    pub via_trusted_proxy: bool,
}

impl ClientAddr {
    /// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For`
    /// entry (the one the proxy added; earlier ones are whatever the client sent), with a port
    /// (`1.2.3.4:5678`, `[2001:db8::1]:443`) taken off. An entry that is no address gives the
    /// proxy's own: never an earlier entry, which the client chose.
    pub fn client(&self, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        if !self.via_trusted_proxy {
            return self.peer;
        }
        let Some(last) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|a| !a.is_empty())
        else {
            return self.peer;
        };
        last.parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
            .unwrap_or(self.peer)
    }
}

/// What serves a connection's requests: the router, with [`ClientAddr`] added to each.
trait ConnectionApp:
    tower::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> ConnectionApp for S where
    S: tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

async fn connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    app: S,
    header_timeout: Duration,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    cancel: CancellationToken,
    _ticket: Ticket,
) where
    S: ConnectionApp,
{
    match tls {
        None => http(TokioIo::new(stream), peer, app, header_timeout, cancel).await,
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config.get_inner());
            match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => http(TokioIo::new(tls), peer, app, header_timeout, cancel).await,
                Ok(Err(e)) => tracing::debug!(client = %peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(client = %peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn http<I, S>(
    io: TokioIo<I>,
    peer: SocketAddr,
    app: S,
    header_timeout: Duration,
    cancel: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: ConnectionApp,
{
    let service = TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = cancel.cancelled() => {
            // Finish the request in flight, take no new one.
            conn.as_mut().graceful_shutdown();
            conn.as_mut().await
        }
    };
    if let Err(e) = result {
        tracing::debug!(client = %peer, error = %e, "connection closed");
    }
}

/// Raises this process's open-file limit to the hard limit the system allows, so that a burst
/// of connections meets the connection caps before it meets EMFILE. Returns the limit in force.
pub fn raise_open_file_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
        Some(lim.rlim_cur as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_census_caps_connections_in_all_and_per_client() {
        let census = Arc::new(Census::default());
        let limits = Limits {
            max_connections: 3,
            max_per_client: 2,
            ..Limits::default()
        };
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = census.admit(Some(a), &limits).unwrap();
        let _a2 = census.admit(Some(a), &limits).unwrap();
        assert!(census.admit(Some(a), &limits).is_none(), "per client");
        let _b1 = census.admit(Some(b), &limits).unwrap();
        assert!(census.admit(Some(b), &limits).is_none(), "in all");
        drop(a1);
        let _a3 = census
            .admit(Some(a), &limits)
            .expect("a closed connection frees its place");
        assert_eq!(census.total.load(Ordering::Acquire), 3);
        // Not counted per client (a trusted proxy), still counted in all.
        assert!(census.admit(None, &limits).is_none());
    }
}

#[cfg(test)]
mod client_addr_tests {
    use super::ClientAddr;

    #[test]
    fn behind_a_trusted_proxy_the_last_forwarded_address_counts() {
        let proxy = ClientAddr {
            peer: "10.0.0.1".parse().unwrap(),
            via_trusted_proxy: true,
        };
        let with = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("x-forwarded-for", v.parse().unwrap());
            proxy.client(&h).to_string()
        };
        assert_eq!(with("6.6.6.6, 203.0.113.7"), "203.0.113.7");
        assert_eq!(with("6.6.6.6, 203.0.113.7:5678"), "203.0.113.7");
        assert_eq!(with("[2001:db8::1]:443"), "2001:db8::1");
        // What the client wrote before the proxy's entry never counts.
        assert_eq!(with("6.6.6.6, not-an-address"), "10.0.0.1");
        assert_eq!(
            proxy.client(&axum::http::HeaderMap::new()).to_string(),
            "10.0.0.1"
        );
        let direct = ClientAddr {
            peer: "198.51.100.2".parse().unwrap(),
            via_trusted_proxy: false,
        };
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        assert_eq!(direct.client(&h).to_string(), "198.51.100.2");
    }
}
