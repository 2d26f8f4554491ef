//! The compiled rule set and its evaluation.
//!
//! Every word and substring of every rule is compiled once per load into one aho-corasick
//! automaton over normalized text, every regex into one `RegexSet`; evaluation runs each
//! once, then walks the rules by priority and checks their condition trees against those
//! hits and against facts computed on demand.

use std::cell::OnceCell;
use std::path::PathBuf;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};
use serde::Serialize;

use super::features::{self, Link};
use super::model::Model;
use super::normalize::{self, Normalized};
use super::testing::TestCase;
use super::{
    Action, Category, Decision, Evidence, Input, Kind, Mode, ModelScore, RuleMatch, RuleState,
};

/// What the service and the CLI may know about a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub description: String,
    pub mode: Mode,
    pub category: Category,
    pub priority: i64,
    pub on: Vec<Kind>,
    /// The file it was loaded from, relative to the rules folder.
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Then {
    pub hide: bool,
    pub delete: bool,
    pub replies: Vec<String>,
    pub stop: bool,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub info: RuleInfo,
    pub when: Cond,
    pub unless: Option<Cond>,
    pub then: Then,
    pub hits: Vec<(String, String)>,
    pub misses: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stateful {
    Flood { count: u64, within: i64 },
    Wave { authors: u64, within: i64 },
    RepeatOffender { count: u64, within: i64 },
}

#[derive(Debug)]
pub(crate) enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    /// Words or substrings: index into the automaton's leaves.
    Ac(u32),
    Regex(Vec<u32>),
    StartsWith(Vec<String>),
    EndsWith(Vec<String>),
    Exact(Vec<String>),
    Links(bool),
    LinkDomains(Vec<String>),
    Contact(Vec<usize>),
    MinMentions(usize),
    MaxMentions(usize),
    MinHashtags(usize),
    MaxHashtags(usize),
    MinLength(usize),
    MaxLength(usize),
    MinEmojiRatio(f64),
    MinCapsRatio(f64),
    HasConfusables(bool),
    Language(Vec<String>),
    Author(Vec<String>),
    AuthorRegex(Box<Regex>),
    Account(Vec<String>),
    MediaId(Vec<String>),
    MediaType(Vec<String>),
    IsReply(bool),
    State(Stateful),
    /// Holds when model number `model`'s score is above `above` (and below `below`).
    Model {
        model: u32,
        above: Option<f32>,
        below: Option<f32>,
    },
    /// One of these words occurs inside an @handle or #handle the comment names.
    HandleWords(Box<AhoCorasick>),
    /// The comment names an @handle or #handle that is none of these (normalized, no sigil).
    HandlesExcept(Vec<String>),
}

/// What a condition cannot hold without: one of these words/contains leaves hit, or one of
/// these regexes is a candidate. `None`: no such requirement (it may hold on any comment).
#[derive(Debug, Default)]
struct Trigger {
    leaves: Vec<u32>,
    regexes: Vec<u32>,
}

impl Cond {
    fn trigger(&self) -> Option<Trigger> {
        match self {
            Cond::Ac(leaf) => Some(Trigger {
                leaves: vec![*leaf],
                regexes: Vec::new(),
            }),
            Cond::Regex(ids) => Some(Trigger {
                leaves: Vec::new(),
                regexes: ids.clone(),
            }),
            // All holds only if each part does: any part's requirement will do.
            Cond::All(cs) => cs.iter().find_map(Cond::trigger),
            // Any holds only if some part does: every part needs a requirement.
            Cond::Any(cs) => {
                let mut t = Trigger::default();
                for c in cs {
                    let u = c.trigger()?;
                    t.leaves.extend(u.leaves);
                    t.regexes.extend(u.regexes);
                }
                Some(t)
            }
            _ => None,
        }
    }

    fn uses_model(&self) -> bool {
        match self {
            Cond::Model { .. } => true,
            Cond::All(v) | Cond::Any(v) => v.iter().any(Cond::uses_model),
            Cond::Not(c) => c.uses_model(),
            _ => false,
        }
    }

    fn is_stateful(&self) -> bool {
        match self {
            Cond::State(_) => true,
            Cond::All(v) | Cond::Any(v) => v.iter().any(Cond::is_stateful),
            Cond::Not(c) => c.is_stateful(),
            _ => false,
        }
    }

