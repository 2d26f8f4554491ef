//! The shipped rule pack in `rules/`: it loads, its own tests pass, and it catches spam in
//! real comments it was not written from.

use std::path::Path;

use commentguard::rules::{Input, MemoryState, NoState, RuleSet};

fn pack() -> RuleSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    RuleSet::load(&dir).unwrap_or_else(|errors| {
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the shipped pack does not load:\n{}", shown.join("\n"))
    })
}

#[test]
fn shipped_pack_loads_and_all_its_examples_and_cases_pass() {
    let set = pack();
    let report = set.run_tests();
    let shown: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(report.failures.is_empty(), "{}", shown.join("\n"));
    assert!(report.passed >= 40 + set.len());
}

#[test]
fn shipped_pack_hides_and_never_deletes() {
    let set = pack();
    for text in [
        "buy followers",
        "fuck you",
        "whatsapp +15551234567",
        "bit.ly/x",
    ] {
        let d = set.evaluate(
            &Input {
                text: text.into(),
                ..Input::default()
            },
            &NoState,
        );
        assert!(!d.actions.is_empty(), "{text}");
        assert!(d.actions.iter().all(|a| a.name() != "delete"), "{text}");
    }
}

#[derive(Default)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Score {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn add(&mut self, o: &Score) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
    }
}

/// The UCI YouTube Spam Collection (CC BY 4.0): spam = any enforced action. The comments are
/// HTML-escaped in the corpus; they are unescaped first, as Instagram delivers plain text.
fn score(set: &RuleSet, file: &Path) -> Score {
    let mut s = Score::default();
    let mut reader = csv::Reader::from_path(file).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        let text = row[3]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("<br />", " ")
            .replace("<br/>", " ");
        let spam = &row[4] == "1";
        let input = Input {
            text,
            username: Some(row[1].to_string()),
            ..Input::default()
        };
        // The corpus labels spam, not abuse: the abuse rules are left out of the count.
        let flagged = hidden_as_spam(set, &input);
        match (spam, flagged) {
            (true, true) => s.tp += 1,
            (false, true) => s.fp += 1,
            (true, false) => s.fn_ += 1,
            (false, false) => s.tn += 1,
        }
    }
    s
}

/// Prints the per-video table written in docs/QUALITY.md
/// (`cargo test --test rules_pack -- --nocapture`). Videos 1-4 were read while writing the
/// rules; Shakira (05) was kept aside to check that they generalise.
#[test]
fn pack_is_precise_on_youtube_spam_and_generalises_to_the_held_out_video() {
    let set = pack();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/youtube-spam");
    assert!(corpus.exists(), "corpus not found at {}", corpus.display());
    let videos = [
        "Youtube01-Psy",
        "Youtube02-KatyPerry",
        "Youtube03-LMFAO",
        "Youtube04-Eminem",
        "Youtube05-Shakira",
    ];
    println!("| video | spam | ham | precision | recall |");
    println!("|---|---|---|---|---|");
    let mut dev = Score::default();
    let mut held_out = Score::default();
    for v in videos {
        let s = score(&set, &corpus.join(format!("{v}.csv")));
        let kept_aside = v.ends_with("Shakira");
        println!(
            "| {v}{} | {} | {} | {:.3} | {:.3} |",
            if kept_aside { " (held out)" } else { "" },
            s.tp + s.fn_,
            s.fp + s.tn,
            s.precision(),
            s.recall()
        );
        if kept_aside {
            held_out.add(&s);
        } else {
            dev.add(&s);
        }
    }
    println!(
        "| videos 1-4 | {} | {} | {:.3} | {:.3} |",
        dev.tp + dev.fn_,
        dev.fp + dev.tn,
        dev.precision(),
        dev.recall()
    );
    // Safe by default: a hidden genuine comment costs a brand more than a missed spam.
    assert!(dev.precision() >= 0.95, "precision {:.3}", dev.precision());
    assert!(
        held_out.precision() >= 0.9,
        "held-out precision {:.3}",
        held_out.precision()
    );
    assert!(dev.recall() >= 0.6, "recall {:.3}", dev.recall());
    assert!(
        held_out.recall() >= 0.5,
        "held-out recall {:.3}",
        held_out.recall()
    );
}

