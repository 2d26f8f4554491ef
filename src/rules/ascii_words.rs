//! ASCII forms of a regex's word classes and boundaries, and when they may stand in for the
//! Unicode ones.
//!
//! Written here because the regex crate has no switch for it: its `unicode(false)` also makes
//! `.` match bytes, which a `&str` regex refuses. The rule regexes and the link and contact
//! finders keep both forms and run the ASCII one on texts where the two agree.

use regex::Regex;

/// A regex in its Unicode form and, when it has word classes or boundaries, its ASCII form.
#[derive(Debug, Clone)]
pub(crate) struct Forms<R> {
    unicode: R,
    ascii: Option<R>,
}

impl Forms<Regex> {
    /// Both forms of `source`, each compiled by `compile`. Only the Unicode form's error is
    /// reported: the ASCII form is the same pattern with a few classes renamed.
    pub(crate) fn new<E>(
        source: &str,
        compile: impl Fn(&str) -> Result<Regex, E>,
    ) -> Result<Self, E> {
        let unicode = compile(source)?;
        let ascii = rewrite(source).and_then(|a| compile(&a).ok());
        Ok(Forms { unicode, ascii })
    }
}

impl<R> Forms<R> {
    /// The ASCII form when `ascii_suffices` (see [`suffices`]) and there is one.
    pub(crate) fn pick(&self, ascii_suffices: bool) -> &R {
        match &self.ascii {
            Some(a) if ascii_suffices => a,
            _ => &self.unicode,
        }
    }
}

/// Whether the ASCII forms of word classes and boundaries mean in `text` what the Unicode
/// ones do: no non-ASCII character of it is a word character.
pub(crate) fn suffices(text: &str) -> bool {
    text.is_ascii()
        || !text
            .chars()
            .any(|c| !c.is_ascii() && regex_syntax::is_word_character(c))
}

