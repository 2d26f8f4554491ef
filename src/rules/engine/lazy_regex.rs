//! Rule regexes checked when rules load and compiled the first time a comment needs them.
//!
//! Compiling every regex of the shipped pack in both its forms (Unicode and ASCII, see
//! `ascii_words`) was more than half of loading it (0.8 of 1.5 billion instructions), and most
//! regexes never run on a given stream of comments: their gate literals never occur (a Thai
//! insult in English comments), or every comment is one where the ASCII form suffices. What
//! loading must still do is refuse a regex that cannot compile, with the error the regex
//! crate would give: [`check`] parses it and builds its forward automaton with the size limit
//! (about half the cost of compiling it). The full compile on first use allows more (see
//! [`LAZY_SIZE_LIMIT`]), so a regex that passed the check compiles.

use std::sync::OnceLock;

use regex_automata::meta::Regex;

use super::build::{compile_rule_regex, needs_case_folding, REGEX_SIZE_LIMIT};
use crate::rules::ascii_words;

/// The size limit of the compile on first use: eight times the limit loading checks. The
/// regex crate also builds a reverse automaton, which the check does not, and for Unicode
/// classes it is the larger: `\w{40}` is 0.70 MB forward and 1.54 MB reversed (measured; a
/// first margin of two failed the test below at `\w{50}`). The forward limit keeps bounding
/// the memory one rule can take; the margin only makes sure a regex that passed the check
/// compiles.
const LAZY_SIZE_LIMIT: usize = 8 * REGEX_SIZE_LIMIT;

/// What compiling `source` as a rule regex would report, without compiling all of it: a
/// syntax error, or an automaton over [`REGEX_SIZE_LIMIT`]. The messages are the regex
/// crate's own. Gives the pattern parsed, as compiling it would parse it.
pub(crate) fn check(source: &str) -> Result<regex_syntax::hir::Hir, regex::Error> {
    use regex_automata::nfa::thompson;
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(needs_case_folding(source))
        .build()
        .parse(source)
        .map_err(|e| regex::Error::Syntax(e.to_string()))?;
    thompson::Compiler::new()
        .configure(thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT)))
        .build_from_hir(&hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => regex::Error::CompiledTooBig(limit),
            None => regex::Error::Syntax(e.to_string()),
        })?;
    Ok(hir)
}

/// A rule regex in its Unicode form and, where it has word classes or boundaries, its ASCII
/// form (`ascii_words::rewrite`), each compiled the first time it is picked.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    source: String,
    gated: bool,
    unicode: OnceLock<Option<Regex>>,
    ascii: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// A regex that passed [`check`].
    pub(crate) fn new(source: &str, gated: bool) -> Self {
        LazyRegex {
            source: source.to_string(),
            gated,
            unicode: OnceLock::new(),
            ascii: OnceLock::new(),
        }
    }

    /// The pattern as written.
    #[cfg(test)]
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The ASCII form when `ascii_suffices` (see `ascii_words::suffices`) and there is one,
    /// else the Unicode form. `None` only if the Unicode form failed to compile after passing
    /// [`check`], which the margin of [`LAZY_SIZE_LIMIT`] rules out; it is logged, and the regex matches
    /// nothing rather than stopping the service.
    pub(crate) fn pick(&self, ascii_suffices: bool) -> Option<&Regex> {
        if ascii_suffices {
            let ascii = self.ascii.get_or_init(|| {
                ascii_words::rewrite(&self.source)
                    .and_then(|a| compile_rule_regex(&a, LAZY_SIZE_LIMIT, self.gated).ok())
            });
            if let Some(a) = ascii {
                return Some(a);
            }
        }
        self.unicode
            .get_or_init(|| match compile_rule_regex(&self.source, LAZY_SIZE_LIMIT, self.gated) {
                Ok(re) => Some(re),
                Err(e) => {
                    tracing::error!(regex = %self.source, error = %e, "a rule regex failed to compile on first use; it matches nothing");
                    None
                }
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest repetition count of `shape` (`{N}` where the count goes) that passes [`check`].
    fn largest_passing(shape: &str) -> usize {
        let (mut ok, mut too_big) = (1, 1);
        while check(&shape.replace("{N}", &format!("{{{too_big}}}"))).is_ok() {
            ok = too_big;
            too_big *= 2;
        }
        while too_big - ok > 1 {
            let mid = (ok + too_big) / 2;
            match check(&shape.replace("{N}", &format!("{{{mid}}}"))) {
                Ok(_) => ok = mid,
                Err(e) => {
                    assert!(matches!(e, regex::Error::CompiledTooBig(_)), "{e}");
                    too_big = mid
                }
            }
        }
        ok
    }

    /// Every regex that passes the check at load compiles on first use, in both forms, even
    /// at the edge of the limit: patterns grown until one more repetition fails the check.
    #[test]
    fn a_regex_at_the_edge_of_the_size_limit_compiles_on_first_use() {
        for shape in [
            r"\w{N}",
            r"\b(\w+\s){N}",
            r"[a-zа-яα-ω]{N}x",
            r"(Free|Cash\w*|Дебил){N}",
            r"(?i)(ты\s+\w+\s+дебил\w*){N}",
            r"(ा|ि|ी|[ก-ฮ]){N}",
        ] {
            let n = largest_passing(shape);
            let source = shape.replace("{N}", &format!("{{{n}}}"));
            let re = LazyRegex::new(&source, true);
            assert!(
                re.pick(false).is_some(),
                "{source} passed the check but does not compile"
            );
            assert!(re.pick(true).is_some(), "{source}: no form for ASCII text");
        }
    }
}
