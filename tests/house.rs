//! The house rules a reader relies on: no source file so long that finding one thing in it
//! means reading past everything else (issue 16: one module per thing, no file over 800 lines).

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "found the sources ({} files)",
        files.len()
    );
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by what they do: {long:?}");
}

/// The module a source file belongs to: `commands` for src/commands/log.rs, `startup` for
/// src/startup.rs.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Arrows point inward (issue 25): the outer layers (`cli`, `commands`, `admin`, `startup`)
/// call the domain, never the other way, so a change in how something is printed or served
/// cannot break what the service decides; and `commands` and `admin` do not call each other
/// (what both need lives in the domain, e.g. `moderation`). Read from every `crate::` path
/// outside comments.
#[test]
fn no_arrow_points_outward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    const OUTER: [&str; 4] = ["cli", "commands", "admin", "startup"];
    let mut wrong = Vec::new();
    for f in &files {
        let from = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for to in OUTER {
                if to == from || !code.contains(&format!("crate::{to}::")) {
                    continue;
                }
                let allowed = match from.as_str() {
                    // The binary's entry and the command line dispatch to everything.
                    "main" | "cli" => true,
                    // serve and sweep start the service through start-up; start-up builds the
                    // admin site.
                    "commands" => to == "startup",
                    "startup" => to == "admin",
                    _ => false,
                };
                if !allowed {
                    wrong.push(format!("{}:{}: {from} -> {to}: {code}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows pointing outward:\n{}",
        wrong.join("\n")
    );
}
