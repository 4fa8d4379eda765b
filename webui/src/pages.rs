//! The site's pages, rendered from the services' messages to HTML strings.
//!
//! Rendering is pure: a function of the data and of the form the user is being
//! shown again, with no I/O, so every page can be tested by rendering it and
//! reading the markup. Every piece of user text passes through
//! [`html::escape`] here, at the last moment, and nowhere else; ids are
//! integers and never need it.
//!
//! Forms are plain HTML posts that answer with a redirect (post/redirect/get),
//! so a reload never posts twice. When a form is rejected the page comes back
//! with the message next to that form and the user's text still in it.

use crate::forms::{Field, Invalid, BODY_MAX, COMMENT_MAX, TITLE_MAX};
use crate::html::{self, escape};
use proto::pb::{AnswerWithComments, QuestionPage, Thread};
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

fn error_box(id: &str, error: &Invalid) -> String {
    format!("<p class=\"error\" role=\"alert\" id=\"{id}\">{}</p>\n", escape(&error.message))
}

/// ` aria-invalid="true" aria-describedby="…"` when `error` is about `field`.
fn invalid_attrs(error: Option<&Invalid>, field: Field, error_id: &str) -> String {
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
fn textarea(id: &str, name: &str, rows: u32, max: usize, value: &str, extra: &str) -> String {
    format!(
        "<textarea id=\"{id}\" name=\"{name}\" rows=\"{rows}\" maxlength=\"{max}\" \
         required{extra}>\n{}</textarea>\n",
        escape(value)
    )
}

/// `GET /`: one page of recent questions, newest first.
pub fn index(page: &QuestionPage, page_no: u32) -> String {
    let mut m = String::new();
    if page_no <= 1 {
        m.push_str("<h1>Recent questions</h1>\n");
    } else {
        let _ = writeln!(m, "<h1>Recent questions <span class=\"meta\">page {page_no}</span></h1>");
    }
    if page.questions.is_empty() {
        if page_no <= 1 {
            m.push_str("<p>No questions yet. <a href=\"/ask\">Ask the first one</a>.</p>\n");
        } else {
            m.push_str("<p>No questions on this page. <a href=\"/\">Back to the newest</a>.</p>\n");
        }
    } else {
        m.push_str("<ol class=\"questions\">\n");
        for q in &page.questions {
            let _ = writeln!(
                m,
                "<li><a href=\"/questions/{id}\">{title}</a><div class=\"meta\">asked {time}</div></li>",
                id = q.id,
                title = escape(&q.title),
                time = html::time(q.created_at_ms),
            );
        }
        m.push_str("</ol>\n");
    }
    let newer = match page_no {
        0 | 1 => "<span></span>".to_string(),
        2 => "<a href=\"/\" rel=\"prev\">← Newer</a>".to_string(),
        n => format!("<a href=\"/?page={}\" rel=\"prev\">← Newer</a>", n - 1),
    };
    let older = if page.has_more {
        format!("<a href=\"/?page={}\" rel=\"next\">Older →</a>", page_no.saturating_add(1))
    } else {
        "<span></span>".to_string()
    };
    let _ = writeln!(m, "<nav class=\"pager\">{newer}{older}</nav>");
    m.push_str("<p><a class=\"button\" href=\"/ask\">Ask a question</a></p>\n");
    let title = if page_no <= 1 { "Recent questions".to_string() } else { format!("Recent questions, page {page_no}") };
    html::page(&title, &m)
}

/// `GET /ask`, or the form again with `error` after a rejected `POST /ask`.
pub fn ask(title: &str, body: &str, error: Option<&Invalid>) -> String {
    let mut m = String::from("<h1>Ask a question</h1>\n");
    if let Some(e) = error {
        m.push_str(&error_box("ask-error", e));
    }
    m.push_str("<form method=\"post\" action=\"/ask\">\n");
    m.push_str("<label for=\"title\">Title</label>\n");
    let _ = writeln!(
        m,
        "<input type=\"text\" id=\"title\" name=\"title\" maxlength=\"{TITLE_MAX}\" required value=\"{}\"{}>",
        escape(title),
        invalid_attrs(error, Field::Title, "ask-error"),
    );
    m.push_str("<label for=\"body\">Details</label>\n");
    m.push_str(&textarea("body", "body", 10, BODY_MAX, body, &invalid_attrs(error, Field::Body, "ask-error")));
    m.push_str("<button type=\"submit\">Post your question</button>\n</form>\n");
    html::page("Ask a question", &m)
}

fn answer_html(out: &mut String, awc: &AnswerWithComments, rejected: Option<&Rejected>) {
    let Some(a) = &awc.answer else { return };
    let _ = writeln!(
        out,
        "<article class=\"answer\" id=\"answer-{id}\">\n<div class=\"text\">{body}</div>\n\
         <div class=\"meta\">answered {time}</div>",
        id = a.id,
        body = escape(&a.body),
        time = html::time(a.created_at_ms),
    );
    if !awc.comments.is_empty() {
        out.push_str("<ul class=\"comments\">\n");
        for c in &awc.comments {
            let _ = writeln!(
                out,
                "<li id=\"comment-{id}\"><span class=\"text\">{body}</span> <span class=\"meta\">— {time}</span></li>",
                id = c.id,
                body = escape(&c.body),
                time = html::time(c.created_at_ms),
            );
        }
        out.push_str("</ul>\n");
    }
    // The rejected comment, if it was for this answer: shown open, with its text.
    let here = rejected.filter(|r| r.slot == Slot::Comment(a.id));
    let error_id = format!("comment-error-{}", a.id);
    let field_id = format!("comment-body-{}", a.id);
    let _ = writeln!(out, "<details{}>\n<summary>Add a comment</summary>", if here.is_some() { " open" } else { "" });
    if let Some(r) = here {
        out.push_str(&error_box(&error_id, &r.error));
    }
    let _ = writeln!(out, "<form method=\"post\" action=\"/answers/{}/comments\">", a.id);
    let _ = writeln!(out, "<label for=\"{field_id}\">Comment</label>");
    out.push_str(&textarea(
        &field_id,
        "body",
        3,
        COMMENT_MAX,
        here.map(|r| r.body.as_str()).unwrap_or(""),
        &invalid_attrs(here.map(|r| &r.error), Field::Body, &error_id),
    ));
    out.push_str("<button type=\"submit\">Add comment</button>\n</form>\n</details>\n</article>\n");
}

/// `GET /questions/{id}`: the question, its answers with their comments, and
/// the forms; `rejected` puts a refused submission back where it came from.
pub fn thread(thread: &Thread, rejected: Option<&Rejected>) -> String {
    let Some(q) = &thread.question else {
        return not_found("That question does not exist.");
    };
    let mut m = String::new();
    let _ = writeln!(
        m,
        "<article class=\"question\">\n<h1>{title}</h1>\n<div class=\"meta\">asked {time}</div>\n\
         <div class=\"text\">{body}</div>\n</article>",
        title = escape(&q.title),
        time = html::time(q.created_at_ms),
        body = escape(&q.body),
    );
    let n = thread.answers.iter().filter(|a| a.answer.is_some()).count();
    let _ = writeln!(
        m,
        "<h2>{}</h2>",
        match n {
            0 => "No answers yet".to_string(),
            1 => "1 answer".to_string(),
            n => format!("{n} answers"),
        }
    );
    for awc in &thread.answers {
        answer_html(&mut m, awc, rejected);
    }
    let here = rejected.filter(|r| r.slot == Slot::Answer);
    m.push_str("<h2 id=\"your-answer\">Your answer</h2>\n");
    if let Some(r) = here {
        m.push_str(&error_box("answer-error", &r.error));
    }
    let _ = writeln!(m, "<form method=\"post\" action=\"/questions/{}/answers\">", q.id);
    m.push_str("<label for=\"answer-body\">Answer</label>\n");
    m.push_str(&textarea(
        "answer-body",
        "body",
        8,
        BODY_MAX,
        here.map(|r| r.body.as_str()).unwrap_or(""),
        &invalid_attrs(here.map(|r| &r.error), Field::Body, "answer-error"),
    ));
    m.push_str("<button type=\"submit\">Post your answer</button>\n</form>\n");
    html::page(&q.title, &m)
}

fn message_page(title: &str, message: &str) -> String {
    html::page(
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/\">Go to the recent questions</a></p>\n",
            escape(title),
            escape(message)
        ),
    )
}

