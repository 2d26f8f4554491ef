//! `commentguard insights export`: every story snapshot and final count, as CSV or JSON.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::config::{parse_duration, Settings};
use crate::insights::export;
use crate::store::{now_ms, SqlStore, StoryFilter};

#[derive(Debug, Args)]
pub struct InsightsArgs {
    #[command(subcommand)]
    pub what: InsightsCommand,
}

#[derive(Debug, Subcommand)]
pub enum InsightsCommand {
    /// Print a row per story snapshot and each story's final row (`kind`: snapshot | final).
    /// Counts under 5 are shown as `<5`.
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Only rows from this recent period (`90m`, `7d`).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Only this Instagram account id.
    #[arg(long)]
    pub account: Option<String>,
}

pub async fn run(settings: Settings, args: &InsightsArgs) -> anyhow::Result<ExitCode> {
    match &args.what {
        InsightsCommand::Export(a) => export_cmd(settings, a).await,
    }
}

async fn export_cmd(settings: Settings, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let filter = StoryFilter {
        since_ms: args.since.map(|d| now_ms() - d.as_millis() as i64),
        account: args.account.clone(),
        ..Default::default()
    };
    let rows = export::rows(&store, &filter)
        .await
        .context("reading story insights")?;
    let stdout = std::io::stdout().lock();
    match args.format {
        Format::Csv => export::write_csv(&rows, stdout).context("writing CSV")?,
        Format::Json => export::write_json(&rows, stdout).context("writing JSON")?,
    }
    Ok(ExitCode::SUCCESS)
}
