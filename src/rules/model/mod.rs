//! Learned text models that rules use as one signal among others (`model = { name = "scam",
//! above = 0.9 }`).
//!
//! A model is a logistic regression over hashed features of the normalized text
//! ([`features`]), trained by FTRL-Proximal ([`train`]). It knows nothing of HTTP or storage:
//! it reads a file, scores a text and explains a score.
//!
//! # File format
//!
//! ```text
//! commentguard-model 1\n          magic and format version
//! {"scheme": ..., ...}\n          the header: one line of JSON (see [`Header`])
//! 4 * 2^hash_bits bytes           the weights, little-endian f32, one per bucket
//! ```
//!
//! The header records the feature scheme and its version, the hash size, the label names,
//! what the model was trained on (files, rows, date, seed, parameters), its cross-validated
//! figures, and the SHA-256 of the weights, so a truncated or corrupt file is refused with a
//! clear message instead of scoring garbage.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod cli;
mod data;
pub mod features;
pub mod folds;
mod pack_cv;
pub mod train;

use features::{Sink, Unit};

pub const MAGIC: &str = "commentguard-model";
pub const FORMAT_VERSION: u32 = 1;

/// The header of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub scheme: String,
    pub scheme_version: u32,
    /// The number of weight buckets is 2^hash_bits.
    pub hash_bits: u32,
    /// Names of label 0 and label 1; the score is the probability of label 1.
    pub labels: [String; 2],
    pub bias: f32,
    pub weights_sha256: String,
    pub trained_on: train::TrainedOn,
    /// Cross-validated figures of the same training on the same data, when computed.
    #[serde(default)]
    pub cross_validation: Option<train::CvFigures>,
}

/// A loaded model.
#[derive(Clone)]
pub struct Model {
    pub header: Header,
    weights: Vec<f32>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("scheme", &self.header.scheme)
            .field("hash_bits", &self.header.hash_bits)
            .field("labels", &self.header.labels)
            .finish_non_exhaustive()
    }
}

/// One thing that pushed a score up (positive) or down (negative), as a person reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// `word "forex"`, `words "dm me"`, `handle "@gabrielrayfx"`, `a money amount`, ...
    pub what: String,
    /// Its share of the score before the logistic function (log-odds).
    pub weight: f32,
}

struct Sum<'a> {
    weights: &'a [f32],
    ignore: &'a [String],
    bits: u32,
    /// Four running sums, taken in turn, so an addition need not wait for the one before.
    sums: [f32; 4],
    n: u32,
}

impl Sink for Sum<'_> {
    #[inline]
    fn emit(&mut self, hash: u64, unit: Unit) {
        if features::ignored(&unit, self.ignore) {
            return;
        }
        self.sums[(self.n & 3) as usize] += self.weights[features::bucket(hash, self.bits)];
        self.n += 1;
    }
}

/// [`Sum`] for several models at once: one feature extraction, each model's four running
/// sums taken in the same turn as [`Sum`] takes them, so each score is bit for bit the one
/// [`Model::score`] gives.
struct Sums<'a, T, F> {
    models: &'a [T],
    model: F,
    bits: u32,
    sums: Vec<[f32; 4]>,
    /// Features each model has read (models trained without a signal skip it, so their
    /// counts and lanes go on from their own count, as [`Sum`] takes them).
    n: Vec<u32>,
}

impl<T, F: Fn(&T) -> &Model> Sink for Sums<'_, T, F> {
    #[inline]
    fn emit(&mut self, hash: u64, unit: Unit) {
        let b = features::bucket(hash, self.bits);
        // Only a signal can be one a model was trained without: words, pairs and handles (most
        // of a comment's features) skip the question.
        let signal = matches!(unit, Unit::Signal(_));
        for ((m, sums), n) in self
            .models
            .iter()
            .zip(self.sums.iter_mut())
            .zip(&mut self.n)
        {
            let model = (self.model)(m);
            if signal && features::ignored(&unit, &model.header.trained_on.params.ignore_signals) {
                continue;
            }
            sums[(*n & 3) as usize] += model.weights[b];
            *n += 1;
        }
    }
}