    /// The longest `within` of the stateful conditions in this tree, seconds.
    fn state_window(&self) -> i64 {
        match self {
            Cond::State(
                Stateful::Flood { within, .. }
                | Stateful::Wave { within, .. }
                | Stateful::RepeatOffender { within, .. },
            ) => *within,
            Cond::All(v) | Cond::Any(v) => v.iter().map(Cond::state_window).max().unwrap_or(0),
            Cond::Not(c) => c.state_window(),
            _ => 0,
        }
    }
}

/// One words/contains condition: which views of the text it may match in.
#[derive(Debug, Clone)]
pub(crate) struct AcLeaf {
    pub label: &'static str,
    pub whole_word: bool,
    pub leet: bool,
    pub spaced: bool,
}

/// Collects patterns and regexes while rules load, then compiles them once.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    patterns: Vec<Vec<u8>>,
    pattern_ids: std::collections::HashMap<Vec<u8>, u32>,
    pattern_leaves: Vec<Vec<u32>>,
    pub leaves: Vec<AcLeaf>,
    regex_sources: Vec<String>,
    regexes: Vec<Regex>,
    /// Per regex: the literals every match starts with, or `None` when it has none usable.
    regex_prefixes: Vec<Option<Vec<Vec<u8>>>>,
    /// The models rules name, by name, each loaded once.
    pub models: Vec<(String, std::sync::Arc<Model>)>,
}

/// The word automaton is a DFA (one table lookup per byte of text) unless its table would
/// exceed `AC_DFA_MAX_BYTES`; then a contiguous NFA (smaller, a few times slower).
fn ac_kind(patterns: &[Vec<u8>]) -> aho_corasick::AhoCorasickKind {
    // Upper bounds: one state per pattern byte, one column per distinct byte (plus one for
    // all others), 4 bytes an entry.
    let states: usize = patterns.iter().map(Vec::len).sum::<usize>() + 1;
    let mut seen = [false; 256];
    patterns
        .iter()
        .flatten()
        .for_each(|&b| seen[b as usize] = true);
    let classes = seen.iter().filter(|&&s| s).count() + 1;
    if states.saturating_mul(classes).saturating_mul(4) <= AC_DFA_MAX_BYTES {
        aho_corasick::AhoCorasickKind::DFA
    } else {
        aho_corasick::AhoCorasickKind::ContiguousNFA
    }
}

/// 10,000 phrases of about 11 bytes over 40 distinct bytes need about 18 MB.
const AC_DFA_MAX_BYTES: usize = 64 << 20;

/// When more regexes than this are candidates for one comment, the `RegexSet` decides which
/// match in one pass; below it, each candidate regex runs only if its rule is reached.
const REGEX_SET_ABOVE: usize = 16;

