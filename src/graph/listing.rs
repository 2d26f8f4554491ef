//! Reading an account's media and their comments, a page at a time: what a sweep walks to find
//! the comments no webhook announced (`GET /{ig-user-id}/media`, `/{ig-user-id}/live_media`,
//! `/{ig-media-id}/comments` with the first page of each comment's replies expanded inline,
//! `/{ig-comment-id}/replies` for the rest).
//!
//! Every call goes through [`GraphClient::call`]: the same token handling, per-account
//! governor, rate-limit pauses and metrics as the moderation calls.

use serde::Deserialize;

use super::client::{check_id, Endpoint};
use super::timestamp::parse_graph_timestamp;
use super::{AccountCtx, GraphClient, GraphError};

/// The comment fields a rule needs, as a comment is read from a listing.
const COMMENT_FIELDS: &str = "id,text,timestamp,username,from,hidden,parent_id";

/// A media of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaItem {
    pub id: String,
    /// When it was posted, unix seconds (`None`: unreadable).
    pub timestamp: Option<i64>,
    /// `FEED`, `REELS`, `STORY`, `AD`; live media are read with [`GraphClient::live_media`].
    pub media_product_type: Option<String>,
    pub comments_count: Option<i64>,
}

/// A comment or a reply read from a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedComment {
    pub id: String,
    pub text: String,
    /// Unix seconds.
    pub timestamp: Option<i64>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// The comment a reply answers.
    pub parent_id: Option<String>,
    pub hidden: Option<bool>,
}

/// A top-level comment with the first page of its replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentThread {
    pub comment: ListedComment,
    pub replies: Vec<ListedComment>,
    /// The cursor of the next page of replies (more than the inline page).
    pub more_replies: Option<String>,
}

#[derive(Deserialize)]
struct MediaWire {
    id: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    media_product_type: Option<String>,
    #[serde(default)]
    comments_count: Option<i64>,
}

#[derive(Deserialize)]
struct FromWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct CommentWire {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    from: Option<FromWire>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    replies: Option<super::wire::Page<CommentWire>>,
}

impl CommentWire {
    fn listed(self, parent: Option<&str>) -> ListedComment {
        let from = self.from.unwrap_or(FromWire {
            id: None,
            username: None,
        });
        ListedComment {
            id: self.id,
            text: self.text.unwrap_or_default(),
            timestamp: self.timestamp.as_deref().and_then(parse_graph_timestamp),
            username: self.username.or(from.username),
            user_id: from.id,
            parent_id: self.parent_id.or_else(|| parent.map(str::to_string)),
            hidden: self.hidden,
        }
    }
}

fn media(w: MediaWire) -> MediaItem {
    MediaItem {
        timestamp: w.timestamp.as_deref().and_then(parse_graph_timestamp),
        id: w.id,
        media_product_type: w.media_product_type,
        comments_count: w.comments_count,
    }
}

impl GraphClient {
    /// One page of the account's media, newest first, and the cursor of the next page.
    pub async fn media_page(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
        after: Option<&str>,
    ) -> Result<(Vec<MediaItem>, Option<String>), GraphError> {
        check_id("ig user id", ig_user_id)?;
        let (wire, next): (Vec<MediaWire>, _) = self
            .get_page(
                ctx,
                Endpoint::Media,
                &[ig_user_id, "media"],
                "id,timestamp,media_product_type,comments_count",
                after,
            )
            .await?;
        Ok((wire.into_iter().map(media).collect(), next))
    }

    /// The account's live video that is broadcasting now, if any (one page is all there is).
    pub async fn live_media(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
    ) -> Result<Vec<MediaItem>, GraphError> {
        check_id("ig user id", ig_user_id)?;
        let (wire, _): (Vec<MediaWire>, _) = self
            .get_page(
                ctx,
                Endpoint::LiveMedia,
                &[ig_user_id, "live_media"],
                "id,timestamp,media_product_type",
                None,
            )
            .await?;
        Ok(wire.into_iter().map(media).collect())
    }

    /// One page of a media's top-level comments (newest first), each with the first page of
    /// its replies, and the cursor of the next page.
    pub async fn comments_page(
        &self,
        ctx: &AccountCtx,
        media_id: &str,
        after: Option<&str>,
    ) -> Result<(Vec<CommentThread>, Option<String>), GraphError> {
        check_id("media id", media_id)?;
        let fields = format!("{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}");
        let (wire, next): (Vec<CommentWire>, _) = self
            .get_page(
                ctx,
                Endpoint::Comments,
                &[media_id, "comments"],
                &fields,
                after,
            )
            .await?;
        let threads = wire
            .into_iter()
            .map(|mut c| {
                let replies_page = c.replies.take();
                let comment = c.listed(None);
                let (replies, more_replies) = match replies_page {
                    Some(p) => {
                        let more = p.next_cursor();
                        let replies = p
                            .data
                            .into_iter()
                            .map(|r| r.listed(Some(&comment.id)))
                            .collect();
                        (replies, more)
                    }
                    None => (Vec::new(), None),
                };
                CommentThread {
                    comment,
                    replies,
                    more_replies,
                }
            })
            .collect();
        Ok((threads, next))
    }

    /// One page of a comment's replies after `after`, and the cursor of the next page.
    pub async fn replies_page(
        &self,
        ctx: &AccountCtx,
        comment_id: &str,
        after: Option<&str>,
    ) -> Result<(Vec<ListedComment>, Option<String>), GraphError> {
        check_id("comment id", comment_id)?;
        let (wire, next): (Vec<CommentWire>, _) = self
            .get_page(
                ctx,
                Endpoint::Replies,
                &[comment_id, "replies"],
                COMMENT_FIELDS,
                after,
            )
            .await?;
        Ok((
            wire.into_iter()
                .map(|r| r.listed(Some(comment_id)))
                .collect(),
            next,
        ))
    }
}
