//! A fake Graph API: a real HTTP server on 127.0.0.1 that behaves enough like Meta's for
//! commentguard's calls, records every request, and fails on command.
//!
//! # Use
//!
//! ```ignore
//! let fake = FakeGraph::start().await;
//! let client = GraphClient::new(fake.config());          // base URL, v23.0, app secret
//! fake.fail_next("reply", 1, Fault::apply_then(500));    // create the reply, then answer 500
//! // ... run the code under test ...
//! let posts = fake.wait_for_calls("reply", 1, Duration::from_secs(5)).await;
//! assert_eq!(posts[0].param("message"), Some("Thanks!"));
//! assert_eq!(fake.replies_to("c1").len(), 1);
//! ```
//!
//! # What it implements (paths are `/{version}/...`, any version)
//!
//! | endpoint label      | request                                              | state            |
//! |---------------------|------------------------------------------------------|------------------|
//! | `hide` / `unhide`   | `POST /{comment}` with `hide=true/false`             | [`FakeGraph::is_hidden`] |
//! | `delete`            | `DELETE /{comment}`                                  | [`FakeGraph::is_deleted`] |
//! | `reply`             | `POST /{comment}/replies` with `message`             | [`FakeGraph::replies_to`] |
//! | `replies`           | `GET /{comment}/replies` (paged, `limit`, `after`)   | newest first     |
//! | `mention_reply`     | `POST /{ig-user}/mentions` (`media_id`, `comment_id`, `message`) | [`FakeGraph::mention_replies`] |
//! | `mentioned_comment` | `GET /{ig-user}?fields=mentioned_comment.comment_id(ID){..}` | [`FakeGraph::set_mentioned_comment`] |
//! | `mentioned_media`   | `GET /{ig-user}?fields=mentioned_media.media_id(ID){..}` | [`FakeGraph::set_mentioned_media`] |
//! | `stories`           | `GET /{ig-user}/stories` (paged)                     | [`FakeGraph::add_story`] |
//! | `insights`          | `GET /{story}/insights?metric=a,b[&breakdown=..]`    | [`FakeGraph::set_insights`] |
//! | `media`             | `GET /{ig-user}/media` (paged, newest first)         | [`FakeGraph::add_media`] |
//! | `live_media`        | `GET /{ig-user}/live_media`                          | [`FakeGraph::add_live_media`] |
//! | `comments`          | `GET /{media}/comments` (paged, newest first; `replies{..}` in `fields` expands each comment's first page of replies) | [`FakeGraph::add_comment`], [`FakeGraph::add_user_reply`] |
//!
//! The link to Meta (the app, its subscription, Pages, tokens): see [`super::fake_meta`].
//!
//! Anything else is recorded with endpoint `unknown` and answered like Meta: 400, code 100.
//! Parameters are read from the query string and from a form body alike
//! ([`RecordedRequest::param`]), as Meta does.
//!
//! # Authentication, like Meta
//!
//! No `Authorization: Bearer` header: 400 code 190. A token passed to
//! [`FakeGraph::revoke_token`]: 400 code 190 subcode 463. An `appsecret_proof` that is not
//! the HMAC of the token with [`FakeGraph::APP_SECRET`] (or [`FakeGraph::set_app_secret`]):
//! 400 code 100; a missing proof is accepted unless [`FakeGraph::require_appsecret_proof`].
//! An `access_token` in the query string is recorded ([`RecordedRequest::token_in_url`]) and
//! refused with 400 code 100, so that any code that leaks a token into a URL fails loudly.
//!
//! # Failing on command
//!
//! [`FakeGraph::fail_next`]`(endpoint, n, fault)` makes the next `n` requests for `endpoint`
//! (`"*"`: any) meet `fault` instead of the normal answer (faults are used in the order they
//! were queued): [`Fault::graph_error`], [`Fault::server_error`], [`Fault::rate_limited`]
//! (with usage headers), [`Fault::token_expired`], [`Fault::not_enough_viewers`],
//! [`Fault::non_json`], [`Fault::delay`] (answer normally, later: client timeouts),
//! [`Fault::drop_connection`], and [`Fault::apply_then`] (do the work, e.g. create the reply,
//! then answer an error: the "created but answered 500" case). Every request, failed or not,
//! is recorded first.
//!
//! # Time
//!
//! [`FakeGraph::wait_for`] bounds its wait with the real clock, so it works with tokio's
//! paused clock too. Beware that a paused clock auto-advances while tasks wait on sockets,
//! which fires reqwest timeouts early: keep HTTP calls to the fake outside paused-time
//! sections, or use long client timeouts there.

#![allow(dead_code)] // Shared by many test modules; each uses a part.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use commentguard::graph::timestamp::format_graph_timestamp;
use commentguard::graph::GraphConfig;
use commentguard::secret::Secret;
use hmac::{Hmac, Mac};

