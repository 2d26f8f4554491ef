//! `commentguard backup DIR` while the service takes deliveries (issue 28): the copy opens,
//! passes SQLite's integrity check and holds every decision made before the backup began; on
//! PostgreSQL the command says to use pg_dump and exits 2.

use std::process::Command;

use crate::helpers::*;

const ACCOUNT: &str = "17841400000000000";

#[tokio::test]
async fn a_backup_taken_under_load_opens_and_holds_every_earlier_decision() {
    let app = spawn_app().await;
    for i in 0..40 {
        let body = comment_body(ACCOUNT, &format!("b-{i}"), &format!("hello {i}"), "fan");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    for i in 0..40 {
        settled_decision(app.store.as_ref(), &format!("b-{i}")).await;
    }
    // Deliveries keep arriving while the copy is made.
    let address = app.address.clone();
    let load = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for i in 40..240 {
            let body = comment_body(ACCOUNT, &format!("b-{i}"), &format!("hello {i}"), "fan");
            let sig = commentguard::ingress::signature::sign(
                &body,
                &commentguard::secret::Secret::new(APP_SECRET),
            );
            client
                .post(format!("{address}/webhook"))
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .unwrap();
        }
    });
    let target = app.dir.path().join("backup");
    let db = format!("sqlite:{}", app.dir.path().join("cg.db").display());
    let out = tokio::task::spawn_blocking({
        let target = target.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_commentguard"))
                .arg("backup")
                .arg(&target)
                .env_clear()
                .env("COMMENTGUARD_DATABASE_URL", db)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    load.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.matches("integrity ok").count(), 2, "{said}");

    for (file, table) in [("cg.db", "decisions"), ("cg-inbox.db", "inbox")] {
        let conn = rusqlite::Connection::open_with_flags(
            target.join(file),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{file}");
        let ids: Vec<String> = if table == "decisions" {
            let mut q = conn.prepare("SELECT comment_id FROM decisions").unwrap();
            let rows = q.query_map([], |r| r.get(0)).unwrap();
            rows.map(Result::unwrap).collect()
        } else {
            let mut q = conn.prepare("SELECT dedup_key FROM inbox").unwrap();
            let rows = q.query_map([], |r| r.get(0)).unwrap();
            rows.map(Result::unwrap).collect()
        };
        if table == "decisions" {
            for i in 0..40 {
                assert!(
                    ids.contains(&format!("b-{i}")),
                    "b-{i} missing from the copy"
                );
            }
        } else {
            assert!(ids.len() >= 40, "{} inbox rows in the copy", ids.len());
        }
    }

    // A second backup into the same folder refuses to overwrite.
    let again = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .arg("backup")
        .arg(&target)
        .env_clear()
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", app.dir.path().join("cg.db").display()),
        )
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn on_postgresql_backup_points_to_pg_dump() {
    let out = Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["backup", "/tmp/never-written"])
        .env_clear()
        .env(
            "COMMENTGUARD_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!std::path::Path::new("/tmp/never-written").exists());
}
