//! The pages for a site with no front end, driven in headless Chromium (over
//! chromedriver, with fantoccini) as a person would use them: register in
//! the page, open the link that arrived over SMTP, sign in, ask for a
//! reset, open that link, choose a new password, sign in with it; and the
//! failures a person meets (a weak password, a tampered link) shown in
//! words. A failed step leaves a screenshot under `target/pages-screenshots/`.
//!
//! Chromium and chromedriver are Debian's packages (`.ci/run` installs
//! them); where they are missing the test is skipped, except under
//! `CI=true`, where that fails it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use auth_server::Compat;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::*;
use crate::processes::free_port;
use crate::venv::root;

type Step = Result<(), Box<dyn std::error::Error>>;

/// A chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn found(path: &str) -> bool {
    std::path::Path::new(path).is_file()
}

impl Driver {
    /// chromedriver, or `None` (skip) outside CI when Chromium is missing.
    async fn start() -> Option<Self> {
        let missing: Vec<&str> = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .into_iter()
            .filter(|p| !found(p))
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but {missing:?} are missing (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipped: {missing:?} missing; `apt-get install chromium chromium-driver` runs this test"
            );
            return None;
        }
        let port = free_port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Self { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not listen on {port}");
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1024,900"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

/// The page's visible text.
async fn text(browser: &Client) -> Result<String, fantoccini::error::CmdError> {
    browser.find(Locator::Css("body")).await?.text().await
}

async fn fill(browser: &Client, fields: &[(&str, &str)]) -> Step {
    for (name, value) in fields {
        let input = browser.find(Locator::Id(name)).await?;
        input.clear().await?;
        input.send_keys(value).await?;
    }
    browser.find(Locator::Id("submit")).await?.click().await?;
    Ok(())
}

/// Waits for the page to say `wanted` (a submitted form's answer may still
/// be loading, its old body gone stale).
async fn expect_text(browser: &Client, wanted: &str) -> Step {
    let mut said = String::new();
    for _ in 0..50 {
        if let Ok(now) = text(browser).await {
            if now.contains(wanted) {
                return Ok(());
            }
            said = now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the page never said {wanted:?}; it says: {said}").into())
}

/// Runs `step`; on failure saves a screenshot named after it and fails.
async fn step(browser: &Client, name: &str, step: impl Future<Output = Step>) {
    if let Err(error) = step.await {
        let dir = root().join("target/pages-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let shot = dir.join(format!("{name}.png"));
        if let Ok(png) = browser.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        panic!(
            "step {name} failed: {error} (screenshot: {})",
            shot.display()
        );
    }
}

async fn pages_app() -> (TestApp, String) {
    let port = free_port();
    let root = format!("http://127.0.0.1:{port}");
    let public = root.clone();
    let app = TestApp::spawn(Compat::Safe, move |config| {
        config.bind = format!("127.0.0.1:{port}");
        config.public_url = Some(public);
        // No link bases: the pages serve the links, as on a fresh install.
        config.register_verification_url = None;
        config.reset_password_verification_url = None;
        config.register_email_verification_url = None;
    })
    .await;
    (app, root)
}

#[tokio::test]
async fn pages_take_a_person_from_sign_up_to_a_new_password_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (app, root) = pages_app().await;
    let browser = driver.browser().await;
    let username = name();
    let email = format!("{username}@example.org");
    let page = |path: &str| format!("{root}/accounts/{path}");

    step(&browser, "register", async {
        browser.goto(&page("register/")).await?;
        fill(
            &browser,
            &[
                ("username", &username),
                ("email", &email),
                ("password", "first passphrase 4 pages"),
                ("password_confirm", "first passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, "We sent you a mail").await
    })
    .await;

    let verify = app
        .mailed_link(&email, 1, &format!("{root}/accounts/verify-user/"))
        .await;
    step(&browser, "verify", async {
        browser.goto(&verify).await?;
        expect_text(&browser, "Press the button").await?;
        browser.find(Locator::Id("submit")).await?.click().await?;
        expect_text(&browser, "Your account is verified").await
    })
    .await;

    step(&browser, "sign-in", async {
        browser.goto(&page("login/")).await?;
        fill(
            &browser,
            &[
                ("login", &username),
                ("password", "first passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, &format!("Signed in as {username}")).await
    })
    .await;

    step(&browser, "sign-out", async {
        browser.goto(&page("logout/")).await?;
        browser.find(Locator::Id("submit")).await?.click().await?;
        expect_text(&browser, "Sign in").await?;
        browser.goto(&page("")).await?;
        expect_text(&browser, "Username or e-mail").await
    })
    .await;

    step(&browser, "forgot-password", async {
        browser.goto(&page("forgot-password/")).await?;
        fill(&browser, &[("login", &username)]).await?;
        expect_text(&browser, "a mail with a link to choose a new password").await
    })
    .await;

    let reset = app
        .mailed_link(&email, 2, &format!("{root}/accounts/reset-password/"))
        .await;
    step(&browser, "reset-weak", async {
        browser.goto(&reset).await?;
        fill(
            &browser,
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await?;
        expect_text(&browser, "This password is too short").await
    })
    .await;

    step(&browser, "reset", async {
        fill(
            &browser,
            &[
                ("password", "second passphrase 4 pages"),
                ("password_confirm", "second passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, "Your password is changed").await
    })
    .await;

    step(&browser, "sign-in-again", async {
        browser.goto(&page("login/")).await?;
        fill(
            &browser,
            &[
                ("login", &username),
                ("password", "first passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, "Login or password invalid").await?;
        fill(
            &browser,
            &[
                ("login", &username),
                ("password", "second passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, &format!("Signed in as {username}")).await
    })
    .await;

    step(&browser, "change-password", async {
        browser.goto(&page("change-password/")).await?;
        fill(
            &browser,
            &[
                ("old_password", "second passphrase 4 pages"),
                ("password", "third passphrase 4 pages"),
                ("password_confirm", "third passphrase 4 pages"),
            ],
        )
        .await?;
        expect_text(&browser, "Your password is changed").await
    })
    .await;
    assert_eq!(
        app.login(&username, "third passphrase 4 pages")
            .await
            .status,
        200
    );

    step(&browser, "tampered-link", async {
        browser
            .goto(&verify.replace("signature=", "signature=x"))
            .await?;
        browser.find(Locator::Id("submit")).await?.click().await?;
        expect_text(&browser, "Invalid signature").await
    })
    .await;
    let _ = browser.close().await;
}

#[tokio::test]
async fn pages_refuse_a_form_without_its_csrf_token_and_answer_html() {
    let (app, root) = pages_app().await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client
        .post(format!("{root}/accounts/login/"))
        .form(&[("login", "someone"), ("password", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    // The API beside them answers JSON as always.
    assert_eq!(app.login("someone", "whatever").await.status, 400);
}

#[tokio::test]
async fn pages_are_off_when_the_site_has_its_own_front_end() {
    let app = TestApp::safe().await;
    let root = app.url("").replace("/api/v1/accounts", "");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let status = client
        .get(format!("{root}/accounts/register/"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}
