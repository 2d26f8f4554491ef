//! `commentguard log`: the moderation log, read from the database the service writes.
//!
//! A table for people by default (oldest first, like a log file), one JSON object per line
//! with `--json`, and `--follow` to keep printing new decisions as they are recorded, like
//! `tail -f`. It only reads: it can run beside the service, on the same SQLite file or
//! PostgreSQL database.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::config::{parse_duration, Settings};
use crate::moderation::record::{actions_summary, decision_json, iso_time, one_line};
use crate::store::{now_ms, DecisionFilter, DecisionRow, DecisionStore, SqlStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Outcome {
    /// Nothing was planned (no rule enforced an action).
    None,
    /// An action waits to be carried out (or retried).
    Pending,
    /// Every planned action was carried out.
    Done,
    /// An action failed for good.
    Failed,
    /// Decided and logged only (dry run, live media).
    Skipped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::None => "none",
            Outcome::Pending => "pending",
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only decisions of the last DURATION (`90s`, `15m`, `1h`, `7d`).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Only decisions where this rule matched (enforced or shadow).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only decisions with this final action (`hide`, `delete`, `reply`).
    #[arg(long)]
    pub action: Option<String>,
    /// Only this Instagram account id.
    #[arg(long)]
    pub account: Option<String>,
    /// Only decisions whose actions stand so.
    #[arg(long, value_enum)]
    pub outcome: Option<Outcome>,
    /// How many decisions to print (the newest ones).
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Keep running and print new decisions as they are recorded.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How often `--follow` looks for new decisions.
    #[arg(long, value_parser = parse_duration, default_value = "1s", hide = true)]
    pub poll: Duration,
}

impl LogArgs {
    fn filter(&self) -> DecisionFilter {
        DecisionFilter {
            since_ms: self
                .since
                .map(|d| now_ms() - d.as_millis().min(i64::MAX as u128) as i64),
            rule: self.rule.clone(),
            action: self.action.clone(),
            account: self.account.clone(),
            ..Default::default()
        }
    }

    fn keeps(&self, d: &DecisionRow) -> bool {
        self.outcome.is_none_or(|o| d.outcome() == o.as_str())
    }
}

/// The newest `args.limit` decisions that pass every filter, oldest first. The outcome is
/// derived from the action log, so it is filtered here, paging back until enough are found.
pub async fn newest(store: &dyn DecisionStore, args: &LogArgs) -> anyhow::Result<Vec<DecisionRow>> {
    let limit = args.limit.max(1);
    let mut found = Vec::new();
    let mut filter = args.filter();
    loop {
        filter.limit = if args.outcome.is_some() { 500 } else { limit };
        let page = store.list_decisions(&filter).await?;
        let full = page.len() as i64 == filter.limit;
        filter.before_id = page.last().map(|d| d.id);
        found.extend(page.into_iter().filter(|d| args.keeps(d)));
        if found.len() as i64 >= limit || !full {
            break;
        }
    }
    found.truncate(limit as usize);
    found.reverse();
    Ok(found)
}

/// Column widths of the table; `--follow` keeps the first ones so columns stay aligned.
struct Table {
    widths: [usize; 7],
}

const HEADERS: [&str; 8] = [
    "TIME", "COMMENT", "ACCOUNT", "AUTHOR", "RULES", "ACTIONS", "OUTCOME", "TEXT",
];
const TEXT_WIDTH: usize = 60;

fn cells(d: &DecisionRow) -> [String; 8] {
    let mut actions = actions_summary(d);
    if actions.is_empty() {
        actions = "-".into();
    }
    // A shadow rule's match is marked: it was logged, not acted on.
    let shadow: Vec<&str> = d
        .matched
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m.get("mode").and_then(|v| v.as_str()) == Some("shadow"))
        .filter_map(|m| m.get("rule").and_then(|v| v.as_str()))
        .collect();
    let rules = if d.rules.is_empty() {
        "-".to_string()
    } else {
        d.rules
            .iter()
            .map(|r| {
                if shadow.contains(&r.as_str()) {
                    format!("{r}(shadow)")
                } else {
                    r.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    [
        iso_time(d.decided_at),
        one_line(&d.comment_id, 40),
        one_line(&d.account_id, 24),
        one_line(d.author.as_deref().unwrap_or("-"), 30),
        one_line(&rules, 40),
        actions,
        d.outcome().to_string(),
        match &d.text {
            Some(t) => one_line(t, TEXT_WIDTH),
            // A mention decided without a token never had its text fetched; the note says so.
            None => match &d.note {
                Some(note) => one_line(&format!("(no text; {note})"), TEXT_WIDTH),
                None => "(text purged)".to_string(),
            },
        },
    ]
}

impl Table {
    fn new(rows: &[[String; 8]]) -> Table {
        let mut widths = [0; 7];
        for (i, w) in widths.iter_mut().enumerate() {
            *w = rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(HEADERS[i].len()))
                .max()
                .unwrap_or(0);
        }
        Table { widths }
    }

    fn line(&self, r: &[String]) -> String {
        let mut out = String::new();
        for (i, w) in self.widths.iter().enumerate() {
            let cell = &r[i];
            out.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count()) + 2;
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(&r[7]);
        out
    }
}

fn print_rows(
    out: &mut impl Write,
    rows: &[DecisionRow],
    json: bool,
    table: &mut Option<Table>,
) -> std::io::Result<()> {
    if json {
        for d in rows {
            writeln!(out, "{}", decision_json(d))?;
        }
        return out.flush();
    }
    let cells: Vec<[String; 8]> = rows.iter().map(cells).collect();
    if table.is_none() {
        let t = Table::new(&cells);
        let headers: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
        writeln!(out, "{}", t.line(&headers).trim_end())?;
        *table = Some(t);
    }
    if let Some(t) = table {
        for c in &cells {
            writeln!(out, "{}", t.line(c).trim_end())?;
        }
    }
    out.flush()
}

pub async fn run(settings: Settings, args: &LogArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let rows = newest(&store, args).await?;
    let stdout = std::io::stdout();
    let mut table = None;
    print_rows(&mut stdout.lock(), &rows, args.json, &mut table)?;
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    // Follow from the newest decision there is, not the newest one printed: a filtered-out
    // decision must not be printed later either.
    let mut last_id = store
        .list_decisions(&DecisionFilter {
            limit: 1,
            ..Default::default()
        })
        .await?
        .first()
        .map(|d| d.id)
        .unwrap_or(0);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(args.poll) => {}
        }
        let mut filter = args.filter();
        // `--since` bounds the first screen only; new decisions are all recent.
        filter.since_ms = None;
        filter.after_id = Some(last_id);
        filter.limit = 500;
        let page = match store.list_decisions(&filter).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("reading the log failed, trying again: {e}");
                continue;
            }
        };
        let Some(newest) = page.last() else {
            continue;
        };
        last_id = newest.id;
        let kept: Vec<DecisionRow> = page.into_iter().filter(|d| args.keeps(d)).collect();
        if let Err(e) = print_rows(&mut stdout.lock(), &kept, args.json, &mut table) {
            // A closed pipe (`| head`) ends the follow quietly.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ActionKind, ActionState, NewAction, NewDecision};

    async fn store_with(
        decisions: &[(&str, &[&str], ActionState)],
    ) -> (tempfile::TempDir, SqlStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
        let store = SqlStore::connect(&url).await.unwrap();
        for (i, (cid, rules, state)) in decisions.iter().enumerate() {
            let d = NewDecision {
                comment_id: cid.to_string(),
                kind: crate::store::DecisionKind::Comment,
                account_id: "acct".into(),
                author: Some("someone".into()),
                text: Some(format!("text of {cid}")),
                matched: "[]".into(),
                rules: rules.iter().map(|r| r.to_string()).collect(),
                actions: if rules.is_empty() {
                    vec![]
                } else {
                    vec!["hide".into()]
                },
                received_at: 1000 + i as i64,
                decided_at: now_ms(),
                ..Default::default()
            };
            let actions = if rules.is_empty() {
                vec![]
            } else {
                vec![NewAction {
                    kind: ActionKind::Hide,
                    payload: serde_json::json!({}),
                    state: *state,
                    note: None,
                }]
            };
            store.record_decision(&d, &actions).await.unwrap();
        }
        (dir, store)
    }

    fn args(extra: &[&str]) -> LogArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            a: LogArgs,
        }
        let mut argv = vec!["log"];
        argv.extend_from_slice(extra);
        P::parse_from(argv).a
    }

    #[tokio::test]
    async fn filters_by_rule_and_outcome_and_prints_oldest_first() {
        let (_dir, store) = store_with(&[
            ("c1", &["spam"], ActionState::Done),
            ("c2", &[], ActionState::Done),
            ("c3", &["spam"], ActionState::Failed),
            ("c4", &["scam"], ActionState::Done),
        ])
        .await;
        let all = newest(&store, &args(&[])).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|d| d.comment_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "c3", "c4"]);

        let spam = newest(&store, &args(&["--rule", "spam"])).await.unwrap();
        let ids: Vec<&str> = spam.iter().map(|d| d.comment_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c3"]);

        let failed = newest(&store, &args(&["--outcome", "failed"]))
            .await
            .unwrap();
        let ids: Vec<&str> = failed.iter().map(|d| d.comment_id.as_str()).collect();
        assert_eq!(ids, ["c3"]);

        let last_two = newest(&store, &args(&["--limit", "2"])).await.unwrap();
        let ids: Vec<&str> = last_two.iter().map(|d| d.comment_id.as_str()).collect();
        assert_eq!(ids, ["c3", "c4"]);
    }

    #[tokio::test]
    async fn table_is_aligned_and_json_is_one_object_per_line() {
        let (_dir, store) = store_with(&[
            ("c1", &["spam"], ActionState::Done),
            ("a-much-longer-comment-id", &[], ActionState::Done),
        ])
        .await;
        let rows = newest(&store, &args(&[])).await.unwrap();
        let mut out = Vec::new();
        print_rows(&mut out, &rows, false, &mut None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("TIME"));
        let col = lines[0].find("ACCOUNT").unwrap();
        assert_eq!(&lines[1][col..col + 4], "acct", "{text}");
        assert_eq!(&lines[2][col..col + 4], "acct", "{text}");
        assert!(lines[1].contains("text of c1"));

        let mut out = Vec::new();
        print_rows(&mut out, &rows, true, &mut None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0]["comment_id"], "c1");
        assert_eq!(parsed[0]["outcome"], "done");
        assert_eq!(parsed[1]["outcome"], "none");
    }

    #[tokio::test]
    async fn a_shadow_rules_match_is_marked_in_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("db.sqlite").display());
        let store = SqlStore::connect(&url).await.unwrap();
        let d = NewDecision {
            comment_id: "c-shadow".into(),
            kind: crate::store::DecisionKind::Comment,
            account_id: "acct".into(),
            text: Some("damn that is expensive".into()),
            matched: serde_json::json!([
                {"rule": "profanity-strong", "mode": "shadow", "actions": [{"type": "hide"}]},
                {"rule": "scam-model", "mode": "enforce", "actions": [{"type": "hide"}]}
            ])
            .to_string(),
            rules: vec!["profanity-strong".into(), "scam-model".into()],
            received_at: now_ms(),
            decided_at: now_ms(),
            ..Default::default()
        };
        store.record_decision(&d, &[]).await.unwrap();
        let rows = newest(&store, &args(&[])).await.unwrap();
        let mut out = Vec::new();
        print_rows(&mut out, &rows, false, &mut None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("profanity-strong(shadow),scam-model"),
            "{text}"
        );
    }
}
