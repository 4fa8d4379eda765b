//! The posts a logged-in user makes: ask, answer, comment, vote, accept.
//!
//! Each needs a login (a visitor is sent to the login page and comes back to
//! the page they were on), checks the form the way the services will, and
//! passes the logged-in user's id in the typed request. A rejected form or a
//! posting limit brings the form back with the user's text and the message
//! (400, or 429 with `Retry-After`), so nothing typed is lost; everything
//! else ends in a 303 to the page that shows the result.

use crate::backend::BackendError;
use crate::forms::{self, Invalid};
use crate::pages::forms::QuestionForm;
use crate::pages::{self, Rejected, Slot};
use crate::routes::{redirect, retry_after, Ctx, NO_ANSWER, NO_QUESTION};
use proto::fields::Authored;
use proto::pb::{AcceptAnswer, CastVote, CreateAnswer, CreateComment, CreateQuestion, HttpResponse, ThreadQuery};

/// What became of a submission the services refused.
enum Refused {
    /// Show the form again with this message and status.
    Form(Invalid, u16),
    /// Nothing a form can fix: this response.
    Page(HttpResponse),
}

/// Sorts a failed create into "show the form again" and "show this page".
fn refused(ctx: &Ctx<'_>, e: BackendError, missing: &str) -> Refused {
    match e {
        BackendError::Invalid(m) => Refused::Form(Invalid::from_service(&m), 400),
        BackendError::RateLimited(m) => Refused::Form(Invalid { field: None, message: m }, 429),
        e => Refused::Page(ctx.failure(e, missing)),
    }
}

/// A form page with the status it deserves; 429 also says when to retry.
fn form_page(ctx: &Ctx<'_>, status: u16, doc: String, error: &Invalid) -> HttpResponse {
    let resp = ctx.page(status, doc);
    if status == 429 {
        resp.header("Retry-After", &retry_after(&error.message).to_string())
    } else {
        resp
    }
}

/// `GET /ask`
pub fn ask_form(ctx: &mut Ctx<'_>) -> HttpResponse {
    if let Err(to_login) = ctx.require_login() {
        return to_login;
    }
    ctx.page(200, pages::forms::ask(&ctx.viewer, &QuestionForm::default(), None))
}

