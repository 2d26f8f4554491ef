//! Running a rule set's own examples (`examples = { hit, miss }`) and its `tests/*.toml` cases.

use super::{Input, MemoryState, RuleSet};

/// A `[[case]]` of `tests/*.toml`.
#[derive(Debug, Clone)]
pub(crate) struct TestCase {
    pub location: String,
    pub name: Option<String>,
    pub input: Input,
    /// Final enforced action names, in any order.
    pub expect: Vec<String>,
    /// `shadow = [...]`: the actions shadow rules would have taken (any order, no repeats);
    /// not checked when absent.
    pub shadow: Option<Vec<String>>,
    /// Evaluate this many times with one state (for flood rules); the last decision counts.
    pub repeat: usize,
}

/// One failed example or case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    /// `FILE:LINE:COL` of the example or case.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for TestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Debug, Clone, Default)]
pub struct TestReport {
    pub passed: usize,
    pub failures: Vec<TestFailure>,
}

impl TestReport {
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(60).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    format!("{s:?}")
}

impl RuleSet {
    /// Runs every rule's examples (each against its own rule alone) and every test case
    /// (against the whole set, each with a fresh in-memory state).
    pub fn run_tests(&self) -> TestReport {
        let mut report = TestReport::default();
        for (idx, rule) in self.rules.iter().enumerate() {
            let kind = rule.info.on.first().copied().unwrap_or_default();
            for (want, list) in [(true, &rule.hits), (false, &rule.misses)] {
                for (text, location) in list {
                    let input = Input {
                        text: text.clone(),
                        username: Some("example_user".into()),
                        kind,
                        ..Input::default()
                    };
                    if self.rule_holds(idx, &input) == want {
                        report.passed += 1;
                    } else {
                        report.failures.push(TestFailure {
                            location: location.clone(),
                            message: format!(
                                "rule `{}` {} {}",
                                rule.info.id,
                                if want {
                                    "should match but did not:"
                                } else {
                                    "should not match but did:"
                                },
                                short(text)
                            ),
                        });
                    }
                }
            }
        }
        for case in &self.tests {
            let state = MemoryState::default();
            let mut decision = None;
            for _ in 0..case.repeat {
                decision = Some(self.evaluate(&case.input, &state));
            }
            let decision = decision.expect("repeat >= 1");
            let mut got: Vec<&str> = decision.actions.iter().map(|a| a.name()).collect();
            let mut want: Vec<&str> = case.expect.iter().map(String::as_str).collect();
            got.sort_unstable();
            want.sort_unstable();
            let mut got_shadow: Vec<&str> = decision
                .matched
                .iter()
                .filter(|m| m.mode == super::Mode::Shadow)
                .flat_map(|m| m.actions.iter().map(|a| a.name()))
                .collect();
            got_shadow.sort_unstable();
            got_shadow.dedup();
            let mut want_shadow: Option<Vec<&str>> = case
                .shadow
                .as_ref()
                .map(|v| v.iter().map(String::as_str).collect());
            if let Some(w) = &mut want_shadow {
                w.sort_unstable();
                w.dedup();
            }
            let shadow_ok = want_shadow.as_ref().is_none_or(|w| *w == got_shadow);
            if got == want && shadow_ok {
                report.passed += 1;
            } else {
                let matched: Vec<String> = decision
                    .matched
                    .iter()
                    .map(|m| format!("{} ({})", m.rule, m.mode.as_str()))
                    .collect();
                report.failures.push(TestFailure {
                    location: case.location.clone(),
                    message: format!(
                        "{}{}: expected {:?}{}, got {:?}{}; matched rules: [{}]",
                        case.name
                            .as_deref()
                            .map(|n| format!("{n}: "))
                            .unwrap_or_default(),
                        short(&case.input.text),
                        want,
                        want_shadow
                            .as_ref()
                            .map_or(String::new(), |w| format!(" and in shadow {w:?}")),
                        got,
                        if want_shadow.is_some() {
                            format!(" and in shadow {got_shadow:?}")
                        } else {
                            String::new()
                        },
                        matched.join(", ")
                    ),
                });
            }
        }
        report
    }
}
