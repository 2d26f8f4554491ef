//! Evaluating one comment: the condition tree of a rule against the automaton's and regexes'
//! hits and against facts computed on first use ([`Ctx`]).

use super::*;

/// Everything one evaluation knows, with facts computed on first use.
pub(super) struct Ctx<'a> {
    pub(super) input: &'a Input,
    pub(super) norm: &'a Normalized,
    pub(super) ac_hits: &'a [Option<(u32, u32)>],
    pub(super) regex_hits: &'a [bool],
    /// No non-ASCII character of the text is a word character: regexes may run in their
    /// ASCII form (word classes and boundaries; see `ascii_words`).
    pub(super) ascii_words: bool,
    pub(super) set: &'a RuleSet,
    pub(super) state: &'a dyn RuleState,
    pub(super) now: i64,
    /// The normalized username (or the user id), for author and stateful conditions.
    pub(super) author: OnceCell<String>,
    pub(super) links: OnceCell<Vec<Link>>,
    pub(super) mentions: OnceCell<Vec<(usize, usize)>>,
    pub(super) hashtags: OnceCell<Vec<(usize, usize)>>,
    pub(super) sites: OnceCell<Vec<crate::rules::sites::SiteSpan>>,
    pub(super) language: OnceCell<Option<whatlang::Lang>>,
    pub(super) text_key: OnceCell<String>,
    /// Per model: its score, computed when a condition first asks.
    pub(super) scores: Vec<OnceCell<f32>>,
}

impl Ctx<'_> {
    fn norm_evidence(&self, condition: &str, start: usize, end: usize) -> Evidence {
        let (s, e) = self.norm.original_span(start, end);
        self.orig_evidence(condition, s, e)
    }

    fn orig_evidence(&self, condition: &str, start: usize, end: usize) -> Evidence {
        Evidence {
            condition: condition.to_string(),
            matched: self.input.text.get(start..end).unwrap_or("").to_string(),
            start,
            end,
            score: None,
            threshold: None,
        }
    }

    fn whole(&self, condition: &str) -> Evidence {
        self.orig_evidence(condition, 0, self.input.text.len())
    }

    pub(super) fn author(&self) -> &str {
        self.author.get_or_init(|| author_key(self.input))
    }

    fn links(&self) -> &[Link] {
        self.links.get_or_init(|| {
            let mut links = features::find_links(&self.norm.text, self.ascii_words);
            links.retain(|l| !features::sentence_break(l, self.norm, &self.input.text));
            links
        })
    }

    /// A model's score; the first one asked scores every model of the set in one pass.
    fn score(&self, model: u32) -> f32 {
        if let Some(s) = self.scores[model as usize].get() {
            return *s;
        }
        let all = crate::rules::model::score_all(
            &self.set.models,
            |(_, m)| m.as_ref(),
            &self.norm.text,
            &self.input.text,
        );
        for (cell, s) in self.scores.iter().zip(all) {
            let _ = cell.set(s);
        }
        *self.scores[model as usize]
            .get()
            .expect("every model was scored")
    }

    fn sites(&self) -> &[crate::rules::sites::SiteSpan] {
        self.sites.get_or_init(|| {
            let handles: Vec<(usize, usize)> = self.handles().collect();
            crate::rules::sites::site_names(self.norm, &self.input.text, &handles)
        })
    }

    fn handles(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let text = self.norm.text.as_str();
        self.mentions
            .get_or_init(|| features::mentions(text))
            .iter()
            .chain(
                self.hashtags
                    .get_or_init(|| features::hashtags(text))
                    .iter(),
            )
            .copied()
    }
}

fn list_has(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == value)
}