/// The literals every match of `source` (case-insensitive, as rules compile it) starts with,
/// ASCII-lowercased and deduplicated: normalized text has no ASCII capitals, so the lowercase
/// form of a literal covers every occurrence of it. `None` when the regex has no such finite
/// set (or it contains the empty string).
fn regex_prefixes(source: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(source)
        .ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let mut out: Vec<Vec<u8>> = Vec::new();
    for lit in seq.literals()? {
        if lit.as_bytes().is_empty() {
            return None;
        }
        let lower = lit.as_bytes().to_ascii_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A regex syntax error as the regex crate draws it (the pattern, a caret line under the
/// mistake, the reason), each line indented under the `FILE:LINE:COL:` line.
pub(crate) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "regex parse error:")
        .collect();
    format!("invalid regex:\n    {}", lines.join("\n    "))
}

/// Regexes are compiled with this size limit so one rule cannot exhaust memory.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Builder {
    fn pattern_id(&mut self, p: &[u8]) -> u32 {
        match self.pattern_ids.get(p) {
            Some(&pid) => pid,
            None => {
                let pid = self.patterns.len() as u32;
                self.patterns.push(p.to_vec());
                self.pattern_ids.insert(p.to_vec(), pid);
                self.pattern_leaves.push(Vec::new());
                pid
            }
        }
    }

    pub fn add_leaf(&mut self, leaf: AcLeaf, patterns: &[String]) -> u32 {
        let id = self.leaves.len() as u32;
        self.leaves.push(leaf);
        for p in patterns {
            let pid = self.pattern_id(p.as_bytes());
            let leaves = &mut self.pattern_leaves[pid as usize];
            if leaves.last() != Some(&id) {
                leaves.push(id);
            }
        }
        id
    }

    /// Compiles a regex (case-insensitive: it runs on normalized text) and returns its index.
    pub fn add_regex(&mut self, source: &str) -> Result<u32, String> {
        let re = regex::RegexBuilder::new(source)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => format!(
                    "regex is too large once compiled (limit {limit} bytes); split it or use words"
                ),
                e => regex_error(&e),
            })?;
        self.regex_sources.push(source.to_string());
        self.regexes.push(re);
        self.regex_prefixes.push(regex_prefixes(source));
        Ok(self.regexes.len() as u32 - 1)
    }

    pub fn finish(
        mut self,
        mut rules: Vec<Rule>,
        dir: PathBuf,
        tests: Vec<TestCase>,
    ) -> Result<RuleSet, String> {
        // Regex prefixes join the word automaton: one scan finds both.
        let mut pattern_regexes: Vec<Vec<u32>> = vec![Vec::new(); self.patterns.len()];
        let mut regex_always = Vec::new();
        for (i, prefixes) in std::mem::take(&mut self.regex_prefixes)
            .into_iter()
            .enumerate()
        {
            let Some(prefixes) = prefixes else {
                regex_always.push(i as u32);
                continue;
            };
            for p in prefixes {
                let pid = self.pattern_id(&p) as usize;
                if pid == pattern_regexes.len() {
                    pattern_regexes.push(Vec::new());
                }
                if pattern_regexes[pid].last() != Some(&(i as u32)) {
                    pattern_regexes[pid].push(i as u32);
                }
            }
        }
        let ac = if self.patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .kind(Some(ac_kind(&self.patterns)))
                    .build(&self.patterns)
                    .map_err(|e| format!("word automaton: {e}"))?,
            )
        };
        let regex_set = if self.regex_sources.is_empty() {
            None
        } else {
            Some(
                regex::RegexSetBuilder::new(&self.regex_sources)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT * 64)
                    .dfa_size_limit(REGEX_SIZE_LIMIT * 16)
                    .build()
                    .map_err(|e| format!("regex set: {e}"))?,
            )
        };
        let pattern_edges = self
            .patterns
            .iter()
            .map(|p| {
                let p = String::from_utf8_lossy(p);
                (
                    p.chars().next().is_some_and(char::is_alphanumeric),
                    p.chars().next_back().is_some_and(char::is_alphanumeric),
                )
            })
            .collect();
        // Highest priority first; equal priorities keep file order.
        rules.sort_by_key(|r| std::cmp::Reverse(r.info.priority));
        let stateful = rules
            .iter()
            .any(|r| r.when.is_stateful() || r.unless.as_ref().is_some_and(Cond::is_stateful));
        // Which rules (priority order) each leaf and regex may bring to life; the rest always run.
        let words = rules.len().div_ceil(64);
        let mut untriggered = vec![0u64; words];
        let mut leaf_rules = vec![Vec::new(); self.leaves.len()];
        let mut regex_rules = vec![Vec::new(); self.regexes.len()];
        for (idx, rule) in rules.iter().enumerate() {
            match rule.when.trigger() {
                None => untriggered[idx / 64] |= 1 << (idx % 64),
                Some(t) => {
                    for l in t.leaves {
                        leaf_rules[l as usize].push(idx as u32);
                    }
                    for r in t.regexes {
                        regex_rules[r as usize].push(idx as u32);
                    }
                }
            }
        }
        let state_window = rules
            .iter()
            .flat_map(|r| std::iter::once(&r.when).chain(r.unless.as_ref()))
            .map(Cond::state_window)
            .max()
            .unwrap_or(0);
        let any_leet = self.leaves.iter().any(|l| l.leet);
        let any_spaced = self.leaves.iter().any(|l| l.spaced);
        Ok(RuleSet {
            models: self.models,
            rules,
            ac,
            pattern_leaves: self.pattern_leaves,
            pattern_regexes,
            regex_always,
            pattern_edges,
            leaves: self.leaves,
            regexes: self.regexes,
            regex_set,
            stateful,
            untriggered,
            leaf_rules,
            regex_rules,
            state_window,
            any_leet,
            any_spaced,
            dir,
            tests,
        })
    }
}

