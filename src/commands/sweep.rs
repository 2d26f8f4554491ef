//! `commentguard sweep`: finds the comments no webhook announced on an account's recent media
//! and hands them to the pipeline (see [`crate::sweep`]).
//!
//! The comments go to the durable inbox as webhooks do, and this command runs the same
//! pipeline and action executor as `serve` until every one of them is decided and its Graph
//! calls are done (or `--wait` passes: what is left is carried out by the durable action
//! queue, by `serve`). Beside a running `serve` both take work from the inbox, each event
//! once. A sweep stopped half way (Ctrl-C, a network failure) goes on where it stopped when
//! run again with the same window.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::config::{parse_duration, Settings};
use crate::startup::Stages;
use crate::store::{SqlStore, Store};
use crate::sweep::{accounts_with_tokens, SweepError, SweepReport, SweepRequest, Sweeper};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The Instagram account (its IG user id); default: every account with a token.
    #[arg(long)]
    pub account: Option<String>,
    /// Media posted within this long.
    #[arg(long, value_parser = parse_duration, default_value = "7d")]
    pub since: Duration,
    /// Only this media's comments (whatever its age); needs --account when several accounts
    /// have tokens.
    #[arg(long)]
    pub media: Option<String>,
    /// List and count what would be moderated; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON (one object per account).
    #[arg(long)]
    pub json: bool,
    /// How long to wait for the Graph calls the new decisions planned (hides, replies).
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub wait: Duration,
}

pub async fn run(settings: Settings, args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(settings.database_url.expose())
            .await
            .context("opening the database (COMMENTGUARD_DATABASE_URL)")?,
    );
    // Tokens serve renewed (Instagram Login) win over the settings', as in serve.
    crate::link::refresh::load(store.as_ref(), &settings).await?;
    let Some(accounts) = accounts_to_sweep(&settings, args) else {
        return Ok(ExitCode::FAILURE);
    };
    let settings = Arc::new(settings);
    let graph = Arc::new(crate::link::graph_client(&settings));
    let sweeper = Sweeper {
        store: store.clone(),
        graph: graph.clone(),
    };
    // The same moderation as serve's, in this process, for what the sweep finds. It does not
    // register as an instance: its claims are plain leases, and a running serve's stay its own.
    // On SQLite it holds the instances lock, so a serve starting meanwhile leaves its claims
    // alone too.
    store
        .attend()
        .await
        .context("marking this sweep as running on the database")?;
    let workers_stop = CancellationToken::new();
    let mut workers = tokio::task::JoinSet::new();
    if !args.dry_run {
        let rules = Arc::new(crate::pipeline::registry::load_rules(&settings)?);
        let stages = Stages::new(
            &settings,
            &store,
            &rules,
            &graph,
            Arc::new(tokio::sync::Notify::new()),
        );
        if let Err(e) = stages.monitor.refresh().await {
            tracing::warn!(error = %e, "auto-shadowed rules not read; rules run as written");
        }
        for _ in 0..settings.workers.max(1) {
            workers.spawn(stages.pipeline.clone().run(workers_stop.clone()));
        }
        workers.spawn(stages.executor.clone().run(workers_stop.clone()));
    }
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping after the current call; run the same sweep again to go on");
        stop.cancel();
    });
    let mut failed = false;
    for (account_id, token) in accounts {
        let req = SweepRequest {
            account_id: account_id.clone(),
            token,
            window: args.since,
            media: args.media.clone(),
            dry_run: args.dry_run,
            resume: true,
            scope: None,
        };
        let progress = progress_printer(args);
        if !args.json {
            eprintln!(
                "sweeping account {account_id}: {}",
                match &args.media {
                    Some(m) => format!("media {m}"),
                    None => format!(
                        "media of the last {}",
                        humantime::format_duration(args.since)
                    ),
                }
            );
        }
        match sweeper.run(&req, &cancel, &progress).await {
            Ok(mut r) => {
                if !args.dry_run {
                    let left = settle(store.as_ref(), &r, args.wait, &cancel, args.json).await?;
                    r.actions_pending = left;
                }
                if args.json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    print_report(&r, args.dry_run);
                }
            }
            Err(SweepError::Stopped) => {
                eprintln!("{account_id}: stopped; run the same command again to go on");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => {
                eprintln!(
                    "{account_id}: the sweep stopped: {e}; run it again to go on where it stopped"
                );
                failed = true;
            }
        }
    }
    workers_stop.cancel();
    while workers.join_next().await.is_some() {}
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The accounts to sweep with their tokens: `--account`, else every account with a token.
/// `None` (the reason printed): nothing can be swept as asked.
fn accounts_to_sweep(
    settings: &Settings,
    args: &SweepArgs,
) -> Option<Vec<(String, crate::secret::Secret)>> {
    let mut accounts = accounts_with_tokens(settings);
    if let Some(id) = &args.account {
        match settings.token_for(id) {
            Some(t) => accounts = vec![(id.clone(), t)],
            None => {
                eprintln!(
                    "account {id} has no access token: set COMMENTGUARD_ACCESS_TOKEN or [accounts.{id}] access_token"
                );
                return None;
            }
        }
    }
    if accounts.is_empty() {
        eprintln!(
            "no account to sweep: name one with --account ID (with COMMENTGUARD_ACCESS_TOKEN set), or list them in COMMENTGUARD_ACCOUNT_IDS or [accounts.ID]"
        );
        return None;
    }
    if args.media.is_some() && accounts.len() > 1 {
        eprintln!("--media needs --account: several accounts have tokens");
        return None;
    }
    Some(accounts)
}

