//! The three sources of the settings laid over each other (defaults, file, environment), each
//! value read by its key's kind, and the runtime `Settings` built from them. Mistakes are
//! collected, so a settings file with three of them is fixed in one go.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::keys::{self, Key, Value, KEYS};
use super::{default_instance_id, limits, AccountFile, AccountSettings, ConfigError, LogFormat};
use super::{Login, Settings};
use crate::secret::Secret;

/// Where a setting's text came from, for the error that names it.
enum Origin {
    Default,
    File { path: String },
    Environment,
}

/// Each key's text, from the last source that set it.
pub(super) struct Layers(BTreeMap<&'static str, (&'static Key, String, Origin)>);

impl Layers {
    pub fn defaults() -> Layers {
        let mut layers = Layers(BTreeMap::new());
        for key in KEYS {
            if let Some(default) = key.default {
                layers.set(key, default.to_string(), Origin::Default);
            }
        }
        layers
    }

    /// A source sets a key; blank text is the same as unset, so the layer below stands.
    fn set(&mut self, key: &'static Key, text: String, origin: Origin) {
        if !text.trim().is_empty() {
            self.0.insert(key.name, (key, text, origin));
        }
    }

    /// Lays a settings file over the defaults and returns its accounts. A file that is not
    /// TOML stops here; an unknown key or a value of the wrong shape is collected.
    pub fn file(
        &mut self,
        text: &str,
        path: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Result<BTreeMap<String, AccountFile>, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_string(),
            message,
        };
        let table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(e.to_string().trim().to_string()))?;
        let mut accounts = BTreeMap::new();
        for (name, value) in table {
            if name == "accounts" {
                let toml::Value::Table(table) = value else {
                    errors.push(parse_error(
                        "`accounts` must be tables: [accounts.ID]".into(),
                    ));
                    continue;
                };
                for (id, account) in table {
                    match account.try_into() {
                        Ok(a) => {
                            accounts.insert(id, a);
                        }
                        Err(e) => errors.push(parse_error(format!(
                            "[accounts.{id}]: {}",
                            e.to_string().trim()
                        ))),
                    }
                }
                continue;
            }
            let Some(key) = keys::by_name(&name) else {
                errors.push(parse_error(unknown_key(&name)));
                continue;
            };
            match as_text(value) {
                Some(text) => {
                    let origin = Origin::File {
                        path: path.to_string(),
                    };
                    self.set(key, text, origin);
                }
                None => errors.push(parse_error(format!(
                    "`{name}` must be a string, a number, true/false or a list"
                ))),
            }
        }
        Ok(accounts)
    }

    /// Lays the environment over the file: every key's variable is asked for (so that the
    /// warning about unknown `COMMENTGUARD_` variables knows them all); a blank one is unset.
    pub fn environment(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        for key in KEYS {
            if let Some(text) = env(key.env) {
                self.set(key, text, Origin::Environment);
            }
        }
    }

    /// Reads every key's text by its kind.
    pub fn parse(self, errors: &mut Vec<ConfigError>) -> Values {
        let mut values = BTreeMap::new();
        for (name, (key, text, origin)) in self.0 {
            match key.kind.parse(&text) {
                Ok(v) => {
                    values.insert(name, v);
                }
                Err(message) => errors.push(invalid(key, &origin, message)),
            }
        }
        Values(values)
    }
}

fn invalid(key: &Key, origin: &Origin, message: String) -> ConfigError {
    let message = match origin {
        Origin::Environment => message,
        Origin::File { path } => format!("{message} (`{}` in {path})", key.name),
        Origin::Default => format!("{message} (the built-in default)"),
    };
    ConfigError::Invalid {
        name: key.env,
        message,
    }
}

/// "unknown key `lisen`; did you mean `listen`?"
fn unknown_key(name: &str) -> String {
    let known = KEYS.iter().map(|k| k.name).chain(["accounts"]);
    match keys::closest(name, known) {
        Some(k) => format!("unknown key `{name}`; did you mean `{k}`?"),
        None => format!("unknown key `{name}` (docs/INTERFACE.md lists the settings)"),
    }
}

/// A file's value as the text an environment variable would hold (lists comma-joined).
fn as_text(value: toml::Value) -> Option<String> {
    Some(match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .into_iter()
            .map(as_text)
            .collect::<Option<Vec<_>>>()?
            .join(","),
        toml::Value::Datetime(_) | toml::Value::Table(_) => return None,
    })
}