/// The shipped models (rules/models/scam.model, rules/models/judol.model) are what their
/// headers say: retraining with the recipe in the header, on the files it names (inside the
/// repository, each with its grouping), gives the same weights, and cross-validating that
/// recipe gives the figures the header reports.
#[test]
fn shipped_model_is_reproducible_and_its_cross_validated_figures_match_its_header() {
    reproduce("scam");
}

#[test]
fn shipped_gambling_model_is_reproducible_and_its_cross_validated_figures_match_its_header() {
    reproduce("judol");
}

#[test]
fn shipped_abuse_models_are_reproducible_and_their_cross_validated_figures_match_their_headers() {
    reproduce("abuse-pt");
    reproduce("abuse-de");
}

fn reproduce(name: &str) {
    use commentguard::rules::model::{train, Model};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model =
        Model::load(&root.join(format!("rules/models/{name}.model"))).expect("shipped model loads");
    let h = &model.header;
    let on = &h.trained_on;
    let files: Vec<_> = on
        .files
        .iter()
        .map(|f| (root.join(&f.path), f.grouping.as_str()))
        .collect();
    let mut ds = train::load(&files, &on.options).expect("training data in the repository");
    // The header names the files as the training command saw them (from the repository root).
    for (f, named) in ds.files.iter_mut().zip(&on.files) {
        f.path = named.path.clone();
    }
    assert_eq!(ds.examples.len(), on.rows);
    let xs: Vec<_> = ds
        .examples
        .iter()
        .map(|e| train::featurize(&e.text, &on.params))
        .collect();
    let rows: Vec<usize> = (0..ds.examples.len()).collect();
    let (weights, bias) = train::fit(&xs, &ds.examples, &rows, &on.params);
    let rebuilt = Model::new(weights, bias, h.labels.clone(), on.clone());
    assert_eq!(
        rebuilt.header.weights_sha256, h.weights_sha256,
        "retraining does not reproduce the shipped weights: run the training command in README.md"
    );
    let cv = train::cross_validate(&ds, &xs, 5, &on.params, &mut || {});
    assert_eq!(Some(&cv.figures), h.cross_validation.as_ref());
}

/// Every naughty string, through the whole shipped pack with its model, evaluates without a
/// panic and with evidence that points into the text.
#[test]
fn shipped_pack_with_its_model_takes_every_naughty_string() {
    let set = pack();
    assert!(!set.models().is_empty(), "the shipped pack uses its model");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/naughty-strings/blns.json");
    let strings: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(strings.len() > 500);
    for s in &strings {
        let d = set.evaluate(
            &Input {
                text: s.clone(),
                username: Some("someone".into()),
                ..Input::default()
            },
            &MemoryState::default(),
        );
        assert!(
            d.scores.iter().all(|m| (0.0..=1.0).contains(&m.score)),
            "{s:?}"
        );
        for m in &d.matched {
            for e in &m.evidence {
                assert_eq!(s.get(e.start..e.end), Some(e.matched.as_str()), "{s:?}");
            }
        }
    }
}

/// What a brand team fears most: genuine customers hidden. Complaints, questions and a fair
/// comment with one swear word stay visible under the shipped pack.
#[test]
fn shipped_pack_leaves_complaints_questions_and_swearing_customers_alone() {
    let set = pack();
    for text in [
        "coinbase blocked my account for no reason, I want my money back",
        "my account is suspended since 2 months without any reason",
        "how much should I budget for groceries each month?",
        "this fucking dress is amazing",
        "I lost my wallet at your store yesterday, did anyone find it?",
        "thank you @coinbase for the quick support",
        "is @anna_trades legit?",
    ] {
        let d = set.evaluate(
            &Input {
                text: text.into(),
                ..Input::default()
            },
            &NoState,
        );
        assert!(d.actions.is_empty(), "{text}: {:?}", d.matched);
    }
}

