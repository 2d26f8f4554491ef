//! Reading a rules folder: `*.toml` rule files in name order, `lists/NAME.txt`, `tests/*.toml`.
//!
//! Files are parsed with `toml_edit`, which keeps the position of every key and value, and
//! walked by hand rather than through serde: serde stops at the first error, while brand
//! teams need every mistake of every file at once, each as `FILE:LINE:COL: message`.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike, Value};

use file::File;

mod builtin;
mod cases;
mod conditions;
mod file;
mod model_condition;
mod rules;
mod version;

use super::engine::{AcLeaf, Builder, Cond, Rule, RuleInfo, Stateful, Then};
use super::features;
use super::model::Model;
use super::normalize::{normalize, Normalized};
use super::testing::TestCase;
use super::{Category, Input, Kind, LoadError, Mode, RuleSet};

const RULE_KEYS: &[&str] = &[
    "id",
    "description",
    "on",
    "mode",
    "category",
    "priority",
    "examples",
    "when",
    "unless",
    "then",
    "leetspeak",
    "spaced_letters",
];
const CONDITION_KEYS: &[&str] = &[
    "quoting_to_condemn",
    "quoting_to_warn",
    "teasing_a_friend",
    "words",
    "contains",
    "regex",
    "starts_with",
    "ends_with",
    "exact",
    "links",
    "link_domains",
    "contact",
    "min_mentions",
    "max_mentions",
    "min_hashtags",
    "max_hashtags",
    "min_length",
    "max_length",
    "min_emoji_ratio",
    "min_caps_ratio",
    "has_confusables",
    "site_name",
    "impersonates",
    "language",
    "author",
    "author_regex",
    "account",
    "media_id",
    "media_type",
    "is_reply",
    "any",
    "all",
    "not",
    "flood",
    "wave",
    "repeat_offender",
    "model",
    "handle_words",
    "handles_except",
    "addressed",
];
const THEN_KEYS: &[&str] = &["hide", "delete", "reply", "stop"];
const CASE_KEYS: &[&str] = &[
    "name",
    "text",
    "expect",
    "username",
    "user_id",
    "comment_id",
    "media_id",
    "account_id",
    "media_product_type",
    "account_username",
    "parent_id",
    "kind",
    "time",
    "repeat",
    "shadow",
];
const MEDIA_TYPES: &[&str] = &["FEED", "REELS", "STORY", "LIVE", "AD"];

/// Suggests the closest known name, for "unknown key" messages.
pub(crate) fn did_you_mean(word: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(word.len() / 3) => format!(" (did you mean `{k}`?)"),
        _ => String::new(),
    }
}

/// Loader state shared by all files of one folder.
struct Loader {
    dir: PathBuf,
    files: Files,
    errors: Vec<LoadError>,
    lists: HashMap<String, Option<Vec<String>>>,
    /// Models by name: their index in the builder, or the reason they could not be read.
    models: HashMap<String, Result<u32, String>>,
    ids: HashMap<String, String>,
    builder: Builder,
    rules: Vec<Rule>,
    tests: Vec<TestCase>,
}

type Span = Option<Range<usize>>;

fn item_span(item: &Item) -> Span {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a number",
        Item::Value(Value::Boolean(_)) => "true/false",
        Item::Value(Value::Datetime(_)) => "a date",
        Item::Value(Value::Array(_)) => "a list",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "a list of tables",
        Item::None => "nothing",
    }
}

/// Where the loader reads: the folder on disk, or files held in memory by their paths (the
/// fuzzer's way: no file written per input, so it runs at the speed of the loader).
pub(crate) enum Files {
    Disk,
    Memory(std::collections::BTreeMap<PathBuf, Vec<u8>>),
}

impl Files {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self {
            Files::Disk => std::fs::read(path),
            // The disk's own words for a missing file (ENOENT), so errors read the same.
            Files::Memory(m) => m
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from_raw_os_error(2)),
        }
    }

    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        match self {
            Files::Disk => std::fs::read_to_string(path),
            Files::Memory(_) => String::from_utf8(self.read(path)?).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )
            }),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        match self {
            Files::Disk => path.exists(),
            Files::Memory(m) => m.contains_key(path),
        }
    }

    /// The files directly in `dir` (sorted), or the folder's read error.
    fn in_dir(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        match self {
            Files::Disk => Ok(std::fs::read_dir(dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()),
            Files::Memory(m) => {
                let found: Vec<PathBuf> = m
                    .keys()
                    .filter(|p| p.parent() == Some(dir))
                    .cloned()
                    .collect();
                if found.is_empty() && !m.keys().any(|p| p.starts_with(dir)) {
                    return Err(std::io::Error::from_raw_os_error(2));
                }
                Ok(found)
            }
        }
    }

    fn toml_files(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = self
            .in_dir(dir)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// The names (file stems) of the `*.EXT` files in `dir`, sorted; none when it cannot be
    /// read.
    fn names_in(&self, dir: &Path, ext: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .in_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                (p.extension()? == ext).then(|| p.file_stem()?.to_str().map(str::to_string))?
            })
            .collect();
        names.sort();
        names
    }
}

