//! Names shaped like the sites that gambling and other promotion campaigns advertise
//! (`visi4d`, `𝐁𝐄𝐑𝐊𝐀𝐇𝟗𝟗`, `A L E X I S 1 7`), for the `site_name` condition and for grouping a
//! training file's rows by the site they name. Split from `features` by size.

use super::features::{hashtags, mentions};

/// A site-shaped name in a comment (see [`site_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteSpan {
    /// Byte span in the normalized text.
    pub start: usize,
    pub end: usize,
    /// Written in fancy, look-alike, underlined or spaced letters (`𝐁𝐄𝐑𝐊𝐀𝐇𝟗𝟗`,
    /// `A L E X I S 1 7`, `P͟U͟L͟A͟U͟W͟I͟N`), not plainly (`berkah99`).
    pub disguised: bool,
}

/// Names shaped like the sites that gambling and other promotion campaigns advertise, in three
/// disguises: a word of three letters or more followed by two digits or more, or by digits and
/// one letter (`visi4d`, `berkah99`, `t0gel62`), in the normalized text (so `𝐕𝐈𝐒𝐈𝟒𝐃` counts) or
/// in its spaced-letters view (`A L E X I S 1 7` reads `alexis17`); and a word written in fancy
/// or look-alike letters among words written plainly (`main di A𝙂𝘜𝐒𝘛𝐎𝙏О`: a comment written
/// all in a fancy font is a style, not a disguise). Words inside `handles` (the spans of the
/// @handles and #hashtags of the normalized text) and links do not count. In order.
pub fn site_names(
    norm: &super::normalize::Normalized,
    original: &str,
    handles: &[(usize, usize)],
) -> Vec<SiteSpan> {
    let mut out = Vec::new();
    let text = norm.text.as_str();
    site_words(text, |s, e| {
        let in_tag = handles.iter().any(|&(a, b)| a <= s && e <= b);
        let ts = text[..s].rfind(' ').map_or(0, |k| k + 1);
        let te = text[e..].find(' ').map_or(text.len(), |k| e + k);
        let token = &text.as_bytes()[ts..te];
        let in_link = token.contains(&b'/')
            || token
                .windows(2)
                .any(|p| p[0] == b'.' && p[1].is_ascii_alphabetic());
        if !(in_tag || in_link) {
            // Written plainly: the original characters are the normalized ones.
            let (a, b) = norm.original_span(s, e);
            let plain = original
                .get(a..b)
                .is_some_and(|o| o.eq_ignore_ascii_case(&text[s..e]));
            out.push(SiteSpan {
                start: s,
                end: e,
                disguised: !plain,
            });
        }
    });
    for (start, end) in disguised_words(norm, original, 2) {
        out.push(SiteSpan {
            start,
            end,
            disguised: true,
        });
    }
    if let Some((spaced, map)) = norm.spaced() {
        let span = |s: usize, e: usize| super::normalize::Normalized::spaced_span(map, s, e);
        // A site-shaped word made of spaced letters (`A L E X I S 1 7`) is disguised; a word
        // already found in the text itself keeps what was found there (`cu4n` beside spaced
        // letters is still written plainly).
        let mut found = Vec::new();
        site_words(spaced, |s, e| found.push(span(s, e)));
        for (a, b) in found {
            if !out.iter().any(|n| n.start <= a && b <= n.end) {
                out.push(SiteSpan {
                    start: a,
                    end: b,
                    disguised: true,
                });
            }
        }
        // Five spaced letters and digits or more, three of them letters, with a digit among
        // them or written in fancy letters (`𝑩 0 𝑺 𝑺 𝑾 𝑫`, `𝗞 𝑶 𝗜 𝗦 𝗟 𝑶 𝗧`), read as a name,
        // but not as a disguise on their own: a rule needs a second sign with it. Plain spaced
        // letters are left out: people space words for emphasis (`o d e i o`, `P E A C E`).
        for (s, e, letters, digits) in spaced_runs(spaced, map) {
            let (a, b) = span(s, e);
            let (oa, ob) = norm.original_span(a, b);
            let fancy = original
                .get(oa..ob)
                .is_some_and(super::normalize::has_confusables);
            if letters < 3 || !(digits > 0 || fancy) {
                continue;
            }
            if !out.iter().any(|n| n.start <= a && b <= n.end) {
                out.push(SiteSpan {
                    start: a,
                    end: b,
                    disguised: false,
                });
            }
        }
    }
    // A span found twice is disguised when either finding says so.
    out.sort_unstable_by_key(|n| (n.start, n.end, !n.disguised));
    out.dedup_by_key(|n| (n.start, n.end));
    out
}

