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
        let id = self.rule_id(f, t, span.clone());
        let description = self
            .string(f, t, "description")
            .map(|s| s.0)
            .unwrap_or_default();
        let on = self.rule_on(f, t);
        let mode = self.rule_mode(f, t);
        let category = self.rule_category(f, t);
        let priority = self.rule_priority(f, t);
        let opts = Opts {
            leet: self.boolean(f, t, "leetspeak").unwrap_or(false),
            spaced: self.boolean(f, t, "spaced_letters").unwrap_or(false),
        };
        let (hits, misses) = self.examples(f, t);
        let when = self.condition_table(f, t, "when", opts);
        if when.is_none() && t.get("when").is_none() {
            self.err(
                f,
                span.clone(),
                format!("rule `{id}` has no condition: add a [rule.when] table"),
            );
        }
        let unless = self.condition_table(f, t, "unless", opts);
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

    /// The rule's `id`: checked, and remembered to find a duplicate.
    fn rule_id(&mut self, f: &File<'_>, t: &dyn TableLike, span: Span) -> String {
        match self.string(f, t, "id") {
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
        }
    }

    /// What the rule applies to (`on`): comments unless it says.
    fn rule_on(&mut self, f: &File<'_>, t: &dyn TableLike) -> Vec<Kind> {
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
        on
    }

    fn rule_mode(&mut self, f: &File<'_>, t: &dyn TableLike) -> Mode {
        match self.string(f, t, "mode") {
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
        }
    }

    fn rule_category(&mut self, f: &File<'_>, t: &dyn TableLike) -> Category {
        match self.string(f, t, "category") {
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
        }
    }

    fn rule_priority(&mut self, f: &File<'_>, t: &dyn TableLike) -> i64 {
        match t.get("priority") {
            Some(item) => item.as_integer().unwrap_or_else(|| {
                self.err(
                    f,
                    item_span(item),
                    "`priority` must be a whole number, e.g. 100",
                );
                0
            }),
            None => 0,
        }
    }

    /// `examples = { hit = [...], miss = [...] }`, each with where it was written.
    #[allow(clippy::type_complexity)]
    fn examples(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
    ) -> (Vec<(String, String)>, Vec<(String, String)>) {
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
        (hits, misses)
    }

    /// `[rule.when]` (every condition must hold) or `[rule.unless]` (any exempts).
    fn condition_table(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        key: &str,
        opts: Opts,
    ) -> Option<Cond> {
        let item = t.get(key)?;
        let Some(table) = item.as_table_like() else {
            self.err(
                f,
                item_span(item),
                format!("`{key}` must be a table of conditions"),
            );
            return None;
        };
        let what = format!("[rule.{key}]");
        self.conditions(f, table, item_span(item), &what, opts, key == "unless")
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
}
