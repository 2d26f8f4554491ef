//! The conditions of a rule (`when`, `unless`, `any`, `all`, `not`): one reader per kind of
//! condition, each reporting its own mistakes with their positions.

use super::*;

/// The condition being read: its file, the table it is in, its key and its value.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    f: &'a File<'a>,
    t: &'a dyn TableLike,
    key: &'a str,
    item: &'a Item,
    opts: Opts,
}

impl Loader {
    /// A table of conditions. In `when` (any_of = false) every key must hold; in `unless`
    /// (any_of = true) any key that holds exempts the comment.
    pub(super) fn conditions(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        span: Span,
        what: &str,
        opts: Opts,
        any_of: bool,
    ) -> Option<Cond> {
        self.check_keys(f, t, CONDITION_KEYS, what);
        let mut conds = Vec::new();
        for (key, item) in t.iter() {
            if !CONDITION_KEYS.contains(&key) {
                continue;
            }
            if let Some(c) = self.condition(f, t, key, item, opts) {
                conds.push(c);
            }
        }
        if conds.is_empty() {
            if t.iter().next().is_none() {
                self.err(f, span, format!("{what} has no condition"));
            }
            return None;
        }
        Some(if conds.len() == 1 {
            conds.pop().expect("one")
        } else if any_of {
            Cond::Any(conds)
        } else {
            Cond::All(conds)
        })
    }

    fn condition(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        key: &str,
        item: &Item,
        opts: Opts,
    ) -> Option<Cond> {
        let c = &At {
            f,
            t,
            key,
            item,
            opts,
        };
        Some(match key {
            "quoting_to_condemn" | "quoting_to_warn" | "teasing_a_friend" => {
                self.builtin_group(f, t, key, opts)?
            }
            "words" | "contains" => self.text_list(c)?,
            "addressed" => self.addressed(c)?,
            "regex" => self.regexes(c)?,
            "starts_with" | "ends_with" | "exact" | "author" => self.normalized_list(c)?,
            "account" | "media_id" => self.id_list(c)?,
            "media_type" => self.media_type(c)?,
            "link_domains" => self.link_domains(c)?,
            "language" => self.language(c)?,
            "contact" => self.contact(c)?,
            "links" => Cond::Links(self.boolean(f, t, key)?),
            "has_confusables" => Cond::HasConfusables(self.boolean(f, t, key)?),
            "site_name" => self.site_name(c)?,
            "is_reply" => Cond::IsReply(self.boolean(f, t, key)?),
            "min_mentions" => Cond::MinMentions(self.count(f, t, key)? as usize),
            "max_mentions" => Cond::MaxMentions(self.count(f, t, key)? as usize),
            "min_hashtags" => Cond::MinHashtags(self.count(f, t, key)? as usize),
            "max_hashtags" => Cond::MaxHashtags(self.count(f, t, key)? as usize),
            "min_length" => Cond::MinLength(self.count(f, t, key)? as usize),
            "max_length" => Cond::MaxLength(self.count(f, t, key)? as usize),
            "min_emoji_ratio" => Cond::MinEmojiRatio(self.ratio(f, t, key)?),
            "min_caps_ratio" => Cond::MinCapsRatio(self.ratio(f, t, key)?),
            "author_regex" => self.author_regex(c)?,
            "any" | "all" => self.group(c)?,
            "not" => self.negation(c)?,
            "model" => self.model_condition(f, item)?,
            "handles_except" => Cond::HandlesExcept(self.handle_entries(f, t, key)?),
            "impersonates" => self.impersonates(c)?,
            "handle_words" => self.handle_words(c)?,
            "flood" | "wave" | "repeat_offender" => self.stateful(c)?,
            _ => return None,
        })
    }

