//! A rule or test file being read: its name, its text, and where an offset in it is (line
//! and column, for error messages).

use std::ops::Range;

pub(super) struct File<'a> {
    pub(super) name: String,
    pub(super) src: &'a str,
    /// Where each line starts, found once: a test file of 1,500 cases asked for the line of
    /// each case, and counting the newlines before it every time took longer than compiling
    /// every rule of the pack.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> File<'a> {
    pub(super) fn new(name: String, src: &'a str) -> Self {
        File {
            name,
            src,
            line_starts: std::cell::OnceCell::new(),
        }
    }

    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.src.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = starts.partition_point(|&s| s <= offset);
        let line_start = starts[line - 1];
        (line, self.src[line_start..offset].chars().count() + 1)
    }

    pub(super) fn location(&self, span: Option<Range<usize>>) -> (usize, usize) {
        span.map_or((1, 1), |s| self.position(s.start))
    }
}

#[cfg(test)]
mod tests {
    use super::File;

    #[test]
    fn lines_and_columns_count_characters_from_one() {
        let f = File::new("x.toml".into(), "ab\ncé d\n\nz");
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(3), (2, 1));
        assert_eq!(f.position(7), (2, 4), "é is one column");
        assert_eq!(f.position(9), (3, 1));
        assert_eq!(f.position(10), (4, 1));
        assert_eq!(f.position(100), (4, 2), "past the end is the end");
        assert_eq!(f.location(None), (1, 1));
    }
}
