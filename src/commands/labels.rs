//! `commentguard labels export`: what people said on the review page ("Spam", "Not spam", an
//! undo), with the texts they labelled, in the shape `commentguard model train --data` reads
//! (JSON Lines `{"text", "label": 1|0, "group"}` plus who and when; or CSV with the same
//! columns). One row per comment and person; the latest label of a person stands.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::config::{parse_duration, Settings};
use crate::moderation::record::iso_time;
use crate::store::{now_ms, Label, LabelFilter, LabelStore, SqlStore};

#[derive(Debug, Args)]
pub struct LabelsArgs {
    #[command(subcommand)]
    pub command: LabelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Write the labels as training data (stdout).
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Labels given within this long (default: all kept).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Only this account's comments.
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
}

pub async fn run(settings: Settings, args: &LabelsArgs) -> anyhow::Result<ExitCode> {
    let LabelsCommand::Export(args) = &args.command;
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let rows = store
        .list_labels(&LabelFilter {
            since_ms: args
                .since
                .map(|d| now_ms() - d.as_millis().min(i64::MAX as u128) as i64),
            account: args.account.clone(),
        })
        .await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut csv = (args.format == Format::Csv).then(|| csv::Writer::from_writer(Vec::new()));
    if let Some(w) = csv.as_mut() {
        w.write_record([
            "text",
            "label",
            "group",
            "comment_id",
            "account_id",
            "person",
            "source",
            "labelled_at",
        ])?;
    }
    let mut written = 0;
    let mut without_text = 0;
    for r in &rows {
        let Some(text) = r.text.as_deref().filter(|t| !t.is_empty()) else {
            without_text += 1;
            continue;
        };
        let label = if r.label == Label::Spam { "1" } else { "0" };
        // Comments by one author share a fold in cross-validation.
        let group = r.author.clone().unwrap_or_default();
        match csv.as_mut() {
            Some(w) => w.write_record([
                text,
                label,
                &group,
                &r.comment_id,
                &r.account_id,
                &r.person,
                &r.source,
                &iso_time(r.labelled_at),
            ])?,
            None => writeln!(
                out,
                "{}",
                serde_json::json!({
                    "text": text,
                    "label": if r.label == Label::Spam { 1 } else { 0 },
                    "group": group,
                    "comment_id": r.comment_id,
                    "account_id": r.account_id,
                    "person": r.person,
                    "source": r.source,
                    "labelled_at": iso_time(r.labelled_at),
                })
            )?,
        }
        written += 1;
    }
    if let Some(w) = csv {
        out.write_all(&w.into_inner()?)?;
    }
    out.flush()?;
    eprintln!(
        "{written} labels written{}",
        if without_text > 0 {
            format!(" ({without_text} without a text left out)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
