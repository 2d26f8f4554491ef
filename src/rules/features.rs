//! Facts about a comment that conditions test: links and their domains, contact details,
//! mentions, hashtags, emoji and capital letters, language. Computed on demand, once per
//! evaluation.

use std::sync::OnceLock;

use regex::Regex;

use super::ascii_words::Forms;

/// A found link: byte span in the normalized text and its lowercase host.
#[derive(Debug, Clone)]
pub struct Link {
    pub start: usize,
    pub end: usize,
    pub host: String,
}

/// Spelled-out links: "mysite dot com", "mysite (dot) com".
pub(crate) const DOT_COM: &str = r"\b([a-z0-9][a-z0-9-]{1,62})(?:\s*[\(\[\{<]\s*(?:dot|d0t|\.)\s*[\)\]\}>]\s*|\s+(?:dot|d0t)\s+|(?:dot|d0t)|\s\.\s?)(com|net|org|io|co|me|ly|info|biz|xyz|ru|us|uk|de|in|link|site|online|shop|store|top|club|live|tv|gg)\b";

fn dot_com_re() -> &'static Forms<Regex> {
    static RE: OnceLock<Forms<Regex>> = OnceLock::new();
    RE.get_or_init(|| Forms::new(DOT_COM, Regex::new).expect("static regex"))
}

/// Links in normalized text: URLs with or without a scheme (`linkify`), plus spelled-out forms
/// such as "mysite dot com" and "mysite (dot) com".
///
/// `ascii_words`: [`super::ascii_words::suffices`] holds for `text` (the engine computes it
/// once per comment).
pub fn find_links(text: &str, ascii_words: bool) -> Vec<Link> {
    let mut finder = linkify::LinkFinder::new();
    finder.url_must_have_scheme(false);
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut links: Vec<Link> = finder
        .links(text)
        .filter(|l| {
            l.as_str().contains("://")
                || (plausible_host(&host_of(l.as_str()))
                    && !inside_handle(text, l.start(), l.end()))
        })
        .map(|l| Link {
            start: l.start(),
            end: l.end(),
            host: host_of(l.as_str()),
        })
        .collect();
    for c in dot_com_re().pick(ascii_words).captures_iter(text) {
        let m = c.get(0).expect("group 0");
        if links.iter().any(|l| l.start < m.end() && m.start() < l.end) {
            continue;
        }
        links.push(Link {
            start: m.start(),
            end: m.end(),
            host: format!("{}.{}", &c[1], &c[2]),
        });
    }
    links.sort_by_key(|l| l.start);
    links
}

/// True when a bare host found at `start..end` is the tail of an `@handle` ([`mentions`]):
/// linkify starts a host after an underscore, so `@suami_ku.id` (an Indonesian handle, ".id"
/// like many there) read as the link `ku.id`. The handle must end where the host does, so
/// `@cs_wa.me/6281234` and `@promo:bit.ly/x` keep their links (and a hashtag, `#bet365.com`).
fn inside_handle(text: &str, start: usize, end: usize) -> bool {
    mentions(text).iter().any(|&(s, e)| s < start && e == end)
}

/// True when a link found without a scheme or `www.` is two sentences run together: its
/// top-level domain was written as a capitalized word after a letter or a space
/// (`rechts.Es geht`, `Merkel-System.In der DDR`, `drüber . In den`), which a typed address
/// never is. `norm` is
/// the text `link` was found in, `original` the comment as written.
pub fn sentence_break(link: &Link, norm: &super::normalize::Normalized, original: &str) -> bool {
    let Some(txt) = norm.text.get(link.start..link.end) else {
        return false;
    };
    if txt.contains("://") || txt.starts_with("www.") {
        return false;
    }
    // Only a bare host whose top-level domain is also a word (`Es`, `In`, `De`): `Scam.Com`
    // or `Bit.Ly/x` stay links, so a capital letter does not hide an address.
    if txt.contains(['/', '?', '#', ':']) {
        return false;
    }
    let host_end = txt.len();
    let Some(dot) = txt.rfind('.') else {
        return false;
    };
    if !SENTENCE_WORD_TLDS.contains(&txt[dot + 1..].trim()) {
        return false;
    }
    // Spelled-out forms have spaces around the dot (`drüber . In`).
    let tld_start =
        dot + 1 + (txt[dot + 1..host_end].len() - txt[dot + 1..host_end].trim_start().len());
    let (a, b) = norm.original_span(link.start + tld_start, link.start + host_end);
    let (at_dot, _) = norm.original_span(link.start + dot, link.start + dot + 1);
    let prev = original.get(..at_dot).and_then(|s| s.chars().next_back());
    let (Some(tld), Some(prev)) = (original.get(a..b), prev) else {
        return false;
    };
    let mut chars = tld.trim().chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.all(char::is_lowercase)
        && (prev.is_alphabetic() || prev.is_whitespace())
}

