//! From an `HttpRequest` to an `HttpResponse`: which page, which method, who
//! is asking, whether the form is genuine, and which status.
//!
//! Paths are matched exactly (no trailing-slash or case variants), and an id
//! must be a positive decimal integer: `/questions/abc` is a page that does
//! not exist (404), never an error from deeper down. A known path with the
//! wrong method is 405 with an `Allow` header. HEAD is GET without the body
//! (its `Content-Length` header says how long the GET body would be).
//!
//! Every request to a known page goes through the same steps, in this order,
//! in [`handle`]: the pre-session cookie is read (or a new one issued with
//! the response); the session cookie, if any, is checked with exactly one
//! USER_AUTHENTICATE (a dead session clears the cookie); a POST must be a
//! form carrying the CSRF token bound to the visitor's session, or to the
//! pre-session id when nobody is logged in (403 otherwise, before any
//! handler runs, see [`csrf`]); then the page's handler runs with a [`Ctx`].
//!
//! Status codes follow what the visitor can do about it: a rejected form is
//! 400 with the form shown again, something missing is 404, an action that
//! needs a login redirects to the login page (which comes back afterwards),
//! someone else's post is 403, posting too fast is 429 with `Retry-After`,
//! a service that does not answer is 503, and a successful post is 303 to
//! the page that shows the result, so a reload never posts twice.
//!
//! This file routes; the handlers live beside it, one file per kind of page:
//! [`read`] (lists, search, a user, a thread, revisions), [`post`] (ask,
//! answer, comment, vote, accept: one create flow), [`edit`] (edit a
//! question or answer) and [`account`] (log in, sign up, log out).

use crate::auth::{self, Viewer};
use crate::backend::{Backend, BackendError, Call};
use crate::page_cache::PageCache;
use crate::pages::forms::PostKind;
use crate::{ago, csrf, forms, html, pages};

mod account;
mod cached;
mod edit;
mod post;
mod read;
pub use cached::{lookup, Lookup};
use proto::pb::{HttpRequest, HttpResponse, User};

/// The pages the webui serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Home,
    Ask,
    Tags,
    Tag(String),
    Search,
    Signup,
    Login,
    Logout,
    User(String),
    Question(i64),
    Answers(i64),
    QuestionVote(i64),
    QuestionEdit(i64),
    QuestionRevisions(i64),
    Comments(i64),
    AnswerVote(i64),
    Accept(i64),
    AnswerEdit(i64),
    AnswerRevisions(i64),
}

impl Route {
    /// The methods the route answers, as the `Allow` header lists them.
    pub fn allow(&self) -> &'static str {
        use Route::*;
        match self {
            Home | Tags | Tag(_) | Search | User(_) | Question(_) | QuestionRevisions(_) | AnswerRevisions(_) => {
                "GET, HEAD"
            }
            Ask | Signup | Login | QuestionEdit(_) | AnswerEdit(_) => "GET, HEAD, POST",
            Logout | Answers(_) | QuestionVote(_) | Comments(_) | AnswerVote(_) | Accept(_) => "POST",
        }
    }

    fn allows(&self, method: &str) -> bool {
        self.allow().split(", ").any(|m| m == method)
    }

    /// Where a visitor sent to log in from this route's POST comes back to,
    /// when the form did not say: the route itself if it has a page, else
    /// the question it belongs to, else the front page.
    fn page(&self, path: &str) -> String {
        match self {
            _ if self.allows("GET") => path.to_string(),
            Route::Answers(id) | Route::QuestionVote(id) => format!("/questions/{id}"),
            _ => "/".to_string(),
        }
    }
}

