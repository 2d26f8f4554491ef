//! Writing systems that the look-alike folding must not destroy, and spelling variants that
//! one language writes two ways.
//!
//! `decancer` folds every Cyrillic and Greek letter to the Latin letter it resembles, which is
//! right for a disguise ("frее" with a Cyrillic е, "Мoney") and wrong for Russian, Ukrainian or
//! Greek written as such: "сука ты дебил" became "cyka tbi ae6nn", which no rule can name and
//! which reads as English words by chance. So a word written in Cyrillic or Greek is kept
//! (lowercased) when it is plainly that language: no Latin letter in it, fancy or plain, and at
//! least one letter that has no Latin twin ("д", "л", "ы", "λ"). A word of twins only ("ѕсаm",
//! "АЕРО88") or a word that mixes in Latin letters is still folded. The decision is made on
//! the letters as they come out, so normalizing twice gives the same text.
//!
//! Arabic-script text has letters that Arabic and Persian keyboards type differently (ي/ی,
//! ك/ک), a stretching stroke (tatweel, "کـــثـــافـــت") and vowel marks that most writers leave
//! out; Devanagari has the nukta, typed or not ("ज़" and "ज"). These are folded to one form so
//! that a rule written one way matches the other; Arabic-Indic and Persian digits become ASCII
//! digits, so a phone number pushed at readers reads the same in any digits.
//! No maintained crate does this for our normalization (Persian normalizers such as `hazm`
//! are Python, and do much more than folding).

/// Cyrillic and Greek letters (lowercase, after `keep_form`) that look like a Latin letter.
pub(super) fn is_latin_twin(c: char) -> bool {
    matches!(
        c,
        'а' | 'е'
            | 'о'
            | 'р'
            | 'с'
            | 'у'
            | 'х'
            | 'і'
            | 'ј'
            | 'ѕ'
            | 'ԁ'
            | 'һ'
            | 'ԛ'
            | 'ԝ'
            | 'ӏ'
            | 'ү'
            | 'α'
            | 'ο'
            | 'ρ'
            | 'ι'
            | 'κ'
            | 'ν'
            | 'υ'
            | 'χ'
            | 'ε'
            | 'ω'
            | 'τ'
            | 'γ'
    )
}

/// Cyrillic, Greek and Greek Extended.
pub(super) fn is_cyrillic_or_greek(c: char) -> bool {
    matches!(c as u32, 0x0370..=0x03FF | 0x0400..=0x052F | 0x1F00..=0x1FFF)
}

/// The form a Cyrillic or Greek letter takes in a kept word: lowercase, "ё" as "е" (as most
/// Russian writers type it), Greek without its accents and with one sigma ("ς" as "σ", so
/// "ΠΟΥΤΑΝΑΣ" and "πουτανας" read the same). `None` for what is not a letter.
pub(super) fn keep_form(c: char) -> Option<char> {
    if !c.is_alphabetic() {
        return None;
    }
    let lower = c.to_lowercase().next()?;
    Some(match lower {
        'ё' | 'ѐ' => 'е',
        'ς' => 'σ',
        'ѝ' => 'и',
        g if (0x0370..=0x03FF).contains(&(g as u32)) || (0x1F00..=0x1FFF).contains(&(g as u32)) => {
            use unicode_normalization::UnicodeNormalization;
            std::iter::once(g)
                .nfd()
                .find(|d| !unicode_normalization::char::is_combining_mark(*d))
                .unwrap_or(g)
        }
        other => other,
    })
}

/// How a character that is not a kept Cyrillic or Greek letter counts in its word: whether it
/// folds to an ASCII letter (plain, accented, fancy fonts, small capitals, letters in circles
/// and squares, "℃"), and whether it folds to a space (and so ends the word, as it will in the
/// normalized text: "ﹰ" is a space and a vowel mark).
fn latin_or_space(c: char) -> (bool, bool) {
    if c.is_ascii() {
        return (c.is_ascii_alphabetic(), c.is_ascii_whitespace());
    }
    if c.is_whitespace() {
        return (false, true);
    }
    let mut folded = String::new();
    super::fold_char(c, &mut folded, 0);
    (
        folded.bytes().any(|b| b.is_ascii_alphabetic()),
        folded.contains(' '),
    )
}

