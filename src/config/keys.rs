//! Every setting, declared once: its key in a settings file, its environment variable, its
//! default, how its text is read, and what it means. The file overlay, the environment
//! overlay, the validation, the settings tables of README.md and docs/INTERFACE.md and the
//! file `commentguard settings` prints all come from [`KEYS`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// How a setting's text is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `127.0.0.1:8080`.
    Address,
    Text,
    /// A URL; a trailing `/` is dropped.
    Url,
    /// Kept out of logs, errors and `Debug`.
    Secret,
    /// Secrets, comma-separated (several during a rotation).
    Secrets,
    Path,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// A whole number, 0 allowed.
    Number,
    /// A whole number, 1 or more.
    AtLeastOne,
    /// A share between 0 and 1.
    Share,
    /// `90s`, `15m`, `30d`; `0s` allowed.
    Duration,
    /// A duration longer than zero.
    Positive,
    /// Words, comma-separated in a variable, a list in a file.
    List,
    /// IP addresses, comma-separated in a variable, a list in a file.
    Addresses,
    /// One of the words given.
    OneOf(&'static [&'static str]),
    /// `sqlite:PATH` or `postgres://...`; a secret (it may carry a password).
    DatabaseUrl,
    /// Digits only (a Meta app id).
    Digits,
    /// Letters, digits, `-`, `_` and `.`, 100 at most.
    Name,
    /// An IANA time zone name.
    TimeZone,
}

/// One setting.
#[derive(Debug)]
pub struct Key {
    /// Its key in a settings file.
    pub name: &'static str,
    /// Its environment variable, which wins over the file.
    pub env: &'static str,
    /// Its value when neither the file nor the environment sets it.
    pub default: Option<&'static str>,
    pub kind: Kind,
    /// What it does, for the documentation's table and the printed settings file.
    pub help: &'static str,
    /// What happens when it is not set and has no default (the documentation's default column).
    pub unset: &'static str,
}

const fn key(
    name: &'static str,
    env: &'static str,
    default: Option<&'static str>,
    kind: Kind,
    help: &'static str,
    unset: &'static str,
) -> Key {
    Key {
        name,
        env,
        default,
        kind,
        help,
        unset,
    }
}

use Kind::*;

