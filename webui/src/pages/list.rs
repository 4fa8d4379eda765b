//! The pages that list things: the front page with its sort tabs, a tag's
//! questions, the tag list, search results and a user's page.
//!
//! Every list pages the same way, 20 at a time with numbered page links, and
//! every link carries the rest of the list's state (sort, query), so moving
//! between pages or tabs never loses what the visitor asked for.

use crate::auth::Viewer;
use crate::html::{self, escape};
use crate::pages::{self, pager, question_list, tag_url};
use crate::{ago, identicon, markdown};
use proto::http::percent_encode;
use proto::http::MAX_PAGE;
use proto::pb::{QuestionPage, TagList, UserPage};
use std::fmt::Write;

pub use proto::fields::Sort;

/// A `?sort=` that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sort must be newest, active, votes or unanswered")]
pub struct BadSort;

/// The order from `?sort=`; absent or empty is newest.
pub fn parse_sort(s: Option<&str>) -> Result<Sort, BadSort> {
    Sort::from_name(s.unwrap_or("")).ok_or(BadSort)
}

/// A tab's caption.
fn label(s: Sort) -> &'static str {
    match s {
        Sort::Newest => "Newest",
        Sort::Active => "Active",
        Sort::Votes => "Votes",
        Sort::Unanswered => "Unanswered",
    }
}

/// `base` with `sort` and `page` in the query, leaving out the defaults.
fn list_url(base: &str, sort: Sort, page: u32) -> String {
    list_url_after(base, sort, page, 0)
}