/// The byte ranges of the words of `text` whose Cyrillic and Greek letters are kept (see the
/// module documentation). Words are split where the normalized text will have a space. A word of
/// one letter ("я") or of twins only ("а", "сор") is kept beside a kept word of two letters or
/// more ("я тебя", "а ты"), or when no Latin letter is in the text at all ("хуесос"), and
/// folded elsewhere: letters written apart ("𝐴 𝐄 Я О 𝟾 𝟪") are a disguised name.
pub(super) fn kept_words(text: &str) -> Vec<(usize, usize)> {
    struct Word {
        span: (usize, usize),
        latin: bool,
        /// A Latin letter typed for a Cyrillic one (see `cyrillic_twin`), which `latin` leaves out.
        latin_twin: bool,
        /// A Greek letter: the Latin twins are read as Cyrillic letters, so only in Cyrillic.
        greek: bool,
        script_letters: usize,
        genuine: bool,
    }
    let mut words: Vec<Word> = Vec::new();
    let mut open = false;
    for (i, c) in text.char_indices() {
        let kept_letter = keep_form(c).filter(|_| is_cyrillic_or_greek(c));
        let (latin, space) = match kept_letter {
            Some(_) => (false, false),
            None => latin_or_space(c),
        };
        if space {
            if open {
                words.last_mut().expect("open word").span.1 = i;
                open = false;
            }
            continue;
        }
        if !open {
            words.push(Word {
                span: (i, text.len()),
                latin: false,
                latin_twin: false,
                greek: false,
                script_letters: 0,
                genuine: false,
            });
            open = true;
        }
        let w = words.last_mut().expect("open word");
        let twin = cyrillic_twin(c).is_some();
        w.latin |= latin && !twin;
        w.latin_twin |= twin;
        w.greek |= matches!(c as u32, 0x0370..=0x03FF | 0x1F00..=0x1FFF);
        if let Some(k) = kept_letter {
            w.script_letters += 1;
            w.genuine |= !is_latin_twin(k);
        }
    }
    // A text with no Latin letter at all is written in its own script: even a word of twins
    // only ("хуесос") is Russian there, not a disguise.
    for w in &mut words {
        w.latin |= w.latin_twin && w.greek;
    }
    let no_latin = words.iter().all(|w| !w.latin && !w.latin_twin);
    let strong: Vec<bool> = words
        .iter()
        .map(|w| {
            !w.latin && w.script_letters > 0 && (no_latin || w.genuine && w.script_letters >= 2)
        })
        .collect();
    let mut kept = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let beside_strong = (i > 0 && strong[i - 1]) || strong.get(i + 1) == Some(&true);
        if strong[i] || (!w.latin && w.script_letters > 0 && beside_strong) {
            kept.push(w.span);
        }
    }
    kept
}

/// The Cyrillic letter a Latin one is typed for inside a Cyrillic word: the "i" of a Russian
/// keyboard for the Ukrainian and Belarusian "і" ("якiсть", "вiн"), the "j" of a Latin
/// keyboard for the Serbian and Macedonian "ј" ("jакна"), and a letter that looks the same
/// slipped in from the other layout ("Cпасибо"). A Cyrillic word with such letters and a
/// letter of its own (no Latin twin) is written in its own script, not a disguise: each was
/// folded to Latin look-alikes ("якiсть" read "rkictb") and hidden as a gambling name. In a
/// kept word the letter is read as the Cyrillic one (`Normalized::fill`).
pub(super) fn cyrillic_twin(c: char) -> Option<char> {
    Some(match c {
        'i' | 'I' => 'і',
        'j' | 'J' => 'ј',
        'a' | 'A' => 'а',
        'c' | 'C' => 'с',
        'e' | 'E' => 'е',
        'o' | 'O' => 'о',
        'p' | 'P' => 'р',
        'x' | 'X' => 'х',
        'y' => 'у',
        'k' | 'K' => 'к',
        'B' => 'в',
        'H' => 'н',
        'M' => 'м',
        'T' => 'т',
        _ => return None,
    })
}

/// The vowel signs and tone marks of the scripts of India and South-East Asia ("तू", "ไอ้"):
/// part of the word, not decoration. `decancer` drops every combining mark, as it must for
/// "zalgo" text (marks heaped on Latin letters), which turned "तू चूतिया है" into "त चतिया ह"
/// and "ไอ้สัตว์" into "ไอสตว".
pub(super) fn is_vowel_or_tone_mark(c: char) -> bool {
    matches!(c as u32, 0x0900..=0x0DFF | 0x0E00..=0x0EFF | 0x0F00..=0x0FFF | 0x1000..=0x109F | 0x1780..=0x17FF)
        && unicode_normalization::char::is_combining_mark(c)
}

/// A half-width katakana letter followed by a half-width voicing mark ("ﾊ" and "ﾞ").
pub(super) fn is_half_width_voicing(letter: char, mark: char) -> bool {
    matches!(letter as u32, 0xFF66..=0xFF9D) && matches!(mark, '\u{FF9E}' | '\u{FF9F}')
}

