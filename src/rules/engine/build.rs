//! Compiling a rule set: every word and substring of every rule into one aho-corasick
//! automaton, with the literals that let most regexes run only where one of them occurs.
//!
//! Regexes are not also compiled into one `RegexSet`: on the shipped pack (59 regexes, many
//! with `.{0,40}` gaps) the set's lazy DFA kept clearing its cache and fell back to the
//! PikeVM, and narrowing the candidates with it made evaluation 6 times slower (interleaved
//! criterion, scamspot comments: 6,100 against 38,000-41,000 a second) and the synthetic
//! 10,000-phrase pack no faster (311,000 against 331,000-351,000).

use super::automaton;
use super::lazy_regex::{self, LazyRegex};
use super::*;

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
    regexes: Vec<LazyRegex>,
    /// Each regex source once: a regex written in several rules (the quoted-condemnation
    /// exception is in 28) is checked, compiled and stored once.
    regex_ids: std::collections::HashMap<String, u32>,
    /// Per regex: the literal sets it cannot match without (see `regex_gates`); empty when
    /// it has none usable.
    regex_gates: Vec<Vec<Vec<Vec<u8>>>>,
    /// The models rules name, by name, each loaded once.
    pub models: Vec<(String, std::sync::Arc<Model>)>,
}

/// The literal sets a regex cannot match without: every match of `source` (case-insensitive,
/// as rules compile it) contains one literal of each set, ASCII-lowercased and deduplicated.
/// The sets are those it starts with, those it ends with (`\b[a-z]{3,}(toto|slot)\b` has no
/// prefix, but every match ends in `toto` or `slot`) and those inside it; the first is the set
/// whose shortest literal is longest, then up to two more whose literals all have three
/// bytes or more. A comment in which the word automaton misses any of them cannot match, so
/// the regex runs only when each set has a literal in the comment: `\b(invest\w*|deposit\w*)
/// \b.{0,40}\d.{0,80}\b(got|made|profit\w*)\b` runs on a comment with "invest" and "made",
/// not on every comment that says "invest" (on the shipped pack, a lazy DFA stepping through
/// such gaps misses the processor's cache at nearly every byte: the run not made is the
/// saving). Normalized text has no ASCII capitals, so the lowercase form of a literal covers
/// every occurrence of it. Empty when the regex has no such finite set (or each holds the
/// empty string): it then runs on every comment.
///
/// The literals are read off the pattern as written, then lowercased as the normalized text is
/// (`lowercase_literal`): asked to fold case, the extractor also spells `s` and `k` as `ſ` and
/// `K` (letters NFKC turns into `s` and `K`, so normalized text never has them), spells each
/// Cyrillic letter three ways, and gives up on long alternations, which left Russian patterns
/// with no gate at all.
fn regex_gates(plain: &regex_syntax::hir::Hir) -> Vec<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    let mut sets: Vec<Vec<Vec<u8>>> = [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|k| finite_literals(plain, k))
        .collect();
    sets.extend(inner_literals(plain));
    // "profit" covers "profits", and "win" covers "twin": any literal that contains a shorter
    // one is found wherever that one is.
    for set in &mut sets {
        let all = set.clone();
        set.retain(|l| {
            !all.iter()
                .any(|p| p.len() < l.len() && l.windows(p.len()).any(|w| w == p.as_slice()))
        });
        set.sort();
    }
    // The set most likely to be missing from a comment first: the one whose shortest literal
    // is longest ("u" and "i" are in almost every comment; `\b(you|u|ur)\s+...(idiot|moron)\b`
    // is better gated by its insults); then up to two more of literals of three bytes or more.
    sets.sort_by_key(|l| std::cmp::Reverse(shortest(l)));
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    for set in sets {
        let adds = out.is_empty() || (shortest(&set) >= 3 && !out.iter().any(|o| implies(o, &set)));
        if out.len() < MAX_GATES && adds {
            out.push(set);
        }
    }
    out
}

/// Whether a comment holding a literal of `a` always holds one of `b`: every literal of `a`
/// contains one of `b` (`{invest, start}` implies `{invest, inveſt, start, ſtart}`).
fn implies(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    a.iter().all(|l| {
        b.iter()
            .any(|p| p.len() <= l.len() && l.windows(p.len()).any(|w| w == p.as_slice()))
    })
}