/// Rows of a corpus CSV in the repository: (text, label) from the named columns.
fn rows(file: &str, text: &str, label: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (t, l) = (col(text), col(label));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[t].to_string(), r[l].to_string())
        })
        .collect()
}

/// Hidden by a scam, spam or promotion rule (the abuse rules are another question).
fn hidden_as_spam(set: &RuleSet, input: &Input) -> bool {
    // The abuse rules (issue 29's measure) run as shadow rules here.
    let abuse: Vec<String> = set
        .rules()
        .iter()
        .filter(|r| r.category.is_abuse())
        .map(|r| r.id.clone())
        .collect();
    let abuse = |id: &str| abuse.iter().any(|a| a == id);
    !set.evaluate_with(input, &MemoryState::default(), &abuse)
        .actions
        .is_empty()
}

fn comment(text: &str) -> Input {
    Input {
        text: text.to_string(),
        ..Input::default()
    }
}

/// Indonesian gambling promotions (corpora/judol-dev, MIT): the pack hides most of them and
/// almost none of the ordinary Indonesian comments beside them. In-sample for the gambling
/// model (it was trained on this file) and for the rules (written while reading it): the
/// grouped cross-validated figures in docs/QUALITY.md are the honest ones; this test guards
/// against a change that breaks the pack on this language.
#[test]
fn pack_hides_indonesian_gambling_promotions_and_leaves_ordinary_indonesian_alone() {
    let set = pack();
    let (mut pos, mut caught, mut neg, mut hidden) = (0, 0, 0, 0);
    for (text, label) in rows("corpora/judol-dev/comments.csv", "text", "label") {
        let h = hidden_as_spam(&set, &comment(&text));
        if label == "1" {
            pos += 1;
            caught += h as usize;
        } else {
            neg += 1;
            hidden += h as usize;
        }
    }
    let recall = caught as f64 / pos as f64;
    let fpr = hidden as f64 / neg as f64;
    println!("judol-dev: recall {recall:.3}, ordinary hidden {fpr:.4} ({hidden} of {neg})");
    assert!(recall >= 0.85, "recall {recall:.3}");
    assert!(
        fpr <= 0.005,
        "ordinary Indonesian comments hidden: {fpr:.4}"
    );
}

/// Real people writing ordinarily in Portuguese (ToLD-Br, no annotator flagged them), German
/// (GermEval 2018 OTHER) and English (HateXplain normal, ConvAbuse not abusive), many tagging
/// `@user`: the scam and spam rules hide at most 0.5% of each. Tweets with a link are left
/// out: Twitter adds a t.co link to every tweet with a picture, which an Instagram comment
/// never has (the link rules are measured on them separately in docs/QUALITY.md).
#[test]
fn scam_and_spam_rules_leave_ordinary_comments_in_three_languages_alone() {
    let set = pack();
    let sets = [
        ("corpora/abuse-told-br/comments.csv", "max_votes", "0"),
        ("corpora/abuse-germeval2018/comments.csv", "coarse", "OTHER"),
        ("corpora/abuse-hatexplain/comments.csv", "label", "0"),
        ("corpora/abuse-convabuse/comments.csv", "label", "0"),
    ];
    for (file, column, ordinary) in sets {
        let (mut n, mut hidden) = (0, 0);
        let mut shown = Vec::new();
        for (text, label) in rows(file, "text", column) {
            if label != ordinary || text.contains("http") {
                continue;
            }
            n += 1;
            if hidden_as_spam(&set, &comment(&text)) {
                hidden += 1;
                shown.push(text);
            }
        }
        let share = hidden as f64 / n as f64;
        println!("{file}: {hidden} of {n} hidden ({share:.4})");
        assert!(n > 3000, "{file}: only {n} ordinary rows");
        assert!(
            share <= 0.005,
            "{file}: {share:.4} of ordinary comments hidden, e.g. {:?}",
            &shown[..shown.len().min(5)]
        );
    }
}