use super::fake_meta::FakeMeta;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `hide`, `unhide`, `delete`, `reply`, `replies`, `mention_reply`, `mentioned_comment`,
    /// `mentioned_media`, `stories`, `insights` or `unknown` (the client's metric labels).
    pub endpoint: String,
    pub method: String,
    /// Full path, e.g. `/v23.0/17895695668004550/replies`.
    pub path: String,
    /// The version segment, e.g. `v23.0`.
    pub version: String,
    /// The node the call is about: the comment, ig-user or story id.
    pub object_id: String,
    /// The raw query string (what an access log would show).
    pub raw_query: String,
    pub query: BTreeMap<String, String>,
    /// `application/x-www-form-urlencoded` body parameters.
    pub form: BTreeMap<String, String>,
    /// The token of `Authorization: Bearer`, if any.
    pub bearer: Option<String>,
    /// `appsecret_proof` from the query or the body, if any.
    pub appsecret_proof: Option<String>,
    /// When the request arrived (tokio clock).
    pub at: tokio::time::Instant,
}

impl RecordedRequest {
    /// A parameter from the body, else from the query string.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .get(name)
            .or_else(|| self.query.get(name))
            .map(String::as_str)
    }

    /// True when an access token appears anywhere in the URL (it never should).
    pub fn token_in_url(&self) -> bool {
        self.query.contains_key("access_token")
            || self
                .bearer
                .as_deref()
                .is_some_and(|t| !t.is_empty() && self.raw_query.contains(t))
    }

    /// The id inside `mentioned_comment.comment_id(ID)` / `mentioned_media.media_id(ID)`.
    pub fn mentioned_id(&self) -> Option<&str> {
        let f = self.param("fields")?;
        let start = f.find('(')? + 1;
        let end = start + f[start..].find(')')?;
        Some(&f[start..end])
    }
}

/// What the fake does instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this, do nothing else.
    Respond {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Wait, then answer normally. The work (a reply created...) happens after the wait even
    /// if the client timed out meanwhile, as on a slow Meta.
    Delay(Duration),
    /// Close the connection without answering, after the request was read.
    Drop,
    /// Do the normal work (create the reply, hide, ...), then answer this instead of success.
    ApplyThenRespond { status: u16, body: String },
}

fn graph_error_body(code: i64, subcode: Option<i64>, message: &str, transient: bool) -> String {
    let mut e = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "is_transient": transient,
        "fbtrace_id": "AFakeTraceId"
    });
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    json!({ "error": e }).to_string()
}

