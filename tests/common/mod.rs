//! What several test files share: the service builder, the browser kit, a fresh PostgreSQL
//! database.
#![allow(dead_code)]

pub mod browser;
pub mod pg;
pub mod service;
pub mod wait;