/// The one create flow of ask, answer and comment (CSRF was checked before
/// routing): the logged-in author, else the login page; the form's own
/// checks (`checked` builds the typed request, 400 with the form when a field
/// is wrong); the typed call, signed with the author and the form's
/// idempotency key; then `done` (a 303 to the new post), or the form again
/// (`again`) with the service's message and 400 or 429, or the failure page.
fn create<R: Authored, T>(
    ctx: &Ctx<'_>,
    missing: &str,
    checked: impl FnOnce(&Ctx<'_>) -> Result<R, Invalid>,
    call: impl FnOnce(&Ctx<'_>, &R) -> Result<T, BackendError>,
    done: impl FnOnce(&Ctx<'_>, T) -> HttpResponse,
    again: impl FnOnce(&Ctx<'_>, Invalid, u16) -> HttpResponse,
) -> HttpResponse {
    let author_id = match ctx.require_login() {
        Ok(u) => u.id,
        Err(to_login) => return to_login,
    };
    let (error, status) = match checked(ctx) {
        Err(invalid) => (invalid, 400),
        Ok(mut req) => {
            req.sign(author_id, forms::idempotency_key(&ctx.form));
            match call(ctx, &req) {
                Ok(row) => return done(ctx, row),
                Err(e) => match refused(ctx, e, missing) {
                    Refused::Form(invalid, status) => (invalid, status),
                    Refused::Page(resp) => return resp,
                },
            }
        }
    };
    again(ctx, error, status)
}

/// `POST /ask` → 303 to the new question.
pub fn ask(ctx: &mut Ctx<'_>) -> HttpResponse {
    let f = QuestionForm { title: ctx.field("title"), body: ctx.field("body"), tags: ctx.field("tags") };
    create(
        ctx,
        NO_QUESTION,
        |ctx| {
            let tags = forms::check_question_with_tags(&f.title, &f.body, &f.tags)?;
            let (title, body, request_id) = (f.title.clone(), f.body.clone(), ctx.call.request_id.clone());
            Ok(CreateQuestion { title, body, tags, request_id, ..Default::default() })
        },
        |ctx, req| ctx.backend.create_question(ctx.call, req),
        |_, q| redirect(&format!("/questions/{}", q.id)),
        |ctx, error, status| form_page(ctx, status, pages::forms::ask(&ctx.viewer, &f, Some(&error)), &error),
    )
}

/// The question page again with a refused submission back in its form.
fn show_rejected(ctx: &Ctx<'_>, question_id: i64, rejected: Rejected, status: u16) -> HttpResponse {
    let req = ThreadQuery { id: question_id, answer_page: 1, viewer_id: ctx.viewer.id() };
    match ctx.backend.thread(ctx.call, &req) {
        Ok(thread) => {
            let doc = pages::thread::thread(&ctx.viewer, &thread, Some(&rejected));
            form_page(ctx, status, doc, &rejected.error)
        }
        Err(e) => ctx.failure(e, NO_QUESTION),
    }
}

/// `POST /questions/{id}/answers` → 303 to the answer.
pub fn answer(ctx: &mut Ctx<'_>, question_id: i64) -> HttpResponse {
    let body = ctx.field("body");
    create(
        ctx,
        NO_QUESTION,
        |ctx| {
            forms::check_answer(&body)?;
            let request_id = ctx.call.request_id.clone();
            Ok(CreateAnswer { question_id, body: body.clone(), request_id, ..Default::default() })
        },
        |ctx, req| ctx.backend.create_answer(ctx.call, req),
        |_, a| redirect(&format!("/questions/{question_id}#answer-{}", a.id)),
        |ctx, error, status| {
            show_rejected(ctx, question_id, Rejected { slot: Slot::Answer, body: body.clone(), error }, status)
        },
    )
}

/// `POST /answers/{id}/comments` → 303 to the answer on its question's page.
pub fn comment(ctx: &mut Ctx<'_>, answer_id: i64) -> HttpResponse {
    let body = ctx.field("body");
    create(
        ctx,
        NO_ANSWER,
        |ctx| {
            forms::check_comment(&body)?;
            let request_id = ctx.call.request_id.clone();
            Ok(CreateComment { answer_id, body: body.clone(), request_id, ..Default::default() })
        },
        |ctx, req| ctx.backend.create_comment(ctx.call, req),
        |ctx, _| match ctx.backend.get_answer(ctx.call, answer_id) {
            Ok(a) => redirect(&format!("/questions/{}#answer-{answer_id}", a.question_id)),
            Err(e) => {
                // The comment is stored; only the way back to it is lost.
                log::warn!(target: "WebUI::Worker", "comment on answer {answer_id} saved, but: {e}");
                ctx.page(503, pages::comment_saved(&ctx.viewer)).header("Retry-After", "5")
            }
        },
        // The form goes back on the answer's question page, so find the question.
        |ctx, error, status| match ctx.backend.get_answer(ctx.call, answer_id) {
            Ok(a) => {
                let rejected = Rejected { slot: Slot::Comment(answer_id), body: body.clone(), error };
                show_rejected(ctx, a.question_id, rejected, status)
            }
            Err(e) => ctx.failure(e, NO_ANSWER),
        },
    )
}

/// Where to go after acting on an answer: the form's `back`, or the answer
/// on its question's page.
fn back_to_answer(ctx: &Ctx<'_>, answer_id: i64, question_id: Option<i64>) -> HttpResponse {
    if ctx.back != "/" {
        return redirect(&ctx.back);
    }
    let question_id = match question_id {
        Some(q) => q,
        None => match ctx.backend.get_answer(ctx.call, answer_id) {
            Ok(a) => a.question_id,
            Err(e) => return ctx.failure(e, NO_ANSWER),
        },
    };
    redirect(&format!("/questions/{question_id}#answer-{answer_id}"))
}

/// `POST /questions/{id}/vote`, `POST /answers/{id}/vote` (direction up or
/// down) → 303 back to the page the button was on.
pub fn vote(ctx: &mut Ctx<'_>, target: &str, id: i64) -> HttpResponse {
    let user_id = match ctx.require_login() {
        Ok(u) => u.id,
        Err(to_login) => return to_login,
    };
    let direction = ctx.field("direction");
    if direction != "up" && direction != "down" {
        return ctx.page(400, pages::bad_request(&ctx.viewer, "direction must be up or down"));
    }
    let req = CastVote { target: target.to_string(), id, direction, user_id };
    let missing = if target == "question" { NO_QUESTION } else { NO_ANSWER };
    match ctx.backend.vote(ctx.call, &req) {
        Ok(_) if target == "question" => redirect(&ctx.back),
        Ok(_) => back_to_answer(ctx, id, None),
        Err(e) => ctx.failure(e, missing),
    }
}

/// `POST /answers/{id}/accept` → 303 to the (now accepted) answer.
pub fn accept(ctx: &mut Ctx<'_>, answer_id: i64) -> HttpResponse {
    let user_id = match ctx.require_login() {
        Ok(u) => u.id,
        Err(to_login) => return to_login,
    };
    match ctx.backend.accept_answer(ctx.call, &AcceptAnswer { answer_id, user_id }) {
        // The accepted answer moves to the top of the first page.
        Ok(a) => redirect(&format!("/questions/{}#answer-{answer_id}", a.question_id)),
        Err(e) => ctx.failure(e, NO_ANSWER),
    }
}

#[cfg(test)]
#[path = "../../tests/unit/routes/post.rs"]
mod tests;
