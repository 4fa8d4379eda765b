//! The pieces every page is built from, and the short message pages (errors,
//! refusals, limits).
//!
//! Rendering is pure: a function of the data, the viewer and the form the user
//! is being shown again, with no I/O, so every page can be tested by rendering
//! it and reading the markup. Every piece of user text passes through
//! [`html::escape`] (or, for bodies, [`crate::markdown::render`]) here, at
//! the last moment, and nowhere else; ids and counts are integers and never
//! need it.
//!
//! The pages themselves live beside this file: [`list`] (question lists,
//! tags, search, users), [`thread`] (a question with its answers) and
//! [`forms`] (ask, edit, log in, sign up, revisions). Every form carries the viewer's
//! CSRF token ([`form_open`]); forms that create something also carry a fresh
//! idempotency key, so a double click posts once.

use crate::auth::Viewer;
use crate::csrf;
use crate::forms::{Field, Invalid, IDEMPOTENCY_FIELD};
use crate::html::{self, escape};
use crate::{ago, identicon, markdown};

pub(crate) mod forms;
pub mod list;
pub mod thread;
use proto::headline::{MARK_START, MARK_STOP};
use proto::pb::Question;
use std::fmt::Write;

/// Which form on the question page a rejected submission belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Answer,
    /// The comment form under the answer with this id.
    Comment(i64),
}

/// A rejected submission to show again: where, what the user typed, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub slot: Slot,
    pub body: String,
    pub error: Invalid,
}

pub fn error_box(id: &str, error: &Invalid) -> String {
    format!("<p class=\"error\" role=\"alert\" id=\"{id}\">{}</p>\n", escape(&error.message))
}

/// ` aria-invalid="true" aria-describedby="…"` when `error` is about `field`.
pub fn invalid_attrs(error: Option<&Invalid>, field: Field, error_id: &str) -> String {
    match error {
        Some(e) if e.field == Some(field) => {
            format!(" aria-invalid=\"true\" aria-describedby=\"{error_id}\"")
        }
        _ => String::new(),
    }
}

/// A textarea holding `value`. The newline after the start tag is there
/// because HTML parsers drop one leading newline: without it, a body that
/// starts with a blank line would lose it on every re-render.
pub fn textarea(id: &str, name: &str, rows: u32, max: usize, value: &str, extra: &str) -> String {
    format!(
        "<textarea id=\"{id}\" name=\"{name}\" rows=\"{rows}\" maxlength=\"{max}\" \
         required{extra}>\n{}</textarea>\n",
        escape(value)
    )
}

/// `<form method="post" action="…">` with the CSRF token; with `create`, also
/// a new idempotency key.
pub fn form_open(viewer: &Viewer, action: &str, class: &str, create: bool) -> String {
    let mut f = format!("<form method=\"post\" action=\"{}\"", escape(action));
    if !class.is_empty() {
        let _ = write!(f, " class=\"{class}\"");
    }
    let _ = write!(f, ">{}", csrf::hidden_field(&viewer.csrf));
    if create {
        let key = crate::page_cache::idempotency_key(viewer);
        let _ = write!(f, "<input type=\"hidden\" name=\"{IDEMPOTENCY_FIELD}\" value=\"{key}\">");
    }
    f.push('\n');
    f
}

/// A hidden field (value escaped).
pub fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value))
}

/// The path of a user's page.
pub fn user_url(username: &str) -> String {
    format!("/users/{}", proto::http::percent_encode(username))
}

/// The path of a tag's page.
pub fn tag_url(tag: &str) -> String {
    format!("/tags/{}", proto::http::percent_encode(tag))
}

/// The author as a link to their page, or "anonymous" for posts from before accounts.
pub fn author(name: &str) -> String {
    if name.is_empty() {
        "anonymous".to_string()
    } else {
        format!("<a href=\"{}\">{}</a>", escape(&user_url(name)), escape(name))
    }
}

/// The author with their identicon and reputation, as posts and list rows
/// show them.
pub fn author_card(name: &str, reputation: i64, avatar: u32) -> String {
    if name.is_empty() {
        return "<span class=\"who\">anonymous</span>".to_string();
    }
    format!(
        "<span class=\"who\">{}{}<span class=\"rep\" title=\"reputation\">{}</span></span>",
        identicon::svg(name, avatar),
        author(name),
        reputation
    )
}

/// The tag chips of a question.
pub fn tag_list(tags: &[String]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"tags\">");
    for t in tags {
        let _ = write!(out, "<li><a class=\"tag\" href=\"{}\">{}</a></li>", escape(&tag_url(t)), escape(t));
    }
    out.push_str("</ul>\n");
    out
}

/// `n` with the singular or plural word, as "1 answer" / "2 answers".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Characters of body text a list row shows (two lines on a desktop; the
/// stylesheet clamps narrower screens to two lines too).
pub const EXCERPT_CHARS: usize = 200;

