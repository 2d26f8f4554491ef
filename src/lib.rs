//! commentguard: webhook-driven comment moderation for Instagram brand accounts.
//!
//! Data flows one way:
//!
//! ```text
//! ingress (HTTP, signatures) -> inbox (durable, deduplicated) -> pipeline (workers)
//!     -> rules (pure engine) -> decision -> actions (durable executor) -> graph (Meta's API)
//!                     \-> insights (story snapshots)        \-> modlog (moderation log)
//! ```
//!
//! `startup` wires the stages into an [`startup::Application`]; `store` persists everything in
//! rooms (inbox, decisions, actions, rule state, stories), each behind its own small trait, for
//! SQLite and PostgreSQL alike. The rules engine and its models know nothing of HTTP or storage;
//! the store knows nothing of HTTP, the Graph API or rules.

pub mod actions;
pub mod admin;
pub mod cli;
pub mod commands;
pub mod config;
pub mod front_door;
pub mod graph;
pub mod inbox;
pub mod ingress;
pub mod insights;
pub mod jobs;
pub mod link;
pub mod moderation;
pub mod pipeline;
pub mod priority;
pub mod rules;
pub mod secret;
pub mod startup;
pub mod store;
pub mod sweep;
pub mod telemetry;
pub mod tls;
