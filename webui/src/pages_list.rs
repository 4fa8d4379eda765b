//! The pages that list things: the front page with its sort tabs, a tag's
//! questions, the tag list, search results and a user's page.
//!
//! Every list pages the same way, 20 at a time with numbered page links, and
//! every link carries the rest of the list's state (sort, query), so moving
//! between pages or tabs never loses what the visitor asked for.

use crate::auth::Viewer;
use crate::html::{self, escape};
use crate::pages::{self, excerpt, pager, question_list, tag_url};
use proto::http::percent_encode;
use proto::http::MAX_PAGE;
use proto::pb::{QuestionPage, TagList, UserPage};
use std::fmt::Write;

/// How a question list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    Active,
    Votes,
    Unanswered,
}

/// A `?sort=` that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sort must be newest, active, votes or unanswered")]
pub struct BadSort;

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Newest, Sort::Active, Sort::Votes, Sort::Unanswered];

    /// The name in URLs and in `ListQuestions.sort`.
    pub fn name(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Active => "active",
            Sort::Votes => "votes",
            Sort::Unanswered => "unanswered",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Newest",
            Sort::Active => "Active",
            Sort::Votes => "Votes",
            Sort::Unanswered => "Unanswered",
        }
    }

    /// From `?sort=`; absent or empty is newest.
    pub fn parse(s: Option<&str>) -> Result<Sort, BadSort> {
        match s {
            None | Some("") => Ok(Sort::Newest),
            Some(s) => Sort::ALL.into_iter().find(|x| x.name() == s).ok_or(BadSort),
        }
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
        q.push(format!("sort={}", sort.name()));
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
        let _ = write!(out, "<a href=\"{}\"{on}>{}</a>", escape(&list_url(base, s, 1)), s.label());
    }
    out.push_str("</nav>\n");
    out
}

/// The pager of a question list: numbered links by page number, "Next" by
/// keyset after the last question shown, carrying the next page's number
/// while there is one (page 0: a page past the numbered ones).
fn list_pager(base: &str, sort: Sort, page: &QuestionPage, page_no: u32) -> String {
    let label = match page_no {
        0 | MAX_PAGE.. => 0,
        n => n + 1,
    };
    let next = page.questions.last().map(|q| list_url_after(base, sort, label, q.id));
    pager(page_no, page.has_more, MAX_PAGE, |n| list_url(base, sort, n), next)
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
    m.push_str(&question_list(&page.questions, empty));
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
    m.push_str(&question_list(&page.questions, empty));
    m.push_str(&list_pager(&base, sort, page, page_no));
    m.push_str("<p><a href=\"/tags\">All tags</a></p>\n");
    html::page(viewer, &format!("Questions tagged {tag}{}", page_suffix(page_no)), &m)
}