/// Every key's value, read; the keys without a value and without a default are absent.
pub(super) struct Values(BTreeMap<&'static str, Value>);

/// The readers below take a key by name; a key read as a kind other than the table declares
/// is a mistake in this file, found by the settings' tests (every key is read on every load).
impl Values {
    fn text(&self, k: &str) -> Option<String> {
        match self.0.get(k) {
            Some(Value::Text(t)) => Some(t.clone()),
            None => None,
            Some(_) => wrong_kind(k),
        }
    }

    fn secret(&self, k: &str) -> Option<Secret> {
        match self.0.get(k) {
            Some(Value::Secret(s)) => Some(s.clone()),
            None => None,
            Some(_) => wrong_kind(k),
        }
    }

    fn path(&self, k: &str) -> Option<PathBuf> {
        match self.0.get(k) {
            Some(Value::Path(p)) => Some(p.clone()),
            None => None,
            Some(_) => wrong_kind(k),
        }
    }

    fn list(&self, k: &str) -> Vec<String> {
        match self.0.get(k) {
            Some(Value::List(l)) => l.clone(),
            None => Vec::new(),
            Some(_) => wrong_kind(k),
        }
    }

    fn address(&self, k: &str) -> SocketAddr {
        match self.0.get(k) {
            Some(Value::Address(a)) => *a,
            _ => wrong_kind(k),
        }
    }

    fn duration(&self, k: &str) -> Duration {
        match self.0.get(k) {
            Some(Value::Duration(d)) => *d,
            _ => wrong_kind(k),
        }
    }

    fn number(&self, k: &str) -> u64 {
        match self.0.get(k) {
            Some(Value::Number(n)) => *n,
            _ => wrong_kind(k),
        }
    }

    fn count(&self, k: &str) -> usize {
        usize::try_from(self.number(k)).unwrap_or(usize::MAX)
    }

    fn required_text(&self, k: &str) -> String {
        self.text(k).unwrap_or_else(|| wrong_kind(k))
    }

    /// The runtime settings. Called only when every value was read without a mistake.
    pub fn settings(
        self,
        accounts: BTreeMap<String, AccountSettings>,
        tls: Option<crate::tls::TlsFiles>,
    ) -> Settings {
        let v = &self;
        Settings {
            listen: v.address("listen"),
            admin_listen: v.address("admin_listen"),
            app_id: v.text("app_id"),
            app_secrets: match v.0.get("app_secret") {
                Some(Value::Secrets(s)) => s.clone(),
                None => Vec::new(),
                Some(_) => wrong_kind("app_secret"),
            },
            verify_token: v.secret("verify_token"),
            access_token: v.secret("access_token"),
            database_url: v
                .secret("database_url")
                .unwrap_or_else(|| wrong_kind("database_url")),
            rules_dir: v.path("rules").unwrap_or_else(|| wrong_kind("rules")),
            graph_url: v.required_text("graph_url"),
            instagram_graph_url: v.required_text("instagram_graph_url"),
            instagram_app_secret: v.secret("instagram_app_secret"),
            graph_version: v.required_text("graph_version"),
            dry_run: matches!(v.0.get("dry_run"), Some(Value::Bool(true))),
            admin_token: v.secret("admin_token"),
            account_ids: v.list("account_ids"),
            story_poll: v.duration("story_poll"),
            log_format: match v.required_text("log_format").as_str() {
                "json" => LogFormat::Json,
                _ => LogFormat::Text,
            },
            body_limit: v.count("body_limit"),
            retention: v.duration("retention"),
            workers: v.count("workers"),
            graph_timeout: v.duration("graph_timeout"),
            retry_base: v.duration("retry_base"),
            auto_shadow_share: match v.0.get("auto_shadow_share") {
                Some(Value::Share(s)) => *s,
                _ => wrong_kind("auto_shadow_share"),
            },
            auto_shadow_min_comments: v.number("auto_shadow_min_comments"),
            rule_stats_interval: v.duration("rule_stats_interval"),
            accounts,
            renewed_tokens: Default::default(),
            tls,
            front_door: limits::Limits {
                header_timeout: v.duration("header_timeout"),
                max_connections: v.count("max_connections"),
                max_per_client: v.count("max_connections_per_client"),
                trusted_proxies: match v.0.get("trusted_proxies") {
                    Some(Value::Addresses(a)) => a.clone(),
                    None => Vec::new(),
                    Some(_) => wrong_kind("trusted_proxies"),
                },
            },
            instance_id: v.text("instance_id").unwrap_or_else(default_instance_id),
            claim_timeout: v.duration("claim_timeout"),
            sweep_interval: v.duration("sweep_interval"),
            sweep_window: v.duration("sweep_window"),
            label_retention: v.duration("label_retention"),
            rules_next: v.path("rules_next"),
            timezone: match v.0.get("timezone") {
                Some(Value::Zone(z)) => z.clone(),
                _ => wrong_kind("timezone"),
            },
        }
    }
}

fn wrong_kind(k: &str) -> ! {
    panic!("setting {k}: read as a kind other than keys::KEYS declares, or without its default")
}

/// Built-in TLS needs the certificate and the key together; the client CA only with them.
pub(super) fn tls_files(
    values: &Values,
    errors: &mut Vec<ConfigError>,
) -> Option<crate::tls::TlsFiles> {
    match (
        values.path("tls_cert"),
        values.path("tls_key"),
        values.path("tls_client_ca"),
    ) {
        (None, None, None) => None,
        (Some(cert), Some(key), client_ca) => Some(crate::tls::TlsFiles {
            cert,
            key,
            client_ca,
        }),
        _ => {
            errors.push(ConfigError::Invalid {
                name: "COMMENTGUARD_TLS_CERT",
                message: "built-in TLS needs both COMMENTGUARD_TLS_CERT and COMMENTGUARD_TLS_KEY (and COMMENTGUARD_TLS_CLIENT_CA only with them)".into(),
            });
            None
        }
    }
}

/// The file's `[accounts.ID]` tables, checked.
pub(super) fn accounts_settings(
    accounts: BTreeMap<String, AccountFile>,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, AccountSettings> {
    let mut out = BTreeMap::new();
    for (id, a) in accounts {
        let login = match a.login.as_deref().map(str::trim) {
            None | Some("") | Some("facebook") => Login::Facebook,
            Some("instagram") => Login::Instagram,
            Some(other) => {
                errors.push(ConfigError::Invalid {
                    name: "accounts.*.login",
                    message: format!(
                        "account {id}: {other:?}: expected \"facebook\" or \"instagram\""
                    ),
                });
                continue;
            }
        };
        let settings = AccountSettings {
            access_token: a.access_token.filter(|t| !t.is_empty()),
            rules_dir: a.rules,
            username: a
                .username
                .map(|u| u.trim().trim_start_matches('@').to_string())
                .filter(|u| !u.is_empty()),
            page_id: a.page_id.filter(|p| !p.trim().is_empty()),
            login,
        };
        out.insert(id, settings);
    }
    out
}
