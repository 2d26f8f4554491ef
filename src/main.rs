use std::process::ExitCode;

use clap::Parser;
use commentguard::cli::{self, Cli};

/// mimalloc instead of glibc's malloc: a webhook's allocations (body, parsed JSON, the row
/// handed to the inbox writer) are freed on another thread than the one that made them, which
/// glibc serves slowly (about a tenth of the receiver's CPU went to malloc and free).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
