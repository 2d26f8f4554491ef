//! Text normalization shared by comments, rule words and lists.
//!
//! One function turns text into the form every text condition is matched against: NFKC,
//! case folded, invisible and format characters removed, look-alike letters folded (Cyrillic
//! and Greek homoglyphs, small caps, circled and mathematical letters, through `decancer`),
//! whitespace collapsed. Each byte of the result remembers the character of the original it
//! came from, so evidence can be shown in the comment as written.
//!
//! Leetspeak ("fr33") and spaced-out letters ("f r e e") are separate, opt-in views built on
//! top of the normalized text, because they cause false positives on ordinary comments.

mod scripts;
pub use scripts::{fancy_fold, has_confusables};
mod spaced;

use unicode_normalization::UnicodeNormalization;

/// Normalized text plus the way back from each of its bytes to the original character.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub text: String,
    /// Non-ASCII originals: `orig[i]` = (start, end) byte offsets in the original text of the
    /// character that produced normalized byte `i`. Empty for ASCII originals.
    orig: Vec<(u32, u32)>,
    /// ASCII originals: (normalized offset, original offset) at each point from which bytes
    /// are copied one to one (after skipped whitespace or control characters). Normalized
    /// byte `i` other than a space comes from original byte `i - n + o`, with (n, o) the last
    /// entry such that `n <= i`. Usually one or two entries.
    shifts: Vec<(u32, u32)>,
    /// The spaced-letters view, made on first use (the word scan and the site finder both ask).
    spaced: std::cell::OnceCell<Option<(String, Vec<u32>)>>,
}

impl Normalized {
    pub fn new(original: &str) -> Normalized {
        let mut n = Normalized::default();
        n.fill(original);
        n
    }

