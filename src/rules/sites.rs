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
    names(norm, original, handles, false)
}

/// [`site_names`]; with `keys`, discount codes count as names too, as they did when the
/// shipped models' cross-validation folds were drawn (see [`site_keys`]).
fn names(
    norm: &super::normalize::Normalized,
    original: &str,
    handles: &[(usize, usize)],
    keys: bool,
) -> Vec<SiteSpan> {
    let mut out = Vec::new();
    let text = norm.text.as_str();
    site_words(text, keys, |s, e| {
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
    for (start, end) in disguised_words(norm, original, 2, !keys) {
        // A #hashtag or @handle in fancy letters is the writer's style (`#𝙽𝙰𝙸𝙻𝙰𝚁𝚃`); the
        // folds keep them, as they were drawn.
        if !keys && handles.iter().any(|&(a, b)| a <= start && end <= b) {
            continue;
        }
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
        site_words(spaced, keys, |s, e| found.push(span(s, e)));
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
            // `W E L C O M E 1 0` is a discount code spaced out, as `welcome10` is one.
            if !keys && discount_code(&spaced[s..e].replace(' ', "")) {
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
/// name a comment may hold), every such word counts; with more, a phrase of ordinary words
/// does not, nor (with `read_emphasis`) words that read as emphasis, a code or a number (see
/// `emphasis`; not for the folds, which were drawn before it).
fn disguised_words(
    norm: &super::normalize::Normalized,
    original: &str,
    min_plain: usize,
    read_emphasis: bool,
) -> Vec<(usize, usize)> {
    let read_emphasis = read_emphasis && min_plain > 0;
    if original.is_ascii() {
        return Vec::new();
    }
    let mut words: Vec<Word> = Vec::new();
    let mut plain = 0;
    for (start, word) in original
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - original.as_ptr() as usize, w))
    {
        let under = underlined(word);
        let fancy = under || super::normalize::has_confusables(word);
        let small = fancy && small_fancy_letters(word, under);
        if !fancy && word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
            plain += 1;
        }
        // Read only of fancy words: unfolding every word of the comment would be wasted.
        let ordinary = fancy && {
            let unfolded: String =
                unicode_normalization::UnicodeNormalization::nfkc(word).collect();
            !unfolded.chars().any(|c| c.is_numeric()) && unfolded.chars().any(char::is_lowercase)
        };
        words.push(Word {
            start,
            end: start + word.len(),
            fancy,
            long: word.chars().filter(|c| c.is_alphanumeric()).count() >= 3,
            ordinary,
            small,
            under,
            mixed: fancy && !under && word.chars().any(|c| c.is_ascii_alphabetic()) && !small,
            number: word.chars().all(|c| c.is_numeric() && !c.is_ascii()),
            span: None,
        });
    }
    if plain < min_plain || !words.iter().any(|w| w.fancy && w.long) {
        return Vec::new();
    }
    // One pass over the normalized text: each letter or digit joins the span of the fancy word
    // its original character lies in (`fancy` is in text order).
    let fancy: Vec<usize> = (0..words.len()).filter(|&k| words[k].fancy).collect();
    for (i, c) in norm.text.char_indices() {
        if !c.is_alphanumeric() {
            continue;
        }
        let (s, _) = norm.original_span(i, i + c.len_utf8());
        let k = fancy.partition_point(|&k| words[k].start <= s);
        if k > 0 && s < words[fancy[k - 1]].end {
            let end = i + c.len_utf8();
            let span = &mut words[fancy[k - 1]].span;
            *span = Some(span.map_or((i, end), |(x, _)| (x, end)));
        }
    }
    // A run of fancy words is a name (in pieces: "𝐕𝐈𝐒𝐈 𝟒𝐃", "ＧＡ Ｒ Ｕ ＤＡ ＨＯ ＫＩ") unless
    // each of its words reads as emphasis, a code or a number; a phrase of ordinary words
    // ("Love this! 𝐁𝐞𝐬𝐭 𝐝𝐫𝐞𝐬𝐬 𝐞𝐯𝐞𝐫") is emphasis whenever `min_plain` is more than 0.
    // A number in fancy digits beside fancy words is a piece of the name ("𝕂𝕀𝕋 𝟠𝟠"; fancy
    // digits are not look-alike letters).
    let mut names = Vec::new();
    let mut k = 0;
    while k < words.len() {
        let piece = |w: &Word| w.fancy || (read_emphasis && w.number);
        let run = words[k..].iter().take_while(|w| piece(w)).count();
        let phrase = &words[k..k + run];
        let fancy_words = phrase.iter().filter(|w| w.fancy);
        let ordinary_phrase = fancy_words.clone().count() >= 2
            && fancy_words.clone().all(|w| w.ordinary)
            && phrase.iter().any(|w| w.fancy && w.long);
        // A number is a piece of a name beside capitals ("𝕂𝕀𝕋 𝟠𝟠"), not beside small letters
        // ("the 𝐀𝐢𝐫 𝐅𝐨𝐫𝐜𝐞 𝟏 in white").
        let capitals = phrase.iter().any(|w| w.fancy && !w.small);
        // Two pieces of one or two letters or more are a name in pieces ("ＧＡ Ｒ Ｕ ＤＡ ＨＯ ＫＩ",
        // "𝑷𝑼𝑳𝑨𝑼 𝑾𝑰 𝑵"), not emphasis.
        let pieces = phrase.iter().filter(|w| w.fancy && !w.long).count() >= 2;
        let not_a_name = (min_plain > 0 && ordinary_phrase)
            || (read_emphasis
                && !pieces
                && phrase.iter().all(|w| {
                    if w.fancy {
                        emphasis(w, &norm.text)
                    } else {
                        !capitals
                    }
                }));
        if !not_a_name {
            names.extend(
                phrase
                    .iter()
                    .filter(|w| w.fancy && w.long)
                    .filter_map(|w| w.span),
            );
        }
        k += run.max(1);
    }
    names
}

/// A whitespace-separated word of the original text, for [`disguised_words`].
struct Word {
    start: usize,
    end: usize,
    /// Written in fancy, look-alike or underlined letters.
    fancy: bool,
    /// Three letters or digits at least.
    long: bool,
    /// Fancy, no digit, and a lowercase letter once unfolded.
    ordinary: bool,
    /// Its fancy letters are small ones (`𝐚𝐝𝐞𝐦`, `b̲i̲g̲`), see [`small_fancy_letters`].
    small: bool,
    /// Fancy digits only (`𝟠𝟠`); plain ones beside a fancy word are a size or a price
    /// ("ada 𝐒𝐈𝐙𝐄 40 ga kak?").
    number: bool,
    /// Underlined (see [`underlined`]).
    under: bool,
    /// Plain letters beside fancy or look-alike ones (`𝐑𝐔𝐃a`, `A𝙂𝘜𝐒𝘛𝐎𝙏О`): a disguise.
    mixed: bool,
    /// Its letters and digits in the normalized text.
    span: Option<(usize, usize)>,
}

/// Whether a fancy word reads as emphasis, a code or a number rather than a site name (never
/// when it mixes plain and fancy letters):
/// - small fancy letters and no digit ("kak ini bahannya 𝐚𝐝𝐞𝐦 banget", "que 𝐥𝐢𝐧𝐝𝐨"): the sites
///   of judol-dev are disguised in capitals (2,785 fancy words in capitals in its promotions,
///   76 in small letters, most of them in comments written all in a fancy font);
/// - a common word of a Latin-script language in capitals, no digit ("this jacket is
///   𝐄𝐕𝐄𝐑𝐘𝐓𝐇𝐈𝐍𝐆", "𝐄𝐍𝐀𝐊 banget"; `common_words.txt`); sites are invented names
///   (`𝐀𝐆𝐔𝐒𝐓𝐎𝐓𝐎`), and a common word beside a word with a digit, a number in fancy
///   digits or two short pieces stays part of a name ("𝐕𝐈𝐒𝐈 𝟒𝐃", "𝕂𝕀𝕋 𝟠𝟠");
/// - fewer than three letters and digits, no digit ("𝐎𝐊", "𝗚𝗢");
/// - five digits or more (an order or tracking number, `𝗦𝗣𝗫𝟮𝟮𝟬𝟵𝟯𝟴𝟰𝟳𝟭𝟭`: no site of judol-dev
///   has more than four), or three letters and more before a multiple of five from 10 to 100
///   (a discount code, `𝐖𝐄𝐋𝐂𝐎𝐌𝐄𝟏𝟎`: no site of judol-dev ends so; they end in 4D, 88, 99...).
fn emphasis(w: &Word, text: &str) -> bool {
    let Some((s, e)) = w.span else {
        return true;
    };
    if w.mixed {
        return false;
    }
    let folded = &text[s..e];
    let digits = folded.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 {
        let letters: String = folded
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        // Underlined small letters name sites too (`p͟u͟l͟a͟u͟w͟i͟n͟`): only a common word is
        // emphasis there (`b̲i̲g̲g̲e̲r̲`).
        return (w.small && !w.under) || !w.long || letters.len() < 3 || common_word(&letters);
    }
    digits >= 5 || discount_code(folded)
}

/// Letters (three or more), then a number that is a multiple of five from 10 to 100, and
/// nothing else: `welcome10`, `ramadan30` (after normalization; separators such as `-`
/// between them are allowed).
fn discount_code(folded: &str) -> bool {
    let letters = folded
        .bytes()
        .take_while(|b| !b.is_ascii_digit())
        .filter(u8::is_ascii_alphabetic)
        .count();
    let tail: String = folded.chars().skip_while(|c| !c.is_ascii_digit()).collect();
    letters >= 3
        && tail.bytes().all(|b| b.is_ascii_digit())
        && tail
            .parse::<u32>()
            .is_ok_and(|n| (10..=100).contains(&n) && n % 5 == 0)
}

/// Whether `word` (lowercase ASCII letters) is a common word of one of the Latin-script
/// languages customers write (`common_words.txt`, built from wordfreq by
/// bench/common_words.py: a sorted list, searched in place).
fn common_word(word: &str) -> bool {
    static WORDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    WORDS
        .get_or_init(|| {
            include_str!("common_words.txt")
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect()
        })
        .binary_search(&word)
        .is_ok()
}

/// True when the word is written the way people emphasise an ordinary word: in a fancy font
/// of small letters (`𝐚𝐝𝐞𝐦`, `𝑐ℎ𝑒𝑓'𝑠`, `ｆｉｔ`, `𝓜𝓪𝓻𝓲𝓪`) or in underlined small letters
/// (`b̲i̲g̲`), plain small letters allowed before or after (not both) one block of three
/// fancy ones (`𝒸𝓊𝒶𝓃nya`). Not when plain and fancy letters are mixed otherwise (`𝐑𝐔𝐃a`, `gac𝗈r`,
/// `diP͟U͟L͟A͟U͟W͟I͟N`, `p͟υ͟l͟α͟υ͟ω͟ι͟ɴ͟`: a disguise), nor when a capital follows a small letter
/// (`𝗧𝘂𝗽𝗮𝗶𝗪𝗶𝗻`: names are run together so). Small capitals (`ᴀ`) are capitals here.
fn small_fancy_letters(word: &str, under: bool) -> bool {
    let (mut fancy, mut capitals) = (0, 0);
    let (mut plain_before, mut plain_after) = (false, false);
    let mut after_small = false;
    for c in word.chars() {
        // Marks and characters normalization deletes (`\u{200B}`) do not break a word.
        if is_mark(c) || super::normalize::is_invisible(c) {
            continue;
        }
        if !c.is_alphabetic() {
            after_small = false;
            continue;
        }
        if under {
            if !c.is_ascii_lowercase() {
                return false;
            }
            fancy += 1;
            continue;
        }
        if c.is_ascii() {
            if !c.is_ascii_lowercase() {
                return false;
            }
            if fancy > 0 {
                plain_after = true;
            } else {
                plain_before = true;
            }
            continue;
        }
        match super::normalize::fancy_fold(c) {
            Some(f) if f.is_ascii_lowercase() => {
                if plain_after {
                    return false;
                }
                fancy += 1;
                after_small = true;
            }
            Some(f) if f.is_ascii_uppercase() => {
                if after_small {
                    return false;
                }
                capitals += 1;
            }
            _ => after_small = false,
        }
    }
    if under {
        return fancy > 0;
    }
    let plain = plain_before || plain_after;
    // Plain letters on one side only of a block of three small fancy ones or more ("𝒸𝓊𝒶𝓃nya");
    // one capital at most, first ("𝓜𝓪𝓻𝓲𝓪", not "𝐒𝐔𝐋𝐓𝐀𝐍𝐩𝐞𝐭𝐢𝐫"); no capital with plain letters
    // ("𝐏𝐮𝐥𝐚𝐮win"). A single fancy letter in a plain word is a disguise ("gac𝗈r").
    fancy > 0
        && capitals <= 1
        && !(plain_before && plain_after)
        && !(plain && (capitals > 0 || fancy < 3))
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF)
}

/// True when most letters of the word carry a combining mark ("P͟U͟L͟A͟U͟W͟I͟N", "A͎R͎W͎A͎N͎A͎"),
/// which normalization drops: a way to write a name that word filters miss.
fn underlined(word: &str) -> bool {
    if word.is_ascii() {
        return false;
    }
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let marks = word.chars().filter(|&c| is_mark(c)).count();
    letters >= 3 && marks * 2 >= letters
}

/// Calls `found(start, end)` for every site-shaped word (see [`site_names`]) of `text`.
fn site_words(text: &str, codes: bool, mut found: impl FnMut(usize, usize)) {
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
        let w = &bytes[start..i];
        if is_site_word(w) && (codes || !discount_code(std::str::from_utf8(w).unwrap_or_default()))
        {
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

/// The spans of the @handles and #hashtags of a normalized text, which [`site_names`] leaves
/// out.
pub fn handle_spans(text: &str) -> Vec<(usize, usize)> {
    mentions(text).into_iter().chain(hashtags(text)).collect()
}

/// The site names of a text with its handles left out, as normalized text and whether each is
/// disguised (for the tests).
#[cfg(test)]
pub(super) fn names_in(t: &str) -> Vec<(String, bool)> {
    let n = super::normalize::Normalized::new(t);
    site_names(&n, t, &handle_spans(&n.text))
        .into_iter()
        .map(|x| (n.text[x.start..x.end].to_string(), x.disguised))
        .collect()
}

/// Keys that tie together the rows of a training file that advertise the same site, for
/// grouped cross-validation: its site names as [`site_names`] read them before stop 44
/// (discount codes and fancy emphasis included, so the folds are drawn as they were), and every word written in fancy or look-alike
/// letters (`𝘼𝐆𝘜𝙎𝑇𝘖𝙏𝙊`) even in a comment written all that way, as plain lowercase letters
/// and digits, four at least.
pub fn site_keys(norm: &super::normalize::Normalized, original: &str) -> Vec<String> {
    let text = norm.text.as_str();
    let handles = handle_spans(text);
    let plain = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_alphanumeric()).collect() };
    let mut keys: Vec<String> = names(norm, original, &handles, true)
        .into_iter()
        .map(|n| plain(&text[n.start..n.end]))
        .chain(
            disguised_words(norm, original, 0, false)
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
