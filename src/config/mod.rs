//! Settings: the defaults, then an optional TOML file, then environment variables, which win.
//!
//! Every setting is declared once, in `keys::KEYS`; `layers` lays the three sources over each
//! other and reads each value by its kind, reporting every mistake at once. `Settings` is the
//! validated runtime form that the rest of the program uses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

pub mod limits;

pub mod keys;
mod layers;

pub use keys::parse_duration;
use layers::{accounts_settings, tls_files, Layers};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The OS error is in the message, not chained as a source: printed once.
    #[error("cannot read settings file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("settings file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("{0} is not set: `serve` needs it")]
    Missing(&'static str),
    #[error("{} settings are wrong:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    pub access_token: Option<Secret>,
    pub rules: Option<PathBuf>,
    pub username: Option<String>,
    /// The Facebook Page the Instagram account is linked to (written by `connect`).
    pub page_id: Option<String>,
    /// `facebook` (default) or `instagram`: which login the account was connected with.
    pub login: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Per-account settings (several Instagram accounts, each with its own token and rules).
#[derive(Debug, Clone, Default)]
pub struct AccountSettings {
    pub access_token: Option<Secret>,
    pub rules_dir: Option<PathBuf>,
    /// The account's own @username (without the @), for rules that look for impersonators;
    /// asked of the Graph API when not set.
    pub username: Option<String>,
    /// The Facebook Page the account is linked to, where the app must be installed for
    /// webhooks to arrive; found with the account's token when not set.
    pub page_id: Option<String>,
    pub login: Login,
}

/// Tokens renewed while running, by account, with when each expires (unix milliseconds).
#[derive(Debug, Default)]
pub struct RenewedTokens(std::sync::RwLock<std::collections::HashMap<String, (Secret, i64)>>);

impl RenewedTokens {
    pub fn get(&self, account_id: &str) -> Option<Secret> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account_id)
            .map(|(t, _)| t.clone())
    }

    /// When the account's renewed token expires (unix milliseconds).
    pub fn expires_at(&self, account_id: &str) -> Option<i64> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account_id)
            .map(|(_, at)| *at)
    }

    pub fn set(&self, account_id: &str, token: Secret, expires_at: i64) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account_id.to_string(), (token, expires_at));
    }
}

/// Which of Meta's two APIs an account was connected with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Login {
    /// Instagram API with Facebook Login: graph.facebook.com, a Page linked to the account.
    #[default]
    Facebook,
    /// Instagram API with Instagram Login: graph.instagram.com, no Page.
    Instagram,
}

/// Validated runtime settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// The Meta app's id (`COMMENTGUARD_APP_ID`): with the app secret it reads the app's
    /// webhook subscription and checks tokens. Asked of the Graph API when not set.
    pub app_id: Option<String>,
    /// Every secret currently accepted for signatures (several during a rotation).
    pub app_secrets: Vec<Secret>,
    pub verify_token: Option<Secret>,
    pub access_token: Option<Secret>,
    /// May carry a password, hence a secret.
    pub database_url: Secret,
    pub rules_dir: PathBuf,
    pub graph_url: String,
    /// Where accounts connected with Instagram Login are served.
    pub instagram_graph_url: String,
    /// The Instagram app's secret (Instagram Login): signs those accounts' webhooks, accepted
    /// beside `app_secrets`; trades and refreshes their tokens.
    pub instagram_app_secret: Option<Secret>,
    pub graph_version: String,
    pub dry_run: bool,
    pub admin_token: Option<Secret>,
    pub account_ids: Vec<String>,
    pub story_poll: Duration,
    pub log_format: LogFormat,
    pub body_limit: usize,
    pub retention: Duration,
    pub workers: usize,
    /// Whole-request timeout of one Graph API call. Also sizes the claim leases of the
    /// pipeline and the executor, which must outlast the calls made under them.
    pub graph_timeout: Duration,
    /// First step of the retry schedule (1 s); every later step scales with it (5 s, 30 s,
    /// 2 min, 10 min, 1 h at the default). Tests shorten it; production keeps 1 s.
    pub retry_base: Duration,
    /// A rule edited within the last day that matches more than this share of the comments
    /// decided since (within the last hour) is switched to shadow. 0 disables.
    pub auto_shadow_share: f64,
    /// ... but only once at least this many comments were decided in that window.
    pub auto_shadow_min_comments: u64,
    /// How often rule statistics are recomputed and auto-shadowing is checked.
    pub rule_stats_interval: Duration,
    pub accounts: BTreeMap<String, AccountSettings>,
    /// Tokens renewed while running (Instagram Login refreshes), kept in the database and
    /// read back at start: they win over the settings' tokens. Shared by every clone.
    pub renewed_tokens: Arc<RenewedTokens>,
    /// Built-in TLS on the public listener (none: plain HTTP, TLS terminated by a proxy).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Connection limits of both listeners.
    pub front_door: limits::Limits,
    /// This instance's name in its claims (stable across restarts, unique among instances).
    pub instance_id: String,
    /// PostgreSQL: the claims of an instance whose heartbeat stopped this long ago are taken
    /// over by the others.
    pub claim_timeout: Duration,
    /// How often serve sweeps for comments no webhook announced (zero: never).
    pub sweep_interval: Duration,
    /// Media posted within this long are swept by serve's reconciliation.
    pub sweep_window: Duration,
    /// Labels (and the texts kept with them) older than this are deleted.
    pub label_retention: Duration,
    /// A rules folder to compare with the running rules on the review page (an edit before
    /// it is copied in).
    pub rules_next: Option<PathBuf>,
    /// The review page's times are shown in this zone (an IANA name such as Europe/Paris).
    pub timezone: jiff::tz::TimeZone,
}

