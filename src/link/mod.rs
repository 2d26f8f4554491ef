//! The link to Meta: whether webhooks can arrive (the app's subscription, the app installed on
//! each account's Page), whether the tokens hold (expiry, scopes), and the set-up commands
//! that make both true (`connect`) and check them from outside (`doctor`).
//!
//! Every Graph call it relies on is in [`crate::graph::setup`]; what Meta documents for each is
//! in docs/OPERATIONS.md.

pub mod connect;
pub mod doctor;
pub mod health;
pub mod pages;
pub mod refresh;
pub mod settings_file;
pub mod tokens;
