//! Graph API errors: the typed error every call returns, and the classification of Meta's
//! error bodies into it (reference: meta-webhooks.md section 6 and the Instagram error table).

use std::time::Duration;

use serde::Deserialize;

use super::usage::Usage;

/// How long to pause an account after a rate-limit error that announces no time.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Worth retrying later (5xx, timeouts, connection errors, codes 1, 2, `is_transient`).
    /// `sent` is true when the request may have reached Meta (the outcome is unknown: a reply
    /// may exist); false when it surely did not (for example the connection was refused).
    #[error("transient Graph error: {message}")]
    Transient { message: String, sent: bool },
    /// Rate limited: no call for this account before `retry_after` has passed. `code` is Meta's
    /// error code (4, 17, 32, 341, 613, 80002, ...), or 0 when the client paused on its own
    /// because the usage headers reached the limit.
    #[error("rate limited (code {code}); retry after {retry_after:?}")]
    RateLimited { code: i64, retry_after: Duration },
    /// Code 190: the token is expired or invalid; calls for this account stop until it changes.
    #[error("access token rejected (code 190): {message}")]
    TokenInvalid { message: String },
    /// Do not retry; the reason is recorded.
    #[error("Graph error code {code}: {message}")]
    Permanent { code: i64, message: String },
    /// Code 10 "Not enough viewers for the media to show insights" on story insights: the story
    /// has fewer than 5 viewers. Not a failure: record it and do not retry soon.
    #[error("not enough viewers for the media to show insights")]
    NotEnoughViewers,
}

impl GraphError {
    /// Whether calling again later can succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GraphError::Transient { .. } | GraphError::RateLimited { .. }
        )
    }

    /// True when the request may have had its effect even though no success was seen
    /// (before retrying a reply, look for it).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, GraphError::Transient { sent: true, .. })
    }

    /// The earliest time worth trying again, when Meta (or the governor) said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GraphError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The `outcome` label of `commentguard_graph_calls_total`.
    pub fn outcome_label(&self) -> &'static str {
        match self {
            GraphError::Transient { .. } => "transient",
            GraphError::RateLimited { .. } => "rate_limited",
            GraphError::TokenInvalid { .. } => "token_invalid",
            GraphError::Permanent { .. } => "permanent",
            GraphError::NotEnoughViewers => "not_enough_viewers",
        }
    }

    /// Replaces every occurrence of the given secrets in the messages by `[redacted]`, so that
    /// an error echoed by a server or a library can never carry a token into a log.
    pub(crate) fn scrubbed(self, secrets: &[&str]) -> Self {
        let scrub = |mut m: String| {
            for s in secrets.iter().filter(|s| s.len() >= 4) {
                if m.contains(*s) {
                    m = m.replace(*s, "[redacted]");
                }
            }
            m
        };
        match self {
            GraphError::Transient { message, sent } => GraphError::Transient {
                message: scrub(message),
                sent,
            },
            GraphError::TokenInvalid { message } => GraphError::TokenInvalid {
                message: scrub(message),
            },
            GraphError::Permanent { code, message } => GraphError::Permanent {
                code,
                message: scrub(message),
            },
            other => other,
        }
    }
}

/// The `error` object of a Graph error body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub is_transient: Option<bool>,
    #[serde(default)]
    pub error_user_title: Option<String>,
    #[serde(default)]
    pub error_user_msg: Option<String>,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorBody,
}

/// Extracts the `error` object, if the body is a Graph error body.
pub fn parse_error_body(body: &[u8]) -> Option<ErrorBody> {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error)
}

/// Codes that mean "a limit was reached, wait": app (4), user (17), page (32), application
/// limit (341), custom (613), business use case (80000-80014, Instagram is 80002).
pub fn is_rate_limit_code(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 341 | 613 | 80000..=80014)
}

/// Codes that mean "the service had a problem, try again": unknown (1), service (2).
fn is_transient_code(code: i64) -> bool {
    matches!(code, 1 | 2)
}

fn describe(e: &ErrorBody) -> String {
    let mut m = e
        .message
        .clone()
        .unwrap_or_else(|| "no message".to_string());
    let mut extra = Vec::new();
    if let Some(t) = &e.kind {
        extra.push(format!("type {t}"));
    }
    if let Some(s) = e.error_subcode {
        extra.push(format!("subcode {s}"));
    }
    if let Some(u) = &e.error_user_msg {
        extra.push(format!("user message {u:?}"));
    }
    if let Some(f) = &e.fbtrace_id {
        extra.push(format!("fbtrace_id {f}"));
    }
    if !extra.is_empty() {
        m.push_str(" (");
        m.push_str(&extra.join(", "));
        m.push(')');
    }
    m
}