/// At most this many literal sets gate one regex (a bit each in a byte at evaluation).
const MAX_GATES: usize = 3;

/// The finite set of literals every match of `hir` starts (or ends) with, ASCII-lowercased and
/// deduplicated; `None` when there is no such set or it holds the empty string.
fn finite_literals(
    hir: &regex_syntax::hir::Hir,
    kind: regex_syntax::hir::literal::ExtractKind,
) -> Option<Vec<Vec<u8>>> {
    let mut extractor = regex_syntax::hir::literal::Extractor::new();
    extractor.kind(kind).limit_total(1000);
    let seq = extractor.extract(hir);
    let mut out: Vec<Vec<u8>> = Vec::new();
    for lit in seq.literals()? {
        if lit.as_bytes().is_empty() {
            return None;
        }
        let lower = lowercase_literal(lit.as_bytes());
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A literal as normalized text would hold it: NFKC ("ſ" as "s"), lowercase, "ς" as "σ" (a
/// pattern with "ς" is compiled case-insensitive, so it finds "σ"). Bytes that
/// are not whole UTF-8 characters (a literal cut short) are lowercased as ASCII only.
fn lowercase_literal(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.is_ascii() => unicode_normalization::UnicodeNormalization::nfkc(s)
            .flat_map(char::to_lowercase)
            .map(|c| if c == 'ς' { 'σ' } else { c })
            .collect::<String>()
            .into_bytes(),
        _ => bytes.to_ascii_lowercase(),
    }
}

/// Sets of literals, one of each of which every match contains, found inside the pattern: in
/// a sequence, the literals the rest of the sequence starts with after a first part
/// (`(?:^|[^@#\w.])(invest\w*|profit\w*)\b` needs `invest` or `profit`; `\d[\d,. ]*k?\s*
/// (turn|became|grew)` needs one of those words), and the sets inside each part; in an
/// alternation, one set of every branch's literals. Every match of the whole contains a match
/// of that rest, which starts with one of them, so a comment without any of them cannot match.
/// Each branch gives its rarest set (`best`): `\b(zdechnij\b|...|i\s+will\s+...)` ran on 1,529
/// of 1,669 comments gated by first words ("i", "o", "!"), on 20 by the rarest ("bleach").
fn inner_literals(hir: &regex_syntax::hir::Hir) -> Vec<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    use regex_syntax::hir::{Hir, HirKind};
    let starts = |h: &Hir| finite_literals(h, ExtractKind::Prefix);
    match hir.kind() {
        HirKind::Capture(c) => inner_literals(&c.sub),
        HirKind::Alternation(branches) => {
            let mut all: Vec<Vec<u8>> = Vec::new();
            for b in branches {
                // A branch's own first words, unless one is short: "i" or "u" is in almost
                // every comment, and `(i|we)\s+will\s+murder` is better gated by "murder".
                let set = match starts(b) {
                    Some(s) if shortest(&s) >= 4 => Some(s),
                    s => best(s.into_iter().chain(inner_literals(b))),
                };
                let Some(set) = set else {
                    return Vec::new();
                };
                for l in set {
                    if !all.contains(&l) {
                        all.push(l);
                    }
                }
            }
            vec![all]
        }
        // Every way in is sound (`\b(i|we)\s+will\s+(kill|stab)` needs "kill" or "stab").
        HirKind::Concat(parts) => (1..parts.len())
            .filter_map(|k| starts(&Hir::concat(parts[k..].to_vec())))
            .chain(parts.iter().flat_map(inner_literals))
            .collect(),
        _ => Vec::new(),
    }
}

/// Of several literal sets, each of which every match needs one of, the one most likely to be
/// missing from a comment: the set whose shortest literal is longest (the first of equals).
fn best(sets: impl IntoIterator<Item = Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    sets.into_iter().fold(None, |best, l| match best {
        Some(b) if shortest(&b) >= shortest(&l) => Some(b),
        _ => Some(l),
    })
}

/// The length of a literal set's shortest literal: the longer, the rarer the set in comments.
fn shortest(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
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

/// The most memory one regex's lazy DFA may cache (per thread that runs it). A regex with
/// gaps like `.{0,40}` builds many states; at the 1 MiB of before, `investment-testimonial`'s
/// cleared its cache over and over and took 10 µs a comment on ASCII text instead of 3. The
/// cache grows only as states are made: `rules eval` over every corpus peaked 12 MB higher.
pub(crate) const REGEX_DFA_CACHE_LIMIT: usize = 8 << 20;

/// A rule regex as the engine compiles it. It runs on normalized text, which is lowercase, so
/// a pattern written in lowercase needs no case folding, and is compiled without it: folded,
/// `\b(ты|ти|вы|ви)\s+(дебил|...)` was an automaton too large for the lazy DFA's cache and took
/// 4 million instructions a comment. A pattern with a capital letter (outside an escape such
/// as `\S`), or a final sigma (lowercase "σ" in normalized text), is compiled case-insensitive,
/// so a brand's `Free` still finds "free".
///
/// Rules load with `REGEX_SIZE_LIMIT` checked (`lazy_regex::check`) and compile on first use
/// with a larger limit.
/// A rule regex as the engine runs it. `gated`: the engine runs it only on a comment where
/// its literal gates found one literal of each of its sets (`regex_gates`), so the regex
/// crate's own literal prefilter, a second scan for the same literals, is left out.
pub(crate) fn compile_rule_regex(
    source: &str,
    size_limit: usize,
    gated: bool,
) -> Result<regex_automata::meta::Regex, String> {
    use regex_automata::{meta, util::syntax};
    meta::Builder::new()
        .syntax(syntax::Config::new().case_insensitive(needs_case_folding(source)))
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(size_limit))
                .hybrid_cache_capacity(REGEX_DFA_CACHE_LIMIT)
                .auto_prefilter(!gated),
        )
        .build(source)
        .map_err(|e| e.to_string())
}

