//! [`Endpoint`]: what a Graph call does, the `endpoint` label of the Graph metrics.

/// What a call does; the `endpoint` label of the Graph metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Hide,
    Unhide,
    Delete,
    Reply,
    Replies,
    MentionReply,
    MentionedComment,
    MentionedMedia,
    Stories,
    Insights,
    Media,
    LiveMedia,
    Comments,
    /// One field of an object: a media's permalink, an account's username.
    Object,
    /// The link to Meta (`connect`, `doctor`, the hourly and daily checks): the app of a
    /// token, the app's webhook subscriptions, the token's own node (`/me`), its Pages, a
    /// Page's installed apps and installing the app, a token's debug information, the
    /// exchange for a long-lived token, the granted permissions.
    App,
    AppSubscriptions,
    Me,
    Pages,
    PageApps,
    InstallApp,
    DebugToken,
    TokenExchange,
    TokenRefresh,
    Permissions,
}

impl Endpoint {
    pub const ALL: [Endpoint; 24] = [
        Endpoint::Hide,
        Endpoint::Unhide,
        Endpoint::Delete,
        Endpoint::Reply,
        Endpoint::Replies,
        Endpoint::MentionReply,
        Endpoint::MentionedComment,
        Endpoint::MentionedMedia,
        Endpoint::Stories,
        Endpoint::Insights,
        Endpoint::Media,
        Endpoint::LiveMedia,
        Endpoint::Comments,
        Endpoint::Object,
        Endpoint::App,
        Endpoint::AppSubscriptions,
        Endpoint::Me,
        Endpoint::Pages,
        Endpoint::PageApps,
        Endpoint::InstallApp,
        Endpoint::DebugToken,
        Endpoint::TokenExchange,
        Endpoint::TokenRefresh,
        Endpoint::Permissions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Hide => "hide",
            Endpoint::Unhide => "unhide",
            Endpoint::Delete => "delete",
            Endpoint::Reply => "reply",
            Endpoint::Replies => "replies",
            Endpoint::MentionReply => "mention_reply",
            Endpoint::MentionedComment => "mentioned_comment",
            Endpoint::MentionedMedia => "mentioned_media",
            Endpoint::Stories => "stories",
            Endpoint::Insights => "insights",
            Endpoint::Media => "media",
            Endpoint::LiveMedia => "live_media",
            Endpoint::Comments => "comments",
            Endpoint::Object => "object",
            Endpoint::App => "app",
            Endpoint::AppSubscriptions => "app_subscriptions",
            Endpoint::Me => "me",
            Endpoint::Pages => "pages",
            Endpoint::PageApps => "page_apps",
            Endpoint::InstallApp => "install_app",
            Endpoint::DebugToken => "debug_token",
            Endpoint::TokenExchange => "token_exchange",
            Endpoint::TokenRefresh => "token_refresh",
            Endpoint::Permissions => "permissions",
        }
    }
}
