//! Question and answer bodies are Markdown, rendered here on the server with
//! pulldown-cmark, and the one rule is that a body can never put markup of
//! its own on the page.
//!
//! pulldown-cmark passes raw HTML through by default; we turn every HTML
//! event (block or inline) into text, which its writer escapes, so
//! `<script>` shows as the characters `<script>`. Links keep only
//! destinations a browser cannot execute: http, https, mailto, or a
//! relative reference; anything else (`javascript:`, `data:`, `vbscript:`,
//! and whatever a browser may add) loses its link and keeps its text. The
//! scheme is read the way a browser reads it, after dropping the whitespace
//! and control characters that browsers ignore, so `java&#9;script:` is
//! caught too. Images become links to the image, labelled with their alt
//! text: the page loads nothing from anywhere, and a picture from a stranger's
//! server would tell it who reads the page.
//!
//! Fenced code becomes `<pre><code class="language-x">`, which the stylesheet
//! shows in a monospace font with the whitespace kept. Headings inside a body
//! are moved down two levels so that they rank below the page's own `<h1>`
//! (the title) and `<h2>` (the answers).

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// Whether a link destination is safe to put in an `href`.
pub fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect();
    match cleaned.find([':', '/', '?', '#']) {
        // A colon before any of / ? # ends a scheme.
        Some(i) if cleaned[i..].starts_with(':') => {
            matches!(cleaned[..i].to_ascii_lowercase().as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// Rewrites the event stream so that it carries no markup of the author's.
struct Neutralise<'a, I> {
    inner: I,
    /// For each open link or image: whether we emitted an `<a>` for it.
    open: Vec<bool>,
    /// Events to emit before pulling the next one.
    queued: Vec<Event<'a>>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Neutralise<'a, I> {
    fn link(
        &mut self,
        link_type: LinkType,
        dest_url: CowStr<'a>,
        title: CowStr<'a>,
        id: CowStr<'a>,
    ) -> Option<Event<'a>> {
        // No <a> inside an <a>: an image inside a link shows as its alt text.
        let emit = is_safe_url(&dest_url) && !self.open.iter().any(|&a| a);
        self.open.push(emit);
        emit.then_some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
    }

    fn close(&mut self) -> Option<Event<'a>> {
        self.open.pop().unwrap_or(false).then_some(Event::End(TagEnd::Link))
    }

    fn map(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match event {
            Event::Html(s) | Event::InlineHtml(s) => Some(Event::Text(s)),
            Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => self.link(link_type, dest_url, title, id),
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                let start = self.link(link_type, dest_url, title, id);
                self.queued.push(Event::Text("image: ".into()));
                start.or_else(|| self.queued.pop())
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => self.close(),
            Event::Start(Tag::Heading { level, id, classes, attrs }) => {
                Some(Event::Start(Tag::Heading { level: demote(level), id, classes, attrs }))
            }
            Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(demote(level)))),
            // Options we do not enable; shown as code should a parser change start sending them.
            Event::InlineMath(s) | Event::DisplayMath(s) => Some(Event::Code(s)),
            other => Some(other),
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Neutralise<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(e) = self.queued.pop() {
            return Some(e);
        }
        loop {
            let event = self.inner.next()?;
            if let Some(e) = self.map(event) {
                return Some(e);
            }
        }
    }
}

/// The HTML for a Markdown body: safe to put on the page as it is.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut out, Neutralise { inner: parser, open: Vec::new(), queued: Vec::new() });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_text() {
        let out =
            render("<script>alert(1)</script>\n\nHello <b onclick=\"x()\">there</b> <img src=x onerror=alert(2)>");
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
        assert!(
            out.contains(
                "<pre><code class=\"language-rust\">fn main() {\n    println!(\"&lt;hi&gt;\");\n}\n</code></pre>"
            ),
            "{out}"
        );
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
}