/// A regex as the `regex` crate compiles it, with the rules' size limits (the tests compare the
/// rule regexes' forms with it).
#[cfg(test)]
pub(crate) fn compile_with_limit(source: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(source)
        .case_insensitive(needs_case_folding(source))
        .size_limit(size_limit)
        .dfa_size_limit(REGEX_DFA_CACHE_LIMIT)
        .build()
}

/// Why a regex can never match, when every literal of one of its gate sets (one of which every
/// match holds) has a character normalized text never holds: "درآمد" where the text reads
/// "درامد", "ي" where it reads "ی", "ё" where it reads "е". Regexes are not normalized (a
/// pattern's syntax would not survive it), so this is the mistake a rule writer makes.
/// How the normalized text reads one character written alone.
fn reads_as(c: char) -> String {
    crate::rules::normalize::normalize(c.encode_utf8(&mut [0; 4]))
}

fn never_in_text(set: &[Vec<u8>]) -> Option<String> {
    let mut first = None;
    for literal in set {
        let text = std::str::from_utf8(literal).ok()?;
        let bad = text.chars().find_map(|c| {
            let reads = reads_as(c);
            (!c.is_ascii() && !c.is_whitespace() && *reads != *c.encode_utf8(&mut [0; 4]))
                .then_some((c, reads))
        })?;
        first.get_or_insert(bad);
    }
    let (c, reads) = first?;
    let reads = if reads.is_empty() {
        "nothing (it is dropped)".to_string()
    } else {
        format!("`{reads}`")
    };
    Some(format!(
        "this regex can never match: comments are compared in their normalized form, where `{c}` \
         reads {reads}; write the pattern as `commentguard rules explain \"...\"` prints the text"
    ))
}

/// A pattern with its accented Latin letters as the normalized text has them: "lügner" reads
/// "lugner", "[eé]" reads "[ee]". Comments are compared without accents, and brand teams who
/// write German, Spanish or Portuguese write them: before this, such an alternative silently
/// never matched ("du bist ein lügner" went through the German insult rule). Only a letter
/// that normalizes, alone, to ASCII letters is rewritten ("ß" to "ss"), so escapes and other
/// scripts are untouched (a letter of another script that reads differently is still refused
/// by `never_in_text`). A range between accented letters ("[à-ü]"), or "ß" inside a class, would
/// change meaning; no shipped rule writes one.
pub(crate) fn fold_accents(source: &str) -> std::borrow::Cow<'_, str> {
    use crate::rules::normalize::is_latin_with_marks;
    if !source.chars().any(is_latin_with_marks) {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        let reads = is_latin_with_marks(c)
            .then(|| reads_as(c))
            .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase()));
        match reads {
            Some(r) => out.push_str(&r),
            None => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `source` holds, outside an escape, a capital letter, a final sigma, or a letter that
/// normalized text never holds ("ſ", which NFKC makes "s").
pub(crate) fn needs_case_folding(source: &str) -> bool {
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c.is_uppercase() || c == 'ς' || !c.is_ascii() && !is_nfkc_stable(c) {
            return true;
        }
    }
    false
}

