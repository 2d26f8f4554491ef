//! `commentguard users`: the people who sign in to the review page with a password of their
//! own. `add` prints a generated password once (or reads one from stdin with
//! `--password-stdin`); only its argon2 hash is stored.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::moderation::people::{generate_password, hash_password, person_name};
use crate::store::{now_ms, PeopleStore, Person, Role, SqlStore};

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Moderates: labels, undoes, hides, replies, deletes, tries comments, sees the rules.
    Reviewer,
    /// Also clears automatic shadows and reads the dead letters.
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a person (prints their password once).
    Add {
        /// Their name, as it shows in the moderation log (60 characters at most).
        name: String,
        #[arg(long, value_enum, default_value = "reviewer")]
        role: RoleArg,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Set a new password and role for a person who exists.
        #[arg(long)]
        replace: bool,
    },
    /// List the people and their roles.
    List,
    /// Remove a person: their session ends at their next click.
    Remove { name: String },
}

pub async fn run(settings: Settings, args: &UsersArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let mut out = std::io::stdout().lock();
    match &args.command {
        UsersCommand::Add {
            name,
            role,
            password_stdin,
            replace,
        } => {
            if name.trim().is_empty() {
                bail!("give the person a name");
            }
            let name = person_name(name);
            let (password, generated) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from stdin")?;
                let p = line.trim_end_matches(['\r', '\n']).to_string();
                if p.chars().count() < 12 {
                    bail!("the password is too short: 12 characters at least");
                }
                (p, false)
            } else {
                (generate_password(), true)
            };
            let role = match role {
                RoleArg::Reviewer => Role::Reviewer,
                RoleArg::Admin => Role::Admin,
            };
            let hash = tokio::task::spawn_blocking({
                let password = password.clone();
                move || hash_password(&password)
            })
            .await??;
            store
                .put_person(
                    &Person {
                        name: name.clone(),
                        role,
                        password_hash: hash,
                        created_at: now_ms(),
                    },
                    *replace,
                )
                .await?;
            writeln!(
                out,
                "{name} can sign in to the review page as {}.",
                role.as_str()
            )?;
            if generated {
                writeln!(out, "password: {password}")?;
                writeln!(
                    out,
                    "(shown once; give it to {name} privately. `users add {name} --replace` makes a new one.)"
                )?;
            }
        }
        UsersCommand::List => {
            let people = store.list_people().await?;
            if people.is_empty() {
                writeln!(out, "no people yet: `commentguard users add NAME` adds one")?;
            }
            for p in people {
                writeln!(
                    out,
                    "{}\t{}\tadded {}",
                    p.name,
                    p.role.as_str(),
                    crate::moderation::record::iso_time(p.created_at)
                )?;
            }
        }
        UsersCommand::Remove { name } => {
            if store.remove_person(name).await? {
                writeln!(out, "{name} removed")?;
            } else {
                bail!("no person named {name:?} (`commentguard users list` shows them)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
