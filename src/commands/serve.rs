use std::process::ExitCode;

use crate::config::Settings;
use crate::startup::{shutdown_signal, Application};

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    crate::telemetry::init_logging(settings.log_format);
    let app = Application::build(settings).await?;
    app.run_until(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
