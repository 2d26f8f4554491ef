//! Who may use the admin listener: the admin API wants `Authorization: Bearer
//! $COMMENTGUARD_ADMIN_TOKEN`; the review page exchanges that token once for a session cookie.
//!
//! Sessions are stateless: the cookie is `EXPIRY.NONCE.PERSON.VIA.MAC` (VIA: `t` the admin
//! token, `p` a person's password), the MAC an HMAC-SHA256 keyed with the service's session
//! key (made at the first start and kept in the database), joined with the admin token for a
//! session signed in with the token. Every replica accepts every session and a restart keeps
//! them; changing or removing the admin token ends the sessions signed in with it. The CSRF token of a session's forms is another HMAC of the
//! cookie, so a form works only with the session it was rendered for.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ApiError;
use super::AdminState;
use crate::secret::{constant_time_eq, Secret};
use crate::store::now_ms;

type HmacSha256 = Hmac<Sha256>;

pub const SESSION_COOKIE: &str = "cg_session";
/// How long a review-page session lasts.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

/// Middleware for `/api/`: 403 when no admin token is configured, 401 on a wrong one.
pub async fn require_bearer(
    State(state): State<AdminState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let expected = state
        .settings
        .admin_token
        .as_ref()
        .ok_or(ApiError::Disabled)?;
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected) => Ok(next.run(req).await),
        _ => {
            metrics::counter!("commentguard_admin_auth_failures_total", "surface" => "api")
                .increment(1);
            Err(ApiError::Unauthorized)
        }
    }
}

fn mac(key: &Secret, purpose: &str, data: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key.expose().as_bytes()).expect("any key length");
    m.update(purpose.as_bytes());
    m.update(b"\0");
    m.update(data.as_bytes());
    m
}

/// How a session was signed in: with a person's own password, or with the admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Token,
    Password,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Token => "admin token",
            Via::Password => "password",
        }
    }
}

/// A new session cookie value, valid for [`SESSION_TTL_SECS`], for `person` (the name given
/// at sign-in: it goes with everything they do) signed in `via` a password or the token; both
/// are covered by the MAC.
pub fn new_session(key: &Secret, person: &str, via: Via) -> String {
    let expiry = now_ms() / 1000 + SESSION_TTL_SECS;
    let nonce: [u8; 16] = rand::random();
    let body = format!(
        "{expiry}.{}.{}.{}",
        hex::encode(nonce),
        hex::encode(person.as_bytes()),
        match via {
            Via::Token => "t",
            Via::Password => "p",
        }
    );
    let tag = hex::encode(mac(key, "session", &body).finalize().into_bytes());
    format!("{body}.{tag}")
}

/// True for an unexpired session cookie made with `key`.
pub fn session_valid(key: &Secret, cookie: &str) -> bool {
    let Some((body, tag)) = cookie.rsplit_once('.') else {
        return false;
    };
    let Some(expiry) = body.split('.').next().and_then(|e| e.parse::<i64>().ok()) else {
        return false;
    };
    let Ok(tag) = hex::decode(tag) else {
        return false;
    };
    expiry > now_ms() / 1000 && mac(key, "session", body).verify_slice(&tag).is_ok()
}

/// Who signed in with this (valid) session: the name given at sign-in, or `admin`.
pub fn session_person(session: &str) -> String {
    let parts = session.split('.').count();
    session
        .split('.')
        .nth(2)
        .filter(|_| parts == 4 || parts == 5)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "admin".to_string())
}

/// How this (valid) session was signed in. Sessions made before people had passwords were
/// all made with the admin token.
pub fn session_via(session: &str) -> Via {
    let parts: Vec<&str> = session.split('.').collect();
    if parts.len() == 5 && parts[3] == "p" {
        Via::Password
    } else {
        Via::Token
    }
}

/// The CSRF token of a session's forms.
pub fn csrf_token(key: &Secret, session: &str) -> String {
    hex::encode(mac(key, "csrf", session).finalize().into_bytes())
}

pub fn csrf_valid(key: &Secret, session: &str, presented: &str) -> bool {
    match hex::decode(presented) {
        Ok(tag) => mac(key, "csrf", session).verify_slice(&tag).is_ok(),
        Err(_) => false,
    }
}

/// The session cookies a request carries, not yet checked (see [`session_valid`]).
pub fn session_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
        .collect()
}

/// `Set-Cookie` for a session: HttpOnly (no script reads it), SameSite=Strict (no other site
/// sends it), Secure when the request came through a TLS proxy.
pub fn session_cookie(value: &str, headers: &HeaderMap) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECS}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_valid_only_with_its_key_and_untouched() {
        let key = Secret::new("admin-token");
        let s = new_session(&key, "Dana", Via::Password);
        assert!(session_valid(&key, &s));
        assert_eq!(session_person(&s), "Dana");
        assert_eq!(session_via(&s), Via::Password);
        // Claiming the token's standing for a password session breaks the MAC.
        let as_token = s.replacen(".p.", ".t.", 1);
        assert!(!session_valid(&key, &as_token));
        // Another name under the same MAC is refused.
        let parts: Vec<&str> = s.split('.').collect();
        let renamed = format!(
            "{}.{}.{}.{}.{}",
            parts[0],
            parts[1],
            hex::encode("Mallory"),
            parts[3],
            parts[4]
        );
        assert!(!session_valid(&key, &renamed));
        assert!(!session_valid(&Secret::new("rotated"), &s));
        let forged = format!("9999999999{}", &s[s.find('.').unwrap()..]);
        assert!(!session_valid(&key, &forged));
        assert!(!session_valid(&key, "garbage"));
    }

    #[test]
    fn csrf_token_is_bound_to_the_session() {
        let key = Secret::new("admin-token");
        let a = new_session(&key, "admin", Via::Token);
        let b = new_session(&key, "admin", Via::Token);
        let t = csrf_token(&key, &a);
        assert!(csrf_valid(&key, &a, &t));
        assert!(!csrf_valid(&key, &b, &t));
        assert!(!csrf_valid(&key, &a, "zz"));
    }
}
