//! Learned models as a brand team uses them: `commentguard model train` on a labelled file,
//! a rule that names the model, `rules eval` / `rules check` through the real binary, and a
//! running rule set that keeps its last good model when the file on disk breaks.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use commentguard::rules::reload::RulesHandle;
use commentguard::rules::{Input, NoState};

const BIN: &str = env!("CARGO_BIN_EXE_commentguard");

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("COMMENTGUARD_RULES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run commentguard");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

/// `commentguard model train --data DATA --out OUT EXTRA...`.
fn train(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "model",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, None)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// 60 labelled comments: a spin-the-wheel casino campaign (label 1) that no shipped rule
/// knows, and ordinary customer comments (label 0).
fn training_file(dir: &Path) -> std::path::PathBuf {
    let spam = [
        "spin the lucky wheel at royalspin and win a bonus today",
        "royalspin gave me a free bonus spin, win big",
        "lucky wheel bonus waiting for you at royalspin",
        "win big tonight with a free spin on the royalspin wheel",
        "bonus spins for everyone, royalspin lucky wheel",
        "get your free spin bonus now, royalspin",
    ];
    let fine = [
        "love the colour of this dress",
        "when does the new collection arrive in stores",
        "my order arrived quickly, thank you",
        "is this available in a larger size",
        "the fabric feels great and the fit is perfect",
        "can you ship to canada",
    ];
    let path = dir.join("labels.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for round in 0..5 {
        for t in spam {
            writeln!(
                f,
                "{}",
                serde_json::json!({"text": format!("{t} {round}"), "label": 1})
            )
            .unwrap();
        }
        for t in fine {
            writeln!(
                f,
                "{}",
                serde_json::json!({"text": format!("{t} {round}"), "label": 0})
            )
            .unwrap();
        }
    }
    path
}

/// `rules eval` on a casino pitch (line 0) and a customer's question (line 1).
fn eval_two_comments(rules: &Path) -> Vec<serde_json::Value> {
    let input = [
        r#"{"comment_id": "a", "text": "free bonus spin at royalspin tonight"}"#,
        r#"{"comment_id": "b", "text": "does this dress come in blue?"}"#,
    ]
    .join("\n");
    let out = run(
        &["rules", "eval", "--rules", rules.to_str().unwrap()],
        Some(&input),
    );
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const RULE: &str = r#"
[[rule]]
id = "casino-model"
description = "the casino model is sure"
category = "spam"

[rule.when]
model = { name = "casino", above = 0.8 }

[rule.then]
hide = true
"#;

#[test]
fn a_trained_model_hides_what_its_file_taught_and_leaves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = training_file(dir.path());
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("10-casino.toml"), RULE).unwrap();
    let model = rules.join("models/casino.model");
    let out = train(&data, &model, &["--seed", "7"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cross-validation"), "{}", text(&out));

    let lines = eval_two_comments(&rules);
    assert_eq!(
        lines[0]["actions"],
        serde_json::json!(["hide"]),
        "{lines:?}"
    );
    assert_eq!(lines[0]["matched"][0]["category"], "spam");
    assert!(lines[0]["scores"]["casino"].as_f64().unwrap() > 0.8);
    assert_eq!(lines[1]["actions"], serde_json::json!([]), "{lines:?}");
    assert!(lines[1]["scores"]["casino"].as_f64().unwrap() < 0.5);

    // `rules explain` names the words that pushed the score.
    let out = run(
        &[
            "rules",
            "explain",
            "--rules",
            rules.to_str().unwrap(),
            "free bonus spin at royalspin",
        ],
        None,
    );
    let shown = text(&out);
    assert!(shown.contains("model casino:"), "{shown}");
    assert!(shown.contains("word \"royalspin\""), "{shown}");

    // The same data and seed give the same file, byte for byte (apart from the date line,
    // which is the same today).
    let again = dir.path().join("again.model");
    let out = train(&data, &again, &["--seed", "7"]);
    assert!(out.status.success());
    let (a, b) = (
        std::fs::read(&model).unwrap(),
        std::fs::read(&again).unwrap(),
    );
    let weights = |v: &[u8]| {
        let second = v
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .nth(1)
            .unwrap()
            .0;
        v[second..].to_vec()
    };
    assert_eq!(weights(&a), weights(&b));
}

#[test]
fn bad_training_rows_are_reported_by_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "comment,label\nfine text,0\n,1\nscam text,2\nmore text,1\n",
    )
    .unwrap();
    let out_path = dir.path().join("m.model");
    let out = train(&csv, &out_path, &["--text-column", "comment"]);
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("bad.csv:3: empty text"), "{shown}");
    assert!(
        shown.contains("bad.csv:4: label `2` is not 0 or 1"),
        "{shown}"
    );
    assert!(shown.contains("nothing was written"), "{shown}");
    assert!(!out_path.exists());

    // A spreadsheet's CSV (Windows line endings) gets the same line numbers.
    let crlf = dir.path().join("crlf.csv");
    std::fs::write(
        &crlf,
        "comment,label\r\nfine text,0\r\n,1\r\nscam text,2\r\n",
    )
    .unwrap();
    let out = train(&crlf, &out_path, &["--text-column", "comment"]);
    let shown = text(&out);
    assert!(shown.contains("crlf.csv:3: empty text"), "{shown}");
    assert!(shown.contains("crlf.csv:4: label `2`"), "{shown}");
    assert!(!out_path.exists());

    // A missing column names the columns the file has.
    let out = train(&csv, &out_path, &[]);
    let shown = text(&out);
    assert!(!out.status.success());
    assert!(
        shown.contains("bad.csv:1: no text column (looked for text; the file has comment, label)"),
        "{shown}"
    );
    assert!(!out_path.exists());
}