    /// Maps a byte span of the normalized text back to a byte span of the original text.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.text.is_empty() || start >= end || end > self.text.len() {
            return (0, 0);
        }
        if !self.orig.is_empty() {
            return (self.orig[start].0 as usize, self.orig[end - 1].1 as usize);
        }
        let (s, e) = (self.ascii_span(start), self.ascii_span(end - 1));
        (s.0, e.1)
    }

    /// The original span of normalized byte `i` of an ASCII original. A space (collapsed
    /// whitespace) maps to the empty span where the next character starts.
    fn ascii_span(&self, i: usize) -> (usize, usize) {
        let bytes = self.text.as_bytes();
        if bytes[i] == b' ' {
            // Never the last byte: trailing whitespace is dropped.
            let p = self.ascii_pos(i + 1);
            return (p, p);
        }
        let p = self.ascii_pos(i);
        (p, p + 1)
    }

    fn ascii_pos(&self, i: usize) -> usize {
        let k = self.shifts.partition_point(|&(n, _)| n as usize <= i);
        let (n, o) = self.shifts[k - 1];
        i - n as usize + o as usize
    }

    /// Refills this value for a new text, reusing its buffers.
    pub fn fill(&mut self, original: &str) {
        self.text.clear();
        self.orig.clear();
        self.shifts.clear();
        // Offsets are stored as u32: texts beyond 4 GiB are cut (never reached: webhook
        // bodies are limited to a few MiB).
        let original = if original.len() > u32::MAX as usize {
            let mut cut = u32::MAX as usize;
            while !original.is_char_boundary(cut) {
                cut -= 1;
            }
            &original[..cut]
        } else {
            original
        };
        if original.is_ascii() {
            self.fill_ascii(original);
        } else {
            self.fill_chars(original);
        }
    }

    /// The general path: each character folded, with a per-byte map back.
    fn fill_chars(&mut self, original: &str) {
        self.text.reserve(original.len());
        self.orig.reserve(original.len());
        let mut pending_space = false;
        let mut buf = String::new();
        // Words written in Cyrillic or Greek as such, kept from the look-alike folding.
        let kept = if original.chars().any(scripts::is_cyrillic_or_greek) {
            scripts::kept_words(original)
        } else {
            Vec::new()
        };
        let mut kept = kept.into_iter().peekable();
        let mut chars = original.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let mut span = (i as u32, (i + c.len_utf8()) as u32);
            if let Some(twin) = scripts::cyrillic_twin(c) {
                if in_kept(&mut kept, i) {
                    self.push_space_if(&mut pending_space, span.0);
                    self.text.push(twin);
                    self.orig.extend([span, span]);
                    continue;
                }
            }
            if c.is_ascii() {
                // What `fold_char` does with ASCII, without the buffer.
                if c.is_ascii_whitespace() {
                    pending_space = true;
                } else if !c.is_ascii_control() {
                    self.push_space_if(&mut pending_space, span.0);
                    self.text.push(c.to_ascii_lowercase());
                    self.orig.push(span);
                }
                continue;
            }
            let kept_letter = in_kept(&mut kept, i)
                .then(|| scripts::is_cyrillic_or_greek(c).then(|| scripts::keep_form(c)))
                .flatten()
                .flatten();
            buf.clear();
            match chars.peek() {
                // Half-width katakana takes its voicing mark as a second character ("ﾊﾞ"); NFKC
                // makes the pair one letter ("バ") only when it sees both, and one character at
                // a time the mark was lost ("ﾊﾞｶ" read "ハカ", not "バカ").
                Some(&(j, m)) if scripts::is_half_width_voicing(c, m) => {
                    chars.next();
                    span.1 = (j + m.len_utf8()) as u32;
                    for d in [c, m].iter().collect::<String>().nfkc() {
                        fold_char(d, &mut buf, 0);
                    }
                }
                _ => match kept_letter {
                    Some(k) => buf.push(k),
                    None => fold_char(c, &mut buf, 0),
                },
            }
            for d in buf.chars() {
                if d.is_whitespace() {
                    pending_space = true;
                    continue;
                }
                self.push_space_if(&mut pending_space, span.0);
                self.text.push(d);
                for _ in 0..d.len_utf8() {
                    self.orig.push(span);
                }
            }
        }
    }

    /// The ASCII fast path: lowercase, whitespace runs collapsed, control characters dropped;
    /// no per-byte map (see `shifts`).
    fn fill_ascii(&mut self, original: &str) {
        let mut out = std::mem::take(&mut self.text).into_bytes();
        out.reserve(original.len());
        let mut pending_space = false;
        // Original offset minus normalized offset in the current stretch; none yet.
        let mut shift = usize::MAX;
        for (i, &b) in original.as_bytes().iter().enumerate() {
            if b > b' ' && b != 0x7f {
                if pending_space {
                    if !out.is_empty() {
                        out.push(b' ');
                    }
                    pending_space = false;
                }
                let n = out.len();
                if i - n != shift {
                    shift = i - n;
                    self.shifts.push((n as u32, i as u32));
                }
                out.push(b.to_ascii_lowercase());
            } else if b.is_ascii_whitespace() {
                pending_space = true;
            }
        }
        self.text = String::from_utf8(out).expect("ASCII stays ASCII");
    }

    fn push_space_if(&mut self, pending: &mut bool, at: u32) {
        if *pending {
            if !self.text.is_empty() {
                self.text.push(' ');
                self.orig.push((at, at));
            }
            *pending = false;
        }
    }

    /// The leetspeak view: digits and symbols commonly used for letters replaced by those
    /// letters. Same length as the normalized text, so spans stay valid.
    pub fn leet(&self) -> Option<String> {
        let text = &self.text;
        if !text.bytes().any(is_leet_byte) {
            return None;
        }
        // Every substitution is one ASCII byte for another, so the bytes stay UTF-8. "!" and "|"
        // stand for "i" only before a letter or a digit ("b!tch", "sh!t"): after a word they are
        // punctuation ("bitch!!" is no "bitchii", which a whole-word list would miss).
        let raw = text.as_bytes();
        let mut changed = false;
        let bytes: Vec<u8> = raw
            .iter()
            .enumerate()
            .map(|(i, &c)| match c {
                b'!' | b'|' if !raw.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) => c,
                c => {
                    let l = leet_byte(c);
                    changed |= l != c;
                    l
                }
            })
            .collect();
        changed.then(|| String::from_utf8(bytes).expect("ASCII substitutions keep UTF-8"))
    }
}

/// Normalizes a text (see the module documentation).
pub fn normalize(text: &str) -> String {
    Normalized::new(text).text
}

fn is_leet_byte(b: u8) -> bool {
    matches!(
        b,
        b'0' | b'1' | b'3' | b'4' | b'5' | b'7' | b'8' | b'@' | b'$' | b'!' | b'|' | b'+'
    )
}

fn leet_byte(c: u8) -> u8 {
    match c {
        b'0' => b'o',
        b'1' | b'!' | b'|' => b'i',
        b'3' => b'e',
        b'4' | b'@' => b'a',
        b'5' | b'$' => b's',
        b'7' | b'+' => b't',
        b'8' => b'b',
        c => c,
    }
}

/// Characters that render as nothing and are used to split words invisibly.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
        || (c.is_control() && !c.is_whitespace())
}

pub(super) fn decancer_options() -> decancer::Options {
    // Latin look-alikes, Cyrillic, Greek and diacritics are folded; other writing systems are
    // kept as they are so that their words stay matchable.
    decancer::Options::default()
        .retain_emojis()
        .retain_hebrew()
        .retain_arabic()
        .retain_devanagari()
        .retain_bengali()
        .retain_armenian()
        .retain_gujarati()
        .retain_tamil()
        .retain_thai()
        .retain_lao()
        .retain_burmese()
        .retain_khmer()
        .retain_mongolian()
        .retain_chinese()
        .retain_japanese()
        .retain_korean()
        .retain_braille()
}

