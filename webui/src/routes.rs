//! From an `HttpRequest` to an `HttpResponse`: which page, which method, which
//! backend calls, which status.
//!
//! Paths are matched exactly (no trailing-slash or case variants), and an id
//! must be a positive decimal integer: `/questions/abc` is a page that does
//! not exist (404), never an error from deeper down. A known path with the
//! wrong method is 405 with an `Allow` header. HEAD is GET without the body
//! (its `Content-Length` header says how long the GET body would be).
//!
//! Status codes follow what the visitor can do about it: a rejected form is
//! 400 with the form shown again, something that does not exist is 404, a
//! service that does not answer is 503 (the visitor may retry), and a
//! successful post is 303 to the page that shows the result, so a reload
//! never posts twice.

use crate::backend::{Backend, BackendError, Call};
use crate::forms::{self, Invalid};
use crate::html;
use crate::pages::{self, Rejected, Slot};
use proto::pb::{HttpRequest, HttpResponse};

/// The pages the webui serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/`
    Home,
    /// `/ask`
    Ask,
    /// `/questions/{id}`
    Question(i64),
    /// `/questions/{id}/answers`
    Answers(i64),
    /// `/answers/{id}/comments`
    Comments(i64),
}

impl Route {
    /// The methods the route answers, as the `Allow` header lists them.
    pub fn allow(self) -> &'static str {
        match self {
            Route::Home | Route::Question(_) => "GET, HEAD",
            Route::Ask => "GET, HEAD, POST",
            Route::Answers(_) | Route::Comments(_) => "POST",
        }
    }
}

/// The routes as the registry descriptor lists them.
pub const ROUTES: &[&str] = &[
    "GET /",
    "GET /ask",
    "POST /ask",
    "GET /questions/{id}",
    "POST /questions/{id}/answers",
    "POST /answers/{id}/comments",
];

/// A positive id written in plain decimal digits.
fn parse_id(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|&n| n > 0)
}

/// The route for `path`, or `None` when no page lives there.
pub fn route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some("") => return Some(Route::Home),
        Some(rest) => rest.split('/').collect(),
        None => return None,
    };
    match segments.as_slice() {
        ["ask"] => Some(Route::Ask),
        ["questions", id] => parse_id(id).map(Route::Question),
        ["questions", id, "answers"] => parse_id(id).map(Route::Answers),
        ["answers", id, "comments"] => parse_id(id).map(Route::Comments),
        _ => None,
    }
}

/// Answers one page request.
pub fn handle(backend: &dyn Backend, call: &Call, req: &HttpRequest) -> HttpResponse {
    let Some(route) = route(&req.path) else {
        return html::response(404, pages::not_found("There is no page at this address."));
    };
    let head = req.method == "HEAD";
    let method = if head { "GET" } else { req.method.as_str() };
    let mut resp = match (route, method) {
        (Route::Home, "GET") => home(backend, call, req),
        (Route::Ask, "GET") => html::response(200, pages::ask("", "", None)),
        (Route::Ask, "POST") => post_ask(backend, call, req),
        (Route::Question(id), "GET") => question(backend, call, id),
        (Route::Answers(id), "POST") => post_answer(backend, call, id, req),
        (Route::Comments(id), "POST") => post_comment(backend, call, id, req),
        _ => {
            let allow = route.allow();
            html::response(405, pages::method_not_allowed(&req.method, allow)).header("Allow", allow)
        }
    };
    if head {
        // The length GET would send, as HEAD promises; the body goes.
        let len = resp.body.len().to_string();
        resp.body.clear();
        resp = resp.header("Content-Length", &len);
    }
    resp
}

/// The response for a backend call that failed in a way no form can fix.
/// `missing` is the sentence a 404 shows.
fn failure(e: BackendError, missing: &str) -> HttpResponse {
    match e {
        BackendError::NotFound(_) => html::response(404, pages::not_found(missing)),
        BackendError::Invalid(message) => html::response(400, pages::bad_request(&message)),
        BackendError::Unavailable { service, .. } => {
            html::response(503, pages::unavailable(&format!("{service} service"))).header("Retry-After", "5")
        }
    }
}

const NO_QUESTION: &str = "That question does not exist.";
const NO_ANSWER: &str = "That answer does not exist.";

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::see_other(location).header("Cache-Control", "no-store")
}

/// A `?page=` that is not a page number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("page must be a whole number from 1 up")]
pub struct BadPage;

