//! One comment through the compiled rules: the candidates the automaton and the regex
//! prefilters found, the rules they wake, each rule's conditions, and the decision.

use std::cell::OnceCell;

use super::eval::{eval, Ctx};
use super::*;

impl RuleSet {
    pub(super) fn run(
        &self,
        input: &Input,
        state: &dyn RuleState,
        forced_shadow: &dyn Fn(&str) -> bool,
        only: Option<usize>,
    ) -> Decision {
        let norm = Normalized::new(&input.text);
        let ascii_words = ascii_words::suffices(&norm.text);
        let (ac_hits, regex_hits) = self.candidates(&norm);
        let ctx = Ctx {
            input,
            norm: &norm,
            ac_hits: &ac_hits,
            regex_hits: &regex_hits,
            ascii_words,
            set: self,
            state,
            // Only stateful conditions read the clock.
            now: match input.time {
                Some(t) => t,
                None if self.stateful => now_secs(),
                None => 0,
            },
            author: OnceCell::new(),
            links: OnceCell::new(),
            mentions: OnceCell::new(),
            hashtags: OnceCell::new(),
            sites: OnceCell::new(),
            language: OnceCell::new(),
            text_key: OnceCell::new(),
            scores: self.models.iter().map(|_| OnceCell::new()).collect(),
        };
        let record = self.stateful && only.is_none();
        if record {
            let key = ctx.text_key.get_or_init(|| normalize::text_key(&norm.text));
            state.record_comment(ctx.author(), key, ctx.now);
        }

        let live_rules = self.live_rules(&ac_hits, &regex_hits);

        let mut matched = Vec::new();
        let mut exempted = Vec::new();
        let mut replies: Vec<Action> = Vec::new();
        let (mut hide, mut delete) = (false, false);
        let mut evidence = Vec::new();
        for idx in live_rules {
            let rule = &self.rules[idx];
            if only.is_some_and(|o| o != idx) || !rule.info.on.contains(&input.kind) {
                continue;
            }
            evidence.clear();
            if !eval(&rule.when, &ctx, &mut evidence) {
                continue;
            }
            if let Some(unless) = &rule.unless {
                let mut why = Vec::new();
                if eval(unless, &ctx, &mut why) {
                    exempted.push(RuleMatch {
                        rule: rule.info.id.clone(),
                        category: rule.info.category,
                        mode: rule.info.mode,
                        actions: Vec::new(),
                        evidence: why,
                    });
                    continue;
                }
            }
            let mode = if rule.info.mode == Mode::Shadow || forced_shadow(&rule.info.id) {
                Mode::Shadow
            } else {
                Mode::Enforce
            };
            let actions = actions_of(rule, input, &evidence);
            if mode == Mode::Enforce {
                for a in &actions {
                    match a {
                        Action::Hide => hide = true,
                        Action::Delete => delete = true,
                        Action::Reply { .. } => {
                            // One reply per comment: the highest-priority rule's.
                            if replies.is_empty() {
                                replies.push(a.clone());
                            }
                        }
                    }
                }
            }
            matched.push(RuleMatch {
                rule: rule.info.id.clone(),
                category: rule.info.category,
                mode,
                actions,
                evidence: std::mem::take(&mut evidence),
            });
            if mode == Mode::Enforce && rule.then.stop {
                break;
            }
        }
        let mut actions = replies;
        if delete {
            actions.push(Action::Delete);
        } else if hide {
            actions.push(Action::Hide);
        }
        if record && !actions.is_empty() {
            state.record_enforced(ctx.author(), ctx.now);
        }
        let scores = self.model_scores(&ctx);
        drop(ctx);
        Decision {
            normalized: norm.text,
            matched,
            actions,
            exempted,
            scores,
        }
    }

    /// The words/contains leaves that matched (with their first span) and the regexes that may
    /// match (`regex_hits[i]`: its rule runs it, when reached, to find out).
    #[allow(clippy::type_complexity)]
    fn candidates(&self, norm: &Normalized) -> (Vec<Option<(u32, u32)>>, Vec<bool>) {
        let mut seen = vec![0u8; self.regexes.len()];
        let ac_hits = self.ac_hits(norm, &mut seen);
        let regex_hits = if norm.text.is_empty() {
            vec![false; seen.len()]
        } else {
            seen.iter()
                .zip(&self.regex_gates)
                .map(|(seen, all)| seen == all)
                .collect()
        };
        (ac_hits, regex_hits)
    }

