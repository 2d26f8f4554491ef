//! Integration tests: the real service on port 0 with a real SQLite file, driven over HTTP.

mod helpers;
mod webhook;