/// Arabic-script and Devanagari folding of one character (after NFKC): `Some(None)` drops it,
/// `Some(Some(d))` replaces it, `None` leaves it to the general path.
pub(super) fn fold_variant(c: char) -> Option<Option<char>> {
    Some(match c as u32 {
        0x064A | 0x0649 => Some('ی'), // Arabic yeh and alef maksura: the Persian yeh
        0x0643 => Some('ک'),          // Arabic kaf: the Persian keheh
        0x0623 | 0x0625 | 0x0622 | 0x0671 => Some('ا'), // alef with hamza or madda: alef
        0x06C0 => Some('ه'),          // heh with yeh above: heh
        0x0640 => None,               // tatweel, the stretching stroke
        0x064B..=0x065F | 0x0670 => None, // vowel marks
        0x093C => None,               // Devanagari nukta
        0x0660..=0x0669 => char::from_digit(c as u32 - 0x0660, 10),
        0x06F0..=0x06F9 => char::from_digit(c as u32 - 0x06F0, 10),
        0x0966..=0x096F => char::from_digit(c as u32 - 0x0966, 10),
        _ => return None,
    })
}

/// The ASCII letter or digit that a character of a "fancy" Unicode font stands for (`𝐟`, `ｆ`,
/// `ⓕ` -> `f`, `𝟠` -> `8`), by NFKC; `None` for any other character. Most characters are their
/// own NFKC form ("é", "д"): a table lookup tells, cheaper than normalizing each.
pub fn fancy_fold(c: char) -> Option<char> {
    if c.is_ascii()
        || unicode_normalization::is_nfkc_quick(std::iter::once(c))
            == unicode_normalization::IsNormalized::Yes
    {
        return None;
    }
    unicode_normalization::UnicodeNormalization::nfkc(std::iter::once(c))
        .next()
        .filter(|&d| d != c && d.is_ascii_alphanumeric())
}

