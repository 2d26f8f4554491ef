//! `commentguard model train --from-log [--account ID] [--out FILE]`: retrains a model on its
//! base training data plus the labels people gave on the review page ("Spam" = 1, "Not spam" =
//! 0; the latest label of a comment stands), the brand's labels weighing `--label-weight`
//! rows each.
//!
//! Before writing, the new recipe is cross-validated on the brand's labels (grouped folds:
//! trained on the base data and the other folds' labels, scored on the fold left out) and
//! compared with the current model scoring the same labels. A model that is worse on the
//! brand's labels (a lower ROC AUC) is refused unless `--force`. Written into the rules folder,
//! the running service picks the new model up like a rule edit (a broken file keeps the last
//! good one).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Settings;
use crate::rules::model::cli::{featurize_all, print_cv, progress, TrainArgs};
use crate::rules::model::train::{self, Counts, DataFile, Dataset, Example, Params};
use crate::rules::model::Model;
use crate::rules::normalize::Normalized;
use crate::store::{Label, LabelFilter, LabelStore, SqlStore};

/// Fewer labels than this cannot say whether a model got better.
const MIN_LABELS: usize = 10;

/// Figures of one model on the brand's labels.
#[derive(Debug, Clone, Copy)]
struct OnLabels {
    auc: f64,
    counts: Counts,
}

fn on_labels(scored: &[(f32, bool)]) -> OnLabels {
    OnLabels {
        auc: train::auc(scored),
        counts: Counts::at(scored.iter().copied(), 0.5),
    }
}

