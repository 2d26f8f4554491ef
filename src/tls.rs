//! Built-in TLS for the public listener (rustls with the ring provider): certificate and key
//! from the settings, reloaded when their files change, and optionally Meta's mutual TLS (a
//! client certificate signed by a configured CA is required).
//!
//! Terminating TLS at a proxy works as well (deploy/nginx); this is for running commentguard
//! with no proxy in front.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

/// Where the listener's certificate, key and (for mutual TLS) client CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, every client must present a certificate signed by this CA (Meta's mTLS).
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files and builds a rustls server configuration.
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .with_context(|| format!("reading the TLS certificate {}", self.cert.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing the TLS certificate {}", self.cert.display()))?;
        if certs.is_empty() {
            anyhow::bail!("no certificate in {}", self.cert.display());
        }
        // The message names the file, never its content.
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|_| anyhow::anyhow!("no usable private key in {}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(ca)
                    .with_context(|| format!("reading the client CA {}", ca.display()))?
                {
                    roots
                        .add(c.with_context(|| format!("parsing the client CA {}", ca.display()))?)
                        .with_context(|| format!("adding the client CA {}", ca.display()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .context("building the client certificate verifier")?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .context("the TLS certificate and key do not go together")?;
        // The front door serves HTTP/1.1 (what Meta uses), so that is all a client may choose.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    fn stamp(&self) -> Vec<Option<SystemTime>> {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut v = vec![m(&self.cert), m(&self.key)];
        if let Some(ca) = &self.client_ca {
            v.push(m(ca));
        }
        v
    }
}

/// Loads the configuration now (an error stops start-up) and keeps it fresh: when a file
/// changes (a renewed certificate), it is loaded again; a failed load keeps the old one.
pub fn load_and_watch(files: TlsFiles, cancel: CancellationToken) -> anyhow::Result<RustlsConfig> {
    let config = RustlsConfig::from_config(Arc::new(files.server_config()?));
    let live = config.clone();
    tokio::spawn(async move {
        let mut seen = files.stamp();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
            let now = files.stamp();
            if now == seen {
                continue;
            }
            seen = now;
            match files.server_config() {
                Ok(c) => {
                    live.reload_from_config(Arc::new(c));
                    metrics::counter!("commentguard_tls_reloads_total", "result" => "ok")
                        .increment(1);
                    tracing::info!(tls.cert = %files.cert.display(), "TlsReloaded");
                }
                Err(e) => {
                    metrics::counter!("commentguard_tls_reloads_total", "result" => "failed")
                        .increment(1);
                    tracing::error!(error = %format!("{e:#}"), "TlsReloadFailed: keeping the running certificate");
                }
            }
        }
    });
    Ok(config)
}
