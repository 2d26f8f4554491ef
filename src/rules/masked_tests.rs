//! Words masked with asterisks (`b*tch`, `f**got`) read as the list word they stand for, by the
//! rules that read leetspeak.

use super::tests::{acts, one};

fn rule(leet: bool) -> String {
    format!(
        "[[rule]]\nid = \"r\"\nleetspeak = {leet}\n[rule.when]\nwords = [\"bitch\", \"faggot\", \"fuck off\"]\n[rule.then]\nhide = true\n"
    )
}

#[test]
fn a_word_masked_with_asterisks_is_read_as_the_list_word_it_stands_for() {
    let s = one(&rule(true));
    // "f*gg*t" has six letters, as "faggot"; "bi**h" five, as "bitch".
    for text in [
        "you stupid b*tch",
        "shut up f**got",
        "f*gg*t",
        "ur a b*tch!!",
        "B*TCH",
        "the best bi**h",
    ] {
        assert_eq!(acts(&s, text), ["hide"], "{text}");
    }
    for text in [
        // No list word has this length and these letters.
        "b*tchy comments aside",
        // Asterisks at the edge of a word, or a word with one letter shown, mask nothing.
        "5* service, loved it",
        "*b*tch",
        "f*** off, the queue was long",
    ] {
        assert!(acts(&s, text).is_empty(), "{text}");
    }
    // Only for rules that read leetspeak.
    assert!(acts(&one(&rule(false)), "you stupid b*tch").is_empty());
}
