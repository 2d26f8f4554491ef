//! Writes the accounts `connect` found into the settings file, keeping everything else in it
//! (comments, order, other keys: toml_edit edits the document in place), readable by its
//! owner only (mode 0600: it holds tokens).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use toml_edit::{value, DocumentMut, Item, Table};

use super::connect::ConnectedAccount;

/// Sets `app_id` when the file has none, and `[accounts.ID]` `access_token`, `page_id` and
/// `username` of every account. Written to a temporary file beside it, then renamed, so a
/// crash never leaves half a file. Returns whether the file changed.
pub fn write_accounts(
    path: &Path,
    app_id: Option<&str>,
    accounts: &[ConnectedAccount],
) -> anyhow::Result<bool> {
    let before = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: DocumentMut = before
        .parse()
        .with_context(|| format!("{} is not TOML", path.display()))?;
    if let Some(id) = app_id {
        if doc.get("app_id").is_none() {
            doc["app_id"] = value(id);
        }
    }
    let table = doc
        .entry("accounts")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .context("`accounts` in the settings file is not a table")?;
    for a in accounts {
        let entry = table
            .entry(&a.account_id)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .with_context(|| format!("`accounts.{}` is not a table", a.account_id))?;
        entry["access_token"] = value(a.token.expose());
        if let Some(p) = &a.page_id {
            entry["page_id"] = value(p.as_str());
        }
        if a.login == crate::config::Login::Instagram {
            entry["login"] = value("instagram");
        } else {
            // Connected with Facebook Login now, whatever it was before.
            entry.remove("login");
        }
        if let Some(u) = &a.username {
            entry["username"] = value(u.as_str());
        }
    }
    let after = doc.to_string();
    let changed = after != before;
    let tmp = path.with_extension("tmp-connect");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(after.as_bytes())?;
        f.sync_all()?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(changed)
}