impl Settings {
    /// Loads the defaults, then `file` (if any), then the environment (`env` is injectable for
    /// tests; production passes `std::env::var`). Every mistake is reported, not only the first.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env("COMMENTGUARD_CONFIG").map(PathBuf::from));
        let mut layers = Layers::defaults();
        let mut errors = Vec::new();
        let accounts = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                    path: path.clone(),
                    error,
                })?;
                layers.file(&text, &path.display().to_string(), &mut errors)?
            }
            None => BTreeMap::new(),
        };
        layers.environment(env);
        let values = layers.parse(&mut errors);
        let accounts = accounts_settings(accounts, &mut errors);
        let tls = tls_files(&values, &mut errors);
        match errors.len() {
            0 => Ok(values.settings(accounts, tls)),
            1 => Err(errors.remove(0)),
            _ => Err(ConfigError::Several(errors)),
        }
    }

    /// `serve` refuses to start without these; the error names the variable.
    pub fn require_for_serve(&self) -> Result<(), ConfigError> {
        if self.app_secrets.is_empty() {
            return Err(ConfigError::Missing("COMMENTGUARD_APP_SECRET"));
        }
        if self.verify_token.is_none() {
            return Err(ConfigError::Missing("COMMENTGUARD_VERIFY_TOKEN"));
        }
        Ok(())
    }

    /// The token used for an account: one renewed while running, else its own, else the
    /// default one, else none (dry run).
    pub fn token_for(&self, account_id: &str) -> Option<Secret> {
        self.renewed_tokens.get(account_id).or_else(|| {
            self.accounts
                .get(account_id)
                .and_then(|a| a.access_token.as_ref())
                .or(self.access_token.as_ref())
                .cloned()
        })
    }

    /// Which login an account was connected with (Facebook Login unless the file says).
    pub fn login_of(&self, account_id: &str) -> Login {
        self.accounts
            .get(account_id)
            .map(|a| a.login)
            .unwrap_or_default()
    }

    /// Every secret a webhook may be signed with: the app's, and the Instagram app's.
    pub fn webhook_secrets(&self) -> Vec<Secret> {
        let mut all = self.app_secrets.clone();
        all.extend(self.instagram_app_secret.clone());
        all
    }

    /// Every account whose stories are polled: COMMENTGUARD_ACCOUNT_IDS and the file's accounts.
    pub fn polled_accounts(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.account_ids.clone();
        for id in self.accounts.keys() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// The host's name (stable across restarts of a container or a pod of a StatefulSet), made
/// fit for COMMENTGUARD_INSTANCE_ID; `commentguard` when it cannot be read.
fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let id: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if id.is_empty() {
        "commentguard".into()
    } else {
        id
    }
}

#[cfg(test)]
mod tests;