/// A compiled rule set.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    models: Vec<(String, std::sync::Arc<Model>)>,
    ac: Option<AhoCorasick>,
    pattern_leaves: Vec<Vec<u32>>,
    /// Per pattern: the regexes it is a prefix literal of (empty for most patterns).
    pattern_regexes: Vec<Vec<u32>>,
    /// Regexes without prefix literals: candidates on every non-empty comment.
    regex_always: Vec<u32>,
    /// Per pattern: (starts with a letter or digit, ends with one), for word boundaries.
    pattern_edges: Vec<(bool, bool)>,
    leaves: Vec<AcLeaf>,
    regexes: Vec<Regex>,
    regex_set: Option<RegexSet>,
    stateful: bool,
    /// Bitset of the rules (priority order) whose `when` has no trigger: evaluated always.
    untriggered: Vec<u64>,
    /// Per words/contains leaf, per regex: the rules that can only hold when it hit.
    leaf_rules: Vec<Vec<u32>>,
    regex_rules: Vec<Vec<u32>>,
    /// The longest `within` of any stateful condition, seconds.
    state_window: i64,
    any_leet: bool,
    any_spaced: bool,
    dir: PathBuf,
    pub(crate) tests: Vec<TestCase>,
}

/// Everything one evaluation knows, with facts computed on first use.
struct Ctx<'a> {
    input: &'a Input,
    norm: &'a Normalized,
    ac_hits: &'a [Option<(u32, u32)>],
    regex_hits: &'a [bool],
    set: &'a RuleSet,
    state: &'a dyn RuleState,
    now: i64,
    /// The normalized username (or the user id), for author and stateful conditions.
    author: OnceCell<String>,
    links: OnceCell<Vec<Link>>,
    mentions: OnceCell<Vec<(usize, usize)>>,
    hashtags: OnceCell<Vec<(usize, usize)>>,
    language: OnceCell<Option<whatlang::Lang>>,
    text_key: OnceCell<String>,
    /// Per model: its score, computed when a condition first asks.
    scores: Vec<OnceCell<f32>>,
}

