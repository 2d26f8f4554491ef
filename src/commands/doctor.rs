//! `commentguard doctor [--url URL] [--ca FILE]`: one line per check of the link between Meta
//! and this set-up ([`crate::link::doctor`]); exit 0 when every check holds, 1 when one fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::Settings;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The public callback URL, as in the App Dashboard (https://your-host/webhook): checked
    /// from this machine for the handshake, the certificate and signature checks.
    #[arg(long)]
    pub url: Option<String>,
    /// A PEM root certificate to trust besides the public ones (a private CA on staging; Meta
    /// itself trusts only public CAs).
    #[arg(long)]
    pub ca: Option<PathBuf>,
}

pub async fn run(settings: Settings, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let checks = crate::link::doctor::run(&settings, args.url.as_deref(), args.ca.as_deref()).await;
    for c in &checks {
        println!("{:<5} {}: {}", c.mark(), c.name, c.detail);
    }
    let failed = checks.iter().filter(|c| c.ok == Some(false)).count();
    if failed > 0 {
        println!("{failed} check(s) failed");
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