impl Fault {
    /// Any status and body.
    pub fn status(status: u16, body: impl Into<String>) -> Fault {
        Fault::Respond {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A Graph error body `{"error":{message,type,code,is_transient:false,fbtrace_id}}`.
    pub fn graph_error(status: u16, code: i64, message: &str) -> Fault {
        Fault::status(status, graph_error_body(code, None, message, false))
    }

    /// HTTP 500 with a transient Graph error (code 2).
    pub fn server_error() -> Fault {
        Fault::status(
            500,
            graph_error_body(2, None, "An unexpected error has occurred.", true),
        )
    }

    /// HTTP 400 with a rate-limit `code` (4, 17, 32, 613, 80002...) and usage headers saying
    /// 100% used and access regained in `regain_minutes`.
    pub fn rate_limited(code: i64, regain_minutes: u64) -> Fault {
        Fault::status(
            400,
            graph_error_body(code, None, "(#4) Application request limit reached", false),
        )
        .with_header("x-app-usage", r#"{"call_count":100,"total_time":40,"total_cputime":30}"#)
        .with_header(
            "x-business-use-case-usage",
            &format!(
                r#"{{"17841400000000000":[{{"type":"instagram","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":{regain_minutes}}}]}}"#
            ),
        )
    }

    /// HTTP 400, code 190 subcode 463: the token expired.
    pub fn token_expired() -> Fault {
        Fault::status(
            400,
            graph_error_body(
                190,
                Some(463),
                "Error validating access token: Session has expired.",
                false,
            ),
        )
    }

    /// HTTP 400, code 10: "Not enough viewers for the media to show insights".
    pub fn not_enough_viewers() -> Fault {
        Fault::status(400, not_enough_viewers_body())
    }

    /// `status` with an HTML body.
    pub fn non_json(status: u16) -> Fault {
        Fault::status(status, "<html><body>Something went wrong</body></html>")
    }

    /// Answer normally after `d`.
    pub fn delay(d: Duration) -> Fault {
        Fault::Delay(d)
    }

    /// Close the connection without an answer.
    pub fn drop_connection() -> Fault {
        Fault::Drop
    }

    /// Do the work, then answer `status` with a transient Graph error body.
    pub fn apply_then(status: u16) -> Fault {
        Fault::ApplyThenRespond {
            status,
            body: graph_error_body(2, None, "An unexpected error has occurred.", true),
        }
    }

    /// Adds a response header (only to [`Fault::Respond`]).
    pub fn with_header(mut self, name: &str, value: &str) -> Fault {
        if let Fault::Respond { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

fn not_enough_viewers_body() -> String {
    graph_error_body(
        10,
        None,
        "(#10) Not enough viewers for the media to show insights",
        false,
    )
}

/// A reply stored by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReply {
    pub id: String,
    pub text: String,
    pub username: String,
}

/// A `POST /{ig-user}/mentions` the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionReplyRecord {
    pub id: String,
    pub ig_user_id: String,
    pub media_id: String,
    pub comment_id: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone)]
struct FakeStory {
    id: String,
    timestamp: i64,
    media_type: String,
}

#[derive(Debug, Clone)]
struct FakeInsights {
    metrics: Vec<(String, i64)>,
    navigation: Vec<(String, i64)>,
    not_enough_viewers: bool,
}

struct PendingFault {
    endpoint: String,
    /// Matching requests answered normally before this fault starts.
    skip: usize,
    remaining: usize,
    fault: Fault,
}

struct FakeState {
    requests: Vec<RecordedRequest>,
    faults: VecDeque<PendingFault>,
    hidden: HashMap<String, bool>,
    deleted: BTreeSet<String>,
    replies: HashMap<String, Vec<FakeReply>>,
    mention_replies: Vec<MentionReplyRecord>,
    stories: BTreeMap<String, Vec<FakeStory>>,
    removed_stories: HashSet<String>,
    insights: HashMap<String, FakeInsights>,
    mentioned_comments: HashMap<String, Value>,
    mentioned_media: HashMap<String, Value>,
    revoked_tokens: HashSet<String>,
    app_secret: String,
    require_proof: bool,
    default_headers: Vec<(String, String)>,
    page_size: usize,
    next_id: u64,
    own_username: String,
    /// The IG user id of the account whose token calls: `from.id` of its own replies.
    own_user_id: String,
    media: BTreeMap<String, Vec<Value>>,
    live_media: BTreeMap<String, Vec<Value>>,
    /// Per media: top-level comments, oldest first.
    comments: HashMap<String, Vec<Value>>,
    /// Per comment: replies by people (the account's own are in `replies`), oldest first.
    user_replies: HashMap<String, Vec<Value>>,
    /// The app, its subscription, Pages and tokens.
    meta: FakeMeta,
}

struct Shared {
    state: Mutex<FakeState>,
    changed: Notify,
}

/// The fake Graph API server. Dropping it stops accepting connections.
pub struct FakeGraph {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Per-connection handle: notified to drop that connection.
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

impl FakeGraph {
    /// The app secret the fake checks `appsecret_proof` against by default.
    pub const APP_SECRET: &'static str = "fake-graph-app-secret";
    /// The API version [`FakeGraph::config`] uses.
    pub const VERSION: &'static str = "v23.0";

    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start() -> FakeGraph {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Graph API");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                requests: Vec::new(),
                faults: VecDeque::new(),
                hidden: HashMap::new(),
                deleted: BTreeSet::new(),
                replies: HashMap::new(),
                mention_replies: Vec::new(),
                stories: BTreeMap::new(),
                removed_stories: HashSet::new(),
                insights: HashMap::new(),
                mentioned_comments: HashMap::new(),
                mentioned_media: HashMap::new(),
                revoked_tokens: HashSet::new(),
                app_secret: Self::APP_SECRET.to_string(),
                require_proof: false,
                default_headers: Vec::new(),
                page_size: 50,
                next_id: 1,
                own_username: "brand".to_string(),
                own_user_id: "17841400000000000".to_string(),
                media: BTreeMap::new(),
                live_media: BTreeMap::new(),
                comments: HashMap::new(),
                user_replies: HashMap::new(),
                meta: FakeMeta::default(),
            }),
            changed: Notify::new(),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let kill = ConnKill(Arc::new(Notify::new()));
                let svc = hyper_util::service::TowerToHyperService::new(
                    router.clone().layer(Extension(kill.clone())),
                );
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                    // Dropping the connection future closes the socket mid-request.
                    tokio::select! {
                        _ = conn => {}
                        _ = kill.0.notified() => {}
                    }
                });
            }
        });
        FakeGraph {
            addr,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:PORT` (no version, no trailing slash): the `graph_url` setting.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this fake: its URL, [`FakeGraph::VERSION`],
    /// [`FakeGraph::APP_SECRET`], and a 5 s timeout.
    pub fn config(&self) -> GraphConfig {
        GraphConfig {
            base_url: self.url(),
            version: Self::VERSION.to_string(),
            app_secret: Some(Secret::new(Self::APP_SECRET)),
            timeout: Duration::from_secs(5),
            instagram: None,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- what was received ----

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The requests for one endpoint label (`"reply"`, `"hide"`, ...), in arrival order.
    pub fn calls_to(&self, endpoint: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests (state and faults stay).
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Waits until `pred` holds on the recorded requests and returns them; panics with the
    /// requests seen when `timeout` (real time) passes first. The predicate runs without any
    /// lock held, so it may call the fake's other methods.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[RecordedRequest]) -> bool,
    ) -> Vec<RecordedRequest> {
        let mut seen = Vec::new();
        let met = self
            .poll(timeout, || {
                seen = self.requests();
                pred(&seen)
            })
            .await;
        if !met {
            self.panic_with_requests(timeout);
        }
        seen
    }

    /// Waits until `cond` holds (for example `|| fake.replies_to("c1").len() == 1`); panics
    /// with the requests seen when `timeout` (real time) passes first.
    pub async fn wait_until(&self, timeout: Duration, cond: impl FnMut() -> bool) {
        if !self.poll(timeout, cond).await {
            self.panic_with_requests(timeout);
        }
    }

    async fn poll(&self, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond() {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            // The short sleep bounds the loop by the real deadline even when no request comes
            // (and when tokio's clock is paused), and catches state changed by other means.
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }

    fn panic_with_requests(&self, timeout: Duration) -> ! {
        let seen: Vec<String> = self
            .requests()
            .iter()
            .map(|r| format!("{} {} {}?{}", r.endpoint, r.method, r.path, r.raw_query))
            .collect();
        panic!("fake Graph: condition not met within {timeout:?}; requests seen: {seen:#?}");
    }

    /// Waits until at least `n` requests for `endpoint` arrived; returns those requests.
    pub async fn wait_for_calls(
        &self,
        endpoint: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        self.wait_for(timeout, |rs| {
            rs.iter().filter(|r| r.endpoint == endpoint).count() >= n
        })
        .await;
        self.calls_to(endpoint)
    }

    // ---- failing on command ----

    /// The next `times` requests for `endpoint` (`"*"`: any endpoint) meet `fault`.
    pub fn fail_next(&self, endpoint: &str, times: usize, fault: Fault) {
        self.fail_next_after(endpoint, 0, times, fault);
    }

    /// Like [`FakeGraph::fail_next`], after `skip` requests for `endpoint` answered normally.
    pub fn fail_next_after(&self, endpoint: &str, skip: usize, times: usize, fault: Fault) {
        self.state().faults.push_back(PendingFault {
            endpoint: endpoint.to_string(),
            skip,
            remaining: times,
            fault,
        });
    }

    /// Forgets the faults not yet used.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Requests with this token get code 190 (expired) from now on.
    pub fn revoke_token(&self, token: &str) {
        self.state().revoked_tokens.insert(token.to_string());
    }

    /// The app secret `appsecret_proof` is checked against.
    pub fn set_app_secret(&self, secret: &str) {
        self.state().app_secret = secret.to_string();
    }

    /// When true, a request without `appsecret_proof` is refused (code 100), as with
    /// "Require App Secret" switched on.
    pub fn require_appsecret_proof(&self, required: bool) {
        self.state().require_proof = required;
    }

    /// Headers added to every normal answer, e.g. `("x-app-usage", r#"{"call_count":85}"#)`.
    pub fn set_default_headers(&self, headers: &[(&str, &str)]) {
        self.state().default_headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// Items per page of `replies` and `stories` listings (default 50).
    pub fn set_page_size(&self, n: usize) {
        self.state().page_size = n.max(1);
    }

    /// The username given to replies created through the API (default `brand`).
    pub fn set_own_username(&self, username: &str) {
        self.state().own_username = username.to_string();
    }

    /// The account's IG user id, shown as `from.id` of its own replies in listings.
    pub fn set_own_user_id(&self, id: &str) {
        self.state().own_user_id = id.to_string();
    }

    // ---- comments ----

    /// `Some(true)` when hidden, `Some(false)` when shown again, `None` if never touched.
    pub fn is_hidden(&self, comment_id: &str) -> Option<bool> {
        self.state().hidden.get(comment_id).copied()
    }

    pub fn is_deleted(&self, comment_id: &str) -> bool {
        self.state().deleted.contains(comment_id)
    }

    /// Ids deleted so far, sorted.
    pub fn deleted(&self) -> Vec<String> {
        self.state().deleted.iter().cloned().collect()
    }

    /// Replies on a comment, oldest first (created through the API or with `add_reply`).
    pub fn replies_to(&self, comment_id: &str) -> Vec<FakeReply> {
        self.state()
            .replies
            .get(comment_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds an existing reply (someone else's, or one made before the test); returns its id.
    pub fn add_reply(&self, comment_id: &str, text: &str, username: &str) -> String {
        let mut s = self.state();
        let id = s.new_id();
        s.replies
            .entry(comment_id.to_string())
            .or_default()
            .push(FakeReply {
                id: id.clone(),
                text: text.to_string(),
                username: username.to_string(),
            });
        id
    }

    // ---- mentions ----

    /// What `mentioned_comment.comment_id(comment_id)` answers.
    pub fn set_mentioned_comment(
        &self,
        comment_id: &str,
        text: &str,
        username: &str,
        media_id: &str,
    ) {
        self.state().mentioned_comments.insert(
            comment_id.to_string(),
            json!({
                "id": comment_id,
                "text": text,
                "username": username,
                "timestamp": "2024-05-03T16:09:08+0000",
                "media": {"id": media_id}
            }),
        );
    }

    /// What `mentioned_media.media_id(media_id)` answers.
    pub fn set_mentioned_media(&self, media_id: &str, caption: &str, username: &str) {
        self.state().mentioned_media.insert(
            media_id.to_string(),
            json!({
                "id": media_id,
                "caption": caption,
                "username": username,
                "media_type": "IMAGE"
            }),
        );
    }

    /// Mention replies accepted so far.
    pub fn mention_replies(&self) -> Vec<MentionReplyRecord> {
        self.state().mention_replies.clone()
    }

    // ---- stories and insights ----

    /// Adds a story to an account's `/stories` listing, posted at `timestamp` (unix seconds).
    /// Reads or changes the link-to-Meta state ([`super::fake_meta`]).
    pub(super) fn with_meta<T>(&self, f: impl FnOnce(&mut FakeMeta) -> T) -> T {
        f(&mut self.state().meta)
    }

    /// A media of `ig_user_id` posted at `timestamp` (unix seconds).
    pub fn add_media(&self, ig_user_id: &str, media_id: &str, timestamp: i64, product_type: &str) {
        self.state()
            .media
            .entry(ig_user_id.to_string())
            .or_default()
            .push(
                json!({"id": media_id, "timestamp": format_graph_timestamp(timestamp),
                "media_product_type": product_type}),
            );
    }

    /// A live video of `ig_user_id` on air.
    pub fn add_live_media(&self, ig_user_id: &str, media_id: &str, timestamp: i64) {
        self.state()
            .live_media
            .entry(ig_user_id.to_string())
            .or_default()
            .push(
                json!({"id": media_id, "timestamp": format_graph_timestamp(timestamp),
                "media_product_type": "LIVE"}),
            );
    }

    /// A top-level comment by someone on `media_id`.
    pub fn add_comment(
        &self,
        media_id: &str,
        comment_id: &str,
        text: &str,
        username: &str,
        timestamp: i64,
    ) {
        self.state()
            .comments
            .entry(media_id.to_string())
            .or_default()
            .push(comment_json(comment_id, text, username, timestamp, None));
    }

    /// A reply by someone to the comment `parent_id`.
    pub fn add_user_reply(
        &self,
        parent_id: &str,
        reply_id: &str,
        text: &str,
        username: &str,
        timestamp: i64,
    ) {
        self.state()
            .user_replies
            .entry(parent_id.to_string())
            .or_default()
            .push(comment_json(
                reply_id,
                text,
                username,
                timestamp,
                Some(parent_id),
            ));
    }

    pub fn add_story(&self, ig_user_id: &str, story_id: &str, timestamp: i64, media_type: &str) {
        let mut s = self.state();
        s.removed_stories.remove(story_id);
        s.stories
            .entry(ig_user_id.to_string())
            .or_default()
            .push(FakeStory {
                id: story_id.to_string(),
                timestamp,
                media_type: media_type.to_string(),
            });
    }

    /// The story expired: gone from listings, its insights answer code 100.
    pub fn remove_story(&self, story_id: &str) {
        let mut s = self.state();
        for list in s.stories.values_mut() {
            list.retain(|st| st.id != story_id);
        }
        s.removed_stories.insert(story_id.to_string());
    }

    /// Metric values of a story (`[("reach", 17), ("views", 28)]`); requested metrics not set
    /// are left out of the answer, as Meta does for unavailable data.
    pub fn set_insights(&self, story_id: &str, metrics: &[(&str, i64)]) {
        let mut s = self.state();
        let e = s.insights_mut(story_id);
        e.metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    }

    /// The `navigation` breakdown of a story (`[("tap_forward", 19), ("tap_exit", 1)]`).
    pub fn set_navigation(&self, story_id: &str, breakdown: &[(&str, i64)]) {
        let mut s = self.state();
        let e = s.insights_mut(story_id);
        e.navigation = breakdown.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    }

    /// When true, the story's insights answer code 10 "Not enough viewers".
    pub fn set_not_enough_viewers(&self, story_id: &str, yes: bool) {
        self.state().insights_mut(story_id).not_enough_viewers = yes;
    }
}

impl FakeState {
    fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("179{n:014}")
    }

    fn insights_mut(&mut self, story_id: &str) -> &mut FakeInsights {
        self.insights
            .entry(story_id.to_string())
            .or_insert_with(|| FakeInsights {
                metrics: Vec::new(),
                navigation: Vec::new(),
                not_enough_viewers: false,
            })
    }

    fn take_fault(&mut self, endpoint: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| f.remaining > 0 && (f.endpoint == "*" || f.endpoint == endpoint))?;
        let f = &mut self.faults[i];
        if f.skip > 0 {
            f.skip -= 1;
            return None;
        }
        f.remaining -= 1;
        let fault = f.fault.clone();
        if f.remaining == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }
}

fn parse_pairs(s: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn endpoint_of(
    method: &Method,
    segments: &[&str],
    params: &dyn Fn(&str) -> Option<String>,
) -> &'static str {
    match (method.as_str(), segments) {
        ("POST", [_]) if params("hide").as_deref() == Some("false") => "unhide",
        ("POST", [_]) if params("hide").is_some() => "hide",
        ("DELETE", [_]) => "delete",
        ("POST", [_, "replies"]) => "reply",
        ("GET", [_, "replies"]) => "replies",
        ("POST", [_, "mentions"]) => "mention_reply",
        ("GET", [_, "stories"]) => "stories",
        ("GET", [_, "media"]) => "media",
        ("GET", [_, "live_media"]) => "live_media",
        ("GET", [_, "comments"]) => "comments",
        ("GET", ["app"]) => "app",
        ("GET", [_, "subscriptions"]) => "app_subscriptions",
        ("GET", ["me"]) => "me",
        ("GET", ["me", "accounts"]) => "pages",
        ("GET", ["me", "permissions"]) => "permissions",
        ("GET", [_, "subscribed_apps"]) => "page_apps",
        ("POST", [_, "subscribed_apps"]) => "install_app",
        ("GET", ["debug_token"]) => "debug_token",
        ("GET", ["access_token"]) => "ig_exchange",
        ("GET", ["refresh_access_token"]) => "ig_refresh",
        ("GET", ["oauth", "access_token"]) => "token_exchange",
        ("GET", [_, "insights"]) => "insights",
        ("GET", [_]) => match params("fields") {
            Some(f) if f.starts_with("mentioned_comment.") => "mentioned_comment",
            Some(f) if f.starts_with("mentioned_media.") => "mentioned_media",
            Some(f) if f == "username" => "username",
            _ => "unknown",
        },
        _ => "unknown",
    }
}

fn json_response(status: u16, body: String, headers: &[(String, String)]) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        "application/json; charset=UTF-8".parse().unwrap(),
    );
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(kill): Extension<ConnKill>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = uri.query().unwrap_or_default().to_string();
    let query = parse_pairs(&raw_query);
    let form = parse_pairs(&String::from_utf8_lossy(&body));
    let path = uri.path().to_string();
    let all: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (version, segments) = match all.split_first() {
        Some((v, rest)) if v.starts_with('v') => (v.to_string(), rest.to_vec()),
        _ => (String::new(), all.clone()),
    };
    let param = |name: &str| form.get(name).or_else(|| query.get(name)).cloned();
    let endpoint = endpoint_of(&method, &segments, &param);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let rec = RecordedRequest {
        endpoint: endpoint.to_string(),
        method: method.to_string(),
        path: path.clone(),
        version,
        object_id: segments.first().map(|s| s.to_string()).unwrap_or_default(),
        raw_query,
        appsecret_proof: param("appsecret_proof"),
        query,
        form,
        bearer,
        at: tokio::time::Instant::now(),
    };

    let fault = {
        let mut s = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        s.requests.push(rec.clone());
        s.take_fault(endpoint)
    };
    shared.changed.notify_waiters();

    match fault {
        Some(Fault::Respond {
            status,
            body,
            headers,
        }) => return json_response(status, body, &headers),
        Some(Fault::Drop) => {
            kill.0.notify_one();
            std::future::pending::<()>().await;
        }
        Some(Fault::Delay(d)) => {
            // In its own task: the work is done after the delay even when the client has
            // given up and closed the connection, as on a slow Meta.
            let (shared2, rec2) = (shared.clone(), rec.clone());
            let work = tokio::spawn(async move {
                tokio::time::sleep(d).await;
                answer(&shared2, &rec2)
            });
            let (status, body) = work.await.expect("fake Graph delayed answer");
            let defaults = shared
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .default_headers
                .clone();
            return json_response(status, body, &defaults);
        }
        Some(Fault::ApplyThenRespond { status, body }) => {
            let _ = answer(&shared, &rec);
            return json_response(status, body, &[]);
        }
        None => {}
    }
    let (status, body) = answer(&shared, &rec);
    let defaults = shared
        .state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .default_headers
        .clone();
    json_response(status, body, &defaults)
}

fn error(status: u16, code: i64, message: &str) -> (u16, String) {
    (status, graph_error_body(code, None, message, false))
}

/// The normal behaviour: authentication, then the endpoint's work.
fn answer(shared: &Shared, r: &RecordedRequest) -> (u16, String) {
    let mut s = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    // Instagram Login's token exchange and refresh take the token in the query (documented).
    let token_in_query_documented = matches!(r.endpoint.as_str(), "ig_exchange" | "ig_refresh");
    if !token_in_query_documented
        && (r.query.contains_key("access_token") || r.form.contains_key("access_token"))
    {
        return error(
            400,
            100,
            "fake Graph: access_token must travel in the Authorization header",
        );
    }
    let Some(token) = r.bearer.clone() else {
        return error(
            400,
            190,
            "An active access token must be used to query information about the current user.",
        );
    };
    if s.revoked_tokens.contains(&token) {
        return (
            400,
            graph_error_body(
                190,
                Some(463),
                "Error validating access token: Session has expired.",
                false,
            ),
        );
    }
    match &r.appsecret_proof {
        Some(p) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(s.app_secret.as_bytes()).unwrap();
            mac.update(token.as_bytes());
            if *p != hex::encode(mac.finalize().into_bytes()) {
                return error(
                    400,
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                );
            }
        }
        None if s.require_proof => {
            return error(
                400,
                100,
                "API calls from the server require an appsecret_proof argument",
            )
        }
        None => {}
    }

    let revoked = s.revoked_tokens.clone();
    let app_secret = s.app_secret.clone();
    if let Some(answer) = s
        .meta
        .answer(r, &token, &app_secret, &|t| revoked.contains(t))
    {
        return answer;
    }
    let id = r.object_id.clone();
    let param = |n: &str| r.param(n).map(str::to_string);
    let ok = || (200, json!({"success": true}).to_string());
    match r.endpoint.as_str() {
        "hide" | "unhide" => {
            if s.deleted.contains(&id) {
                return error(400, 100, "Unsupported post request. Object does not exist");
            }
            s.hidden.insert(id, r.endpoint == "hide");
            ok()
        }
        "delete" => {
            s.deleted.insert(id);
            ok()
        }
        "reply" => {
            let Some(message) = param("message") else {
                return error(400, 100, "(#100) The parameter message is required");
            };
            if s.hidden.get(&id) == Some(&true) {
                return error(400, 100, "(#100) Cannot reply to a hidden comment");
            }
            let new = s.new_id();
            let username = s.own_username.clone();
            s.replies.entry(id).or_default().push(FakeReply {
                id: new.clone(),
                text: message,
                username,
            });
            (200, json!({ "id": new }).to_string())
        }
        "replies" => {
            let all = replies_of(&s, &id);
            (200, page(&s, r, all).to_string())
        }
        "media" | "live_media" => {
            let map = if r.endpoint == "media" {
                &s.media
            } else {
                &s.live_media
            };
            let mut all = map.get(&id).cloned().unwrap_or_default();
            // Newest first, by when they were posted (the order they were added may differ).
            all.sort_by(|a, b| b["timestamp"].as_str().cmp(&a["timestamp"].as_str()));
            (200, page(&s, r, all).to_string())
        }
        "comments" => {
            let expand = param("fields").is_some_and(|f| f.contains("replies{"));
            let mut all = s.comments.get(&id).cloned().unwrap_or_default();
            all.reverse(); // newest first
            if expand {
                let size = s.page_size;
                for c in &mut all {
                    let cid = c["id"].as_str().unwrap_or_default().to_string();
                    let replies = replies_of(&s, &cid);
                    if replies.is_empty() {
                        continue;
                    }
                    let end = replies.len().min(size);
                    let mut paging = json!({"cursors": {"before": "0", "after": end.to_string()}});
                    if end < replies.len() {
                        paging["next"] = json!(format!(
                            "http://fake.invalid/{cid}/replies?access_token=NEVER-FOLLOW-ME&after={end}"
                        ));
                    }
                    c["replies"] = json!({"data": replies[..end].to_vec(), "paging": paging});
                }
            }
            (200, page(&s, r, all).to_string())
        }
        // The account's own username (GET /{ig-user-id}?fields=username).
        "username" => (
            200,
            json!({ "username": s.own_username, "id": id }).to_string(),
        ),
        "mention_reply" => {
            let (Some(media_id), Some(message)) = (param("media_id"), param("message")) else {
                return error(400, 100, "(#100) media_id and message are required");
            };
            let new = s.new_id();
            s.mention_replies.push(MentionReplyRecord {
                id: new.clone(),
                ig_user_id: id,
                media_id,
                comment_id: param("comment_id"),
                message,
            });
            (200, json!({ "id": new }).to_string())
        }
        "mentioned_comment" | "mentioned_media" => {
            let key = r.mentioned_id().unwrap_or_default().to_string();
            let (map, field) = if r.endpoint == "mentioned_comment" {
                (&s.mentioned_comments, "mentioned_comment")
            } else {
                (&s.mentioned_media, "mentioned_media")
            };
            match map.get(&key) {
                Some(v) => (200, json!({ field: v, "id": id }).to_string()),
                None => error(
                    400,
                    100,
                    &format!(
                        "(#100) Unsupported get request. Object with ID '{key}' does not exist"
                    ),
                ),
            }
        }
        "stories" => {
            let all: Vec<Value> = s
                .stories
                .get(&id)
                .map(|v| {
                    v.iter()
                        .map(|st| {
                            json!({
                                "id": st.id,
                                "timestamp": format_graph_timestamp(st.timestamp),
                                "media_type": st.media_type
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            (200, page(&s, r, all).to_string())
        }
        "insights" => {
            if s.removed_stories.contains(&id) {
                return error(400, 100, "(#100) The media has expired");
            }
            let Some(ins) = s.insights.get(&id).cloned() else {
                return (200, json!({"data": []}).to_string());
            };
            if ins.not_enough_viewers {
                return (400, not_enough_viewers_body());
            }
            let requested = param("metric").unwrap_or_default();
            let with_breakdown = param("breakdown").is_some();
            let mut data = Vec::new();
            for m in requested.split(',').filter(|m| !m.is_empty()) {
                if m == "navigation" && !ins.navigation.is_empty() {
                    let total: i64 = ins.navigation.iter().map(|(_, v)| v).sum();
                    let mut entry = json!({
                        "name": "navigation", "period": "lifetime",
                        "values": [{"value": total}], "title": "Navigation",
                        "id": format!("{id}/insights/navigation/lifetime")
                    });
                    if with_breakdown {
                        let results: Vec<Value> = ins
                            .navigation
                            .iter()
                            .map(|(k, v)| json!({"dimension_values": [k], "value": v}))
                            .collect();
                        entry["total_value"] = json!({"value": total, "breakdowns": [{
                            "dimension_keys": ["story_navigation_action_type"], "results": results}]});
                    }
                    data.push(entry);
                } else if let Some((_, v)) = ins.metrics.iter().find(|(k, _)| k == m) {
                    data.push(json!({
                        "name": m, "period": "lifetime", "values": [{"value": v}],
                        "id": format!("{id}/insights/{m}/lifetime")
                    }));
                }
            }
            (200, json!({ "data": data }).to_string())
        }
        _ => error(400, 100, "(#100) Unsupported request (fake Graph API)"),
    }
}

fn comment_json(
    id: &str,
    text: &str,
    username: &str,
    timestamp: i64,
    parent: Option<&str>,
) -> Value {
    let mut c = json!({
        "id": id, "text": text, "username": username,
        "timestamp": format_graph_timestamp(timestamp),
        "from": {"id": format!("u-{username}"), "username": username},
        "hidden": false,
    });
    if let Some(p) = parent {
        c["parent_id"] = json!(p);
    }
    c
}

/// A comment's replies, newest first: people's and the account's own.
fn replies_of(s: &FakeState, comment_id: &str) -> Vec<Value> {
    let mut all: Vec<Value> = s.user_replies.get(comment_id).cloned().unwrap_or_default();
    if let Some(own) = s.replies.get(comment_id) {
        all.extend(own.iter().map(|r| {
            json!({"id": r.id, "text": r.text, "username": r.username,
                "from": {"id": s.own_user_id, "username": r.username}})
        }));
    }
    all.reverse(); // newest first
    all
}

/// A page of `all`, honouring `limit` and `after` (the cursor is the offset).
fn page(s: &FakeState, r: &RecordedRequest, all: Vec<Value>) -> Value {
    let size = r
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(s.page_size)
        .min(s.page_size)
        .max(1);
    let start = r
        .param("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0)
        .min(all.len());
    let end = (start + size).min(all.len());
    let data = all[start..end].to_vec();
    let mut paging = json!({"cursors": {"before": start.to_string(), "after": end.to_string()}});
    if end < all.len() {
        // Meta's next URL carries the token; a client that follows it blindly leaks it.
        paging["next"] = json!(format!(
            "http://fake.invalid{}?access_token=NEVER-FOLLOW-ME&after={end}",
            r.path
        ));
    }
    json!({ "data": data, "paging": paging })
}
