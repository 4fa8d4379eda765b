//! Unit tests of `webui::markdown`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn raw_html_is_text() {
    let out = render("<script>alert(1)</script>\n\nHello <b onclick=\"x()\">there</b> <img src=x onerror=alert(2)>");
    assert!(!out.contains("<script") && !out.contains("<b") && !out.contains("<img"), "{out}");
    assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{out}");
    assert!(out.contains("&lt;b onclick=\"x()\"&gt;there&lt;/b&gt;"), "{out}");
    let block = render("<div>\n<iframe src=\"https://evil.example\"></iframe>\n</div>\n");
    assert!(!block.contains("<div") && !block.contains("<iframe"), "{block}");
    assert!(block.starts_with("<p>&lt;div&gt;"), "{block}");
    let comment = render("<!-- x --><style>body{display:none}</style>");
    assert!(!comment.contains("<!--") && !comment.contains("<style"), "{comment}");
}

#[test]
fn script_links_lose_their_href_and_keep_their_text() {
    for md in [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java&#9;script:alert(1))",
        "[click]( javascript:alert(1) )",
        "[click](<javascript:alert(1)>)",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "[click][r]\n\n[r]: javascript:alert(1)",
    ] {
        let out = render(md);
        assert!(!out.contains("<a"), "{md} -> {out}");
        assert!(out.contains("click"), "{md} -> {out}");
        assert!(!out.to_ascii_lowercase().contains("href"), "{md} -> {out}");
    }
    let auto = render("<javascript:alert(1)>");
    assert!(!auto.contains("<a"), "{auto}");
}

#[test]
fn ordinary_links_stay() {
    let out = render("[a](https://example.com/x?y=1&z=2) [b](/questions/7) [c](mailto:me@example.com) [d](#top)");
    assert!(out.contains("<a href=\"https://example.com/x?y=1&amp;z=2\">a</a>"), "{out}");
    assert!(out.contains("<a href=\"/questions/7\">b</a>"), "{out}");
    assert!(out.contains("<a href=\"mailto:me@example.com\">c</a>"), "{out}");
    assert!(out.contains("<a href=\"#top\">d</a>"), "{out}");
    assert!(render("[x](\"onmouseover=alert(1))").find("href=\"\"").is_none());
}

#[test]
fn images_become_links_and_never_load() {
    let out = render("![a diagram](https://example.com/d.png)");
    assert!(!out.contains("<img"), "{out}");
    assert_eq!(out, "<p><a href=\"https://example.com/d.png\">image: a diagram</a></p>\n");
    let bad = render("![x](javascript:alert(1))");
    assert_eq!(bad, "<p>image: x</p>\n");
    let nested = render("[![logo](/l.png)](https://example.com)");
    assert_eq!(nested.matches("<a ").count(), 1, "{nested}");
    assert_eq!(nested.matches("</a>").count(), 1, "{nested}");
    assert!(is_safe_url("/l.png") && !is_safe_url("data:image/png;base64,AAAA"));
}

#[test]
fn fenced_code_keeps_whitespace_in_pre() {
    let out = render("Try:\n\n```rust\nfn main() {\n    println!(\"<hi>\");\n}\n```\n");
    assert!(out.contains("<pre class=\"hl\"><code class=\"language-rust\"><span class=\"k\">fn</span>"), "{out}");
    assert!(out.contains("<span class=\"s\">&quot;&lt;hi&gt;&quot;</span>"), "{out}");
    let plain = render("```text\n<b>\n```\n");
    assert_eq!(plain, "<pre><code class=\"language-text\">&lt;b&gt;\n</code></pre>\n");
    let lang = render("```\"><script>\nx\n```\n");
    assert!(!lang.contains("<script"), "{lang}");
}

#[test]
fn headings_rank_below_the_page_title() {
    assert_eq!(render("# Big"), "<h3>Big</h3>\n");
    assert_eq!(render("## Less"), "<h4>Less</h4>\n");
    assert_eq!(render("#### Small"), "<h6>Small</h6>\n");
}

#[test]
fn plain_text_is_paragraphs() {
    assert_eq!(render("a & b\n\nc"), "<p>a &amp; b</p>\n<p>c</p>\n");
    assert_eq!(render(""), "");
}
