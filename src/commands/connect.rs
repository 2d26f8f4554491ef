//! `commentguard connect`: reads a user token from standard input (never a flag: shell
//! history), connects every Instagram account it reaches ([`crate::link::connect`]), and
//! writes the accounts into the settings file. One line per step; exit 0 when every account is
//! connected and the app's subscription is complete, 1 when something is left to fix.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::Settings;
use crate::graph::GraphClient;
use crate::link::connect::{connect, connect_instagram, Mark};
use crate::secret::Secret;
use crate::store::{RenewedToken, SqlStore, TokenStore};

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Connect an account that uses Instagram Login (graph.instagram.com, no Facebook Page)
    /// with a short-lived Instagram user token; needs COMMENTGUARD_INSTAGRAM_APP_SECRET.
    #[arg(long)]
    pub instagram_login: bool,
}

pub async fn run(
    settings: Settings,
    config: &Path,
    args: &ConnectArgs,
) -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the user token from standard input")?;
    let token = input.trim();
    if token.is_empty() {
        eprintln!("no user token on standard input: paste one from Graph API Explorer (this app selected), e.g. `commentguard connect --config commentguard.toml < token.txt`");
        return Ok(ExitCode::FAILURE);
    }
    let graph = crate::link::graph_client(&settings);
    let report = if args.instagram_login {
        let mut config = graph.config.clone();
        if let Some(host) = config.instagram.as_mut() {
            host.every_account = true;
        }
        connect_instagram(&GraphClient::new(config), &settings, Secret::new(token)).await
    } else {
        connect(&graph, &settings, Secret::new(token)).await
    };
    for (mark, line) in &report.lines {
        println!("{:<6} {line}", mark.as_str());
    }
    if !report.accounts.is_empty() {
        let changed = crate::link::settings_file::write_accounts(
            config,
            report
                .app_id
                .as_deref()
                .filter(|_| settings.app_id.is_none()),
            &report.accounts,
        )?;
        // The expiry of an Instagram Login token is known now only: kept (with the token) in
        // the database, where serve's refresher reads it.
        let expiring: Vec<_> = report
            .accounts
            .iter()
            .filter(|a| a.expires_at.is_some())
            .collect();
        if !expiring.is_empty() {
            let store = SqlStore::connect(settings.database_url.expose())
                .await
                .context(
                    "opening the database (COMMENTGUARD_DATABASE_URL) to keep the token's expiry",
                )?;
            for a in expiring {
                store
                    .put_renewed_token(&RenewedToken {
                        account_id: a.account_id.clone(),
                        token: a.token.clone(),
                        expires_at: a.expires_at.unwrap_or_default(),
                        renewed_at: crate::store::now_ms(),
                    })
                    .await?;
            }
        }
        // An account that used Instagram Login and is connected with Facebook Login now: its
        // renewed Instagram token must not keep winning over the new Page token.
        let switched: Vec<&str> = report
            .accounts
            .iter()
            .filter(|a| {
                a.login == crate::config::Login::Facebook
                    && settings.login_of(&a.account_id) == crate::config::Login::Instagram
            })
            .map(|a| a.account_id.as_str())
            .collect();
        if !switched.is_empty() {
            let store = SqlStore::connect(settings.database_url.expose())
                .await
                .context("opening the database (COMMENTGUARD_DATABASE_URL) to forget the old Instagram token")?;
            for id in switched {
                store.forget_renewed_token(id).await?;
            }
        }
        // What serve will read: the file must load as settings.
        Settings::load(Some(config), &|k| std::env::var(k).ok())
            .with_context(|| format!("{} was written but does not load", config.display()))?;
        let names: Vec<String> = report
            .accounts
            .iter()
            .map(|a| match &a.username {
                Some(u) => format!("@{u} ({})", a.account_id),
                None => a.account_id.clone(),
            })
            .collect();
        println!(
            "{:<6} {} account(s) in {} ({}): {}",
            Mark::Ok.as_str(),
            names.len(),
            config.display(),
            if changed {
                "written, mode 0600"
            } else {
                "unchanged"
            },
            names.join(", ")
        );
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
