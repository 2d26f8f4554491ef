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
