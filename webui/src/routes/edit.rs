//! Editing one's own question or answer: the form filled with the current
//! text, and the POST that saves a new revision.
//!
//! The services decide who may edit (they answer PERMISSION_DENIED to anyone
//! but the author); the form page checks the same thing first so that a
//! stranger gets a 403 page instead of a form that cannot be sent.

use crate::backend::BackendError;
use crate::forms::{self, Invalid};
use crate::pages;
use crate::pages::forms::QuestionForm;
use crate::routes::{redirect, Ctx, NO_ANSWER, NO_QUESTION};
use proto::pb::{EditPost, HttpResponse};

fn not_yours(ctx: &Ctx<'_>, what: &str) -> HttpResponse {
    ctx.page(403, pages::forbidden(&ctx.viewer, &format!("Only its author can edit this {what}.")))
}

/// `GET /questions/{id}/edit`
pub fn question_form(ctx: &mut Ctx<'_>, id: i64) -> HttpResponse {
    if let Err(to_login) = ctx.require_login() {
        return to_login;
    }
    match ctx.backend.get_question(ctx.call, id) {
        Ok(q) if ctx.viewer.is(q.author_id) => {
            let f = QuestionForm { title: q.title, body: q.body, tags: q.tags.join(" ") };
            ctx.page(200, pages::forms::edit_question(&ctx.viewer, id, &f, None))
        }
        Ok(_) => not_yours(ctx, "question"),
        Err(e) => ctx.failure(e, NO_QUESTION),
    }
}

/// `POST /questions/{id}/edit` → 303 to the question.
pub fn question(ctx: &mut Ctx<'_>, id: i64) -> HttpResponse {
    let user_id = match ctx.require_login() {
        Ok(u) => u.id,
        Err(to_login) => return to_login,
    };
    let f = QuestionForm { title: ctx.field("title"), body: ctx.field("body"), tags: ctx.field("tags") };
    let error = match forms::check_question_with_tags(&f.title, &f.body, &f.tags) {
        Err(invalid) => invalid,
        Ok(tags) => {
            let req = EditPost {
                id,
                user_id,
                title: f.title.clone(),
                body: f.body.clone(),
                tags,
                request_id: ctx.call.request_id.clone(),
            };
            match ctx.backend.edit_question(ctx.call, &req) {
                Ok(_) => return redirect(&format!("/questions/{id}")),
                Err(BackendError::Invalid(m)) => Invalid::from_service(&m),
                Err(e) => return ctx.failure(e, NO_QUESTION),
            }
        }
    };
    ctx.page(400, pages::forms::edit_question(&ctx.viewer, id, &f, Some(&error)))
}

/// `GET /answers/{id}/edit`
pub fn answer_form(ctx: &mut Ctx<'_>, id: i64) -> HttpResponse {
    if let Err(to_login) = ctx.require_login() {
        return to_login;
    }
    match ctx.backend.get_answer(ctx.call, id) {
        Ok(a) if ctx.viewer.is(a.author_id) => {
            ctx.page(200, pages::forms::edit_answer(&ctx.viewer, id, a.question_id, &a.body, None))
        }
        Ok(_) => not_yours(ctx, "answer"),
        Err(e) => ctx.failure(e, NO_ANSWER),
    }
}

/// `POST /answers/{id}/edit` → 303 to the answer on its question's page.
pub fn answer(ctx: &mut Ctx<'_>, id: i64) -> HttpResponse {
    let user_id = match ctx.require_login() {
        Ok(u) => u.id,
        Err(to_login) => return to_login,
    };
    let body = ctx.field("body");
    let error = match forms::check_answer(&body) {
        Err(invalid) => invalid,
        Ok(()) => {
            let req = EditPost {
                id,
                user_id,
                body: body.clone(),
                request_id: ctx.call.request_id.clone(),
                ..Default::default()
            };
            match ctx.backend.edit_answer(ctx.call, &req) {
                Ok(a) => return redirect(&format!("/questions/{}#answer-{id}", a.question_id)),
                Err(BackendError::Invalid(m)) => Invalid::from_service(&m),
                Err(e) => return ctx.failure(e, NO_ANSWER),
            }
        }
    };
    // The Cancel link needs the question; the form comes back either way.
    let question_id = ctx.backend.get_answer(ctx.call, id).map(|a| a.question_id).unwrap_or(0);
    let doc = pages::forms::edit_answer(&ctx.viewer, id, question_id, &body, Some(&error));
    ctx.page(400, doc)
}
