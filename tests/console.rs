//! The review console as a brand team works it down to zero, in headless Chromium (issue 26):
//! the Needs-review queue puts the comment the rules were unsure of first, one click (or one
//! key) settles it and stores a label, several are settled at once, a new decision appears
//! without a reload, a saved reply is picked and sent, the queue's size is a metric; and the
//! pages fit a phone and a wide screen. The same test takes the README's screenshots:
//! `COMMENTGUARD_SCREENSHOTS=docs/screenshots cargo test --test console` writes them there.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/install-browser`); see
//! tests/review_page.rs for what happens without them.

use std::time::Duration;

use commentguard::store::Label;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::Locator;

mod common;

use common::browser::*;

/// The service with a shadow rule beside the kit's `test-forex` (which hides "forex"): a
/// comment saying "giveaway" is one the rules were unsure of.
async fn service() -> Service {
    start_service(|dir| {
        std::fs::write(
            dir.join("rules").join("shadow.toml"),
            "[[rule]]\nid = \"giveaway-trial\"\nmode = \"shadow\"\ncategory = \"scam\"\n[rule.when]\nwords = [\"giveaway\"]\n[rule.then]\nhide = true\n",
        )
        .unwrap();
        Vec::new()
    })
    .await
}

/// Presses one key on the page, as a person does (a WebDriver key action, not a made-up event).
async fn press(c: &fantoccini::Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    c.perform_actions(keys).await.unwrap();
}

/// The comment ids of the cards on the page, top to bottom.
async fn cards(c: &fantoccini::Client) -> Vec<String> {
    let mut out = Vec::new();
    for a in c.find_all(Locator::Css("article.decision")).await.unwrap() {
        out.push(a.attr("data-comment-id").await.unwrap().unwrap_or_default());
    }
    out
}

/// Did the fake Graph API get a POST to `path` whose body has `needle`?
fn graph_got(svc: &Service, path: &str, needle: &str) -> bool {
    svc.seen.lock().unwrap().iter().any(|(m, uri, body)| {
        m == "POST" && uri.contains(path) && (uri.contains(needle) || body.contains(needle))
    })
}

async fn label_of(svc: &Service, comment: &str) -> Option<Label> {
    svc.store
        .labels_for(&[comment.to_string()])
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.comment_id == comment)
        .map(|l| l.label)
}