/// The pages, as the registry descriptor lists them (the stylesheet they
/// link, [`html::stylesheet`], is an asset, not a page: no query, no form).
pub const ROUTES: &[&str] = &[
    "GET /",
    "GET /ask",
    "POST /ask",
    "GET /tags",
    "GET /tags/{tag}",
    "GET /search",
    "GET /signup",
    "POST /signup",
    "GET /login",
    "POST /login",
    "POST /logout",
    "GET /users/{username}",
    "GET /questions/{id}",
    "POST /questions/{id}/answers",
    "POST /questions/{id}/vote",
    "GET /questions/{id}/edit",
    "POST /questions/{id}/edit",
    "GET /questions/{id}/revisions",
    "POST /answers/{id}/comments",
    "POST /answers/{id}/vote",
    "POST /answers/{id}/accept",
    "GET /answers/{id}/edit",
    "POST /answers/{id}/edit",
    "GET /answers/{id}/revisions",
];

/// A positive id written in plain decimal digits.
fn parse_id(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|&n| n > 0)
}

fn valid_tag(s: &str) -> bool {
    (1..=proto::fields::TAG_CHARS_MAX).contains(&s.len()) && s.bytes().all(proto::fields::is_tag_char)
}

/// The route for `path`, or `None` when no page lives there.
pub fn route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some("") => return Some(Route::Home),
        Some(rest) => rest.split('/').collect(),
        None => return None,
    };
    let r = match segments.as_slice() {
        ["ask"] => Route::Ask,
        ["tags"] => Route::Tags,
        ["tags", tag] if valid_tag(tag) => Route::Tag(tag.to_string()),
        ["search"] => Route::Search,
        ["signup"] => Route::Signup,
        ["login"] => Route::Login,
        ["logout"] => Route::Logout,
        ["users", name] if forms::check_username(name).is_ok() => Route::User(name.to_string()),
        ["questions", id] => Route::Question(parse_id(id)?),
        ["questions", id, "answers"] => Route::Answers(parse_id(id)?),
        ["questions", id, "vote"] => Route::QuestionVote(parse_id(id)?),
        ["questions", id, "edit"] => Route::QuestionEdit(parse_id(id)?),
        ["questions", id, "revisions"] => Route::QuestionRevisions(parse_id(id)?),
        ["answers", id, "comments"] => Route::Comments(parse_id(id)?),
        ["answers", id, "vote"] => Route::AnswerVote(parse_id(id)?),
        ["answers", id, "accept"] => Route::Accept(parse_id(id)?),
        ["answers", id, "edit"] => Route::AnswerEdit(parse_id(id)?),
        ["answers", id, "revisions"] => Route::AnswerRevisions(parse_id(id)?),
        _ => return None,
    };
    Some(r)
}

/// Everything a handler needs about the request it serves.
pub struct Ctx<'a> {
    pub backend: &'a dyn Backend,
    pub call: &'a Call,
    pub req: &'a HttpRequest,
    pub viewer: Viewer,
    /// The session token from the cookie (for logout).
    pub token: Option<String>,
    /// Why the session could not be checked (the user service is down), if so.
    auth_down: Option<BackendError>,
    /// The decoded form of a POST; empty for GET.
    pub form: Vec<(String, String)>,
    /// Where to come back to after logging in.
    pub back: String,
}

