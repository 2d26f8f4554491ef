//! The spaced-letters view of a normalized text: runs of single letters written apart
//! ("f r e e", "f.r.e.e", "♥B♥E♥R♥K♥A♥H♥") joined into one word, so that word lists and site
//! names find them. Made once per comment, and only when a quick pass finds such a run.

use super::Normalized;

impl Normalized {
    /// The spaced-letters view: runs of three or more single letters separated by spaces,
    /// dots or symbols ("f r e e", "f.r.e.e", "♥f♥r♥e♥e") joined into one word. Returns the
    /// text and, for each of its bytes, the byte offset in the normalized text it came from.
    pub fn spaced(&self) -> Option<(&str, &[u32])> {
        self.spaced
            .get_or_init(|| self.make_spaced())
            .as_ref()
            .map(|(t, m)| (t.as_str(), m.as_slice()))
    }

    /// The span of the normalized text that a non-empty span `s..e` of the spaced view came
    /// from (`map` is the spaced view's, and has an entry per byte: the last one is the last
    /// byte of its character).
    pub fn spaced_span(map: &[u32], s: usize, e: usize) -> (usize, usize) {
        (map[s] as usize, map[e - 1] as usize + 1)
    }

    fn make_spaced(&self) -> Option<(String, Vec<u32>)> {
        if !has_spaced_run(&self.text) {
            return None;
        }
        self.spaced_view()
    }

    pub(super) fn spaced_view(&self) -> Option<(String, Vec<u32>)> {
        let chars: Vec<(usize, char)> = self.text.char_indices().collect();
        let single = |k: usize| -> bool {
            let (_, c) = chars[k];
            c.is_alphanumeric()
                && (k == 0 || !chars[k - 1].1.is_alphanumeric())
                && (k + 1 == chars.len() || !chars[k + 1].1.is_alphanumeric())
        };
        let is_sep = is_spaced_separator;
        // First the runs (letter (sep{1,2} letter)*, three letters or more), so that the
        // view is built only for the few texts that have one.
        let mut runs: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut k = 0;
        while k < chars.len() {
            if single(k) {
                let mut letters = vec![k];
                let mut j = k + 1;
                loop {
                    let mut s = j;
                    while s < chars.len() && s - j < 2 && is_sep(chars[s].1) {
                        s += 1;
                    }
                    if s > j && s < chars.len() && single(s) {
                        letters.push(s);
                        j = s + 1;
                    } else {
                        break;
                    }
                }
                if letters.len() >= 3 {
                    runs.push((j, letters));
                    k = j;
                    continue;
                }
            }
            k += 1;
        }
        if runs.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(self.text.len());
        let mut map = Vec::with_capacity(self.text.len());
        let mut push = |k: usize| {
            let (pos, c) = chars[k];
            out.push(c);
            for b in 0..c.len_utf8() {
                map.push((pos + b) as u32);
            }
        };
        let mut k = 0;
        for (end, letters) in runs {
            while k < letters[0] {
                push(k);
                k += 1;
            }
            for &l in &letters {
                push(l);
            }
            k = end;
        }
        while k < chars.len() {
            push(k);
            k += 1;
        }
        Some((out, map))
    }
}

/// What may stand between spaced letters: a space, `.`, `-`, `_`, `*`, `/`, `|`, and any symbol
/// outside ASCII ("♥J♥U♥R♥", "【H】【o】【k】", "░A░░L░░E░").
fn is_spaced_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '_' | '*' | '/' | '|')
        || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// Whether `text` has a run that [`Normalized::spaced`] joins: three single letters or digits
/// (no letter or digit on either side) or more, one or two separators between each two. One
/// pass, no allocation: most comments have none, and the view is not built for them.
fn has_spaced_run(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    let mut prev_alnum = false;
    let (mut letters, mut seps) = (0u32, 0u32);
    while let Some(c) = chars.next() {
        let alnum = c.is_alphanumeric();
        if alnum {
            let single = !prev_alnum && !chars.peek().is_some_and(|&n| n.is_alphanumeric());
            if !single {
                letters = 0;
            } else if letters > 0 && (1..=2).contains(&seps) {
                letters += 1;
                if letters >= 3 {
                    return true;
                }
            } else {
                letters = 1;
            }
            seps = 0;
        } else if is_spaced_separator(c) {
            seps += 1;
        } else {
            letters = 0;
            seps = 0;
        }
        prev_alnum = alnum;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The quick check says yes exactly when the view finds a run (tried on texts of
        /// letters, digits, separators and other characters).
        #[test]
        fn spaced_check_agrees_with_the_view(t in "[ab1 .|♥,xyzé-]{0,24}") {
            let n = Normalized::new(&t);
            proptest::prop_assert_eq!(has_spaced_run(&n.text), n.spaced_view().is_some());
        }
    }

    #[test]
    fn leet_and_spaced_views() {
        let n = Normalized::new("Fr33 m0ney");
        assert_eq!(n.leet().unwrap(), "free money");
        let n = Normalized::new("get f r e e stuff, f.r.e.e");
        let (s, map) = n.spaced().unwrap();
        assert_eq!(s, "get free stuff, free");
        assert_eq!(map.len(), s.len());
        assert!(Normalized::new("a b").spaced().is_none());
    }
}