/// The page number from `?page=N`; absent or empty means the first page.
fn page_number(req: &HttpRequest) -> Result<u32, BadPage> {
    match req.query_param("page").as_deref() {
        None | Some("") => Ok(1),
        Some(s) => s.parse::<u32>().ok().filter(|&n| n >= 1).ok_or(BadPage),
    }
}

fn home(backend: &dyn Backend, call: &Call, req: &HttpRequest) -> HttpResponse {
    let page_no = match page_number(req) {
        Ok(n) => n,
        Err(e) => return html::response(400, pages::bad_request(&e.to_string())),
    };
    match backend.list_questions(call, page_no) {
        Ok(page) => html::response(200, pages::index(&page, page_no)),
        Err(e) => failure(e, "There is no such page."),
    }
}

/// The decoded form, or the 415 page for a body that is not a form.
fn form(req: &HttpRequest) -> Result<Vec<(String, String)>, HttpResponse> {
    forms::read(req).map_err(|e| {
        // Escaped: method, path and content type are the client's bytes.
        let message = e.to_string();
        let (m, p) = (req.method.escape_debug(), req.path.escape_debug());
        log::info!(target: "WebUI::Worker", "{m} {p}: {}", message.escape_debug());
        html::response(415, pages::unsupported_media(&message))
    })
}

fn post_ask(backend: &dyn Backend, call: &Call, req: &HttpRequest) -> HttpResponse {
    let pairs = match form(req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (title, body) = (forms::field(&pairs, "title"), forms::field(&pairs, "body"));
    let rejected = match forms::check_question(&title, &body) {
        Err(invalid) => invalid,
        Ok(()) => match backend.create_question(call, &title, &body) {
            Ok(q) => return redirect(&format!("/questions/{}", q.id)),
            Err(BackendError::Invalid(message)) => Invalid::from_service(&message),
            Err(e) => return failure(e, NO_QUESTION),
        },
    };
    html::response(400, pages::ask(&title, &body, Some(&rejected)))
}

fn question(backend: &dyn Backend, call: &Call, id: i64) -> HttpResponse {
    match backend.thread(call, id) {
        Ok(thread) => html::response(200, pages::thread(&thread, None)),
        Err(e) => failure(e, NO_QUESTION),
    }
}

/// The question page again, 400, with a rejected submission back in its form.
fn show_rejected(backend: &dyn Backend, call: &Call, question_id: i64, rejected: Rejected) -> HttpResponse {
    match backend.thread(call, question_id) {
        Ok(thread) => html::response(400, pages::thread(&thread, Some(&rejected))),
        Err(e) => failure(e, NO_QUESTION),
    }
}

fn post_answer(backend: &dyn Backend, call: &Call, question_id: i64, req: &HttpRequest) -> HttpResponse {
    let pairs = match form(req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let body = forms::field(&pairs, "body");
    let error = match forms::check_answer(&body) {
        Err(invalid) => invalid,
        Ok(()) => match backend.create_answer(call, question_id, &body) {
            Ok(a) => return redirect(&format!("/questions/{question_id}#answer-{}", a.id)),
            Err(BackendError::Invalid(message)) => Invalid::from_service(&message),
            Err(e) => return failure(e, NO_QUESTION),
        },
    };
    show_rejected(backend, call, question_id, Rejected { slot: Slot::Answer, body, error })
}

fn post_comment(backend: &dyn Backend, call: &Call, answer_id: i64, req: &HttpRequest) -> HttpResponse {
    let pairs = match form(req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let body = forms::field(&pairs, "body");
    let error = match forms::check_comment(&body) {
        Err(invalid) => invalid,
        Ok(()) => match backend.create_comment(call, answer_id, &body) {
            Ok(_) => {
                return match backend.get_answer(call, answer_id) {
                    Ok(a) => redirect(&format!("/questions/{}#answer-{answer_id}", a.question_id)),
                    Err(e) => {
                        // The comment is stored; only the way back to it is lost.
                        log::warn!(target: "WebUI::Worker", "comment on answer {answer_id} saved, but: {e}");
                        html::response(503, pages::comment_saved()).header("Retry-After", "5")
                    }
                };
            }
            Err(BackendError::Invalid(message)) => Invalid::from_service(&message),
            Err(e) => return failure(e, NO_ANSWER),
        },
    };
    // The form goes back on the answer's question page, so find the question.
    match backend.get_answer(call, answer_id) {
        Ok(a) => show_rejected(backend, call, a.question_id, Rejected { slot: Slot::Comment(answer_id), body, error }),
        Err(e) => failure(e, NO_ANSWER),
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