/// The scores of several models that share their hash size, from one pass over the text's
/// features (a rule set's models are all asked of most comments: extracting the features is
/// most of the cost). Models with another hash size are scored alone. `model` reads a model
/// out of an item of `models`, so a rule set's list is scored as it is kept.
pub fn score_all<T>(
    models: &[T],
    model: impl Fn(&T) -> &Model,
    normalized: &str,
    original: &str,
) -> Vec<f32> {
    let Some(first) = models.first() else {
        return Vec::new();
    };
    let bits = model(first).header.hash_bits;
    if models.iter().any(|m| model(m).header.hash_bits != bits) {
        return models
            .iter()
            .map(|m| model(m).score(normalized, original))
            .collect();
    }
    let mut s = Sums {
        models,
        model: &model,
        bits,
        sums: vec![[0.0; 4]; models.len()],
        n: vec![0; models.len()],
    };
    features::extract(normalized, original, &mut s);
    models
        .iter()
        .zip(&s.sums)
        .zip(&s.n)
        .map(|((m, sums), &n)| {
            let scale = if n == 0 { 0.0 } else { 1.0 / (n as f32).sqrt() };
            let sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            sigmoid(model(m).header.bias + sum * scale)
        })
        .collect()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// The threshold above which the model's cross-validation (in its header) flagged the
    /// share `fpr` of label-0 comments, on the pooled out-of-fold scores.
    pub fn threshold_at_fpr(&self, fpr: f64) -> Result<f32, String> {
        let Some(cv) = &self.header.cross_validation else {
            return Err("its header has no cross-validated thresholds (trained with --folds 0), so `fpr` cannot be used: give `above`, or train with --folds 5".into());
        };
        match cv.at_fpr.iter().find(|p| (p.target_fpr - fpr).abs() < 1e-9) {
            Some(p) => Ok(p.pooled_threshold as f32),
            None => {
                let have: Vec<String> =
                    cv.at_fpr.iter().map(|p| p.target_fpr.to_string()).collect();
                Err(format!(
                    "its header has thresholds for fpr = {} only, not {fpr}",
                    have.join(", ")
                ))
            }
        }
    }

    /// A model from trained weights (`weights.len()` must be a power of two).
    pub fn new(
        weights: Vec<f32>,
        bias: f32,
        labels: [String; 2],
        trained_on: train::TrainedOn,
    ) -> Model {
        assert!(weights.len().is_power_of_two());
        let hash_bits = weights.len().trailing_zeros();
        Model {
            header: Header {
                scheme: features::SCHEME.into(),
                scheme_version: features::SCHEME_VERSION,
                hash_bits,
                labels,
                bias,
                weights_sha256: digest(&weights),
                trained_on,
                cross_validation: None,
            },
            weights,
        }
    }

    /// The probability of label 1 for a text, from its normalized form and the original.
    pub fn score(&self, normalized: &str, original: &str) -> f32 {
        let mut s = Sum {
            weights: &self.weights,
            ignore: &self.header.trained_on.params.ignore_signals,
            bits: self.header.hash_bits,
            sums: [0.0; 4],
            n: 0,
        };
        features::extract(normalized, original, &mut s);
        let scale = if s.n == 0 {
            0.0
        } else {
            1.0 / (s.n as f32).sqrt()
        };
        let sum = (s.sums[0] + s.sums[1]) + (s.sums[2] + s.sums[3]);
        sigmoid(self.header.bias + sum * scale)
    }

    /// The words, handles and signals that pushed the score most, strongest first.
    pub fn explain(&self, normalized: &str, original: &str, top: usize) -> Vec<Contribution> {
        struct Units<'a>(Vec<(Unit, f32)>, &'a [f32], u32, &'a [String]);
        impl Sink for Units<'_> {
            fn emit(&mut self, hash: u64, unit: Unit) {
                if !features::ignored(&unit, self.3) {
                    self.0.push((unit, self.1[features::bucket(hash, self.2)]));
                }
            }
        }
        let mut u = Units(
            Vec::new(),
            &self.weights,
            self.header.hash_bits,
            &self.header.trained_on.params.ignore_signals,
        );
        features::extract(normalized, original, &mut u);
        let scale = if u.0.is_empty() {
            0.0
        } else {
            1.0 / (u.0.len() as f32).sqrt()
        };
        let mut by: std::collections::BTreeMap<String, f32> = Default::default();
        for (unit, w) in u.0 {
            let what = match unit {
                Unit::Word(s, e) => format!("word {:?}", &normalized[s..e]),
                Unit::Pair(s, e) => format!("words {:?}", &normalized[s..e]),
                Unit::Handle(s, e) => format!("handle {:?}", &normalized[s..e]),
                Unit::Signal(name) => name.to_string(),
            };
            *by.entry(what).or_default() += w * scale;
        }
        let mut out: Vec<Contribution> = by
            .into_iter()
            .map(|(what, weight)| Contribution { what, weight })
            .collect();
        out.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        out.truncate(top);
        out
    }

    /// Writes the model file (atomically: a reader never sees half a file).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let mut bytes = format!("{MAGIC} {FORMAT_VERSION}\n").into_bytes();
        serde_json::to_writer(&mut bytes, &self.header)?;
        bytes.push(b'\n');
        for w in &self.weights {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension("model.tmp");
        std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Reads a model file; the error says what is wrong with it in words.
    pub fn load(path: &Path) -> Result<Model, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        Model::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<Model, String> {
        let first = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("not a commentguard model file (no header line)")?;
        let magic = std::str::from_utf8(&bytes[..first]).unwrap_or("");
        let version = magic
            .strip_prefix(MAGIC)
            .map(str::trim)
            .ok_or("not a commentguard model file (it should start with `commentguard-model`)")?;
        let version: u32 = version
            .parse()
            .map_err(|_| format!("unreadable format version `{version}`"))?;
        if version != FORMAT_VERSION {
            return Err(format!(
                "model format version {version}; this commentguard reads version {FORMAT_VERSION} (retrain it with `commentguard model train`)"
            ));
        }
        let rest = &bytes[first + 1..];
        let second = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated: the header line is not complete")?;
        let header: Header = serde_json::from_slice(&rest[..second])
            .map_err(|e| format!("unreadable header: {e}"))?;
        if header.scheme != features::SCHEME || header.scheme_version != features::SCHEME_VERSION {
            return Err(format!(
                "feature scheme {} version {}; this commentguard computes {} version {} (retrain the model)",
                header.scheme,
                header.scheme_version,
                features::SCHEME,
                features::SCHEME_VERSION
            ));
        }
        if !(8..=24).contains(&header.hash_bits) {
            return Err(format!(
                "hash size 2^{} is out of range (2^8 to 2^24)",
                header.hash_bits
            ));
        }
        let data = &rest[second + 1..];
        let want = 4usize << header.hash_bits;
        if data.len() != want {
            return Err(format!(
                "truncated or padded: {} bytes of weights, the header says {want}",
                data.len()
            ));
        }
        if hex::encode(Sha256::digest(data)) != header.weights_sha256 {
            return Err("corrupt: the weights do not match the checksum in the header".into());
        }
        let weights: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        if !header.bias.is_finite() || weights.iter().any(|w| !w.is_finite()) {
            return Err("corrupt: a weight is not a finite number".into());
        }
        Ok(Model { header, weights })
    }
}

