//! `model evaluate --rules`: the rules folder, the model and both together, cross-validated
//! on the held-out folds with the model retrained per fold.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::cli::progress;
use super::train::{self, Dataset, Params};
use super::Model;
use crate::rules::{Action, Input, Mode, NoState, RuleSet};

/// Whether a decision hides (or deletes) the comment.
fn hides(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Hide | Action::Delete))
}

/// The rules folder alone (its rules that use a model forced to shadow), the model alone (at
/// thresholds chosen on the training folds) and the whole folder with the model retrained per
/// fold, all on the held-out folds. Returns, per row, the ids of the rules that hid it on its
/// held-out fold (`;`-separated, empty when the pack left it visible).
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_cv(
    out: &mut impl Write,
    ds: &Dataset,
    xs: &[train::Features],
    cv: &train::CvResult,
    params: &Params,
    model: &Model,
    model_path: &Path,
    rules: &Path,
) -> anyhow::Result<Vec<String>> {
    let name = model_path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("--model needs a file name")?;
    let scratch = std::env::temp_dir().join(format!(
        "commentguard-cv-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    copy_dir(rules, &scratch).with_context(|| format!("copying {}", rules.display()))?;
    let n = ds.examples.len();
    let mut rules_alone = vec![false; n];
    let mut pack = vec![false; n];
    let mut hidden_by = vec![String::new(); n];
    let bar = progress(cv.figures.folds as u64, "rules per fold");
    for fold in 0..cv.figures.folds {
        let rows: Vec<usize> = (0..n).filter(|&i| cv.folds[i] != fold).collect();
        let (w, b) = train::fit(xs, &ds.examples, &rows, params);
        let m = fold_model(w, b, model, cv, fold);
        m.save(&scratch.join("models").join(format!("{name}.model")))?;
        let set = match RuleSet::load(&scratch) {
            Ok(s) => s,
            Err(errors) => {
                let _ = std::fs::remove_dir_all(&scratch);
                for e in errors {
                    eprintln!("{e}");
                }
                anyhow::bail!("the rules folder does not load");
            }
        };
        let model_rules = set.rules_using_models();
        for i in (0..n).filter(|&i| cv.folds[i] == fold) {
            let input = Input {
                text: ds.examples[i].text.clone(),
                ..Input::default()
            };
            let decision = set.evaluate(&input, &NoState);
            pack[i] = hides(&decision.actions);
            if pack[i] {
                hidden_by[i] = decision
                    .matched
                    .iter()
                    .filter(|m| m.mode == Mode::Enforce && hides(&m.actions))
                    .map(|m| m.rule.as_str())
                    .collect::<Vec<_>>()
                    .join(";");
            }
            rules_alone[i] = hides(
                &set.evaluate_with(&input, &NoState, &|id| model_rules.iter().any(|r| r == id))
                    .actions,
            );
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&scratch);
    print_pack_cv(out, ds, cv, rules, &rules_alone, &pack)?;
    Ok(hidden_by)
}

fn short(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or(path)
}

fn rate_pair(ds: &Dataset, flags: &[bool], file: Option<usize>) -> (f64, f64) {
    let flagged = ds
        .examples
        .iter()
        .zip(flags)
        .filter(|(e, _)| file.is_none_or(|fi| e.file == fi))
        .map(|(e, &f)| (if f { 1.0 } else { 0.0 }, e.label));
    let c = train::Counts::at(flagged, 0.5);
    (c.recall(), c.fpr())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A model trained on every fold but `fold`, with this fold's thresholds for `fpr = ...`
/// conditions, chosen on the other folds alone (the nested ones). Only the thresholds are
/// read from this scratch model's figures.
fn fold_model(w: Vec<f32>, b: f32, model: &Model, cv: &train::CvResult, fold: usize) -> Model {
    let mut m = Model::new(
        w,
        b,
        model.header.labels.clone(),
        model.header.trained_on.clone(),
    );
    m.header.cross_validation = Some(train::CvFigures {
        folds: cv.figures.folds - 1,
        auc: 0.0,
        at_fpr: train::TARGET_FPRS
            .iter()
            .zip(&cv.fold_thresholds[fold])
            .map(|(&f, &t)| train::CvPoint {
                target_fpr: f,
                pooled_threshold: f64::from(t),
                pooled_recall: 0.0,
                pooled_precision: 0.0,
                nested_recall: 0.0,
                nested_fpr: 0.0,
                nested_precision: 0.0,
                per_file: Vec::new(),
            })
            .collect(),
    });
    m
}

/// The table of `--rules`: the rules alone, the model alone, the rules with the model, each
/// overall and per file.
fn print_pack_cv(
    out: &mut impl Write,
    ds: &Dataset,
    cv: &train::CvResult,
    rules: &Path,
    rules_alone: &[bool],
    pack: &[bool],
) -> anyhow::Result<()> {
    writeln!(
        out,
        "rules folder {} on the held-out folds (a comment counts as caught when it is hidden):",
        rules.display()
    )?;
    writeln!(
        out,
        "  {:<34} {:<8} {:<10} per file (recall / label-0 hidden)",
        "", "recall", "hidden-0"
    )?;
    let one_pct = train::TARGET_FPRS
        .iter()
        .position(|&f| f == 0.01)
        .expect("0.01 is a target");
    let rows: [(&str, &[bool]); 3] = [
        ("rules alone", rules_alone),
        (
            "model alone (1% threshold, nested)",
            &cv.nested_flags[one_pct],
        ),
        ("rules with the model", pack),
    ];
    for (what, flags) in rows {
        let (r, f) = rate_pair(ds, flags, None);
        let per: Vec<String> = (0..ds.files.len())
            .map(|fi| {
                let (r, f) = rate_pair(ds, flags, Some(fi));
                format!("{} {:.3}/{:.4}", short(&ds.files[fi].path), r, f)
            })
            .collect();
        writeln!(out, "  {what:<34} {r:<8.3} {f:<10.4} {}", per.join(", "))?;
    }
    Ok(())
}
