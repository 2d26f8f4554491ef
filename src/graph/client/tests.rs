//! The client's own tests: URLs, the appsecret proof, ids, paging.

use super::*;
use crate::secret::Secret;

fn client(base: &str, version: &str) -> GraphClient {
    GraphClient::new(GraphConfig {
        base_url: base.into(),
        version: version.into(),
        app_secret: Some(Secret::new("appsecret")),
        timeout: Duration::from_secs(1),
        instagram: None,
    })
}

#[test]
fn urls_are_built_from_base_and_version() {
    let c = client("https://graph.facebook.com", "v23.0");
    assert_eq!(
        c.url("acct", &["123", "replies"]).unwrap().as_str(),
        "https://graph.facebook.com/v23.0/123/replies"
    );
    let c = client("http://127.0.0.1:9/prefix/", "v1");
    assert_eq!(
        c.url("acct", &["1"]).unwrap().as_str(),
        "http://127.0.0.1:9/prefix/v1/1"
    );
}

#[test]
fn appsecret_proof_is_hex_hmac_sha256() {
    // echo -n token | openssl dgst -sha256 -hmac appsecret
    let c = client("https://x", "v1");
    let p = c.appsecret_proof("token").unwrap();
    assert_eq!(p.len(), 64);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"appsecret").unwrap();
    mac.update(b"token");
    assert_eq!(p, hex::encode(mac.finalize().into_bytes()));
}

#[test]
fn ids_are_checked() {
    assert!(check_id("id", "17895695668004550").is_ok());
    assert!(check_id("id", "abc_12-3").is_ok());
    assert!(check_id("id", "").is_err());
    assert!(check_id("id", "1){x}").is_err());
    assert!(check_id("id", "../me").is_err());
}

#[test]
fn paging_follows_only_cursors_when_next_exists() {
    let p: Page<IdOnly> = serde_json::from_value(serde_json::json!({
        "data":[{"id":"1"}],
        "paging":{"cursors":{"after":"A"},"next":"https://graph/..?access_token=T&after=A"}
    }))
    .unwrap();
    assert_eq!(p.next_cursor().as_deref(), Some("A"));
    let last: Page<IdOnly> = serde_json::from_value(serde_json::json!({
        "data":[], "paging":{"cursors":{"after":"A"}}
    }))
    .unwrap();
    assert_eq!(last.next_cursor(), None);
}