fn is_nfkc_stable(c: char) -> bool {
    let mut n = unicode_normalization::UnicodeNormalization::nfkc(std::iter::once(c));
    n.next() == Some(c) && n.next().is_none()
}

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

    /// Checks a regex (it compiles on first use, see `lazy_regex`) and returns its index.
    /// Accented Latin letters in it are read as the text reads them (`fold_accents`).
    pub fn add_regex(&mut self, source: &str) -> Result<u32, String> {
        let folded = fold_accents(source);
        let source = folded.as_ref();
        if let Some(&id) = self.regex_ids.get(source) {
            return Ok(id);
        }
        let hir = lazy_regex::check(source).map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "regex is too large once compiled (limit {limit} bytes); split it or use words"
            ),
            e => regex_error(&e),
        })?;
        // The gates are read off the pattern as written (see `regex_gates`): the parse the
        // check made serves unless it folded case.
        let plain = match needs_case_folding(source) {
            false => Some(hir),
            true => regex_syntax::ParserBuilder::new()
                .build()
                .parse(source)
                .ok(),
        };
        let gates = plain.map(|p| regex_gates(&p)).unwrap_or_default();
        if let Some(never) = gates.iter().find_map(|set| never_in_text(set)) {
            return Err(never);
        }
        self.regexes.push(LazyRegex::new(source, !gates.is_empty()));
        self.regex_gates.push(gates);
        let id = self.regexes.len() as u32 - 1;
        self.regex_ids.insert(source.to_string(), id);
        Ok(id)
    }

    pub fn finish(
        mut self,
        mut rules: Vec<Rule>,
        dir: PathBuf,
        tests: Vec<TestCase>,
    ) -> Result<RuleSet, String> {
        // Regex gates join the word automaton: one scan finds both. Each literal marks its
        // sets' bits of its regexes; a regex is a candidate when all its bits are marked.
        let mut pattern_regexes: Vec<Vec<(u32, u8)>> = vec![Vec::new(); self.patterns.len()];
        let mut regex_gates = Vec::new();
        for (i, sets) in std::mem::take(&mut self.regex_gates)
            .into_iter()
            .enumerate()
        {
            regex_gates.push(((1u16 << sets.len()) - 1) as u8);
            for (bit, set) in sets.iter().enumerate() {
                for p in set {
                    let pid = self.pattern_id(p) as usize;
                    if pid == pattern_regexes.len() {
                        pattern_regexes.push(Vec::new());
                    }
                    match pattern_regexes[pid].last_mut() {
                        Some((r, mask)) if *r == i as u32 => *mask |= 1 << bit,
                        _ => pattern_regexes[pid].push((i as u32, 1 << bit)),
                    }
                }
            }
        }
        let [words_ascii, words_other, leet_view, spaced_view] =
            automaton::views(&self.patterns, &self.pattern_leaves, &self.leaves)?;
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
        let impersonation = rules.iter().any(|r| {
            r.when.uses_impersonation() || r.unless.as_ref().is_some_and(Cond::uses_impersonation)
        });
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
        Ok(RuleSet {
            models: self.models,
            rules,
            words_ascii,
            words_other,
            pattern_leaves: self.pattern_leaves,
            pattern_regexes,
            regex_gates,
            pattern_edges,
            leaves: self.leaves,
            regexes: self.regexes,
            stateful,
            impersonation,
            untriggered,
            leaf_rules,
            regex_rules,
            state_window,
            leet_view,
            spaced_view,
            dir,
            tests,
        })
    }
}

#[cfg(test)]
mod tests {
    /// The gates of a regex as written (see `Builder::add_regex`).
    fn regex_gates(source: &str) -> Vec<Vec<Vec<u8>>> {
        let plain = regex_syntax::ParserBuilder::new().build().parse(source);
        plain.map(|p| super::regex_gates(&p)).unwrap_or_default()
    }

    /// The first (most selective) gate of a regex.
    fn regex_prefixes(source: &str) -> Option<Vec<Vec<u8>>> {
        regex_gates(source).into_iter().next()
    }

