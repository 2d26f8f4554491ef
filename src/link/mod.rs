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

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::config::Settings;
use crate::graph::{GraphClient, GraphConfig};

/// The last answer of a periodic check, per account, for the status endpoint and the review
/// page.
#[derive(Debug)]
pub struct ByAccount<T>(RwLock<BTreeMap<String, T>>);

impl<T> Default for ByAccount<T> {
    fn default() -> Self {
        ByAccount(RwLock::new(BTreeMap::new()))
    }
}

impl<T: Clone> ByAccount<T> {
    /// Every account's last answer, in account order.
    pub fn snapshot(&self) -> Vec<T> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn put(&self, account_id: String, answer: T) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account_id, answer);
    }
}

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
