//! Throughput of the rule engine: a 10,000-phrase pack plus 100 regexes, on comments of
//! 100 to 300 bytes. Criterion reports comments per second as "elem/s".

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
    fn word(&mut self) -> String {
        const SYL: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "ba", "do", "fe", "gu", "hi",
            "jo", "pa", "qu", "ri", "st", "wo", "xa", "ye", "an", "or",
        ];
        let n = 2 + self.next() % 3;
        (0..n).map(|_| SYL[(self.next() % 24) as usize]).collect()
    }
}

fn build_pack(dir: &std::path::Path, rng: &mut Lcg) -> Vec<String> {
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    let mut phrases = Vec::new();
    while phrases.len() < 10_000 {
        let p = if rng.next() % 2 == 0 {
            rng.word()
        } else {
            format!("{} {}", rng.word(), rng.word())
        };
        phrases.push(p);
    }
    std::fs::write(dir.join("lists/big.txt"), phrases.join("\n")).unwrap();
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
    for i in 0..100 {
        rules.push_str(&format!(
            "[[rule]]\nid = \"regex-{i}\"\n[rule.when]\nregex = ['\\b{}\\s*\\d{{2,}}\\b']\n[rule.then]\nhide = true\n\n",
            rng.word()
        ));
    }
    std::fs::write(dir.join("pack.toml"), rules).unwrap();
    phrases
}

fn comments(rng: &mut Lcg, phrases: &[String]) -> Vec<Input> {
    (0..1000)
        .map(|i| {
            let target = 100 + (rng.next() % 201) as usize;
            let mut text = String::new();
            while text.len() < target {
                if !text.is_empty() {
                    text.push(' ');
                }
                if rng.next() % 40 == 0 {
                    text.push_str(&phrases[(rng.next() % phrases.len() as u64) as usize]);
                } else {
                    text.push_str(&rng.word());
                }
            }
            if i % 10 == 0 {
                text.push_str(" 🔥 Ｆｒｅｅ");
            }
            text.truncate(
                text.char_indices()
                    .map(|(i, _)| i)
                    .take_while(|&i| i <= 300)
                    .last()
                    .unwrap_or(0),
            );
            Input {
                text,
                username: Some("someone".into()),
                ..Input::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(42);
    let phrases = build_pack(dir.path(), &mut rng);
    let set = RuleSet::load(dir.path()).unwrap_or_else(|e| panic!("{:?}", &e[..e.len().min(3)]));
    let inputs = comments(&mut rng, &phrases);
    let hits = inputs
        .iter()
        .filter(|i| !set.evaluate(i, &NoState).actions.is_empty())
        .count();
    eprintln!(
        "pack: {} rules, {} phrases; {} of {} comments hit",
        set.len(),
        phrases.len(),
        hits,
        inputs.len()
    );

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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
