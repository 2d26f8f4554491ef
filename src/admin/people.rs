//! Signing in as a person: passwords ([`crate::moderation::people`]), and failed sign-ins
//! rate-limited per name and address so a password cannot be guessed quickly.
//!
//! The admin token still signs in (as an admin, under the name given), and still works as the
//! bearer token of the API for tools.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::moderation::people::{generate_password, hash_password, verify_password};

/// Failed sign-ins per name and per address within a window: after
/// [`SignInLimiter::MAX_FAILURES`] for a name, or [`SignInLimiter::MAX_ADDRESS_FAILURES`] from
/// one address (whatever names it tried), that name or address is refused until the window
/// has passed, whatever the password. Kept in memory, per instance (a restart forgets it; with
/// several instances each counts its own).
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    pub const MAX_FAILURES: u32 = 5;
    /// One address may mistype a few people's passwords (a shared office), not try every name.
    pub const MAX_ADDRESS_FAILURES: u32 = 20;
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn name_key(name: &str) -> String {
        format!("name:{}", name.to_lowercase())
    }

    fn address_key(address: std::net::IpAddr) -> String {
        format!("addr:{address}")
    }

    fn blocked(&self, key: &str, max: u32) -> Result<(), Duration> {
        let map = self.failures.lock().expect("limiter lock");
        match map.get(key) {
            Some((n, since)) if *n >= max && since.elapsed() < Self::WINDOW => {
                Err(Self::WINDOW - since.elapsed())
            }
            _ => Ok(()),
        }
    }

    /// `Err(wait)` when this name has failed too often lately.
    pub fn check(&self, name: &str) -> Result<(), Duration> {
        self.blocked(&Self::name_key(name), Self::MAX_FAILURES)
    }

    /// `Err(wait)` when sign-ins from this address have failed too often lately.
    pub fn check_address(&self, address: std::net::IpAddr) -> Result<(), Duration> {
        self.blocked(&Self::address_key(address), Self::MAX_ADDRESS_FAILURES)
    }

    fn count(&self, key: String) {
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 10_000 {
            // Names are chosen by whoever signs in: keep the map from growing without end.
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        let entry = map.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn failed(&self, name: &str) {
        self.count(Self::name_key(name));
    }

    /// A failed sign-in from `address` (counted besides the name's).
    pub fn failed_from(&self, address: std::net::IpAddr) {
        self.count(Self::address_key(address));
    }

    /// Clears the name's count; the address's stays (one good password must not buy an
    /// address more guesses at other names).
    pub fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .expect("limiter lock")
            .remove(&Self::name_key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("Correct horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn five_failures_lock_the_name_and_a_success_clears_it() {
        let l = SignInLimiter::default();
        for _ in 0..SignInLimiter::MAX_FAILURES {
            assert!(l.check("Dana").is_ok());
            l.failed("Dana");
        }
        assert!(l.check("dana").is_err(), "names compare without case");
        assert!(l.check("Sam").is_ok());
        l.succeeded("Dana");
        assert!(l.check("Dana").is_ok());
    }

    #[test]
    fn one_address_trying_many_names_is_refused() {
        let l = SignInLimiter::default();
        let a: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let b: std::net::IpAddr = "203.0.113.8".parse().unwrap();
        for i in 0..SignInLimiter::MAX_ADDRESS_FAILURES {
            assert!(l.check_address(a).is_ok());
            l.failed(&format!("name-{i}"));
            l.failed_from(a);
        }
        assert!(l.check_address(a).is_err());
        assert!(
            l.check_address(b).is_ok(),
            "other addresses are not affected"
        );
        assert!(l.check("someone-else").is_ok());
        l.succeeded("name-1");
        assert!(
            l.check_address(a).is_err(),
            "a success does not clear the address"
        );
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_password());
    }
}
