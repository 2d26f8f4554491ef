//! The command line: one binary, a subcommand for each role.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::commands;
use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "commentguard",
    version,
    about = "Comment moderation for Instagram brand accounts"
)]
pub struct Cli {
    /// Settings file (TOML). Environment variables override it.
    #[arg(long, global = true, env = "COMMENTGUARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: webhook receiver, pipeline, action executor, admin listener.
    Serve,
    /// Check, test, explain and evaluate moderation rules.
    Rules(crate::rules::cli::RulesArgs),
    /// Train and measure the learned text models that rules use as a signal.
    Model(crate::rules::model::cli::ModelArgs),
    /// Send a correctly signed sample notification to a running instance.
    Simulate(commands::simulate::SimulateArgs),
    /// Print the moderation log: what was decided, why, and what was done.
    Log(commands::log::LogArgs),
    /// Unhide a comment commentguard hid, and record the undo in the log.
    Undo(commands::undo::UndoArgs),
    /// Remove comment texts older than the retention period (decisions are kept).
    Purge(commands::purge::PurgeArgs),
    /// Story insights kept from the Graph API and Meta's notifications.
    Insights(commands::insights::InsightsArgs),
    /// Moderate the comments no webhook announced: list the account's recent media and
    /// their comments, and hand every comment not yet decided to the pipeline.
    Sweep(commands::sweep::SweepArgs),
    /// What people said on the review page (Spam / Not spam), as training data.
    Labels(commands::labels::LabelsArgs),
    /// The people who sign in to the review page, with their own passwords and roles.
    Users(commands::users::UsersArgs),
    /// Copy the embedded SQLite database (both files) consistently while serve runs, and
    /// check the copies. On PostgreSQL: use pg_dump (exit 2).
    Backup(commands::backup::BackupArgs),
    /// Connect Instagram accounts (Facebook Login): reads a user token on standard input,
    /// installs the app on each account's Page, names missing permissions, and writes the
    /// accounts with Page tokens that do not expire into the settings file (--config).
    Connect(commands::connect::ConnectArgs),
    /// Check the link between Meta and this set-up: the public callback URL (handshake,
    /// HTTPS certificate, signatures), the app secret, the database, the rules, each
    /// account's token and subscription. Exit 1 when a check fails, with its fix.
    Doctor(commands::doctor::DoctorArgs),
    /// Print a settings file with every key at its default and what it does, to start a
    /// file from (`commentguard settings > commentguard.toml`).
    Settings,
}

impl Cli {
    /// The settings, and a warning on standard error for every `COMMENTGUARD_` variable the
    /// settings never asked for (a typo such as `COMMENTGUARD_RETENTON=1d` would otherwise be
    /// ignored without a word), with the closest name it may have meant.
    pub fn load_settings(&self) -> anyhow::Result<Settings> {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let settings = Settings::load(self.config.as_deref(), &|k| {
            asked.borrow_mut().insert(k.to_string());
            std::env::var(k).ok()
        })?;
        let asked = asked.into_inner();
        for (name, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            // Read elsewhere: the settings file's path (by clap), and the test harness's own.
            if !name.starts_with("COMMENTGUARD_")
                || asked.contains(&name)
                || name == "COMMENTGUARD_CONFIG"
                || name.starts_with("COMMENTGUARD_TEST_")
            {
                continue;
            }
            match crate::config::keys::closest(&name, asked.iter().map(String::as_str)) {
                Some(k) => eprintln!("warning: {name} is not a setting and is ignored; did you mean {k}?"),
                None => eprintln!("warning: {name} is not a setting and is ignored (docs/INTERFACE.md lists them)"),
            }
        }
        Ok(settings)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Settings = cli.command {
        print!("{}", crate::config::keys::example_file());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Rules(crate::rules::cli::RulesArgs {
        rules,
        command: crate::rules::cli::RulesCommand::Replay(replay),
    }) = &cli.command
    {
        // The one `rules` subcommand that needs the settings: it reads the moderation log.
        return commands::replay::run(cli.load_settings()?, rules, replay).await;
    }
    if let Command::Rules(args) = cli.command {
        // Needs no settings: brand teams run it on a laptop with only the rules folder.
        return tokio::task::spawn_blocking(move || crate::rules::cli::run(args)).await?;
    }
    if let Command::Model(crate::rules::model::cli::ModelArgs {
        command: crate::rules::model::cli::ModelCommand::Train(train),
    }) = &cli.command
    {
        if train.from_log {
            // Reads the labels in the moderation log: needs the settings (the database).
            return commands::retrain::run(cli.load_settings()?, train).await;
        }
    }
    if let Command::Model(args) = cli.command {
        // Like `rules`: files in, files out, no settings or database.
        return tokio::task::spawn_blocking(move || crate::rules::model::cli::run(args)).await?;
    }
    if let Command::Connect(args) = &cli.command {
        // Writes the settings file, which need not exist yet.
        let path = cli.config.clone().context(
            "connect writes the accounts into a settings file: name it with --config FILE (or COMMENTGUARD_CONFIG)",
        )?;
        let settings = if path.exists() {
            cli.load_settings()?
        } else {
            Settings::load(None, &|k| {
                (k != "COMMENTGUARD_CONFIG")
                    .then(|| std::env::var(k).ok())
                    .flatten()
            })?
        };
        return commands::connect::run(settings, &path, args).await;
    }
    match &cli.command {
        Command::Rules(_) | Command::Model(_) | Command::Connect(_) | Command::Settings => {
            unreachable!("handled above")
        }
        Command::Serve => commands::serve::run(cli.load_settings()?).await,
        Command::Simulate(args) => commands::simulate::run(cli.load_settings()?, args).await,
        Command::Log(args) => commands::log::run(cli.load_settings()?, args).await,
        Command::Undo(args) => commands::undo::run(cli.load_settings()?, args).await,
        Command::Purge(args) => commands::purge::run(cli.load_settings()?, args).await,
        Command::Insights(args) => commands::insights::run(cli.load_settings()?, args).await,
        Command::Sweep(args) => commands::sweep::run(cli.load_settings()?, args).await,
        Command::Labels(args) => commands::labels::run(cli.load_settings()?, args).await,
        Command::Users(args) => commands::users::run(cli.load_settings()?, args).await,
        Command::Backup(args) => commands::backup::run(cli.load_settings()?, args).await,
        Command::Doctor(args) => commands::doctor::run(cli.load_settings()?, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    /// The unknown-variable warning knows a setting by the settings asking for it: every
    /// variable of the table must be asked for even when none is set, or setting it would be
    /// warned about wrongly.
    #[test]
    fn the_settings_ask_for_every_variable_they_know() {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        Settings::load(None, &|k| {
            asked.borrow_mut().insert(k.to_string());
            None
        })
        .unwrap();
        let asked = asked.into_inner();
        let missing: Vec<_> = crate::config::keys::KEYS
            .iter()
            .filter(|k| !asked.contains(k.env))
            .map(|k| k.env)
            .collect();
        assert!(missing.is_empty(), "never asked: {missing:?}");
        assert!(asked.len() > 30, "asked: {asked:?}");
    }
}