/// The words of the spaced-letters view made by joining five single letters or digits or
/// more (their bytes come from places in the text that are not next to each other), as spans
/// of the view with their counts of letters and of digits.
fn spaced_runs(spaced: &str, map: &[u32]) -> Vec<(usize, usize, usize, usize)> {
    let mut out = Vec::new();
    // start, letters, digits, joined; the text byte just after the last char.
    let mut word: Option<(usize, usize, usize, bool)> = None;
    let mut after = 0;
    let chars = spaced
        .char_indices()
        .chain(std::iter::once((spaced.len(), ' ')));
    for (i, c) in chars {
        // Names of this shape are written in Latin letters and digits (fancy ones are folded
        // to ASCII by then); `ㅋ ㅋ ㅋ ㅋ ㅋ` or `哈 哈 哈 哈 哈` are laughter, not names.
        if c.is_ascii_alphanumeric() {
            let at = map[i] as usize;
            let digit = usize::from(c.is_numeric());
            word = Some(match word {
                Some((s, l, d, j)) => (s, l + 1 - digit, d + digit, j || after != at),
                None => (i, 1 - digit, digit, false),
            });
            after = at + c.len_utf8();
        } else {
            if let Some((s, l, d, true)) = word {
                if l + d >= 5 {
                    out.push((s, i, l, d));
                }
            }
            word = None;
        }
    }
    out
}

/// The normalized spans of the words written in fancy, look-alike or underlined letters (three
/// letters or digits at least), when at least `min_plain` other words of the comment are
/// written in plain letters. With `min_plain` 0 (cross-validation folds, which group every
/// name a comment may hold), a phrase of ordinary words in fancy letters counts too.
fn disguised_words(
    norm: &super::normalize::Normalized,
    original: &str,
    min_plain: usize,
) -> Vec<(usize, usize)> {
    if original.is_ascii() {
        return Vec::new();
    }
    // Each word: its span, whether it is in fancy letters, whether it has three letters or
    // digits, whether it reads as an ordinary word (no digit, a lowercase letter once
    // unfolded).
    let mut words: Vec<(usize, usize, bool, bool, bool)> = Vec::new();
    let mut plain = 0;
    for (start, word) in original
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - original.as_ptr() as usize, w))
    {
        let is_fancy = super::normalize::has_confusables(word) || underlined(word);
        let long = word.chars().filter(|c| c.is_alphanumeric()).count() >= 3;
        if !is_fancy && word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
            plain += 1;
        }
        let unfolded: String = unicode_normalization::UnicodeNormalization::nfkc(word).collect();
        let ordinary =
            !unfolded.chars().any(|c| c.is_numeric()) && unfolded.chars().any(char::is_lowercase);
        words.push((start, start + word.len(), is_fancy, long, ordinary));
    }
    // A phrase of ordinary words in fancy letters ("Love this! 𝐁𝐞𝐬𝐭 𝐝𝐫𝐞𝐬𝐬 𝐞𝐯𝐞𝐫") is emphasis,
    // not a name; a name in pieces ("𝐕𝐈𝐒𝐈 𝟒𝐃", "ＧＡ Ｒ Ｕ ＤＡ ＨＯ ＫＩ", "ＰＵＬＡ ＵＷＩＮ") is not.
    let mut emphasis = vec![false; words.len()];
    let mut k = 0;
    while k < words.len() {
        let run = words[k..].iter().take_while(|w| w.2).count();
        let phrase = &words[k..k + run];
        if min_plain > 0 && run >= 2 && phrase.iter().all(|w| w.4) && phrase.iter().any(|w| w.3) {
            emphasis[k..k + run].fill(true);
        }
        k += run.max(1);
    }
    let fancy: Vec<(usize, usize)> = (0..words.len())
        .filter(|&k| words[k].2 && words[k].3 && !emphasis[k])
        .map(|k| (words[k].0, words[k].1))
        .collect();
    if fancy.is_empty() || plain < min_plain {
        return Vec::new();
    }
    // One pass over the normalized text: each letter or digit joins the span of the word its
    // original character lies in (`fancy` is in text order).
    let mut spans: Vec<Option<(usize, usize)>> = vec![None; fancy.len()];
    for (i, c) in norm.text.char_indices() {
        if !c.is_alphanumeric() {
            continue;
        }
        let (s, _) = norm.original_span(i, i + c.len_utf8());
        let k = fancy.partition_point(|&(a, _)| a <= s);
        if k > 0 && s < fancy[k - 1].1 {
            let end = i + c.len_utf8();
            let span = &mut spans[k - 1];
            *span = Some(span.map_or((i, end), |(x, _)| (x, end)));
        }
    }
    spans.into_iter().flatten().collect()
}