/// Evaluates a condition; on success pushes the evidence of what held.
pub(super) fn eval(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    match cond {
        Cond::All(cs) => {
            let mark = ev.len();
            for c in cs {
                if !eval(c, ctx, ev) {
                    ev.truncate(mark);
                    return false;
                }
            }
            true
        }
        Cond::Any(cs) => cs.iter().any(|c| eval(c, ctx, ev)),
        Cond::Not(c) => !eval(c, ctx, &mut Vec::new()),
        c @ (Cond::Ac(_)
        | Cond::Regex(_)
        | Cond::SpacedRegex(_)
        | Cond::StartsWith(_)
        | Cond::EndsWith(_)
        | Cond::Exact(_)
        | Cond::Links(_)
        | Cond::LinkDomains(_)
        | Cond::Contact(_)
        | Cond::SiteName(_)) => text_condition(c, ctx, ev),
        c @ (Cond::MinMentions(_)
        | Cond::MaxMentions(_)
        | Cond::MinHashtags(_)
        | Cond::MaxHashtags(_)
        | Cond::MinLength(_)
        | Cond::MaxLength(_)
        | Cond::MinEmojiRatio(_)
        | Cond::MinCapsRatio(_)
        | Cond::HasConfusables(_)
        | Cond::Language(_)) => shape_condition(c, ctx, ev),
        c @ (Cond::Author(_)
        | Cond::AuthorRegex(_)
        | Cond::Account(_)
        | Cond::MediaId(_)
        | Cond::MediaType(_)
        | Cond::IsReply(_)
        | Cond::State(_)
        | Cond::Model { .. }) => context_condition(c, ctx, ev),
        c @ (Cond::HandlesExcept(_) | Cond::Impersonates(_) | Cond::HandleWords(_)) => {
            handles_condition(c, ctx, ev)
        }
    }
}

/// Conditions on the comment's text: words, patterns, links, contacts, site names.
fn text_condition(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    let text = ctx.norm.text.as_str();
    match cond {
        Cond::Ac(leaf) => match ctx.ac_hits[*leaf as usize] {
            Some((s, e)) => {
                ev.push(ctx.orig_evidence(
                    ctx.set.leaves[*leaf as usize].label,
                    s as usize,
                    e as usize,
                ));
                true
            }
            None => false,
        },
        Cond::Regex(ids) => {
            for &i in ids {
                if ctx.regex_hits[i as usize] {
                    let re = ctx.set.regexes[i as usize].pick(ctx.ascii_words);
                    if let Some(m) = re.and_then(|re| re.find(text)) {
                        ev.push(ctx.norm_evidence("regex", m.start(), m.end()));
                        return true;
                    }
                }
            }
            false
        }
        // The spaced view has the normalized text's characters less the separators, so the
        // ASCII form of a regex suffices on it wherever it does on the text.
        Cond::SpacedRegex(ids) => {
            let Some((spaced, map)) = ctx.norm.spaced() else {
                return false;
            };
            for &i in ids {
                let re = ctx.set.regexes[i as usize].pick(ctx.ascii_words);
                let found = re.and_then(|re| re.find(spaced));
                if let Some(m) = found.filter(|m| !m.is_empty()) {
                    let (s, e) = Normalized::spaced_span(map, m.start(), m.end());
                    ev.push(ctx.norm_evidence("regex", s, e));
                    return true;
                }
            }
            false
        }
        Cond::StartsWith(list) => match list.iter().find(|p| text.starts_with(p.as_str())) {
            Some(p) => {
                ev.push(ctx.norm_evidence("starts_with", 0, p.len()));
                true
            }
            None => false,
        },
        Cond::EndsWith(list) => match list.iter().find(|p| text.ends_with(p.as_str())) {
            Some(p) => {
                ev.push(ctx.norm_evidence("ends_with", text.len() - p.len(), text.len()));
                true
            }
            None => false,
        },
        Cond::Exact(list) => {
            let ok = list_has(list, text);
            if ok {
                ev.push(ctx.whole("exact"));
            }
            ok
        }
        Cond::Links(want) => {
            let links = ctx.links();
            if *want {
                if let Some(l) = links.first() {
                    ev.push(ctx.norm_evidence("links", l.start, l.end));
                    return true;
                }
                false
            } else {
                links.is_empty()
            }
        }
        Cond::LinkDomains(domains) => {
            for l in ctx.links() {
                if domains.iter().any(|d| features::host_matches(&l.host, d)) {
                    ev.push(ctx.norm_evidence("link_domains", l.start, l.end));
                    return true;
                }
            }
            false
        }
        Cond::Contact(kinds) => {
            for &k in kinds {
                if let Some((s, e)) = features::find_contact(text, k, ctx.ascii_words) {
                    ev.push(ctx.norm_evidence("contact", s, e));
                    return true;
                }
            }
            false
        }
        Cond::SiteName(want) => {
            let found = ctx
                .sites()
                .iter()
                .find(|n| *want != SiteName::Disguised || n.disguised);
            match (want, found) {
                (SiteName::None, found) => found.is_none(),
                (_, Some(n)) => {
                    ev.push(ctx.norm_evidence("site_name", n.start, n.end));
                    true
                }
                (_, None) => false,
            }
        }
        _ => unreachable!("eval sends only these conditions here"),
    }
}

