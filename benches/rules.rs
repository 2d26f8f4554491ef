//! Throughput of the rule engine: a 10,000-phrase pack plus 100 regexes, on comments of
//! 100 to 300 bytes. Criterion reports comments per second as "elem/s".
//!
//! The pack's phrases and the comments' ordinary words are made from the same syllables (so
//! the automaton walks deep shared prefixes, as with real text) but from disjoint
//! vocabularies: a comment matches only where a phrase or a regex hit was planted, and the
//! benchmark checks that before measuring.

use std::collections::HashSet;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use commentguard::rules::{Input, NoState, RuleSet};

/// A small deterministic generator, so every run measures the same pack and comments.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// A pseudo-word of `min` to 4 syllables.
    fn word(&mut self, min: u64) -> String {
        const SYL: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "ba", "do", "fe", "gu", "hi",
            "jo", "pa", "qu", "ri", "st", "wo", "xa", "ye", "an", "or",
        ];
        let n = min + self.next() % (5 - min);
        (0..n).map(|_| SYL[(self.next() % 24) as usize]).collect()
    }
}

/// Share of comments with a planted phrase, and with a planted regex hit.
const PHRASE_EVERY: u64 = 10;
const REGEX_EVERY: u64 = 50;

struct Pack {
    phrases: Vec<String>,
    /// Every word used in a phrase or a regex: ordinary comment words avoid them.
    vocabulary: HashSet<String>,
    regex_words: Vec<String>,
}

fn build_pack(dir: &std::path::Path, rng: &mut Lcg) -> Pack {
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    let mut vocabulary = HashSet::new();
    let mut seen = HashSet::new();
    let mut phrases = Vec::new();
    // Distinct phrases of one or two words of 3 or 4 syllables (a space of ~350,000 words).
    while phrases.len() < 10_000 {
        let p = if rng.next().is_multiple_of(2) {
            rng.word(3)
        } else {
            format!("{} {}", rng.word(3), rng.word(3))
        };
        if seen.insert(p.clone()) {
            vocabulary.extend(p.split(' ').map(str::to_string));
            phrases.push(p);
        }
    }
    let mut rules = String::new();
    // 10 rules share the 10,000 phrases; 100 regex rules.
    for i in 0..10 {
        let list = format!("part{i}");
        std::fs::write(
            dir.join(format!("lists/{list}.txt")),
            phrases[i * 1000..(i + 1) * 1000].join("\n"),
        )
        .unwrap();
        rules.push_str(&format!("[[rule]]\nid = \"words-{i}\"\npriority = {i}\n[rule.when]\nwords = [\"list:{list}\"]\n[rule.then]\nhide = true\n\n"));
    }
    let mut regex_words = Vec::new();
    for i in 0..100 {
        let w = rng.word(3);
        vocabulary.insert(w.clone());
        rules.push_str(&format!(
            "[[rule]]\nid = \"regex-{i}\"\n[rule.when]\nregex = ['\\b{w}\\s*\\d{{2,}}\\b']\n[rule.then]\nhide = true\n\n"
        ));
        regex_words.push(w);
    }
    std::fs::write(dir.join("pack.toml"), rules).unwrap();
    Pack {
        phrases,
        vocabulary,
        regex_words,
    }
}

