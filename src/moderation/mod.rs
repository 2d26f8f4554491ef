//! What people do with the moderation log, whoever asks (the review page, the admin API, the
//! command line): undo a hide, act on a comment by hand, label it, and how a decision is
//! written for tools. The outer layers (`admin`, `commands`) only parse, call and print.

pub mod by_hand;
pub mod labels;
pub mod people;
pub mod record;
pub mod replay;
pub mod settle;
pub mod undo;
pub mod unsure;
