//! The browser test kit shared by the review-page tests: chromedriver and headless Chromium,
//! sign-in, clicks (the service they drive comes from `service`).
#![allow(dead_code)]

pub use super::service::*;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

/// chromedriver on a free port in its own process group; dropping it (also when an assertion
/// fails) ends the group, the browser it started included.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

pub async fn start_driver() -> Driver {
    let exe = which("chromedriver").expect(
        "chromedriver not found: run .ci/install-browser (Debian's chromium and chromium-driver)",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

pub async fn browser(driver: &Driver, profile: &std::path::Path) -> fantoccini::Client {
    let binary = which("chromium").expect("chromium not found: run .ci/install-browser");
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

/// False (after saying NOT RUN) when Chromium or its driver is missing; under `.ci/test`
/// (COMMENTGUARD_TEST_REQUIRE_ALL=1) a missing browser fails the test instead.
pub fn browser_available(test: &str) -> bool {
    if which("chromedriver").is_some() && which("chromium").is_some() {
        return true;
    }
    if std::env::var("COMMENTGUARD_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("chromedriver or chromium not found: run .ci/install-browser (Debian's chromium and chromium-driver)");
    }
    // Past the harness's output capture: the terminal says what did not run.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN: the review page's browser test {test}: chromium and chromedriver are missing (bash .ci/install-browser installs them; .ci/test runs everything)"
    );
    false
}

/// Clicks the element `css` selects.
pub async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The notice of the page a form post led to, once the address says `marker`: the page before
/// the click had a notice too.
pub async fn notice_after(c: &fantoccini::Client, marker: &str) -> String {
    wait_for("the page after the click", async || {
        let url = c.current_url().await.ok()?;
        url.as_str().contains(marker).then_some(())
    })
    .await;
    c.wait()
        .for_element(Locator::Id("notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn sign_in(c: &fantoccini::Client, admin: &str, name: &str, password: &str) {
    c.goto(&format!("{admin}/review/login")).await.unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The sign-in answers with a redirect to the review page: wait until it has loaded, so
    // that a page the test opens next is not replaced by the end of this navigation.
    super::wait::wait_until(
        "the page after signing in",
        Duration::from_secs(60),
        async || {
            let url = c.current_url().await.map_err(|e| e.to_string())?;
            let ready = c
                .execute("return document.readyState", vec![])
                .await
                .map_err(|e| e.to_string())?;
            if url.path().ends_with("/review/login") || ready != json!("complete") {
                return Err(format!("at {url}, {ready}"));
            }
            Ok(())
        },
    )
    .await;
}