/// 1,000 comments of 100 to 300 bytes; one in ten ends with emoji and fullwidth letters.
/// Returns them with, for each, whether a phrase or regex hit was planted in it.
fn comments(rng: &mut Lcg, pack: &Pack) -> Vec<(Input, bool)> {
    (0..1000)
        .map(|i| {
            let target = 100 + (rng.next() % 201) as usize;
            let mut planted = Vec::new();
            if rng.next().is_multiple_of(PHRASE_EVERY) {
                planted
                    .push(pack.phrases[(rng.next() % pack.phrases.len() as u64) as usize].clone());
            }
            if rng.next().is_multiple_of(REGEX_EVERY) {
                let w = &pack.regex_words[(rng.next() % 100) as usize];
                planted.push(format!("{w} {}", 10 + rng.next() % 990));
            }
            let hit = !planted.is_empty();
            let suffix = if i % 10 == 0 {
                " 🔥 Ｆｒｅｅ"
            } else {
                ""
            };
            let budget = target - suffix.len() - planted.iter().map(|p| p.len() + 1).sum::<usize>();
            let mut words: Vec<String> = Vec::new();
            let mut len = 0;
            loop {
                let w = rng.word(2);
                if pack.vocabulary.contains(&w) {
                    continue;
                }
                if len + w.len() + 1 > budget {
                    break;
                }
                len += w.len() + 1;
                words.push(w);
            }
            for p in planted {
                let at = (rng.next() as usize) % (words.len() + 1);
                words.insert(at, p);
            }
            let mut text = words.join(" ");
            text.push_str(suffix);
            assert!(text.len() <= 300);
            (
                Input {
                    text,
                    username: Some("someone".into()),
                    ..Input::default()
                },
                hit,
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(42);
    let pack = build_pack(dir.path(), &mut rng);
    let set = RuleSet::load(dir.path()).unwrap_or_else(|e| panic!("{:?}", &e[..e.len().min(3)]));
    let cases = comments(&mut rng, &pack);
    let mut hits = 0;
    for (input, planted) in &cases {
        let hit = !set.evaluate(input, &NoState).actions.is_empty();
        assert_eq!(
            hit, *planted,
            "hit {hit}, planted {planted}: {:?}",
            input.text
        );
        hits += hit as usize;
    }
    let bytes: usize = cases.iter().map(|(i, _)| i.text.len()).sum();
    eprintln!(
        "pack: {} rules, {} phrases; {} of {} comments hit, as planted; {} bytes a comment on average",
        set.len(),
        pack.phrases.len(),
        hits,
        cases.len(),
        bytes / cases.len()
    );
    if std::env::var("RULES_BENCH_LOAD").is_ok() {
        let t = std::time::Instant::now();
        RuleSet::load(dir.path()).unwrap();
        eprintln!("load: {:?}", t.elapsed());
    }
    let inputs: Vec<Input> = cases.into_iter().map(|(i, _)| i).collect();

    // The same pack and comments with the shipped scam model (rules/models/scam.model) in one
    // more rule: the model scores every comment. Its threshold is high so the decisions stay
    // those of the pack; the cost measured is the model's features and sum. Loaded only where
    // it is measured (the 10,000-phrase pack loads again with it).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let with_model = || {
        std::fs::create_dir_all(dir.path().join("models")).unwrap();
        std::fs::copy(
            root.join("rules/models/scam.model"),
            dir.path().join("models/scam.model"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("zz-model.toml"),
            "[[rule]]\nid = \"scam-model\"\n[rule.when]\nmodel = { name = \"scam\", above = 0.9999 }\n[rule.then]\nhide = true\n",
        )
        .unwrap();
        let with_model =
            RuleSet::load(dir.path()).unwrap_or_else(|e| panic!("{:?}", &e[..e.len().min(3)]));
        let scored = inputs
            .iter()
            .filter(|i| !with_model.evaluate(i, &NoState).scores.is_empty())
            .count();
        assert_eq!(scored, inputs.len(), "the model scores every comment");
        with_model
    };

    // `RULES_BENCH_PASSES=N` evaluates the comments N times and stops, without criterion: for
    // instruction counts under `valgrind --tool=callgrind --toggle-collect='*evaluate*'`. With
    // `RULES_BENCH_MODEL=1`, the pack with the model.
    if let Some(passes) = std::env::var("RULES_BENCH_PASSES")
        .ok()
        .and_then(|p| p.parse::<usize>().ok())
    {
        let loaded;
        let set = match std::env::var_os("RULES_BENCH_MODEL") {
            Some(_) => {
                loaded = with_model();
                &loaded
            }
            None => &set,
        };
        for _ in 0..passes {
            for input in &inputs {
                black_box(set.evaluate(black_box(input), &NoState));
            }
        }
        return;
    }

    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.sample_size(20);
    g.bench_function("evaluate_10k_phrases_100_regexes", |b| {
        b.iter(|| {
            for input in &inputs {
                black_box(set.evaluate(black_box(input), &NoState));
            }
        })
    });

    let with_model = with_model();
    g.bench_function("evaluate_10k_phrases_100_regexes_with_model", |b| {
        b.iter(|| {
            for input in &inputs {
                black_box(with_model.evaluate(black_box(input), &NoState));
            }
        })
    });

    // The model alone, on the normalized texts: what a model condition costs by itself.
    let model = commentguard::rules::Model::load(&dir.path().join("models/scam.model")).unwrap();
    let normalized: Vec<(String, &str)> = inputs
        .iter()
        .map(|i| {
            (
                commentguard::rules::normalize::Normalized::new(&i.text).text,
                i.text.as_str(),
            )
        })
        .collect();
    g.bench_function("model_score_only", |b| {
        b.iter(|| {
            for (n, o) in &normalized {
                black_box(model.score(black_box(n), o));
            }
        })
    });

    // The shipped pack, its model included, on the real Instagram comments of scamspot-dev
    // (RULES_BENCH_PACK=DIR measures another rules folder on the same comments).
    let pack = std::env::var_os("RULES_BENCH_PACK")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("rules"));
    let shipped = RuleSet::load(&pack).expect("the pack loads");
    let mut real: Vec<Input> = Vec::new();
    let mut reader =
        csv::Reader::from_path(root.join("corpora/scamspot-dev/comments.csv")).unwrap();
    for row in reader.records() {
        real.push(Input {
            text: row.unwrap()[2].to_string(),
            username: Some("someone".into()),
            ..Input::default()
        });
    }
    g.throughput(Throughput::Elements(real.len() as u64));
    g.bench_function("shipped_pack_on_scamspot_comments", |b| {
        b.iter(|| {
            for input in &real {
                black_box(shipped.evaluate(black_box(input), &NoState));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