/// The line printed after each media a sweep finishes (none with --json).
fn progress_printer(args: &SweepArgs) -> impl Fn(&SweepReport) {
    let quiet = args.json;
    let dry = args.dry_run;
    move |r: &SweepReport| {
        if !quiet {
            eprintln!(
                "  {}: {} media done, {} comments seen, {} already decided, {} {}",
                r.account_id,
                r.media_done,
                r.comments_seen,
                r.already_decided,
                r.queued,
                if dry { "new" } else { "new, queued" }
            );
        }
    }
}

/// Waits until every comment the sweep queued is decided (whoever decides it), then until
/// their planned Graph calls are done or `wait` passes. Returns the actions still pending.
async fn settle(
    store: &dyn Store,
    r: &SweepReport,
    wait: Duration,
    cancel: &CancellationToken,
    quiet: bool,
) -> anyhow::Result<u64> {
    if r.queued_ids.is_empty() {
        return Ok(0);
    }
    let mut by_kind: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (kind, id) in &r.queued_ids {
        by_kind.entry(kind).or_default().push(id.clone());
    }
    let total = r.queued_ids.len();
    let deadline = Instant::now() + wait;
    let mut said = Instant::now();
    loop {
        let mut decided = 0;
        for (kind, ids) in &by_kind {
            decided += store.decided_among(kind, ids).await?.len();
        }
        if decided >= total {
            break;
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{} of {total} comments not decided within {wait:?}: see `commentguard log` and the inbox metrics; they stay in the inbox",
                total - decided
            );
        }
        if cancel.is_cancelled() {
            anyhow::bail!("stopped while {} of {total} comments were still being decided; they stay in the inbox for `serve`", total - decided);
        }
        if !quiet && said.elapsed() > Duration::from_secs(2) {
            eprintln!("  deciding: {decided} of {total}");
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ids: Vec<String> = r.queued_ids.iter().map(|(_, id)| id.clone()).collect();
    loop {
        let pending = store.pending_for_comments(&ids).await? as u64;
        if pending == 0 || Instant::now() >= deadline || cancel.is_cancelled() {
            return Ok(pending);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn print_report(r: &SweepReport, dry_run: bool) {
    println!(
        "{}: {} media{}, {} comments seen, {} already decided, {} waiting in the inbox",
        r.account_id,
        r.media_done,
        if r.resumed {
            format!(" (resumed; {} done before)", r.media_skipped)
        } else {
            String::new()
        },
        r.comments_seen,
        r.already_decided,
        r.already_queued
    );
    if dry_run {
        println!(
            "{} comments no webhook announced would be moderated (dry run: nothing stored)",
            r.queued
        );
    } else {
        println!(
            "{} comments no webhook announced are decided now (`commentguard log --since 1h` shows them)",
            r.queued
        );
        if r.actions_pending > 0 {
            println!(
                "{} of their Graph calls are still being retried: the durable action queue carries them out (`serve` does when this command has stopped)",
                r.actions_pending
            );
        }
    }
    println!("{} Graph API calls", r.graph_calls);
}
