//! Built-in TLS on the public listener, and Meta's mutual TLS as an option.

use std::path::Path;

use crate::helpers::*;

pub(crate) struct Pki {
    pub ca_pem: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_identity: String,
}

/// A CA, a server certificate for `localhost` and a client certificate, all signed by the CA.
pub(crate) fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["meta-webhooks-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_identity: format!("{}{}", client.pem(), client_key.serialize_pem()),
    }
}

pub(crate) fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

fn https_url(app: &TestApp, path: &str) -> String {
    let port = app.address.rsplit(':').next().unwrap();
    format!("https://localhost:{port}{path}")
}

#[tokio::test]
async fn the_public_listener_serves_https_with_the_configured_certificate() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with(AppOptions {
        env: vec![
            (
                "COMMENTGUARD_TLS_CERT".into(),
                write(dir.path(), "cert.pem", &pki.server_cert),
            ),
            (
                "COMMENTGUARD_TLS_KEY".into(),
                write(dir.path(), "key.pem", &pki.server_key),
            ),
        ],
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = client
        .get(https_url(&app, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body = comment_body("1784", "c-tls", "hello over TLS", "ana");
    let sig = commentguard::ingress::signature::sign(
        &body,
        &commentguard::secret::Secret::new(APP_SECRET),
    );
    let resp = client
        .post(https_url(&app, "/webhook"))
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.inbox_keys().await, vec!["comments:c-tls".to_string()]);
    // Plain HTTP on the TLS port gets no answer.
    assert!(app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true));
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_a_certificate_from_it_are_served() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with(AppOptions {
        env: vec![
            (
                "COMMENTGUARD_TLS_CERT".into(),
                write(dir.path(), "cert.pem", &pki.server_cert),
            ),
            (
                "COMMENTGUARD_TLS_KEY".into(),
                write(dir.path(), "key.pem", &pki.server_key),
            ),
            (
                "COMMENTGUARD_TLS_CLIENT_CA".into(),
                write(dir.path(), "ca.pem", &pki.ca_pem),
            ),
        ],
        ..Default::default()
    })
    .await;
    let root = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(https_url(&app, "/healthz"))
            .send()
            .await
            .is_err(),
        "a client without a certificate must be refused"
    );
    let meta = reqwest::Client::builder()
        .add_root_certificate(root)
        .identity(reqwest::Identity::from_pem(pki.client_identity.as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = meta.get(https_url(&app, "/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_key_that_does_not_match_stops_start_up_with_the_file_named() {
    let pki = pki();
    let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let dir = tempfile::tempdir().unwrap();
    let env: std::collections::HashMap<String, String> = [
        ("COMMENTGUARD_APP_SECRET", "s"),
        ("COMMENTGUARD_VERIFY_TOKEN", "v"),
        ("COMMENTGUARD_LISTEN", "127.0.0.1:0"),
        ("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([
        (
            "COMMENTGUARD_TLS_CERT".to_string(),
            write(dir.path(), "cert.pem", &pki.server_cert),
        ),
        (
            "COMMENTGUARD_TLS_KEY".to_string(),
            write(dir.path(), "wrong.pem", &other),
        ),
        (
            "COMMENTGUARD_DATABASE_URL".to_string(),
            format!("sqlite:{}", dir.path().join("db").display()),
        ),
        (
            "COMMENTGUARD_RULES".to_string(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules").to_string(),
        ),
    ])
    .collect();
    let settings = commentguard::config::Settings::load(None, &|k| env.get(k).cloned()).unwrap();
    let err = match commentguard::startup::Application::build(settings).await {
        Ok(_) => panic!("started with a key that does not match the certificate"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("do not go together"), "{err}");
    assert!(
        !err.contains("PRIVATE KEY"),
        "the key itself must never be printed: {err}"
    );
}
