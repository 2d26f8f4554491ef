//! Rule files: `[[rule]]` tables, their conditions (`when`, `unless`, `any`, `all`, `not`),
//! their actions (`then`) and the `model` condition's model files.

use super::*;

impl Loader {
    pub(super) fn rule_file(&mut self, f: &File<'_>, doc: &ImDocument<String>) {
        let root = doc.as_table();
        self.check_keys(
            f,
            root,
            &["rule"],
            "a rule file (rules start with [[rule]])",
        );
        let Some(item) = root.get("rule") else {
            self.err(f, None, "no rules in this file (each starts with [[rule]])");
            return;
        };
        for (t, span) in self.tables(f, item, "rule") {
            self.rule(f, t, span);
        }
    }

    fn rule(&mut self, f: &File<'_>, t: &dyn TableLike, span: Span) {
        self.check_keys(f, t, RULE_KEYS, "a rule");
        let errors_before = self.errors.len();
        let id = match self.string(f, t, "id") {
            Some((id, id_span)) => {
                let valid = !id.is_empty()
                    && id.len() <= 64
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !id.starts_with('-');
                if !valid {
                    self.err(f, id_span.clone(), format!("invalid id `{id}`: use lowercase letters, digits and dashes (at most 64)"));
                }
                let (line, col) = f.location(id_span.clone());
                let here = format!("{}:{line}:{col}", f.name);
                if let Some(first) = self.ids.get(&id) {
                    let first = first.clone();
                    self.err(
                        f,
                        id_span,
                        format!("duplicate rule id `{id}` (first defined at {first})"),
                    );
                } else {
                    self.ids.insert(id.clone(), here);
                }
                id
            }
            None => {
                if t.get("id").is_none() {
                    self.err(f, span.clone(), "rule has no `id`");
                }
                String::new()
            }
        };
        let description = self
            .string(f, t, "description")
            .map(|s| s.0)
            .unwrap_or_default();
        let mut on = vec![Kind::Comment];
        if let Some(list) = self.strings(f, t, "on") {
            on.clear();
            for (s, sp) in list {
                match s.as_str() {
                    "comment" => on.push(Kind::Comment),
                    "mention" => on.push(Kind::Mention),
                    other => self.err(
                        f,
                        sp,
                        format!("`on` takes \"comment\" or \"mention\", not \"{other}\""),
                    ),
                }
            }
        }
        let mode = match self.string(f, t, "mode") {
            Some((m, _)) if m == "enforce" => Mode::Enforce,
            Some((m, _)) if m == "shadow" => Mode::Shadow,
            Some((m, sp)) => {
                self.err(
                    f,
                    sp,
                    format!("`mode` is \"enforce\" or \"shadow\", not \"{m}\""),
                );
                Mode::Enforce
            }
            None => Mode::Enforce,
        };
        let category = match self.string(f, t, "category") {
            None => Category::Other,
            Some((c, sp)) => match Category::ALL.iter().find(|k| k.as_str() == c) {
                Some(k) => *k,
                None => {
                    let names: Vec<&str> = Category::ALL.iter().map(|k| k.as_str()).collect();
                    self.err(
                        f,
                        sp,
                        format!(
                            "unknown category `{c}`{}: use one of {}",
                            did_you_mean(&c, &names),
                            names.join(", ")
                        ),
                    );
                    Category::Other
                }
            },
        };
        let priority = match t.get("priority") {
            Some(item) => item.as_integer().unwrap_or_else(|| {
                self.err(
                    f,
                    item_span(item),
                    "`priority` must be a whole number, e.g. 100",
                );
                0
            }),
            None => 0,
        };
        let opts = Opts {
            leet: self.boolean(f, t, "leetspeak").unwrap_or(false),
            spaced: self.boolean(f, t, "spaced_letters").unwrap_or(false),
        };
        let (mut hits, mut misses) = (Vec::new(), Vec::new());
        if let Some(item) = t.get("examples") {
            match item.as_table_like() {
                Some(ex) => {
                    self.check_keys(f, ex, &["hit", "miss"], "examples");
                    for (key, out) in [("hit", &mut hits), ("miss", &mut misses)] {
                        for (s, sp) in self.strings(f, ex, key).unwrap_or_default() {
                            let (line, col) = f.location(sp);
                            out.push((s, format!("{}:{line}:{col}", f.name)));
                        }
                    }
                }
                None => self.err(
                    f,
                    item_span(item),
                    "`examples` must be a table: { hit = [...], miss = [...] }",
                ),
            }
        }
        let when = match t.get("when") {
            Some(item) => match item.as_table_like() {
                Some(w) => self.conditions(f, w, item_span(item), "[rule.when]", opts, false),
                None => {
                    self.err(f, item_span(item), "`when` must be a table of conditions");
                    None
                }
            },
            None => {
                self.err(
                    f,
                    span.clone(),
                    format!("rule `{id}` has no condition: add a [rule.when] table"),
                );
                None
            }
        };
        let unless = match t.get("unless") {
            Some(item) => match item.as_table_like() {
                Some(u) => self.conditions(f, u, item_span(item), "[rule.unless]", opts, true),
                None => {
                    self.err(f, item_span(item), "`unless` must be a table of conditions");
                    None
                }
            },
            None => None,
        };
        let then = self.then(f, t, span.clone(), &on);
        if self.errors.len() > errors_before {
            return;
        }
        let (Some(when), Some(then)) = (when, then) else {
            return;
        };
        let (line, _) = f.location(span);
        let version = super::version::rule_version(t, &self.lists, &|name| {
            self.builder
                .models
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, m)| m.header.weights_sha256.clone())
        });
        let file = Path::new(&f.name)
            .strip_prefix(&self.dir)
            .map_or(f.name.clone(), |p| p.display().to_string());
        self.rules.push(Rule {
            info: RuleInfo {
                id,
                description,
                mode,
                category,
                priority,
                on,
                file,
                line,
                version,
            },
            when,
            unless,
            then,
            hits,
            misses,
        });
    }

    fn then(&mut self, f: &File<'_>, t: &dyn TableLike, span: Span, on: &[Kind]) -> Option<Then> {
        let Some(item) = t.get("then") else {
            self.err(
                f,
                span,
                "rule has no action: add [rule.then] with hide, delete or reply",
            );
            return None;
        };
        let Some(th) = item.as_table_like() else {
            self.err(f, item_span(item), "`then` must be a table of actions");
            return None;
        };
        self.check_keys(f, th, THEN_KEYS, "[rule.then]");
        let mut then = Then {
            hide: self.boolean(f, th, "hide").unwrap_or(false),
            delete: self.boolean(f, th, "delete").unwrap_or(false),
            replies: Vec::new(),
            stop: self.boolean(f, th, "stop").unwrap_or(false),
        };
        if let Some(list) = self.strings(f, th, "reply") {
            for (s, sp) in list {
                if s.trim().is_empty() {
                    self.err(f, sp, "a reply cannot be empty");
                    continue;
                }
                let mut rest = s.as_str();
                while let Some(open) = rest.find('{') {
                    let after = &rest[open + 1..];
                    let close = after.find('}').unwrap_or(after.len());
                    let name = &after[..close];
                    if !["author", "match", "rule"].contains(&name) {
                        self.err(
                            f,
                            sp.clone(),
                            format!("unknown placeholder `{{{name}}}` in reply (use {{author}}, {{match}} or {{rule}})"),
                        );
                    }
                    rest = &after[close.min(after.len())..];
                }
                then.replies.push(s);
            }
        }
        let mention_only = !on.contains(&Kind::Comment);
        for key in ["hide", "delete"] {
            if mention_only && th.get(key).and_then(Item::as_bool) == Some(true) {
                let sp = th.get_key_value(key).and_then(|(k, _)| k.span());
                self.err(
                    f,
                    sp,
                    format!("`{key}` cannot apply to a mention (it is on someone else's media); use reply"),
                );
            }
        }
        if !then.hide && !then.delete && then.replies.is_empty() && !then.stop {
            self.err(
                f,
                item_span(item),
                "[rule.then] has no action: set hide = true, delete = true or reply = \"...\"",
            );
            return None;
        }
        if then.delete && then.hide {
            then.hide = false; // delete supersedes hide
        }
        Some(then)
    }

    /// A table of conditions. In `when` (any_of = false) every key must hold; in `unless`
    /// (any_of = true) any key that holds exempts the comment.
    fn conditions(
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
        let span = item_span(item);
        Some(match key {
            "words" | "contains" => {
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
                Cond::Ac(self.builder.add_leaf(leaf, &patterns))
            }
            "addressed" => {
                // Second-person words in English, Portuguese, German, Spanish, French,
                // Indonesian and Hindi (src/rules/second_person.txt, built into the binary so
                // that every rules folder has it).
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
                    cond
                } else {
                    Cond::Not(Box::new(cond))
                }
            }
            "regex" => {
                let mut ids = Vec::new();
                for (s, sp) in self.strings(f, t, key)? {
                    match self.builder.add_regex(&s) {
                        Ok(id) => ids.push(id),
                        Err(e) => self.err(f, sp, e),
                    }
                }
                Cond::Regex(ids)
            }
            "starts_with" | "ends_with" | "exact" | "author" => {
                let entries = self.strings(f, t, key)?;
                let list: Vec<String> = self
                    .expand(f, entries)
                    .into_iter()
                    .map(|(s, _)| {
                        normalize(s.trim().trim_start_matches(if key == "author" {
                            "@"
                        } else {
                            ""
                        }))
                    })
                    .filter(|s| !s.is_empty())
                    .collect();
                match key {
                    "starts_with" => Cond::StartsWith(list),
                    "ends_with" => Cond::EndsWith(list),
                    "exact" => Cond::Exact(list),
                    _ => Cond::Author(list),
                }
            }
            "account" | "media_id" => {
                let entries = self.strings(f, t, key)?;
                let list = self
                    .expand(f, entries)
                    .into_iter()
                    .map(|(s, _)| s.trim().to_string())
                    .collect();
                if key == "account" {
                    Cond::Account(list)
                } else {
                    Cond::MediaId(list)
                }
            }
            "media_type" => {
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
                Cond::MediaType(list)
            }
            "link_domains" => {
                let entries = self.strings(f, t, key)?;
                let list = self
                    .expand(f, entries)
                    .into_iter()
                    .map(|(s, _)| s.trim().trim_start_matches("www.").to_ascii_lowercase())
                    .collect();
                Cond::LinkDomains(list)
            }
            "language" => {
                let mut list = Vec::new();
                for (s, sp) in self.strings(f, t, key)? {
                    if features::is_known_language(&s) {
                        list.push(s.trim().to_ascii_lowercase());
                    } else {
                        self.err(f, sp, format!("unknown language `{s}`: use a code such as \"en\", \"eng\" or a name such as \"english\""));
                    }
                }
                Cond::Language(list)
            }
            "contact" => {
                if let Some(b) = item.as_bool() {
                    if b {
                        Cond::Contact((0..features::CONTACT_KINDS.len()).collect())
                    } else {
                        Cond::Not(Box::new(Cond::Contact(
                            (0..features::CONTACT_KINDS.len()).collect(),
                        )))
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
                    Cond::Contact(kinds)
                }
            }
            "links" => Cond::Links(self.boolean(f, t, key)?),
            "has_confusables" => Cond::HasConfusables(self.boolean(f, t, key)?),
            "site_name" => {
                use crate::rules::engine::SiteName;
                let v = item.as_value();
                match (v.and_then(|v| v.as_bool()), v.and_then(|v| v.as_str())) {
                    (Some(true), _) => Cond::SiteName(SiteName::Any),
                    (Some(false), _) => Cond::SiteName(SiteName::None),
                    (_, Some("disguised")) => Cond::SiteName(SiteName::Disguised),
                    _ => {
                        self.err(f, span, "`site_name` must be true, false or \"disguised\"");
                        return None;
                    }
                }
            }
            "is_reply" => Cond::IsReply(self.boolean(f, t, key)?),
            "min_mentions" => Cond::MinMentions(self.count(f, t, key)? as usize),
            "max_mentions" => Cond::MaxMentions(self.count(f, t, key)? as usize),
            "min_hashtags" => Cond::MinHashtags(self.count(f, t, key)? as usize),
            "max_hashtags" => Cond::MaxHashtags(self.count(f, t, key)? as usize),
            "min_length" => Cond::MinLength(self.count(f, t, key)? as usize),
            "max_length" => Cond::MaxLength(self.count(f, t, key)? as usize),
            "min_emoji_ratio" => Cond::MinEmojiRatio(self.ratio(f, t, key)?),
            "min_caps_ratio" => Cond::MinCapsRatio(self.ratio(f, t, key)?),
            "author_regex" => {
                let (s, sp) = self.string(f, t, key)?;
                match regex::RegexBuilder::new(&s)
                    .case_insensitive(true)
                    .size_limit(crate::rules::engine::REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(re) => Cond::AuthorRegex(Box::new(re)),
                    Err(e) => {
                        self.err(f, sp, crate::rules::engine::regex_error(&e));
                        return None;
                    }
                }
            }
            "any" | "all" => {
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
                    Cond::Any(parts)
                } else {
                    Cond::All(parts)
                }
            }
            "not" => {
                let Some(sub) = item.as_table_like() else {
                    self.err(
                        f,
                        span,
                        "`not` must be a table of conditions, e.g. not = { links = true }",
                    );
                    return None;
                };
                Cond::Not(Box::new(self.conditions(f, sub, span, "not", opts, false)?))
            }
            "model" => self.model_condition(f, item)?,
            "handles_except" => Cond::HandlesExcept(self.handle_entries(f, t, key)?),
            // `impersonates = true`: the account's own username; or a list of names (and
            // lists) that are the brand's, which the account's username joins when known.
            "impersonates" => match item.as_bool() {
                Some(true) => Cond::Impersonates(Vec::new()),
                Some(false) => {
                    self.err(
                        f,
                        span,
                        "`impersonates` is true or a list of the brand's names; to test that nobody impersonates, use not = { impersonates = true }",
                    );
                    return None;
                }
                None => Cond::Impersonates(self.handle_entries(f, t, key)?),
            },
            "handle_words" => {
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
                    Ok(ac) => Cond::HandleWords(Box::new(ac)),
                    Err(e) => {
                        self.err(f, span, format!("handle_words: {e}"));
                        return None;
                    }
                }
            }
            "flood" | "wave" | "repeat_offender" => {
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
                Cond::State(match key {
                    "flood" => Stateful::Flood { count: n, within },
                    "wave" => Stateful::Wave { authors: n, within },
                    _ => Stateful::RepeatOffender { count: n, within },
                })
            }
            _ => return None,
        })
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

    /// `model = { name = "scam", above = 0.9 }` (or `fpr = 0.005`, the threshold from the
    /// model's cross-validation): the model file is `models/NAME.model` in the rules folder,
    /// read once however many rules name it.
    fn model_condition(&mut self, f: &File<'_>, item: &Item) -> Option<Cond> {
        let span = item_span(item);
        let Some(sub) = item.as_table_like() else {
            self.err(
                f,
                span,
                "`model` must be a table, e.g. model = { name = \"scam\", above = 0.9 }",
            );
            return None;
        };
        self.check_keys(f, sub, &["name", "above", "below", "fpr"], "model");
        let before = self.errors.len();
        let name = self.string(f, sub, "name");
        if sub.get("name").is_none() {
            self.err(
                f,
                span.clone(),
                "`model` needs `name`, e.g. name = \"scam\"",
            );
        }
        let above = self.ratio(f, sub, "above").map(|v| v as f32);
        let below = self.ratio(f, sub, "below").map(|v| v as f32);
        // `fpr = 0.005`: above the threshold at which the model's cross-validation flagged
        // that share of label-0 comments (from the model file's header).
        let fpr = self.ratio(f, sub, "fpr");
        let fpr_span = sub.get("fpr").map(item_span);
        if let (Some(_), Some(s)) = (above, &fpr_span) {
            self.err(f, s.clone(), "`model` takes `above` or `fpr`, not both");
        }
        if above.is_none() && below.is_none() && fpr.is_none() && self.errors.len() == before {
            self.err(
                f,
                span,
                "`model` needs a threshold: above = 0.9, fpr = 0.005 (or below = 0.1)",
            );
        }
        if self.errors.len() > before {
            return None;
        }
        let (name, name_span) = name?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.err(
                f,
                name_span,
                format!("invalid model name `{name}`: use letters, digits, - and _"),
            );
            return None;
        }
        let dir = self.dir.join("models");
        let builder = &mut self.builder;
        let files = &self.files;
        let entry = self.models.entry(name.clone()).or_insert_with(|| {
            let path = dir.join(format!("{name}.model"));
            let model = files
                .read(&path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| Model::parse(&bytes));
            match model {
                Ok(m) => {
                    builder.models.push((name.clone(), std::sync::Arc::new(m)));
                    Ok(builder.models.len() as u32 - 1)
                }
                Err(e) => {
                    let mut msg = format!("model `{name}`: {}: {e}", path.display());
                    if !files.exists(&path) {
                        let have = files.names_in(&dir, "model");
                        msg.push_str(&if have.is_empty() {
                            format!(
                                " (no models in {}; train one with `commentguard model train`)",
                                dir.display()
                            )
                        } else {
                            format!(" (models here: {})", have.join(", "))
                        });
                    }
                    Err(msg)
                }
            }
        });
        match entry.clone() {
            Ok(model) => {
                let above = match fpr {
                    None => above,
                    Some(rate) => {
                        match self.builder.models[model as usize].1.threshold_at_fpr(rate) {
                            Ok(t) => Some(t),
                            Err(msg) => {
                                self.err(
                                    f,
                                    fpr_span.unwrap_or(name_span),
                                    format!("model `{name}`: {msg}"),
                                );
                                return None;
                            }
                        }
                    }
                };
                Some(Cond::Model {
                    model,
                    above,
                    below,
                })
            }
            Err(msg) => {
                self.err(f, name_span, msg);
                None
            }
        }
    }
}
