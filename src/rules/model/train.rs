//! Training data, FTRL-Proximal logistic regression, grouped cross-validation and the figures
//! written in a model's header.
//!
//! Cross-validation keeps comments that name the same `@handle` or `#handle` in the same fold
//! (a scam campaign reuses its handle; a model that saw the handle in training would look
//! better than it is on next week's campaign), and keeps all rows of a file given with
//! `--group-file` together (one YouTube video's comments, say). Thresholds reported as
//! "nested" are chosen on the training folds alone and then applied to the held-out fold:
//! those are the figures to expect on comments nobody has seen.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

pub use super::data::load;
use super::features::{self, Sink, Unit};
use crate::rules::normalize::Normalized;

/// Training parameters, recorded in the model header so a model can be rebuilt exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub epochs: u32,
    /// FTRL learning rate.
    pub alpha: f64,
    pub beta: f64,
    pub l1: f64,
    pub l2: f64,
    pub hash_bits: u32,
    pub seed: u64,
    /// Signals of the whole text the model does not read (`"look-alike letters"`): a
    /// signal that marks the training data's positives but not the same comments elsewhere
    /// (judol-dev's promotions are in fancy letters; everyday comments on Instagram often are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_signals: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            epochs: 10,
            alpha: 0.5,
            beta: 1.0,
            l1: 0.0,
            l2: 0.1,
            hash_bits: 16,
            seed: 1,
            ignore_signals: Vec::new(),
        }
    }
}

/// How the training files are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataOptions {
    /// CSV column holding the text: the first of these names a file has.
    pub text_columns: Vec<String>,
    /// CSV column holding the label (0 or 1): the first of these names a file has.
    pub label_columns: Vec<String>,
    /// Undo HTML escaping (`&amp;`, `&#39;`, `<br />`) in the texts.
    pub unescape_html: bool,
}

impl Default for DataOptions {
    fn default() -> DataOptions {
        DataOptions {
            text_columns: vec!["text".into()],
            label_columns: vec!["label".into()],
            unescape_html: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub path: String,
    pub rows: usize,
    pub positives: usize,
    /// `handles`: rows naming the same handle stay in one fold; `sites`: so do rows naming
    /// the same site (a name with digits or in disguised letters); `file`: the whole file does.
    pub grouping: String,
}

/// What a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedOn {
    pub files: Vec<DataFile>,
    pub rows: usize,
    pub positives: usize,
    /// UTC date of training, `YYYY-MM-DD`.
    pub date: String,
    pub params: Params,
    pub options: DataOptions,
}

#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub label: bool,
    pub weight: f32,
    pub file: usize,
    pub line: usize,
    /// An explicit group (JSON Lines `group`), kept in one fold with its handles.
    pub group: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub examples: Vec<Example>,
    pub files: Vec<DataFile>,
}

/// One example's features: (bucket, value), buckets sorted and distinct, values scaled so the
/// vector has length 1 (as [`super::Model::score`] computes them).
pub type Features = Vec<(u32, f32)>;

pub fn featurize(text: &str, params: &Params) -> Features {
    struct Collect<'a>(Vec<u32>, u32, &'a [String]);
    impl Sink for Collect<'_> {
        fn emit(&mut self, hash: u64, unit: Unit) {
            if !features::ignored(&unit, self.2) {
                self.0.push(features::bucket(hash, self.1) as u32);
            }
        }
    }
    let norm = Normalized::new(text);
    let mut c = Collect(Vec::new(), params.hash_bits, &params.ignore_signals);
    features::extract(&norm.text, text, &mut c);
    let n = c.0.len();
    if n == 0 {
        return Vec::new();
    }
    let scale = 1.0 / (n as f32).sqrt();
    c.0.sort_unstable();
    let mut out: Features = Vec::with_capacity(n);
    for b in c.0 {
        match out.last_mut() {
            Some((last, v)) if *last == b => *v += scale,
            _ => out.push((b, scale)),
        }
    }
    out
}