impl Ctx<'_> {
    /// An HTML page with the headers every page carries.
    pub fn page(&self, status: u16, document: String) -> HttpResponse {
        html::response(status, document)
    }

    /// Query parameter `name`. [`handle`] has checked that the query string
    /// decodes before any handler runs, so there is no error left to see here.
    pub fn query(&self, name: &str) -> Option<String> {
        self.req.query_param(name).ok().flatten()
    }

    /// A field of the POSTed form, line breaks normalised; "" when missing.
    pub fn field(&self, name: &str) -> String {
        forms::field(&self.form, name)
    }

    /// The logged-in user, or the response that sends the visitor to log in
    /// (503 if we could not tell because the user service is down).
    pub fn require_login(&self) -> Result<&User, HttpResponse> {
        if let Some(u) = &self.viewer.user {
            return Ok(u);
        }
        if let Some(e) = &self.auth_down {
            return Err(self.failure(e.clone(), ""));
        }
        Err(redirect(&auth::login_url(&self.back)))
    }

    /// The response for a backend call that failed in a way no form can
    /// fix. `missing` is the sentence a 404 shows.
    pub fn failure(&self, e: BackendError, missing: &str) -> HttpResponse {
        let v = &self.viewer;
        match e {
            BackendError::NotFound(_) => self.page(404, pages::not_found(v, missing)),
            BackendError::Invalid(m) => self.page(400, pages::bad_request(v, &m)),
            BackendError::Unauthenticated(_) => redirect(&auth::login_url(&self.back)),
            BackendError::Forbidden(m) => self.page(403, pages::forbidden(v, &m)),
            BackendError::Conflict(m) => self.page(409, pages::bad_request(v, &m)),
            BackendError::RateLimited(m) => {
                self.page(429, pages::rate_limited(v, &m)).header("Retry-After", &retry_after(&m).to_string())
            }
            BackendError::Unavailable { service, .. } => {
                self.page(503, pages::unavailable(v, &format!("{service} service"))).header("Retry-After", "5")
            }
        }
    }
}

/// Seconds to wait from a limit message such as "… try again in 42 seconds";
/// a minute when it does not say.
pub fn retry_after(message: &str) -> u64 {
    let words: Vec<&str> = message.split_whitespace().collect();
    words
        .windows(2)
        .find_map(|w| (w[0] == "in").then(|| w[1].parse::<u64>().ok()).flatten())
        .map(|n| n.clamp(1, 3600))
        .unwrap_or(60)
}

/// What a 404 for a missing question says.
pub const NO_QUESTION: &str = "That question does not exist.";
/// What a 404 for a missing answer says.
pub const NO_ANSWER: &str = "That answer does not exist.";

/// 303 to `location`, never cached.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::see_other(location).header("Cache-Control", "no-store")
}

/// The question a request viewed, for the view counter: a GET of a
/// question page that was shown (200).
pub fn viewed_question(req: &HttpRequest, status: u32) -> Option<i64> {
    match route(&req.path) {
        Some(Route::Question(id)) if req.method == "GET" && status == 200 => Some(id),
        _ => None,
    }
}

/// Answers one page request; `key` makes and checks the CSRF tokens.
pub fn handle(backend: &dyn Backend, key: &csrf::Key, call: &Call, req: &HttpRequest) -> HttpResponse {
    handle_cached(backend, key, None, call, req)
}

/// [`handle`], serving GETs of read pages from `cache` when it can
/// ([`cached::get`]).
pub fn handle_cached(
    backend: &dyn Backend,
    key: &csrf::Key,
    cache: Option<&PageCache>,
    call: &Call,
    req: &HttpRequest,
) -> HttpResponse {
    // The stylesheet is the same for everybody: no session, no cookie.
    if let Some(resp) = html::stylesheet(&req.method, &req.path) {
        return if req.method == "HEAD" { head_of(resp) } else { resp };
    }
    let o = Opening::new(key, req);
    let resp = match route(&req.path) {
        None => html::response(404, pages::not_found(&o.viewer, "There is no page at this address.")),
        Some(r) if !r.allows(&o.method) => {
            let allow = r.allow();
            html::response(405, pages::method_not_allowed(&o.viewer, &req.method, allow)).header("Allow", allow)
        }
        // A query string that is not text: no handler gets to read it.
        Some(_) if o.query_error.is_some() => {
            let message = o.query_error.clone().unwrap_or_default();
            html::response(400, pages::bad_request(&o.viewer, &message))
        }
        Some(r) if cache.is_some_and(|_| o.method == "GET") && cached::topics(&r).is_some() => {
            match cache.and_then(|c| cached::get(c, backend, key, call, req, &r, &o.viewer)) {
                Some(resp) => resp,
                None => uncached(backend, key, call, req, &r, o.viewer.clone(), &o.method, o.presession.as_deref()),
            }
        }
        Some(r) => uncached(backend, key, call, req, &r, o.viewer.clone(), &o.method, o.presession.as_deref()),
    };
    o.close(resp)
}