#[tokio::test]
async fn the_queue_is_worked_down_with_one_click_keys_and_a_bulk_action() {
    if !browser_available("the_queue_is_worked_down_with_one_click_keys_and_a_bulk_action") {
        return;
    }
    let svc = service().await;
    // Oldest first: the unsure one is the oldest, so only the queue's order puts it on top.
    svc.comment("c-unsure", "promo_page", "huge giveaway on my page")
        .await;
    svc.comment("c-plain", "happy_customer", "love the new colours")
        .await;
    svc.comment("c-forex-1", "fx_one", "forex signals in bio")
        .await;
    svc.comment("c-forex-2", "fx_two", "best forex mentor")
        .await;
    svc.comment("c-forex-3", "fx_three", "forex pays my rent")
        .await;

    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &svc.admin, "Dana", ADMIN).await;
    c.goto(&format!("{}/review?queue=review", svc.admin))
        .await
        .unwrap();
    // The navigation bar is there, with the queue marked as the page shown.
    let here = c.find(Locator::Css("nav a[aria-current]")).await.unwrap();
    assert_eq!(
        here.attr("id").await.unwrap().as_deref(),
        Some("needs-review")
    );
    let queued = cards(&c).await;
    assert_eq!(
        queued,
        ["c-unsure", "c-forex-3", "c-forex-2", "c-forex-1"],
        "the unsure comment first, then the rules' unconfirmed hides; the plain one is not queued"
    );
    let why = c
        .find(Locator::Css("article[data-comment-id='c-unsure'] .unsure"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(why.contains("giveaway-trial"), "{why}");

    // The queue's size is a metric while it waits.
    let metrics = reqwest::get(format!("{}/metrics", svc.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "commentguard_review_queue_size{{account=\"{ACCOUNT}\"}} 4"
        )),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("queue_size"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Keys: j to the first card, h settles it as Spam: hidden on Instagram and labelled.
    press(&c, 'j').await;
    press(&c, 'h').await;
    let notice = notice_after(&c, "hidden=c-unsure").await;
    assert!(notice.contains("counts as Spam"), "{notice}");
    wait_for("the hide of c-unsure to reach the Graph API", async || {
        graph_got(&svc, "/c-unsure", "hide=true").then_some(())
    })
    .await;
    assert_eq!(label_of(&svc, "c-unsure").await, Some(Label::Spam));
    // Back on the queue (the click returned to the page it came from), without it.
    assert!(c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("queue=review"));
    assert_eq!(cards(&c).await, ["c-forex-3", "c-forex-2", "c-forex-1"]);

    // One click on the first hidden one: the rules were right, keep it hidden.
    click(
        &c,
        "article[data-comment-id='c-forex-3'] button.settle-spam",
    )
    .await;
    notice_after(&c, "labelled=c-forex-3").await;
    assert_eq!(label_of(&svc, "c-forex-3").await, Some(Label::Spam));

    // Select two and say Not spam once: both shown again and labelled.
    for id in ["c-forex-2", "c-forex-1"] {
        click(&c, &format!("article[data-comment-id='{id}'] input.select")).await;
    }
    click(&c, "#bulk-not-spam").await;
    let notice = notice_after(&c, "settled=2").await;
    assert!(
        notice.contains("2 comments settled as Not spam"),
        "{notice}"
    );
    wait_for("both unhides to reach the Graph API", async || {
        (graph_got(&svc, "/c-forex-2", "hide=false") && graph_got(&svc, "/c-forex-1", "hide=false"))
            .then_some(())
    })
    .await;
    for id in ["c-forex-2", "c-forex-1"] {
        assert_eq!(label_of(&svc, id).await, Some(Label::NotSpam), "{id}");
    }
    let empty = c.find(Locator::Id("empty")).await.unwrap();
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("Nothing waits for review"));
    let metrics = reqwest::get(format!("{}/metrics", svc.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(&format!(
        "commentguard_review_queue_size{{account=\"{ACCOUNT}\"}} 0"
    )));

    // A new unsure comment appears in the open queue without a reload.
    let before = c.current_url().await.unwrap();
    svc.comment("c-new", "promo_two", "giveaway time, dm me")
        .await;
    wait_for("the new decision to appear on the open page", async || {
        c.find(Locator::Css("article.fresh[data-comment-id='c-new']"))
            .await
            .ok()
    })
    .await;
    assert_eq!(c.current_url().await.unwrap(), before, "no reload");
    let note = c.find(Locator::Id("live-note")).await.unwrap();
    assert!(note.text().await.unwrap().contains("1 new decision"));

    // A saved reply, kept for the account, picked in a card and sent with the name filled in.
    c.goto(&format!("{}/review/replies", svc.admin))
        .await
        .unwrap();
    for (id, text) in [
        ("reply-account", ACCOUNT),
        ("reply-title", "Thanks"),
        ("reply-text", "Thank you {author}, glad you like it!"),
    ] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    click(&c, "#save-reply").await;
    let saved = c
        .wait()
        .for_element(Locator::Id("replies"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        saved.contains("Thanks") && saved.contains("Dana"),
        "{saved}"
    );
    c.goto(&format!("{}/review", svc.admin)).await.unwrap();
    let card = "article[data-comment-id='c-plain']";
    c.find(Locator::Css(&format!("{card} select.saved-reply")))
        .await
        .unwrap()
        .select_by_value("Thanks")
        .await
        .unwrap();
    let filled = c
        .find(Locator::Css(&format!("{card} input.reply-text")))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(filled, "Thank you {author}, glad you like it!");
    click(&c, &format!("{card} button.reply")).await;
    notice_after(&c, "replied=c-plain").await;
    wait_for("the saved reply to reach the Graph API", async || {
        graph_got(&svc, "/c-plain/replies", "Thank+you+happy_customer").then_some(())
    })
    .await;

    c.close().await.unwrap();
    svc.stop.cancel();
}

/// Is every page free of horizontal scrolling, and on a wide screen is each card's row of
/// actions one row?
const NO_SIDEWAYS: &str = "return document.documentElement.scrollWidth <= window.innerWidth + 1;";
const ONE_ROW: &str = "return Array.from(document.querySelectorAll('article.decision')).map(a => {\
    const tops = Array.from(a.querySelectorAll('.bar button, .bar input[type=text], .bar select')).map(e => e.getBoundingClientRect().top);\
    return Math.max(...tops) - Math.min(...tops);\
});";

#[tokio::test]
async fn the_console_fits_a_phone_and_a_wide_screen() {
    if !browser_available("the_console_fits_a_phone_and_a_wide_screen") {
        return;
    }
    let svc = service().await;
    svc.comment("c-1", "promo_page", "huge giveaway on my page, check it")
        .await;
    svc.comment("c-2", "fx_trader", "forex signals in my bio, 500% a week")
        .await;
    svc.comment(
        "c-3",
        "happy_customer",
        "Ordered the linen shirt in sage and it fits perfectly, thank you! @anna you need this",
    )
    .await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &svc.admin, "Dana", ADMIN).await;
    // Each card says where the comment is: the account's @username and the post, with its
    // caption.
    c.goto(&format!("{}/review", svc.admin)).await.unwrap();
    let meta = c
        .find(Locator::Css("article[data-comment-id='c-3'] .meta"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        meta.contains("on @brand_account") && meta.contains("“Linen shirts are back"),
        "{meta}"
    );
    let shots = std::env::var_os("COMMENTGUARD_SCREENSHOTS").map(std::path::PathBuf::from);
    let pages = [
        ("review-queue", "/review?queue=review"),
        ("review-all", "/review"),
        ("try", "/review/try?text=forex+signals+in+bio"),
        ("rules", "/review/rules"),
        ("saved-replies", "/review/replies"),
    ];
    for (width, height) in [(1280u32, 900u32), (390, 844)] {
        c.set_window_size(width, height).await.unwrap();
        for (name, path) in pages {
            c.goto(&format!("{}{path}", svc.admin)).await.unwrap();
            c.wait()
                .for_element(Locator::Css("header nav"))
                .await
                .unwrap();
            let fits = c.execute(NO_SIDEWAYS, vec![]).await.unwrap();
            assert_eq!(
                fits,
                serde_json::json!(true),
                "{path} scrolls sideways at {width} px"
            );
            if width >= 1280 && (path == "/review" || path.starts_with("/review?")) {
                let spreads = c.execute(ONE_ROW, vec![]).await.unwrap();
                let spreads: Vec<f64> = serde_json::from_value(spreads).unwrap();
                assert!(!spreads.is_empty(), "{path}: no cards");
                assert!(
                    spreads.iter().all(|s| *s < 8.0),
                    "{path} at {width} px: actions on more than one row ({spreads:?})"
                );
            }
            let png = c.screenshot().await.unwrap();
            assert!(
                png.starts_with(b"\x89PNG") && png.len() > 5_000,
                "{path}: a real picture"
            );
            if let Some(dir) = &shots {
                if width >= 1280 || name == "review-queue" {
                    std::fs::create_dir_all(dir).unwrap();
                    let file = dir.join(format!("{name}-{width}.png"));
                    std::fs::write(&file, &png).unwrap();
                }
            }
        }
    }
    c.close().await.unwrap();
    svc.stop.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The README's two quick-start blocks, as written: the serve command's settings and
/// arguments, and the `users add` arguments (`cargo run --release --` stands for the binary).
fn quick_start() -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme
        .find("## The two commands")
        .expect("the README's quick start")..];
    let blocks: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .take(2)
        .map(|b| b.split("```").next().unwrap().replace("\\\n", " "))
        .collect();
    let words = |b: &str| -> Vec<String> { b.split_whitespace().map(str::to_string).collect() };
    let serve = words(&blocks[0]);
    let env: Vec<(String, String)> = serve
        .iter()
        .take_while(|w| *w != "cargo")
        .map(|w| {
            let (k, v) = w.split_once('=').expect("KEY=VALUE before the command");
            (k.to_string(), v.to_string())
        })
        .collect();
    let after_dashes = |ws: Vec<String>| -> Vec<String> {
        let i = ws
            .iter()
            .position(|w| w == "--")
            .expect("cargo run ... -- ARGS");
        ws[i + 1..].to_vec()
    };
    (env, after_dashes(serve), after_dashes(words(&blocks[1])))
}

/// The quick start followed as written ends on a signed-in review page: `serve` with only the
/// README's two settings (on free ports instead of 8080 and 9090, so the test never collides),
/// `users add` in a second terminal, its printed password typed into the sign-in page.
#[tokio::test]
async fn the_readmes_quick_start_ends_on_a_signed_in_review_page() {
    if !browser_available("the_readmes_quick_start_ends_on_a_signed_in_review_page") {
        return;
    }
    let (env, serve_args, add_args) = quick_start();
    assert_eq!(serve_args, ["serve"]);
    assert!(env.iter().any(|(k, _)| k == "COMMENTGUARD_APP_SECRET"));
    assert!(add_args.starts_with(&["users".into(), "add".into()]));
    // A fresh clone: the commands run in its folder, which holds the shipped rules.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &dir.path().join("rules"),
    );
    let port = |_| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (public, admin) = (port(0), port(1));
    let command = |args: &[String]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_commentguard"));
        c.args(args).current_dir(dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("COMMENTGUARD_") {
                c.env_remove(k);
            }
        }
        for (k, v) in &env {
            c.env(k, v);
        }
        c.env("COMMENTGUARD_LISTEN", format!("127.0.0.1:{public}"))
            .env("COMMENTGUARD_ADMIN_LISTEN", format!("127.0.0.1:{admin}"));
        c
    };
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _serve = Killed(
        command(&serve_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let admin_url = format!("http://127.0.0.1:{admin}");
    // Loading the shipped pack's models in a debug build on a busy CI machine can take a
    // while: a longer wait than the kit's.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !reqwest::get(format!("http://127.0.0.1:{public}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let add_args: Vec<String> = add_args
        .iter()
        .map(|a| a.replace("YOUR-NAME", "Robin"))
        .collect();
    let out = command(&add_args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("users add prints a password: {printed}"))
        .trim()
        .to_string();

    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    sign_in(&c, &admin_url, "Robin", &password).await;
    let who = c
        .wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(who, "Robin (admin)");
    assert_eq!(c.current_url().await.unwrap().path(), "/review");
    // Without an access token the quick start runs dry, and the page says so.
    assert!(c.find(Locator::Id("dry-run")).await.is_ok());
    c.close().await.unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