/// Trains on the rows `rows` of `xs`; returns (weights, bias). Deterministic for a seed.
pub fn fit(xs: &[Features], data: &[Example], rows: &[usize], p: &Params) -> (Vec<f32>, f32) {
    let d = 1usize << p.hash_bits;
    let mut z = vec![0f64; d];
    let mut n = vec![0f64; d];
    let (mut zb, mut nb) = (0f64, 0f64);
    let weight = |z: f64, n: f64, l1: f64, l2: f64| -> f64 {
        if z.abs() <= l1 {
            0.0
        } else {
            -(z - z.signum() * l1) / ((p.beta + n.sqrt()) / p.alpha + l2)
        }
    };
    let mut order = rows.to_vec();
    let mut rng = rand::rngs::StdRng::seed_from_u64(p.seed);
    let mut ws: Vec<f64> = Vec::new();
    for _ in 0..p.epochs {
        order.shuffle(&mut rng);
        for &r in &order {
            let x = &xs[r];
            let wb = weight(zb, nb, 0.0, 0.0);
            ws.clear();
            let mut dot = wb;
            for &(i, v) in x {
                let w = weight(z[i as usize], n[i as usize], p.l1, p.l2);
                ws.push(w);
                dot += w * v as f64;
            }
            let prob = 1.0 / (1.0 + (-dot).exp());
            let y = if data[r].label { 1.0 } else { 0.0 };
            let g = (prob - y) * data[r].weight as f64;
            let sigma = ((nb + g * g).sqrt() - nb.sqrt()) / p.alpha;
            zb += g - sigma * wb;
            nb += g * g;
            for (&(i, v), &w) in x.iter().zip(&ws) {
                let i = i as usize;
                let gi = g * v as f64;
                let sigma = ((n[i] + gi * gi).sqrt() - n[i].sqrt()) / p.alpha;
                z[i] += gi - sigma * w;
                n[i] += gi * gi;
            }
        }
    }
    let weights = (0..d)
        .map(|i| weight(z[i], n[i], p.l1, p.l2) as f32)
        .collect();
    (weights, weight(zb, nb, 0.0, 0.0) as f32)
}

/// The score of features `x` under (weights, bias), as [`super::Model::score`] computes it.
pub fn predict(weights: &[f32], bias: f32, x: &Features) -> f32 {
    let dot: f32 = x.iter().map(|&(i, v)| weights[i as usize] * v).sum();
    1.0 / (1.0 + (-(bias + dot)).exp())
}

pub use super::folds::folds;

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// What "flagged when the score is above a threshold" gets right and wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub pos: usize,
    pub neg: usize,
}

impl Counts {
    /// Counts of `score > threshold` over (score, label) pairs.
    pub fn at(scored: impl IntoIterator<Item = (f32, bool)>, threshold: f32) -> Counts {
        let mut c = Counts::default();
        for (s, y) in scored {
            if y {
                c.pos += 1;
                c.tp += (s > threshold) as usize;
            } else {
                c.neg += 1;
                c.fp += (s > threshold) as usize;
            }
        }
        c
    }

    pub fn recall(&self) -> f64 {
        self.tp as f64 / self.pos.max(1) as f64
    }

    pub fn fpr(&self) -> f64 {
        self.fp as f64 / self.neg.max(1) as f64
    }

    /// Precision; 1 when nothing is flagged (nothing flagged wrongly).
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
}

/// Recall, false-positive rate and precision of "score above `threshold`".
fn rates(scored: &[(f32, bool)], threshold: f32) -> (f64, f64, f64) {
    let c = Counts::at(scored.iter().copied(), threshold);
    (c.recall(), c.fpr(), c.precision())
}

/// The lowest threshold at which at most `fpr` of the negatives score above it.
pub fn threshold_at_fpr(scored: &[(f32, bool)], fpr: f64) -> f32 {
    let mut neg: Vec<f32> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    neg.sort_by(|a, b| b.total_cmp(a));
    let m = (fpr * neg.len() as f64).floor() as usize;
    neg.get(m).copied().unwrap_or(0.0)
}

/// Area under the ROC curve (ties count half).
pub fn auc(scored: &[(f32, bool)]) -> f64 {
    let mut v: Vec<(f32, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut pos, mut i) = (0f64, 0usize, 0usize);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // average 1-based rank
        for x in &v[i..j] {
            if x.1 {
                rank_sum += mid;
                pos += 1;
            }
        }
        i = j;
    }
    let neg = v.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

