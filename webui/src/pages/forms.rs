//! The form pages: ask, edit a question, edit an answer, log in, sign up,
//! and the revision history that edits leave behind.
//!
//! A form shown again after a refusal keeps what the user typed (never the
//! password) and marks the field the message is about, so a screen reader
//! announces the message with the field.

use crate::auth::Viewer;
use crate::forms::{Field, Invalid};
use crate::html::{self, escape};
use crate::markdown;
use crate::pages::{self, error_box, form_open, hidden, invalid_attrs, tag_list, tags_input, text_input, textarea};
use proto::fields::{ANSWER_BODY_MAX, PASSWORD_MAX, QUESTION_BODY_MAX, TITLE_MAX, USERNAME_MAX};
use proto::pb::RevisionList;
use std::fmt::Write;

/// What the question form holds.
#[derive(Debug, Clone, Default)]
pub struct QuestionForm {
    pub title: String,
    pub body: String,
    pub tags: String,
}

fn question_fields(m: &mut String, f: &QuestionForm, error: Option<&Invalid>, error_id: &str) {
    m.push_str(&text_input(
        "text",
        "title",
        "Title",
        TITLE_MAX,
        &f.title,
        &invalid_attrs(error, Field::Title, error_id),
    ));
    m.push_str("<label for=\"body\">Details</label>\n");
    m.push_str(&textarea("body", "body", 12, QUESTION_BODY_MAX, &f.body, &invalid_attrs(error, Field::Body, error_id)));
    m.push_str(pages::MARKDOWN_HINT);
    m.push_str(&tags_input(&f.tags, error, error_id));
}

/// `GET /ask`, or the form again with `error` after a rejected `POST /ask`.
pub fn ask(viewer: &Viewer, f: &QuestionForm, error: Option<&Invalid>) -> String {
    let mut m = String::from("<h1>Ask a question</h1>\n");
    if let Some(e) = error {
        m.push_str(&error_box("ask-error", e));
    }
    m.push_str(&form_open(viewer, "/ask", "", true));
    question_fields(&mut m, f, error, "ask-error");
    m.push_str("<button type=\"submit\">Post your question</button>\n</form>\n");
    html::page(viewer, "Ask a question", &m)
}

/// `GET /questions/{id}/edit`, or the form again after a rejected edit.
pub fn edit_question(viewer: &Viewer, id: i64, f: &QuestionForm, error: Option<&Invalid>) -> String {
    let mut m = String::from("<h1>Edit your question</h1>\n");
    if let Some(e) = error {
        m.push_str(&error_box("edit-error", e));
    }
    m.push_str(&form_open(viewer, &format!("/questions/{id}/edit"), "", false));
    question_fields(&mut m, f, error, "edit-error");
    let _ =
        writeln!(m, "<button type=\"submit\">Save changes</button> <a href=\"/questions/{id}\">Cancel</a>\n</form>");
    html::page(viewer, "Edit your question", &m)
}

/// `GET /answers/{id}/edit`, or the form again after a rejected edit.
pub fn edit_answer(viewer: &Viewer, id: i64, question_id: i64, body: &str, error: Option<&Invalid>) -> String {
    let mut m = String::from("<h1>Edit your answer</h1>\n");
    if let Some(e) = error {
        m.push_str(&error_box("edit-error", e));
    }
    m.push_str(&form_open(viewer, &format!("/answers/{id}/edit"), "", false));
    m.push_str("<label for=\"body\">Answer</label>\n");
    m.push_str(&textarea("body", "body", 12, ANSWER_BODY_MAX, body, &invalid_attrs(error, Field::Body, "edit-error")));
    m.push_str(pages::MARKDOWN_HINT);
    let _ = writeln!(
        m,
        "<button type=\"submit\">Save changes</button> <a href=\"/questions/{question_id}#answer-{id}\">Cancel</a>\n</form>"
    );
    html::page(viewer, "Edit your answer", &m)
}

/// Which account form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Login,
    Signup,
}

/// `GET /login` or `GET /signup`, or the form again with `error`.
/// `next` is where to go afterwards (already checked to be a local path).
pub fn account(viewer: &Viewer, which: Account, username: &str, next: &str, error: Option<&Invalid>) -> String {
    let (title, action, button, other) = match which {
        Account::Login => ("Log in", "/login", "Log in", "No account yet? <a href=\"/signup\">Sign up</a>."),
        Account::Signup => ("Sign up", "/signup", "Create account", "Have an account? <a href=\"/login\">Log in</a>."),
    };
    let mut m = format!("<h1>{title}</h1>\n");
    if let Some(e) = error {
        m.push_str(&error_box("account-error", e));
    }
    m.push_str(&form_open(viewer, action, "", false));
    if !next.is_empty() {
        m.push_str(&hidden("next", next));
        m.push('\n');
    }
    let user_extra = format!(
        " autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\"{}",
        invalid_attrs(error, Field::Username, "account-error")
    );
    m.push_str(&text_input("text", "username", "Username", USERNAME_MAX, username, &user_extra));
    if which == Account::Signup {
        m.push_str("<p class=\"hint\">3 to 30 letters, digits, _ . or -</p>\n");
    }
    let pw_extra = format!(
        " autocomplete=\"{}\"{}",
        if which == Account::Login { "current-password" } else { "new-password" },
        invalid_attrs(error, Field::Password, "account-error")
    );
    m.push_str(&text_input("password", "password", "Password", PASSWORD_MAX, "", &pw_extra));
    if which == Account::Signup {
        m.push_str("<p class=\"hint\">At least 8 characters.</p>\n");
    }
    let _ = writeln!(m, "<button type=\"submit\">{button}</button>\n</form>\n<p>{other}</p>");
    html::page(viewer, title, &m)
}

/// What a revision history is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    Question,
    Answer,
}

/// `GET /questions/{id}/revisions` and `GET /answers/{id}/revisions`:
/// every version, oldest (the original) first. `post_url` links back.
pub fn revisions(viewer: &Viewer, kind: PostKind, post_url: &str, list: &RevisionList) -> String {
    let what = match kind {
        PostKind::Question => "question",
        PostKind::Answer => "answer",
    };
    let mut m =
        format!("<h1>Revisions of this {what}</h1>\n<p><a href=\"{}\">Back to the {what}</a></p>\n", escape(post_url));
    if list.revisions.is_empty() {
        m.push_str("<p>No revisions recorded.</p>\n");
    }
    m.push_str("<ol class=\"revisions\">\n");
    for (i, r) in list.revisions.iter().enumerate() {
        let _ = writeln!(
            m,
            "<li id=\"revision-{n}\"><div class=\"meta\">Revision {n}{original} by {who}, {time}</div>",
            n = i + 1,
            original = if i == 0 { " (original)" } else { "" },
            who = pages::author(&r.editor),
            time = crate::ago::time(r.created_at_ms, viewer.now_ms),
        );
        if kind == PostKind::Question {
            let _ = writeln!(m, "<h2>{}</h2>", escape(&r.title));
        }
        let _ = writeln!(m, "<div class=\"md\">{}</div>", markdown::render(&r.body));
        if kind == PostKind::Question {
            m.push_str(&tag_list(&r.tags));
        }
        m.push_str("</li>\n");
    }
    m.push_str("</ol>\n");
    html::page(viewer, &format!("Revisions of a {what}"), &m)
}

#[cfg(test)]
#[path = "../../tests/unit/pages/forms.rs"]
mod tests;