    fn prefixes(source: &str) -> Option<Vec<String>> {
        regex_prefixes(source).map(|ps| {
            let mut ps: Vec<String> = ps
                .into_iter()
                .map(|p| String::from_utf8(p).unwrap())
                .collect();
            ps.sort();
            ps
        })
    }

    #[test]
    fn regex_literals_are_the_lowercase_literals_a_match_starts_or_ends_with() {
        // A long alternation of words with `\w*` tails: one literal each.
        assert_eq!(
            prefixes(r"\b(earn\w*|profits?|income|make money|invest\w*)\b").unwrap(),
            ["earn", "income", "invest", "make money", "profit"]
        );
        // Capitals in the pattern match lowercase normalized text.
        assert_eq!(prefixes(r"Bitcoin\s*\d+").unwrap(), ["bitcoin"]);
        // No `ſ` or `K` spellings of s and k.
        assert!(prefixes(r"\bask me how")
            .unwrap()
            .iter()
            .all(|p| p.is_ascii()));
        // A non-ASCII literal is read case-insensitively, so `É` also covers `é`.
        let accented = regex_prefixes("École").unwrap();
        assert!(
            accented.iter().any(|p| p.starts_with("é".as_bytes())),
            "{accented:?}"
        );
        // Nothing a match must start with, but something it must end with.
        assert_eq!(prefixes(r"\w+@").unwrap(), ["@"]);
        assert_eq!(
            prefixes(r"\b[a-z]{3,}(toto|slot|win|twin)\b").unwrap(),
            ["slot", "toto", "win"]
        );
        // Neither, but inside: after a first part with no literal, or in every branch.
        assert_eq!(
            prefixes(r"(?:^|[^@#\w.])(invest\w*|profit\w*|\$\s?\d)\b").unwrap(),
            ["$", "invest", "profit"]
        );
        assert_eq!(
            prefixes(r"\d[\d,. ]*k?\s*(turn(ed)?|became|grew)\s*\d").unwrap(),
            ["became", "grew", "turn"]
        );
        assert_eq!(
            prefixes(r"\d+\s?(rb|ribu)\b|\bcuma\b").unwrap(),
            ["cuma", "rb", "ribu"]
        );
        // None anywhere: a branch of digits alone.
        assert_eq!(prefixes(r"[$€£]\s?\d|\d{3,}"), None);
        // "u" is in almost every comment: the insults gate the regex instead.
        assert_eq!(
            prefixes(r"\b(you|u|ur)\s+(are\s+)?(idiot|moron)s?\b").unwrap(),
            ["idiot", "moron"]
        );
        assert_eq!(
            prefixes(r"\b(i\s*will|we\s*will)\s+(kill|stab)\s+(you|u)\b").unwrap(),
            ["kill", "stab"]
        );
        assert_eq!(prefixes(r"(a|)b?"), None);
        assert_eq!(prefixes(r"\d+\w*"), None);
    }

    #[test]
    fn a_regex_is_gated_by_every_literal_set_it_cannot_match_without() {
        let gates = |source: &str| -> Vec<Vec<String>> {
            regex_gates(source)
                .into_iter()
                .map(|set| {
                    set.into_iter()
                        .map(|l| String::from_utf8(l).unwrap())
                        .collect()
                })
                .collect()
        };
        // The words it starts with and the words after the gaps; the amounts between them
        // ("$", digits) are too short to tell comments apart. The "€" in the pattern is read
        // case-insensitively, which must not spell `s` as `ſ` in the other sets.
        assert_eq!(
            gates(
                r"\b(invest\w*|start\w* with)\b.{0,40}([$€]\s?\d+|\d+\s?(k|usd)\b).{0,80}\b(got|made|profit\w*)\b"
            ),
            [vec!["invest", "start"], vec!["got", "made", "profit"]]
        );
        // A second set of one-letter words is left out; a set that the first implies too.
        assert_eq!(gates(r"\b(kill|stab)\s+(u|you)\b"), [vec!["kill", "stab"]]);
        assert_eq!(gates(r"\bscam(mer)?s?\b"), [vec!["scam"]]);
        // Each branch of an alternation by its rarest set: "murder", not "i".
        let threat = r"\b(zdechnij|i\s+will\s+murder\s+(you|u))\b";
        assert_eq!(gates(threat), [vec!["murder", "zdechnij"]]);
        assert!(gates(r"\d{5,}").is_empty());
    }
}