/// [`list_url`] continuing after question `after` (0: by page number alone).
fn list_url_after(base: &str, sort: Sort, page: u32, after: i64) -> String {
    let mut q = Vec::new();
    if sort != Sort::Newest {
        q.push(format!("sort={}", sort.as_str()));
    }
    if page > 1 {
        q.push(format!("page={page}"));
    }
    if after > 0 {
        q.push(format!("after={after}"));
    }
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

fn tabs(base: &str, current: Sort) -> String {
    let mut out = String::from("<nav class=\"tabs\" aria-label=\"sort\">");
    for s in Sort::ALL {
        let on = if s == current { " class=\"on\" aria-current=\"page\"" } else { "" };
        let _ = write!(out, "<a href=\"{}\"{on}>{}</a>", escape(&list_url(base, s, 1)), label(s));
    }
    out.push_str("</nav>\n");
    out
}

/// The pager of a question list: numbered links by page number, "Next" by
/// keyset after the last question shown, carrying the next page's number
/// while there is one (page 0: a page past the numbered ones).
fn list_pager(base: &str, sort: Sort, page: &QuestionPage, page_no: u32) -> String {
    keyset_pager(page_no, page.has_more, page.questions.last().map(|q| q.id), |n, after| {
        list_url_after(base, sort, n, after)
    })
}

/// The pager of any list that pages by number up to [`MAX_PAGE`] and by
/// keyset after that: `url(n, after)` is page `n` (after post `after`, when
/// not 0); "Next" continues after `last_id`, the last post shown.
fn keyset_pager(page_no: u32, has_more: bool, last_id: Option<i64>, url: impl Fn(u32, i64) -> String) -> String {
    let label = match page_no {
        0 | MAX_PAGE.. => 0,
        n => n + 1,
    };
    let next = last_id.map(|id| url(label, id));
    pager(page_no, has_more, MAX_PAGE, |n| url(n, 0), next)
}

/// A user page with one of its lists at page `n` (after post `after`).
fn user_list_url(username: &str, list: &str, n: u32, after: i64) -> String {
    let mut url = pages::user_url(username);
    let mut sep = '?';
    if n > 1 {
        url.push_str(&format!("{sep}{list}_page={n}"));
        sep = '&';
    }
    if after > 0 {
        url.push_str(&format!("{sep}{list}_after={after}"));
    }
    url.push('#');
    url.push_str(list);
    url
}

fn page_suffix(page_no: u32) -> String {
    if page_no > 1 {
        format!(", page {page_no}")
    } else {
        String::new()
    }
}

/// `GET /`: one page of questions in the chosen order.
pub fn index(viewer: &Viewer, page: &QuestionPage, sort: Sort, page_no: u32) -> String {
    let heading = match sort {
        Sort::Newest => "Recent questions",
        Sort::Active => "Recently active questions",
        Sort::Votes => "Top voted questions",
        Sort::Unanswered => "Unanswered questions",
    };
    let mut m = format!("<h1>{heading}</h1>\n");
    m.push_str(&tabs("/", sort));
    let empty = if page_no != 1 {
        "No questions on this page. <a href=\"/\">Back to the newest</a>."
    } else if sort == Sort::Unanswered {
        "Every question has an answer."
    } else {
        "No questions yet. <a href=\"/ask\">Ask the first one</a>."
    };
    m.push_str(&question_list(&page.questions, empty, viewer.now_ms));
    m.push_str(&list_pager("/", sort, page, page_no));
    m.push_str("<p><a class=\"button\" href=\"/ask\">Ask a question</a></p>\n");
    html::page(viewer, &format!("{heading}{}", page_suffix(page_no)), &m)
}

/// `GET /tags/{tag}`: the questions with that tag.
pub fn tag_page(viewer: &Viewer, tag: &str, page: &QuestionPage, sort: Sort, page_no: u32) -> String {
    let base = tag_url(tag);
    let mut m = format!("<h1>Questions tagged <span class=\"tag\">{}</span></h1>\n", escape(tag));
    m.push_str(&tabs(&base, sort));
    let empty = if page_no != 1 { "No questions on this page." } else { "No questions with this tag yet." };
    m.push_str(&question_list(&page.questions, empty, viewer.now_ms));
    m.push_str(&list_pager(&base, sort, page, page_no));
    m.push_str("<p><a href=\"/tags\">All tags</a></p>\n");
    html::page(viewer, &format!("Questions tagged {tag}{}", page_suffix(page_no)), &m)
}

/// Tags on one page of the tag list.
pub const TAGS_PER_PAGE: usize = 100;

/// `GET /tags?page=N`: the tags with their question counts, most used
/// first, [`TAGS_PER_PAGE`] a page (the question service sends the most used
/// thousand, so the pages stay within the page rule).
pub fn tags(viewer: &Viewer, list: &TagList, page_no: u32) -> String {
    let mut m = String::from("<h1>Tags</h1>\n");
    let from = (page_no.max(1) as usize - 1).saturating_mul(TAGS_PER_PAGE);
    let shown = list.tags.get(from..).unwrap_or_default();
    let has_more = shown.len() > TAGS_PER_PAGE;
    if list.tags.is_empty() {
        m.push_str("<p>No tags yet: they come with the first question.</p>\n");
    } else if shown.is_empty() {
        m.push_str("<p class=\"empty\">No tags on this page. <a href=\"/tags\">Back to the first</a>.</p>\n");
    } else {
        m.push_str("<table class=\"taglist\">\n");
        for t in shown.iter().take(TAGS_PER_PAGE) {
            let _ = writeln!(
                m,
                "<tr><td><a class=\"tag\" href=\"{}\">{}</a></td><td class=\"n\">{}</td></tr>",
                escape(&tag_url(&t.tag)),
                escape(&t.tag),
                pages_count(t.count),
            );
        }
        m.push_str("</table>\n");
    }
    let url = |n: u32| if n > 1 { format!("/tags?page={n}") } else { "/tags".to_string() };
    m.push_str(&pager(page_no.max(1), has_more, MAX_PAGE, url, None));
    html::page(viewer, &format!("Tags{}", page_suffix(page_no)), &m)
}

fn pages_count(n: i64) -> String {
    format!("{n} question{}", if n == 1 { "" } else { "s" })
}

/// The `[tag]` filters of a search query, each with the query as it would
/// be without that filter (for "no results": try without it).
fn tag_filters(q: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = q[from..].find('[').map(|i| from + i) {
        let Some(close) = q[open..].find(']').map(|i| open + i) else { break };
        let without = format!("{} {}", q[..open].trim_end(), q[close + 1..].trim_start());
        out.push((q[open + 1..close].to_string(), without.trim().to_string()));
        from = close + 1;
    }
    out
}

fn search_url(q: &str, page: u32) -> String {
    if page > 1 {
        format!("/search?q={}&page={page}", percent_encode(q))
    } else {
        format!("/search?q={}", percent_encode(q))
    }
}

/// What "no results" says: drop a tag filter (one link per tag), or use
/// fewer words.
fn no_results(q: &str) -> String {
    let mut m = format!("<div class=\"empty\"><p>Nothing matches “{}”.</p>\n", escape(q));
    let filters = tag_filters(q);
    if filters.is_empty() {
        m.push_str("<p>Try fewer or other words, or look through the <a href=\"/tags\">tags</a>.</p>\n");
    } else {
        m.push_str("<p>Remove a tag filter:</p>\n<ul class=\"suggest\">\n");
        for (tag, without) in &filters {
            let target = if without.is_empty() { tag_url(tag) } else { search_url(without, 1) };
            let _ = writeln!(
                m,
                "<li><a href=\"{}\">search without <span class=\"tag\">[{}]</span></a></li>",
                escape(&target),
                escape(tag)
            );
        }
        m.push_str("</ul>\n");
    }
    m.push_str("</div>\n");
    m
}

/// `GET /search?q=…`: the results (title and body excerpts from
/// `ts_headline`, matched words marked), or how to search when there is no
/// query. The query lives in the header's search box, which keeps it: one
/// box on the page.
pub fn search(viewer: &Viewer, q: &str, results: Option<&QuestionPage>, page_no: u32) -> String {
    let mut m = String::new();
    match results {
        None => m.push_str(
            "<h1>Search</h1>\n<p class=\"hint\">Type words in the search box at the top; <code>[tag]</code> \
             keeps only questions with that tag, e.g. <code>half-closed socket [rust]</code>.</p>\n",
        ),
        Some(page) => {
            let _ = writeln!(m, "<h1>Results for “{}”</h1>", escape(q));
            if page.questions.is_empty() && page_no <= 1 {
                m.push_str(&no_results(q));
            } else {
                m.push_str(&question_list(&page.questions, "No more results.", viewer.now_ms));
            }
            m.push_str(&pager(page_no, page.has_more, MAX_PAGE, |n| search_url(q, n), None));
        }
    }
    let title = if q.is_empty() { "Search".to_string() } else { format!("Search: {q}{}", page_suffix(page_no)) };
    html::search_page(viewer, &title, q, &m)
}

/// `GET /users/{username}`: reputation, counts, and a page of the user's
/// questions and one of their answers (`questions_page`, `answers_page`:
/// which ones, 0 for a page reached by keyset), each with its pager.
pub fn user(viewer: &Viewer, page: &UserPage, questions_page: u32, answers_page: u32) -> String {
    let Some(u) = &page.user else {
        return pages::not_found(viewer, "There is no such user.");
    };
    let mut m =
        format!("<div class=\"user-head\">{}<h1>{}</h1></div>\n", identicon::svg(&u.username, 64), escape(&u.username));
    let _ = writeln!(
        m,
        "<div class=\"profile\"><span><span class=\"big\">{rep}</span> reputation</span>\
         <span>{q}</span><span>{a}</span><span class=\"meta\">member since {time}</span></div>",
        rep = u.reputation,
        q = count(u.question_count, "question"),
        a = count(u.answer_count, "answer"),
        time = ago::time(u.created_at_ms, viewer.now_ms),
    );
    let name = &u.username;
    m.push_str("<h2 id=\"questions\">Questions</h2>\n");
    m.push_str(&question_list(&page.questions, "No questions yet.", viewer.now_ms));
    m.push_str(&keyset_pager(questions_page, page.more_questions, page.questions.last().map(|q| q.id), |n, after| {
        user_list_url(name, "questions", n, after)
    }));
    m.push_str("<h2 id=\"answers\">Answers</h2>\n");
    if page.answers.is_empty() {
        m.push_str("<p>No answers yet.</p>\n");
    } else {
        m.push_str("<ol class=\"questions\">\n");
        for a in &page.answers {
            let _ = writeln!(
                m,
                "<li><div class=\"stats\"><span class=\"n-votes\"><b>{score}</b> {votes}</span>{accepted}</div>\
                 <div class=\"summary\"><a class=\"title\" href=\"/questions/{qid}#answer-{id}\">{title}</a>\
                 <p class=\"excerpt\">{text}</p><div class=\"meta\">answered {time}</div></div></li>",
                score = a.score,
                votes = if a.score == 1 || a.score == -1 { "vote" } else { "votes" },
                accepted = if a.accepted {
                    "<span class=\"n-answers solved\"><span aria-hidden=\"true\">✓ </span>accepted</span>"
                } else {
                    ""
                },
                qid = a.question_id,
                id = a.id,
                title = escape(if a.question_title.is_empty() { "(untitled)" } else { &a.question_title }),
                text = escape(&markdown::excerpt(&a.body, pages::EXCERPT_CHARS)),
                time = ago::time(a.created_at_ms, viewer.now_ms),
            );
        }
        m.push_str("</ol>\n");
    }
    m.push_str(&keyset_pager(answers_page, page.more_answers, page.answers.last().map(|a| a.id), |n, after| {
        user_list_url(name, "answers", n, after)
    }));
    html::page(viewer, &u.username, &m)
}

fn count(n: i64, what: &str) -> String {
    format!("<b>{n}</b> {what}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
#[path = "../../tests/unit/pages/list.rs"]
mod tests;