/// Trains the casino model into `rules/models/casino.model` and returns the rules folder.
fn trained_rules(dir: &Path) -> std::path::PathBuf {
    let data = training_file(dir);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("10-casino.toml"), RULE).unwrap();
    let out = train(&data, &rules.join("models/casino.model"), &["--folds", "0"]);
    assert!(out.status.success(), "{}", text(&out));
    rules
}

#[test]
fn a_broken_model_file_is_a_clear_error_and_the_running_rules_keep_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let rules = trained_rules(dir.path());
    let model = rules.join("models/casino.model");
    let good = std::fs::read(&model).unwrap();
    let handle = RulesHandle::load(&rules).unwrap();
    let spam = Input {
        text: "free bonus spin at royalspin tonight".into(),
        ..Input::default()
    };
    assert_eq!(handle.current().evaluate(&spam, &NoState).actions.len(), 1);

    let second_newline = good
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(1)
        .unwrap()
        .0;
    let mut corrupt = good.clone();
    let last = corrupt.len() - 3;
    corrupt[last] ^= 0x55;
    let wrong_version = [
        b"commentguard-model 9".as_slice(),
        &good[good.iter().position(|&b| b == b'\n').unwrap()..],
    ]
    .concat();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        (
            "corrupt",
            corrupt,
            "corrupt: the weights do not match the checksum",
        ),
        ("wrong version", wrong_version, "model format version 9"),
        ("header only", good[..second_newline].to_vec(), "truncated"),
    ];
    for (what, bytes, message) in cases {
        std::fs::write(&model, &bytes).unwrap();
        let out = run(
            &["rules", "check", "--rules", rules.to_str().unwrap()],
            None,
        );
        let shown = text(&out);
        assert!(!out.status.success(), "{what}: {shown}");
        assert!(
            shown.contains("10-casino.toml:8:") && shown.contains("model `casino`"),
            "{what}: {shown}"
        );
        assert!(shown.contains(message), "{what}: {shown}");
        // The running set keeps the model it had.
        assert!(handle.reload().is_err(), "{what}");
        assert_eq!(
            handle.current().evaluate(&spam, &NoState).actions.len(),
            1,
            "{what}"
        );
    }

    std::fs::remove_file(&model).unwrap();
    let out = run(
        &["rules", "check", "--rules", rules.to_str().unwrap()],
        None,
    );
    let shown = text(&out);
    assert!(shown.contains("no models in"), "{shown}");
    std::fs::write(rules.join("models/other.model"), &good).unwrap();
    let out = run(
        &["rules", "check", "--rules", rules.to_str().unwrap()],
        None,
    );
    let shown = text(&out);
    assert!(shown.contains("(models here: other)"), "{shown}");

    std::fs::write(&model, &good).unwrap();
    assert_eq!(handle.reload().unwrap(), 1);
}

/// `fpr = 0.01` takes the threshold from the model file's own cross-validation: the score
/// above which it flagged 1% of the label-0 rows it was tested on. A threshold the header
/// does not have, a model trained without cross-validation, or `fpr` beside `above` is an
/// error of `rules check` with the file and line.
#[test]
fn a_threshold_given_as_a_false_positive_rate_comes_from_the_models_cross_validation() {
    let dir = tempfile::tempdir().unwrap();
    let data = training_file(dir.path());
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let rule = |threshold: &str| RULE.replace("above = 0.8", threshold);
    std::fs::write(rules.join("10-casino.toml"), rule("fpr = 0.01")).unwrap();
    let model = rules.join("models/casino.model");
    let train = |folds: &str| {
        let out = train(&data, &model, &["--folds", folds]);
        assert!(out.status.success(), "{}", text(&out));
    };
    train("5");
    let file = std::fs::read(&model).unwrap();
    let header_line = file.split(|&b| b == b'\n').nth(1).unwrap();
    let header: serde_json::Value = serde_json::from_slice(header_line).unwrap();
    let threshold = header["cross_validation"]["at_fpr"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target_fpr"] == 0.01)
        .unwrap()["pooled_threshold"]
        .as_f64()
        .unwrap();

    let lines = eval_two_comments(&rules);
    for line in &lines {
        let hidden = line["actions"] == serde_json::json!(["hide"]);
        let score = line["scores"]["casino"].as_f64().unwrap();
        assert_eq!(hidden, score > threshold, "threshold {threshold}: {line}");
    }
    assert_eq!(
        lines[0]["actions"],
        serde_json::json!(["hide"]),
        "{lines:?}"
    );

    let check = |body: &str| {
        std::fs::write(rules.join("10-casino.toml"), body).unwrap();
        let out = run(
            &["rules", "check", "--rules", rules.to_str().unwrap()],
            None,
        );
        assert!(!out.status.success(), "{body} was accepted");
        text(&out)
    };
    let said = check(&rule("fpr = 0.007"));
    assert!(said.contains("10-casino.toml:8:"), "{said}");
    assert!(
        said.contains("thresholds for fpr = 0.005, 0.01, 0.02, 0.05 only, not 0.007"),
        "{said}"
    );
    let said = check(&rule("above = 0.8, fpr = 0.01"));
    assert!(said.contains("`above` or `fpr`, not both"), "{said}");
    train("0");
    let said = check(&rule("fpr = 0.01"));
    assert!(
        said.contains("model `casino`") && said.contains("--folds 0"),
        "{said}"
    );
}
