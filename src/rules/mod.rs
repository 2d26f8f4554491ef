//! The rule engine: loads the rule files brand teams write and decides what to do with a comment.
//!
//! It knows nothing of HTTP or storage: it takes an [`Input`] and returns a [`Decision`], so it
//! can be tested, benchmarked and explained on its own. State for flood/wave/repeat-offender
//! conditions comes through the [`RuleState`] trait.
//!
//! CONTRACT (implemented by the rules work; the pipeline codes against these names).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What is evaluated: a comment or a mention's text with its context.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Input {
    pub text: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub comment_id: Option<String>,
    #[serde(default)]
    pub media_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub media_product_type: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub kind: Kind,
    /// Unix seconds.
    #[serde(default)]
    pub time: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Comment,
    Mention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Enforce,
    Shadow,
}

/// One action a rule asks for. `Reply` carries the final text (placeholders filled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Action {
    Hide,
    Delete,
    Reply { text: String },
}

impl Action {
    /// `hide`, `delete` or `reply`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Hide => "hide",
            Action::Delete => "delete",
            Action::Reply { .. } => "reply",
        }
    }
}

/// Why a condition held: the span in the original text (byte offsets) and what it says there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub condition: String,
    pub matched: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: String,
    pub mode: Mode,
    pub actions: Vec<Action>,
    pub evidence: Vec<Evidence>,
}

/// The outcome of evaluating one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub normalized: String,
    pub matched: Vec<RuleMatch>,
    /// Final enforced actions in the order they must be carried out: a reply before a hide;
    /// a delete supersedes a hide. Empty when nothing is enforced.
    pub actions: Vec<Action>,
}

/// Loading errors, each printed as `FILE:LINE:COL: message`.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Stateful conditions (flood, wave, repeat offender) ask this; object safe and synchronous.
pub trait RuleState: Send + Sync {}

/// In-memory state for `rules eval`, `rules test` and a single instance.
#[derive(Debug, Default)]
pub struct MemoryState;
impl RuleState for MemoryState {}

/// A compiled rule set.
#[derive(Debug, Default)]
pub struct RuleSet {}

impl RuleSet {
    /// Loads and validates a rules folder, collecting every error across all files.
    pub fn load(_dir: &Path) -> Result<RuleSet, Vec<LoadError>> {
        Ok(RuleSet::default())
    }

    pub fn evaluate(&self, input: &Input, _state: &dyn RuleState) -> Decision {
        Decision {
            normalized: input.text.to_lowercase(),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        true
    }
}
