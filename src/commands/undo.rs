//! `commentguard undo COMMENT_ID`: unhides a comment commentguard hid.
//!
//! The unhide is planned in the durable action log (see [`crate::moderation::undo`]) and carried
//! out by the action executor of the running service, which retries it like any Graph call.
//! This is more robust than calling the Graph API from here: the undo is recorded before it
//! is tried, it survives a crash of either process, it runs after a hide that is still being
//! retried (never before it), and several instances never call twice. The command then waits
//! a little for the executor and says how it went; when no service runs, the undo stays
//! planned and is carried out as soon as `commentguard serve` starts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::config::{parse_duration, Settings};
use crate::moderation::undo::{plan_unhide, UndoError, UndoSource};
use crate::store::{ActionState, DecisionFilter, DecisionStore, SqlStore};

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The id of the hidden comment.
    pub comment_id: String,
    /// How long to wait for the running service to carry the unhide out (`0s`: do not wait).
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub wait: Duration,
}

pub async fn run(settings: Settings, args: &UndoArgs) -> anyhow::Result<ExitCode> {
    let store = SqlStore::connect(settings.database_url.expose())
        .await
        .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
    let planned =
        match plan_unhide(&store, &settings, &args.comment_id, UndoSource::Cli, None).await {
            Ok(p) => p,
            Err(e @ (UndoError::UnknownComment(_) | UndoError::NotHidden { .. })) => {
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        };
    // An undo says the comment was fine: it counts as "Not spam".
    let person = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    crate::moderation::labels::record(
        &store,
        &args.comment_id,
        "",
        crate::store::Label::NotSpam,
        &format!("{person} (cli)"),
        "undo",
    )
    .await?;
    if planned.already_planned {
        println!(
            "an unhide of comment {} was already planned (action {}, {})",
            planned.comment_id,
            planned.action_id,
            planned.state.as_str()
        );
    } else {
        println!(
            "unhide of comment {} planned as action {}",
            planned.comment_id, planned.action_id
        );
    }
    if let Some(note) = &planned.note {
        println!("not called: {note}");
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + args.wait;
    let mut state = planned.state;
    let mut last_error = None;
    while state == ActionState::Pending && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let rows = store
            .list_decisions(&DecisionFilter {
                comment_id: Some(planned.comment_id.clone()),
                limit: 10,
                ..Default::default()
            })
            .await?;
        if let Some(a) = rows
            .iter()
            .flat_map(|d| d.action_log.iter())
            .find(|a| a.id == planned.action_id)
        {
            state = a.state;
            last_error = a.last_error.clone();
        }
    }
    match state {
        ActionState::Done => {
            println!("done: the comment is visible again");
            Ok(ExitCode::SUCCESS)
        }
        ActionState::Failed => {
            println!(
                "failed: {}",
                last_error.as_deref().unwrap_or("no reason recorded")
            );
            Ok(ExitCode::FAILURE)
        }
        _ => {
            match last_error {
                Some(e) => println!("pending: the service will retry (last error: {e})"),
                None => println!(
                    "pending: the running service carries it out (if `commentguard serve` is not running, it will when it starts)"
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