/// The three counts of a list row: score, answers (marked when one is
/// accepted) and views.
fn stats(q: &Question) -> String {
    let (class, mark) = match (q.accepted_answer_id != 0, q.answer_count > 0) {
        (true, _) => (" solved", "<span aria-hidden=\"true\">✓ </span>"),
        (false, true) => (" answered", ""),
        _ => ("", ""),
    };
    let accepted = if q.accepted_answer_id != 0 { " title=\"an answer is accepted\"" } else { "" };
    format!(
        "<div class=\"stats\"><span class=\"n-votes\"><b>{}</b> {}</span>\
         <span class=\"n-answers{class}\"{accepted}>{mark}<b>{}</b> {}</span>\
         <span class=\"n-views\"><b>{}</b> {}</span></div>",
        q.score,
        if q.score == 1 || q.score == -1 { "vote" } else { "votes" },
        q.answer_count,
        if q.answer_count == 1 { "answer" } else { "answers" },
        q.view_count,
        if q.view_count == 1 { "view" } else { "views" },
    )
}

/// One question in a list: its counts, title, a two-line excerpt of the
/// body, tags, and the author with reputation and the time asked (relative
/// to `now_ms`, the page's render time). A search result shows its
/// headlines instead of the title and excerpt, matches marked.
pub fn question_row(out: &mut String, q: &Question, now_ms: i64) {
    let title = if q.headline_title.is_empty() { escape(&q.title) } else { marked(&q.headline_title) };
    let text = if q.headline_body.is_empty() {
        escape(&markdown::excerpt(&q.body, EXCERPT_CHARS))
    } else {
        marked(&q.headline_body)
    };
    let _ = writeln!(
        out,
        "<li>{stats}<div class=\"summary\"><a class=\"title\" href=\"/questions/{id}\">{title}</a>\
         <p class=\"excerpt\">{text}</p><div class=\"foot\">{tags}<div class=\"meta\">{who} <span>asked {time}</span>\
         </div></div></div></li>",
        stats = stats(q),
        id = q.id,
        tags = tag_list(&q.tags),
        who = author_card(&q.author, q.author_reputation, 16),
        time = ago::time(q.created_at_ms, now_ms),
    );
}

