//! What the Graph API answers: the public answer types, and the wire shapes they are read
//! from (pages with their cursors, the fields each call asks for).

use serde::Deserialize;

/// A comment in which the account was @mentioned (`mentioned_comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionedComment {
    pub id: String,
    pub text: String,
    pub username: Option<String>,
    /// ISO 8601 as Meta wrote it (`2017-05-03T16:09:08+0000`).
    pub timestamp: Option<String>,
    pub media_id: Option<String>,
}

/// A media whose caption @mentions the account (`mentioned_media`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionedMedia {
    pub id: String,
    pub caption: Option<String>,
    pub username: Option<String>,
    pub media_type: Option<String>,
}

/// A story of the account (`/{ig-user-id}/stories`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    pub id: String,
    /// When the story was posted, unix seconds. Insights can be read for 24 hours after it.
    pub timestamp: i64,
    pub media_type: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(super) data: Vec<T>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub(super) cursors: Option<Cursors>,
    #[serde(default)]
    pub(super) next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Cursors {
    #[serde(default)]
    pub(super) after: Option<String>,
}

impl<T> Page<T> {
    /// The cursor of the next page. Meta's `next` URL carries the access token, so it is
    /// never followed as is: only its presence (more pages exist) and the `after` cursor count.
    pub(super) fn next_cursor(&self) -> Option<String> {
        let p = self.paging.as_ref()?;
        p.next.as_ref()?;
        p.cursors.as_ref()?.after.clone()
    }
}

#[derive(Deserialize)]
pub(super) struct ReplyWire {
    pub(super) id: String,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) username: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct IdOnly {
    pub(super) id: String,
}

#[derive(Deserialize)]
pub(super) struct MentionedCommentWire {
    pub(super) id: String,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) username: Option<String>,
    #[serde(default)]
    pub(super) timestamp: Option<String>,
    #[serde(default)]
    pub(super) media: Option<IdOnly>,
}

#[derive(Deserialize)]
pub(super) struct MentionedMediaWire {
    pub(super) id: String,
    #[serde(default)]
    pub(super) caption: Option<String>,
    #[serde(default)]
    pub(super) username: Option<String>,
    #[serde(default)]
    pub(super) media_type: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct StoryWire {
    pub(super) id: String,
    #[serde(default)]
    pub(super) timestamp: Option<String>,
    #[serde(default)]
    pub(super) media_type: Option<String>,
}
