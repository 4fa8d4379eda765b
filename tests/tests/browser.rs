//! Acceptance in a real browser: headless Chromium, driven through
//! chromedriver's WebDriver protocol, uses the site the way a person does:
//! sign up, ask a question with a fenced code block and two tags, log out,
//! sign up as someone else, answer, vote the question up, log out, log in as
//! the asker, accept the answer, search for a word of the title. Each page is
//! checked for what it should show (issue 15's parts in browser/pages.rs:
//! list rows, pagers, highlighted code, view counts, search marks, comment
//! Markdown, identicons), and home, the question, search and the user page
//! are saved as screenshots at 1280 and 375 px, light and dark
//! (target/screenshots/{home,question,search,user}[-375][-dark].png), where
//! no page may scroll sideways; the dark ones must have the dark background.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver;
//! scripts/test.sh installs them). Without them the test fails: a browser
//! test that skipped would pass with the pages unchecked.

#[path = "browser/pages.rs"]
mod pages;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use testkit::{Cluster, Shape};
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
    // View counts flush every 200 ms here, so the test sees them without waiting 5 s.
    let c = Cluster::start_with(
        "browser",
        Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() },
        &[("SW_VIEWS_FLUSH_MS", "200")],
    );
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
                Ok(0) => break,\n        Err(e) if e.kind() == WouldBlock => continue,\n    }\n}\n\
                let message = \"a long line that must scroll inside the code block and never the page itself, \
                however narrow the screen is, because code keeps its lines whole\";\n```\n\n\
                and the nonblocking socket spins. <script>alert(1)</script>";
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
    pages::check_code(&b);
    assert!(b.count(".question .who svg.avatar") == 1, "the asker's identicon");
    log_out(&b);

    // Someone else answers and votes the question up.
    sign_up(&b, &base, "helper");
    b.goto(&question_url);
    b.type_into("#answer-body", "Register for readiness with **mio** instead of spinning.");
    b.click("form[action$='/answers'] button[type=submit]");
    assert!(b.url().contains("#answer-"), "{}", b.url());
    assert!(b.text_of("article.answer .md").contains("Register for readiness with mio"));
    // A comment with inline Markdown.
    // Opening <details> loads nothing, so not `click` (which waits for a new page).
    b.script("document.querySelector('article.answer details').open = true; return null");
    b.type_into(
        "article.answer textarea[name=body]",
        "Try `poll` *first*, see [mio](https://docs.rs/mio) <script>x</script>",
    );
    b.click("form[action$='/comments'] button[type=submit]");
    pages::check_comment(&b);
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

    // Enough questions for a second page of the front page and of the asker's
    // questions, straight into the database.
    seed_questions(&c.db_url, 35);

    // Every page looked at: home, the thread, search and a user page, at
    // 1280 and 375 px, light and dark; none may scroll sideways.
    let dir = screenshots_dir();
    let views = pages::check_views(&b, &question_url, 1);
    assert!(views >= 1, "the asker's view is counted");
    let search_url = format!("{base}/search?q=nonblocking");
    let user_url = format!("{base}/users/asker");
    for (width, suffix) in [(1280, ""), (375, "-375")] {
        b.resize(width, 1400);
        for dark in [false, true] {
            pages::dark(&b, dark);
            let suffix = if dark { format!("{suffix}-dark") } else { suffix.to_string() };
            b.goto(&format!("{base}/"));
            pages::check_list_rows(&b);
            pages::shoot(&b, &dir, &format!("home{suffix}"));
            b.goto(&question_url);
            pages::check_code(&b);
            pages::shoot(&b, &dir, &format!("question{suffix}"));
            b.goto(&search_url);
            pages::check_list_rows(&b);
            pages::shoot(&b, &dir, &format!("search{suffix}"));
            b.goto(&user_url);
            assert_eq!(b.count(".user-head svg.avatar"), 1, "the user's identicon");
            pages::check_list_rows(&b);
            pages::shoot(&b, &dir, &format!("user{suffix}"));
            if dark {
                let bg = b.script("return getComputedStyle(document.body).backgroundColor");
                assert_eq!(bg, "rgb(20, 22, 26)", "dark background");
            }
        }
    }
    pages::dark(&b, false);
    // The other pages fit at 375 px too.
    b.resize(375, 1400);
    for (path, name) in [("/ask", "ask"), ("/tags", "tags"), ("/tags/rust", "tag")] {
        b.goto(&format!("{base}{path}"));
        pages::shoot(&b, &dir, &format!("{name}-375"));
    }

    // The front page pages on, with rel=next and rel=prev; so does a tag page.
    b.resize(1280, 1400);
    b.goto(&format!("{base}/"));
    pages::check_pager(&b, &format!("{base}/"));
    pages::check_list_rows(&b);
    b.goto(&format!("{base}/tags/seeded"));
    pages::check_pager(&b, &format!("{base}/tags/seeded"));
    b.goto(&user_url);
    pages::check_pager(&b, &user_url);
    assert!(b.url().contains("questions_page=2"), "{}", b.url());

    // Search for a word of the title, from the header's search box.
    b.goto(&format!("{base}/"));
    b.type_into("header form.search input[name=q]", "nonblocking");
    b.click("header form.search button");
    assert!(b.url().contains("/search?q=nonblocking"), "{}", b.url());
    assert!(b.text_of("ol.questions a.title").eq_ignore_ascii_case(TITLE), "{}", b.text_of("ol.questions a.title"));
    assert!(b.source().contains(&format!("href=\"{}\"", question_url.trim_start_matches(&base))));
    pages::check_search(&b, &base, "nonblocking");
}

/// `n` questions by the asker, tagged `seeded`, older than the ones the
/// test posted (the asking limit would take minutes through the forms).
fn seed_questions(db_url: &str, n: i64) {
    let mut db = postgres::Client::connect(db_url, postgres::NoTls).expect("connect to the cluster's database");
    db.batch_execute(&format!(
        "INSERT INTO questions (title, body, author_id, created_at)
             SELECT 'Seeded question ' || i, 'Body of **seeded** question ' || i || ' with `code` in it.',
                    (SELECT id FROM users WHERE username = 'asker'), now() - i * interval '1 hour'
             FROM generate_series(1, {n}) AS i;
         INSERT INTO question_tags (question_id, tag, position)
             SELECT id, 'seeded', 1 FROM questions WHERE title LIKE 'Seeded question %';"
    ))
    .expect("seed questions");
}

#[test]
fn base64_decodes_what_webdriver_sends() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
    assert_eq!(base64_decode("iVBORw0K\nGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
    assert_eq!(base64_decode("").unwrap(), b"");
    assert!(base64_decode("a$b").is_none());
}
