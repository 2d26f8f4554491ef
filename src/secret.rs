//! Secrets that never print.
//!
//! App secrets, verify tokens, access tokens and the admin token travel through the program in
//! this type, whose `Debug` and `Display` print `[redacted]`, so a `{:?}` in a log line or an
//! error message cannot leak them.

use std::fmt;

/// A string that must never appear in logs, errors or `Debug` output.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where the value is used (HMAC key, HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Compares a presented token with a configured one in constant time.
pub fn constant_time_eq(presented: &[u8], expected: &Secret) -> bool {
    use subtle::ConstantTimeEq;
    let expected = expected.expose().as_bytes();
    presented.len() == expected.len() && bool::from(presented.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{:?}", Some(s.clone())).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn constant_time_comparison() {
        let s = Secret::new("abc");
        assert!(constant_time_eq(b"abc", &s));
        assert!(!constant_time_eq(b"abd", &s));
        assert!(!constant_time_eq(b"ab", &s));
    }
}
