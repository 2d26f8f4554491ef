//! The compiled rule set and its evaluation.
//!
//! Every word and substring of every rule is compiled once per load into one aho-corasick
//! automaton over normalized text; evaluation runs it once, then walks the rules by priority
//! and checks their condition trees against its hits (a regex runs only when its rule is
//! reached and one of its literals occurred) and against facts computed on demand.

use std::cell::OnceCell;
use std::path::PathBuf;

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::Serialize;

use super::features::{self, Link};
use super::imitation;
use super::model::Model;
use super::normalize::{self, Normalized};
use super::testing::TestCase;

mod automaton;
mod build;
mod eval;
mod lazy_regex;
mod run;

use super::ascii_words;
use super::{
    Action, Category, Decision, Evidence, Input, Kind, Mode, ModelScore, RuleMatch, RuleState,
};
#[cfg(test)]
pub(crate) use build::compile_with_limit;
pub(crate) use build::{regex_error, AcLeaf, Builder, REGEX_SIZE_LIMIT};

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
    /// A hash of what the rule says (its conditions and actions, the lists and models it
    /// uses; not its description or examples): a rewrite of the same rule keeps it.
    pub version: String,
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
    /// The same regexes on the spaced-letters view ("P U L A U W I N" read as "pulauwin"),
    /// for rules with `spaced_letters = true`.
    SpacedRegex(Vec<u32>),
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
    /// The comment names a site-shaped word ("visi4d", "A L E X I S 1 7"): see
    /// [`crate::rules::sites::site_names`].
    SiteName(SiteName),
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
    /// The author, or an @handle the comment names, imitates the account's own username or
    /// one of these names (normalized, no sigil): see [`imitation::imitates`].
    Impersonates(Vec<String>),
}

/// `site_name = true | false | "disguised"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteName {
    Any,
    None,
    Disguised,
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

    pub(super) fn uses_impersonation(&self) -> bool {
        match self {
            Cond::Impersonates(_) => true,
            Cond::All(v) | Cond::Any(v) => v.iter().any(Cond::uses_impersonation),
            Cond::Not(c) => c.uses_impersonation(),
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

/// A compiled rule set.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    models: Vec<(String, std::sync::Arc<Model>)>,
    /// The word automaton: its patterns in ASCII, and the others (see `automaton::views`).
    words_ascii: Option<automaton::View>,
    words_other: Option<automaton::View>,
    pattern_leaves: Vec<Vec<u32>>,
    /// Per pattern: the regexes it is a gate literal of, each with the bits of the gates
    /// (literal sets) it belongs to (empty for most patterns).
    pattern_regexes: Vec<Vec<(u32, u8)>>,
    /// Per regex: the bits of all its gates; a regex is a candidate on a comment where the
    /// word automaton marked every one (0: no gates, a candidate on every non-empty comment).
    regex_gates: Vec<u8>,
    /// Per pattern: (starts with a letter or digit, ends with one), for word boundaries.
    pattern_edges: Vec<(bool, bool)>,
    leaves: Vec<AcLeaf>,
    /// Each regex in its Unicode and ASCII forms (see `ascii_words`), compiled on first use.
    regexes: Vec<lazy_regex::LazyRegex>,
    stateful: bool,
    /// Some rule has an `impersonates` condition (asked for every comment: computed once).
    impersonation: bool,
    /// Bitset of the rules (priority order) whose `when` has no trigger: evaluated always.
    untriggered: Vec<u64>,
    /// Per words/contains leaf, per regex: the rules that can only hold when it hit.
    leaf_rules: Vec<Vec<u32>>,
    regex_rules: Vec<Vec<u32>>,
    /// The longest `within` of any stateful condition, seconds.
    state_window: i64,
    /// The automata of the leaves that also match leetspeak or spaced letters, if any.
    leet_view: Option<automaton::View>,
    spaced_view: Option<automaton::View>,
    dir: PathBuf,
    pub(crate) tests: Vec<TestCase>,
}

impl RuleSet {
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

    /// Whether any rule has an `impersonates` condition: only then is the account's own
    /// username needed ([`Input::account_username`]).
    pub fn uses_impersonation(&self) -> bool {
        self.impersonation
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

    /// For each words/contains leaf, the first original-text span where it matched; marks in
    /// `regex_candidates` the regexes whose prefix literal occurs in the normalized text.
    fn ac_hits(&self, norm: &Normalized, regex_candidates: &mut [u8]) -> Vec<Option<(u32, u32)>> {
        let mut hits = vec![None; self.leaves.len()];
        let text = &norm.text;
        let to_original = |s, e| norm.original_span(s, e);
        let ascii = self.words_ascii.iter().flat_map(|v| v.matches(text));
        match self.words_other.as_ref().filter(|_| !text.is_ascii()) {
            None => self.scan(
                ascii,
                text,
                &mut hits,
                to_original,
                |_| true,
                Some(regex_candidates),
            ),
            Some(other) => {
                let both = automaton::by_end(ascii, other.matches(text));
                self.scan(
                    both,
                    text,
                    &mut hits,
                    to_original,
                    |_| true,
                    Some(regex_candidates),
                )
            }
        }
        if let Some(view) = &self.leet_view {
            if let Some(leet) = norm.leet() {
                self.scan(
                    view.matches(&leet),
                    &leet,
                    &mut hits,
                    |s, e| norm.original_span(s, e),
                    |l| l.leet,
                    None,
                );
            }
        }
        if let Some(view) = &self.spaced_view {
            if let Some((spaced, map)) = norm.spaced() {
                let back = |s: usize, e: usize| {
                    let (ns, ne) = Normalized::spaced_span(map, s, e);
                    norm.original_span(ns, ne)
                };
                let matches = view.matches(spaced);
                self.scan(matches, spaced, &mut hits, back, |l| l.spaced, None);
            }
        }
        hits
    }

    /// Marks the leaves (and regex gates) of the patterns found in `text`: `matches` gives
    /// each as (pattern id, start, end), in order of where it ends.
    fn scan(
        &self,
        matches: impl Iterator<Item = (usize, usize, usize)>,
        text: &str,
        hits: &mut [Option<(u32, u32)>],
        to_original: impl Fn(usize, usize) -> (usize, usize),
        allowed: impl Fn(&AcLeaf) -> bool,
        mut regex_candidates: Option<&mut [u8]>,
    ) {
        for (pid, start, end) in matches {
            if let Some(c) = regex_candidates.as_deref_mut() {
                for &(r, bits) in &self.pattern_regexes[pid] {
                    c[r as usize] |= bits;
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
                            || !text[..start]
                                .chars()
                                .next_back()
                                .is_some_and(char::is_alphanumeric))
                            && (!right
                                || !text[end..]
                                    .chars()
                                    .next()
                                    .is_some_and(char::is_alphanumeric))
                    });
                    if !ok {
                        continue;
                    }
                }
                let (s, e) = to_original(start, end);
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