/// True when the text uses look-alike letters: a word mixing Latin letters with letters of
/// another script that fold to Latin ("frее" with Cyrillic е), or letters written in a
/// "fancy" Unicode font (mathematical, fullwidth, circled, small caps).
pub fn has_confusables(text: &str) -> bool {
    if text.is_ascii() {
        return false;
    }
    for word in text.split_whitespace() {
        if word.is_ascii() {
            continue;
        }
        let mut latin = false;
        let mut latin_twin = false;
        let mut own_letter = false;
        let mut foreign_lookalike = false;
        let mut enclosed = false;
        for c in word.chars() {
            if cyrillic_twin(c).is_some() {
                latin_twin = true;
                continue;
            }
            if c.is_ascii_alphabetic() {
                latin = true;
                continue;
            }
            own_letter |= matches!(c as u32, 0x0400..=0x04FF)
                && keep_form(c).is_some_and(|k| !is_latin_twin(k));
            if super::enclosed_letter(c).is_some() {
                enclosed = true; // 🅿aying, with a Latin letter somewhere in the word
                continue;
            }
            // The ordinal indicators of Portuguese, Spanish and Italian ("2ª", "5º") fold to
            // letters but are ordinary writing.
            if c.is_ascii() || !c.is_alphabetic() || matches!(c, 'ª' | 'º') {
                continue;
            }
            if fancy_fold(c).is_some() {
                // Fullwidth letters beside Japanese, Chinese or Korean are how those are typed
                // ("Ｓ사이즈", "Ｍサイズ"), not a disguise.
                let typeset = matches!(c as u32, 0xFF01..=0xFF5E)
                    && word.chars().any(|c| {
                        matches!(c as u32, 0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xFF66..=0xFF9F)
                    });
                if !typeset {
                    return true; // fancy font: 𝐟, ｆ, ⓕ
                }
            }
            // Only Greek, Cyrillic and small capitals can be foreign look-alikes, so the others
            // skip decancer (1,800 instructions a comment less on the scamspot comments).
            if super::is_small_cap_or_greek_cyrillic(c) {
                if let decancer::Translation::Character(e) =
                    decancer::cure_char(c, super::decancer_options())
                {
                    foreign_lookalike |= e.is_ascii_alphabetic();
                }
            }
        }
        // Latin letters typed for Cyrillic ones in a word with letters of its own ("якiсть").
        let latin = latin || (latin_twin && !own_letter);
        if latin && (foreign_lookalike || enclosed) {
            return true;
        }
        // A word written entirely in small capitals is fancy text too.
        if word.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && word
                .chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| (0x1D00..=0x1D2B).contains(&(c as u32)) || c == 'ʀ' || c == 'ɢ')
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::super::normalize;
    use proptest::prelude::*;

    proptest! {
        /// Mixed scripts, twins and variants: normalizing twice gives the same text.
        #[test]
        fn mixed_scripts_normalize_once(
            s in "[а-яА-ЯёЁѐіѕa-zA-Zα-ωΑ-Ωάέ𝐴𝐄𝟪 ۰-۹يكیکـ\u{064B}-\u{065F}0-9!.]{0,30}"
        ) {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }
    }

    /// Ukrainian typed with the Latin "i" of a Russian keyboard is Ukrainian, not a disguise:
    /// "Дякую! ... якiсть супер" was read "rkictb", a disguised name, and hidden as gambling.
    #[test]
    fn ukrainian_typed_with_a_latin_i_is_kept() {
        assert_eq!(
            normalize("Якiсть супер, вiн гарний"),
            "якість супер, він гарний"
        );
        assert!(!super::has_confusables("Дякую! якiсть супер"));
        // Latin words disguised with Cyrillic letters are still folded, and seen as disguised.
        assert_eq!(normalize("Вitсoin"), "bitcoin");
        assert!(super::has_confusables("Вitсoin"));
        assert!(super::has_confusables("frее money"));
        // Serbian with the Latin "j", Russian with a Latin "C" slipped in.
        assert_eq!(normalize("Одлична jакна, jа сам"), "одлична јакна, ја сам");
        assert_eq!(normalize("Cпасибо"), "спасибо");
        assert_eq!(normalize("Сlick hеrе"), "click here");
        assert!(!super::has_confusables("색깔 예뻐요 Ｓ사이즈 있나요?"));
        assert!(super::has_confusables("ＰＵＬＡ ＵＷＩＮ mood"));
        // Greek is not read with Cyrillic letters.
        assert!(!normalize("Ευχαριστώ πoλύ").contains('о'));
    }

    #[test]
    fn russian_and_greek_written_as_such_are_kept() {
        assert_eq!(normalize("Сука, ты ДЕБИЛ"), "сука, ты дебил");
        assert_eq!(
            normalize("Привет! Есть ли доставка в Казахстан?"),
            "привет! есть ли доставка в казахстан?"
        );
        assert_eq!(normalize("Всё хорошо"), "все хорошо");
        assert_eq!(normalize("Καλημέρα"), "καλημερα");
        // Disguises are still folded: twins only, or Latin letters in the word.
        assert_eq!(normalize("ѕсаm"), "scam");
        assert_eq!(normalize("ѕсаm money"), "scam money");
        assert_eq!(normalize("хуесос"), "хуесос"); // no Latin anywhere: Russian
        assert_eq!(normalize("frее Мoney"), "free money");
        assert_eq!(normalize("𝐴𝐄𝑅О𝟪𝟪"), "aero88");
        assert_eq!(normalize("#__saaлvigael__"), "#__saanvigael__");
        // One letter, or twins only, is kept beside a Russian word and folded alone: letters
        // written apart are a disguised name.
        assert_eq!(normalize("а ты кто? я тебя знаю"), "а ты кто? я тебя знаю");
        assert_eq!(normalize("main di 𝐴 𝐄 Я О 𝟾 𝟪"), "main di a e r o 8 8");
    }

    #[test]
    fn arabic_and_persian_spellings_and_digits_fold_to_one_form() {
        // Arabic yeh and kaf as Persian keyboards type them; tatweel and vowel marks gone.
        assert_eq!(normalize("كثافت"), normalize("کثافت"));
        assert_eq!(normalize("کـــثـــافـــت"), "کثافت");
        assert_eq!(normalize("بي شرف"), "بی شرف");
        assert_eq!(normalize("كَلْب"), normalize("کلب"));
        // Zero-width non-joiner inside a Persian word is dropped, as every invisible is.
        assert_eq!(normalize("بی\u{200C}شرف"), "بیشرف");
        assert_eq!(normalize("۰۹۱۲ ١٢٣ ४५"), "0912 123 45");
        assert_eq!(normalize("ज़लील"), normalize("जलील"));
    }

    #[test]
    fn half_width_katakana_keeps_its_voicing() {
        assert_eq!(normalize("ﾊﾞｶ"), "バカ");
        assert_eq!(normalize("ｶﾞｲｼﾞ ﾊﾟﾝ"), "ガイジ パン");
        let n = super::super::Normalized::new("お前ﾊﾞｶ");
        let at = n.text.find("バ").unwrap();
        assert_eq!(
            n.original_span(at, at + "バ".len()),
            ("お前".len(), "お前ﾊﾞ".len())
        );
    }

    #[test]
    fn vowel_signs_and_tone_marks_stay() {
        assert_eq!(normalize("तू चूतिया है"), "तू चूतिया है");
        assert_eq!(normalize("ไอ้สัตว์"), "ไอ้สัตว์");
        // Marks heaped on Latin letters ("zalgo") still go.
        assert_eq!(normalize("fre\u{0301}\u{0316}e\u{0334}"), "free");
    }
}
