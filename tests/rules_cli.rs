//! `commentguard rules ...` as a brand team or a script runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The command with its input and output piped, and no rules folder from the environment.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_commentguard"));
    c.args(args)
        .env_remove("COMMENTGUARD_RULES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn commentguard(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(args).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pack() -> String {
    format!("{}/rules", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_reports_every_error_with_file_line_and_column_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[[rule]]\nid = \"ok\"\n[rule.when]\nwrods = [\"x\"]\nregex = '(broken'\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    let out = commentguard(
        &["rules", "check", "--rules", dir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let file = dir.path().join("a.toml").display().to_string();
    assert!(
        stdout.contains(&format!("{file}:4:1: unknown key `wrods`"))
            && stdout.contains("did you mean `words`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}:5:9: invalid regex")),
        "{stdout}"
    );
}

#[test]
fn check_and_test_pass_on_the_shipped_pack() {
    let out = commentguard(&["rules", "check", "--rules", &pack()], None);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = commentguard(&["rules", "test", "--rules", &pack()], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");
}

#[test]
fn test_prints_failures_and_the_count_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[[rule]]\nid = \"r\"\nexamples = { hit = [\"spam\"], miss = [\"spam here\"] }\n[rule.when]\nwords = [\"spam\"]\n[rule.then]\nhide = true\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("tests/t.toml"),
        "[[case]]\ntext = \"no\"\nexpect = []\n\n[[case]]\ntext = \"spam\"\nexpect = []\n",
    )
    .unwrap();
    let out = commentguard(
        &["rules", "test", "--rules", dir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("should not match but did: \"spam here\""),
        "{stdout}"
    );
    assert!(stdout.contains("t.toml:5:1:"), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some("2 passed, 2 failed"),
        "{stdout}"
    );
}

#[test]
fn eval_answers_each_line_in_order_and_survives_a_bad_line() {
    let input = concat!(
        r#"{"text": "buy real followers cheap", "comment_id": "1"}"#,
        "\n",
        "this is not json\n",
        r#"{"text": "what a lovely dress", "comment_id": "2", "username": "ann"}"#,
        "\n",
        r#"{"text": "Thanks to Mrs Anna my bitcoin profit is 5x", "comment_id": "3", "kind": "mention"}"#,
        "\n",
    );
    let out = commentguard(&["rules", "eval", "--rules", &pack()], Some(input));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["comment_id"], "1");
    assert_eq!(lines[0]["actions"], serde_json::json!(["hide"]));
    assert_eq!(lines[0]["matched"][0]["rule"], "follower-selling");
    assert_eq!(lines[0]["matched"][0]["mode"], "enforce");
    assert_eq!(
        lines[0]["matched"][0]["actions"],
        serde_json::json!(["hide"])
    );
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("bad input line 2: "));
    assert_eq!(lines[2]["comment_id"], "2");
    assert_eq!(lines[2]["actions"], serde_json::json!([]));
    // A mention matched, but hide cannot apply to someone else's media.
    assert_eq!(lines[3]["comment_id"], "3");
    assert_eq!(lines[3]["matched"][0]["rule"], "investment-testimonial");
    assert_eq!(lines[3]["actions"], serde_json::json!([]));
}

#[test]
fn explain_shows_normalized_text_evidence_as_written_and_decision() {
    let out = commentguard(
        &[
            "rules",
            "explain",
            "--rules",
            &pack(),
            "--username",
            "x",
            "Get 𝐟𝐫𝐞𝐞 followers now",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("normalized: \"get free followers now\""),
        "{stdout}"
    );
    assert!(stdout.contains("matched follower-selling"), "{stdout}");
    assert!(stdout.contains("\"𝐟𝐫𝐞𝐞 followers\""), "{stdout}");
    assert!(stdout.contains("decision: hide"), "{stdout}");

    let out = commentguard(
        &[
            "rules",
            "explain",
            "--rules",
            &pack(),
            "--json",
            "lovely dress",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["normalized"], "lovely dress");
    assert_eq!(v["actions"], serde_json::json!([]));
}

#[test]
fn explain_names_the_unless_that_let_a_trusted_author_through() {
    let out = commentguard(
        &[
            "rules",
            "explain",
            "--rules",
            &pack(),
            "--username",
            "brand_team_example",
            "i made $70k with @gabrielrayfx",
        ],
        None,
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains(
            "let through by investment-testimonial's [rule.unless]: author @brand_team_example"
        ),
        "{shown}"
    );
    assert!(shown.contains("decision: nothing"), "{shown}");
}

/// A script that talks to `rules eval` one comment at a time gets each answer before it sends
/// the next comment (answers are written out whenever no more input is waiting).
#[test]
fn eval_answers_a_line_before_the_next_arrives() {
    use std::io::BufRead;
    let mut child = command(&["rules", "eval", "--rules", &pack()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for (id, text) in [
        ("1", "buy real followers cheap"),
        ("2", "what a lovely dress"),
    ] {
        writeln!(input, r#"{{"text": "{text}", "comment_id": "{id}"}}"#).unwrap();
        input.flush().unwrap();
        // The input stays open: the answer must come without it being closed.
        let answer = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("an answer while the input is still open");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["comment_id"], id);
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}