/// The letters in black circles and squares (🅐, 🅿): emoji to decancer, which keeps emoji, but
/// letters to a reader ("🅿aying 5 200 to 15 people"). Unicode gives them no decomposition, so
/// NFKC leaves them too (the white-squared 🄰 it folds itself).
pub(super) fn enclosed_letter(c: char) -> Option<char> {
    let base = match c as u32 {
        0x1F150..=0x1F169 => 0x1F150,
        0x1F170..=0x1F189 => 0x1F170,
        _ => return None,
    };
    char::from_u32('a' as u32 + (c as u32 - base))
}

/// Currency signs (Unicode block Currency Symbols, and the older ones in Latin-1).
fn is_currency(c: char) -> bool {
    matches!(c, '\u{20A0}'..='\u{20CF}' | '£' | '¥' | '¢' | '¤')
}

/// Latin-1 Supplement to Latin Extended-B and Latin Extended Additional: the blocks of accented
/// Latin letters ("ó", "ç", "ü", "ß", "ệ"), which normalized text holds without their marks.
pub(crate) fn is_latin_with_marks(c: char) -> bool {
    matches!(c as u32, 0xC0..=0x24F | 0x1E00..=0x1EFF)
}

/// Folds one character into `out`. Applied again to its own output until stable, so that
/// normalization is idempotent.
fn fold_char(c: char, out: &mut String, depth: u8) {
    if c.is_ascii() {
        if c.is_ascii_whitespace() {
            out.push(' ');
        } else if !c.is_ascii_control() {
            out.push(c.to_ascii_lowercase());
        }
        return;
    }
    if is_invisible(c) {
        return;
    }
    if c.is_whitespace() {
        out.push(' ');
        return;
    }
    let start = out.len();
    for d in std::iter::once(c).nfkc() {
        if d.is_ascii() {
            fold_char(d, out, depth);
            continue;
        }
        if is_invisible(d) {
            continue;
        }
        if let Some(variant) = scripts::fold_variant(d) {
            if let Some(v) = variant {
                out.push(v);
            }
            continue;
        }
        if scripts::is_vowel_or_tone_mark(d) {
            out.push(d);
            continue;
        }
        if let Some(letter) = enclosed_letter(d) {
            out.push(letter);
            continue;
        }
        // German "ß" is "ss" ("Straße", "süß"): decancer reads it as the look-alike "b", which
        // turned "Scheiße" into "Scheibe" (a window), "weiß" into "Weib" and "groß" into
        // "grob" (rude), for the rules and the German abuse model alike.
        if d == 'ß' || d == 'ẞ' {
            out.push_str("ss");
            continue;
        }
        // An accented Latin letter loses its accent ("ó" reads "o", "ç" reads "c"): decancer
        // alone reads some of them as other letters ("ó" as "p", "ô" as "q", "õ" as "r"), which
        // turned Portuguese and Spanish into nonsense ("dólares" read "dplares").
        if is_latin_with_marks(d) {
            let mut parts = std::iter::once(d).nfd();
            if let Some(base) = parts.next() {
                if base.is_ascii_alphabetic()
                    && parts.all(unicode_normalization::char::is_combining_mark)
                {
                    out.push(base.to_ascii_lowercase());
                    continue;
                }
            }
        }
        if is_currency(d) {
            // decancer reads "€" as "e" and "£" as "l": "€2000" would become a word. Money
            // amounts are a scam signal, so currency signs stay as they are.
            out.push(d);
            continue;
        }
        match decancer::cure_char(d, decancer_options()) {
            decancer::Translation::Character(e) => push_lower(e, out),
            decancer::Translation::String(s) => s.chars().for_each(|e| push_lower(e, out)),
            decancer::Translation::None => {}
        }
    }
    if depth < 3 && !out[start..].is_ascii() {
        let produced = out[start..].to_string();
        let mut again = String::new();
        for d in produced.chars() {
            if d.is_ascii() {
                again.push(d);
            } else {
                fold_char(d, &mut again, depth + 1);
            }
        }
        if again != produced {
            out.truncate(start);
            out.push_str(&again);
        }
    }
}

/// Whether byte `i` of the text lies in one of the `kept` word spans (in order; each is left
/// behind once passed).
fn in_kept(kept: &mut std::iter::Peekable<std::vec::IntoIter<(usize, usize)>>, i: usize) -> bool {
    while kept.peek().is_some_and(|&(_, end)| end <= i) {
        kept.next();
    }
    kept.peek().is_some_and(|&(start, _)| start <= i)
}

