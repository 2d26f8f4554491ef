//! Reading training files: CSV or JSON Lines, every problem reported with its file and line.

use std::path::{Path, PathBuf};

use super::train::{DataFile, DataOptions, Dataset, Example};

/// Reads training files: CSV (with a header row) or JSON Lines (`.jsonl`, `.json`:
/// `{"text": ..., "label": 0|1, "weight"?: number, "group"?: string}`). Every problem is
/// reported as `FILE:LINE: message`; nothing is returned unless every row is good.
/// Each file comes with its grouping (`handles`, `sites` or `file`, as a model header's
/// `trained_on.files` records them); files are read in this order.
pub fn load(all: &[(PathBuf, &str)], opts: &DataOptions) -> Result<Dataset, Vec<String>> {
    let mut ds = Dataset::default();
    let mut errors = Vec::new();
    for &(ref path, grouping) in all {
        let index = ds.files.len();
        let before = ds.examples.len();
        let name = path.display().to_string();
        let json = path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "json" || e == "ndjson");
        let result = if json {
            read_jsonl(path, index, &mut ds.examples, &mut errors)
        } else {
            read_csv(path, index, opts, &mut ds.examples, &mut errors)
        };
        if let Err(e) = result {
            errors.push(format!("{name}: {e}"));
        }
        if opts.unescape_html {
            for ex in &mut ds.examples[before..] {
                ex.text = unescape_html(&ex.text);
            }
        }
        let rows = ds.examples.len() - before;
        if rows == 0 && errors.is_empty() {
            errors.push(format!("{name}: no rows"));
        }
        ds.files.push(DataFile {
            path: name,
            rows,
            positives: ds.examples[before..].iter().filter(|e| e.label).count(),
            grouping: grouping.into(),
        });
    }
    if errors.is_empty() {
        Ok(ds)
    } else {
        Err(errors)
    }
}

fn read_csv(
    path: &Path,
    file: usize,
    opts: &DataOptions,
    out: &mut Vec<Example>,
    errors: &mut Vec<String>,
) -> Result<(), String> {
    let name = path.display();
    let body = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    // Line numbers are counted here from each record's byte offset: the csv crate's own count
    // is one short per line in files with Windows line endings (\r\n), which spreadsheets write.
    let mut counted = (0usize, 1usize);
    let mut line_at = |byte: u64| {
        let mut byte = (byte as usize).min(body.len());
        // A record's offset may point at the line end before it.
        while byte < body.len() && matches!(body[byte], b'\r' | b'\n') {
            byte += 1;
        }
        counted.1 += body[counted.0..byte]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted.0 = byte;
        counted.1
    };
    let mut r = csv::ReaderBuilder::new().from_reader(body.as_slice());
    let headers = r
        .headers()
        .map_err(|e| format!("1: unreadable header row: {e}"))?
        .clone();
    let find = |names: &[String]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h.trim() == n))
    };
    let columns = headers.iter().collect::<Vec<_>>().join(", ");
    let text = find(&opts.text_columns);
    let label = find(&opts.label_columns);
    if text.is_none() {
        errors.push(format!(
            "{name}:1: no text column (looked for {}; the file has {columns}); name it with --text-column",
            opts.text_columns.join(", ")
        ));
    }
    if label.is_none() {
        errors.push(format!(
            "{name}:1: no label column (looked for {}; the file has {columns}); name it with --label-column",
            opts.label_columns.join(", ")
        ));
    }
    let (Some(text), Some(label)) = (text, label) else {
        return Ok(());
    };
    for rec in r.records() {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                errors.push(format!("{name}:{line}: unreadable row: {e}"));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| line_at(p.byte()));
        let t = rec.get(text).unwrap_or("");
        let l = rec.get(label).unwrap_or("").trim();
        if t.trim().is_empty() {
            errors.push(format!("{name}:{line}: empty text"));
            continue;
        }
        let label = match l {
            "0" => false,
            "1" => true,
            other => {
                errors.push(format!("{name}:{line}: label `{other}` is not 0 or 1"));
                continue;
            }
        };
        out.push(Example {
            text: t.to_string(),
            label,
            weight: 1.0,
            file,
            line,
            group: None,
        });
    }
    Ok(())
}

fn read_jsonl(
    path: &Path,
    file: usize,
    out: &mut Vec<Example>,
    errors: &mut Vec<String>,
) -> Result<(), String> {
    let name = path.display();
    let body = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    for (i, raw) in body.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("{name}:{line}: not JSON: {e}"));
                continue;
            }
        };
        let text = match v.get("text").and_then(|t| t.as_str()) {
            Some(t) if !t.trim().is_empty() => t.to_string(),
            Some(_) => {
                errors.push(format!("{name}:{line}: empty text"));
                continue;
            }
            None => {
                errors.push(format!("{name}:{line}: no \"text\" string"));
                continue;
            }
        };
        let label = match v.get("label") {
            Some(l) if l.as_u64() == Some(0) || l.as_bool() == Some(false) => false,
            Some(l) if l.as_u64() == Some(1) || l.as_bool() == Some(true) => true,
            Some(l) => {
                errors.push(format!("{name}:{line}: label {l} is not 0 or 1"));
                continue;
            }
            None => {
                errors.push(format!("{name}:{line}: no \"label\" (0 or 1)"));
                continue;
            }
        };
        let weight = match v.get("weight") {
            None => 1.0,
            Some(w) => match w.as_f64() {
                Some(w) if w > 0.0 && w.is_finite() => w as f32,
                _ => {
                    errors.push(format!(
                        "{name}:{line}: weight {w} is not a positive number"
                    ));
                    continue;
                }
            },
        };
        out.push(Example {
            text,
            label,
            weight,
            file,
            line,
            group: v.get("group").and_then(|g| g.as_str()).map(str::to_string),
        });
    }
    Ok(())
}

fn unescape_html(s: &str) -> String {
    s.replace("<br />", " ")
        .replace("<br/>", " ")
        .replace("<br>", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
