//! The durable inbox: turns a verified body into stored events, and stores them with group
//! commit.
//!
//! [`parse::split`] reads a notification tolerantly into per-change events with their
//! deduplication keys (or a dead letter); [`writer::InboxWriter`] gathers concurrent requests into
//! one transaction and answers each only after the commit.

pub mod change;
pub mod parse;
pub mod writer;

pub use change::{Change, CommentChange, MentionChange};
pub use parse::split;
pub use writer::{InboxError, InboxWriter};