/// `source` with its word classes and word boundaries made ASCII (`\w` as `[[:word:]]`,
/// `\d` as `[[:digit:]]`, `\b` as `(?-u:\b)`, and their negations and forms inside
/// brackets), or `None` when it has none of them (or does not parse).
///
/// On a text none of whose non-ASCII characters is a word character (emoji, curly quotes,
/// symbols: most comments once normalized), the two forms match exactly the same spans:
/// every character of such a text is a word character, or a digit, under both definitions or
/// under neither. On the scamspot comments the ASCII forms run about six times faster: the
/// regex crate's lazy DFA stops at the first non-ASCII byte when it meets a Unicode boundary
/// (and falls back to a much slower engine), and a Unicode `\w*` inside a long alternation
/// makes a DFA too large for its cache.
pub(crate) fn rewrite(source: &str) -> Option<String> {
    use regex_syntax::ast::{self, AssertionKind, Ast, ClassPerlKind, ClassSetItem, Visitor};
    /// Spans of `source` to replace, with what replaces them.
    struct Edits(Vec<(usize, usize, String)>);
    impl Edits {
        fn perl(&mut self, c: &ast::ClassPerl, in_brackets: bool) {
            let name = match c.kind {
                ClassPerlKind::Word => "word",
                ClassPerlKind::Digit => "digit",
                ClassPerlKind::Space => return,
            };
            let text = match (in_brackets, c.negated) {
                (false, false) => format!("[[:{name}:]]"),
                (false, true) => format!("[^[:{name}:]]"),
                (true, false) => format!("[:{name}:]"),
                (true, true) => format!("[:^{name}:]"),
            };
            self.0.push((c.span.start.offset, c.span.end.offset, text));
        }
    }
    impl Visitor for Edits {
        type Output = Vec<(usize, usize, String)>;
        type Err = ();
        fn finish(self) -> Result<Self::Output, ()> {
            Ok(self.0)
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
            match ast {
                Ast::Assertion(a)
                    if !matches!(
                        a.kind,
                        AssertionKind::StartLine
                            | AssertionKind::EndLine
                            | AssertionKind::StartText
                            | AssertionKind::EndText
                    ) =>
                {
                    let (start, end) = (a.span.start.offset, a.span.end.offset);
                    self.0.push((start, end, String::new()));
                }
                Ast::ClassPerl(c) => self.perl(c, false),
                _ => {}
            }
            Ok(())
        }
        fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
            if let ClassSetItem::Perl(c) = item {
                self.perl(c, true);
            }
            Ok(())
        }
    }
    let ast = ast::parse::Parser::new().parse(source).ok()?;
    let mut edits = ast::visit(&ast, Edits(Vec::new())).ok()?;
    if edits.is_empty() {
        return None;
    }
    edits.sort_unstable_by_key(|e| e.0);
    let mut out = String::with_capacity(source.len() + edits.len() * 8);
    let mut at = 0;
    for (start, end, text) in edits {
        out.push_str(&source[at..start]);
        if text.is_empty() {
            // A boundary: the same assertion, ASCII.
            out.push_str("(?-u:");
            out.push_str(&source[start..end]);
            out.push(')');
        } else {
            out.push_str(&text);
        }
        at = end;
    }
    out.push_str(&source[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_classes_and_boundaries_are_made_ascii_and_nothing_else() {
        let cases = [
            (r"\bfoo\b", Some(r"(?-u:\b)foo(?-u:\b)")),
            (r"legit\w*\B", Some(r"legit[[:word:]]*(?-u:\B)")),
            (
                r"[\w.]+\W\d\D",
                Some(r"[[:word:].]+[^[:word:]][[:digit:]][^[:digit:]]"),
            ),
            (r"[^\W\s]x", Some(r"[^[:^word:]\s]x")),
            (r"\b{start}x\b{end}", Some(r"(?-u:\b{start})x(?-u:\b{end})")),
            (r"^a\s+b$", None),
            (r"\\b", None),
            (r"(unclosed", None),
        ];
        for (source, want) in cases {
            let got = rewrite(source);
            assert_eq!(got.as_deref(), want, "{source}");
            if let Some(g) = got {
                crate::rules::engine::compile_with_limit(
                    &g,
                    crate::rules::engine::REGEX_SIZE_LIMIT,
                )
                .unwrap_or_else(|e| panic!("{g} does not compile: {e}"));
            }
        }
    }

    /// Every regex of the shipped pack, in both forms, finds the same spans on every text of
    /// the corpora where the engine would run the ASCII form; and that is most comments.
    #[test]
    fn the_ascii_forms_of_the_shipped_regexes_find_what_the_unicode_ones_do() {
        fn regexes(v: &toml::Value, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        match (k.as_str(), v) {
                            ("regex", toml::Value::Array(a)) => {
                                out.extend(a.iter().filter_map(|r| r.as_str()).map(str::to_string))
                            }
                            ("regex", toml::Value::String(r)) => out.push(r.clone()),
                            _ => regexes(v, out),
                        }
                    }
                }
                toml::Value::Array(a) => a.iter().for_each(|v| regexes(v, out)),
                _ => {}
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(root.join("rules")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let v: toml::Value =
                    toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                regexes(&v, &mut sources);
            }
        }
        assert!(sources.len() > 20, "the pack's regexes: {}", sources.len());
        let rule = |s: &str| {
            crate::rules::engine::compile_with_limit(s, crate::rules::engine::REGEX_SIZE_LIMIT)
        };
        let mut pairs: Vec<(Regex, Regex)> = sources
            .iter()
            .filter_map(|s| {
                Some((
                    rule(s).unwrap_or_else(|e| panic!("{e}: {s}")),
                    rule(&rewrite(s)?).unwrap_or_else(|e| panic!("ascii {e}: {s}")),
                ))
            })
            .collect();
        // The link and contact finders' own regexes, as they compile them.
        let features = crate::rules::features::CONTACT_PATTERNS
            .iter()
            .chain([&crate::rules::features::DOT_COM]);
        pairs.extend(features.map(|s| {
            let ascii = rewrite(s).expect("has word classes");
            (Regex::new(s).unwrap(), Regex::new(&ascii).unwrap())
        }));
        assert!(
            pairs.len() > 20,
            "regexes with word classes: {}",
            pairs.len()
        );

        let csv = |file: &str, column: usize| -> Vec<String> {
            let mut r = csv::Reader::from_path(root.join("corpora").join(file)).unwrap();
            r.records()
                .map(|row| row.unwrap()[column].to_string())
                .collect()
        };
        let mut texts = csv("scamspot-dev/comments.csv", 2);
        let scamspot = texts.len();
        for v in [
            "01-Psy",
            "02-KatyPerry",
            "03-LMFAO",
            "04-Eminem",
            "05-Shakira",
        ] {
            texts.extend(csv(&format!("youtube-spam/Youtube{v}.csv"), 3));
        }
        texts.extend(csv("profanity/profanity_en.csv", 0));
        texts.extend(
            std::fs::read_to_string(root.join("corpora/naughty-strings/blns.txt"))
                .unwrap()
                .lines()
                .map(str::to_string),
        );
        let (mut fast, mut fast_scamspot, mut compared) = (0, 0, 0);
        for (i, text) in texts.iter().enumerate() {
            let norm = crate::rules::normalize::Normalized::new(text).text;
            if !suffices(&norm) {
                continue;
            }
            fast += 1;
            fast_scamspot += usize::from(i < scamspot);
            for (unicode, ascii) in &pairs {
                let a: Vec<_> = unicode.find_iter(&norm).map(|m| m.range()).collect();
                let b: Vec<_> = ascii.find_iter(&norm).map(|m| m.range()).collect();
                assert_eq!(a, b, "{} on {norm:?}", unicode.as_str());
                compared += a.len();
            }
        }
        assert!(compared > 1000, "matches compared: {compared}");
        // The fast form is the one that runs on nearly every real comment.
        assert!(
            fast_scamspot * 100 >= scamspot * 95,
            "{fast_scamspot} of {scamspot} scamspot comments take the ASCII forms"
        );
        assert!(fast * 100 >= texts.len() * 90, "{fast} of {}", texts.len());
    }
}