    fn text_list(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key, opts, item) = (c.f, c.t, c.key, c.opts, c.item);
        let span = item_span(item);
        let before = self.errors.len();
        let entries = self.strings(f, t, key)?;
        let entries = self.expand(f, entries);
        let mut patterns = Vec::new();
        for (s, sp) in entries {
            let n = Normalized::new(&s);
            if n.text.is_empty() {
                self.err(
                    f,
                    sp,
                    format!("`{s}` is empty once normalized (invisible or symbol-only)"),
                );
                continue;
            }
            if opts.leet {
                if let Some(l) = n.leet() {
                    patterns.push(l);
                }
            }
            patterns.push(n.text);
        }
        if patterns.is_empty() {
            if self.errors.len() == before {
                self.err(
                    f,
                    span,
                    format!("`{key}` has no entries (is its list empty?)"),
                );
            }
            return None;
        }
        let leaf = AcLeaf {
            label: if key == "words" { "words" } else { "contains" },
            whole_word: key == "words",
            leet: opts.leet,
            spaced: opts.spaced,
        };
        Some(Cond::Ac(self.builder.add_leaf(leaf, &patterns)))
    }

    /// Second-person words in English, Portuguese, German, Spanish, French,
    /// Indonesian and Hindi (src/rules/second_person.txt, built into the binary so
    /// that every rules folder has it).
    fn addressed(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, item) = (c.f, c.item);
        let span = item_span(item);
        let Some(want) = item.as_bool() else {
            self.err(f, span, "`addressed` is true or false");
            return None;
        };
        let patterns: Vec<String> = include_str!("../second_person.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| Normalized::new(l).text)
            .filter(|p| !p.is_empty())
            .collect();
        let leaf = AcLeaf {
            label: "addressed",
            whole_word: true,
            leet: false,
            spaced: false,
        };
        let cond = Cond::Ac(self.builder.add_leaf(leaf, &patterns));
        if want {
            Some(cond)
        } else {
            Some(Cond::Not(Box::new(cond)))
        }
    }

    fn regexes(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let mut ids = Vec::new();
        for (s, sp) in self.strings(f, t, key)? {
            match self.builder.add_regex(&s) {
                Ok(id) => ids.push(id),
                Err(e) => self.err(f, sp, e),
            }
        }
        // With `spaced_letters`, the regexes also read letters written apart. That part has
        // no literal to wake the rule (the view exists only for texts with spaced letters),
        // so such a rule is evaluated on every comment; the regexes themselves run on the
        // view only when it exists.
        if c.opts.spaced && !ids.is_empty() {
            return Some(Cond::Any(vec![
                Cond::Regex(ids.clone()),
                Cond::SpacedRegex(ids),
            ]));
        }
        Some(Cond::Regex(ids))
    }

    fn normalized_list(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let entries = self.strings(f, t, key)?;
        let list: Vec<String> = self
            .expand(f, entries)
            .into_iter()
            .map(|(s, _)| {
                normalize(
                    s.trim()
                        .trim_start_matches(if key == "author" { "@" } else { "" }),
                )
            })
            .filter(|s| !s.is_empty())
            .collect();
        match key {
            "starts_with" => Some(Cond::StartsWith(list)),
            "ends_with" => Some(Cond::EndsWith(list)),
            "exact" => Some(Cond::Exact(list)),
            _ => Some(Cond::Author(list)),
        }
    }

    fn id_list(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let entries = self.strings(f, t, key)?;
        let list = self
            .expand(f, entries)
            .into_iter()
            .map(|(s, _)| s.trim().to_string())
            .collect();
        if key == "account" {
            Some(Cond::Account(list))
        } else {
            Some(Cond::MediaId(list))
        }
    }

    fn media_type(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let mut list = Vec::new();
        for (s, sp) in self.strings(f, t, key)? {
            let up = s.trim().to_ascii_uppercase();
            if MEDIA_TYPES.contains(&up.as_str()) {
                list.push(up);
            } else {
                self.err(
                    f,
                    sp,
                    format!(
                        "unknown media type `{s}`: use one of {}",
                        MEDIA_TYPES.join(", ")
                    ),
                );
            }
        }
        Some(Cond::MediaType(list))
    }

    fn link_domains(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let entries = self.strings(f, t, key)?;
        let list = self
            .expand(f, entries)
            .into_iter()
            .map(|(s, _)| s.trim().trim_start_matches("www.").to_ascii_lowercase())
            .collect();
        Some(Cond::LinkDomains(list))
    }

    fn language(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let mut list = Vec::new();
        for (s, sp) in self.strings(f, t, key)? {
            if features::is_known_language(&s) {
                list.push(s.trim().to_ascii_lowercase());
            } else {
                self.err(f, sp, format!("unknown language `{s}`: use a code such as \"en\", \"eng\" or a name such as \"english\""));
            }
        }
        Some(Cond::Language(list))
    }

    fn contact(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key, item) = (c.f, c.t, c.key, c.item);
        if let Some(b) = item.as_bool() {
            if b {
                Some(Cond::Contact((0..features::CONTACT_KINDS.len()).collect()))
            } else {
                Some(Cond::Not(Box::new(Cond::Contact(
                    (0..features::CONTACT_KINDS.len()).collect(),
                ))))
            }
        } else {
            let mut kinds = Vec::new();
            for (s, sp) in self.strings(f, t, key)? {
                match features::CONTACT_KINDS.iter().position(|k| *k == s) {
                    Some(i) => kinds.push(i),
                    None => self.err(
                        f,
                        sp,
                        format!(
                            "unknown contact kind `{s}`{}: use {}",
                            did_you_mean(&s, features::CONTACT_KINDS),
                            features::CONTACT_KINDS.join(", ")
                        ),
                    ),
                }
            }
            Some(Cond::Contact(kinds))
        }
    }

    fn site_name(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, item) = (c.f, c.item);
        let span = item_span(item);
        use crate::rules::engine::SiteName;
        let v = item.as_value();
        match (v.and_then(|v| v.as_bool()), v.and_then(|v| v.as_str())) {
            (Some(true), _) => Some(Cond::SiteName(SiteName::Any)),
            (Some(false), _) => Some(Cond::SiteName(SiteName::None)),
            (_, Some("disguised")) => Some(Cond::SiteName(SiteName::Disguised)),
            _ => {
                self.err(f, span, "`site_name` must be true, false or \"disguised\"");
                None
            }
        }
    }

    fn author_regex(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key) = (c.f, c.t, c.key);
        let (s, sp) = self.string(f, t, key)?;
        match regex::RegexBuilder::new(&s)
            .case_insensitive(true)
            .size_limit(crate::rules::engine::REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => Some(Cond::AuthorRegex(Box::new(re))),
            Err(e) => {
                self.err(f, sp, crate::rules::engine::regex_error(&e));
                None
            }
        }
    }

    fn group(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, key, item, opts) = (c.f, c.key, c.item, c.opts);
        let span = item_span(item);
        let mut parts = Vec::new();
        let tables = self.tables(f, item, key);
        if tables.is_empty() {
            self.err(
                f,
                span.clone(),
                format!("`{key}` needs at least one group of conditions"),
            );
        }
        for (sub, sp) in tables {
            if let Some(c) = self.conditions(f, sub, sp, key, opts, false) {
                parts.push(c);
            }
        }
        if key == "any" {
            Some(Cond::Any(parts))
        } else {
            Some(Cond::All(parts))
        }
    }

    fn negation(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, item, opts) = (c.f, c.item, c.opts);
        let span = item_span(item);
        let Some(sub) = item.as_table_like() else {
            self.err(
                f,
                span,
                "`not` must be a table of conditions, e.g. not = { links = true }",
            );
            return None;
        };
        Some(Cond::Not(Box::new(
            self.conditions(f, sub, span, "not", opts, false)?,
        )))
    }

    /// `impersonates = true`: the account's own username; or a list of names (and
    /// lists) that are the brand's, which the account's username joins when known.
    fn impersonates(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key, item) = (c.f, c.t, c.key, c.item);
        let span = item_span(item);
        match item.as_bool() {
            Some(true) => Some(Cond::Impersonates(Vec::new())),
            Some(false) => {
                self.err(
                f,
                span,
                "`impersonates` is true or a list of the brand's names; to test that nobody impersonates, use not = { impersonates = true }",
            );
                None
            }
            None => Some(Cond::Impersonates(self.handle_entries(f, t, key)?)),
        }
    }

    fn handle_words(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, t, key, item) = (c.f, c.t, c.key, c.item);
        let span = item_span(item);
        let words = self.handle_entries(f, t, key)?;
        if words.is_empty() {
            self.err(
                f,
                span,
                "`handle_words` has no entries (is its list empty?)",
            );
            return None;
        }
        match aho_corasick::AhoCorasick::new(&words) {
            Ok(ac) => Some(Cond::HandleWords(Box::new(ac))),
            Err(e) => {
                self.err(f, span, format!("handle_words: {e}"));
                None
            }
        }
    }

    fn stateful(&mut self, c: &At<'_>) -> Option<Cond> {
        let (f, key, item) = (c.f, c.key, c.item);
        let span = item_span(item);
        let Some(sub) = item.as_table_like() else {
            self.err(
                f,
                span,
                format!(
                    "`{key}` must be a table, e.g. {key} = {{ {} = 3, within = \"10m\" }}",
                    if key == "wave" { "authors" } else { "count" }
                ),
            );
            return None;
        };
        let n_key = if key == "wave" { "authors" } else { "count" };
        self.check_keys(f, sub, &[n_key, "within"], key);
        let n = self.count(f, sub, n_key);
        if sub.get(n_key).is_none() {
            self.err(f, span.clone(), format!("`{key}` needs `{n_key}`"));
        }
        let within = match self.string(f, sub, "within") {
            Some((w, sp)) => match humantime::parse_duration(&w) {
                Ok(d) if d.as_secs() > 0 => Some(d.as_secs() as i64),
                _ => {
                    self.err(f, sp, format!("`within` must be a duration such as \"90s\", \"10m\", \"24h\", not \"{w}\""));
                    None
                }
            },
            None => {
                if sub.get("within").is_none() {
                    self.err(f, span, format!("`{key}` needs `within`, e.g. \"10m\""));
                }
                None
            }
        };
        let (n, within) = (n?, within?);
        Some(Cond::State(match key {
            "flood" => Stateful::Flood { count: n, within },
            "wave" => Stateful::Wave { authors: n, within },
            _ => Stateful::RepeatOffender { count: n, within },
        }))
    }

    /// Handle names or words inside handles, from a string list with `list:` entries:
    /// normalized like the comment's handles, without their `@` or `#`.
    fn handle_entries(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        key: &str,
    ) -> Option<Vec<String>> {
        let entries = self.strings(f, t, key)?;
        Some(
            self.expand(f, entries)
                .into_iter()
                .map(|(s, _)| normalize(s.trim().trim_start_matches(['@', '#'])))
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }
}