/// 404: an unknown path, or a question or answer that does not exist.
pub fn not_found(message: &str) -> String {
    message_page("Page not found", message)
}

/// 405: the path exists but not for this method.
pub fn method_not_allowed(method: &str, allow: &str) -> String {
    message_page("Method not allowed", &format!("This page does not accept {method} requests (it accepts {allow})."))
}

/// 400 for a request no form page can show (e.g. a bad page number).
pub fn bad_request(message: &str) -> String {
    message_page("Bad request", message)
}

/// 415: a POST body that is not a form.
pub fn unsupported_media(message: &str) -> String {
    message_page("Unsupported form encoding", message)
}

/// 503: a service we need did not answer. `what` names it for the visitor.
pub fn unavailable(what: &str) -> String {
    message_page(
        "Service unavailable",
        &format!("The {what} is not available right now. Please try again in a moment."),
    )
}

/// 503 after a comment was stored but its question could not be looked up
/// for the redirect: say it was saved, so the visitor does not post it twice.
pub fn comment_saved() -> String {
    message_page(
        "Comment saved",
        "Your comment was saved, but the page it belongs to cannot be shown right now. \
         Please find the question again in a moment.",
    )
}

/// 500: our own bug; the details are in the log, not on the page.
pub fn internal_error() -> String {
    message_page("Something went wrong", "The page could not be built. The error has been logged.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::{Answer, Comment, Question};

    fn sample() -> Thread {
        Thread {
            question: Some(Question {
                id: 7,
                title: "<script>alert(1)</script>".into(),
                body: "line one\nline \"two\" & 'three'".into(),
                created_at_ms: 1_542_848_230_560,
                ..Default::default()
            }),
            answers: vec![
                AnswerWithComments {
                    answer: Some(Answer {
                        id: 11,
                        question_id: 7,
                        body: "<b>bold?</b>".into(),
                        created_at_ms: 1,
                        ..Default::default()
                    }),
                    comments: vec![Comment {
                        id: 21,
                        answer_id: 11,
                        body: "<img src=x onerror=alert(2)>".into(),
                        created_at_ms: 2,
                        ..Default::default()
                    }],
                },
                AnswerWithComments {
                    answer: Some(Answer {
                        id: 12,
                        question_id: 7,
                        body: "plain".into(),
                        created_at_ms: 3,
                        ..Default::default()
                    }),
                    comments: vec![],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn thread_escapes_every_piece_of_user_text() {
        let doc = thread(&sample(), None);
        assert!(doc.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
        assert!(doc.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; · stackwire</title>"));
        assert!(!doc.contains("<script"));
        assert!(doc.contains("line one\nline &quot;two&quot; &amp; &#39;three&#39;"));
        assert!(doc.contains("&lt;b&gt;bold?&lt;/b&gt;"));
        assert!(!doc.contains("<b>"));
        assert!(doc.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(!doc.contains("<img"));
    }

    #[test]
    fn thread_lists_answers_with_comments_and_forms() {
        let doc = thread(&sample(), None);
        assert!(doc.contains("<h2>2 answers</h2>"));
        assert!(doc.contains("id=\"answer-11\""));
        assert!(doc.contains("id=\"answer-12\""));
        assert!(doc.contains("id=\"comment-21\""));
        assert!(doc.contains("action=\"/questions/7/answers\""));
        assert!(doc.contains("action=\"/answers/11/comments\""));
        assert!(doc.contains("action=\"/answers/12/comments\""));
        // Answers appear in the order given, comments inside their answer.
        let (a11, c21, a12) =
            (doc.find("answer-11").unwrap(), doc.find("comment-21").unwrap(), doc.find("answer-12\"").unwrap());
        assert!(a11 < c21 && c21 < a12);
        assert!(!doc.contains("role=\"alert\""));
        assert!(!doc.contains("<details open>"));
    }

    #[test]
    fn a_rejected_comment_comes_back_under_its_answer_with_its_text() {
        let r = Rejected {
            slot: Slot::Comment(12),
            body: "\n<i>too long</i>".into(),
            error: Invalid { field: Some(Field::Body), message: "body must be 1 to 600 characters".into() },
        };
        let doc = thread(&sample(), Some(&r));
        let err = doc.find("id=\"comment-error-12\"").expect("error next to answer 12's form");
        assert!(err > doc.find("id=\"answer-12\"").unwrap());
        assert!(doc.contains("body must be 1 to 600 characters"));
        // The leading newline survives the parser's one-newline strip.
        assert!(doc.contains("required aria-invalid=\"true\" aria-describedby=\"comment-error-12\">\n\n&lt;i&gt;too long&lt;/i&gt;</textarea>"));
        assert_eq!(doc.matches("<details open>").count(), 1);
        assert!(!doc.contains("answer-error"));
    }

    #[test]
    fn a_rejected_answer_comes_back_in_the_answer_form() {
        let r = Rejected {
            slot: Slot::Answer,
            body: "   ".into(),
            error: Invalid { field: Some(Field::Body), message: "body must be 1 to 30000 characters".into() },
        };
        let doc = thread(&sample(), Some(&r));
        assert!(doc
            .contains("<p class=\"error\" role=\"alert\" id=\"answer-error\">body must be 1 to 30000 characters</p>"));
        assert!(doc.contains("aria-describedby=\"answer-error\">\n   </textarea>"));
    }

    #[test]
    fn ask_form_keeps_input_and_marks_the_named_field() {
        let e = Invalid { field: Some(Field::Title), message: "title must be 1 to 200 characters".into() };
        let doc = ask("\"><script>x</script>", "my <body>", Some(&e));
        assert!(doc.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\" aria-invalid=\"true\""));
        assert!(doc.contains(">\nmy &lt;body&gt;</textarea>"));
        assert!(doc.contains("title must be 1 to 200 characters"));
        assert!(!doc.contains("<script"));
        let blank = ask("", "", None);
        assert!(!blank.contains("aria-invalid") && !blank.contains("role=\"alert\""));
        assert!(blank.contains("action=\"/ask\""));
    }

    fn questions(n: i64) -> Vec<Question> {
        (1..=n)
            .rev()
            .map(|id| Question {
                id,
                title: format!("Q{id} <&>"),
                body: String::new(),
                created_at_ms: id,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn index_links_questions_and_pages() {
        let first = index(&QuestionPage { questions: questions(3), page: 1, has_more: true }, 1);
        assert!(first.contains("<a href=\"/questions/3\">Q3 &lt;&amp;&gt;</a>"));
        assert!(first.find("/questions/3").unwrap() < first.find("/questions/1\"").unwrap());
        assert!(first.contains("href=\"/?page=2\" rel=\"next\">Older"));
        assert!(!first.contains("Newer"));
        assert!(first.contains("href=\"/ask\""));

        let second = index(&QuestionPage { questions: questions(1), page: 2, has_more: false }, 2);
        assert!(second.contains("<a href=\"/\" rel=\"prev\">← Newer</a>"));
        assert!(!second.contains("Older"));
        let fifth = index(&QuestionPage { questions: vec![], page: 5, has_more: false }, 5);
        assert!(fifth.contains("href=\"/?page=4\" rel=\"prev\""));
        assert!(fifth.contains("No questions on this page"));
        let empty = index(&QuestionPage::default(), 1);
        assert!(empty.contains("No questions yet"));
    }

    #[test]
    fn error_pages_escape_their_messages() {
        assert!(not_found("<x>").contains("&lt;x&gt;"));
        assert!(unavailable("question service").contains("The question service is not available"));
        assert!(method_not_allowed("PUT", "GET, HEAD").contains("PUT"));
    }
}
