//! `X-Hub-Signature-256` verification: HMAC-SHA256 over the exact raw body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    #[error("signature does not match any configured app secret")]
    Mismatch,
}

impl SignatureError {
    /// A small fixed label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

/// Checks `header` (`sha256=<64 hex>`) against each secret, in constant time per secret.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[Secret]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    for secret in secrets {
        let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(body);
        // verify_slice compares in constant time.
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// `sha256=<hex>` for a body: what Meta sends, and what `simulate` and tests send.
pub fn sign(body: &[u8], secret: &Secret) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn published_test_vector_verifies() {
        let secret = Secret::new("It's a Secret to Everybody");
        assert_eq!(sign(b"Hello, World!", &secret), VECTOR);
        assert_eq!(verify(Some(VECTOR), b"Hello, World!", &[secret]), Ok(()));
    }

    #[test]
    fn wrong_body_secret_or_header_is_refused() {
        let secret = Secret::new("It's a Secret to Everybody");
        let other = Secret::new("another");
        assert_eq!(
            verify(
                Some(VECTOR),
                b"Hello, World?",
                std::slice::from_ref(&secret)
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(VECTOR), b"Hello, World!", std::slice::from_ref(&other)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, b"x", std::slice::from_ref(&secret)),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("sha1=abcdef"), b"x", std::slice::from_ref(&secret)),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("sha256=zz"), b"x", std::slice::from_ref(&secret)),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_of_several_secrets_verifies_during_rotation() {
        let old = Secret::new("old");
        let new = Secret::new("new");
        let sig = sign(b"body", &old);
        assert_eq!(verify(Some(&sig), b"body", &[new, old]), Ok(()));
    }
}