impl Ctx<'_> {
    fn norm_evidence(&self, condition: &str, start: usize, end: usize) -> Evidence {
        let (s, e) = self.norm.original_span(start, end);
        self.orig_evidence(condition, s, e)
    }

    fn orig_evidence(&self, condition: &str, start: usize, end: usize) -> Evidence {
        Evidence {
            condition: condition.to_string(),
            matched: self.input.text.get(start..end).unwrap_or("").to_string(),
            start,
            end,
            score: None,
        }
    }

    fn whole(&self, condition: &str) -> Evidence {
        self.orig_evidence(condition, 0, self.input.text.len())
    }

    fn author(&self) -> &str {
        self.author.get_or_init(|| author_key(self.input))
    }

    fn links(&self) -> &[Link] {
        self.links
            .get_or_init(|| features::find_links(&self.norm.text))
    }

    fn score(&self, model: u32) -> f32 {
        *self.scores[model as usize].get_or_init(|| {
            self.set.models[model as usize]
                .1
                .score(&self.norm.text, &self.input.text)
        })
    }

    fn handles(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let text = self.norm.text.as_str();
        self.mentions
            .get_or_init(|| features::mentions(text))
            .iter()
            .chain(
                self.hashtags
                    .get_or_init(|| features::hashtags(text))
                    .iter(),
            )
            .copied()
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl RuleSet {
    /// Loads and validates a rules folder, collecting every error across all files.
    pub fn load(dir: &std::path::Path) -> Result<RuleSet, Vec<super::LoadError>> {
        super::load::load_dir(dir)
    }

    /// Evaluates one comment or mention.
    pub fn evaluate(&self, input: &Input, state: &dyn RuleState) -> Decision {
        self.evaluate_with(input, state, &|_| false)
    }

    /// Like [`evaluate`](Self::evaluate), but every rule for which `forced_shadow(id)` is true
    /// runs as a shadow rule (reported, never enforced): the service uses it to take a rule
    /// out of enforcement without editing files.
    pub fn evaluate_with(
        &self,
        input: &Input,
        state: &dyn RuleState,
        forced_shadow: &dyn Fn(&str) -> bool,
    ) -> Decision {
        self.run(input, state, forced_shadow, None)
    }

    /// Whether any rule has a flood, wave or repeat-offender condition: only then does
    /// evaluation ask (and tell) its [`RuleState`] anything.
    pub fn uses_state(&self) -> bool {
        self.stateful
    }

    /// How far back (seconds) the stateful conditions look: the state older than this is
    /// never asked about. 0 when no rule uses state.
    pub fn state_window(&self) -> i64 {
        self.state_window
    }

    /// The author and text keys under which evaluating `input` asks and records state, so a
    /// caller can fetch exactly that state beforehand.
    pub fn state_keys(input: &Input) -> (String, String) {
        let norm = Normalized::new(&input.text);
        (author_key(input), normalize::text_key(&norm.text))
    }

    /// The models the rules use, by name.
    pub fn models(&self) -> &[(String, std::sync::Arc<Model>)] {
        &self.models
    }

    /// Ids of the rules with a model condition (in `when` or `unless`).
    pub fn rules_using_models(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.when.uses_model() || r.unless.as_ref().is_some_and(Cond::uses_model))
            .map(|r| r.info.id.clone())
            .collect()
    }

    /// Metadata of every rule, highest priority first.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.rules.iter().map(|r| r.info.clone()).collect()
    }

    /// The folder this set was loaded from.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether rule number `idx` (in priority order) holds for `input`, ignoring all others.
    pub(crate) fn rule_holds(&self, idx: usize, input: &Input) -> bool {
        let d = self.run(input, &super::NoState, &|_| false, Some(idx));
        !d.matched.is_empty()
    }

    fn run(
        &self,
        input: &Input,
        state: &dyn RuleState,
        forced_shadow: &dyn Fn(&str) -> bool,
        only: Option<usize>,
    ) -> Decision {
        let norm = Normalized::new(&input.text);
        let mut regex_hits = vec![false; self.regexes.len()];
        let ac_hits = self.ac_hits(&norm, &mut regex_hits);
        // `regex_hits[i]`: regex i may match (its rule runs it to find the span). Many
        // candidates at once are narrowed down by the RegexSet in one pass.
        if norm.text.is_empty() {
            regex_hits.fill(false);
        } else if !regex_hits.is_empty() {
            for &i in &self.regex_always {
                regex_hits[i as usize] = true;
            }
            let candidates = regex_hits.iter().filter(|&&c| c).count();
            if candidates > REGEX_SET_ABOVE {
                if let Some(set) = &self.regex_set {
                    regex_hits.fill(false);
                    for i in set.matches(&norm.text).iter() {
                        regex_hits[i] = true;
                    }
                }
            }
        }
        let ctx = Ctx {
            input,
            norm: &norm,
            ac_hits: &ac_hits,
            regex_hits: &regex_hits,
            set: self,
            state,
            // Only stateful conditions read the clock.
            now: match input.time {
                Some(t) => t,
                None if self.stateful => now_secs(),
                None => 0,
            },
            author: OnceCell::new(),
            links: OnceCell::new(),
            mentions: OnceCell::new(),
            hashtags: OnceCell::new(),
            language: OnceCell::new(),
            text_key: OnceCell::new(),
            scores: self.models.iter().map(|_| OnceCell::new()).collect(),
        };
        let record = self.stateful && only.is_none();
        if record {
            let key = ctx.text_key.get_or_init(|| normalize::text_key(&norm.text));
            state.record_comment(ctx.author(), key, ctx.now);
        }

        // The rules worth evaluating: those without a trigger, and those whose trigger fired.
        let mut live = self.untriggered.clone();
        let mut wake = |rules: &[u32]| {
            for &r in rules {
                live[r as usize / 64] |= 1 << (r % 64);
            }
        };
        for (leaf, hit) in ac_hits.iter().enumerate() {
            if hit.is_some() {
                wake(&self.leaf_rules[leaf]);
            }
        }
        for (i, &candidate) in regex_hits.iter().enumerate() {
            if candidate {
                wake(&self.regex_rules[i]);
            }
        }
        let live_rules = live.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        });

        let mut matched = Vec::new();
        let mut exempted = Vec::new();
        let mut replies: Vec<Action> = Vec::new();
        let (mut hide, mut delete) = (false, false);
        let mut evidence = Vec::new();
        for idx in live_rules {
            let rule = &self.rules[idx];
            if only.is_some_and(|o| o != idx) || !rule.info.on.contains(&input.kind) {
                continue;
            }
            evidence.clear();
            if !eval(&rule.when, &ctx, &mut evidence) {
                continue;
            }
            if let Some(unless) = &rule.unless {
                let mut why = Vec::new();
                if eval(unless, &ctx, &mut why) {
                    exempted.push(RuleMatch {
                        rule: rule.info.id.clone(),
                        category: rule.info.category,
                        mode: rule.info.mode,
                        actions: Vec::new(),
                        evidence: why,
                    });
                    continue;
                }
            }
            let mode = if rule.info.mode == Mode::Shadow || forced_shadow(&rule.info.id) {
                Mode::Shadow
            } else {
                Mode::Enforce
            };
            let mut actions = Vec::new();
            if !rule.then.replies.is_empty() {
                let pick = variant_index(input, rule.then.replies.len());
                let first = evidence
                    .first()
                    .map_or("", |e: &Evidence| e.matched.as_str());
                let author = input.username.as_deref().unwrap_or("");
                let text = rule.then.replies[pick]
                    .replace("{author}", author)
                    .replace("{match}", first)
                    .replace("{rule}", &rule.info.id);
                actions.push(Action::Reply { text });
            }
            // Hide and delete act on our own media only: a mention is someone else's.
            if input.kind == Kind::Comment {
                if rule.then.delete {
                    actions.push(Action::Delete);
                } else if rule.then.hide {
                    actions.push(Action::Hide);
                }
            }
            if mode == Mode::Enforce {
                for a in &actions {
                    match a {
                        Action::Hide => hide = true,
                        Action::Delete => delete = true,
                        Action::Reply { .. } => {
                            // One reply per comment: the highest-priority rule's.
                            if replies.is_empty() {
                                replies.push(a.clone());
                            }
                        }
                    }
                }
            }
            matched.push(RuleMatch {
                rule: rule.info.id.clone(),
                category: rule.info.category,
                mode,
                actions,
                evidence: std::mem::take(&mut evidence),
            });
            if mode == Mode::Enforce && rule.then.stop {
                break;
            }
        }
        let mut actions = replies;
        if delete {
            actions.push(Action::Delete);
        } else if hide {
            actions.push(Action::Hide);
        }
        if record && !actions.is_empty() {
            state.record_enforced(ctx.author(), ctx.now);
        }
        let scores = ctx
            .scores
            .iter()
            .zip(&self.models)
            .filter_map(|(s, (name, _))| {
                s.get().map(|&score| ModelScore {
                    model: name.clone(),
                    score,
                })
            })
            .collect();
        drop(ctx);
        Decision {
            normalized: norm.text,
            matched,
            actions,
            exempted,
            scores,
        }
    }

    /// For each words/contains leaf, the first original-text span where it matched; marks in
    /// `regex_candidates` the regexes whose prefix literal occurs in the normalized text.
    fn ac_hits(&self, norm: &Normalized, regex_candidates: &mut [bool]) -> Vec<Option<(u32, u32)>> {
        let mut hits = vec![None; self.leaves.len()];
        let Some(ac) = &self.ac else { return hits };
        self.scan(
            ac,
            &norm.text,
            &mut hits,
            |s, e| norm.original_span(s, e),
            |_| true,
            Some(regex_candidates),
        );
        if self.any_leet {
            if let Some(leet) = norm.leet() {
                self.scan(
                    ac,
                    &leet,
                    &mut hits,
                    |s, e| norm.original_span(s, e),
                    |l| l.leet,
                    None,
                );
            }
        }
        if self.any_spaced {
            if let Some((spaced, map)) = norm.spaced() {
                let back = |s: usize, e: usize| {
                    let ns = map[s] as usize;
                    let ne = map[e - 1] as usize + 1;
                    norm.original_span(ns, ne)
                };
                self.scan(ac, &spaced, &mut hits, back, |l| l.spaced, None);
            }
        }
        hits
    }

    fn scan(
        &self,
        ac: &AhoCorasick,
        text: &str,
        hits: &mut [Option<(u32, u32)>],
        to_original: impl Fn(usize, usize) -> (usize, usize),
        allowed: impl Fn(&AcLeaf) -> bool,
        mut regex_candidates: Option<&mut [bool]>,
    ) {
        for m in ac.find_overlapping_iter(text) {
            let pid = m.pattern().as_usize();
            if let Some(c) = regex_candidates.as_deref_mut() {
                for &r in &self.pattern_regexes[pid] {
                    c[r as usize] = true;
                }
            }
            let (left, right) = self.pattern_edges[pid];
            let mut bounded: Option<bool> = None;
            for &leaf_id in &self.pattern_leaves[pid] {
                let leaf = &self.leaves[leaf_id as usize];
                if hits[leaf_id as usize].is_some() || !allowed(leaf) {
                    continue;
                }
                if leaf.whole_word {
                    let ok = *bounded.get_or_insert_with(|| {
                        (!left
                            || !text[..m.start()]
                                .chars()
                                .next_back()
                                .is_some_and(char::is_alphanumeric))
                            && (!right
                                || !text[m.end()..]
                                    .chars()
                                    .next()
                                    .is_some_and(char::is_alphanumeric))
                    });
                    if !ok {
                        continue;
                    }
                }
                let (s, e) = to_original(m.start(), m.end());
                hits[leaf_id as usize] = Some((s as u32, e as u32));
            }
        }
    }
}