fn push_lower(c: char, out: &mut String) {
    if c.is_whitespace() {
        out.push(' ');
    } else {
        out.extend(c.to_lowercase());
    }
}

pub(super) fn is_small_cap_or_greek_cyrillic(c: char) -> bool {
    matches!(c as u32, 0x0370..=0x03FF | 0x0400..=0x04FF | 0x1D00..=0x1D2B | 0x0250..=0x02AF)
}

/// A stable key for "the same text" used by the wave condition (FNV-1a of the normalized text).
pub fn text_key(normalized: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in normalized.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_fancy_fonts_lookalikes_and_invisibles() {
        assert_eq!(normalize("𝐟𝐫𝐞𝐞"), "free");
        assert_eq!(normalize("ｆｒｅｅ"), "free");
        assert_eq!(normalize("frее"), "free"); // Cyrillic е
        assert_eq!(normalize("f\u{200B}r\u{200D}ee"), "free");
        assert_eq!(normalize("ⓕⓡⓔⓔ"), "free");
        assert_eq!(normalize("ꜰʀᴇᴇ"), "free");
        assert_eq!(normalize("  FREE \t\n  Money  "), "free money");
        assert_eq!(normalize("Ｆｒｅｅ\u{202E} Мoney"), "free money");
        // Letters in black squares and circles, as scammers write "paying" (issue 13).
        assert_eq!(normalize("i’m 🅿️aying 5 200"), "i'm paying 5 200");
        assert_eq!(normalize("🅵🆁🅴🅴 🅜🅞🅝🅔🅨"), "free money");
        assert!(has_confusables("🅿️aying you"));
        assert!(!has_confusables("blood type 🅰️"));
    }

    #[test]
    fn german_sharp_s_reads_ss_not_a_look_alike_b() {
        assert_eq!(
            normalize("Scheiße, die STRAẞE ist groß und süß"),
            "scheisse, die strasse ist gross und suss"
        );
        assert_eq!(normalize(&normalize("weiß")), "weiss");
    }

    #[test]
    fn keeps_other_scripts_and_emoji() {
        assert_eq!(normalize("こんにちは"), "こんにちは");
        assert!(normalize("I ❤️ it 🔥").contains('🔥'));
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("\u{200B}\u{200B}"), "");
    }

    #[test]
    fn spans_map_back_to_the_text_as_written() {
        let original = "Get 𝐟𝐫𝐞𝐞 money";
        let n = Normalized::new(original);
        let at = n.text.find("free").unwrap();
        let (s, e) = n.original_span(at, at + 4);
        assert_eq!(&original[s..e], "𝐟𝐫𝐞𝐞");
    }

    #[test]
    fn confusables_are_detected_but_plain_text_is_not() {
        assert!(has_confusables("frее money")); // Cyrillic е inside a Latin word
        assert!(has_confusables("𝐟𝐫𝐞𝐞 money"));
        assert!(!has_confusables("free money"));
        assert!(!has_confusables("привет как дела"));
        assert!(!has_confusables("café crème"));
        assert_eq!(
            normalize("Dólares, você, não, pôr, Ñandú, Über"),
            "dolares, voce, nao, por, nandu, uber"
        );
        assert!(!has_confusables("a 14ª a deixar o canal, o 5º set"));
    }

    /// The ASCII fast path gives the same text and the same spans as the general path.
    fn same_as_general_path(s: &str) {
        let fast = Normalized::new(s);
        let mut general = Normalized::default();
        general.fill_chars(s);
        assert_eq!(fast.text, general.text, "{s:?}");
        for a in 0..=fast.text.len() {
            for b in 0..=fast.text.len() + 1 {
                assert_eq!(
                    fast.original_span(a, b),
                    general.original_span(a, b),
                    "{s:?} {a}..{b}"
                );
            }
        }
    }

    #[test]
    fn ascii_fast_path_matches_general_path() {
        for s in [
            "",
            " ",
            "a",
            "  Free \t\n money\x01\x7f now  ",
            "\x0b\x0bab  c\td",
            "x\x00y  z",
        ] {
            same_as_general_path(s);
        }
    }

    proptest! {
        #[test]
        fn ascii_fast_path_is_exact(s in "[ a-zA-Z0-9.\t\n\x00-\x1f\x7f]{0,40}") {
            same_as_general_path(&s);
        }

        #[test]
        fn normalization_is_idempotent(s in "\\PC{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn spans_are_char_boundaries(s in "\\PC{0,40}") {
            let n = Normalized::new(&s);
            for (i, _) in n.text.char_indices() {
                let (a, b) = n.original_span(i, i + 1);
                prop_assert!(s.is_char_boundary(a) && s.is_char_boundary(b));
            }
        }
    }
}
