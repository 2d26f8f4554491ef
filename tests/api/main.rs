//! Integration tests in one binary (zero2prod style): the real service on port 0 with a real
//! SQLite file, a fake Graph API that is a real HTTP server, driven over HTTP.

mod backup;
mod categories;
mod connect;
mod crash;
mod disk_full;
mod doctor;
mod faults;
mod front_door;
mod graph_client;
mod helpers;
mod instagram_login;
mod meta_link;
mod moderation;
mod outage;
#[path = "../common/pg.rs"]
mod pg;
mod replay;
mod rule_monitor;
mod scaling;
mod secrets;
mod support;
mod sweep;
mod tls;
mod unsure;
#[path = "../common/wait.rs"]
mod wait;
mod webhook;
