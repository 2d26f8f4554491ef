//! Graph API client: every call commentguard makes to Meta.
//!
//! Owns the HTTP calls (hide, unhide, delete, reply, replies, mentions, stories, insights),
//! the classification of Meta's errors into [`GraphError`], and the per-account governor
//! (pauses on rate limits, slow-down near the limit, dead tokens after code 190). It decides
//! nothing about comments and stores nothing: retries, idempotence and the action log belong
//! to the action executor.
//!
//! Secrets: the access token travels only in the `Authorization: Bearer` header, never in a
//! URL; `appsecret_proof` goes with every call; error messages are scrubbed of both.

use std::time::Duration;

use crate::secret::Secret;

mod client;
mod endpoint;
mod error;
mod governor;
mod insights;
mod instagram;
mod listing;
pub mod setup;
pub mod timestamp;
pub mod usage;
mod wire;

pub use client::{Endpoint, MAX_REPLY_PAGES};
pub use error::DEFAULT_RATE_LIMIT_PAUSE;
pub use error::{classify, is_rate_limit_code, parse_error_body, ErrorBody, GraphError};
pub use governor::{AccountStatus, PAUSE_AT_PERCENT, SLOW_DOWN_ABOVE_PERCENT};
pub use insights::{parse_insights, MetricValue, STORY_NAVIGATION_BREAKDOWN};
pub use instagram::InstagramMe;
pub use listing::{CommentThread, ListedComment, MediaItem};
pub use wire::{MentionedComment, MentionedMedia, Story};

#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Scheme and host, for example `https://graph.facebook.com` (a path prefix is kept).
    pub base_url: String,
    /// API version path segment, for example `v23.0`.
    pub version: String,
    /// First configured app secret, for `appsecret_proof`. Without one no proof is sent.
    pub app_secret: Option<Secret>,
    /// Whole-request timeout (connect, send, answer).
    pub timeout: Duration,
    /// Accounts connected with Instagram Login and where their calls go.
    pub instagram: Option<InstagramHost>,
}

/// The Instagram Login host (graph.instagram.com) and the accounts served there. Their calls
/// carry no `appsecret_proof` (Meta documents it for graph.facebook.com only).
#[derive(Debug, Clone, Default)]
pub struct InstagramHost {
    pub base_url: String,
    pub accounts: std::collections::BTreeSet<String>,
    /// Every call goes to this host (`connect --instagram-login`, before the account is known).
    pub every_account: bool,
}

/// Which account a call is made for, and with which token.
#[derive(Debug, Clone)]
pub struct AccountCtx {
    pub account_id: String,
    pub token: Secret,
}

/// A reply (an IG Comment on an IG Comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: String,
    pub text: String,
    pub username: Option<String>,
}

/// The client. Cheap to clone: clones share the connection pool and the governor.
#[derive(Debug, Clone)]
pub struct GraphClient {
    pub config: GraphConfig,
    http: reqwest::Client,
    governor: std::sync::Arc<governor::Governor>,
}
