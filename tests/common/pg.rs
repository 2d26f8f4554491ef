//! A fresh PostgreSQL database for a test, made on the server COMMENTGUARD_TEST_DATABASE_URL
//! names and dropped afterwards (also when the test fails: the drop runs as the panic unwinds).
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::Mutex;

use sqlx::{Connection, Executor};

pub const PG_ENV: &str = "COMMENTGUARD_TEST_DATABASE_URL";

/// A database of its own; dropped with this value.
pub struct FreshPostgres {
    pub url: String,
    name: String,
    admin_url: String,
}

impl FreshPostgres {
    /// A new empty database named `cg_<prefix>_<random>` on the server of
    /// COMMENTGUARD_TEST_DATABASE_URL. Without that variable: `None`, after saying (once per
    /// `what`) on standard error that `what` did NOT RUN, or failing when
    /// COMMENTGUARD_TEST_REQUIRE_ALL=1 (`.ci/test` runs everything: a test that cannot run
    /// there is a failure, not a skip).
    pub async fn create(prefix: &str, what: &str) -> Option<FreshPostgres> {
        let Some(admin_url) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
            not_run(what);
            return None;
        };
        Some(Self::create_on(&admin_url, prefix).await)
    }

    /// A new empty database on the server `admin_url` connects to.
    pub async fn create_on(admin_url: &str, prefix: &str) -> FreshPostgres {
        let name = format!("cg_{prefix}_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect with {PG_ENV}: {e}"));
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url).expect("a postgres:// URL");
        url.set_path(&name);
        FreshPostgres {
            url: url.to_string(),
            name,
            admin_url: admin_url.to_string(),
        }
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        // Drop cannot await: a thread of its own with a runtime of its own, joined, so the
        // database is gone before the test returns.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

fn not_run(what: &str) {
    if std::env::var("COMMENTGUARD_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{what} needs PostgreSQL: {PG_ENV} is not set");
    }
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if said
        .get_or_insert_with(HashSet::new)
        .insert(what.to_string())
    {
        // Past the harness's output capture (it only catches the print macros).
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN: {what}: set {PG_ENV}=postgres://USER@HOST:PORT/DB to run it (.ci/run does)"
        );
    }
}
