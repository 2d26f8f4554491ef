//! Settings: an embedded default file, then an optional TOML file, then environment variables.
//!
//! `FileConfig` is what a file may say (unknown keys are refused by name); `Settings` is the
//! validated runtime form that the rest of the program uses. Environment variables win.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

pub mod limits;

const DEFAULT_FILE: &str = include_str!("../config.default.toml");

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
}

/// What a settings file may contain. Every key is optional; unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    pub verify_token: Option<Secret>,
    pub access_token: Option<Secret>,
    pub database_url: Option<Secret>,
    pub rules: Option<PathBuf>,
    pub graph_url: Option<String>,
    pub instagram_graph_url: Option<String>,
    pub instagram_app_secret: Option<Secret>,
    pub graph_version: Option<String>,
    pub dry_run: Option<bool>,
    pub admin_token: Option<Secret>,
    pub account_ids: Option<Vec<String>>,
    pub story_poll: Option<String>,
    pub log_format: Option<String>,
    pub body_limit: Option<usize>,
    pub retention: Option<String>,
    pub workers: Option<usize>,
    pub graph_timeout: Option<String>,
    pub retry_base: Option<String>,
    pub auto_shadow_share: Option<f64>,
    pub auto_shadow_min_comments: Option<u64>,
    pub rule_stats_interval: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub header_timeout: Option<String>,
    pub max_connections: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub trusted_proxies: Option<Vec<String>>,
    pub instance_id: Option<String>,
    pub claim_timeout: Option<String>,
    pub sweep_interval: Option<String>,
    pub sweep_window: Option<String>,
    pub label_retention: Option<String>,
    pub rules_next: Option<PathBuf>,
    pub timezone: Option<String>,
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountFile>,
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

fn parse_file(text: &str, path: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_string(),
        message: e.to_string().trim().to_string(),
    })
}

/// Copies every key the overlay sets onto the base.
fn overlay(base: &mut FileConfig, top: FileConfig) {
    macro_rules! take {
        ($($f:ident),*) => { $( if top.$f.is_some() { base.$f = top.$f; } )* };
    }
    take!(
        listen,
        admin_listen,
        app_id,
        app_secret,
        verify_token,
        access_token,
        database_url,
        rules,
        graph_url,
        instagram_graph_url,
        instagram_app_secret,
        graph_version,
        dry_run,
        admin_token,
        account_ids,
        story_poll,
        log_format,
        body_limit,
        retention,
        workers,
        graph_timeout,
        retry_base,
        auto_shadow_share,
        auto_shadow_min_comments,
        rule_stats_interval,
        tls_cert,
        header_timeout,
        max_connections,
        max_connections_per_client,
        trusted_proxies,
        instance_id,
        claim_timeout,
        sweep_interval,
        sweep_window,
        label_retention,
        rules_next,
        timezone,
        tls_key,
        tls_client_ca
    );
    for (id, acc) in top.accounts {
        base.accounts.insert(id, acc);
    }
}

/// Parses durations such as `90s`, `15m`, `30d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write e.g. 90s, 15m, 1h, 30d"))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

