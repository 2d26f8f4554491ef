//! `commentguard rules replay [--rules DIR] [--since 7d] [--account ID] [--json]`: what a rules
//! folder would change against what the moderation log decided
//! ([`crate::moderation::replay`]), printed as a report or JSON. Nothing is called and nothing
//! is written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::{parse_duration, Settings};
use crate::moderation::replay::{replay, Change, Report};
use crate::rules::cli::ReplayArgs;
use crate::rules::RuleSet;
use crate::store::{now_ms, SqlStore};

pub async fn run(settings: Settings, rules: &Path, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let window = parse_duration(&args.since).map_err(anyhow::Error::msg)?;
    let set = match RuleSet::load(rules) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "the rules in {} do not load: nothing replayed",
                rules.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let since = now_ms() - window.as_millis().min(i64::MAX as u128) as i64;
    let report = replay(
        &store,
        &set,
        since,
        args.account.clone(),
        args.examples,
        &rules.display().to_string(),
        &args.since,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &Report) {
    println!(
        "{} replayed over {} comments decided in the last {} ({} without text skipped)",
        r.rules, r.comments, r.since, r.skipped_without_text
    );
    if r.groups.is_empty() {
        println!("nothing would change");
        return;
    }
    println!("{} comments would be decided differently:", r.changed);
    for g in &r.groups {
        println!();
        println!(
            "{} {} comment{} (rule {}, {})",
            g.change.title(),
            g.count,
            if g.count == 1 { "" } else { "s" },
            g.rule,
            g.category
        );
        if g.labelled_not_spam > 0 && g.change == Change::NewlyHidden {
            println!(
                "  ! {} of them a person marked Not spam",
                g.labelled_not_spam
            );
        }
        if g.labelled_spam > 0 && g.change == Change::NoLongerHidden {
            println!("  ! {} of them a person marked Spam", g.labelled_spam);
        }
        for e in &g.examples {
            let mut line: String = e.text.chars().take(100).collect();
            if e.text.chars().count() > 100 {
                line.push('…');
            }
            println!(
                "  - {} @{}: {}{}{}",
                e.comment_id,
                e.author.as_deref().unwrap_or("?"),
                line,
                e.label
                    .map(|l| format!("  [{}]", l.title()))
                    .unwrap_or_default(),
                e.reply
                    .as_deref()
                    .map(|r| format!("\n      reply: {r}"))
                    .unwrap_or_default()
            );
        }
    }
}