/// Every setting, in the order the documentation lists them.
#[rustfmt::skip]
pub const KEYS: &[Key] = &[
    key("listen", "COMMENTGUARD_LISTEN", Some("127.0.0.1:8080"), Address,
        "public listener: the webhook Meta calls, /healthz and /readyz", ""),
    key("admin_listen", "COMMENTGUARD_ADMIN_LISTEN", Some("127.0.0.1:9090"), Address,
        "admin listener: metrics, admin API, review page; keep it private", ""),
    key("app_id", "COMMENTGUARD_APP_ID", None, Digits,
        "Meta app id: with the secret it reads the app's webhook subscription and checks tokens (`connect` writes it)",
        "asked of Meta with an account's token"),
    key("app_secret", "COMMENTGUARD_APP_SECRET", None, Secrets,
        "Meta app secret; several, comma-separated, during a rotation",
        "none: `serve` refuses to start and names the variable"),
    key("verify_token", "COMMENTGUARD_VERIFY_TOKEN", None, Secret,
        "verify token of the webhook handshake", "none: `serve` refuses to start"),
    key("access_token", "COMMENTGUARD_ACCESS_TOKEN", None, Secret,
        "Graph API token for accounts that have no token of their own",
        "none: decisions are logged, nothing is called (dry run)"),
    key("instagram_app_secret", "COMMENTGUARD_INSTAGRAM_APP_SECRET", None, Secret,
        "the Instagram app's secret (Instagram Login accounts): their webhooks are signed with it, their tokens traded with it",
        "none"),
    key("database_url", "COMMENTGUARD_DATABASE_URL", Some("sqlite:data/commentguard.db"), DatabaseUrl,
        "`sqlite:PATH` (one instance; the inbox lives beside it, `-inbox` added to its name; `commentguard backup DIR` copies both) or `postgres://...` (several instances)", ""),
    key("rules", "COMMENTGUARD_RULES", Some("rules"), Path, "rules folder", ""),
    key("graph_url", "COMMENTGUARD_GRAPH_URL", Some("https://graph.facebook.com"), Url,
        "Graph API base URL", ""),
    key("instagram_graph_url", "COMMENTGUARD_INSTAGRAM_GRAPH_URL", Some("https://graph.instagram.com"), Url,
        "where accounts connected with Instagram Login (`[accounts.ID] login = \"instagram\"`) are served", ""),
    key("graph_version", "COMMENTGUARD_GRAPH_VERSION", Some("v23.0"), Text,
        "Graph API version in paths", ""),
    key("dry_run", "COMMENTGUARD_DRY_RUN", Some("false"), Bool,
        "`true`: decide and log, call nothing", ""),
    key("admin_token", "COMMENTGUARD_ADMIN_TOKEN", None, Secret,
        "bearer token of the admin API", "none: the admin API answers 403"),
    key("account_ids", "COMMENTGUARD_ACCOUNT_IDS", Some(""), List,
        "Instagram account ids (comma-separated) whose stories are polled with the default token", ""),
    key("story_poll", "COMMENTGUARD_STORY_POLL", Some("15m"), Duration,
        "how often live stories are polled (`90s`, `15m`)", ""),
    key("log_format", "COMMENTGUARD_LOG_FORMAT", Some("text"), OneOf(&["text", "json"]),
        "`text` or `json`", ""),
    key("body_limit", "COMMENTGUARD_BODY_LIMIT", Some("1048576"), Number,
        "largest webhook body, in bytes (413 above)", ""),
    key("retention", "COMMENTGUARD_RETENTION", Some("30d"), Duration,
        "comment texts older than this are purged from the moderation log (decisions are kept)", ""),
    key("workers", "COMMENTGUARD_WORKERS", Some("4"), Number,
        "pipeline workers; 0: this instance only receives and stores (other instances moderate, on PostgreSQL)", ""),
    key("graph_timeout", "COMMENTGUARD_GRAPH_TIMEOUT", Some("20s"), Positive,
        "how long one Graph API call may take; the claim leases of the pipeline (3x) and the executor (6x) follow it", ""),
    key("retry_base", "COMMENTGUARD_RETRY_BASE", Some("1s"), Positive,
        "first step of the retry schedule; the later ones scale with it (1s, 5s, 30s, 2m, 10m, then hourly up to 24 h)", ""),
    key("auto_shadow_share", "COMMENTGUARD_AUTO_SHADOW_SHARE", Some("0.05"), Share,
        "a rule edited within a day that matches more than this share of the comments decided since is switched to shadow; 0 disables", ""),
    key("auto_shadow_min_comments", "COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS", Some("20"), Number,
        "... once at least this many comments were decided", ""),
    key("rule_stats_interval", "COMMENTGUARD_RULE_STATS_INTERVAL", Some("30s"), Positive,
        "how often rule statistics are recomputed and auto-shadowing is checked", ""),
    key("tls_cert", "COMMENTGUARD_TLS_CERT", None, Path,
        "built-in TLS on the public listener: the certificate chain (PEM, reloaded when it changes); needs tls_key",
        "none: plain HTTP behind a TLS proxy"),
    key("tls_key", "COMMENTGUARD_TLS_KEY", None, Path,
        "built-in TLS: the private key (PEM, reloaded when it changes); needs tls_cert", "none"),
    key("tls_client_ca", "COMMENTGUARD_TLS_CLIENT_CA", None, Path,
        "mutual TLS: only clients with a certificate signed by this CA (Meta's) are served", "none"),
    key("header_timeout", "COMMENTGUARD_HEADER_TIMEOUT", Some("5s"), Positive,
        "a connection whose request headers (or TLS handshake) are not complete within this, or that sits idle between requests this long, is closed", ""),
    key("max_connections", "COMMENTGUARD_MAX_CONNECTIONS", Some("4096"), AtLeastOne,
        "open connections per listener; more are closed at once", ""),
    key("max_connections_per_client", "COMMENTGUARD_MAX_CONNECTIONS_PER_CLIENT", Some("256"), AtLeastOne,
        "open connections from one address; more are closed at once", ""),
    key("trusted_proxies", "COMMENTGUARD_TRUSTED_PROXIES", Some(""), Addresses,
        "addresses of your reverse proxy or load balancer, comma-separated: not capped per client (behind a proxy every connection comes from its address: list it)", ""),
    key("instance_id", "COMMENTGUARD_INSTANCE_ID", None, Name,
        "this instance's name in the claims it takes; stable across restarts, different between instances",
        "the host name"),
    key("claim_timeout", "COMMENTGUARD_CLAIM_TIMEOUT", Some("10s"), Positive,
        "PostgreSQL: the work claimed by an instance whose heartbeat stopped this long ago is taken over", ""),
    key("sweep_interval", "COMMENTGUARD_SWEEP_INTERVAL", Some("15m"), Duration,
        "how often `serve` sweeps recent media for comments no webhook announced; `0s` turns it off", ""),
    key("sweep_window", "COMMENTGUARD_SWEEP_WINDOW", Some("2d"), Positive,
        "media posted within this long are swept by `serve`", ""),
    key("label_retention", "COMMENTGUARD_LABEL_RETENTION", Some("365d"), Duration,
        "labels (Spam / Not spam) and the comment texts kept with them are deleted after this", ""),
    key("rules_next", "COMMENTGUARD_RULES_NEXT", None, Path,
        "a rules folder the review page compares with the log (\"Compare the next rules\")", "none"),
    key("timezone", "COMMENTGUARD_TIMEZONE", Some("UTC"), TimeZone,
        "the review page shows times in this zone (an IANA name such as Europe/Paris)", ""),
];

/// A setting's value, read by its kind.
#[derive(Debug, Clone)]
pub enum Value {
    Address(SocketAddr),
    Text(String),
    Secret(Secret),
    Secrets(Vec<Secret>),
    Path(PathBuf),
    Bool(bool),
    Number(u64),
    Share(f64),
    Duration(Duration),
    List(Vec<String>),
    Addresses(Vec<IpAddr>),
    Zone(jiff::tz::TimeZone),
}

