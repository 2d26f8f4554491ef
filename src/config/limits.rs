//! The limits of a listener (the front door's), read from the settings. Kept here, with the
//! settings, so that the settings depend on nothing that serves.

use std::net::IpAddr;
use std::time::Duration;

/// The limits of one listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time for a request's headers (and a TLS handshake) to arrive, and for an idle
    /// keep-alive connection to start its next request.
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
    /// Addresses (a reverse proxy, a load balancer) that carry many clients: not capped per
    /// client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            max_connections: 4096,
            max_per_client: 256,
            trusted_proxies: Vec::new(),
        }
    }
}