/// Conditions on the comment's shape: counts, lengths, ratios, its language.
fn shape_condition(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    let text = ctx.norm.text.as_str();
    match cond {
        Cond::MinMentions(n) | Cond::MaxMentions(n) => {
            let m = ctx.mentions.get_or_init(|| features::mentions(text));
            let ok = if matches!(cond, Cond::MinMentions(_)) {
                m.len() >= *n
            } else {
                m.len() <= *n
            };
            if ok {
                if let Some(&(s, e)) = m.first() {
                    ev.push(ctx.norm_evidence("mentions", s, e));
                }
            }
            ok
        }
        Cond::MinHashtags(n) | Cond::MaxHashtags(n) => {
            let h = ctx.hashtags.get_or_init(|| features::hashtags(text));
            let ok = if matches!(cond, Cond::MinHashtags(_)) {
                h.len() >= *n
            } else {
                h.len() <= *n
            };
            if ok {
                if let Some(&(s, e)) = h.first() {
                    ev.push(ctx.norm_evidence("hashtags", s, e));
                }
            }
            ok
        }
        Cond::MinLength(n) => text.chars().count() >= *n,
        Cond::MaxLength(n) => text.chars().nth(*n).is_none(),
        Cond::MinEmojiRatio(r) => features::emoji_ratio(&ctx.input.text) >= *r,
        Cond::MinCapsRatio(r) => {
            let ok = features::caps_ratio(&ctx.input.text) >= *r;
            if ok {
                ev.push(ctx.whole("min_caps_ratio"));
            }
            ok
        }
        Cond::HasConfusables(want) => normalize::has_confusables(&ctx.input.text) == *want,
        Cond::Language(langs) => {
            let lang = ctx
                .language
                .get_or_init(|| features::language(&ctx.input.text));
            lang.is_some_and(|l| langs.iter().any(|w| features::language_is(l, w)))
        }
        _ => unreachable!("eval sends only these conditions here"),
    }
}

