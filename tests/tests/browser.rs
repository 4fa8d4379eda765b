//! Acceptance in a real browser: headless Chromium, driven through
//! chromedriver's WebDriver protocol, uses the site the way a person does:
//! sign up, ask a question with a fenced code block and two tags, log out,
//! sign up as someone else, answer, vote the question up, log out, log in as
//! the asker, accept the answer, search for a word of the title. Each page is
//! checked for what it should show, and the question page is saved as a
//! screenshot at desktop width and at 375 px (target/screenshots/question.png
//! and question-375.png), where it must not scroll sideways; at 375 px it is
//! also shown in dark mode (question-375-dark.png, and the front, ask, user
//! and tags pages as *-375-dark.png), whose background must then be the
//! dark one, and where no page may scroll sideways either.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver;
//! scripts/test.sh installs them). Without them the test fails: a browser
//! test that skipped would pass with the pages unchecked.

#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use tests::{Cluster, Shape};
use webdriver::{base64_decode, find_binary, Driver, Session};

const TITLE: &str = "Why does my nonblocking socket return WouldBlock?";

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

fn sign_up(b: &Session, base: &str, name: &str) {
    b.goto(&format!("{base}/signup"));
    b.type_into("#username", name);
    b.type_into("#password", &format!("password of {name}"));
    b.click("form[action='/signup'] button[type=submit]");
    if b.url() != format!("{base}/") {
        panic!("sign up as {name} did not go home but to {}:\n{}", b.url(), b.source());
    }
    assert_eq!(b.text_of("header .me a"), name, "the header shows the user");
}

fn log_in(b: &Session, base: &str, name: &str) {
    b.goto(&format!("{base}/login"));
    b.type_into("#username", name);
    b.type_into("#password", &format!("password of {name}"));
    b.click("form[action='/login'] button[type=submit]");
    assert_eq!(b.text_of("header .me a"), name, "logged in");
}

fn log_out(b: &Session) {
    b.click("form[action='/logout'] button");
    assert!(b.source().contains(">Log in</a>"), "logged out");
}

