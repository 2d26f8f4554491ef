//! One module per subcommand.

pub mod insights;
pub mod serve;
pub mod simulate;
