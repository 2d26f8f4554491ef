//! A consistent copy of the embedded SQLite database while the service runs: both files (the
//! main one and the inbox beside it), each with `VACUUM INTO`, which reads one snapshot of the
//! file (a read transaction: writers go on, in WAL mode) and writes a compact copy. Each copy
//! is then opened and checked (`PRAGMA integrity_check`). The two files are copied one after
//! the other, the inbox first: a notification finished between the two copies is then still
//! pending in the inbox copy (and processed again once restored: every step is idempotent)
//! while its decision may already be in the main copy. The other order could lose it: done in
//! the inbox copy, its decision made too late for the main copy.
//!
//! rusqlite rather than sqlx: `VACUUM INTO` and the checks are three statements on a plain
//! connection, and the store's own pools must not be borrowed by a command.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::db::sqlite_file;
use super::inbox::sqlite::inbox_path;

/// One copied file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedFile {
    pub from: PathBuf,
    pub to: PathBuf,
    pub bytes: u64,
    /// Rows of the main file's `decisions` table, or of the inbox's `inbox` table.
    pub rows: i64,
}

/// Copies the SQLite database of `database_url` into `dir` (created if missing; a copy that
/// exists there already is an error, never overwritten) and checks each copy.
pub fn backup_sqlite(database_url: &str, dir: &Path) -> Result<Vec<CopiedFile>, String> {
    let main = sqlite_file(database_url)
        .ok_or("the database is PostgreSQL: back it up with pg_dump (see docs/OPERATIONS.md)")?;
    if !main.exists() {
        return Err(format!("{} does not exist", main.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (from, table) in [(inbox_path(&main), "inbox"), (main.clone(), "decisions")] {
        if !from.exists() {
            continue;
        }
        let name = from
            .file_name()
            .ok_or("the database path has no file name")?;
        let to = dir.join(name);
        if to.exists() {
            return Err(format!(
                "{} exists already: give an empty folder",
                to.display()
            ));
        }
        copy_one(&from, &to)?;
        let rows = check(&to, table)?;
        let bytes = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        out.push(CopiedFile {
            from,
            to,
            bytes,
            rows,
        });
    }
    Ok(out)
}

fn copy_one(from: &Path, to: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open {}: {e}", from.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let target = to
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", to.display()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| format!("copying {} failed: {e}", from.display()))?;
    Ok(())
}

/// Opens the copy read-only, runs `PRAGMA integrity_check` and counts `table`'s rows.
fn check(copy: &Path, table: &str) -> Result<i64, String> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("the copy {} does not open: {e}", copy.display()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("checking {}: {e}", copy.display()))?;
    if verdict != "ok" {
        return Err(format!(
            "the copy {} failed its integrity check: {verdict}",
            copy.display()
        ));
    }
    // `table` is one of two constants, never input.
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .map_err(|e| format!("reading {} in {}: {e}", table, copy.display()))
}
