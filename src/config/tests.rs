//! The settings' tests: defaults, the file, the environment, and every refusal naming its variable.

use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_load_without_a_file() {
    let s = Settings::load(None, &env(&[])).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(s.story_poll, Duration::from_secs(900));
    assert_eq!(s.body_limit, 1 << 20);
    assert!(!s.dry_run);
    assert_eq!(s.graph_timeout, Duration::from_secs(20));
    assert_eq!(s.retry_base, Duration::from_secs(1));
    assert_eq!(s.auto_shadow_share, 0.05);
    assert_eq!(s.auto_shadow_min_comments, 20);
    assert_eq!(s.rule_stats_interval, Duration::from_secs(30));
    assert!(Settings::load(None, &env(&[("COMMENTGUARD_AUTO_SHADOW_SHARE", "1.5")])).is_err());
    assert_eq!(
        Settings::load(None, &env(&[("COMMENTGUARD_AUTO_SHADOW_SHARE", "0")]))
            .unwrap()
            .auto_shadow_share,
        0.0
    );
    assert_eq!(
        s.require_for_serve().unwrap_err().to_string(),
        "COMMENTGUARD_APP_SECRET is not set: `serve` needs it"
    );
}

#[test]
fn environment_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:1111\"\nstory_poll = \"90s\"\n[accounts.42]\naccess_token = \"tok42\"\n",
    )
    .unwrap();
    let s = Settings::load(
        Some(&path),
        &env(&[
            ("COMMENTGUARD_LISTEN", "127.0.0.1:2222"),
            ("COMMENTGUARD_APP_SECRET", "old, new"),
        ]),
    )
    .unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:2222");
    assert_eq!(s.story_poll, Duration::from_secs(90));
    assert_eq!(s.app_secrets.len(), 2);
    assert_eq!(s.token_for("42").unwrap().expose(), "tok42");
    assert!(s.token_for("43").is_none());
    assert!(s.require_for_serve().is_err());
}

#[test]
fn unknown_key_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "lisen = \"127.0.0.1:1111\"\n").unwrap();
    let err = Settings::load(Some(&path), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lisen"), "{err}");
}

#[test]
fn debug_output_has_no_secret() {
    let s = Settings::load(
        None,
        &env(&[
            ("COMMENTGUARD_APP_SECRET", "appsecretvalue"),
            ("COMMENTGUARD_VERIFY_TOKEN", "verifyvalue"),
            ("COMMENTGUARD_DATABASE_URL", "postgres://u:pw@h/db"),
        ]),
    )
    .unwrap();
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("appsecretvalue") && !dbg.contains("verifyvalue") && !dbg.contains("pw@")
    );
    s.require_for_serve().unwrap();
}