/// Loading lives here, beside the loader: the engine knows nothing of files.
impl RuleSet {
    /// Loads and validates a rules folder, collecting every error across all files.
    pub fn load(dir: &std::path::Path) -> Result<RuleSet, Vec<LoadError>> {
        load_dir(dir)
    }

    /// Loads a rules folder held in memory: `files` maps each file's path (under `dir`, as
    /// `dir/10-scams.toml`, `dir/lists/words.txt`, `dir/models/scam.model`) to its bytes.
    /// Errors name the files by those paths, as [`RuleSet::load`] does. For fuzzing and tests.
    pub fn load_from_memory(
        dir: &std::path::Path,
        files: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    ) -> Result<RuleSet, Vec<LoadError>> {
        load_from(dir, Files::Memory(files))
    }
}

pub(crate) fn load_dir(dir: &Path) -> Result<RuleSet, Vec<LoadError>> {
    load_from(dir, Files::Disk)
}

pub(crate) fn load_from(dir: &Path, files: Files) -> Result<RuleSet, Vec<LoadError>> {
    let mut l = Loader {
        files,
        dir: dir.to_path_buf(),
        errors: Vec::new(),
        lists: HashMap::new(),
        models: HashMap::new(),
        ids: HashMap::new(),
        builder: Builder::default(),
        rules: Vec::new(),
        tests: Vec::new(),
    };
    let files = match l.files.toml_files(dir) {
        Ok(f) => f,
        Err(e) => {
            return Err(vec![LoadError {
                file: dir.display().to_string(),
                line: 1,
                col: 1,
                message: format!("cannot read the rules folder: {e}"),
            }])
        }
    };
    if files.is_empty() {
        l.errors.push(LoadError {
            file: dir.display().to_string(),
            line: 1,
            col: 1,
            message: "no rule files (*.toml) in this folder".into(),
        });
    }
    for path in files {
        l.with_file(&path, |l, f, doc| l.rule_file(f, doc));
    }
    if let Ok(tests) = l.files.toml_files(&dir.join("tests")) {
        for path in tests {
            l.with_file(&path, |l, f, doc| l.test_file(f, doc));
        }
    }
    if !l.errors.is_empty() {
        // Files in name order, then top to bottom, as an editor would list them.
        l.errors
            .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        return Err(l.errors);
    }
    l.builder
        .finish(l.rules, dir.to_path_buf(), l.tests)
        .map_err(|message| {
            vec![LoadError {
                file: dir.display().to_string(),
                line: 1,
                col: 1,
                message,
            }]
        })
}

impl Loader {
    fn err(&mut self, f: &File<'_>, span: Span, message: impl Into<String>) {
        let (line, col) = f.location(span);
        self.errors.push(LoadError {
            file: f.name.clone(),
            line,
            col,
            message: message.into(),
        });
    }