/// Top-level domains that are also short words starting a sentence in the languages the
/// corpora hold (`Es geht`, `In der`, `De acordo`, `No entanto`, `Me too`, `It is`).
const SENTENCE_WORD_TLDS: &[&str] = &[
    "es", "in", "de", "it", "at", "be", "no", "me", "my", "us", "to", "se", "ar", "so", "do",
];

/// Top-level domains accepted in links written without a scheme, so that "great.this" or
/// "ha.ha.ha" in ordinary sentences are not links.
const COMMON_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "me", "ly", "tv", "gg", "xyz", "ru", "de",
    "uk", "us", "in", "pl", "ca", "au", "fr", "it", "es", "nl", "br", "jp", "cn", "kr", "mx", "ar",
    "cl", "tr", "ua", "id", "ph", "vn", "th", "my", "sg", "ng", "za", "ke", "pk", "bd", "eu", "ch",
    "at", "be", "se", "no", "dk", "fi", "pt", "gr", "ro", "hu", "cz", "sk", "ie", "nz", "link",
    "site", "online", "shop", "store", "top", "club", "live", "app", "dev", "page", "blog", "news",
    "click", "today", "pro", "vip", "win", "bet", "cc", "ws", "to", "su", "tk", "ml", "ga", "cf",
    "gq", "fun", "space", "website", "tech", "icu", "cyou",
];

/// Abbreviations of running text that are shaped like a host: Polish "m.in." ("among
/// others", in most Polish comments that list things). Found by running the pack over
/// wordfreq's 3,000 commonest words of 40 languages (docs/QUALITY.md).
const ABBREVIATIONS: &[&str] = &["m.in"];

fn plausible_host(host: &str) -> bool {
    let Some((name, tld)) = host.rsplit_once('.') else {
        return false;
    };
    COMMON_TLDS.contains(&tld)
        && name.chars().any(|c| c.is_ascii_alphabetic())
        && !ABBREVIATIONS.contains(&host)
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or(host);
    host.trim_start_matches("www.").to_ascii_lowercase()
}

/// True when `host` is `domain` or one of its subdomains.
pub fn host_matches(host: &str, domain: &str) -> bool {
    let domain = domain.trim_start_matches("www.");
    host == domain || host.strip_suffix(domain).is_some_and(|h| h.ends_with('.'))
}

/// Kinds of contact information; `contact = [...]` takes these names.
pub const CONTACT_KINDS: &[&str] = &[
    "phone", "email", "whatsapp", "telegram", "signal", "snapchat",
];

/// The patterns of [`CONTACT_KINDS`], in order.
pub(crate) const CONTACT_PATTERNS: [&str; 6] = [
    // phone: an international number (+ and 9-15 digits), a North American 3-3-4 number, or
    // a national number starting with 0; bare digit runs such as view counts and order
    // numbers are not phone numbers. "00" is the international prefix outside North America
    // ("00966 50 123 4567"); Arabic-Indic and Persian digits arrive as ASCII digits.
    r"(?:^|[^\d.])(\+\d(?:[\s().-]{0,2}\d){8,14}|00[1-9](?:[\s().-]{0,2}\d){8,13}|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}|0\d{3,4}[\s-]?\d{3}[\s-]?\d{3,4})(?:$|[^\d.])",
    r"\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
    // WhatsApp and Telegram as written in Latin, Arabic, Persian and Cyrillic letters
    // (normalized: "ی" for "ي").
    r"\b(?:whats\s*app|whatsap+|watsapp|wats\s*app|wa\.me|whtsapp|واتساپ|واتساب|واتس\s?اپ|واتس\s?اب|واتس|ватсап|вотсап|вацап|ватсапп|вотсапп)\b",
    r"\b(?:telegram|telegrm|tele\s+gram|t\.me/\S+|تلگرام|تلجرام|تیلیجرام|تلیجرام|تلغرام|телеграм|телеграмм)\b|\btg\s*[:@]",
    r"\bsignal\s*(?:app|me|messenger|:|\+)",
    r"\b(?:snapchat|snap\s*[:@]|sc\s*[:@])",
];

