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
//! shows in a monospace font with the whitespace kept, scrolling sideways
//! inside the block when a line is long; a fence naming a language we know
//! is highlighted (`crate::highlight`). Comments get the inline subset
//! ([`render_inline`]) with the same link and HTML rules, and list rows a
//! plain-text [`excerpt`]. Headings inside a body
//! are moved down two levels so that they rank below the page's own `<h1>`
//! (the title) and `<h2>` (the answers).

use crate::highlight::{self, Lang};
use crate::html::escape;
use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

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

/// How much of a body an excerpt reads, in bytes per character shown: a
/// long body's markup past that point cannot reach the excerpt, and
/// parsing it would cost time on every list row.
const EXCERPT_READ_FACTOR: usize = 4;

/// The first `max` characters of a body's text with the Markdown taken out
/// (emphasis marks, link targets, code fences; the words of code stay),
/// whitespace collapsed, and `…` when there was more: the excerpt of a list
/// row. Plain text, to be escaped by the caller.
pub fn excerpt(markdown: &str, max: usize) -> String {
    let mut end = markdown.len().min(max.saturating_mul(EXCERPT_READ_FACTOR));
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let mut text = String::new();
    for event in Parser::new_ext(&markdown[..end], Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => text.push_str(&t),
            // Inline ends join their text to what follows; every other end is a break.
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link | TagEnd::Image) => {}
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
        if text.len() > max.saturating_mul(EXCERPT_READ_FACTOR) {
            break;
        }
    }
    let mut words = text.split_whitespace();
    let mut out = String::new();
    let mut shown = 0;
    let mut cut = end < markdown.len();
    for w in words.by_ref() {
        let n = w.chars().count() + usize::from(shown > 0);
        if shown + n > max {
            cut = true;
            break;
        }
        if shown > 0 {
            out.push(' ');
        }
        out.push_str(w);
        shown += n;
    }
    // A first word longer than the whole excerpt is cut inside.
    if out.is_empty() {
        if let Some(w) = text.split_whitespace().next() {
            out = w.chars().take(max).collect();
            cut = true;
        }
    }
    if cut || words.next().is_some() {
        out.push('…');
    }
    out
}

/// Replaces each code block (after [`Neutralise`], whose output it
/// trusts) with its finished HTML: highlighted when its fence names a
/// language [`highlight`] knows, escaped as it is otherwise.
struct CodeBlocks<I> {
    inner: I,
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for CodeBlocks<I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        let kind = match self.inner.next()? {
            Event::Start(Tag::CodeBlock(kind)) => kind,
            other => return Some(other),
        };
        let mut code = String::new();
        for event in self.inner.by_ref() {
            match event {
                Event::Text(t) => code.push_str(&t),
                Event::End(TagEnd::CodeBlock) => break,
                _ => {}
            }
        }
        let tag = match &kind {
            CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or(""),
            CodeBlockKind::Indented => "",
        };
        let html = match Lang::from_tag(tag) {
            Some(lang) => format!(
                "<pre class=\"hl\"><code class=\"language-{}\">{}</code></pre>\n",
                lang.name(),
                highlight::highlight(lang, &code)
            ),
            None if !tag.is_empty() => {
                format!("<pre><code class=\"language-{}\">{}</code></pre>\n", escape(tag), escape(&code))
            }
            None => format!("<pre><code>{}</code></pre>\n", escape(&code)),
        };
        Some(Event::Html(html.into()))
    }
}

/// The HTML for a Markdown body: safe to put on the page as it is.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    let neutral = Neutralise { inner: parser, open: Vec::new(), queued: Vec::new() };
    html::push_html(&mut out, CodeBlocks { inner: neutral });
    out
}

/// A comment line with its block syntax made literal: a leading `#`, `>`,
/// list marker, fence or rule would otherwise make a heading, quote, list
/// or code block of a comment, and comments are inline only. The line's
/// leading spaces go too (four would make it a code block).
fn literal_line(line: &str, out: &mut String) {
    let line = line.trim_start();
    let first = line.chars().next();
    let rule = line.len() >= 3
        && line.chars().all(|c| matches!(c, '-' | '*' | '_' | '=' | ' ' | '\t'))
        && line.chars().filter(|c| !c.is_whitespace()).count() >= 3;
    let marker = matches!(first, Some('-' | '+' | '*')) && line[1..].starts_with([' ', '\t']);
    let fence = line.starts_with("```") || line.starts_with("~~~");
    let reference = line.starts_with('[') && line.split_once("]:").is_some_and(|(label, _)| !label.contains(']'));
    if rule || marker || fence || reference || matches!(first, Some('#' | '>' | '|' | '<')) {
        out.push('\\');
        out.push_str(line);
        return;
    }
    // "1." or "1)" starts an ordered list: escape the punctuation.
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) && line[digits..].starts_with(['.', ')']) {
        out.push_str(&line[..digits]);
        out.push('\\');
        out.push_str(&line[digits..]);
        return;
    }
    out.push_str(line);
}

/// Inline Markdown only, for comments: `code`, *emphasis*, **strong**,
/// ~~strikethrough~~ and links, with the same rules as bodies (raw HTML is
/// text, links only to safe destinations: [`Neutralise`] and
/// [`is_safe_url`], the one place those rules live). Block syntax is kept
/// as the characters typed; line breaks stay line breaks (the comment is
/// shown with `white-space: pre-wrap`). Safe to put on the page as it is.
pub fn render_inline(markdown: &str) -> String {
    let mut src = String::with_capacity(markdown.len() + 8);
    for (i, line) in markdown.lines().enumerate() {
        if i > 0 {
            src.push('\n');
        }
        literal_line(line, &mut src);
    }
    let parser = Parser::new_ext(&src, Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(src.len() + src.len() / 4);
    let mut paragraphs = 0;
    for event in (Neutralise { inner: parser, open: Vec::new(), queued: Vec::new() }) {
        match event {
            Event::Text(t) => out.push_str(&escape(&t)),
            Event::Code(t) => {
                out.push_str("<code>");
                out.push_str(&escape(&t));
                out.push_str("</code>");
            }
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Paragraph) => {
                if paragraphs > 0 {
                    out.push_str("\n\n");
                }
                paragraphs += 1;
            }
            Event::Start(Tag::Emphasis) => out.push_str("<em>"),
            Event::End(TagEnd::Emphasis) => out.push_str("</em>"),
            Event::Start(Tag::Strong) => out.push_str("<strong>"),
            Event::End(TagEnd::Strong) => out.push_str("</strong>"),
            Event::Start(Tag::Strikethrough) => out.push_str("<del>"),
            Event::End(TagEnd::Strikethrough) => out.push_str("</del>"),
            Event::Start(Tag::Link { dest_url, title, .. }) => {
                out.push_str("<a href=\"");
                out.push_str(&escape(&dest_url));
                if !title.is_empty() {
                    out.push_str("\" title=\"");
                    out.push_str(&escape(&title));
                }
                out.push_str("\" rel=\"nofollow ugc\">");
            }
            Event::End(TagEnd::Link) => out.push_str("</a>"),
            // Nothing else survives the escaping above but the text it holds.
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[path = "../tests/unit/markdown.rs"]
mod tests;