impl Settings {
    /// Loads the defaults, then `file` (if any), then the environment (`env` is injectable for
    /// tests; production passes `std::env::var`).
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut cfg = parse_file(DEFAULT_FILE, "(defaults)")?;
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env("COMMENTGUARD_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
                path: path.clone(),
                error,
            })?;
            overlay(&mut cfg, parse_file(&text, &path.display().to_string())?);
        }
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(v) = var("COMMENTGUARD_TLS_CERT") {
            cfg.tls_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = var("COMMENTGUARD_TLS_KEY") {
            cfg.tls_key = Some(PathBuf::from(v));
        }
        if let Some(v) = var("COMMENTGUARD_TLS_CLIENT_CA") {
            cfg.tls_client_ca = Some(PathBuf::from(v));
        }
        if let Some(v) = var("COMMENTGUARD_LISTEN") {
            cfg.listen = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_ADMIN_LISTEN") {
            cfg.admin_listen = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_APP_ID") {
            cfg.app_id = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_APP_SECRET") {
            cfg.app_secret = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_VERIFY_TOKEN") {
            cfg.verify_token = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_ACCESS_TOKEN") {
            cfg.access_token = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_DATABASE_URL") {
            cfg.database_url = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_RULES") {
            cfg.rules = Some(PathBuf::from(v));
        }
        if let Some(v) = var("COMMENTGUARD_GRAPH_URL") {
            cfg.graph_url = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_INSTAGRAM_GRAPH_URL") {
            cfg.instagram_graph_url = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_INSTAGRAM_APP_SECRET") {
            cfg.instagram_app_secret = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_GRAPH_VERSION") {
            cfg.graph_version = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_DRY_RUN") {
            cfg.dry_run = Some(parse_bool("COMMENTGUARD_DRY_RUN", &v)?);
        }
        if let Some(v) = var("COMMENTGUARD_ADMIN_TOKEN") {
            cfg.admin_token = Some(Secret::new(v));
        }
        if let Some(v) = var("COMMENTGUARD_ACCOUNT_IDS") {
            cfg.account_ids = Some(split_list(&v));
        }
        if let Some(v) = var("COMMENTGUARD_STORY_POLL") {
            cfg.story_poll = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_LOG_FORMAT") {
            cfg.log_format = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_BODY_LIMIT") {
            cfg.body_limit = Some(v.parse().map_err(|_| ConfigError::Invalid {
                name: "COMMENTGUARD_BODY_LIMIT",
                message: format!("{v:?} is not a number of bytes"),
            })?);
        }
        if let Some(v) = var("COMMENTGUARD_RETENTION") {
            cfg.retention = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_WORKERS") {
            cfg.workers = Some(v.parse().map_err(|_| ConfigError::Invalid {
                name: "COMMENTGUARD_WORKERS",
                message: format!("{v:?} is not a number"),
            })?);
        }
        if let Some(v) = var("COMMENTGUARD_GRAPH_TIMEOUT") {
            cfg.graph_timeout = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_RETRY_BASE") {
            cfg.retry_base = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_AUTO_SHADOW_SHARE") {
            cfg.auto_shadow_share = Some(v.parse().map_err(|_| ConfigError::Invalid {
                name: "COMMENTGUARD_AUTO_SHADOW_SHARE",
                message: format!("{v:?} is not a number such as 0.05"),
            })?);
        }
        if let Some(v) = var("COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS") {
            cfg.auto_shadow_min_comments = Some(v.parse().map_err(|_| ConfigError::Invalid {
                name: "COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS",
                message: format!("{v:?} is not a number"),
            })?);
        }
        if let Some(v) = var("COMMENTGUARD_RULE_STATS_INTERVAL") {
            cfg.rule_stats_interval = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_HEADER_TIMEOUT") {
            cfg.header_timeout = Some(v);
        }
        for (name, slot) in [
            ("COMMENTGUARD_MAX_CONNECTIONS", &mut cfg.max_connections),
            (
                "COMMENTGUARD_MAX_CONNECTIONS_PER_CLIENT",
                &mut cfg.max_connections_per_client,
            ),
        ] {
            if let Some(v) = var(name) {
                *slot = Some(v.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    message: format!("{v:?} is not a number"),
                })?);
            }
        }
        if let Some(v) = var("COMMENTGUARD_INSTANCE_ID") {
            cfg.instance_id = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_CLAIM_TIMEOUT") {
            cfg.claim_timeout = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_SWEEP_INTERVAL") {
            cfg.sweep_interval = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_SWEEP_WINDOW") {
            cfg.sweep_window = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_LABEL_RETENTION") {
            cfg.label_retention = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_TIMEZONE") {
            cfg.timezone = Some(v);
        }
        if let Some(v) = var("COMMENTGUARD_RULES_NEXT") {
            cfg.rules_next = Some(PathBuf::from(v));
        }
        if let Some(v) = var("COMMENTGUARD_TRUSTED_PROXIES") {
            cfg.trusted_proxies = Some(split_list(&v));
        }
        Self::validate(cfg)
    }

    fn validate(cfg: FileConfig) -> Result<Settings, ConfigError> {
        let addr = |name: &'static str, v: Option<String>| -> Result<SocketAddr, ConfigError> {
            let v = v.unwrap_or_default();
            v.parse().map_err(|_| ConfigError::Invalid {
                name,
                message: format!("{v:?} is not an address such as 127.0.0.1:8080"),
            })
        };
        let dur = |name: &'static str, v: Option<String>| -> Result<Duration, ConfigError> {
            parse_duration(&v.unwrap_or_default())
                .map_err(|message| ConfigError::Invalid { name, message })
        };
        let app_secrets = cfg
            .app_secret
            .map(|s| {
                split_list(s.expose())
                    .into_iter()
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        let log_format = match cfg.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::Invalid {
                    name: "COMMENTGUARD_LOG_FORMAT",
                    message: format!("{other:?}: expected \"text\" or \"json\""),
                })
            }
        };
        let verify_token = cfg.verify_token.filter(|t| !t.is_empty());
        let database_url = cfg
            .database_url
            .unwrap_or_else(|| Secret::new("sqlite:data/commentguard.db"));
        let url = database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                name: "COMMENTGUARD_DATABASE_URL",
                message: "expected sqlite:PATH or postgres://...".into(),
            });
        }
        let auto_shadow_share = cfg.auto_shadow_share.unwrap_or(0.05);
        if !(0.0..=1.0).contains(&auto_shadow_share) {
            return Err(ConfigError::Invalid {
                name: "COMMENTGUARD_AUTO_SHADOW_SHARE",
                message: format!("{auto_shadow_share} is not a share between 0 and 1"),
            });
        }
        let rule_stats_interval = dur("COMMENTGUARD_RULE_STATS_INTERVAL", cfg.rule_stats_interval)?;
        if rule_stats_interval.is_zero() {
            return Err(ConfigError::Invalid {
                name: "COMMENTGUARD_RULE_STATS_INTERVAL",
                message: "must be longer than 0s".into(),
            });
        }
        let tls = match (cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca) {
            (None, None, None) => None,
            (Some(cert), Some(key), client_ca) => Some(crate::tls::TlsFiles {
                cert,
                key,
                client_ca,
            }),
            (_, _, Some(_)) | (Some(_), None, None) | (None, Some(_), None) => {
                return Err(ConfigError::Invalid {
                    name: "COMMENTGUARD_TLS_CERT",
                    message: "built-in TLS needs both COMMENTGUARD_TLS_CERT and COMMENTGUARD_TLS_KEY (and COMMENTGUARD_TLS_CLIENT_CA only with them)".into(),
                })
            }
        };
        let front_door = limits::Limits {
            header_timeout: positive(
                "COMMENTGUARD_HEADER_TIMEOUT",
                dur("COMMENTGUARD_HEADER_TIMEOUT", cfg.header_timeout)?,
            )?,
            max_connections: at_least_one(
                "COMMENTGUARD_MAX_CONNECTIONS",
                cfg.max_connections.unwrap_or(4096),
            )?,
            max_per_client: at_least_one(
                "COMMENTGUARD_MAX_CONNECTIONS_PER_CLIENT",
                cfg.max_connections_per_client.unwrap_or(256),
            )?,
            trusted_proxies: cfg
                .trusted_proxies
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    p.parse().map_err(|_| ConfigError::Invalid {
                        name: "COMMENTGUARD_TRUSTED_PROXIES",
                        message: format!("{p:?} is not an IP address such as 10.0.0.1"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let instance_id = match cfg.instance_id.filter(|i| !i.is_empty()) {
            Some(id) => id,
            None => default_instance_id(),
        };
        if instance_id.len() > 100
            || !instance_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::Invalid {
                name: "COMMENTGUARD_INSTANCE_ID",
                message: format!(
                    "{instance_id:?}: use letters, digits, '-', '_' and '.' (100 at most)"
                ),
            });
        }
        let claim_timeout = positive(
            "COMMENTGUARD_CLAIM_TIMEOUT",
            dur("COMMENTGUARD_CLAIM_TIMEOUT", cfg.claim_timeout)?,
        )?;
        Ok(Settings {
            listen: addr("COMMENTGUARD_LISTEN", cfg.listen)?,
            admin_listen: addr("COMMENTGUARD_ADMIN_LISTEN", cfg.admin_listen)?,
            app_id: match cfg.app_id.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()) {
                Some(id) if !id.bytes().all(|b| b.is_ascii_digit()) => {
                    return Err(ConfigError::Invalid {
                        name: "COMMENTGUARD_APP_ID",
                        message: format!("{id:?}: an app id is digits only (App Dashboard > App settings > Basic)"),
                    })
                }
                other => other,
            },
            app_secrets,
            verify_token,
            access_token: cfg.access_token.filter(|t| !t.is_empty()),
            database_url,
            rules_dir: cfg.rules.unwrap_or_else(|| PathBuf::from("rules")),
            graph_url: cfg
                .graph_url
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            instagram_graph_url: cfg
                .instagram_graph_url
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            instagram_app_secret: cfg.instagram_app_secret.filter(|s| !s.is_empty()),
            graph_version: cfg.graph_version.unwrap_or_default(),
            dry_run: cfg.dry_run.unwrap_or(false),
            admin_token: cfg.admin_token.filter(|t| !t.is_empty()),
            account_ids: cfg.account_ids.unwrap_or_default(),
            story_poll: dur("COMMENTGUARD_STORY_POLL", cfg.story_poll)?,
            log_format,
            body_limit: cfg.body_limit.unwrap_or(1 << 20),
            retention: dur("COMMENTGUARD_RETENTION", cfg.retention)?,
            workers: cfg.workers.unwrap_or(4),
            graph_timeout: positive(
                "COMMENTGUARD_GRAPH_TIMEOUT",
                dur("COMMENTGUARD_GRAPH_TIMEOUT", cfg.graph_timeout)?,
            )?,
            retry_base: positive(
                "COMMENTGUARD_RETRY_BASE",
                dur("COMMENTGUARD_RETRY_BASE", cfg.retry_base)?,
            )?,
            auto_shadow_share,
            auto_shadow_min_comments: cfg.auto_shadow_min_comments.unwrap_or(20),
            rule_stats_interval,
            accounts: cfg
                .accounts
                .into_iter()
                .map(|(id, a)| {
                    let login = match a.login.as_deref().map(str::trim) {
                        None | Some("") | Some("facebook") => Login::Facebook,
                        Some("instagram") => Login::Instagram,
                        Some(other) => {
                            return Err(ConfigError::Invalid {
                                name: "accounts.*.login",
                                message: format!(
                                    "account {id}: {other:?}: expected \"facebook\" or \"instagram\""
                                ),
                            })
                        }
                    };
                    Ok((
                        id,
                        AccountSettings {
                            access_token: a.access_token.filter(|t| !t.is_empty()),
                            rules_dir: a.rules,
                            username: a
                                .username
                                .map(|u| u.trim().trim_start_matches('@').to_string())
                                .filter(|u| !u.is_empty()),
                            page_id: a.page_id.filter(|p| !p.trim().is_empty()),
                            login,
                        },
                    ))
                })
                .collect::<Result<_, ConfigError>>()?,
            renewed_tokens: Default::default(),
            tls,
            front_door,
            instance_id,
            claim_timeout,
            sweep_interval: dur("COMMENTGUARD_SWEEP_INTERVAL", cfg.sweep_interval)?,
            sweep_window: positive(
                "COMMENTGUARD_SWEEP_WINDOW",
                dur("COMMENTGUARD_SWEEP_WINDOW", cfg.sweep_window)?,
            )?,
            label_retention: dur("COMMENTGUARD_LABEL_RETENTION", cfg.label_retention)?,
            rules_next: cfg.rules_next,
            timezone: {
                let name = cfg.timezone.unwrap_or_else(|| "UTC".into());
                jiff::tz::TimeZone::get(&name).map_err(|_| ConfigError::Invalid {
                    name: "COMMENTGUARD_TIMEZONE",
                    message: format!("{name:?} is not a time zone such as Europe/Paris or UTC"),
                })?
            },
        })
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

fn positive(name: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        return Err(ConfigError::Invalid {
            name,
            message: "must be longer than zero".into(),
        });
    }
    Ok(d)
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

fn at_least_one(name: &'static str, n: usize) -> Result<usize, ConfigError> {
    if n == 0 {
        return Err(ConfigError::Invalid {
            name,
            message: "must be at least 1".into(),
        });
    }
    Ok(n)
}

fn parse_bool(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            message: format!("{v:?}: expected true or false"),
        }),
    }
}

#[cfg(test)]
mod tests;