/// The SHA-256 of the weights as the file stores them (little-endian, one after another).
fn digest(weights: &[f32]) -> String {
    let bytes: Vec<u8> = weights.iter().flat_map(|w| w.to_le_bytes()).collect();
    hex::encode(Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scoring the shipped models together gives, bit for bit, what each gives alone: the
    /// one-pass scoring changes the speed, never a decision.
    #[test]
    fn scores_of_several_models_in_one_pass_equal_each_alone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/models");
        let mut models = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            models.push(Model::load(&entry.unwrap().path()).unwrap());
        }
        assert!(models.len() >= 2, "{} models", models.len());
        let refs: Vec<&Model> = models.iter().collect();
        for text in [
            "Made $9,000 with forex thanks to @mark, DM him on WhatsApp",
            "você é um idiota",
            "Du bist so ein Vollidiot",
            "jackpot di 𝐁𝐄𝐑𝐊𝐀𝐇𝟗𝟗 gacor",
            "",
            "🔥🔥🔥",
        ] {
            let norm = crate::rules::normalize::normalize(text);
            let together = score_all(&refs, |m| *m, &norm, text);
            for (m, s) in refs.iter().zip(together) {
                assert_eq!(m.score(&norm, text).to_bits(), s.to_bits(), "{text:?}");
            }
        }
    }

    /// The gambling model is trained without the look-alike letters signal: a word in bold
    /// weighs what the same word typed plainly weighs, for it alone, in one pass or alone.
    #[test]
    fn a_model_trained_without_a_signal_does_not_read_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/models");
        let judol = Model::load(&root.join("judol.model")).unwrap();
        let scam = Model::load(&root.join("scam.model")).unwrap();
        assert_eq!(
            judol.header.trained_on.params.ignore_signals,
            ["look-alike letters"]
        );
        let (fancy, plain) = (
            "kak ini bahannya 𝐚𝐝𝐞𝐦 banget",
            "kak ini bahannya adem banget",
        );
        let norm = crate::rules::normalize::normalize(fancy);
        assert_eq!(norm, crate::rules::normalize::normalize(plain));
        assert_eq!(judol.score(&norm, fancy), judol.score(&norm, plain));
        assert_ne!(scam.score(&norm, fancy), scam.score(&norm, plain));
        let both = score_all(&[&judol, &scam], |m| *m, &norm, fancy);
        assert_eq!(both[0], judol.score(&norm, plain));
        assert_eq!(both[1], scam.score(&norm, fancy));
        assert!(judol
            .explain(&norm, fancy, 50)
            .iter()
            .all(|c| c.what != "look-alike letters"));
    }
}