/// Cross-validated figures at one wanted false-positive rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvPoint {
    pub target_fpr: f64,
    /// Threshold on the pooled out-of-fold scores that meets the target (the ROC point).
    pub pooled_threshold: f64,
    pub pooled_recall: f64,
    pub pooled_precision: f64,
    /// Threshold chosen on the training folds alone, applied to the held-out fold: what to
    /// expect on unseen comments.
    pub nested_recall: f64,
    pub nested_fpr: f64,
    pub nested_precision: f64,
    /// The nested figures per training file (its recall and its share of label-0 rows
    /// flagged).
    pub per_file: Vec<FilePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePoint {
    pub path: String,
    pub recall: f64,
    pub fpr: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvFigures {
    pub folds: usize,
    pub auc: f64,
    pub at_fpr: Vec<CvPoint>,
}

/// The false-positive rates cross-validation reports at.
pub const TARGET_FPRS: &[f64] = &[0.005, 0.01, 0.02, 0.05];

/// Everything cross-validation computed: the figures, and each row's out-of-fold score with
/// its fold.
pub struct CvResult {
    pub figures: CvFigures,
    pub scores: Vec<f32>,
    pub folds: Vec<usize>,
    /// Per target FPR, per row: flagged at the nested threshold of its fold.
    pub nested_flags: Vec<Vec<bool>>,
    /// Per fold, per target FPR: the nested threshold (chosen on the other folds alone).
    pub fold_thresholds: Vec<Vec<f32>>,
}

/// Grouped k-fold cross-validation with nested threshold choice. `tick` is called after each
/// of the k * k trainings.
pub fn cross_validate(
    ds: &Dataset,
    xs: &[Features],
    k: usize,
    p: &Params,
    tick: &mut dyn FnMut(),
) -> CvResult {
    let fold = folds(ds, k);
    let n = ds.examples.len();
    let rows_except =
        |out: &[usize]| -> Vec<usize> { (0..n).filter(|&i| !out.contains(&fold[i])).collect() };
    let mut scores = vec![0f32; n];
    let mut nested_flags = vec![vec![false; n]; TARGET_FPRS.len()];
    let mut fold_thresholds = Vec::with_capacity(k);
    for outer in 0..k {
        let (w, b) = fit(xs, &ds.examples, &rows_except(&[outer]), p);
        tick();
        // Inner out-of-fold scores of the training rows pick this fold's thresholds.
        let mut inner: Vec<(f32, bool)> = Vec::new();
        for j in (0..k).filter(|&j| j != outer) {
            let (wi, bi) = fit(xs, &ds.examples, &rows_except(&[outer, j]), p);
            tick();
            for i in (0..n).filter(|&i| fold[i] == j) {
                inner.push((predict(&wi, bi, &xs[i]), ds.examples[i].label));
            }
        }
        let thresholds: Vec<f32> = TARGET_FPRS
            .iter()
            .map(|&f| threshold_at_fpr(&inner, f))
            .collect();
        for i in (0..n).filter(|&i| fold[i] == outer) {
            scores[i] = predict(&w, b, &xs[i]);
            for (t, flags) in thresholds.iter().zip(nested_flags.iter_mut()) {
                flags[i] = scores[i] > *t;
            }
        }
        fold_thresholds.push(thresholds);
    }
    let scored: Vec<(f32, bool)> = scores
        .iter()
        .zip(&ds.examples)
        .map(|(&s, e)| (s, e.label))
        .collect();
    let at_fpr = TARGET_FPRS
        .iter()
        .zip(&nested_flags)
        .map(|(&f, flags)| {
            let t = threshold_at_fpr(&scored, f);
            let (recall, _, precision) = rates(&scored, t);
            let flagged: Vec<(f32, bool)> = flags
                .iter()
                .zip(&ds.examples)
                .map(|(&fl, e)| (if fl { 1.0 } else { 0.0 }, e.label))
                .collect();
            let (nr, nf, np) = rates(&flagged, 0.5);
            let per_file = ds
                .files
                .iter()
                .enumerate()
                .map(|(fi, file)| {
                    let sub: Vec<(f32, bool)> = flagged
                        .iter()
                        .zip(&ds.examples)
                        .filter(|(_, e)| e.file == fi)
                        .map(|(s, _)| *s)
                        .collect();
                    let (r, fp, _) = rates(&sub, 0.5);
                    FilePoint {
                        path: file.path.clone(),
                        recall: round4(r),
                        fpr: round4(fp),
                    }
                })
                .collect();
            CvPoint {
                target_fpr: f,
                pooled_threshold: round4(t as f64),
                pooled_recall: round4(recall),
                pooled_precision: round4(precision),
                nested_recall: round4(nr),
                nested_fpr: round4(nf),
                nested_precision: round4(np),
                per_file,
            }
        })
        .collect();
    CvResult {
        figures: CvFigures {
            folds: k,
            auc: round4(auc(&scored)),
            at_fpr,
        },
        scores,
        folds: fold,
        nested_flags,
        fold_thresholds,
    }
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    // The date part of the Graph API's own timestamp format (one calendar routine for both).
    crate::graph::timestamp::format_graph_timestamp(now)[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: bool) -> Example {
        Example {
            text: text.into(),
            label,
            weight: 1.0,
            file: 0,
            line: 0,
            group: None,
        }
    }

    #[test]
    fn comments_naming_one_handle_share_a_fold() {
        let ds = Dataset {
            examples: vec![
                ex("made $5k with @anna_fx", true),
                ex("thanks @anna_fx and @bob", true),
                ex("@bob is great", true),
                ex("nice post", false),
                ex("love it", false),
                ex("where to buy", false),
            ],
            files: vec![DataFile {
                path: "x".into(),
                rows: 6,
                positives: 3,
                grouping: "handles".into(),
            }],
        };
        let f = folds(&ds, 3);
        assert_eq!(f[0], f[1]);
        assert_eq!(f[1], f[2]);
        assert_ne!(f[3], f[0]);
    }

    #[test]
    fn auc_and_thresholds() {
        let s = [(0.9, true), (0.8, true), (0.7, false), (0.2, false)];
        assert_eq!(auc(&s), 1.0);
        assert_eq!(threshold_at_fpr(&s, 0.0), 0.7);
        assert_eq!(rates(&s, 0.7).0, 1.0);
    }

    #[test]
    fn today_is_a_date() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }
}