    fn with_file(
        &mut self,
        path: &Path,
        body: impl FnOnce(&mut Self, &File<'_>, &ImDocument<String>),
    ) {
        let name = path.display().to_string();
        let src = match self.files.read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                self.errors.push(LoadError {
                    file: name,
                    line: 1,
                    col: 1,
                    message: format!("cannot read: {e}"),
                });
                return;
            }
        };
        let f = File::new(name, &src);
        match ImDocument::parse(src.clone()) {
            Ok(doc) => body(self, &f, &doc),
            Err(e) => {
                let msg = e.message().trim().replace('\n', "; ");
                self.err(&f, e.span(), format!("TOML syntax: {msg}"));
            }
        }
    }

    fn check_keys(&mut self, f: &File<'_>, t: &dyn TableLike, known: &[&str], what: &str) {
        for (k, _) in t.iter() {
            if !known.contains(&k) {
                let span = t.get_key_value(k).and_then(|(key, _)| key.span());
                self.err(
                    f,
                    span,
                    format!("unknown key `{k}` in {what}{}", did_you_mean(k, known)),
                );
            }
        }
    }

    /// The tables of a `[[name]]` array (or an array of inline tables).
    fn tables<'d>(
        &mut self,
        f: &File<'_>,
        item: &'d Item,
        what: &str,
    ) -> Vec<(&'d dyn TableLike, Span)> {
        match item {
            Item::ArrayOfTables(a) => a.iter().map(|t| (t as &dyn TableLike, t.span())).collect(),
            Item::Value(Value::Array(a)) => {
                let mut out = Vec::new();
                for v in a.iter() {
                    match v.as_inline_table() {
                        Some(t) => out.push((t as &dyn TableLike, v.span())),
                        None => self.err(
                            f,
                            v.span(),
                            format!("each entry of `{what}` must be a table"),
                        ),
                    }
                }
                out
            }
            other => {
                self.err(
                    f,
                    item_span(other),
                    format!(
                        "`{what}` must be a list of tables, not {}",
                        type_name(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn string(&mut self, f: &File<'_>, t: &dyn TableLike, key: &str) -> Option<(String, Span)> {
        let item = t.get(key)?;
        match item.as_str() {
            Some(s) => Some((s.to_string(), item_span(item))),
            None => {
                self.err(
                    f,
                    item_span(item),
                    format!("`{key}` must be a string, not {}", type_name(item)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, f: &File<'_>, t: &dyn TableLike, key: &str) -> Option<bool> {
        let item = t.get(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                self.err(
                    f,
                    item_span(item),
                    format!("`{key}` must be true or false, not {}", type_name(item)),
                );
                None
            }
        }
    }

    fn count(&mut self, f: &File<'_>, t: &dyn TableLike, key: &str) -> Option<u64> {
        let item = t.get(key)?;
        match item.as_integer() {
            Some(n) if n >= 0 => Some(n as u64),
            _ => {
                self.err(
                    f,
                    item_span(item),
                    format!("`{key}` must be a whole number 0 or more"),
                );
                None
            }
        }
    }

    fn ratio(&mut self, f: &File<'_>, t: &dyn TableLike, key: &str) -> Option<f64> {
        let item = t.get(key)?;
        let v = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        match v {
            Some(r) if (0.0..=1.0).contains(&r) => Some(r),
            _ => {
                self.err(
                    f,
                    item_span(item),
                    format!("`{key}` must be a number from 0 to 1, e.g. 0.6"),
                );
                None
            }
        }
    }

    /// A string or a list of strings, each with its position.
    fn strings(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        key: &str,
    ) -> Option<Vec<(String, Span)>> {
        let item = t.get(key)?;
        if let Some(s) = item.as_str() {
            return Some(vec![(s.to_string(), item_span(item))]);
        }
        let Some(arr) = item.as_array() else {
            self.err(
                f,
                item_span(item),
                format!(
                    "`{key}` must be a string or a list of strings, not {}",
                    type_name(item)
                ),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => out.push((s.to_string(), v.span())),
                None => {
                    self.err(f, v.span(), format!("entries of `{key}` must be strings"));
                    ok = false;
                }
            }
        }
        if out.is_empty() && ok {
            self.err(
                f,
                item_span(item),
                format!("`{key}` is an empty list: it could never hold"),
            );
            return None;
        }
        ok.then_some(out)
    }

    /// Expands `list:NAME` entries into the lines of `lists/NAME.txt`.
    fn expand(&mut self, f: &File<'_>, entries: Vec<(String, Span)>) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for (s, span) in entries {
            let Some(name) = s.strip_prefix("list:") else {
                out.push((s, span));
                continue;
            };
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.err(
                    f,
                    span,
                    format!("invalid list name `{name}`: use letters, digits, - and _"),
                );
                continue;
            }
            let path = self.dir.join("lists").join(format!("{name}.txt"));
            let files = &self.files;
            let entry = self.lists.entry(name.to_string()).or_insert_with(|| {
                files.read_to_string(&path).ok().map(|text| {
                    text.lines()
                        .map(|l| l.split_once('#').map_or(l, |(before, _)| before).trim())
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                })
            });
            match entry.clone() {
                Some(lines) => out.extend(lines.into_iter().map(|l| (l, span.clone()))),
                None => {
                    let have = self.files.names_in(&self.dir.join("lists"), "txt");
                    let known = if have.is_empty() {
                        " (there are no lists in lists/)".to_string()
                    } else {
                        format!(
                            "{}; lists here: {}",
                            did_you_mean(
                                name,
                                &have.iter().map(String::as_str).collect::<Vec<_>>()
                            ),
                            have.join(", ")
                        )
                    };
                    self.err(
                        f,
                        span,
                        format!("list file {} not found{known}", path.display()),
                    )
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
struct Opts {
    leet: bool,
    spaced: bool,
}
