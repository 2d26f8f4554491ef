//! `commentguard model train --from-log`: a brand's labels teach the model. On a log with 40
//! labelled comments (customers asking for help with a blocked account marked Not spam, a new
//! scam wording marked Spam), the retrained model leaves the first kind alone and catches the
//! second, where the shipped model did not; a model worse on the brand's labels is refused
//! without --force.

use std::path::Path;
use std::process::Command;

use commentguard::rules::model::Model;
use commentguard::rules::normalize::Normalized;
use commentguard::store::{now_ms, Label, LabelStore, NewLabel, SqlStore};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn customer(n: usize) -> String {
    let asks = [
        "my account has been blocked for three days, please help me recover it",
        "why is my wallet frozen? I need my money back for rent",
        "support never answers, my funds are stuck, please help",
        "I was locked out of my account after the update, how do I get access back",
        "my withdrawal is pending for a week, who can help me",
    ];
    format!("{} (order {})", asks[n % asks.len()], 1000 + n)
}

fn scam(n: usize) -> String {
    let pitches = [
        "cheap followers bundle, dm for the price list",
        "grow to 10k followers this week, message me for the bundle",
        "real followers and likes at the lowest price, text me",
        "boost your page: followers bundle on sale, dm now",
        "buy followers safely, bundle prices in my dm",
    ];
    format!("{} #{}", pitches[n % pitches.len()], n)
}

fn score(model: &Model, text: &str) -> f32 {
    model.score(&Normalized::new(text).text, text)
}

fn train_from_log(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .current_dir(ROOT)
        .args(["model", "train", "--from-log", "--folds", "0"])
        .args(args)
        .env_clear()
        .env("COMMENTGUARD_DATABASE_URL", db)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brands_labels_teach_the_model_and_a_worse_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("cg.db").display());
    let store = SqlStore::connect(&db).await.unwrap();
    for n in 0..40 {
        let (text, label) = if n % 2 == 0 {
            (customer(n), Label::NotSpam)
        } else {
            (scam(n), Label::Spam)
        };
        store
            .set_label(&NewLabel {
                comment_id: format!("c{n}"),
                kind: "comment".into(),
                account_id: "17841400000000001".into(),
                person: "dana".into(),
                label,
                source: "review".into(),
                text: Some(text),
                author: Some(format!("user{n}")),
                at: now_ms(),
            })
            .await
            .unwrap();
    }
    let shipped = Path::new(ROOT).join("rules/models/scam.model");
    let current = Model::load(&shipped).unwrap();
    let out_path = dir.path().join("new.model");
    let out = train_from_log(
        &db,
        &[
            "--current",
            shipped.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("40 labels from the moderation log (20 Spam, 20 Not spam)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("new (cross-validated)") && stdout.contains("current ("),
        "{stdout}"
    );
    let new = Model::load(&out_path).unwrap();
    // Texts of both kinds the labels did not contain.
    for n in 100..110 {
        let (c, s) = (customer(n), scam(n));
        eprintln!(
            "customer {:.3} -> {:.3}, scam {:.3} -> {:.3}",
            score(&current, &c),
            score(&new, &c),
            score(&current, &s),
            score(&new, &s)
        );
        assert!(score(&new, &c) < 0.5, "{c}: {}", score(&new, &c));
        assert!(score(&new, &s) > 0.5, "{s}: {}", score(&new, &s));
        assert!(score(&new, &s) > score(&current, &s), "{s}");
    }
    assert!(
        new.header
            .trained_on
            .files
            .iter()
            .any(|f| f.path.starts_with("moderation log labels") && f.rows == 40),
        "the header says what the model learnt from"
    );

    // A model that knows these labels well (trained on them alone) is the current one: the
    // retrained model, with the brand's labels weighing next to nothing, is worse on them.
    let export = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["labels", "export"])
        .env_clear()
        .env("COMMENTGUARD_DATABASE_URL", &db)
        .output()
        .unwrap();
    let jsonl = dir.path().join("labels.jsonl");
    std::fs::write(&jsonl, &export.stdout).unwrap();
    let fitted = dir.path().join("fitted.model");
    let trained = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["model", "train", "--folds", "0", "--data"])
        .arg(&jsonl)
        .arg("--out")
        .arg(&fitted)
        .output()
        .unwrap();
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let worse = dir.path().join("worse.model");
    let args = [
        "--current",
        fitted.to_str().unwrap(),
        "--data",
        "corpora/scamspot-dev/comments.csv",
        "--text-column",
        "msg",
        "--label-column",
        "scam",
        "--label-weight",
        "0.001",
        "--out",
        worse.to_str().unwrap(),
    ];
    let out = train_from_log(&db, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("worse on the brand's labels"), "{stdout}");
    assert!(!worse.exists(), "a refused model was written");
    let mut forced: Vec<&str> = args.to_vec();
    forced.push("--force");
    let out = train_from_log(&db, &forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(worse.exists());
}