fn rate_limit_wait(usage: Option<&Usage>) -> Duration {
    usage
        .and_then(|u| u.regain_after)
        .unwrap_or(DEFAULT_RATE_LIMIT_PAUSE)
}

/// Classifies an error answer (`status` not 2xx, or a body carrying `error`).
///
/// The request reached the server, so a transient result always has `sent: true`.
pub fn classify(status: u16, body: &[u8], usage: Option<&Usage>) -> GraphError {
    let Some(e) = parse_error_body(body) else {
        let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
        let message = format!("HTTP {status} with a body that is not a Graph error: {snippet:?}");
        return if status == 429 {
            GraphError::RateLimited {
                code: 0,
                retry_after: rate_limit_wait(usage),
            }
        } else if status >= 500 {
            GraphError::Transient {
                message,
                sent: true,
            }
        } else {
            GraphError::Permanent { code: 0, message }
        };
    };
    let code = e.code.unwrap_or(0);
    let message = describe(&e);
    if code == 190 {
        return GraphError::TokenInvalid { message };
    }
    if code == 10
        && e.message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("not enough viewers"))
    {
        return GraphError::NotEnoughViewers;
    }
    if is_rate_limit_code(code) {
        return GraphError::RateLimited {
            code,
            retry_after: rate_limit_wait(usage),
        };
    }
    if is_transient_code(code) || e.is_transient == Some(true) || status >= 500 {
        return GraphError::Transient {
            message: format!("HTTP {status}, code {code}: {message}"),
            sent: true,
        };
    }
    GraphError::Permanent { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: i64, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"error":{{"message":"m{code}","type":"OAuthException","code":{code}{extra},"fbtrace_id":"T"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn retry_later_codes_are_transient_or_rate_limited() {
        for code in [1, 2] {
            assert!(matches!(
                classify(400, &body(code, ""), None),
                GraphError::Transient { sent: true, .. }
            ));
        }
        for code in [4, 17, 32, 341, 613, 80002] {
            assert_eq!(
                classify(400, &body(code, ""), None),
                GraphError::RateLimited {
                    code,
                    retry_after: DEFAULT_RATE_LIMIT_PAUSE
                },
                "code {code}"
            );
        }
    }

    #[test]
    fn rate_limit_waits_for_the_announced_time() {
        let usage = Usage {
            max_percent: 100.0,
            regain_after: Some(Duration::from_secs(300)),
        };
        assert_eq!(
            classify(400, &body(80002, ""), Some(&usage)).retry_after(),
            Some(Duration::from_secs(300))
        );
    }

    #[test]
    fn is_transient_flag_and_5xx_are_transient() {
        assert!(matches!(
            classify(400, &body(100, r#","is_transient":true"#), None),
            GraphError::Transient { .. }
        ));
        assert!(matches!(
            classify(503, &body(100, ""), None),
            GraphError::Transient { .. }
        ));
    }

    #[test]
    fn token_and_permission_and_policy_errors_are_final() {
        assert!(matches!(
            classify(400, &body(190, r#","error_subcode":463"#), None),
            GraphError::TokenInvalid { .. }
        ));
        for code in [100, 10, 200, 230, 299, 368, 36000] {
            assert!(
                matches!(classify(400, &body(code, ""), None), GraphError::Permanent { code: c, .. } if c == code),
                "code {code}"
            );
        }
    }

    #[test]
    fn not_enough_viewers_is_its_own_outcome() {
        let b = br#"{"error":{"message":"(#10) Not enough viewers for the media to show insights","type":"OAuthException","code":10}}"#;
        assert_eq!(classify(400, b, None), GraphError::NotEnoughViewers);
    }

    #[test]
    fn bodies_that_are_not_json() {
        assert!(matches!(
            classify(502, b"<html>Bad gateway</html>", None),
            GraphError::Transient { sent: true, .. }
        ));
        assert!(matches!(
            classify(400, b"<html>nope</html>", None),
            GraphError::Permanent { code: 0, .. }
        ));
        assert!(matches!(
            classify(429, b"", None),
            GraphError::RateLimited { .. }
        ));
    }

    #[test]
    fn messages_keep_the_reason() {
        let e = classify(
            400,
            br#"{"error":{"message":"Unsupported post request","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}"#,
            None,
        );
        let text = e.to_string();
        assert!(text.contains("Unsupported post request"), "{text}");
        assert!(
            text.contains("subcode 33") && text.contains("AbC"),
            "{text}"
        );
    }

    #[test]
    fn scrubbing_removes_secrets() {
        let e = GraphError::Permanent {
            code: 100,
            message: "bad token EAAsecret123 given".into(),
        }
        .scrubbed(&["EAAsecret123"]);
        assert!(!e.to_string().contains("EAAsecret123"));
    }
}
