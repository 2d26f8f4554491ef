//! The rule engine: loads the rule files brand teams write and decides what to do with a comment.
//!
//! It knows nothing of HTTP or storage: it takes an [`Input`] and returns a [`Decision`], so it
//! can be tested, benchmarked and explained on its own. State for flood/wave/repeat-offender
//! conditions comes through the [`RuleState`] trait.
//!
//! Layout: [`normalize`] (the text form every condition sees), `load` (rule files to a
//! compiled [`RuleSet`], every error collected), `engine` (evaluation), `features` (links,
//! contacts, emoji, ...), [`state`] (the flood/wave/repeat-offender interface),
//! `testing` (examples and `tests/*.toml`), [`reload`] (hot reload) and [`cli`].

use serde::{Deserialize, Serialize};

mod ascii_words;
pub mod cli;
mod engine;
mod features;
mod imitation;
mod load;
pub mod model;
pub mod normalize;
#[cfg(test)]
mod regex_tests;
pub mod reload;
mod sites;
#[cfg(test)]
mod sites_tests;
pub mod state;
mod testing;
#[cfg(test)]
mod tests;

pub use engine::{RuleInfo, RuleSet};
pub use model::Model;
pub use state::{MemoryState, NoState, RuleState};
pub use testing::{TestFailure, TestReport};

/// What is evaluated: a comment or a mention's text with its context.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Input {
    pub text: String,
    /// The commenter's @username; `author` is read as the same (a reader measuring the
    /// impersonation rules passed `author` and, with it silently dropped, measured nothing).
    #[serde(default, alias = "author")]
    pub username: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub comment_id: Option<String>,
    #[serde(default)]
    pub media_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    /// The account's own @username, when known: what the `impersonates` condition compares
    /// authors and named handles with.
    #[serde(default)]
    pub account_username: Option<String>,
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

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Comment => "comment",
            Kind::Mention => "mention",
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
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
/// A model condition has an empty span and carries the model's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub condition: String,
    pub matched: String,
    pub start: usize,
    pub end: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// For a model condition: the threshold the rule asks ("above 0.944"), for people reading
    /// the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
}

/// What kind of harm a rule is about: carried in `rules eval`, the log and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Scam,
    Spam,
    /// Abuse of no finer kind (rules written before the kinds below).
    Abuse,
    /// Slurs and dehumanising talk about a group.
    Hate,
    /// Insults aimed at a person.
    Harassment,
    /// Threats of violence.
    Threat,
    /// Unwanted sexual comments.
    Sexual,
    /// Swearing aimed at nobody.
    Profanity,
    Promotion,
    #[default]
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Scam,
        Category::Spam,
        Category::Abuse,
        Category::Hate,
        Category::Harassment,
        Category::Threat,
        Category::Sexual,
        Category::Profanity,
        Category::Promotion,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Scam => "scam",
            Category::Spam => "spam",
            Category::Abuse => "abuse",
            Category::Hate => "hate",
            Category::Harassment => "harassment",
            Category::Threat => "threat",
            Category::Sexual => "sexual",
            Category::Profanity => "profanity",
            Category::Promotion => "promotion",
            Category::Other => "other",
        }
    }

    /// One of the kinds of abuse (`abuse`, `hate`, `harassment`, `threat`, `sexual`,
    /// `profanity`): what the review page's "abuse" filter and the abuse measures take.
    pub fn is_abuse(self) -> bool {
        matches!(
            self,
            Category::Abuse
                | Category::Hate
                | Category::Harassment
                | Category::Threat
                | Category::Sexual
                | Category::Profanity
        )
    }

    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: String,
    #[serde(default)]
    pub category: Category,
    pub mode: Mode,
    pub actions: Vec<Action>,
    pub evidence: Vec<Evidence>,
}

/// A model's score for the evaluated text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    pub model: String,
    pub score: f32,
}

/// The outcome of evaluating one input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub normalized: String,
    pub matched: Vec<RuleMatch>,
    /// Final enforced actions in the order they must be carried out: a reply before a hide;
    /// a delete supersedes a hide. Empty when nothing is enforced.
    pub actions: Vec<Action>,
    /// Rules whose `when` held but whose `unless` let the comment through, with the evidence
    /// of the exemption (a trusted author, an allowed domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exempted: Vec<RuleMatch>,
    /// The scores of the models the rules consulted for this text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<ModelScore>,
}

/// Loading errors, each printed as `FILE:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
