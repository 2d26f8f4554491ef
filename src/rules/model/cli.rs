//! `commentguard model train|evaluate`: building a model from labelled comments and
//! measuring it (alone, or inside a rules folder) with grouped cross-validation.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::train::{self, DataOptions, Dataset, Params};
use super::Model;

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train a model from labelled comments, cross-validate it, write it with its figures.
    Train(TrainArgs),
    /// Measure a model on labelled comments: precision, recall and false-positive rate at
    /// thresholds, and the threshold for a wanted false-positive rate.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Labelled comments: CSV with a header row, or JSON Lines ({"text": ..., "label": 0|1}).
    /// Rows naming the same @handle or #handle stay in one cross-validation fold.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Like --data, but the whole file is one cross-validation group (e.g. one video's
    /// comments), so no fold trains on the file it is tested on.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub group_file: Vec<PathBuf>,
    /// Like --data, and rows naming the same site also stay in one fold: a name with digits
    /// ("visi4d", "berkah99") or written in fancy or spaced letters, and the same name where
    /// another row writes it plainly. For promotion campaigns (gambling sites), whose name is
    /// what a new campaign changes.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub site_file: Vec<PathBuf>,
    /// CSV column with the text; several names, comma-separated: the first a file has.
    #[arg(long, default_value = "text", value_name = "NAMES")]
    pub text_column: String,
    /// CSV column with the label (1 = the model's label 1, e.g. scam; 0 = genuine).
    #[arg(long, default_value = "label", value_name = "NAMES")]
    pub label_column: String,
    /// Undo HTML escaping in the texts (&amp;, &#39;, <br />), as in the YouTube corpus.
    #[arg(long)]
    pub unescape_html: bool,
}

impl DataArgs {
    pub fn options(&self) -> DataOptions {
        let split = |s: &str| {
            s.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        };
        DataOptions {
            text_columns: split(&self.text_column),
            label_columns: split(&self.label_column),
            unescape_html: self.unescape_html,
        }
    }