fn contact_res() -> &'static [Forms<Regex>] {
    static RES: OnceLock<Vec<Forms<Regex>>> = OnceLock::new();
    RES.get_or_init(|| {
        CONTACT_PATTERNS
            .iter()
            .map(|p| Forms::new(p, Regex::new).expect("static regex"))
            .collect()
    })
}

/// The first contact detail of kind number `kind` (index in [`CONTACT_KINDS`]) in normalized text.
/// `ascii_words` as for [`find_links`].
pub fn find_contact(text: &str, kind: usize, ascii_words: bool) -> Option<(usize, usize)> {
    let re = contact_res()[kind].pick(ascii_words);
    if kind == 0 {
        return re
            .captures(text)
            .and_then(|c| c.get(1))
            .map(|m| (m.start(), m.end()));
    }
    re.find(text).map(|m| (m.start(), m.end()))
}

/// `@handle` mentions in normalized text (e-mail addresses excluded).
pub fn mentions(text: &str) -> Vec<(usize, usize)> {
    tagged(text, '@')
}

/// `#tag` hashtags in normalized text.
pub fn hashtags(text: &str) -> Vec<(usize, usize)> {
    tagged(text, '#')
}

fn tagged(text: &str, sigil: char) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if c != sigil {
            continue;
        }
        if i > 0 {
            let prev = text[..i].chars().next_back().unwrap_or(' ');
            if prev.is_alphanumeric() || prev == '_' || prev == '.' {
                continue; // e-mail address or a word#tag
            }
        }
        let mut end = i + 1;
        for (j, d) in text[i + 1..].char_indices() {
            if d.is_alphanumeric() || d == '_' || d == '.' {
                end = i + 1 + j + d.len_utf8();
            } else {
                break;
            }
        }
        while end > i + 1 && bytes[end - 1] == b'.' {
            end -= 1;
        }
        if end > i + 1 {
            out.push((i, end));
        }
    }
    out
}

/// True for pictographic emoji and their common symbol blocks.
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2190..=0x21FF
        | 0x2300..=0x23FF | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122)
}

/// Share of emoji among the visible characters of the original text (0 when there are none).
pub fn emoji_ratio(text: &str) -> f64 {
    let mut visible = 0usize;
    let mut emoji = 0usize;
    for c in text.chars() {
        if c.is_whitespace() || super::normalize::is_invisible(c) {
            continue;
        }
        visible += 1;
        if is_emoji(c) {
            emoji += 1;
        }
    }
    if visible == 0 {
        0.0
    } else {
        emoji as f64 / visible as f64
    }
}

/// Share of capital letters among the letters of the original text; texts with fewer than
/// [`CAPS_MIN_LETTERS`] letters count as 0 so that "OK" or "WOW" are not shouting.
pub fn caps_ratio(text: &str) -> f64 {
    let mut letters = 0usize;
    let mut upper = 0usize;
    for c in text.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if c.is_uppercase() {
                upper += 1;
            }
        }
    }
    if letters < CAPS_MIN_LETTERS {
        0.0
    } else {
        upper as f64 / letters as f64
    }
}

pub const CAPS_MIN_LETTERS: usize = 8;

/// The detected language of the original text as ISO 639-3 and ISO 639-1 codes and the
/// English name, or `None` when the text is too short to tell.
pub fn language(text: &str) -> Option<whatlang::Lang> {
    let info = whatlang::detect(text)?;
    (info.confidence() >= 0.2).then_some(info.lang())
}

/// True when the user's language name (`en`, `eng`, `english`) names `lang`.
pub fn language_is(lang: whatlang::Lang, want: &str) -> bool {
    let want = want.trim().to_ascii_lowercase();
    if lang.code() == want || lang.eng_name().to_ascii_lowercase() == want {
        return true;
    }
    iso639_1(lang) == Some(want.as_str())
}

