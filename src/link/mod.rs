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

use crate::config::Settings;
use crate::graph::{GraphClient, GraphConfig};

/// The Graph API client the settings describe.
pub fn graph_client(settings: &Settings) -> GraphClient {
    GraphClient::new(GraphConfig {
        base_url: settings.graph_url.clone(),
        version: settings.graph_version.clone(),
        app_secret: settings.app_secrets.first().cloned(),
        timeout: settings.graph_timeout,
        instagram: Some(crate::graph::InstagramHost {
            base_url: settings.instagram_graph_url.clone(),
            accounts: settings
                .accounts
                .iter()
                .filter(|(_, a)| a.login == crate::config::Login::Instagram)
                .map(|(id, _)| id.clone())
                .collect(),
            every_account: false,
        }),
    })
}