    pub fn load(&self) -> anyhow::Result<Option<Dataset>> {
        if self.data.is_empty() && self.group_file.is_empty() && self.site_file.is_empty() {
            anyhow::bail!("no training data: give --data FILE (or --group-file, --site-file FILE)");
        }
        let files: Vec<(PathBuf, &str)> = self
            .data
            .iter()
            .map(|p| (p.clone(), "handles"))
            .chain(self.site_file.iter().map(|p| (p.clone(), "sites")))
            .chain(self.group_file.iter().map(|p| (p.clone(), "file")))
            .collect();
        match train::load(&files, &self.options()) {
            Ok(ds) => Ok(Some(ds)),
            Err(errors) => {
                for e in errors.iter().take(50) {
                    eprintln!("{e}");
                }
                if errors.len() > 50 {
                    eprintln!("... and {} more", errors.len() - 50);
                }
                eprintln!(
                    "{} problem{} in the training data; nothing was written",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
                Ok(None)
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the model, e.g. rules/models/scam.model.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Seed of the training order: the same data and seed give the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Passes over the data.
    #[arg(long, default_value_t = Params::default().epochs)]
    pub epochs: u32,
    /// 2^N weight buckets (16: a 256 KiB file that stays in the CPU cache).
    #[arg(long, default_value_t = Params::default().hash_bits, value_parser = clap::value_parser!(u32).range(8..=24))]
    pub hash_bits: u32,
    /// FTRL learning rate.
    #[arg(long, default_value_t = Params::default().alpha)]
    pub alpha: f64,
    /// L2 regularisation.
    #[arg(long, default_value_t = Params::default().l2)]
    pub l2: f64,
    /// L1 regularisation.
    #[arg(long, default_value_t = Params::default().l1)]
    pub l1: f64,
    /// Cross-validation folds for the figures in the header (0: none).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// A signal of the whole text the model is not to read, e.g. "look-alike letters"
    /// (recorded in the header; repeat for several).
    #[arg(long, value_name = "SIGNAL", value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(super::features::SIGNALS), String::from))]
    pub ignore_signal: Vec<String>,
    /// Names of label 0 and label 1.
    #[arg(long, default_value = "genuine,scam", value_name = "NAME0,NAME1")]
    pub labels: String,
    /// Also train on the labels people gave on the review page (Spam = 1, Not spam = 0),
    /// read from the moderation log's database (the settings); with no --data, the base data
    /// are the files the current model was trained on.
    #[arg(long)]
    pub from_log: bool,
    /// With --from-log: only this account's labels.
    #[arg(long, requires = "from_log")]
    pub account: Option<String>,
    /// With --from-log: how much one of the brand's labels weighs against one base row.
    #[arg(long, default_value_t = 5.0, requires = "from_log")]
    pub label_weight: f32,
    /// With --from-log: the model to compare with on the brand's labels (default: --out).
    #[arg(long, value_name = "FILE", requires = "from_log")]
    pub current: Option<PathBuf>,
    /// With --from-log: write the new model even when it is worse on the brand's labels.
    #[arg(long, requires = "from_log")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The model to measure.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Cross-validate instead: retrain the model's recipe (its parameters, from its header)
    /// on all folds but one and score the one left out, for every fold.
    #[arg(long)]
    pub cv: bool,
    /// With --cv: also measure this rules folder, alone and with the model (retrained per
    /// fold, as models/NAME.model where NAME is the --model file's name).
    #[arg(long, value_name = "DIR", requires = "cv")]
    pub rules: Option<PathBuf>,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Also report the threshold for this false-positive rate (repeatable).
    #[arg(long, value_name = "RATE")]
    pub fpr: Vec<f64>,
    /// Write every row's score as CSV (file, line, label, fold, score, text; with --rules also
    /// hidden_by, the rules that hid the row on its held-out fold).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
}

pub fn run(args: ModelArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelCommand::Train(a) => train_cmd(a),
        ModelCommand::Evaluate(a) => evaluate_cmd(a),
    }
}

pub fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    // Hidden when stderr is not a terminal (CI logs, pipes).
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

pub fn featurize_all(ds: &Dataset, params: &Params) -> Vec<train::Features> {
    ds.examples
        .iter()
        .map(|e| train::featurize(&e.text, params))
        .collect()
}

fn train_cmd(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let labels: Vec<String> = a.labels.split(',').map(|s| s.trim().to_string()).collect();
    let [l0, l1] = <[String; 2]>::try_from(labels)
        .map_err(|_| anyhow::anyhow!("--labels takes two names, e.g. genuine,scam"))?;
    let Some(ds) = a.data.load()? else {
        return Ok(ExitCode::FAILURE);
    };
    let positives = ds.examples.iter().filter(|e| e.label).count();
    if positives == 0 || positives == ds.examples.len() {
        eprintln!("the training data needs rows of both labels (0 and 1); nothing was written");
        return Ok(ExitCode::FAILURE);
    }
    let params = Params {
        epochs: a.epochs,
        alpha: a.alpha,
        beta: Params::default().beta,
        l1: a.l1,
        l2: a.l2,
        hash_bits: a.hash_bits,
        seed: a.seed,
        ignore_signals: a.ignore_signal.clone(),
    };
    let xs = featurize_all(&ds, &params);
    let runs = 1 + (a.folds * a.folds) as u64;
    let bar = progress(runs, "training");
    let rows: Vec<usize> = (0..ds.examples.len()).collect();
    let (weights, bias) = train::fit(&xs, &ds.examples, &rows, &params);
    bar.inc(1);
    let trained_on = train::TrainedOn {
        files: ds.files.clone(),
        rows: ds.examples.len(),
        positives,
        date: train::today(),
        params: params.clone(),
        options: a.data.options(),
    };
    let mut model = Model::new(weights, bias, [l0, l1], trained_on);
    if a.folds >= 2 {
        let cv = train::cross_validate(&ds, &xs, a.folds, &params, &mut || bar.inc(1));
        model.header.cross_validation = Some(cv.figures);
    }
    bar.finish_and_clear();
    model.save(&a.out)?;
    if model.header.cross_validation.is_none() {
        eprintln!("note: trained without cross-validation (--folds 0): no thresholds in the header, so rules that give this model `fpr = ...` will refuse it");
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(
        out,
        "wrote {} ({} rows, {} labelled {}; {} KiB)",
        a.out.display(),
        ds.examples.len(),
        positives,
        model.header.labels[1],
        std::fs::metadata(&a.out).map_or(0, |m| m.len() / 1024)
    )?;
    if let Some(cv) = &model.header.cross_validation {
        print_cv(&mut out, cv)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_cv(out: &mut impl Write, cv: &train::CvFigures) -> std::io::Result<()> {
    writeln!(
        out,
        "grouped {}-fold cross-validation: AUC {:.4}",
        cv.folds, cv.auc
    )?;
    writeln!(
        out,
        "  at FPR   threshold  recall  precision | threshold from training folds: recall  FPR     precision"
    )?;
    for p in &cv.at_fpr {
        writeln!(
            out,
            "  {:<7}  {:<9.4}  {:<6.3}  {:<9.3} |                               {:<6.3}  {:<6.4}  {:.3}",
            p.target_fpr,
            p.pooled_threshold,
            p.pooled_recall,
            p.pooled_precision,
            p.nested_recall,
            p.nested_fpr,
            p.nested_precision
        )?;
        for f in &p.per_file {
            writeln!(
                out,
                "      {}: recall {:.3}, label-0 rows flagged {:.4}",
                f.path, f.recall, f.fpr
            )?;
        }
    }
    Ok(())
}

/// Precision, recall and FPR of "score above t".
fn table(out: &mut impl Write, scored: &[(f32, bool)], extra: &[f64]) -> std::io::Result<()> {
    writeln!(out, "  threshold  precision  recall  FPR     flagged")?;
    for t in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99] {
        let c = train::Counts::at(scored.iter().copied(), t);
        writeln!(
            out,
            "  {t:<9}  {:<9.3}  {:<6.3}  {:<6.4}  {}",
            // Printed as 0 when nothing is flagged, as this table always has.
            c.tp as f64 / (c.tp + c.fp).max(1) as f64,
            c.recall(),
            c.fpr(),
            c.tp + c.fp
        )?;
    }
    for &f in extra {
        let t = train::threshold_at_fpr(scored, f);
        writeln!(
            out,
            "  for FPR {f}: threshold {t:.4} (recall {:.3} on this data)",
            train::Counts::at(scored.iter().copied(), t).recall()
        )?;
    }
    Ok(())
}

fn evaluate_cmd(a: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let model = match Model::load(&a.model) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{}: {e}", a.model.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(ds) = a.data.load()? else {
        return Ok(ExitCode::FAILURE);
    };
    let fprs = if a.fpr.is_empty() {
        vec![0.005, 0.01, 0.02]
    } else {
        a.fpr.clone()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut hidden_by: Option<Vec<String>> = None;
    let (scores, folds) = if a.cv {
        let params = model.header.trained_on.params.clone();
        let xs = featurize_all(&ds, &params);
        let bar = progress((a.folds * a.folds) as u64, "cross-validating");
        let cv = train::cross_validate(&ds, &xs, a.folds, &params, &mut || bar.inc(1));
        bar.finish_and_clear();
        writeln!(
            out,
            "{} rows, the recipe of {}",
            ds.examples.len(),
            a.model.display()
        )?;
        print_cv(&mut out, &cv.figures)?;
        let scored: Vec<(f32, bool)> = cv
            .scores
            .iter()
            .zip(&ds.examples)
            .map(|(&s, e)| (s, e.label))
            .collect();
        writeln!(out, "out-of-fold scores:")?;
        table(&mut out, &scored, &fprs)?;
        if let Some(rules) = &a.rules {
            hidden_by = Some(super::pack_cv::pack_cv(
                &mut out, &ds, &xs, &cv, &params, &model, &a.model, rules,
            )?);
        }
        (cv.scores, Some(cv.folds))
    } else {
        let trained: Vec<&str> = model
            .header
            .trained_on
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        for f in ds
            .files
            .iter()
            .filter(|f| trained.contains(&f.path.as_str()))
        {
            writeln!(
                out,
                "note: {} is part of this model's training data, so these figures are optimistic; use --cv",
                f.path
            )?;
        }
        let scores: Vec<f32> = ds
            .examples
            .iter()
            .map(|e| {
                let n = crate::rules::normalize::Normalized::new(&e.text);
                model.score(&n.text, &e.text)
            })
            .collect();
        let scored: Vec<(f32, bool)> = scores
            .iter()
            .zip(&ds.examples)
            .map(|(&s, e)| (s, e.label))
            .collect();
        writeln!(
            out,
            "{} rows ({} labelled {}), AUC {:.4}",
            ds.examples.len(),
            scored.iter().filter(|s| s.1).count(),
            model.header.labels[1],
            train::auc(&scored)
        )?;
        table(&mut out, &scored, &fprs)?;
        (scores, None)
    };
    if let Some(path) = &a.predictions {
        let mut w =
            csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
        let mut head = vec!["file", "line", "label", "fold", "score", "text"];
        if hidden_by.is_some() {
            head.push("hidden_by");
        }
        w.write_record(&head)?;
        for (i, e) in ds.examples.iter().enumerate() {
            let line = e.line.to_string();
            let fold = folds.as_ref().map_or(String::new(), |f| f[i].to_string());
            let score = format!("{:.5}", scores[i]);
            let mut record = vec![
                ds.files[e.file].path.as_str(),
                &line,
                if e.label { "1" } else { "0" },
                &fold,
                &score,
                &e.text,
            ];
            if let Some(by) = &hidden_by {
                record.push(&by[i]);
            }
            w.write_record(&record)?;
        }
        w.flush()?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
