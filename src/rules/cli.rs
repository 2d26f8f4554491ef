//! `commentguard rules check|test|explain|eval`: trying rules before they go live.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use super::{Action, Decision, Input, MemoryState, RuleSet};

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Rules folder.
    #[arg(
        long,
        global = true,
        env = "COMMENTGUARD_RULES",
        default_value = "rules",
        value_name = "DIR"
    )]
    pub rules: PathBuf,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate the rules folder; print every error as FILE:LINE:COL: message.
    Check,
    /// Run every rule example and tests/*.toml case.
    Test,
    /// Show how a text is normalized, which rules match it and why, and the decision.
    Explain {
        /// Author of the comment (default: sample_user).
        #[arg(long)]
        username: Option<String>,
        /// Evaluate as a mention instead of a comment.
        #[arg(long)]
        mention: bool,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
        /// The comment text.
        text: String,
    },
    /// Evaluate JSON Lines from stdin, one JSON line out for each line in.
    Eval,
    /// Run this rules folder over the comments stored in the moderation log and print what
    /// would change against what was decided (needs the database: the settings).
    Replay(ReplayArgs),
}

/// `rules replay`: parsed here with the other subcommands, run by
/// `crate::moderation::replay`, run by the command line (the rules module reads no database).
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Comments decided within this long.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Only this account's comments.
    #[arg(long)]
    pub account: Option<String>,
    /// Examples printed per change and rule.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `rules` subcommand; the exit code says whether it succeeded.
pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let loaded = RuleSet::load(&args.rules);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let set = match loaded {
        Ok(set) => set,
        Err(errors) => {
            // `check` reports errors as its output; other commands as a failure to start.
            for e in &errors {
                if matches!(args.command, RulesCommand::Check | RulesCommand::Test) {
                    writeln!(out, "{e}")?;
                } else {
                    eprintln!("{e}");
                }
            }
            out.flush()?;
            eprintln!(
                "{} error{} in {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                args.rules.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    match args.command {
        RulesCommand::Check => {
            writeln!(
                out,
                "ok: {} rules, {} test cases in {}",
                set.len(),
                set.tests.len(),
                args.rules.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Test => {
            let report = set.run_tests();
            for f in &report.failures {
                writeln!(out, "FAIL {f}")?;
            }
            writeln!(out, "{} passed, {} failed", report.passed, report.failed())?;
            out.flush()?;
            Ok(if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        RulesCommand::Explain {
            username,
            mention,
            json,
            text,
        } => {
            let input = Input {
                text,
                // Replies fill in {author}: without --username they show a sample name.
                username: username.or_else(|| Some("sample_user".into())),
                kind: if mention {
                    super::Kind::Mention
                } else {
                    super::Kind::Comment
                },
                ..Input::default()
            };
            let decision = set.evaluate(&input, &MemoryState::default());
            if json {
                serde_json::to_writer_pretty(&mut out, &decision)?;
                writeln!(out)?;
            } else {
                explain_text(&mut out, &set, &input, &decision)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        // The command line runs `rules replay` itself (it needs the settings and the
        // database, which this module never touches); reaching here is a caller's mistake.
        RulesCommand::Replay(_) => anyhow::bail!(
            "`rules replay` reads the moderation log: run it as `commentguard rules replay`, which loads the settings"
        ),
        RulesCommand::Eval => {
            let state = MemoryState::default();
            let mut stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
            let mut line = String::new();
            for n in 0.. {
                line.clear();
                if stdin.read_line(&mut line).context("reading stdin")? == 0 {
                    break;
                }
                let line = line.trim_end_matches(['\n', '\r']);
                match serde_json::from_str::<Input>(line) {
                    Ok(input) => {
                        let decision = set.evaluate(&input, &state);
                        serde_json::to_writer(&mut out, &eval_line(&input, &decision))?
                    }
                    // serde's own "line 1 column 7" is the position inside this one line.
                    Err(e) => serde_json::to_writer(&mut out, &json!({
                        "error": format!("bad input line {}: {} (at character {})", n + 1, e.to_string().split(" at line ").next().unwrap_or(""), e.column())
                    }))?,
                };
                writeln!(out)?;
                // Streaming: the answers leave before the next read can wait for input (one
                // write for all the lines already read, not one a line: a write a line cost a
                // tenth of the run on a corpus).
                if stdin.buffer().is_empty() {
                    out.flush()?;
                }
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn names(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::name).collect()
}

/// The `rules eval` output line of CONTRACT.md, written straight from the decision: building
/// a `serde_json::Value` first cost 12,500 of the 156,000 instructions a scamspot comment took.
/// The fields are in the order the object had as a `Value` (whose keys are sorted), so the
/// output is the same, byte for byte.
#[derive(serde::Serialize)]
pub struct EvalLine<'a> {
    actions: Vec<&'static str>,
    comment_id: &'a Option<String>,
    matched: Vec<MatchedLine<'a>>,
    scores: Scores<'a>,
}

#[derive(serde::Serialize)]
struct MatchedLine<'a> {
    actions: Vec<&'static str>,
    category: super::Category,
    mode: super::Mode,
    rule: &'a str,
}

/// Each model's score, rounded to three places, as an object keyed by model name in name order.
struct Scores<'a>(&'a [super::ModelScore]);

impl serde::Serialize for Scores<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut sorted: Vec<&super::ModelScore> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.model.cmp(&b.model));
        let mut map = s.serialize_map(Some(sorted.len()))?;
        for m in sorted {
            map.serialize_entry(&m.model, &round3(m.score))?;
        }
        map.end()
    }
}

pub fn eval_line<'a>(input: &'a Input, d: &'a Decision) -> EvalLine<'a> {
    EvalLine {
        actions: names(&d.actions),
        comment_id: &input.comment_id,
        matched: d
            .matched
            .iter()
            .map(|m| MatchedLine {
                actions: names(&m.actions),
                category: m.category,
                mode: m.mode,
                rule: &m.rule,
            })
            .collect(),
        scores: Scores(&d.scores),
    }
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

fn describe(a: &Action) -> String {
    match a {
        Action::Reply { text } => format!("reply {text:?}"),
        a => a.name().to_string(),
    }
}

/// The report of `rules explain`, also shown by the review page's "Try a comment".
pub fn explain_text(
    out: &mut impl Write,
    set: &RuleSet,
    input: &Input,
    d: &Decision,
) -> std::io::Result<()> {
    writeln!(out, "text:       {:?}", input.text)?;
    writeln!(out, "normalized: {:?}", d.normalized)?;
    for (name, model) in set.models() {
        let score = model.score(&d.normalized, &input.text);
        writeln!(
            out,
            "model {name}: {score:.3} ({} {:.0}%)",
            model.header.labels[1],
            score * 100.0
        )?;
        let top = model.explain(&d.normalized, &input.text, 6);
        let shown: Vec<String> = top
            .iter()
            .map(|c| format!("{} {:+.2}", c.what, c.weight))
            .collect();
        if !shown.is_empty() {
            writeln!(out, "    pushed by: {}", shown.join(", "))?;
        }
    }
    if d.matched.is_empty() && d.exempted.is_empty() {
        writeln!(out, "no rule matched")?;
    }
    for x in &d.exempted {
        let why: Vec<String> = x
            .evidence
            .iter()
            .map(|e| {
                if e.matched.is_empty() {
                    e.condition.clone()
                } else {
                    format!("{} {:?}", e.condition, e.matched)
                }
            })
            .collect();
        writeln!(
            out,
            "let through by {}'s [rule.unless]{}",
            x.rule,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {}", why.join(", "))
            }
        )?;
    }
    let infos = set.rules();
    for m in &d.matched {
        let info = infos.iter().find(|i| i.id == m.rule);
        let acts: Vec<String> = m.actions.iter().map(describe).collect();
        writeln!(
            out,
            "matched {} ({}, {}, priority {}, {}): {}",
            m.rule,
            m.category.as_str(),
            m.mode.as_str(),
            info.map_or(0, |i| i.priority),
            info.map_or(String::new(), |i| format!("{}:{}", i.file, i.line)),
            if acts.is_empty() {
                "no action".into()
            } else {
                acts.join(", ")
            }
        )?;
        for e in &m.evidence {
            if let Some(score) = e.score {
                match &e.threshold {
                    Some(t) => writeln!(out, "    {} scored {score:.3} ({t})", e.condition)?,
                    None => writeln!(out, "    {} scored {score:.3}", e.condition)?,
                }
                continue;
            }
            writeln!(
                out,
                "    {} {:?} at bytes {}..{}",
                e.condition, e.matched, e.start, e.end
            )?;
        }
    }
    let acts: Vec<String> = d.actions.iter().map(describe).collect();
    writeln!(
        out,
        "decision: {}",
        if acts.is_empty() {
            "nothing".into()
        } else {
            acts.join(", then ")
        }
    )
}