/// Conditions on who wrote the comment, where, and what the models and the recent past say.
fn context_condition(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    let text = ctx.norm.text.as_str();
    match cond {
        Cond::Author(list) => {
            let ok = list_has(list, ctx.author());
            if ok {
                // No span in the text: the author is not part of it.
                ev.push(Evidence {
                    condition: format!("author @{}", ctx.author()),
                    matched: String::new(),
                    start: 0,
                    end: 0,
                    score: None,
                    threshold: None,
                });
            }
            ok
        }
        Cond::AuthorRegex(re) => re.is_match(ctx.author()),
        Cond::Account(list) => ctx
            .input
            .account_id
            .as_deref()
            .is_some_and(|a| list_has(list, a)),
        Cond::MediaId(list) => ctx
            .input
            .media_id
            .as_deref()
            .is_some_and(|a| list_has(list, a)),
        Cond::MediaType(list) => ctx
            .input
            .media_product_type
            .as_deref()
            .is_some_and(|t| list.iter().any(|x| x.eq_ignore_ascii_case(t))),
        Cond::IsReply(want) => {
            ctx.input
                .parent_id
                .as_deref()
                .is_some_and(|p| !p.is_empty())
                == *want
        }
        Cond::State(s) => {
            if ctx.author().is_empty() && !matches!(s, Stateful::Wave { .. }) {
                return false;
            }
            let (ok, what) = match *s {
                Stateful::Flood { count, within } => (
                    ctx.state
                        .author_comments_since(ctx.author(), ctx.now - within)
                        >= count,
                    "flood",
                ),
                Stateful::Wave { authors, within } => {
                    let key = ctx.text_key.get_or_init(|| normalize::text_key(text));
                    (
                        ctx.state.distinct_authors_since(key, ctx.now - within) >= authors,
                        "wave",
                    )
                }
                Stateful::RepeatOffender { count, within } => (
                    ctx.state.enforced_since(ctx.author(), ctx.now - within) >= count,
                    "repeat_offender",
                ),
            };
            if ok {
                ev.push(ctx.whole(what));
            }
            ok
        }
        Cond::Model {
            model,
            above,
            below,
        } => {
            let s = ctx.score(*model);
            let ok = above.is_none_or(|a| s > a) && below.is_none_or(|b| s < b);
            if ok {
                let threshold = match (above, below) {
                    (Some(a), Some(b)) => format!("above {a:.3} and below {b:.3}"),
                    (Some(a), None) => format!("above {a:.3}"),
                    (None, Some(b)) => format!("below {b:.3}"),
                    (None, None) => String::new(),
                };
                ev.push(Evidence {
                    condition: format!("model {}", ctx.set.models[*model as usize].0),
                    matched: String::new(),
                    start: 0,
                    end: 0,
                    score: Some(s),
                    threshold: (!threshold.is_empty()).then_some(threshold),
                });
            }
            ok
        }
        _ => unreachable!("eval sends only these conditions here"),
    }
}

/// Conditions on the handles the comment names and on its author's.
fn handles_condition(cond: &Cond, ctx: &Ctx<'_>, ev: &mut Vec<Evidence>) -> bool {
    match cond {
        Cond::HandlesExcept(known) => {
            let text = ctx.norm.text.as_str();
            for (s, e) in ctx.handles() {
                if !list_has(known, &text[s + 1..e]) {
                    ev.push(ctx.norm_evidence("handles_except", s, e));
                    return true;
                }
            }
            false
        }
        Cond::Impersonates(names) => {
            let own = ctx
                .input
                .account_username
                .as_deref()
                .map(|u| normalize::normalize(u.trim().trim_start_matches('@')))
                .filter(|u| !u.is_empty());
            let names: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .chain(own.as_deref())
                .collect();
            if names.is_empty() {
                return false;
            }
            let is_own = |h: &str| names.contains(&h);
            let author = ctx.input.username.as_deref().map(|_| ctx.author());
            if let Some(a) = author.filter(|a| !is_own(a)) {
                if names.iter().any(|n| imitation::imitates(a, n)) {
                    ev.push(Evidence {
                        condition: "impersonates (author)".to_string(),
                        matched: a.to_string(),
                        start: 0,
                        end: 0,
                        score: None,
                        threshold: None,
                    });
                    return true;
                }
            }
            let text = ctx.norm.text.as_str();
            let mentions = ctx.mentions.get_or_init(|| features::mentions(text));
            for &(s, e) in mentions {
                let h = &text[s + 1..e];
                if !is_own(h) && names.iter().any(|n| imitation::imitates(h, n)) {
                    ev.push(ctx.norm_evidence("impersonates", s, e));
                    return true;
                }
            }
            false
        }
        Cond::HandleWords(ac) => {
            let text = ctx.norm.text.as_str();
            for (s, e) in ctx.handles() {
                if ac.is_match(&text[s + 1..e]) {
                    ev.push(ctx.norm_evidence("handle_words", s, e));
                    return true;
                }
            }
            false
        }
        _ => unreachable!("eval sends only these conditions here"),
    }
}
