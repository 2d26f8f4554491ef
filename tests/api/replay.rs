//! `commentguard rules replay`: a copy of the rules with one rule removed and one added, run
//! over 200 comments the service decided, reports exactly the comments whose decision changes,
//! per rule, with the labelled ones counted apart.

use std::collections::BTreeSet;
use std::time::Duration;

use commentguard::store::{now_ms, Label, NewLabel};
use serde_json::Value;

use crate::faults::{start, QUESTION, SCAM, SPAM};
use crate::helpers::copy_dir;

fn text_of(n: usize) -> &'static str {
    match n % 5 {
        0 => SCAM,
        1 => SPAM,
        2 => "giveaway time, first 5 people win",
        3 => QUESTION,
        _ => "what a lovely dress",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_reports_exactly_the_comments_whose_decision_changes() {
    let h = start().await;
    let ids: Vec<String> = (0..200).map(|n| format!("1799{n:05}")).collect();
    for (n, id) in ids.iter().enumerate() {
        h.post_comment(id, text_of(n), &format!("user{n}")).await;
    }
    let decided = h.settled(&ids, Duration::from_secs(60)).await;
    assert_eq!(decided.len(), 200);
    // A person marked one giveaway comment Not spam.
    h.app
        .store
        .set_label(&NewLabel {
            comment_id: ids[2].clone(),
            kind: "comment".into(),
            account_id: crate::faults::ACCOUNT.into(),
            person: "dana".into(),
            label: Label::NotSpam,
            source: "review".into(),
            text: Some(text_of(2).into()),
            author: Some("user2".into()),
            at: now_ms(),
        })
        .await
        .unwrap();

    // The edit: the spam rule goes, a giveaway rule comes.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&h.app.dir.path().join("rules"), copy.path());
    let file = copy.path().join("10-test.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let without_spam = text.replace(
        "[[rule]]\nid = \"spam-hide\"\n[rule.when]\nwords = [\"spamword\"]\n[rule.then]\nhide = true\n",
        "",
    );
    assert_ne!(without_spam, text, "the spam rule was found in the copy");
    std::fs::write(
        &file,
        format!(
            "{without_spam}\n[[rule]]\nid = \"giveaway-hide\"\ncategory = \"scam\"\n[rule.when]\nwords = [\"giveaway\"]\n[rule.then]\nhide = true\n"
        ),
    )
    .unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["rules", "replay", "--since", "1d", "--json", "--rules"])
        .arg(copy.path())
        .env_clear()
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", h.app.dir.path().join("cg.db").display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["comments"], 200, "{report}");
    let ids_where = |rem: usize| -> BTreeSet<String> {
        ids.iter()
            .enumerate()
            .filter(|(n, _)| n % 5 == rem)
            .map(|(_, id)| id.clone())
            .collect()
    };
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{report}");
    let group = |change: &str| {
        groups
            .iter()
            .find(|g| g["change"] == change)
            .unwrap_or_else(|| panic!("no {change} in {report}"))
    };
    let newly = group("newly_hidden");
    assert_eq!(newly["rule"], "giveaway-hide");
    assert_eq!(newly["category"], "scam");
    assert_eq!(newly["labelled_not_spam"], 1);
    let got: BTreeSet<String> = newly["comment_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ids_where(2));
    let gone = group("no_longer_hidden");
    assert_eq!(gone["rule"], "spam-hide");
    let got: BTreeSet<String> = gone["comment_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ids_where(1));
    assert_eq!(report["changed"], 80);

    // The text report says the labelled one out loud.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_commentguard"))
        .args(["rules", "replay", "--since", "1d", "--rules"])
        .arg(copy.path())
        .env_clear()
        .env(
            "COMMENTGUARD_DATABASE_URL",
            format!("sqlite:{}", h.app.dir.path().join("cg.db").display()),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would now hide 40 comments (rule giveaway-hide, scam)"),
        "{text}"
    );
    assert!(
        text.contains("1 of them a person marked Not spam"),
        "{text}"
    );
}