/// A gambling site's name is caught in every disguise as in its plain form.
#[test]
fn disguised_gambling_names_are_caught_as_their_plain_form() {
    let set = pack();
    for text in [
        "mantap main di berkah99 gacor terus",
        "mantap main di 𝐁𝐄𝐑𝐊𝐀𝐇𝟗𝟗 gacor terus",
        "mantap main di ＢＥＲＫＡＨ９９ gacor terus",
        "mantap main di B E R K A H 9 9 gacor terus",
        "mantap main di ♥B♥E♥R♥K♥A♥H♥9♥9♥ gacor terus",
        "mantap main di b3rk4h99 gacor terus",
        "mantap main di P͟U͟L͟A͟U͟W͟I͟N gacor terus",
    ] {
        assert!(hidden_as_spam(&set, &comment(text)), "not hidden: {text}");
    }
    for text in [
        "mantap videonya bang, makan di warung terus",
        "orang2 pada main bola di lapangan",
    ] {
        assert!(!hidden_as_spam(&set, &comment(text)), "hidden: {text}");
    }
}

/// Hidden by an abuse rule (the scam, spam and promotion rules run as shadow rules here).
fn hidden_as_abuse(set: &RuleSet, input: &Input) -> bool {
    let others: Vec<String> = set
        .rules()
        .iter()
        .filter(|r| !r.category.is_abuse())
        .map(|r| r.id.clone())
        .collect();
    let other = |id: &str| others.iter().any(|a| a == id);
    !set.evaluate_with(input, &MemoryState::default(), &other)
        .actions
        .is_empty()
}

/// Portuguese and German abuse (the training data of models/abuse-pt.model and
/// models/abuse-de.model, built by bench/abuse_data.py from ToLD-Br and GermEval 2018): the
/// pack hides a good part of it and at most 1% of the ordinary tweets beside it, and almost
/// none of the ordinary comments of corpora the models never saw (Indonesian, YouTube,
/// Instagram). In-sample for the models: the cross-validated figures in docs/QUALITY.md are
/// the honest ones (0.46 and 0.15); this guards against a change that breaks them.
#[test]
fn abuse_models_hide_portuguese_and_german_insults_and_leave_ordinary_comments_alone() {
    let set = pack();
    for (file, min_recall) in [
        ("corpora/abuse-train/told-br.jsonl", 0.45),
        ("corpora/abuse-train/germeval2018.jsonl", 0.35),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let (mut pos, mut caught, mut neg, mut hidden) = (0, 0, 0, 0);
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let h = hidden_as_abuse(&set, &comment(row["text"].as_str().unwrap()));
            if row["label"] == 1 {
                pos += 1;
                caught += h as usize;
            } else {
                neg += 1;
                hidden += h as usize;
            }
        }
        let (recall, fpr) = (caught as f64 / pos as f64, hidden as f64 / neg as f64);
        println!("{file}: recall {recall:.3}, ordinary hidden {fpr:.4}");
        assert!(recall >= min_recall, "{file}: recall {recall:.3}");
        assert!(fpr <= 0.01, "{file}: ordinary hidden {fpr:.4}");
    }
    let (mut n, mut hidden) = (0, 0);
    for (text, label) in rows("corpora/judol-dev/comments.csv", "text", "label") {
        if label == "0" {
            n += 1;
            hidden += hidden_as_abuse(&set, &comment(&text)) as usize;
        }
    }
    let share = hidden as f64 / n as f64;
    println!("judol-dev ordinary: {hidden} of {n} hidden as abuse");
    assert!(
        share <= 0.005,
        "ordinary Indonesian comments hidden as abuse: {share:.4}"
    );
}
