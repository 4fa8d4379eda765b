//! The question page: the question, one page of its answers (the accepted
//! one first and marked), their comments, and the buttons and forms.
//!
//! What a visitor can do is shown, not discovered by trial: vote buttons for
//! everyone (a visitor who is not logged in is sent to the login page and
//! back), the accept button only for the asker, edit links only on one's own
//! posts, and the answer and comment forms only when logged in (otherwise a
//! link to log in and come back here). The viewer's own votes are shown
//! pressed. Every button is a small POST form with the CSRF token and a
//! `back` field naming this page, so the redirect after it lands the visitor
//! where they were.

use crate::ago;
use crate::auth::{self, Viewer};
use crate::forms::Field;
use crate::html::{self, escape};
use crate::markdown;
use crate::pages::{
    self, author, author_card, error_box, form_open, hidden, invalid_attrs, plural, tag_list, textarea, Rejected, Slot,
};
use proto::fields::{ANSWER_BODY_MAX, COMMENT_BODY_MAX};
use proto::pb::{AnswerWithComments, Thread};
use std::fmt::Write;

/// The address of one page of a question's answers.
pub fn page_url(question_id: i64, answer_page: u32) -> String {
    if answer_page > 1 {
        format!("/questions/{question_id}?answers_page={answer_page}")
    } else {
        format!("/questions/{question_id}")
    }
}

/// The viewer's vote on a post: 1, -1 or 0.
fn my_vote(thread: &Thread, target: &str, id: i64) -> i32 {
    thread.my_votes.iter().find(|v| v.target == target && v.id == id).map(|v| v.value).unwrap_or(0)
}

/// The up button, the score and the down button of one post.
fn votes(viewer: &Viewer, action: &str, back: &str, score: i64, mine: i32) -> String {
    let button = |direction: &str, symbol: &str, label: &str, on: bool| {
        let mut f = form_open(viewer, action, "", false);
        let _ = write!(
            f,
            "{}{}<button type=\"submit\"{} aria-label=\"{label}\" aria-pressed=\"{on}\" title=\"{label}\">{symbol}</button></form>",
            hidden("direction", direction),
            hidden("back", back),
            if on { " class=\"on\"" } else { "" },
        );
        f
    };
    format!(
        "<div class=\"votes\">{}<span class=\"score\" aria-label=\"score\">{score}</span>{}</div>\n",
        button("up", "▲", "Vote up", mine > 0),
        button("down", "▼", "Vote down", mine < 0),
    )
}

fn comment_form(out: &mut String, viewer: &Viewer, answer_id: i64, back: &str, here: Option<&Rejected>) {
    if viewer.user.is_none() {
        let _ =
            writeln!(out, "<p class=\"meta\"><a href=\"{}\">Log in to comment</a></p>", escape(&auth::login_url(back)));
        return;
    }
    let error_id = format!("comment-error-{answer_id}");
    let field_id = format!("comment-body-{answer_id}");
    let _ = writeln!(out, "<details{}>\n<summary>Add a comment</summary>", if here.is_some() { " open" } else { "" });
    if let Some(r) = here {
        out.push_str(&error_box(&error_id, &r.error));
    }
    out.push_str(&form_open(viewer, &format!("/answers/{answer_id}/comments"), "", true));
    let _ = writeln!(out, "<label for=\"{field_id}\">Comment</label>");
    out.push_str(&textarea(
        &field_id,
        "body",
        3,
        COMMENT_BODY_MAX,
        here.map(|r| r.body.as_str()).unwrap_or(""),
        &invalid_attrs(here.map(|r| &r.error), Field::Body, &error_id),
    ));
    out.push_str("<button type=\"submit\">Add comment</button>\n</form>\n</details>\n");
}

fn answer_html(out: &mut String, viewer: &Viewer, t: &Thread, awc: &AnswerWithComments, rejected: Option<&Rejected>) {
    let (Some(a), Some(q)) = (&awc.answer, &t.question) else { return };
    let back = format!("{}#answer-{}", page_url(q.id, t.answer_page), a.id);
    let _ =
        writeln!(out, "<article class=\"answer{}\" id=\"answer-{}\">", if a.accepted { " accepted" } else { "" }, a.id);
    out.push_str("<div class=\"post\">\n");
    out.push_str(&votes(viewer, &format!("/answers/{}/vote", a.id), &back, a.score, my_vote(t, "answer", a.id)));
    out.push_str("<div class=\"content\">\n");
    if a.accepted {
        out.push_str("<div class=\"badge\">✓ Accepted answer</div>\n");
    }
    let _ = writeln!(out, "<div class=\"md\">{}</div>", markdown::render(&a.body));
    let path = format!("/answers/{}", a.id);
    out.push_str(&actions(viewer, "answered", &path, a.created_at_ms, &a.author, a.author_reputation, a.author_id));
    if viewer.is(q.author_id) && !a.accepted {
        out.push_str(&form_open(viewer, &format!("/answers/{}/accept", a.id), "", false));
        let _ = write!(out, "{}<button type=\"submit\">Accept this answer</button></form>", hidden("back", &back));
    }
    out.push_str("</div>\n");
    if !awc.comments.is_empty() {
        out.push_str("<ul class=\"comments\">\n");
        for c in &awc.comments {
            let _ = writeln!(
                out,
                "<li id=\"comment-{id}\"><span class=\"text\">{body}</span> <span class=\"meta\">— {who}, {time}</span></li>",
                id = c.id,
                body = markdown::render_inline(&c.body),
                who = author(&c.author),
                time = ago::time(c.created_at_ms, viewer.now_ms),
            );
        }
        out.push_str("</ul>\n");
    }
    // The rejected comment, if it was for this answer: shown open, with its text.
    comment_form(out, viewer, a.id, &back, rejected.filter(|r| r.slot == Slot::Comment(a.id)));
    out.push_str("</div>\n</div>\n</article>\n");
}

