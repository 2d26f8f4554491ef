//! The word automata: every word, phrase, list entry and regex gate literal of a pack, found in
//! one scan of a comment (and of its leetspeak and spaced-letters views, for the leaves that
//! ask for them).

use aho_corasick::AhoCorasick;

use super::build::AcLeaf;

/// The word automaton is a DFA (one table lookup per byte of text) unless its table would
/// exceed `AC_DFA_MAX_BYTES`; then a contiguous NFA (smaller, a few times slower).
fn ac_kind(patterns: &[&[u8]]) -> aho_corasick::AhoCorasickKind {
    // Upper bounds: one state per pattern byte, one column per distinct byte (plus one for
    // all others), 4 bytes an entry.
    let states: usize = patterns.iter().map(|p| p.len()).sum::<usize>() + 1;
    let mut seen = [false; 256];
    patterns
        .iter()
        .flat_map(|p| p.iter())
        .for_each(|&b| seen[b as usize] = true);
    let classes = seen.iter().filter(|&&s| s).count() + 1;
    if states.saturating_mul(classes).saturating_mul(4) <= AC_DFA_MAX_BYTES {
        aho_corasick::AhoCorasickKind::DFA
    } else {
        aho_corasick::AhoCorasickKind::ContiguousNFA
    }
}

/// 10,000 phrases of about 11 bytes over 40 distinct bytes need about 18 MB.
const AC_DFA_MAX_BYTES: usize = 64 << 20;

/// A word automaton over some patterns, `None` when there are none.
fn automaton<P: AsRef<[u8]>>(patterns: &[P]) -> Result<Option<AhoCorasick>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let bytes: Vec<&[u8]> = patterns.iter().map(AsRef::as_ref).collect();
    AhoCorasick::builder()
        .kind(Some(ac_kind(&bytes)))
        .build(&bytes)
        .map(Some)
        .map_err(|e| format!("word automaton: {e}"))
}

/// An automaton over some of the patterns (those in ASCII, or the leaves' that ask for a view
/// of the text: leetspeak, spaced letters), and for each its pattern id.
#[derive(Debug)]
pub(crate) struct View {
    pub ac: AhoCorasick,
    pub pids: Vec<u32>,
}

impl View {
    /// Every match in `text`, overlapping, in order of where it ends: (pattern id, start, end).
    pub fn matches<'a>(
        &'a self,
        text: &'a str,
    ) -> impl Iterator<Item = (usize, usize, usize)> + 'a {
        self.ac.find_overlapping_iter(text).map(|m| {
            (
                self.pids[m.pattern().as_usize()] as usize,
                m.start(),
                m.end(),
            )
        })
    }
}

/// Two streams of matches in order of where they end, as one (the first's before the second's
/// where two end together), as one automaton over all their patterns would give them.
pub(crate) fn by_end(
    a: impl Iterator<Item = (usize, usize, usize)>,
    b: impl Iterator<Item = (usize, usize, usize)>,
) -> impl Iterator<Item = (usize, usize, usize)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y.2 < x.2 => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// The automata a pack is scanned with: [ASCII patterns, the others, the leetspeak view's, the
/// spaced-letters view's], each `None` when it would have no pattern.
///
/// The word automaton is in two: patterns written in ASCII, and the others, scanned only on a
/// text that is not ASCII (most comments once normalized are). Each table has a column per
/// byte its patterns tell apart: the Cyrillic, Arabic, Thai and CJK words took that from 48 to
/// about 150, and one table was twice the size of the two (building it was half of loading
/// the pack). The leetspeak and spaced-letter views are scanned for the few leaves that ask
/// for them, each with an automaton of their patterns only: scanning the leetspeak view (most
/// comments have a digit, "@" or "!") with the whole word automaton cost a tenth of
/// evaluating the shipped pack, for a handful of lists.
pub(crate) fn views(
    patterns: &[Vec<u8>],
    pattern_leaves: &[Vec<u32>],
    leaves: &[AcLeaf],
) -> Result<[Option<View>; 4], String> {
    let subset = |keep: &dyn Fn(usize) -> bool| -> Result<Option<View>, String> {
        let pids: Vec<u32> = (0..patterns.len() as u32)
            .filter(|&p| keep(p as usize))
            .collect();
        let chosen: Vec<&Vec<u8>> = pids.iter().map(|&p| &patterns[p as usize]).collect();
        Ok(automaton(&chosen)?.map(|ac| View { ac, pids }))
    };
    let asks = |p: usize, want: fn(&AcLeaf) -> bool| {
        pattern_leaves[p].iter().any(|&l| want(&leaves[l as usize]))
    };
    Ok([
        subset(&|p| patterns[p].is_ascii())?,
        subset(&|p| !patterns[p].is_ascii())?,
        subset(&|p| asks(p, |l| l.leet))?,
        subset(&|p| asks(p, |l| l.spaced))?,
    ])
}