    /// The rules worth evaluating, in priority order: those without a trigger, and those
    /// whose trigger fired.
    fn live_rules(
        &self,
        ac_hits: &[Option<(u32, u32)>],
        regex_hits: &[bool],
    ) -> impl Iterator<Item = usize> {
        // The rules worth evaluating: those without a trigger, and those whose trigger fired.
        let mut live = self.untriggered.clone();
        let mut wake = |rules: &[u32]| {
            for &r in rules {
                live[r as usize / 64] |= 1 << (r % 64);
            }
        };
        for (leaf, hit) in ac_hits.iter().enumerate() {
            if hit.is_some() {
                wake(&self.leaf_rules[leaf]);
            }
        }
        for (i, &candidate) in regex_hits.iter().enumerate() {
            if candidate {
                wake(&self.regex_rules[i]);
            }
        }
        live.into_iter().enumerate().flat_map(|(w, bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    }

    /// Each model's score, for the models a condition asked.
    fn model_scores(&self, ctx: &Ctx<'_>) -> Vec<ModelScore> {
        ctx.scores
            .iter()
            .zip(&self.models)
            .filter_map(|(s, (name, _))| {
                s.get().map(|&score| ModelScore {
                    model: name.clone(),
                    score,
                })
            })
            .collect()
    }
}

/// What a rule that holds would do to this comment: its reply (one variant, placeholders
/// filled), then delete or hide (comments only: a mention is on someone else's media).
fn actions_of(rule: &Rule, input: &Input, evidence: &[Evidence]) -> Vec<Action> {
    let mut actions = Vec::new();
    if !rule.then.replies.is_empty() {
        let pick = variant_index(input, rule.then.replies.len());
        let first = evidence
            .first()
            .map_or("", |e: &Evidence| e.matched.as_str());
        let author = input.username.as_deref().unwrap_or("");
        let text = rule.then.replies[pick]
            .replace("{author}", author)
            .replace("{match}", first)
            .replace("{rule}", &rule.info.id);
        actions.push(Action::Reply { text });
    }
    // Hide and delete act on our own media only: a mention is someone else's.
    if input.kind == Kind::Comment {
        if rule.then.delete {
            actions.push(Action::Delete);
        } else if rule.then.hide {
            actions.push(Action::Hide);
        }
    }
    actions
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Picks a reply variant deterministically from the comment, so a re-run decides the same.
fn variant_index(input: &Input, n: usize) -> usize {
    let key = input.comment_id.as_deref().unwrap_or(&input.text);
    let h = normalize::text_key(key);
    (u64::from_str_radix(&h, 16).unwrap_or(0) % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of a CSV column of a corpus in the repository, the first `n` rows.
    fn corpus(path: &str, column: &str, n: usize) -> Vec<String> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let at = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap();
        r.records()
            .take(n)
            .map(|rec| rec.unwrap()[at].to_string())
            .collect()
    }

    /// A regex that its literal gates keep from running never had a match there: every regex
    /// of the shipped pack, run on real comments in six languages whether or not the gates
    /// made it a candidate, matches only where they did. A gate read wrongly off a pattern
    /// would silently switch its rule off for the comments it was written for.
    #[test]
    fn the_shipped_pack_s_regex_gates_never_hide_a_match() {
        let set = RuleSet::load(std::path::Path::new("rules")).expect("the shipped rules load");
        let mut texts = corpus("corpora/scamspot-dev/comments.csv", "msg", 800);
        texts.extend(corpus("corpora/judol-dev/comments.csv", "text", 300));
        texts.extend(corpus("corpora/abuse-told-br/comments.csv", "text", 200));
        texts.extend(corpus(
            "corpora/abuse-germeval2018/comments.csv",
            "text",
            200,
        ));
        texts.extend(corpus("corpora/abuse-hatexplain/comments.csv", "text", 200));
        let (mut matches, mut gated) = (0, 0);
        for text in &texts {
            let norm = Normalized::new(text);
            let ascii = ascii_words::suffices(&norm.text);
            let (_, candidates) = set.candidates(&norm);
            for (i, re) in set.regexes.iter().enumerate() {
                let Some(re) = re.pick(ascii) else { continue };
                if re.is_match(&norm.text) {
                    matches += 1;
                    assert!(
                        candidates[i],
                        "{} matches {text:?} but its gates ruled it out",
                        set.regexes[i].source()
                    );
                } else if !candidates[i] {
                    gated += 1;
                }
            }
        }
        // The check saw matches, and the gates did keep most regexes from running.
        assert!(matches > 500, "only {matches} matches");
        assert!(gated > texts.len() * set.regexes.len() / 2, "{gated}");
    }
}