/// A search headline as HTML: everything escaped, then each pair of marks
/// ([`proto::headline`]) turned into `<mark>…</mark>`. The service's output is never trusted as markup:
/// stray or unbalanced sentinels still give balanced tags, and a `<mark>`
/// left open at the end is closed.
pub fn marked(headline: &str) -> String {
    let mut out = String::with_capacity(headline.len() + 32);
    let mut open = false;
    for part in headline.split_inclusive([MARK_START, MARK_STOP]) {
        let (text, sentinel) = match part.chars().last() {
            Some(c @ (MARK_START | MARK_STOP)) => (&part[..part.len() - c.len_utf8()], Some(c)),
            _ => (part, None),
        };
        out.push_str(&escape(text));
        match sentinel {
            Some(MARK_START) if !open => {
                out.push_str("<mark>");
                open = true;
            }
            Some(MARK_STOP) if open => {
                out.push_str("</mark>");
                open = false;
            }
            _ => {}
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// A list of questions, or `empty` (markup) when there are none.
pub fn question_list(questions: &[Question], empty: &str, now_ms: i64) -> String {
    if questions.is_empty() {
        return format!("<p class=\"empty\">{empty}</p>\n");
    }
    let mut out = String::from("<ol class=\"questions\">\n");
    for q in questions {
        question_row(&mut out, q, now_ms);
    }
    out.push_str("</ol>\n");
    out
}

/// Page links: previous, the first page, the two before this one, this one,
/// the next one if there is one, next. `url(n)` is page n's address by page
/// number, served only up to `max` (question lists: [`proto::http::MAX_PAGE`],
/// since page numbers are OFFSETs); `next`, when given, is the next page's
/// address by keyset (`after=` the last question shown), which goes on for
/// ever at the same cost. Links that would need a page number past `max` are
/// left out. Page 0 is a page reached by keyset past the numbered ones: it
/// links to the first page and to the next.
pub fn pager(page: u32, has_more: bool, max: u32, url: impl Fn(u32) -> String, next: Option<String>) -> String {
    if page == 1 && !has_more {
        return String::new();
    }
    if page == 0 {
        let mut out = format!(
            "<nav class=\"pager\" aria-label=\"pages\"><a href=\"{}\">1</a><span class=\"gap\">…</span>",
            escape(&url(1))
        );
        if let Some(href) = next.filter(|_| has_more) {
            let _ = write!(out, "<a href=\"{}\" rel=\"next\">Next →</a>", escape(&href));
        }
        out.push_str("</nav>\n");
        return out;
    }
    let numbered = |n: u32| (n <= max).then(|| url(n));
    let link = |href: &str, text: &str, rel: &str| format!("<a href=\"{}\"{rel}>{text}</a>", escape(href));
    let mut out = String::from("<nav class=\"pager\" aria-label=\"pages\">");
    if let Some(prev) = numbered(page.saturating_sub(1)).filter(|_| page > 1) {
        out.push_str(&link(&prev, "← Prev", " rel=\"prev\""));
    }
    let from = page.saturating_sub(2).max(1);
    if from > 1 {
        out.push_str(&link(&url(1), "1", ""));
        if from > 2 {
            out.push_str("<span class=\"gap\">…</span>");
        }
    }
    for n in from..page {
        if let Some(href) = numbered(n) {
            out.push_str(&link(&href, &n.to_string(), ""));
        }
    }
    let _ = write!(out, "<span class=\"on\" aria-current=\"page\">{page}</span>");
    let next_page = page.saturating_add(1);
    if let Some(href) = next.or_else(|| numbered(next_page)).filter(|_| has_more) {
        out.push_str(&link(&href, &next_page.to_string(), ""));
        out.push_str(&link(&href, "Next →", " rel=\"next\""));
    }
    out.push_str("</nav>\n");
    out
}

/// The text of a `<label>` plus the input, for one-line fields.
pub fn text_input(kind: &str, id: &str, label: &str, max: usize, value: &str, extra: &str) -> String {
    format!(
        "<label for=\"{id}\">{label}</label>\n<input type=\"{kind}\" id=\"{id}\" name=\"{id}\" maxlength=\"{max}\" \
         required value=\"{}\"{extra}>\n",
        escape(value)
    )
}

fn message_page(viewer: &Viewer, title: &str, message: &str) -> String {
    html::page(
        viewer,
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/\">Go to the recent questions</a></p>\n",
            escape(title),
            escape(message)
        ),
    )
}

/// 404: an unknown path, or a question, answer or user that does not exist.
pub fn not_found(viewer: &Viewer, message: &str) -> String {
    message_page(viewer, "Page not found", message)
}

/// 405: the path exists but not for this method.
pub fn method_not_allowed(viewer: &Viewer, method: &str, allow: &str) -> String {
    message_page(
        viewer,
        "Method not allowed",
        &format!("This page does not accept {method} requests (it accepts {allow})."),
    )
}

/// 400 for a request no form page can show (e.g. a bad page number).
pub fn bad_request(viewer: &Viewer, message: &str) -> String {
    message_page(viewer, "Bad request", message)
}

/// 415: a POST body that is not a form.
pub fn unsupported_media(viewer: &Viewer, message: &str) -> String {
    message_page(viewer, "Unsupported form encoding", message)
}

/// 403: logged in but not allowed (someone else's post, one's own vote).
pub fn forbidden(viewer: &Viewer, message: &str) -> String {
    message_page(viewer, "Not allowed", message)
}

/// 403: a POST whose CSRF token is missing or wrong.
pub fn csrf_rejected(viewer: &Viewer, error: &csrf::CsrfError) -> String {
    message_page(viewer, "Form expired", &format!("{error}. Go back, reload the page and send the form again."))
}

/// 429: a posting limit; `message` says how long to wait.
pub fn rate_limited(viewer: &Viewer, message: &str) -> String {
    message_page(viewer, "Slow down", message)
}

/// 503: a service we need did not answer. `what` names it for the visitor.
pub fn unavailable(viewer: &Viewer, what: &str) -> String {
    message_page(
        viewer,
        "Service unavailable",
        &format!("The {what} is not available right now. Please try again in a moment."),
    )
}

/// 503 after a comment was stored but its question could not be looked up
/// for the redirect: say it was saved, so the visitor does not post it twice.
pub fn comment_saved(viewer: &Viewer) -> String {
    message_page(
        viewer,
        "Comment saved",
        "Your comment was saved, but the page it belongs to cannot be shown right now. \
         Please find the question again in a moment.",
    )
}

/// 500: our own bug; the details are in the log, not on the page.
pub fn internal_error() -> String {
    message_page(&Viewer::default(), "Something went wrong", "The page could not be built. The error has been logged.")
}

/// The hint under a Markdown textarea.
pub const MARKDOWN_HINT: &str = "<p class=\"hint\">Markdown: **bold**, *italic*, `code`, [links](https://…), \
     and code blocks between lines of ``` (raw HTML is shown as text).</p>\n";

/// Shared by the ask and edit pages: the tags input with its hint.
pub fn tags_input(value: &str, error: Option<&Invalid>, error_id: &str) -> String {
    let mut out = text_input("text", "tags", "Tags", 200, value, &invalid_attrs(error, Field::Tags, error_id));
    let _ = writeln!(
        out,
        "<p class=\"hint\">1 to {} tags separated by spaces or commas, e.g. <code>rust tcp</code>.</p>",
        proto::fields::TAGS_MAX
    );
    out
}

#[cfg(test)]
#[path = "../../tests/unit/pages.rs"]
mod tests;