/// What every page request works out before anything else (no I/O): the
/// method it is served as, the visitor's pre-session id (new or from its
/// cookie), who views the page so far (nobody logged in yet), and whether
/// the query string is readable; [`Opening::close`] finishes the response.
pub(crate) struct Opening {
    /// HEAD is served as GET, and loses its body at the end.
    head: bool,
    method: String,
    presession: Option<String>,
    visitor: String,
    viewer: Viewer,
    query_error: Option<String>,
}

impl Opening {
    fn new(key: &csrf::Key, req: &HttpRequest) -> Opening {
        let head = req.method == "HEAD";
        let method = if head { "GET".to_string() } else { req.method.clone() };
        let here = if req.query.is_empty() { req.path.clone() } else { format!("{}?{}", req.path, req.query) };
        let presession = auth::cookie(req, csrf::COOKIE).filter(|c| csrf::is_well_formed(c));
        let visitor = presession.clone().unwrap_or_else(csrf::new_token);
        let now_ms = ago::render_time(proto::clock::now_ms());
        let viewer = Viewer { user: None, csrf: key.token(csrf::Binding::Visitor(&visitor)), here, now_ms };
        let query_error = req.query_pairs().err().map(|e| e.to_string());
        Opening { head, method, presession, visitor, viewer, query_error }
    }

    /// `resp` with a new pre-session cookie when the visitor had none (and
    /// the page set none), and without its body for a HEAD.
    fn close(&self, mut resp: HttpResponse) -> HttpResponse {
        let sets_csrf = resp
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("set-cookie") && h.value.starts_with(csrf::COOKIE.as_bytes()));
        if self.presession.is_none() && !sets_csrf {
            resp = resp.header("Set-Cookie", &csrf::set_cookie(&self.visitor));
        }
        if self.head {
            resp = head_of(resp);
        }
        resp
    }
}

/// The answer to a HEAD from the GET's: the length GET would send, as HEAD
/// promises; the body goes.
fn head_of(mut resp: HttpResponse) -> HttpResponse {
    let len = resp.body.len().to_string();
    resp.body.clear();
    resp.header("Content-Length", &len)
}

/// A known page answered without the page cache: the session checked with
/// the user service, a POST's form and CSRF token checked, the handler run.
#[allow(clippy::too_many_arguments)] // the request's parts, as `handle` has them
fn uncached(
    backend: &dyn Backend,
    key: &csrf::Key,
    call: &Call,
    req: &HttpRequest,
    r: &Route,
    mut viewer: Viewer,
    method: &str,
    presession: Option<&str>,
) -> HttpResponse {
    let token = auth::session_token(req);
    let mut auth_down = None;
    let mut dead_session = false;
    if let Some(t) = &token {
        match backend.authenticate(call, t) {
            Ok(u) => {
                viewer.user = Some(u);
                viewer.csrf = key.token(csrf::Binding::Session(t));
            }
            Err(BackendError::Unauthenticated(_)) | Err(BackendError::NotFound(_)) => dead_session = true,
            Err(e) => {
                // Not known dead: its forms stay bound to it.
                log::warn!(target: "WebUI::Worker", "session not checked: {e}");
                auth_down = Some(e);
                viewer.csrf = key.token(csrf::Binding::Session(t));
            }
        }
    }
    let mut ctx = Ctx { backend, call, req, viewer, token, auth_down, form: Vec::new(), back: r.page(&req.path) };
    let resp = if method == "POST" { checked_post(&mut ctx, key, presession) } else { Ok(()) };
    // A page shown in answer to a POST links "Log in" back to the
    // page the form was on, not to the POST's own address.
    if method == "POST" {
        ctx.viewer.here = ctx.back.clone();
    }
    let resp = match resp {
        Ok(()) => dispatch(&mut ctx, r, method),
        Err(refused) => refused,
    };
    let sets_session = resp
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("set-cookie") && h.value.starts_with(auth::SESSION_COOKIE.as_bytes()));
    if dead_session && !sets_session {
        resp.header("Set-Cookie", &auth::clear_session())
    } else {
        resp
    }
}

