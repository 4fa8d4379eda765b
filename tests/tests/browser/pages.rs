//! The browser checks of issue 15's page parts, each on a real page in
//! Chromium: list rows (excerpt, counts, author with reputation and
//! identicon, relative time with the exact one in `title`), the tab row
//! without a scrollbar, numbered pagers with rel=prev/next, highlighted code
//! that scrolls inside its block, view counts, search headlines with
//! `<mark>` and the query kept in the one search box, inline Markdown in
//! comments, and every page at 375 px without sideways scrolling, light and
//! dark. Screenshots go to target/screenshots/ for a person to look at.

use crate::webdriver::Session;
use std::path::Path;
use std::time::{Duration, Instant};

/// The document's width and scroll width, in CSS pixels.
fn widths(b: &Session) -> (i64, i64) {
    let w = b.script("return document.documentElement.clientWidth").as_i64().unwrap_or(0);
    let s = b.script("return document.documentElement.scrollWidth").as_i64().unwrap_or(0);
    (w, s)
}

/// Saves the page as `name.png` after checking it does not scroll sideways.
pub fn shoot(b: &Session, dir: &Path, name: &str) {
    let (w, s) = widths(b);
    assert!(s <= w, "{name}: the page scrolls sideways at {w} px ({s} px wide): {}", b.url());
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap_or_else(|e| panic!("write {name}.png: {e}"));
}

/// Turns dark mode on or off for the pages loaded next.
pub fn dark(b: &Session, on: bool) {
    let features =
        if on { serde_json::json!([{"name": "prefers-color-scheme", "value": "dark"}]) } else { serde_json::json!([]) };
    b.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(serde_json::json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": features}})),
    );
}

/// A list page's rows: excerpt without Markdown, the three counts, author
/// with identicon and reputation, relative time with the exact time in
/// `title`; the tab row has no scrollbar.
pub fn check_list_rows(b: &Session) {
    assert!(b.count("ol.questions > li") >= 1, "rows on {}", b.url());
    let excerpt = b.text_of("ol.questions > li .excerpt");
    assert!(!excerpt.is_empty() && !excerpt.contains("```") && !excerpt.contains("**"), "excerpt {excerpt:?}");
    let lines = b.script(
        "const e = document.querySelector('ol.questions > li .excerpt'); \
         return Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))",
    );
    assert!(lines.as_i64().is_some_and(|n| (1..=2).contains(&n)), "the excerpt is at most two lines: {lines}");
    for part in [".n-votes", ".n-answers", ".n-views", ".who .rep", ".who svg.avatar", "time[title][datetime]"] {
        assert!(b.count(&format!("ol.questions > li {part}")) >= 1, "{part} on {}", b.url());
    }
    let time = b.text_of("ol.questions > li time");
    assert!(time.ends_with("ago") || time == "just now" || time.starts_with("on "), "relative time {time:?}");
    let title = b.script("return document.querySelector('ol.questions > li time').title").to_string();
    assert!(title.contains("UTC"), "exact time in the title: {title}");
    if b.count("nav.tabs") > 0 {
        let scroll = b.script(
            "const t = document.querySelector('nav.tabs'); \
             const s = getComputedStyle(t); return [t.scrollWidth - t.clientWidth, s.overflowX, s.overflowY]",
        );
        // Not a scroll container at all: nothing for a scrollbar to appear on.
        assert_eq!(scroll, serde_json::json!([0, "visible", "visible"]), "the tab row has no scrollbar");
    }
}

/// A numbered pager with rel=next on the first page, rel=prev on the next.
pub fn check_pager(b: &Session, base: &str) {
    assert!(b.count("nav.pager span.on[aria-current=page]") == 1, "a pager on {}", b.url());
    assert!(b.count("nav.pager a[rel=next]") == 1, "rel=next on {}", b.url());
    assert_eq!(b.count("nav.pager a[rel=prev]"), 0, "no previous page on page 1");
    b.click("nav.pager a[rel=next]");
    assert!(b.url().starts_with(base), "{}", b.url());
    assert_eq!(b.text_of("nav.pager span.on"), "2");
    assert_eq!(b.count("nav.pager a[rel=prev]"), 1, "rel=prev on page 2");
}

/// The question's code block is highlighted (keywords coloured unlike the
/// text) and a long line scrolls inside the block, not the page.
pub fn check_code(b: &Session) {
    assert!(b.count(".question pre.hl code.language-rust span.k") >= 1, "keywords in spans");
    let colours = b.script(
        "const c = document.querySelector('.question pre.hl code'); const k = c.querySelector('span.k'); \
         return [getComputedStyle(c).color, getComputedStyle(k).color]",
    );
    assert_ne!(colours[0], colours[1], "keywords stand out: {colours}");
    let pre = b.script(
        "const p = document.querySelector('.question pre.hl'); return [p.scrollWidth > p.clientWidth, \
         getComputedStyle(p).overflowX]",
    );
    assert_eq!(pre, serde_json::json!([true, "auto"]), "the long line scrolls inside the block");
    let (w, s) = widths(b);
    assert!(s <= w, "the page itself does not scroll sideways ({s} > {w})");
}

/// Reloads the question page until it shows at least `min` views (the
/// webui flushes every 200 ms in this test), at most 15 s.
pub fn check_views(b: &Session, url: &str, min: i64) -> i64 {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        b.goto(url);
        let text = b.text_of(".post-meta .n-views");
        let n = text.split_whitespace().nth(1).and_then(|n| n.parse::<i64>().ok()).unwrap_or(-1);
        if n >= min {
            return n;
        }
        assert!(Instant::now() < end, "the view count stays at {text:?}, wanted {min}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Search results: the query stays in the header's box, the page has one
/// search box, matches are marked in titles and excerpts; no results with a
/// tag filter offers the search without it.
pub fn check_search(b: &Session, base: &str, word: &str) {
    assert_eq!(b.count("input[type=search]"), 1, "one search box on the results page");
    let kept = b.script("return document.querySelector('header form.search input[name=q]').value");
    assert_eq!(kept.as_str(), Some(word), "the header box keeps the query");
    let marked = b.text_of("ol.questions a.title mark");
    assert!(marked.eq_ignore_ascii_case(word), "the title's match is marked: {marked:?}");
    assert!(b.count("ol.questions .excerpt mark") >= 1, "the excerpt's match is marked");
    b.goto(&format!("{base}/search?q={word}+%5Bnosuchtag%5D"));
    assert!(b.text_of(".empty").contains("Nothing matches"));
    let href = b.script("return document.querySelector('ul.suggest a').getAttribute('href')");
    assert_eq!(href.as_str(), Some(format!("/search?q={word}").as_str()), "search without the tag");
}

/// A comment with `code`, emphasis and a link shows them as such.
pub fn check_comment(b: &Session) {
    assert_eq!(b.text_of("ul.comments code"), "poll");
    assert_eq!(b.text_of("ul.comments em"), "first");
    let href = b.script("return document.querySelector('ul.comments a').getAttribute('href')");
    assert_eq!(href.as_str(), Some("https://docs.rs/mio"));
    assert_eq!(b.count("ul.comments script"), 0);
}
