//! One module per subcommand.

pub mod backup;
pub mod connect;
pub mod doctor;
pub mod insights;
pub mod labels;
pub mod log;
pub mod purge;
pub mod replay;
pub mod retrain;
pub mod serve;
pub mod simulate;
pub mod sweep;
pub mod undo;
pub mod users;