/// True when most letters of the word carry a combining mark ("P͟U͟L͟A͟U͟W͟I͟N", "A͎R͎W͎A͎N͎A͎"),
/// which normalization drops: a way to write a name that word filters miss.
fn underlined(word: &str) -> bool {
    if word.is_ascii() {
        return false;
    }
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let marks = word
        .chars()
        .filter(|&c| matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF))
        .count();
    letters >= 3 && marks * 2 >= letters
}

/// Calls `found(start, end)` for every site-shaped word (see [`site_names`]) of `text`.
fn site_words(text: &str, mut found: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        // A word glued to non-ASCII letters ("café2") is not a name of this shape.
        let glued = |k: usize| text[k..].chars().next().is_some_and(char::is_alphanumeric);
        if (start > 0
            && text[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric))
            || (i < bytes.len() && glued(i))
        {
            continue;
        }
        if is_site_word(&bytes[start..i]) {
            found(start, i);
        }
    }
}

/// `[a-z]` first, three letters or more, one to four digits, ending in two digits (`berkah99`)
/// or a digit and one letter (`visi4d`, `g4c0r`), 4 to 24 bytes. One digit at the end is not
/// enough: Indonesian writes a doubled word that way (`orang2`, "people"); nor a short word
/// with one of the digits Arabic in Latin letters writes sounds with (`da7k`, "laughing";
/// `ba3d`, "after"; a held-out reader's comment, stop 41).
fn is_site_word(w: &[u8]) -> bool {
    if w.len() < 4 || w.len() > 24 || !w[0].is_ascii_alphabetic() {
        return false;
    }
    let letters = w.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let digits = w.len() - letters;
    let n = w.len();
    let arabizi =
        digits == 1 && n <= 5 && matches!(w[n - 2], b'2' | b'3' | b'5' | b'7' | b'8' | b'9');
    let tail_ok = (w[n - 1].is_ascii_digit() && w[n - 2].is_ascii_digit())
        || (w[n - 1].is_ascii_alphabetic() && w[n - 2].is_ascii_digit() && !arabizi);
    letters >= 3 && (1..=4).contains(&digits) && tail_ok
}

/// Keys that tie together the rows of a training file that advertise the same site, for
/// grouped cross-validation: its [`site_names`], and every word written in fancy or look-alike
/// letters (`𝘼𝐆𝘜𝙎𝑇𝘖𝙏𝙊`) even in a comment written all that way, as plain lowercase letters
/// and digits, four at least.
pub fn site_keys(norm: &super::normalize::Normalized, original: &str) -> Vec<String> {
    let text = norm.text.as_str();
    let handles: Vec<(usize, usize)> = mentions(text).into_iter().chain(hashtags(text)).collect();
    let plain = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_alphanumeric()).collect() };
    let mut keys: Vec<String> = site_names(norm, original, &handles)
        .into_iter()
        .map(|n| plain(&text[n.start..n.end]))
        .chain(
            disguised_words(norm, original, 0)
                .into_iter()
                .map(|(s, e)| plain(&text[s..e]))
                .filter(|k| k.len() >= 4),
        )
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod site_word_tests {
    use super::is_site_word;

    #[test]
    fn site_shapes_and_arabizi() {
        for w in [
            "berkah99", "visi4d", "t0gel62", "alexis17", "slot88x", "g4c0r", "cu4n", "s3l0t",
        ] {
            assert!(is_site_word(w.as_bytes()), "{w}");
        }
        for w in ["da7k", "ba3d", "sa7b", "orang2", "ra7et"] {
            assert!(!is_site_word(w.as_bytes()), "{w}");
        }
    }
}