#[test]
fn graph_timeout_and_retry_base_come_from_the_environment() {
    let s = Settings::load(
        None,
        &env(&[
            ("COMMENTGUARD_GRAPH_TIMEOUT", "1s"),
            ("COMMENTGUARD_RETRY_BASE", "10ms"),
        ]),
    )
    .unwrap();
    assert_eq!(s.graph_timeout, Duration::from_secs(1));
    assert_eq!(s.retry_base, Duration::from_millis(10));
    let err = Settings::load(None, &env(&[("COMMENTGUARD_RETRY_BASE", "0s")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("COMMENTGUARD_RETRY_BASE"), "{err}");
}

#[test]
fn sweep_front_door_and_instance_settings() {
    let s = Settings::load(None, &env(&[])).unwrap();
    assert_eq!(s.sweep_interval, Duration::from_secs(15 * 60));
    assert_eq!(s.sweep_window, Duration::from_secs(2 * 86_400));
    assert_eq!(s.front_door.header_timeout, Duration::from_secs(5));
    assert_eq!(s.claim_timeout, Duration::from_secs(10));
    assert!(!s.instance_id.is_empty());
    let s = Settings::load(
        None,
        &env(&[
            ("COMMENTGUARD_SWEEP_INTERVAL", "0"),
            ("COMMENTGUARD_INSTANCE_ID", "web-1.eu"),
            ("COMMENTGUARD_TRUSTED_PROXIES", "10.0.0.1, ::1"),
            ("COMMENTGUARD_MAX_CONNECTIONS_PER_CLIENT", "16"),
        ]),
    )
    .unwrap();
    assert!(s.sweep_interval.is_zero(), "0 turns reconciliation off");
    assert_eq!(s.instance_id, "web-1.eu");
    assert_eq!(s.front_door.trusted_proxies.len(), 2);
    assert_eq!(s.front_door.max_per_client, 16);
    for (name, bad) in [
        ("COMMENTGUARD_INSTANCE_ID", "web 1"),
        ("COMMENTGUARD_TRUSTED_PROXIES", "proxy.local"),
        ("COMMENTGUARD_MAX_CONNECTIONS", "0"),
        ("COMMENTGUARD_HEADER_TIMEOUT", "0s"),
        ("COMMENTGUARD_TIMEZONE", "Mars/Olympus_Mons"),
    ] {
        let err = Settings::load(None, &env(&[(name, bad)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(name), "{name}={bad}: {err}");
    }
}

#[test]
fn workers_may_be_zero_for_a_receiving_instance_but_not_garbage() {
    let s = Settings::load(None, &env(&[("COMMENTGUARD_WORKERS", "0")])).unwrap();
    assert_eq!(s.workers, 0);
    assert_eq!(Settings::load(None, &env(&[])).unwrap().workers, 4);
    let err = Settings::load(None, &env(&[("COMMENTGUARD_WORKERS", "-1")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("COMMENTGUARD_WORKERS"), "{err}");
}

#[test]
fn every_mistake_is_reported_at_once_with_where_it_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "lisen = \"127.0.0.1:1111\"\nworkers = \"many\"\nstory_poll = \"soon\"\n",
    )
    .unwrap();
    let err = Settings::load(
        Some(&path),
        &env(&[("COMMENTGUARD_TIMEZONE", "Mars/Olympus_Mons")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("4 settings are wrong"), "{err}");
    for part in [
        "unknown key `lisen`; did you mean `listen`?",
        "COMMENTGUARD_WORKERS: \"many\" is not a whole number (`workers` in",
        "COMMENTGUARD_STORY_POLL",
        "COMMENTGUARD_TIMEZONE",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
}

#[test]
fn a_secret_in_a_wrong_setting_is_not_repeated_in_the_error() {
    let err = Settings::load(
        None,
        &env(&[("COMMENTGUARD_DATABASE_URL", "mysql://u:hunter2@h/db")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("COMMENTGUARD_DATABASE_URL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn the_printed_settings_file_loads_back_as_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, keys::example_file()).unwrap();
    let from_file = Settings::load(Some(&path), &env(&[])).unwrap();
    let defaults = Settings::load(None, &env(&[])).unwrap();
    assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
}

#[test]
fn every_key_can_be_set_from_its_variable() {
    // A value other than the default for every key, each read back where it lands.
    let set = [
        ("COMMENTGUARD_LISTEN", "127.0.0.1:1"),
        ("COMMENTGUARD_ADMIN_LISTEN", "127.0.0.1:2"),
        ("COMMENTGUARD_APP_ID", "123"),
        ("COMMENTGUARD_APP_SECRET", "a,b"),
        ("COMMENTGUARD_VERIFY_TOKEN", "v"),
        ("COMMENTGUARD_ACCESS_TOKEN", "t"),
        ("COMMENTGUARD_INSTAGRAM_APP_SECRET", "i"),
        ("COMMENTGUARD_DATABASE_URL", "postgres://h/db"),
        ("COMMENTGUARD_RULES", "r"),
        ("COMMENTGUARD_GRAPH_URL", "http://g/"),
        ("COMMENTGUARD_INSTAGRAM_GRAPH_URL", "http://ig"),
        ("COMMENTGUARD_GRAPH_VERSION", "v1.0"),
        ("COMMENTGUARD_DRY_RUN", "yes"),
        ("COMMENTGUARD_ADMIN_TOKEN", "adm"),
        ("COMMENTGUARD_ACCOUNT_IDS", "1,2"),
        ("COMMENTGUARD_STORY_POLL", "1m"),
        ("COMMENTGUARD_LOG_FORMAT", "json"),
        ("COMMENTGUARD_BODY_LIMIT", "10"),
        ("COMMENTGUARD_RETENTION", "1d"),
        ("COMMENTGUARD_WORKERS", "2"),
        ("COMMENTGUARD_GRAPH_TIMEOUT", "2s"),
        ("COMMENTGUARD_RETRY_BASE", "2s"),
        ("COMMENTGUARD_AUTO_SHADOW_SHARE", "0.5"),
        ("COMMENTGUARD_AUTO_SHADOW_MIN_COMMENTS", "3"),
        ("COMMENTGUARD_RULE_STATS_INTERVAL", "3s"),
        ("COMMENTGUARD_TLS_CERT", "c.pem"),
        ("COMMENTGUARD_TLS_KEY", "k.pem"),
        ("COMMENTGUARD_TLS_CLIENT_CA", "ca.pem"),
        ("COMMENTGUARD_HEADER_TIMEOUT", "4s"),
        ("COMMENTGUARD_MAX_CONNECTIONS", "5"),
        ("COMMENTGUARD_MAX_CONNECTIONS_PER_CLIENT", "6"),
        ("COMMENTGUARD_TRUSTED_PROXIES", "10.0.0.1"),
        ("COMMENTGUARD_INSTANCE_ID", "x"),
        ("COMMENTGUARD_CLAIM_TIMEOUT", "7s"),
        ("COMMENTGUARD_SWEEP_INTERVAL", "8s"),
        ("COMMENTGUARD_SWEEP_WINDOW", "9s"),
        ("COMMENTGUARD_LABEL_RETENTION", "10s"),
        ("COMMENTGUARD_RULES_NEXT", "n"),
        ("COMMENTGUARD_TIMEZONE", "Europe/Paris"),
    ];
    assert_eq!(set.len(), keys::KEYS.len(), "a key without a case here");
    let s = Settings::load(None, &env(&set)).unwrap();
    let secs = Duration::from_secs;
    assert_eq!(
        (s.listen.port(), s.admin_listen.port(), s.app_id.as_deref()),
        (1, 2, Some("123"))
    );
    assert_eq!((s.app_secrets.len(), s.webhook_secrets().len()), (2, 3));
    assert_eq!(s.verify_token.unwrap().expose(), "v");
    assert_eq!(s.access_token.unwrap().expose(), "t");
    assert_eq!(s.database_url.expose(), "postgres://h/db");
    assert_eq!(s.rules_dir, PathBuf::from("r"));
    assert_eq!(
        (s.graph_url.as_str(), s.instagram_graph_url.as_str()),
        ("http://g", "http://ig")
    );
    assert_eq!(s.graph_version, "v1.0");
    assert!(s.dry_run);
    assert_eq!(s.admin_token.unwrap().expose(), "adm");
    assert_eq!(s.account_ids, ["1", "2"]);
    assert_eq!((s.story_poll, s.retention), (secs(60), secs(86_400)));
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!((s.body_limit, s.workers), (10, 2));
    assert_eq!((s.graph_timeout, s.retry_base), (secs(2), secs(2)));
    assert_eq!((s.auto_shadow_share, s.auto_shadow_min_comments), (0.5, 3));
    assert_eq!(s.rule_stats_interval, secs(3));
    let tls = s.tls.unwrap();
    assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
    assert_eq!(s.front_door.header_timeout, secs(4));
    assert_eq!(
        (s.front_door.max_connections, s.front_door.max_per_client),
        (5, 6)
    );
    assert_eq!(s.front_door.trusted_proxies.len(), 1);
    assert_eq!(s.instance_id, "x");
    assert_eq!(
        (s.claim_timeout, s.sweep_interval, s.sweep_window),
        (secs(7), secs(8), secs(9))
    );
    assert_eq!(s.label_retention, secs(10));
    assert_eq!(s.rules_next, Some(PathBuf::from("n")));
    assert_eq!(s.timezone.iana_name(), Some("Europe/Paris"));
}

/// README.md and docs/INTERFACE.md carry the table the keys make.
/// `COMMENTGUARD_WRITE_DOCS=1 cargo test --lib settings_tables` rewrites them.
#[test]
fn the_settings_tables_in_the_docs_are_the_keys_table() {
    let table = keys::markdown_table();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in ["README.md", "docs/INTERFACE.md"] {
        let path = root.join(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = (
            "<!-- settings table: begin -->\n",
            "<!-- settings table: end -->",
        );
        let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
            panic!("{doc} has no settings table markers")
        };
        let shown = &text[b + begin.len()..e];
        if shown != table && std::env::var_os("COMMENTGUARD_WRITE_DOCS").is_some() {
            let new = format!("{}{table}{}", &text[..b + begin.len()], &text[e..]);
            std::fs::write(&path, new).unwrap();
            continue;
        }
        assert_eq!(
            shown, table,
            "{doc}: run COMMENTGUARD_WRITE_DOCS=1 cargo test --lib settings_tables"
        );
    }
}

#[test]
fn a_blank_value_is_the_default_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let blanks = "timezone = \"\"\nworkers = \"  \"\ngraph_url = \"\"\n";
    std::fs::write(
        &path,
        format!("{blanks}[accounts.42]\nacess_token = \"t\"\n"),
    )
    .unwrap();
    let err = Settings::load(Some(&path), &env(&[("COMMENTGUARD_LISTEN", "  ")]))
        .unwrap_err()
        .to_string();
    // The one mistake left is the misspelt key, named with its account.
    assert!(
        err.contains("[accounts.42]") && err.contains("acess_token"),
        "{err}"
    );
    std::fs::write(&path, blanks).unwrap();
    let s = Settings::load(Some(&path), &env(&[("COMMENTGUARD_LISTEN", "  ")])).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.workers, 4);
    assert_eq!(s.graph_url, "https://graph.facebook.com");
    assert_eq!(s.timezone.iana_name(), Some("UTC"));
}
