//! API-level tests: one test binary (zero2prod style) whose modules share `support`.

mod graph_client;
mod support;
