//! The service's periodic background jobs, one module each: retention ([`purge`]), the label
//! agreement gauges ([`agreement`]), old rule events ([`prune`]). serve starts them; they
//! stop with its shutdown token.

pub mod agreement;
pub mod prune;
pub mod purge;