/// Reads a POST's form and checks its CSRF token, bound to the session when
/// the visitor is logged in, else to the pre-session id; the refusal page if
/// either fails.
fn checked_post(ctx: &mut Ctx<'_>, key: &csrf::Key, presession: Option<&str>) -> Result<(), HttpResponse> {
    let req = ctx.req;
    let (m, p) = (req.method.escape_debug(), req.path.escape_debug());
    ctx.form = forms::read(req).map_err(|e| {
        // Escaped: method, path and content type are the client's bytes.
        let message = e.to_string();
        log::info!(target: "WebUI::Worker", "{m} {p}: {}", message.escape_debug());
        match e {
            forms::FormError::UnsupportedType(_) => {
                html::response(415, pages::unsupported_media(&ctx.viewer, &message))
            }
            forms::FormError::Field(_) => html::response(400, pages::bad_request(&ctx.viewer, &message)),
        }
    })?;
    // A session that is live, or could not be checked, binds the token; one
    // the user service refused does not exist any more.
    let session_bound = ctx.viewer.user.is_some() || ctx.auth_down.is_some();
    let binding = match &ctx.token {
        Some(session) if session_bound => Some(csrf::Binding::Session(session)),
        _ => presession.map(csrf::Binding::Visitor),
    };
    let field = ctx.form.iter().find(|(k, _)| k == csrf::FIELD).map(|(_, v)| v.as_str());
    if let Err(e) = key.check(binding, field) {
        log::info!(target: "WebUI::Worker", "{m} {p}: refused: {e}");
        return Err(html::response(403, pages::csrf_rejected(&ctx.viewer, &e)));
    }
    if let Some(back) = ctx.form.iter().find(|(k, _)| k == "back").and_then(|(_, v)| auth::safe_next(v)) {
        ctx.back = back.to_string();
    }
    Ok(())
}

fn dispatch(ctx: &mut Ctx<'_>, r: &Route, method: &str) -> HttpResponse {
    use Route::*;
    match (r, method) {
        (Home, _) => read::home(ctx),
        (Tags, _) => read::tags(ctx),
        (Tag(tag), _) => read::tag(ctx, tag),
        (Search, _) => read::search(ctx),
        (User(name), _) => read::user(ctx, name),
        (Question(id), _) => read::question(ctx, *id),
        (QuestionRevisions(id), _) => read::revisions(ctx, PostKind::Question, *id),
        (AnswerRevisions(id), _) => read::revisions(ctx, PostKind::Answer, *id),
        (Ask, "GET") => post::ask_form(ctx),
        (Ask, _) => post::ask(ctx),
        (Answers(id), _) => post::answer(ctx, *id),
        (Comments(id), _) => post::comment(ctx, *id),
        (QuestionVote(id), _) => post::vote(ctx, "question", *id),
        (AnswerVote(id), _) => post::vote(ctx, "answer", *id),
        (Accept(id), _) => post::accept(ctx, *id),
        (QuestionEdit(id), "GET") => edit::question_form(ctx, *id),
        (QuestionEdit(id), _) => edit::question(ctx, *id),
        (AnswerEdit(id), "GET") => edit::answer_form(ctx, *id),
        (AnswerEdit(id), _) => edit::answer(ctx, *id),
        (Login, "GET") => account::login_form(ctx),
        (Login, _) => account::login(ctx),
        (Signup, "GET") => account::signup_form(ctx),
        (Signup, _) => account::signup(ctx),
        (Logout, _) => account::logout(ctx),
    }
}