/// A post's action line, left open for more actions: when and by whom it
/// was written ("asked 3 days ago by ann"), then its edit link (for its
/// author) and its history; `path` is the post's own (`/answers/7`).
fn actions(
    viewer: &Viewer,
    verb: &str,
    path: &str,
    at_ms: i64,
    author: &str,
    reputation: i64,
    author_id: i64,
) -> String {
    let mut out = format!(
        "<div class=\"actions\"><span class=\"meta\">{verb} {} by {}</span>",
        ago::time(at_ms, viewer.now_ms),
        author_card(author, reputation, 20)
    );
    if viewer.is(author_id) {
        let _ = write!(out, "<a href=\"{path}/edit\">edit</a>");
    }
    let _ = write!(out, "<a href=\"{path}/revisions\">history</a>");
    out
}

/// `GET /questions/{id}`: the question, a page of answers with their
/// comments, and the forms; `rejected` puts a refused submission back where
/// it came from.
pub fn thread(viewer: &Viewer, t: &Thread, rejected: Option<&Rejected>) -> String {
    let Some(q) = &t.question else {
        return pages::not_found(viewer, "That question does not exist.");
    };
    let here = page_url(q.id, t.answer_page);
    let mut m = String::new();
    let _ = writeln!(
        m,
        "<article class=\"question\" id=\"question\">\n<h1>{}</h1>\n<div class=\"post-meta meta\">\
         <span>Asked {}</span><span>Active {}</span><span class=\"n-views\">Viewed {}</span></div>\n<div class=\"post\">",
        escape(&q.title),
        ago::time(q.created_at_ms, viewer.now_ms),
        ago::time(q.last_activity_ms.max(q.created_at_ms), viewer.now_ms),
        plural(q.view_count, "time", "times"),
    );
    m.push_str(&votes(viewer, &format!("/questions/{}/vote", q.id), &here, q.score, my_vote(t, "question", q.id)));
    let _ = writeln!(m, "<div class=\"content\">\n<div class=\"md\">{}</div>", markdown::render(&q.body));
    m.push_str(&tag_list(&q.tags));
    let path = format!("/questions/{}", q.id);
    m.push_str(&actions(viewer, "asked", &path, q.created_at_ms, &q.author, q.author_reputation, q.author_id));
    m.push_str("</div>\n</div>\n</div>\n</article>\n");

    let on_page = t.answers.iter().filter(|a| a.answer.is_some()).count() as i64;
    let _ = writeln!(
        m,
        "<h2 id=\"answers\">{}</h2>",
        match q.answer_count.max(on_page) {
            0 => "No answers yet".to_string(),
            1 => "1 answer".to_string(),
            n => format!("{n} answers"),
        }
    );
    // The services send the accepted answer first; a stable sort keeps that
    // true whatever an older service sends, and keeps their order otherwise.
    let mut answers: Vec<&AnswerWithComments> = t.answers.iter().collect();
    answers.sort_by_key(|a| !a.answer.as_ref().is_some_and(|a| a.accepted));
    for awc in answers {
        answer_html(&mut m, viewer, t, awc, rejected);
    }
    let page = t.answer_page.max(1);
    m.push_str(&pages::pager(page, t.more_answers, u32::MAX, |n| format!("{}#answers", page_url(q.id, n)), None));

    m.push_str("<h2 id=\"your-answer\">Your answer</h2>\n");
    if viewer.user.is_none() {
        let _ = writeln!(
            m,
            "<p><a href=\"{}\">Log in</a> or <a href=\"/signup\">sign up</a> to answer.</p>",
            escape(&auth::login_url(&format!("{here}#your-answer")))
        );
        return html::page(viewer, &q.title, &m);
    }
    let mine = rejected.filter(|r| r.slot == Slot::Answer);
    if let Some(r) = mine {
        m.push_str(&error_box("answer-error", &r.error));
    }
    m.push_str(&form_open(viewer, &format!("/questions/{}/answers", q.id), "", true));
    m.push_str("<label for=\"answer-body\">Answer</label>\n");
    m.push_str(&textarea(
        "answer-body",
        "body",
        8,
        ANSWER_BODY_MAX,
        mine.map(|r| r.body.as_str()).unwrap_or(""),
        &invalid_attrs(mine.map(|r| &r.error), Field::Body, "answer-error"),
    ));
    m.push_str(pages::MARKDOWN_HINT);
    m.push_str("<button type=\"submit\">Post your answer</button>\n</form>\n");
    html::page(viewer, &q.title, &m)
}
