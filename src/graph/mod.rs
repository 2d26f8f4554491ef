//! Graph API client: every call commentguard makes to Meta.
//!
//! CONTRACT (implemented by the Graph work; actions and insights code against these names).

use std::time::Duration;

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub base_url: String,
    pub version: String,
    /// First configured app secret, for `appsecret_proof`.
    pub app_secret: Option<Secret>,
    pub timeout: Duration,
}

/// Which account a call is made for, and with which token.
#[derive(Debug, Clone)]
pub struct AccountCtx {
    pub account_id: String,
    pub token: Secret,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    /// Worth retrying later (5xx, timeouts, codes 1, 2, is_transient). `sent` is true when the
    /// request may have reached Meta (the outcome is unknown).
    #[error("transient Graph error: {message}")]
    Transient { message: String, sent: bool },
    /// Rate limited: no call for this account before `retry_after` has passed.
    #[error("rate limited (code {code}); retry after {retry_after:?}")]
    RateLimited { code: i64, retry_after: Duration },
    /// Code 190: the token is expired or invalid; calls for this account stop until it changes.
    #[error("access token rejected (code 190): {message}")]
    TokenInvalid { message: String },
    /// Do not retry; the reason is recorded.
    #[error("Graph error code {code}: {message}")]
    Permanent { code: i64, message: String },
    // TEMPORARY until the graph branch merges (the graph branch defines this variant).
    /// Code 10 "Not enough viewers for the media to show insights": fewer than 5 viewers.
    #[error("not enough viewers for the media to show insights (code 10)")]
    NotEnoughViewers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: String,
    pub text: String,
    pub username: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GraphClient {
    pub config: GraphConfig,
}

impl GraphClient {
    pub fn new(config: GraphConfig) -> Self {
        GraphClient { config }
    }
}

// TEMPORARY until the graph branch merges: signatures the actions and pipeline code use.
#[derive(Debug, Clone)]
pub struct MentionedComment {
    pub id: String,
    pub text: String,
    pub username: Option<String>,
    pub timestamp: Option<String>,
    pub media_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MentionedMedia {
    pub id: String,
    pub caption: Option<String>,
    pub username: Option<String>,
    pub media_type: Option<String>,
}

// TEMPORARY until the graph branch merges: the story listing the insights poller uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub media_type: Option<String>,
}

impl GraphClient {
    fn pending() -> GraphError {
        GraphError::Permanent {
            code: 0,
            message: "graph client not merged yet".into(),
        }
    }
    pub async fn hide(&self, _: &AccountCtx, _: &str, _: bool) -> Result<(), GraphError> {
        Err(Self::pending())
    }
    pub async fn delete(&self, _: &AccountCtx, _: &str) -> Result<(), GraphError> {
        Err(Self::pending())
    }
    pub async fn reply(&self, _: &AccountCtx, _: &str, _: &str) -> Result<String, GraphError> {
        Err(Self::pending())
    }
    pub async fn list_replies(&self, _: &AccountCtx, _: &str) -> Result<Vec<Reply>, GraphError> {
        Err(Self::pending())
    }
    pub async fn mention_reply(
        &self,
        _: &AccountCtx,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: &str,
    ) -> Result<String, GraphError> {
        Err(Self::pending())
    }
    pub async fn mentioned_comment(
        &self,
        _: &AccountCtx,
        _: &str,
        _: &str,
    ) -> Result<MentionedComment, GraphError> {
        Err(Self::pending())
    }
    pub async fn mentioned_media(
        &self,
        _: &AccountCtx,
        _: &str,
        _: &str,
    ) -> Result<MentionedMedia, GraphError> {
        Err(Self::pending())
    }
    // TEMPORARY until the graph branch merges
    pub async fn stories(&self, _: &AccountCtx, _: &str) -> Result<Vec<Story>, GraphError> {
        Err(Self::pending())
    }
    // TEMPORARY until the graph branch merges
    pub async fn story_insights(
        &self,
        _: &AccountCtx,
        _: &str,
        _: &[&str],
    ) -> Result<serde_json::Value, GraphError> {
        Err(Self::pending())
    }
}
