//! Rule regexes as a rule author meets them: what loading refuses, and what then matches.

use super::tests::{acts, one, set};

/// A rule file whose one rule hides a comment `re` matches (the regex on line 4).
fn rule(re: &str) -> String {
    format!("[[rule]]\nid = \"r\"\n[rule.when]\nregex = ['{re}']\n[rule.then]\nhide = true\n")
}

/// The error loading `file` (a rule file named `a.toml`) reports.
fn load_error(file: &str) -> String {
    set(&[("a.toml", file)]).unwrap_err()[0].to_string()
}

/// Regexes compile on first use, but a regex too large to compile is still refused when rules
/// load, with where it is and what to do; a regex with a syntax error too. A regex that loads
/// then matches (it is compiled the first time a comment needs it).
#[test]
fn a_regex_too_large_or_malformed_is_refused_when_rules_load() {
    let shown = load_error(&rule(r"\w{3000}"));
    assert!(
        shown.contains("a.toml:4:") && shown.contains("too large once compiled"),
        "{shown}"
    );
    let shown = load_error(&rule(r"(free|cash"));
    assert!(
        shown.contains("a.toml:4:") && shown.contains("unclosed group"),
        "{shown}"
    );
    let s = one(&rule(r"\bfree\s+\w{2,}\s+cash\b"));
    assert_eq!(acts(&s, "FREE bonus cash today"), ["hide"]);
    assert_eq!(acts(&s, "frée бонус cash"), ["hide"]);
    assert!(acts(&s, "free cash").is_empty());
}

/// A regex that needs a character the normalized text never holds is an error at load, named
/// with what the text reads instead; a pattern written in the normalized form loads and
/// matches the comment as customers type it.
#[test]
fn a_regex_written_with_letters_normalized_text_never_holds_is_reported() {
    for (re, ch, reads) in [
        (r"\bکسب\s+درآمد", "آ", "`ا`"),
        ("يا كلب", "ي", "`ی`"),
        ("вс[её] хорошо ё", "ё", "`е`"),
    ] {
        let shown = load_error(&rule(re));
        assert!(
            shown.contains("a.toml:4:")
                && shown.contains("can never match")
                && shown.contains(&format!("`{ch}` reads {reads}")),
            "{re}: {shown}"
        );
    }
    // A dead alternative beside a live one is allowed ("voc[eê]" finds "voce").
    let s = one(&rule(r"\bvoc[eê] (é|e) idiota\b|\bکسب\s+درامد"));
    assert_eq!(acts(&s, "Você é idiota"), ["hide"]);
    assert_eq!(acts(&s, "كسب درآمد دلاري"), ["hide"]);
}

/// Accented Latin letters in a pattern are read as the comment is: a brand team writing German
/// or Portuguese writes "lügner" and "é", and the rule finds the comment however it is typed.
#[test]
fn a_regex_with_accented_letters_matches_as_written() {
    let s = one(&rule(
        r"\bdu\s+bist\s+ein\s+(lügner|trottel)\b|\bvocê é idiota\b",
    ));
    assert_eq!(acts(&s, "Du bist ein Lügner!"), ["hide"]);
    assert_eq!(acts(&s, "du bist ein lugner"), ["hide"]);
    assert_eq!(acts(&s, "VOCÊ É IDIOTA"), ["hide"]);
    assert_eq!(acts(&s, "voce e idiota"), ["hide"]);
    assert!(acts(&s, "du bist ein Schatz").is_empty());
    // Capitals and a class with accents, too.
    let s = one(&rule(r"\bÉs\s+m[aá]s\s+tont[oa]\b"));
    assert_eq!(acts(&s, "es más tonta"), ["hide"]);
    // "ß" reads "ss", in the pattern as in the comment.
    let s = one(&rule(r"\bdu\s+bist\s+so\s+süß\b"));
    assert_eq!(acts(&s, "Du bist so SÜSS"), ["hide"]);
    assert_eq!(acts(&s, "du bist so süß"), ["hide"]);
}