/// Two-letter codes for the languages whatlang knows, for people who write `en` or `pt`.
fn iso639_1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    Some(match lang {
        Eng => "en",
        Spa => "es",
        Por => "pt",
        Fra => "fr",
        Deu => "de",
        Ita => "it",
        Rus => "ru",
        Ukr => "uk",
        Pol => "pl",
        Nld => "nl",
        Tur => "tr",
        Ara => "ar",
        Hin => "hi",
        Ben => "bn",
        Jpn => "ja",
        Kor => "ko",
        Cmn => "zh",
        Ind => "id",
        Vie => "vi",
        Tha => "th",
        Heb => "he",
        Swe => "sv",
        Dan => "da",
        Fin => "fi",
        Ces => "cs",
        Ron => "ro",
        Hun => "hu",
        Ell => "el",
        Bul => "bg",
        Pes => "fa",
        Urd => "ur",
        Tgl => "tl",
        _ => return None,
    })
}

/// Known language names and codes accepted by `language = [...]`.
pub fn is_known_language(want: &str) -> bool {
    whatlang::Lang::all().iter().any(|&l| language_is(l, want))
}

#[cfg(test)]
mod tests {
    use crate::rules::sites::{site_keys, site_names};

    #[test]
    fn site_names_in_every_disguise() {
        use crate::rules::normalize::Normalized;
        let names = |t: &str| -> Vec<String> {
            crate::rules::sites::names_in(t)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(names("main di visi4d gampang"), ["visi4d"]);
        assert_eq!(names("dapet cuan dari 𝐁𝐄𝐑𝐊𝐀𝐇𝟗𝟗 hari ini"), ["berkah99"]);
        assert_eq!(
            names("info link ⭐ A L E X I S 1 7 ⭐ kakak"),
            ["a l e x i s 1 7"]
        );
        assert_eq!(names("T0GEL62 emang beda"), ["t0gel62"]);
        assert!(names("I paid $50 for 2 of them in 2024").is_empty());
        assert!(names("ps5 and mp3 and 4k and 50rb, orang2 jilid2").is_empty());
        assert!(names("thanks @martin28a, see example99.com/page12").is_empty());
        assert_eq!(names("Main bareng di A𝙂𝘜𝐒𝘛𝐎𝙏О makin seru"), ["agustoto"]);
        // A whole comment in a fancy font is a style, not a disguised name.
        assert!(names("𝐩𝐞𝐫𝐭𝐚𝐦𝐚 𝐛𝐚𝐧𝐠𝐠𝐠 𝐬𝐚𝐦𝐩𝐚𝐡").is_empty());
        assert_eq!(names("Cuan real di P͟U͟L͟A͟U͟W͟I͟N mantap"), ["pulauwin"]);
        assert_eq!(
            names("udah cobain 【H】【o】【k】【i】【7】【7】【7】 manteb"),
            ["h】【o】【k】【i】【7】【7】【7"]
        );
        // Which of them are disguised on their own: spaced letters alone are a name (a rule
        // wants a second sign with them), and a plain word beside them stays plain.
        let disguised = |t: &str| -> Vec<(String, bool)> {
            let n = Normalized::new(t);
            site_names(&n, t, &[])
                .into_iter()
                .map(|x| (n.text[x.start..x.end].to_string(), x.disguised))
                .collect()
        };
        assert_eq!(
            disguised("gas main di 𝑩 0 𝑺 𝑺 𝑾 𝑫 cu4n terus"),
            [
                ("b 0 s s w d".to_string(), false),
                ("cu4n".to_string(), false)
            ]
        );
        assert_eq!(
            disguised("info ⭐ A L E X I S 1 7 ⭐ kak"),
            [("a l e x i s 1 7".to_string(), true)]
        );
        assert_eq!(
            disguised("udah 𝗞 𝑶 𝗜 𝗦 𝗟 𝑶 𝗧 makin gacor"),
            [("k o i s l o t".to_string(), false)]
        );
        assert!(disguised("P E A C E to all").is_empty());
        assert!(disguised("eu o d e i o mentiras, M E U  D E U S").is_empty());
        assert!(disguised("in the 4 0 6 0 i am").is_empty());
        // Spaced letters of other scripts are no name, and never a panic.
        for t in [
            "ㅋ ㅋ ㅋ ㅋ ㅋ",
            "哈 哈 哈 哈 哈",
            "ه ه ه ه ه ه",
            "ha ㅋ ㅋ ㅋ ㅋ ㅋ 1 2",
        ] {
            assert!(disguised(t).is_empty(), "{t}");
        }
        let t = "main di 𝘼𝐆𝘜𝙎𝑇𝘖𝙏𝙊 dan ❄️𝗝 𝗨 𝗡 𝗜 𝗢 𝗥 𝟴 𝟴❄️";
        assert_eq!(site_keys(&Normalized::new(t), t), ["agustoto", "junior88"]);
    }

    use super::*;

    #[test]
    fn two_sentences_run_together_are_not_a_link() {
        use crate::rules::normalize::Normalized;
        let links = |t: &str| -> Vec<String> {
            let n = Normalized::new(t);
            find_links(&n.text, false)
                .into_iter()
                .filter(|l| !sentence_break(l, &n, t))
                .map(|l| l.host)
                .collect()
        };
        assert!(links("egal ob links oder rechts.Es geht um unsere Heimat").is_empty());
        assert!(links("dieses Merkel-System.In der DDR wusste man").is_empty());
        assert!(links("Da redet keine Sau drüber . In den Medien").is_empty());
        assert!(links("beginnt die #EuroPrideAGM.In Kürze").is_empty());
        assert_eq!(
            links("mehr auf hamburg-pride.de, bis bald"),
            ["hamburg-pride.de"]
        );
        assert_eq!(links("Shop at Amazon.com today"), ["amazon.com"]);
        assert_eq!(links("Visit CHEAPBAGS.COM now"), ["cheapbags.com"]);
        assert_eq!(links("see https://rechts.Es/x"), ["rechts.es"]);
        // A capital letter does not hide an address.
        assert_eq!(links("go to Scam.Com now"), ["scam.com"]);
        assert_eq!(links("visit Bit.Ly/abc"), ["bit.ly"]);
    }

    #[test]
    fn a_handle_with_a_country_ending_is_no_link() {
        // linkify starts a host after the underscore: `ku.id` inside `@suami_ku.id`.
        assert!(find_links("ikutan min @suami_ku.id @kakak.ayu", true).is_empty());
        assert!(find_links("ikutan min @suami_ku.id, @kakak.ayu", true).is_empty());
        // Links inside tokens that are no handle stay links.
        for text in [
            "beli di toko_ku.id ya",
            "#daftar_gacor88.com sekarang",
            "hubungi @cs_wa.me/6281234567",
            "@promo:bit.ly/abc",
        ] {
            assert_eq!(find_links(text, true).len(), 1, "{text}");
        }
    }

    #[test]
    fn links_with_and_without_scheme_and_spelled_out() {
        let l = find_links("visit https://bit.ly/abc or shop.example.com/x now", true);
        let hosts: Vec<_> = l.iter().map(|l| l.host.as_str()).collect();
        assert_eq!(hosts, ["bit.ly", "shop.example.com"]);
        let l = find_links("go to mysite dot com and cheap (dot) net", true);
        let hosts: Vec<_> = l.iter().map(|l| l.host.as_str()).collect();
        assert_eq!(hosts, ["mysite.com", "cheap.net"]);
        assert!(find_links("i love this. so pretty", true).is_empty());
        assert!(find_links("polecam, m.in. ten krem i szampon", true).is_empty());
        assert_eq!(find_links("my site is m.in.example.com", true).len(), 1);
        assert!(find_links("great.this is a song, ha.ha.ha, 2.124.821.694 views", true).is_empty());
        assert!(host_matches("m.bit.ly", "bit.ly"));
        assert!(!host_matches("notbit.ly", "bit.ly"));
    }

    #[test]
    fn contact_details() {
        assert!(find_contact("call +1 (555) 123-4567 now", 0, true).is_some());
        assert!(find_contact("i was born in 1990", 0, true).is_none());
        assert!(find_contact("2.124.821.694 views, 1000000000 views", 0, true).is_none());
        assert!(find_contact("call me 07700 900123", 0, true).is_some());
        assert!(find_contact("555-123-4567", 0, true).is_some());
        assert!(find_contact("mail me: joe.doe@gmail.com", 1, true).is_some());
        assert!(find_contact("text me on whats app", 2, true).is_some());
        assert!(find_contact("my telegram is x", 3, true).is_some());
    }

    #[test]
    fn mentions_hashtags_ratios() {
        assert_eq!(mentions("hi @anna and @bob. mail a@b.com").len(), 2);
        assert_eq!(hashtags("#a #b c#d").len(), 2);
        assert!(emoji_ratio("🔥🔥🔥") > 0.99);
        assert_eq!(emoji_ratio(""), 0.0);
        assert!(caps_ratio("BUY NOW CHEAP FOLLOWERS") > 0.99);
        assert_eq!(caps_ratio("WOW"), 0.0);
    }
}
