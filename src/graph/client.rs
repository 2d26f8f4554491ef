//! The HTTP side of [`GraphClient`]: building requests, reading answers, and the calls.

use std::error::Error as _;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::Sha256;
use url::Url;

pub use super::endpoint::Endpoint;
use super::error::{classify, parse_error_body, GraphError};
use super::governor::{token_hash, AccountStatus, Admission};
use super::timestamp::parse_graph_timestamp;
use super::usage::usage_from_headers;
use super::wire::*;
use super::{AccountCtx, GraphClient, GraphConfig, Reply};

/// Most pages of replies read by [`GraphClient::list_replies`] (50 replies a page).
pub const MAX_REPLY_PAGES: usize = 5;
/// Most pages of stories read by [`GraphClient::stories`].
const MAX_STORY_PAGES: usize = 10;
const PAGE_SIZE: &str = "50";

mod paging;
mod stories;

fn unexpected(endpoint: Endpoint, detail: impl std::fmt::Display) -> GraphError {
    GraphError::Permanent {
        code: 0,
        message: format!("unexpected answer to {}: {detail}", endpoint.as_str()),
    }
}

pub(super) fn decode<T: DeserializeOwned>(endpoint: Endpoint, v: Value) -> Result<T, GraphError> {
    serde_json::from_value(v).map_err(|e| unexpected(endpoint, e))
}

/// Ids go into URL paths and into `fields` expressions: only plain id characters pass.
pub(super) fn check_id(what: &str, id: &str) -> Result<(), GraphError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(GraphError::Permanent {
            code: 100,
            message: format!("invalid {what} {id:?}: not sent to Graph"),
        })
    }
}

