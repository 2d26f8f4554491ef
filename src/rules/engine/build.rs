//! Compiling a rule set: every word and substring of every rule into one aho-corasick
//! automaton, with the literals that let most regexes run only where one of them occurs.
//!
//! Regexes are not also compiled into one `RegexSet`: on the shipped pack (59 regexes, many
//! with `.{0,40}` gaps) the set's lazy DFA kept clearing its cache and fell back to the
//! PikeVM, and narrowing the candidates with it made evaluation 6 times slower (interleaved
//! criterion, scamspot comments: 6,100 against 38,000-41,000 a second) and the synthetic
//! 10,000-phrase pack no faster (311,000 against 331,000-351,000).

use super::*;
use crate::rules::ascii_words::Forms;

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
    regexes: Vec<Forms<Regex>>,
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

/// Literals one of which every match of `source` (case-insensitive, as rules compile it)
/// contains, ASCII-lowercased and deduplicated: the literals it starts with, those it ends
/// with (`\b[a-z]{3,}(toto|slot)\b` has no prefix, but every match ends in `toto` or `slot`)
/// or those inside it, whichever set's shortest literal is longest. A comment in which the
/// word automaton finds none of them cannot match, so the regex runs only when one is found. Normalized text has no ASCII capitals, so the lowercase
/// form of a literal covers every occurrence of it. `None` when the regex has no such finite
/// set either way (or one contains the empty string): it then runs on every comment.
///
/// The literals are read off the pattern as written, then lowercased: asked to fold case, the
/// extractor also spells `s` and `k` as `ſ` and `K` (letters NFKC turns into `s` and `K`, so
/// normalized text never has them) and gives up on long alternations. A pattern whose
/// literals are not all ASCII is read case-insensitively, as before.
fn regex_prefixes(source: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    use regex_syntax::hir::Hir;
    let parse = |case_insensitive: bool| {
        regex_syntax::ParserBuilder::new()
            .case_insensitive(case_insensitive)
            .build()
            .parse(source)
            .ok()
    };
    let (plain, folded) = (parse(false)?, std::cell::OnceCell::new());
    // Each way of finding literals reads the pattern as written first, and case-insensitively
    // when that gives a literal that is not ASCII.
    let either = |find: &dyn Fn(&Hir) -> Option<Vec<Vec<u8>>>| match find(&plain) {
        Some(l) if l.iter().all(|l| l.is_ascii()) => Some(l),
        _ => find(folded.get_or_init(|| parse(true)).as_ref()?),
    };
    // Of the literals a match starts with, ends with, or holds inside, the set most likely to be
    // missing from a comment: the one whose shortest literal is longest ("u" and "i" are in
    // almost every comment; `\b(you|u|ur)\s+...(idiot|moron)\b` is better gated by its insults).
    let sets = [
        either(&|h| finite_literals(h, ExtractKind::Prefix)),
        either(&|h| finite_literals(h, ExtractKind::Suffix)),
        either(&inner_literals),
    ];
    let mut out = best(sets.into_iter().flatten())?;
    // "profit" covers "profits", and "win" covers "twin": any literal that contains a shorter
    // one is found wherever that one is.
    let all = out.clone();
    out.retain(|l| {
        !all.iter()
            .any(|p| p.len() < l.len() && l.windows(p.len()).any(|w| w == p.as_slice()))
    });
    Some(out)
}

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
        let lower = lit.as_bytes().to_ascii_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Literals one of which every match contains, found inside the pattern when it neither starts
/// nor ends with a finite set: in a sequence, the literals the rest of the sequence starts with
/// after a first part that has none (`(?:^|[^@#\w.])(invest\w*|profit\w*)\b` needs `invest`
/// or `profit`; `\d[\d,. ]*k?\s*(turn|became|grew)` needs one of those words); in an
/// alternation, every branch's. Every match of the whole contains a match of that rest, which
/// starts with one of them, so a comment without any of them cannot match.
fn inner_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    use regex_syntax::hir::{Hir, HirKind};
    let starts = |h: &Hir| finite_literals(h, ExtractKind::Prefix);
    match hir.kind() {
        HirKind::Capture(c) => inner_literals(&c.sub),
        HirKind::Alternation(branches) => {
            let mut all: Vec<Vec<u8>> = Vec::new();
            for b in branches {
                for l in starts(b).or_else(|| inner_literals(b))? {
                    if !all.contains(&l) {
                        all.push(l);
                    }
                }
            }
            Some(all)
        }
        // Every way in is sound; the best gate is kept (`\b(i|we)\s+will\s+(kill|stab)` is
        // gated by "kill" and "stab", not by "i").
        HirKind::Concat(parts) => best(
            (1..parts.len())
                .filter_map(|k| starts(&Hir::concat(parts[k..].to_vec())))
                .chain(parts.iter().filter_map(inner_literals)),
        ),
        _ => None,
    }
}

/// Of several literal sets, each of which every match needs one of, the one most likely to be
/// missing from a comment: the set whose shortest literal is longest (the first of equals).
fn best(sets: impl IntoIterator<Item = Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let shortest = |l: &Vec<Vec<u8>>| l.iter().map(Vec::len).min().unwrap_or(0);
    sets.into_iter().fold(None, |best, l| match best {
        Some(b) if shortest(&b) >= shortest(&l) => Some(b),
        _ => Some(l),
    })
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

/// A rule regex as the engine compiles it: case-insensitive (it runs on normalized text).
pub(crate) fn compile(source: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(source)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_CACHE_LIMIT)
        .build()
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

    /// Compiles a regex (case-insensitive: it runs on normalized text) and returns its index.
    pub fn add_regex(&mut self, source: &str) -> Result<u32, String> {
        let re = Forms::new(source, compile).map_err(|e| match e {
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
            stateful,
            impersonation,
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

#[cfg(test)]
mod tests {
    use super::regex_prefixes;

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
}