pub async fn run(settings: Settings, a: &TrainArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let labels = store
        .list_labels(&LabelFilter {
            since_ms: None,
            account: a.account.clone(),
        })
        .await?;
    let (brand, without_text) = latest_labels(&labels);
    let spam = brand.iter().filter(|b| b.1).count();
    if brand.len() < MIN_LABELS || spam == 0 || spam == brand.len() {
        eprintln!(
            "{} labels with their text in the log ({spam} Spam){}: at least {MIN_LABELS}, of both kinds, are needed to retrain; mark comments Spam or Not spam on the review page",
            brand.len(),
            if without_text > 0 {
                format!(", {without_text} without text")
            } else {
                String::new()
            }
        );
        return Ok(ExitCode::FAILURE);
    }

    // The current model: what the brand runs today, and the recipe of its base data.
    let current_path = a.current.clone().unwrap_or_else(|| a.out.clone());
    let current = match Model::load(&current_path) {
        Ok(m) => Some(m),
        Err(e) if current_path.exists() => anyhow::bail!("{e}"),
        Err(_) => None,
    };
    let Some(base) = base_data(a, current.as_ref(), &current_path)? else {
        return Ok(ExitCode::FAILURE);
    };
    let params = params_for(a, current.as_ref());

    let (ds, first_label) = with_labels(&base, &brand, spam, a);
    let xs = featurize_all(&ds, &params);

    let k = 5.min(brand.len() / 2).max(2);
    let bar = progress(k as u64 + 1, "retraining");
    let new_scored = scores_on_labels(&ds, &xs, first_label, &params, &bar);
    let new = on_labels(&new_scored);
    let old = current.as_ref().map(|m| {
        let scored: Vec<(f32, bool)> = brand
            .iter()
            .map(|(text, is_spam, _)| (m.score(&Normalized::new(text).text, text), *is_spam))
            .collect();
        on_labels(&scored)
    });

    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(
        out,
        "{} labels from the moderation log ({spam} Spam, {} Not spam), each weighing {} rows, on top of {} base rows",
        brand.len(),
        brand.len() - spam,
        a.label_weight,
        first_label
    )?;
    writeln!(out, "on the brand's labels (threshold 0.5):")?;
    writeln!(
        out,
        "  {:<28} {:>6} {:>8} {:>10} {:>10}",
        "", "AUC", "recall", "FPR", "precision"
    )?;
    let line = |out: &mut dyn Write, name: &str, f: &OnLabels| {
        writeln!(
            out,
            "  {:<28} {:>6.3} {:>8.3} {:>10.3} {:>10.3}",
            name,
            f.auc,
            f.counts.recall(),
            f.counts.fpr(),
            f.counts.precision()
        )
    };
    if let Some(old) = &old {
        line(
            &mut out,
            &format!("current ({})", current_path.display()),
            old,
        )?;
    }
    line(&mut out, "new (cross-validated)", &new)?;
    if let Some(old) = &old {
        if new.auc + 1e-9 < old.auc && !a.force {
            bar.finish_and_clear();
            writeln!(
                out,
                "the new model is worse on the brand's labels (AUC {:.3} < {:.3}): nothing written; --force writes it anyway",
                new.auc, old.auc
            )?;
            return Ok(ExitCode::FAILURE);
        }
    }

    let rows: Vec<usize> = (0..ds.examples.len()).collect();
    let (weights, bias) = train::fit(&xs, &ds.examples, &rows, &params);
    bar.inc(1);
    bar.finish_and_clear();
    let model = final_model(&ds, &xs, weights, bias, &params, current.as_ref(), a);
    model.save(&a.out)?;
    if model.header.cross_validation.is_none() {
        eprintln!("note: trained without cross-validation (--folds 0): no thresholds in the header, so rules that give this model `fpr = ...` will refuse it");
    }
    writeln!(
        out,
        "wrote {} ({} rows, {} of them the brand's labels)",
        a.out.display(),
        ds.examples.len(),
        brand.len()
    )?;
    if let Some(cv) = &model.header.cross_validation {
        print_cv(&mut out, cv)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A comment's text, whether it was labelled Spam, and its author (the fold's group).
type Labelled = (String, bool, Option<String>);

/// The latest label of each comment with its text (oldest first in the list), sorted by text;
/// and how many labels had lost their text.
fn latest_labels(labels: &[crate::store::LabelRow]) -> (Vec<Labelled>, usize) {
    // The latest label of each comment stands (oldest first in the list).
    let mut latest: HashMap<(String, String), Labelled> = HashMap::new();
    let mut without_text = 0;
    for l in labels {
        let Some(text) = l.text.clone().filter(|t| !t.trim().is_empty()) else {
            without_text += 1;
            continue;
        };
        latest.insert(
            (l.comment_id.clone(), l.kind.clone()),
            (text, l.label == Label::Spam, l.author.clone()),
        );
    }
    let mut brand: Vec<Labelled> = latest.into_values().collect();
    brand.sort_by(|x, y| x.0.cmp(&y.0));
    (brand, without_text)
}

/// The base training data: the files given, else the ones the current model's header names.
/// `None`: the given files did not load (their errors are printed).
fn base_data(
    a: &TrainArgs,
    current: Option<&Model>,
    current_path: &std::path::Path,
) -> anyhow::Result<Option<Dataset>> {
    Ok(Some(
        if !a.data.data.is_empty() || !a.data.group_file.is_empty() || !a.data.site_file.is_empty()
        {
            match a.data.load()? {
                Some(ds) => ds,
                None => return Ok(None),
            }
        } else {
            let Some(m) = current else {
                anyhow::bail!(
                "no base data: give --data FILE, or --current MODEL whose header names its training files"
            );
            };
            let on = &m.header.trained_on;
            let files: Vec<(PathBuf, &str)> = on
                .files
                .iter()
                .map(|f| (PathBuf::from(&f.path), f.grouping.as_str()))
                .collect();
            match train::load(&files, &on.options) {
                Ok(ds) => ds,
                Err(errors) => {
                    for e in errors.iter().take(20) {
                        eprintln!("{e}");
                    }
                    anyhow::bail!(
                    "the base data named in {}'s header do not load (run from the folder it was trained in, or give --data)",
                    current_path.display()
                );
                }
            }
        },
    ))
}

/// The current model's recipe, so that the labels are the only change; else the arguments'.
fn params_for(a: &TrainArgs, current: Option<&Model>) -> Params {
    match (current, a.data.data.is_empty()) {
        // The current model's recipe, so that the labels are the only change.
        (Some(m), true) => Params {
            seed: a.seed,
            ..m.header.trained_on.params.clone()
        },
        _ => Params {
            epochs: a.epochs,
            alpha: a.alpha,
            beta: Params::default().beta,
            l1: a.l1,
            l2: a.l2,
            hash_bits: a.hash_bits,
            seed: a.seed,
            ignore_signals: a.ignore_signal.clone(),
        },
    }
}

/// The base rows, then the brand's labels as one more "file"; and where the labels start.
fn with_labels(base: &Dataset, brand: &[Labelled], spam: usize, a: &TrainArgs) -> (Dataset, usize) {
    let mut ds = Dataset {
        examples: base.examples.clone(),
        files: base.files.clone(),
    };
    let label_file = ds.files.len();
    ds.files.push(DataFile {
        path: format!(
            "moderation log labels{}",
            a.account
                .as_deref()
                .map(|x| format!(" of account {x}"))
                .unwrap_or_default()
        ),
        rows: brand.len(),
        positives: spam,
        grouping: "handles".into(),
    });
    let first_label = ds.examples.len();
    for (i, (text, is_spam, author)) in brand.iter().enumerate() {
        ds.examples.push(Example {
            text: text.clone(),
            label: *is_spam,
            weight: a.label_weight,
            file: label_file,
            line: i + 1,
            group: author.clone(),
        });
    }
    (ds, first_label)
}

/// The new recipe's scores on the brand's labels, each from a model that did not see it:
/// grouped folds over the labels alone (an author's comments stay together), every fold
/// trained on the base rows and the other folds' labels.
fn scores_on_labels(
    ds: &Dataset,
    xs: &[Vec<(u32, f32)>],
    first_label: usize,
    params: &Params,
    bar: &indicatif::ProgressBar,
) -> Vec<(f32, bool)> {
    let brand_len = ds.examples.len() - first_label;
    let label_rows: Vec<usize> = (first_label..ds.examples.len()).collect();
    let k = 5.min(brand_len / 2).max(2);
    let only_labels = Dataset {
        examples: ds.examples[first_label..].to_vec(),
        files: ds.files.clone(),
    };
    let fold_of = train::folds(&only_labels, k);
    let mut new_scored: Vec<(f32, bool)> = Vec::new();
    for f in 0..k {
        let train_rows: Vec<usize> = (0..first_label)
            .chain(
                label_rows
                    .iter()
                    .copied()
                    .filter(|r| fold_of[r - first_label] != f),
            )
            .collect();
        let (w, b) = train::fit(xs, &ds.examples, &train_rows, params);
        for r in label_rows
            .iter()
            .copied()
            .filter(|r| fold_of[r - first_label] == f)
        {
            new_scored.push((train::predict(&w, b, &xs[r]), ds.examples[r].label));
        }
        bar.inc(1);
    }
    new_scored
}

/// The model trained on every row, with the header that says what it was trained on and,
/// with `--folds`, its cross-validation (the thresholds rules ask with `fpr`).
fn final_model(
    ds: &Dataset,
    xs: &[Vec<(u32, f32)>],
    weights: Vec<f32>,
    bias: f32,
    params: &Params,
    current: Option<&Model>,
    a: &TrainArgs,
) -> Model {
    let labels_names = current
        .map(|m| m.header.labels.clone())
        .unwrap_or_else(|| ["genuine".into(), "scam".into()]);
    let positives = ds.examples.iter().filter(|e| e.label).count();
    let mut model = Model::new(
        weights,
        bias,
        labels_names,
        train::TrainedOn {
            files: ds.files.clone(),
            rows: ds.examples.len(),
            positives,
            date: train::today(),
            params: params.clone(),
            options: current
                .as_ref()
                .map(|m| m.header.trained_on.options.clone())
                .unwrap_or_else(|| a.data.options()),
        },
    );
    if a.folds >= 2 {
        let cv = train::cross_validate(ds, xs, a.folds, params, &mut || {});
        model.header.cross_validation = Some(cv.figures);
    }
    model
}
