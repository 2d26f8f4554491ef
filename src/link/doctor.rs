//! `commentguard doctor`: from the machine it runs on, is everything between Meta and the
//! service right? One [`Check`] per thing, each failing one with its fix:
//!
//! - the public callback URL answers Meta's handshake over HTTPS with a certificate Meta
//!   accepts, and refuses a body whose signature is wrong;
//! - the app secret is the app's (Meta accepts the app token made with it);
//! - the database opens and the rules load;
//! - each account's token is valid, lasts, has its scopes; the app is subscribed and
//!   installed on the account's Page.

use std::path::Path;
use std::time::Duration;

use crate::config::Settings;
use crate::graph::{AccountCtx, GraphClient};

/// One check's outcome: `ok: None` when it was not made (said why in `detail`).
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub ok: Option<bool>,
    pub detail: String,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: Some(true),
            detail: detail.into(),
        }
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: Some(false),
            detail: detail.into(),
        }
    }
    fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: None,
            detail: detail.into(),
        }
    }

    pub fn mark(&self) -> &'static str {
        match self.ok {
            Some(true) => "ok",
            Some(false) => "FAIL",
            None => "skip",
        }
    }
}

/// Every check, in order.
pub async fn run(settings: &Settings, url: Option<&str>, ca: Option<&Path>) -> Vec<Check> {
    let mut out = Vec::new();
    match url {
        Some(url) => out.extend(callback(settings, url, ca).await),
        None => out.push(Check::skip(
            "callback URL",
            "not checked: pass --url https://your-host/webhook (the URL in the App Dashboard)",
        )),
    }
    out.push(
        match crate::store::db::SqlStore::connect(settings.database_url.expose()).await {
            Ok(_) => Check::pass("database", "opens"),
            Err(e) => Check::fail(
                "database",
                format!("does not open: {e} (COMMENTGUARD_DATABASE_URL)"),
            ),
        },
    );
    out.push(match crate::pipeline::registry::load_rules(settings) {
        Ok(_) => Check::pass("rules", format!("{} load", settings.rules_dir.display())),
        Err(e) => Check::fail(
            "rules",
            format!("{e:#} (`commentguard rules check` shows where)"),
        ),
    });
    out.extend(accounts(settings).await);
    out
}

fn http(ca: Option<&Path>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(path) = ca {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| e.to_string())
}

/// A request's failure in words. Without the request's URL: the handshake's carries the
/// verify token.
fn transport(url: &str, e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why.push_str(": ");
        why.push_str(&s.to_string());
        source = s.source();
    }
    let lower = why.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        format!("{url}: the certificate is not one Meta accepts ({why}); use a certificate from a public CA for this host name")
    } else if e.is_connect() || e.is_timeout() {
        format!("nothing answers at {url} ({why}): is serve running, and is the port open to the internet (firewall, proxy)?")
    } else {
        format!("{url}: {why}")
    }
}

async fn callback(settings: &Settings, url: &str, ca: Option<&Path>) -> Vec<Check> {
    const NAME: &str = "callback URL";
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return vec![Check::fail(NAME, format!("{url:?} is not a URL: {e}"))],
    };
    if parsed.scheme() != "https" {
        return vec![Check::fail(NAME, format!(
            "{url}: Meta calls only HTTPS callback URLs; put TLS in front (deploy/nginx) or set COMMENTGUARD_TLS_CERT and COMMENTGUARD_TLS_KEY"
        ))];
    }
    let client = match http(ca) {
        Ok(c) => c,
        Err(e) => return vec![Check::fail(NAME, e)],
    };
    let Some(verify) = &settings.verify_token else {
        return vec![Check::fail(
            NAME,
            "COMMENTGUARD_VERIFY_TOKEN is not set: the handshake cannot succeed",
        )];
    };
    let challenge = format!("{}", rand::random::<u32>());
    let handshake = client
        .get(url)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.challenge", challenge.as_str()),
            ("hub.verify_token", verify.expose()),
        ])
        .send()
        .await;
    let mut out = vec![match handshake {
        Err(e) => return vec![Check::fail(NAME, transport(url, e))],
        Ok(r) if r.status() == 200 => match r.text().await {
            Ok(body) if body.trim() == challenge => {
                Check::pass(NAME, format!("{url} answers Meta's handshake over HTTPS"))
            }
            Ok(body) => Check::fail(NAME, format!(
                "{url} answered 200 without the challenge ({:?}): is it commentguard's /webhook?",
                body.chars().take(80).collect::<String>()
            )),
            Err(e) => Check::fail(NAME, transport(url, e)),
        },
        Ok(r) if r.status() == 403 => Check::fail(NAME, format!(
            "{url} refused the handshake (403): the verify token in the App Dashboard must equal COMMENTGUARD_VERIFY_TOKEN here and there"
        )),
        Ok(r) => Check::fail(NAME, format!(
            "{url} answered {} to the handshake: is the path commentguard's /webhook?",
            r.status()
        )),
    }];
    let forged = client
        .post(url)
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .header("content-type", "application/json")
        .body(r#"{"object":"instagram","entry":[]}"#)
        .send()
        .await;
    out.push(match forged {
        Ok(r) if r.status() == 401 || r.status() == 403 => {
            Check::pass("signatures", format!("{url} refuses a body with a wrong signature ({})", r.status()))
        }
        Ok(r) => Check::fail("signatures", format!(
            "{url} answered {} to a body with a wrong signature: something in front of commentguard answers for it",
            r.status()
        )),
        Err(e) => Check::fail("signatures", transport(url, e)),
    });
    out
}