/// Who stateful conditions count: the normalized username, else the user id.
fn author_key(input: &Input) -> String {
    input
        .username
        .as_deref()
        .map(|u| normalize::normalize(u.trim_start_matches('@')))
        .or_else(|| input.user_id.clone())
        .unwrap_or_default()
}

/// Picks a reply variant deterministically from the comment, so a re-run decides the same.
fn variant_index(input: &Input, n: usize) -> usize {
    let key = input.comment_id.as_deref().unwrap_or(&input.text);
    let h = normalize::text_key(key);
    (u64::from_str_radix(&h, 16).unwrap_or(0) % n as u64) as usize
}

fn list_has(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == value)
}

/// Evaluates a condition; on success pushes the evidence of what held.
fn eval(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    let text = ctx.norm.text.as_str();
    match cond {
        Cond::All(cs) => {
            let mark = ev.len();
            for c in cs {
                if !eval(c, ctx, ev) {
                    ev.truncate(mark);
                    return false;
                }
            }
            true
        }
        Cond::Any(cs) => cs.iter().any(|c| eval(c, ctx, ev)),
        Cond::Not(c) => !eval(c, ctx, &mut Vec::new()),
        Cond::Ac(leaf) => match ctx.ac_hits[*leaf as usize] {
            Some((s, e)) => {
                ev.push(ctx.orig_evidence(
                    ctx.set.leaves[*leaf as usize].label,
                    s as usize,
                    e as usize,
                ));
                true
            }
            None => false,
        },
        Cond::Regex(ids) => {
            for &i in ids {
                if ctx.regex_hits[i as usize] {
                    if let Some(m) = ctx.set.regexes[i as usize].find(text) {
                        ev.push(ctx.norm_evidence("regex", m.start(), m.end()));
                        return true;
                    }
                }
            }
            false
        }
        Cond::StartsWith(list) => match list.iter().find(|p| text.starts_with(p.as_str())) {
            Some(p) => {
                ev.push(ctx.norm_evidence("starts_with", 0, p.len()));
                true
            }
            None => false,
        },
        Cond::EndsWith(list) => match list.iter().find(|p| text.ends_with(p.as_str())) {
            Some(p) => {
                ev.push(ctx.norm_evidence("ends_with", text.len() - p.len(), text.len()));
                true
            }
            None => false,
        },
        Cond::Exact(list) => {
            let ok = list_has(list, text);
            if ok {
                ev.push(ctx.whole("exact"));
            }
            ok
        }
        Cond::Links(want) => {
            let links = ctx.links();
            if *want {
                if let Some(l) = links.first() {
                    ev.push(ctx.norm_evidence("links", l.start, l.end));
                    return true;
                }
                false
            } else {
                links.is_empty()
            }
        }
        Cond::LinkDomains(domains) => {
            for l in ctx.links() {
                if domains.iter().any(|d| features::host_matches(&l.host, d)) {
                    ev.push(ctx.norm_evidence("link_domains", l.start, l.end));
                    return true;
                }
            }
            false
        }
        Cond::Contact(kinds) => {
            for &k in kinds {
                if let Some((s, e)) = features::find_contact(text, k) {
                    ev.push(ctx.norm_evidence("contact", s, e));
                    return true;
                }
            }
            false
        }
        Cond::MinMentions(n) | Cond::MaxMentions(n) => {
            let m = ctx.mentions.get_or_init(|| features::mentions(text));
            let ok = if matches!(cond, Cond::MinMentions(_)) {
                m.len() >= *n
            } else {
                m.len() <= *n
            };
            if ok {
                if let Some(&(s, e)) = m.first() {
                    ev.push(ctx.norm_evidence("mentions", s, e));
                }
            }
            ok
        }
        Cond::MinHashtags(n) | Cond::MaxHashtags(n) => {
            let h = ctx.hashtags.get_or_init(|| features::hashtags(text));
            let ok = if matches!(cond, Cond::MinHashtags(_)) {
                h.len() >= *n
            } else {
                h.len() <= *n
            };
            if ok {
                if let Some(&(s, e)) = h.first() {
                    ev.push(ctx.norm_evidence("hashtags", s, e));
                }
            }
            ok
        }
        Cond::MinLength(n) => text.chars().count() >= *n,
        Cond::MaxLength(n) => text.chars().nth(*n).is_none(),
        Cond::MinEmojiRatio(r) => features::emoji_ratio(&ctx.input.text) >= *r,
        Cond::MinCapsRatio(r) => {
            let ok = features::caps_ratio(&ctx.input.text) >= *r;
            if ok {
                ev.push(ctx.whole("min_caps_ratio"));
            }
            ok
        }
        Cond::HasConfusables(want) => normalize::has_confusables(&ctx.input.text) == *want,
        Cond::Language(langs) => {
            let lang = ctx
                .language
                .get_or_init(|| features::language(&ctx.input.text));
            lang.is_some_and(|l| langs.iter().any(|w| features::language_is(l, w)))
        }
        Cond::Author(list) => {
            let ok = list_has(list, ctx.author());
            if ok {
                // No span in the text: the author is not part of it.
                ev.push(Evidence {
                    condition: format!("author @{}", ctx.author()),
                    matched: String::new(),
                    start: 0,
                    end: 0,
                    score: None,
                });
            }
            ok
        }
        Cond::AuthorRegex(re) => re.is_match(ctx.author()),
        Cond::Account(list) => ctx
            .input
            .account_id
            .as_deref()
            .is_some_and(|a| list_has(list, a)),
        Cond::MediaId(list) => ctx
            .input
            .media_id
            .as_deref()
            .is_some_and(|a| list_has(list, a)),
        Cond::MediaType(list) => ctx
            .input
            .media_product_type
            .as_deref()
            .is_some_and(|t| list.iter().any(|x| x.eq_ignore_ascii_case(t))),
        Cond::IsReply(want) => {
            ctx.input
                .parent_id
                .as_deref()
                .is_some_and(|p| !p.is_empty())
                == *want
        }
        Cond::State(s) => {
            if ctx.author().is_empty() && !matches!(s, Stateful::Wave { .. }) {
                return false;
            }
            let (ok, what) = match *s {
                Stateful::Flood { count, within } => (
                    ctx.state
                        .author_comments_since(ctx.author(), ctx.now - within)
                        >= count,
                    "flood",
                ),
                Stateful::Wave { authors, within } => {
                    let key = ctx.text_key.get_or_init(|| normalize::text_key(text));
                    (
                        ctx.state.distinct_authors_since(key, ctx.now - within) >= authors,
                        "wave",
                    )
                }
                Stateful::RepeatOffender { count, within } => (
                    ctx.state.enforced_since(ctx.author(), ctx.now - within) >= count,
                    "repeat_offender",
                ),
            };
            if ok {
                ev.push(ctx.whole(what));
            }
            ok
        }
        Cond::Model {
            model,
            above,
            below,
        } => {
            let s = ctx.score(*model);
            let ok = above.is_none_or(|a| s > a) && below.is_none_or(|b| s < b);
            if ok {
                ev.push(Evidence {
                    condition: format!("model {}", ctx.set.models[*model as usize].0),
                    matched: String::new(),
                    start: 0,
                    end: 0,
                    score: Some(s),
                });
            }
            ok
        }
        Cond::HandlesExcept(known) => {
            let text = ctx.norm.text.as_str();
            for (s, e) in ctx.handles() {
                if !list_has(known, &text[s + 1..e]) {
                    ev.push(ctx.norm_evidence("handles_except", s, e));
                    return true;
                }
            }
            false
        }
        Cond::HandleWords(ac) => {
            let text = ctx.norm.text.as_str();
            for (s, e) in ctx.handles() {
                if ac.is_match(&text[s + 1..e]) {
                    ev.push(ctx.norm_evidence("handle_words", s, e));
                    return true;
                }
            }
            false
        }
    }
}
