//! `commentguard simulate`: sends a correctly signed sample notification to a running
//! instance, so a person can watch the whole path on a laptop.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::config::Settings;
use crate::ingress::signature::sign;
use crate::store::now_ms;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    pub what: SimulateWhat,
    /// Base URL of the instance; default: http:// + COMMENTGUARD_LISTEN.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Instagram account id (entry.id).
    #[arg(long, global = true, default_value = "17841400000000000")]
    pub account: String,
    /// Print the signed body that is sent.
    #[arg(long, global = true)]
    pub show_body: bool,
}

#[derive(Debug, Subcommand)]
pub enum SimulateWhat {
    /// A `comments` notification.
    Comment {
        /// The comment's text.
        #[arg(
            long,
            default_value = "Made $9,000 with forex thanks to @mark, DM him on WhatsApp"
        )]
        text: String,
        #[arg(long, default_value = "sim_user")]
        username: String,
        /// Comment id; default: a new one each time.
        #[arg(long)]
        comment_id: Option<String>,
        #[arg(long, default_value = "17900000000000001")]
        media_id: String,
        /// FEED, REELS, STORY, AD or LIVE.
        #[arg(long, default_value = "FEED")]
        media_type: String,
    },
    /// A `mentions` notification (the text is fetched from the Graph API).
    Mention {
        #[arg(long, default_value = "17900000000000002")]
        media_id: String,
        #[arg(long)]
        comment_id: Option<String>,
    },
    /// A `story_insights` notification with final metrics.
    StoryInsights {
        #[arg(long, default_value = "17900000000000003")]
        media_id: String,
        #[arg(long, default_value_t = 120)]
        reach: i64,
        #[arg(long, default_value_t = 200)]
        impressions: i64,
        #[arg(long, default_value_t = -1)]
        replies: i64,
    },
}

/// The sample notification body for `what`.
pub fn sample_body(args: &SimulateArgs) -> serde_json::Value {
    let now = now_ms();
    let change = match &args.what {
        SimulateWhat::Comment {
            text,
            username,
            comment_id,
            media_id,
            media_type,
        } => json!({"field": "comments", "value": {
            "from": {"id": format!("{}", 9_000_000 + now % 1_000_000), "username": username},
            "media": {"id": media_id, "media_product_type": media_type},
            "id": comment_id.clone().unwrap_or_else(|| format!("18{now}")),
            "text": text,
        }}),
        SimulateWhat::Mention {
            media_id,
            comment_id,
        } => {
            let mut v = json!({"media_id": media_id});
            if let Some(c) = comment_id {
                v["comment_id"] = json!(c);
            }
            json!({"field": "mentions", "value": v})
        }
        SimulateWhat::StoryInsights {
            media_id,
            reach,
            impressions,
            replies,
        } => json!({"field": "story_insights", "value": {
            "media_id": media_id, "reach": reach, "impressions": impressions, "replies": replies,
            "exits": -1, "taps_forward": 12, "taps_back": -1,
        }}),
    };
    json!({"object": "instagram", "entry": [{"id": args.account, "time": now / 1000, "changes": [change]}]})
}

pub async fn run(settings: Settings, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let secret = settings
        .app_secrets
        .first()
        .context("COMMENTGUARD_APP_SECRET is not set: simulate signs with it")?;
    let body = sample_body(args).to_string();
    if args.show_body {
        println!("{body}");
    }
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    let url = format!("{}/webhook", base.trim_end_matches('/'));
    let resp = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(body.as_bytes(), secret))
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending to {url}: is `commentguard serve` running?"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    println!("{} {}", status.as_u16(), text.trim());
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
