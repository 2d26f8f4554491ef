//! The house rules a reader relies on: no source file so long that finding one thing in it
//! means reading past everything else, and no function that cannot be read in one sitting
//! (issue 25: no file over 600 lines, no function over 120), arrows inward, no circle.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 120;

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
fn no_source_file_is_over_600_lines() {
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

/// Each function's name and length in lines, from `fn` to its closing brace (found as the
/// first `}` at the indentation of the `fn`, which rustfmt guarantees).
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let rest = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "async ",
            "const ",
            "unsafe ",
        ]
        .iter()
        .fold(code, |c, p| c.strip_prefix(p).unwrap_or(c));
        let rest = ["async ", "const ", "unsafe "]
            .iter()
            .fold(rest, |c, p| c.strip_prefix(p).unwrap_or(c));
        let Some(name) = rest.strip_prefix("fn ") else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let indent = line.len() - code.len();
        // The signature ends at the first line ending in `{` (a body) or `;` (none).
        let Some(open) = (i..lines.len()).find(|&j| {
            let l = lines[j].trim_end();
            l.ends_with('{') || l.ends_with(';')
        }) else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') {
            continue;
        }
        let close = (open + 1..lines.len()).find(|&j| {
            let l = lines[j];
            l.len() > indent && l[..indent].trim().is_empty() && l[indent..].starts_with('}')
        });
        if let Some(close) = close {
            out.push((name, i + 1, close - i + 1));
        }
    }
    out
}

#[test]
fn no_function_is_over_120_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen = 0;
    let mut long = Vec::new();
    for f in &files {
        for (name, line, n) in function_lengths(&std::fs::read_to_string(f).unwrap()) {
            seen += 1;
            if n > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} {name} has {n} lines", f.display()));
            }
        }
    }
    assert!(seen > 1000, "found the functions ({seen})");
    assert!(long.is_empty(), "split these by what they do: {long:#?}");
}

#[test]
fn the_function_reader_measures_a_function() {
    let text = "impl X {\n    pub async fn a(\n        b: u8,\n    ) -> u8 {\n        if b > 0 {\n        }\n    }\n    fn decl();\n}\nfn c() {}\n";
    assert_eq!(function_lengths(text), vec![("a".to_string(), 2, 6)]);
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

/// The lines of a source file that are code: before its unit tests (`#[cfg(test)]`), without
/// comment lines. Tests may reach anywhere; the code may not.
fn code_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
    // The unit tests' module: `#[cfg(test)]` then `mod ...` (not a single test-only item).
    let end = lines
        .windows(2)
        .position(|w| w[0] == "#[cfg(test)]" && w[1].starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("//"))
        .collect()
}

/// The names at the top level of a `{...}` group that starts `s` (`{a::{x, y}, b}` gives `a`
/// and `b`), however many lines it spans once joined.
fn group_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 1usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                let name: String = s[start..i]
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
                start = i + 1;
                if c == '}' {
                    break;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    out
}

/// The names `prefix` is followed by on `line`: `super::a::x` gives `a`, `super::{a, b::c}`
/// gives `a` and `b`.
fn names_after(line: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices(prefix) {
        // Not the tail of a longer path (`super::super::x` read as `super::x`).
        if line[..i].ends_with("::") {
            continue;
        }
        let rest = &line[i + prefix.len()..];
        if rest.starts_with('{') {
            out.extend(group_names(rest));
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out
}

/// A circle in `edges`, as the path that closes it, if there is one.
fn find_circle(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            let mut circle = path[i..].to_vec();
            circle.push(at.to_string());
            return Some(circle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_string());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_string());
        None
    }
    let mut done = Default::default();
    for start in edges.keys() {
        if let Some(c) = visit(start, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// No circles (issue 25): among the top-level modules (`crate::X::` paths), and among the
/// parts of each module folder (`crate::M::A::`, `super::A` from a part's own file), a change
/// to one module never has to be read against a module that depends on it back.
///
/// One circle stays, on purpose: the store's rooms each implement their part of the one
/// `SqlStore` that `store/db.rs` defines and opens (issue 16 split the store by what it keeps,
/// not into separate types); `db` names the inbox file and the instance owner it opens them
/// with, and those two arrows (db -> inbox, db -> instances) are the only ones let through.
/// Any other circle fails here. Paths through a `pub use` re-export are not followed.
#[test]
fn no_module_depends_on_itself_in_a_circle() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inner: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let from = module_of(&src, f);
        let rel: Vec<String> = f
            .strip_prefix(&src)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let text = std::fs::read_to_string(f).unwrap();
        // One line of code per file: a `use` group spread over lines reads as one.
        let joined = code_lines(&text).join(" ");
        let lines = [joined.as_str()];
        for line in &lines {
            for to in names_after(line, "crate::") {
                if to != from && top.contains(&to) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        // A part of a module folder: src/M/A.rs, src/M/A/mod.rs, src/M/A/x.rs.
        if rel.len() < 2 || rel[1] == "mod.rs" {
            continue;
        }
        let part = rel[1].trim_end_matches(".rs").to_string();
        let folder = src.join(&rel[0]);
        let parts: BTreeSet<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .filter(|n| n != "mod")
            .collect();
        let own_file = rel.len() == 2 || (rel.len() == 3 && rel[2] == "mod.rs");
        let up = if own_file {
            "super::"
        } else {
            "super::super::"
        };
        for line in &lines {
            let mut names = names_after(line, &format!("crate::{}::", rel[0]));
            if rel.len() <= 3 {
                names.extend(names_after(line, up));
            }
            for to in names {
                if to != part && parts.contains(&to) {
                    inner
                        .entry(rel[0].clone())
                        .or_default()
                        .entry(part.clone())
                        .or_default()
                        .insert(to);
                }
            }
        }
    }
    assert!(
        edges.len() > 10,
        "read the module graph ({} modules)",
        edges.len()
    );
    if let Some(c) = find_circle(&edges) {
        panic!("a circle between modules: {}", c.join(" -> "));
    }
    for (folder, mut parts) in inner {
        if folder == "store" {
            // See above: what db.rs opens the store with, and nothing else.
            if let Some(db) = parts.get_mut("db") {
                db.remove("inbox");
                db.remove("instances");
            }
        }
        if let Some(c) = find_circle(&parts) {
            panic!("a circle inside {folder}: {}", c.join(" -> "));
        }
    }
}