#[test]
fn a_person_asks_answers_votes_accepts_and_searches_in_chromium() {
    let chromium = find_binary(&["chromium", "chromium-browser", "google-chrome"])
        .expect("chromium is not installed: apt-get install chromium chromium-driver (scripts/test.sh does)");
    let chromedriver = find_binary(&["chromedriver", "/usr/lib/chromium/chromedriver"])
        .expect("chromedriver is not installed: apt-get install chromium-driver (scripts/test.sh does)");
    let c = Cluster::start("browser", Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() });
    let base = format!("http://{}", c.balancer().addr);
    // A fresh profile; canonical, because Chromium cannot be found by
    // chromedriver through a user-data-dir with `..` in it.
    let profile = c.dir.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).expect("profile dir");
    let profile = std::fs::canonicalize(&profile).expect("canonical profile dir");
    let driver = Driver::start(&chromedriver, &c.dir.join("chromedriver.log"));
    let b = driver.session(&chromium, &profile);

    // The asker signs up and asks, with a fenced code block and two tags.
    sign_up(&b, &base, "asker");
    b.goto(&format!("{base}/ask"));
    b.type_into("#title", TITLE);
    let body = "I call `read` in a loop:\n\n```rust\nloop {\n    match sock.read(&mut buf) {\n        \
                Ok(0) => break,\n        Err(e) if e.kind() == WouldBlock => continue,\n    }\n}\n```\n\n\
                and it spins. <script>alert(1)</script>";
    b.type_into("#body", body);
    b.type_into("#tags", "rust sockets");
    b.click("form[action='/ask'] button[type=submit]");
    let question_url = b.url();
    assert!(question_url.starts_with(&format!("{base}/questions/")), "{question_url}");
    assert_eq!(b.text_of("h1"), TITLE);
    let code = b.text_of(".question pre code");
    assert!(code.contains("    match sock.read(&mut buf) {"), "indentation kept: {code:?}");
    let font = b.script("return getComputedStyle(document.querySelector('.question pre code')).fontFamily");
    assert!(font.as_str().unwrap_or("").contains("monospace"), "{font}");
    assert_eq!(b.count(".question a.tag"), 2);
    assert_eq!(b.count("script"), 0, "the body's script tag is text");
    assert!(b.text_of(".question .md").contains("<script>alert(1)</script>"));
    log_out(&b);

    // Someone else answers and votes the question up.
    sign_up(&b, &base, "helper");
    b.goto(&question_url);
    b.type_into("#answer-body", "Register for readiness with **mio** instead of spinning.");
    b.click("form[action$='/answers'] button[type=submit]");
    assert!(b.url().contains("#answer-"), "{}", b.url());
    assert!(b.text_of("article.answer .md").contains("Register for readiness with mio"));
    b.click(".question .votes form:first-child button");
    assert_eq!(b.text_of(".question .votes .score"), "1");
    assert_eq!(b.count(".question .votes button.on"), 1, "the vote shows pressed");
    log_out(&b);

    // The asker accepts the answer.
    log_in(&b, &base, "asker");
    b.goto(&question_url);
    b.click("form[action$='/accept'] button");
    assert_eq!(b.count("article.answer.accepted"), 1);
    assert!(b.text_of("article.answer.accepted").contains("Accepted answer"));
    assert_eq!(b.count("form[action$='/accept']"), 0, "nothing left to accept");

    // The question page at desktop width and at 375 px, saved for a look.
    let dir = screenshots_dir();
    b.goto(&question_url);
    b.resize(1280, 1400);
    std::fs::write(dir.join("question.png"), b.screenshot()).expect("write question.png");
    b.resize(375, 1400);
    b.goto(&question_url);
    let width = b.script("return document.documentElement.clientWidth").as_i64().unwrap_or(0);
    let scroll = b.script("return document.documentElement.scrollWidth").as_i64().unwrap_or(0);
    let png = b.screenshot();
    std::fs::write(dir.join("question-375.png"), &png).expect("write question-375.png");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(width <= 400, "the window did not narrow: {width}");
    assert!(scroll <= width, "the page scrolls sideways at {width} px: {scroll} px wide");

    // The same page in dark mode: the palette switches with the system's.
    b.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(serde_json::json!({"cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}})),
    );
    b.goto(&question_url);
    let bg = b.script("return getComputedStyle(document.body).backgroundColor");
    assert_eq!(bg, "rgb(20, 22, 26)", "dark background");
    std::fs::write(dir.join("question-375-dark.png"), b.screenshot()).expect("write question-375-dark.png");
    // The other pages fit too (saved for a look, not compared).
    for (path, name) in [("/", "home"), ("/ask", "ask"), ("/users/asker", "user"), ("/tags", "tags")] {
        b.goto(&format!("{base}{path}"));
        let scroll = b.script("return document.documentElement.scrollWidth").as_i64();
        assert_eq!(scroll, Some(width), "{path} scrolls sideways at {width} px");
        std::fs::write(dir.join(format!("{name}-375-dark.png")), b.screenshot()).expect("write a screenshot");
    }
    b.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(serde_json::json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": []}})),
    );

    // Search for a word of the title, from the header's search box.
    b.resize(1280, 1400);
    b.goto(&format!("{base}/"));
    b.type_into("header form.search input[name=q]", "nonblocking");
    b.click("header form.search button");
    assert!(b.url().contains("/search?q=nonblocking"), "{}", b.url());
    assert_eq!(b.text_of("ol.questions a.title"), TITLE);
    assert!(b.source().contains(&format!("href=\"{}\"", question_url.trim_start_matches(&base))));
}

#[test]
fn base64_decodes_what_webdriver_sends() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
    assert_eq!(base64_decode("iVBORw0K\nGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
    assert_eq!(base64_decode("").unwrap(), b"");
    assert!(base64_decode("a$b").is_none());
}
