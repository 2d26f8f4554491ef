//! Retention: comment texts older than the retention period are removed from the moderation
//! log; the decisions themselves (who, when, which rule, what was done) are kept.
//!
//! `commentguard purge` does it on demand ([`crate::jobs::purge`]); the service runs it hourly.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::config::{parse_duration, Settings};
use crate::jobs::purge::{purge_labels_once, purge_once};
use crate::moderation::record::iso_time;
use crate::store::SqlStore;

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Remove texts of decisions older than this; default: the `retention` setting (30d).
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Option<Duration>,
}

pub async fn run(settings: Settings, args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let retention = args.older_than.unwrap_or(settings.retention);
    let (before, n) = purge_once(&store, retention).await?;
    println!(
        "removed the text of {n} decisions decided before {}",
        iso_time(before)
    );
    let labels = purge_labels_once(&store, settings.label_retention).await?;
    println!(
        "removed {labels} labels older than COMMENTGUARD_LABEL_RETENTION (labels keep their text until then)"
    );
    Ok(ExitCode::SUCCESS)
}