async fn accounts(settings: &Settings) -> Vec<Check> {
    let graph: GraphClient = crate::link::graph_client(settings);
    let accounts = crate::sweep::accounts_with_tokens(settings);
    if accounts.is_empty() {
        return vec![Check::fail(
            "accounts",
            "no account has an access token: serve runs dry (run `commentguard connect`)",
        )];
    }
    let mut out = Vec::new();
    let app = super::health::check_app_with_any(&graph, settings, &accounts).await;
    if let Some(app) = &app {
        out.push(match (&app.error, app.missing.is_empty()) {
        (Some(e), _) => Check::fail("app", format!(
            "the app's webhook subscription could not be read: {e} (a wrong COMMENTGUARD_APP_SECRET shows here)"
        )),
        (None, true) => Check::pass("app", format!(
            "app {} subscribes to Instagram's comments, live_comments, mentions, story_insights; the app secret is the app's (callback {})",
            app.app_id.as_deref().unwrap_or("?"),
            app.callback_url.as_deref().unwrap_or("not set")
        )),
        (None, false) => Check::fail("app", format!(
            "the app does not subscribe to Instagram's {}: App Dashboard > Webhooks > Instagram",
            app.missing.join(", ")
        )),
    });
    }
    for (account_id, token) in accounts {
        let ctx = AccountCtx {
            account_id: account_id.clone(),
            token,
        };
        let name = format!("account {account_id}");
        let t = super::tokens::inspect(&graph, settings, &ctx).await;
        out.push(
            match (t.problem(crate::store::now_ms() / 1000), &t.error, t.valid) {
                (Some(p), _, _) => Check::fail(&name, format!("token: {p}")),
                (None, Some(e), _) => Check::fail(&name, format!("token not inspected: {e}")),
                (None, None, _) => Check::pass(
                    &name,
                    match t.lapses_at {
                        None => "token valid, does not lapse, has every scope".to_string(),
                        Some(at) => format!(
                            "token valid for {} more days, has every scope",
                            (at - crate::store::now_ms() / 1000) / 86400
                        ),
                    },
                ),
            },
        );
        let s = super::health::check_account(&graph, settings, &ctx, app.as_ref()).await;
        out.push(match (&s.error, s.app_installed, s.missing.is_empty()) {
            (Some(e), _, _) => Check::fail(&name, format!("subscription not checked: {e}")),
            (None, Some(false), _) => Check::fail(
                &name,
                format!(
                    "{}: Meta sends no webhook for it (run `commentguard connect`)",
                    match &s.page_id {
                        Some(p) => format!("the app is not installed on Page {p}"),
                        None => "the account is subscribed to no webhook field".to_string(),
                    }
                ),
            ),
            (None, _, true) => Check::pass(
                &name,
                match &s.page_id {
                    Some(p) => format!("the app is installed on Page {p}: webhooks arrive"),
                    None => format!(
                        "subscribed to {} (Instagram Login): webhooks arrive",
                        s.subscribed.join(", ")
                    ),
                },
            ),
            (None, _, false) => Check::fail(
                &name,
                format!("Meta does not deliver {}", s.missing.join(", ")),
            ),
        });
    }
    out
}
