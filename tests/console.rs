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
