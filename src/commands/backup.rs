//! `commentguard backup DIR`: a consistent copy of the embedded SQLite database (both of its
//! files) while serve runs, each copy opened and checked before the command says it is done
//! ([`crate::store::backup`]). On PostgreSQL it says to use `pg_dump` and exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::Settings;
use crate::store::backup::backup_sqlite;
use crate::store::db::sqlite_file;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Folder for the copies (created if missing; copies already there are not overwritten).
    pub dir: PathBuf,
}

pub async fn run(settings: Settings, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let url = settings.database_url.expose().to_string();
    if sqlite_file(&url).is_none() {
        eprintln!(
            "the database is PostgreSQL: back it up with pg_dump (docs/OPERATIONS.md, Backups); nothing copied"
        );
        return Ok(ExitCode::from(2));
    }
    let dir = args.dir.clone();
    let copied = tokio::task::spawn_blocking(move || backup_sqlite(&url, &dir)).await?;
    match copied {
        Ok(files) => {
            for f in &files {
                println!(
                    "{} -> {} ({} bytes, {} rows, integrity ok)",
                    f.from.display(),
                    f.to.display(),
                    f.bytes,
                    f.rows
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("backup failed: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
