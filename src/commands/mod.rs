//! One module per subcommand.

pub mod log;
pub mod purge;
pub mod insights;
pub mod serve;
pub mod simulate;
pub mod undo;
