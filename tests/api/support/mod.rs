//! Test support shared by every API test module.

pub mod fake_graph;
pub mod fake_meta;