fn transport_error(e: reqwest::Error) -> GraphError {
    if e.is_builder() {
        return GraphError::Permanent {
            code: 0,
            message: format!("request could not be built: {}", e.without_url()),
        };
    }
    // A connect error (refused, DNS, TLS handshake, connect timeout) means no byte of the
    // request reached Meta. Anything later (a timeout waiting for the answer, a connection
    // reset) leaves the outcome unknown.
    let sent = !e.is_connect();
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut message = format!("{kind}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    GraphError::Transient { message, sent }
}

impl GraphClient {
    pub fn new(config: GraphConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("commentguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client (rustls) initialises");
        GraphClient {
            config,
            http,
            governor: Default::default(),
        }
    }

    /// Pause, slow-down and token state of one account, for ops.
    pub fn account_status(&self, account_id: &str) -> AccountStatus {
        self.governor.status(account_id)
    }

    /// `appsecret_proof`: lowercase hex HMAC-SHA256 of the token keyed with the app secret.
    pub fn appsecret_proof(&self, token: &str) -> Option<String> {
        let secret = self.config.app_secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(token.as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// The Instagram Login host, when `account` was connected with it.
    pub(super) fn instagram_host(&self, account: &str) -> Option<&str> {
        self.config
            .instagram
            .as_ref()
            .filter(|h| h.every_account || h.accounts.contains(account))
            .map(|h| h.base_url.as_str())
    }

    fn url(&self, account: &str, segments: &[&str]) -> Result<Url, GraphError> {
        let bad = |detail: String| GraphError::Permanent {
            code: 0,
            message: format!("invalid Graph base URL: {detail}"),
        };
        let base = self
            .instagram_host(account)
            .unwrap_or(&self.config.base_url);
        let mut url = Url::parse(base).map_err(|e| bad(e.to_string()))?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| bad("cannot have a path".into()))?;
            path.pop_if_empty();
            // The Instagram Login token exchange and refresh are documented without a version.
            let versionless = matches!(segments, ["access_token"] | ["refresh_access_token"]);
            if !self.config.version.is_empty() && !versionless {
                path.push(&self.config.version);
            }
            path.extend(segments);
        }
        Ok(url)
    }

    /// One call: governor, request, classification, governor bookkeeping, metrics.
    pub(super) async fn call(
        &self,
        ctx: &AccountCtx,
        endpoint: Endpoint,
        method: Method,
        segments: &[&str],
        params: Vec<(&'static str, String)>,
    ) -> Result<Value, GraphError> {
        let token = ctx.token.expose();
        let token_id = token_hash(token);
        let admitted = loop {
            match self.governor.admit(&ctx.account_id, token_id) {
                Admission::Wait(d) => tokio::time::sleep(d).await,
                other => break other,
            }
        };
        match admitted {
            Admission::Wait(_) => unreachable!("waited above"),
            Admission::Refuse(e) => {
                metrics::counter!(
                    "commentguard_graph_calls_refused_total",
                    "endpoint" => endpoint.as_str(),
                    "reason" => e.outcome_label()
                )
                .increment(1);
                tracing::debug!(
                    graph.endpoint = endpoint.as_str(),
                    graph.account_id = %ctx.account_id,
                    graph.outcome = e.outcome_label(),
                    "Graph call refused without network"
                );
                return Err(e);
            }
            Admission::Go(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
            Admission::Go(_) => {}
        }

        // Ends a probe with an untrusted token however the call ends (also when dropped).
        let mut settle = Settle {
            governor: &self.governor,
            account: &ctx.account_id,
            token: token_id,
            accepted: false,
        };
        let started = std::time::Instant::now();
        let proof = match self.instagram_host(&ctx.account_id) {
            Some(_) => None,
            None => self.appsecret_proof(token),
        };
        let result = self
            .send(ctx, endpoint, method, segments, params, proof.as_deref())
            .await
            .map_err(|e| e.scrubbed(&[token, proof.as_deref().unwrap_or_default()]));
        let elapsed = started.elapsed();
        // Meta answered and did not refuse the token: it is good.
        settle.accepted = matches!(
            &result,
            Ok(_)
                | Err(GraphError::Permanent { .. })
                | Err(GraphError::RateLimited { .. })
                | Err(GraphError::NotEnoughViewers)
        );
        drop(settle);

        match &result {
            Err(GraphError::RateLimited { code, retry_after }) => {
                self.governor.pause(&ctx.account_id, *code, *retry_after)
            }
            Err(GraphError::TokenInvalid { .. }) => {
                self.governor.mark_token_dead(&ctx.account_id, token_id)
            }
            _ => {}
        }
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.outcome_label(),
        };
        metrics::counter!(
            "commentguard_graph_calls_total",
            "endpoint" => endpoint.as_str(),
            "outcome" => outcome
        )
        .increment(1);
        metrics::histogram!(
            "commentguard_graph_call_duration_seconds",
            "endpoint" => endpoint.as_str()
        )
        .record(elapsed.as_secs_f64());
        tracing::debug!(
            graph.endpoint = endpoint.as_str(),
            graph.account_id = %ctx.account_id,
            graph.outcome = outcome,
            duration_ms = elapsed.as_millis() as u64,
            "Graph call finished"
        );
        result
    }

    async fn send(
        &self,
        ctx: &AccountCtx,
        endpoint: Endpoint,
        method: Method,
        segments: &[&str],
        mut params: Vec<(&'static str, String)>,
        proof: Option<&str>,
    ) -> Result<Value, GraphError> {
        let url = self.url(&ctx.account_id, segments)?;
        if let Some(p) = proof {
            params.push(("appsecret_proof", p.to_string()));
        }
        let is_post = method == Method::POST;
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(ctx.token.expose());
        // POST parameters (messages) go in the body, where no access log records them.
        req = if is_post {
            req.form(&params)
        } else {
            req.query(&params)
        };
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let usage = usage_from_headers(resp.headers());
        if let Some(u) = &usage {
            self.governor.observe_usage(&ctx.account_id, u);
        }
        let body = resp.bytes().await.map_err(|e| GraphError::Transient {
            message: format!("reading the answer failed: {}", e.without_url()),
            sent: true,
        })?;
        if (200..300).contains(&status) && parse_error_body(&body).is_none() {
            return serde_json::from_slice(&body).map_err(|_| GraphError::Transient {
                // A success whose body cannot be read: the effect may have happened.
                message: format!(
                    "HTTP {status} from {} with a body that is not JSON",
                    endpoint.as_str()
                ),
                sent: true,
            });
        }
        Err(classify(status, &body, usage.as_ref()))
    }

    pub(super) fn expect_success(endpoint: Endpoint, v: &Value) -> Result<(), GraphError> {
        match v.get("success") {
            Some(Value::Bool(false)) => Err(unexpected(endpoint, "success: false")),
            _ => Ok(()),
        }
    }

    /// Hides (`hide: true`) or shows again (`false`) a comment: `POST /{comment-id}?hide=`.
    pub async fn hide(
        &self,
        ctx: &AccountCtx,
        comment_id: &str,
        hide: bool,
    ) -> Result<(), GraphError> {
        check_id("comment id", comment_id)?;
        let endpoint = if hide {
            Endpoint::Hide
        } else {
            Endpoint::Unhide
        };
        let v = self
            .call(
                ctx,
                endpoint,
                Method::POST,
                &[comment_id],
                vec![("hide", hide.to_string())],
            )
            .await?;
        Self::expect_success(endpoint, &v)
    }

    /// Deletes a comment for good: `DELETE /{comment-id}`.
    pub async fn delete(&self, ctx: &AccountCtx, comment_id: &str) -> Result<(), GraphError> {
        check_id("comment id", comment_id)?;
        let v = self
            .call(ctx, Endpoint::Delete, Method::DELETE, &[comment_id], vec![])
            .await?;
        Self::expect_success(Endpoint::Delete, &v)
    }

    /// Replies to a top-level comment: `POST /{comment-id}/replies`. Returns the new id.
    ///
    /// Not idempotent: after an error with [`GraphError::outcome_unknown`], look for the reply
    /// with [`GraphClient::list_replies`] before trying again.
    pub async fn reply(
        &self,
        ctx: &AccountCtx,
        comment_id: &str,
        message: &str,
    ) -> Result<String, GraphError> {
        check_id("comment id", comment_id)?;
        let v = self
            .call(
                ctx,
                Endpoint::Reply,
                Method::POST,
                &[comment_id, "replies"],
                vec![("message", message.to_string())],
            )
            .await?;
        new_id(Endpoint::Reply, v)
    }

    /// The replies to a comment (`GET /{comment-id}/replies?fields=id,text,username`), newest
    /// first, following up to [`MAX_REPLY_PAGES`] pages.
    pub async fn list_replies(
        &self,
        ctx: &AccountCtx,
        comment_id: &str,
    ) -> Result<Vec<Reply>, GraphError> {
        check_id("comment id", comment_id)?;
        let replies: Vec<ReplyWire> = self
            .get_pages(
                ctx,
                Endpoint::Replies,
                &[comment_id, "replies"],
                "id,text,username",
                MAX_REPLY_PAGES,
            )
            .await?;
        Ok(replies
            .into_iter()
            .map(|r| Reply {
                id: r.id,
                text: r.text.unwrap_or_default(),
                username: r.username,
            })
            .collect())
    }

    /// Answers a mention: `POST /{ig-user-id}/mentions` with `media_id`, `comment_id` (for a
    /// mention in a comment; `None` for a caption mention) and `message`. Returns the new id.
    pub async fn mention_reply(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
        media_id: &str,
        comment_id: Option<&str>,
        message: &str,
    ) -> Result<String, GraphError> {
        check_id("ig user id", ig_user_id)?;
        check_id("media id", media_id)?;
        let mut params = vec![("media_id", media_id.to_string())];
        if let Some(c) = comment_id {
            check_id("comment id", c)?;
            params.push(("comment_id", c.to_string()));
        }
        params.push(("message", message.to_string()));
        let v = self
            .call(
                ctx,
                Endpoint::MentionReply,
                Method::POST,
                &[ig_user_id, "mentions"],
                params,
            )
            .await?;
        new_id(Endpoint::MentionReply, v)
    }

    /// The text of a comment that @mentions the account (mention webhooks carry no text).
    pub async fn mentioned_comment(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
        comment_id: &str,
    ) -> Result<MentionedComment, GraphError> {
        check_id("ig user id", ig_user_id)?;
        check_id("comment id", comment_id)?;
        let fields = format!(
            "mentioned_comment.comment_id({comment_id}){{id,text,username,timestamp,media{{id}}}}"
        );
        let mut v = self
            .call(
                ctx,
                Endpoint::MentionedComment,
                Method::GET,
                &[ig_user_id],
                vec![("fields", fields)],
            )
            .await?;
        let inner = v
            .get_mut("mentioned_comment")
            .map(Value::take)
            .ok_or_else(|| unexpected(Endpoint::MentionedComment, "no mentioned_comment"))?;
        let c: MentionedCommentWire = decode(Endpoint::MentionedComment, inner)?;
        Ok(MentionedComment {
            id: c.id,
            text: c.text.unwrap_or_default(),
            username: c.username,
            timestamp: c.timestamp,
            media_id: c.media.map(|m| m.id),
        })
    }

    /// One text field of a Graph object (`GET /{id}?fields=FIELD`): a media's `permalink`, an
    /// account's `username`. `None` when the object has no such field.
    pub async fn object_field(
        &self,
        ctx: &AccountCtx,
        id: &str,
        field: &'static str,
    ) -> Result<Option<String>, GraphError> {
        check_id("object id", id)?;
        let v = self
            .call(
                ctx,
                Endpoint::Object,
                Method::GET,
                &[id],
                vec![("fields", field.to_string())],
            )
            .await?;
        Ok(v.get(field).and_then(Value::as_str).map(str::to_string))
    }

    /// Several fields of one object (`fields` comma-separated), as the Graph API answers.
    pub async fn object_fields(
        &self,
        ctx: &AccountCtx,
        id: &str,
        fields: &'static str,
    ) -> Result<Value, GraphError> {
        check_id("object id", id)?;
        self.call(
            ctx,
            Endpoint::Object,
            Method::GET,
            &[id],
            vec![("fields", fields.to_string())],
        )
        .await
    }

    /// The caption of a media that @mentions the account.
    pub async fn mentioned_media(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
        media_id: &str,
    ) -> Result<MentionedMedia, GraphError> {
        check_id("ig user id", ig_user_id)?;
        check_id("media id", media_id)?;
        let fields =
            format!("mentioned_media.media_id({media_id}){{id,caption,username,media_type}}");
        let mut v = self
            .call(
                ctx,
                Endpoint::MentionedMedia,
                Method::GET,
                &[ig_user_id],
                vec![("fields", fields)],
            )
            .await?;
        let inner = v
            .get_mut("mentioned_media")
            .map(Value::take)
            .ok_or_else(|| unexpected(Endpoint::MentionedMedia, "no mentioned_media"))?;
        let m: MentionedMediaWire = decode(Endpoint::MentionedMedia, inner)?;
        Ok(MentionedMedia {
            id: m.id,
            caption: m.caption,
            username: m.username,
            media_type: m.media_type,
        })
    }
}

fn new_id(endpoint: Endpoint, v: Value) -> Result<String, GraphError> {
    match v.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        // The call succeeded but says nothing of what it created: the reply may exist.
        _ => Err(GraphError::Transient {
            message: format!("{} answered without an id", endpoint.as_str()),
            sent: true,
        }),
    }
}

/// Settles an admitted call with the governor when dropped.
struct Settle<'a> {
    governor: &'a super::governor::Governor,
    account: &'a str,
    token: super::governor::TokenHash,
    accepted: bool,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        self.governor
            .settle(self.account, self.token, self.accepted);
    }
}

#[cfg(test)]
mod tests;
