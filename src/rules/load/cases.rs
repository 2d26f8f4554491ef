//! Test files (`tests/*.toml`): the cases a rules folder must pass, checked with the rules.

use super::*;

impl Loader {
    pub(super) fn test_file(&mut self, f: &File<'_>, doc: &ImDocument<String>) {
        let root = doc.as_table();
        self.check_keys(
            f,
            root,
            &["case"],
            "a test file (cases start with [[case]])",
        );
        let Some(item) = root.get("case") else { return };
        for (t, span) in self.tables(f, item, "case") {
            self.check_keys(f, t, CASE_KEYS, "a test case");
            let before = self.errors.len();
            let text = self.string(f, t, "text").map(|s| s.0);
            if t.get("text").is_none() {
                self.err(f, span.clone(), "test case has no `text`");
            }
            let mut shadow = None;
            if let Some(item) = t.get("shadow") {
                match item.as_array() {
                    Some(a) => {
                        let mut list = Vec::new();
                        for v in a.iter() {
                            match v.as_str() {
                                Some(s @ ("hide" | "delete" | "reply")) => list.push(s.to_string()),
                                _ => self.err(
                                    f,
                                    v.span(),
                                    "`shadow` entries are \"hide\", \"delete\" or \"reply\"",
                                ),
                            }
                        }
                        shadow = Some(list);
                    }
                    None => self.err(
                        f,
                        item_span(item),
                        "`shadow` must be a list, e.g. [\"reply\"] (the actions shadow rules would take)",
                    ),
                }
            }
            let mut expect = Vec::new();
            match t.get("expect") {
                None => self.err(
                    f,
                    span.clone(),
                    "test case has no `expect` (e.g. expect = [\"hide\"], or [] for nothing)",
                ),
                Some(item) => match item.as_array() {
                    Some(a) => {
                        for v in a.iter() {
                            match v.as_str() {
                                Some(s @ ("hide" | "delete" | "reply")) => {
                                    expect.push(s.to_string())
                                }
                                _ => self.err(
                                    f,
                                    v.span(),
                                    "`expect` entries are \"hide\", \"delete\" or \"reply\"",
                                ),
                            }
                        }
                    }
                    None => self.err(
                        f,
                        item_span(item),
                        "`expect` must be a list, e.g. [\"hide\"]",
                    ),
                },
            }
            let opt = |l: &mut Self, k: &str| l.string(f, t, k).map(|s| s.0);
            let kind = match opt(self, "kind").as_deref() {
                None | Some("comment") => Kind::Comment,
                Some("mention") => Kind::Mention,
                Some(other) => {
                    self.err(
                        f,
                        item_span(t.get("kind").expect("present")),
                        format!("`kind` is \"comment\" or \"mention\", not \"{other}\""),
                    );
                    Kind::Comment
                }
            };
            let input = Input {
                text: text.unwrap_or_default(),
                username: opt(self, "username"),
                user_id: opt(self, "user_id"),
                comment_id: opt(self, "comment_id"),
                media_id: opt(self, "media_id"),
                account_id: opt(self, "account_id"),
                account_username: opt(self, "account_username"),
                media_product_type: opt(self, "media_product_type"),
                parent_id: opt(self, "parent_id"),
                kind,
                time: t.get("time").and_then(Item::as_integer),
            };
            let repeat = self.count(f, t, "repeat").unwrap_or(1).clamp(1, 1000) as usize;
            let name = opt(self, "name");
            if self.errors.len() > before {
                continue;
            }
            let (line, col) = f.location(span);
            self.tests.push(TestCase {
                location: format!("{}:{line}:{col}", f.name),
                name,
                input,
                expect,
                shadow,
                repeat,
            });
        }
    }
}