/// `GET /tags`: every tag with its question count, most used first.
pub fn tags(viewer: &Viewer, list: &TagList) -> String {
    let mut m = String::from("<h1>Tags</h1>\n");
    if list.tags.is_empty() {
        m.push_str("<p>No tags yet: they come with the first question.</p>\n");
    } else {
        m.push_str("<table class=\"taglist\">\n");
        for t in &list.tags {
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
    html::page(viewer, "Tags", &m)
}

fn pages_count(n: i64) -> String {
    format!("{n} question{}", if n == 1 { "" } else { "s" })
}

/// `GET /search?q=…`: the form with the query, and results when there is one.
pub fn search(viewer: &Viewer, q: &str, results: Option<&QuestionPage>, page_no: u32) -> String {
    let mut m = String::from("<h1>Search</h1>\n");
    let _ = writeln!(
        m,
        "<form method=\"get\" action=\"/search\" role=\"search\"><label for=\"q\">Words, and [tag] to filter by tag</label>\
         <input type=\"search\" id=\"q\" name=\"q\" maxlength=\"200\" value=\"{}\"><button type=\"submit\">Search</button></form>",
        escape(q)
    );
    match results {
        None => m.push_str("<p class=\"hint\">For example <code>half-closed socket [rust]</code>.</p>\n"),
        Some(page) => {
            let _ = writeln!(m, "<h2>Results for “{}”</h2>", escape(q));
            let empty = if page_no > 1 { "No more results." } else { "Nothing matches. Try fewer or other words." };
            m.push_str(&question_list(&page.questions, empty));
            let qs = percent_encode(q);
            m.push_str(&pager(
                page_no,
                page.has_more,
                MAX_PAGE,
                |n| {
                    if n > 1 {
                        format!("/search?q={qs}&page={n}")
                    } else {
                        format!("/search?q={qs}")
                    }
                },
                None,
            ));
        }
    }
    let title = if q.is_empty() { "Search".to_string() } else { format!("Search: {q}{}", page_suffix(page_no)) };
    html::page(viewer, &title, &m)
}

/// `GET /users/{username}`: reputation, counts, questions and answers.
pub fn user(viewer: &Viewer, page: &UserPage) -> String {
    let Some(u) = &page.user else {
        return pages::not_found(viewer, "There is no such user.");
    };
    let mut m = format!("<h1>{}</h1>\n", escape(&u.username));
    let _ = writeln!(
        m,
        "<div class=\"profile\"><span><span class=\"big\">{rep}</span> reputation</span>\
         <span>{q}</span><span>{a}</span><span class=\"meta\">member since {time}</span></div>",
        rep = u.reputation,
        q = count(u.question_count, "question"),
        a = count(u.answer_count, "answer"),
        time = html::time(u.created_at_ms),
    );
    m.push_str("<h2>Questions</h2>\n");
    m.push_str(&question_list(&page.questions, "No questions yet."));
    m.push_str("<h2>Answers</h2>\n");
    if page.answers.is_empty() {
        m.push_str("<p>No answers yet.</p>\n");
    } else {
        m.push_str("<ol class=\"questions\">\n");
        for a in &page.answers {
            let _ = writeln!(
                m,
                "<li><div class=\"stats\"><b>{score}</b> votes{accepted}</div><div class=\"summary\">\
                 <a class=\"title\" href=\"/questions/{qid}#answer-{id}\">{text}</a>\
                 <div class=\"meta\">answered {time}</div></div></li>",
                score = a.score,
                accepted = if a.accepted { "<br><span class=\"solved\">accepted</span>" } else { "" },
                qid = a.question_id,
                id = a.id,
                text = escape(&excerpt(&a.body, 140)),
                time = html::time(a.created_at_ms),
            );
        }
        m.push_str("</ol>\n");
    }
    html::page(viewer, &u.username, &m)
}

fn count(n: i64, what: &str) -> String {
    format!("<b>{n}</b> {what}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::{Answer, Question, TagCount, User};

    fn questions(n: i64) -> Vec<Question> {
        (1..=n)
            .rev()
            .map(|id| Question { id, title: format!("Q{id} <&>"), created_at_ms: id, ..Default::default() })
            .collect()
    }

    #[test]
    fn sorts_parse_and_name_themselves() {
        assert_eq!(Sort::parse(None), Ok(Sort::Newest));
        assert_eq!(Sort::parse(Some("")), Ok(Sort::Newest));
        for s in Sort::ALL {
            assert_eq!(Sort::parse(Some(s.name())), Ok(s));
        }
        assert_eq!(Sort::parse(Some("Votes")), Err(BadSort));
        assert_eq!(Sort::parse(Some("oldest")), Err(BadSort));
    }

    #[test]
    fn index_has_tabs_rows_and_page_links() {
        let v = Viewer::default();
        let first = index(&v, &QuestionPage { questions: questions(3), page: 1, has_more: true }, Sort::Votes, 1);
        assert!(first.contains("<h1>Top voted questions</h1>"));
        assert!(first.contains("<a href=\"/?sort=votes\" class=\"on\" aria-current=\"page\">Votes</a>"));
        assert!(first.contains("<a href=\"/\">Newest</a>"));
        assert!(first.contains("<a href=\"/?sort=unanswered\">Unanswered</a>"));
        assert!(first.contains("<a class=\"title\" href=\"/questions/3\">Q3 &lt;&amp;&gt;</a>"));
        assert!(first.find("/questions/3").unwrap() < first.find("/questions/1\"").unwrap());
        assert!(first.contains("href=\"/?sort=votes&amp;page=2&amp;after=1\" rel=\"next\""));
        let empty = index(&v, &QuestionPage::default(), Sort::Newest, 1);
        assert!(empty.contains("No questions yet"));
        let later = index(&v, &QuestionPage::default(), Sort::Newest, 5);
        assert!(later.contains("No questions on this page") && later.contains("href=\"/?page=4\" rel=\"prev\""));
    }

    #[test]
    fn tag_pages_and_the_tag_list_link_each_other() {
        let v = Viewer::default();
        let page =
            tag_page(&v, "c++", &QuestionPage { questions: questions(1), page: 2, has_more: true }, Sort::Active, 2);
        assert!(page.contains("Questions tagged <span class=\"tag\">c++</span>"));
        assert!(page.contains("href=\"/tags/c%2B%2B?sort=active&amp;page=3&amp;after=1\""));
        assert!(page.contains("href=\"/tags/c%2B%2B?sort=votes\""));
        let list = tags(
            &v,
            &TagList {
                tags: vec![TagCount { tag: "rust".into(), count: 3 }, TagCount { tag: "<x>".into(), count: 1 }],
            },
        );
        assert!(list.contains("<a class=\"tag\" href=\"/tags/rust\">rust</a></td><td class=\"n\">3 questions"));
        assert!(list.contains("&lt;x&gt;</a></td><td class=\"n\">1 question<"));
    }

    #[test]
    fn search_keeps_the_query_in_the_form_and_the_page_links() {
        let v = Viewer::default();
        let none = search(&v, "", None, 1);
        assert!(none.contains("name=\"q\" maxlength=\"200\" value=\"\""));
        let q = "socket \"half\" [rust]";
        let found = search(&v, q, Some(&QuestionPage { questions: questions(2), page: 1, has_more: true }), 1);
        assert!(found.contains("value=\"socket &quot;half&quot; [rust]\""));
        assert!(found.contains("href=\"/search?q=socket%20%22half%22%20%5Brust%5D&amp;page=2\""));
        assert!(found.contains("/questions/2"));
        let nothing = search(&v, "zzz", Some(&QuestionPage::default()), 1);
        assert!(nothing.contains("Nothing matches"));
    }

    #[test]
    fn user_page_shows_reputation_and_posts() {
        let page = UserPage {
            user: Some(User {
                id: 1,
                username: "ann".into(),
                reputation: 27,
                question_count: 1,
                answer_count: 1,
                ..Default::default()
            }),
            questions: questions(1),
            answers: vec![Answer {
                id: 5,
                question_id: 1,
                body: "Use **this**\nplease".into(),
                score: 2,
                accepted: true,
                ..Default::default()
            }],
        };
        let doc = user(&Viewer::default(), &page);
        assert!(doc.contains("<h1>ann</h1>"));
        assert!(doc.contains("<span class=\"big\">27</span> reputation"));
        assert!(doc.contains("<b>1</b> question<") && doc.contains("<b>1</b> answer<"));
        assert!(doc.contains("href=\"/questions/1#answer-5\">Use **this** please</a>"));
        assert!(doc.contains("class=\"solved\">accepted"));
        assert!(user(&Viewer::default(), &UserPage::default()).contains("no such user"));
    }
}