/// Splits a comma-separated list, dropping empty parts.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses durations such as `90s`, `15m`, `30d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a duration ({e}); write e.g. 90s, 15m, 1h, 30d"))
}

impl Kind {
    /// Reads a value; the error says what was expected, never the value of a secret.
    pub fn parse(self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        let number = || {
            t.parse::<u64>()
                .map_err(|_| format!("{t:?} is not a whole number"))
        };
        Ok(match self {
            Address => Value::Address(
                t.parse()
                    .map_err(|_| format!("{t:?} is not an address such as 127.0.0.1:8080"))?,
            ),
            Text => Value::Text(t.to_string()),
            Url => Value::Text(t.trim_end_matches('/').to_string()),
            Secret => Value::Secret(crate::secret::Secret::new(text)),
            Secrets => Value::Secrets(
                split_list(text)
                    .into_iter()
                    .map(crate::secret::Secret::new)
                    .collect(),
            ),
            Path => Value::Path(PathBuf::from(t)),
            Bool => Value::Bool(match t.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(format!("{t:?}: expected true or false")),
            }),
            Number => Value::Number(number()?),
            AtLeastOne => match number()? {
                0 => return Err("must be at least 1".into()),
                n => Value::Number(n),
            },
            Share => match t.parse::<f64>() {
                Ok(s) if (0.0..=1.0).contains(&s) => Value::Share(s),
                _ => {
                    return Err(format!(
                        "{t:?} is not a share between 0 and 1, such as 0.05"
                    ))
                }
            },
            Duration => Value::Duration(parse_duration(t)?),
            Positive => match parse_duration(t)? {
                d if d.is_zero() => return Err("must be longer than zero".into()),
                d => Value::Duration(d),
            },
            List => Value::List(split_list(t)),
            Addresses => Value::Addresses(
                split_list(t)
                    .iter()
                    .map(|p| {
                        p.parse()
                            .map_err(|_| format!("{p:?} is not an IP address such as 10.0.0.1"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            OneOf(words) => match words.iter().find(|w| **w == t) {
                Some(w) => Value::Text(w.to_string()),
                None => return Err(format!("{t:?}: expected one of {}", words.join(", "))),
            },
            DatabaseUrl => {
                if !(t.starts_with("sqlite:")
                    || t.starts_with("postgres://")
                    || t.starts_with("postgresql://"))
                {
                    return Err("expected sqlite:PATH or postgres://...".into());
                }
                Value::Secret(crate::secret::Secret::new(t))
            }
            Digits => {
                if !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "{t:?}: an app id is digits only (App Dashboard > App settings > Basic)"
                    ));
                }
                Value::Text(t.to_string())
            }
            Name => {
                if t.len() > 100
                    || !t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(format!(
                        "{t:?}: use letters, digits, '-', '_' and '.' (100 at most)"
                    ));
                }
                Value::Text(t.to_string())
            }
            TimeZone => Value::Zone(
                jiff::tz::TimeZone::get(t)
                    .map_err(|_| format!("{t:?} is not a time zone such as Europe/Paris or UTC"))?,
            ),
        })
    }
}

/// The known name closest to `name` (at most three edits away): a misspelt setting's fix.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(k, name), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The key named `name` in a settings file.
pub fn by_name(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The settings table of README.md and docs/INTERFACE.md (Markdown).
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | file key | meaning | default |\n|---|---|---|---|\n");
    for k in KEYS {
        let default = match k.default {
            Some("") => "none".to_string(),
            Some(d) => format!("`{d}`"),
            None => k.unset.to_string(),
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            k.env,
            k.name,
            k.help.replace('|', "\\|"),
            default
        ));
    }
    out
}

/// A commented settings file with every key at its default (the ones without a default
/// commented out): what `commentguard settings` prints, to start a file from.
pub fn example_file() -> String {
    let mut out = String::from(
        "# commentguard settings. Every key is optional; each COMMENTGUARD_<KEY> environment\n\
         # variable wins over the file. Unknown keys are an error.\n",
    );
    for k in KEYS {
        out.push_str(&format!("\n# {} ({})\n", k.help, k.env));
        let value = |v: &str| match k.kind {
            Bool | Number | AtLeastOne | Share => v.to_string(),
            List | Addresses => format!(
                "[{}]",
                split_list(v)
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!("{v:?}"),
        };
        match k.default {
            Some(d) => out.push_str(&format!("{} = {}\n", k.name, value(d))),
            None => out.push_str(&format!(
                "# {} = \"...\"   # when unset: {}\n",
                k.name, k.unset
            )),
        }
    }
    out.push_str(
        "\n# Per-account settings, keyed by Instagram account id:\n\
         # [accounts.17841405309211844]\n\
         # access_token = \"...\"\n\
         # rules = \"rules/brand-a\"\n\
         # username = \"brand_a\"   # the account's @username, for impersonation rules\n\
         # page_id = \"1029384756\" # its Facebook Page (connect writes it)\n\
         # login = \"instagram\"    # connected with Instagram Login (no Page)\n",
    );
    out
}
