//! The question service's HTTP routes (through `Web/Handle`):
//!
//! | route | what |
//! |---|---|
//! | `POST /webserv/question` | ask (title, body, tags); login; 201 |
//! | `GET /webserv/question?sort=&tag=&page=` | a page of 20 questions |
//! | `GET /webserv/question/{id}?answers_page=N` | the thread, 30 answers a page |
//! | `POST /webserv/question/{id}/edit` | edit (title, body, tags); the author only |
//! | `GET /webserv/question/{id}/revisions` | the edit history, oldest first |
//! | `GET /webserv/search?q=&page=` | ranked full-text search with `[tag]` filters |
//! | `GET /webserv/tags` | tags with their question counts |
//!
//! Routing is decided from method and path alone ([`route`]), before any
//! body is read: an unknown path is 404, a known one with the wrong method
//! 405 with `Allow`, and a non-numeric id 404 (it names nothing). Writes
//! authenticate next (401 before any 400), then read the body.

use crate::auth;
use crate::doors::json;
use crate::doors::web::{self, Body, Stop};
use crate::fields::{self, FieldError};
use crate::flows::authored;
use crate::flows::edits::LOG_IN_TO_EDIT;
use crate::question::{QuestionService, Reply};
use coherent::Topic;
use proto::pb::{
    CreateQuestion, EditPost, Empty, HttpRequest, HttpResponse, Id, ListQuestions, SearchQuery, ThreadQuery,
};
use proto::rpc_server::Later;
use proto::services::question_service::Server as _;
use proto::{CallContext, Status};
use std::sync::Arc;

pub const PREFIX: &str = "/webserv/question";
pub const SEARCH: &str = "/webserv/search";
pub const TAGS: &str = "/webserv/tags";

/// The question routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebRoute {
    Create,
    List,
    Thread(i64),
    Edit(i64),
    Revisions(i64),
    Search,
    Tags,
}

pub fn route(req: &HttpRequest) -> Result<WebRoute, HttpResponse> {
    if let Some(rest) = web::below(&req.path, SEARCH) {
        return match rest[..] {
            [] => web::allow(req, &["GET"]).map(|_| WebRoute::Search),
            _ => Err(web::not_found(req)),
        };
    }
    if let Some(rest) = web::below(&req.path, TAGS) {
        return match rest[..] {
            [] => web::allow(req, &["GET"]).map(|_| WebRoute::Tags),
            _ => Err(web::not_found(req)),
        };
    }
    let rest = web::below(&req.path, PREFIX).ok_or_else(|| web::not_found(req))?;
    let id = |segment: &str| web::path_id(segment).ok_or_else(|| web::not_found(req));
    match rest[..] {
        [] => {
            web::allow(req, &["GET", "POST"])?;
            Ok(if req.method == "POST" { WebRoute::Create } else { WebRoute::List })
        }
        [segment] => {
            let id = id(segment)?;
            web::allow(req, &["GET"])?;
            Ok(WebRoute::Thread(id))
        }
        [segment, "edit"] => {
            let id = id(segment)?;
            web::allow(req, &["POST"])?;
            Ok(WebRoute::Edit(id))
        }
        [segment, "revisions"] => {
            let id = id(segment)?;
            web::allow(req, &["GET"])?;
            Ok(WebRoute::Revisions(id))
        }
        _ => Err(web::not_found(req)),
    }
}

/// What the anonymous reply of a read route depends on; `None` for a route
/// whose reply is not cached (writes).
fn topics(route: WebRoute) -> Option<Vec<Topic>> {
    match route {
        WebRoute::Thread(id) | WebRoute::Revisions(id) => Some(vec![Topic::Thread(id)]),
        WebRoute::List | WebRoute::Search | WebRoute::Tags => Some(vec![Topic::Site]),
        WebRoute::Create | WebRoute::Edit(_) => None,
    }
}

impl QuestionService {
    /// The reply cache's key and the topics it depends on, for a GET
    /// without credentials of a read route; `None` for every other request.
    fn cacheable(&self, req: &HttpRequest) -> Option<(String, Vec<Topic>)> {
        let anonymous_get = self.replies.enabled() && req.method == "GET" && auth::credential(req).is_none();
        let topics = anonymous_get.then(|| route(req).ok().and_then(topics)).flatten()?;
        Some((format!("{}?{}", req.path, req.query), topics))
    }

    /// `Web/Handle`: a cacheable request ([`QuestionService::cacheable`]) is
    /// answered from the reply cache when its stamp still holds
    /// ([`coherent`]); any other request, and every miss, is
    /// [`QuestionService::web`].
    pub(crate) fn web_payload(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let req: HttpRequest = proto::services::decode(payload, "HttpRequest")?;
        let Some((key, topics)) = self.cacheable(&req) else {
            return proto::services::encode(&self.web(ctx, req));
        };
        let stamp = self.versions.read(&topics);
        if let Some(hit) = stamp.as_ref().and_then(|s| self.replies.get(&key, s)) {
            return Ok(hit.0.clone());
        }
        let resp = self.web(ctx, req);
        let bytes = proto::services::encode(&resp)?;
        if let (Some(stamp), 200) = (stamp, resp.status) {
            self.replies.put(&key, stamp, Arc::new(Reply(bytes.clone())));
        }
        Ok(bytes)
    }

    /// `Web/Handle` taken over on the RPC loop ([`proto::rpc_server::Later`]):
    /// a cacheable request's versions are read with every other read of the
    /// moment, on the RPC loop (`loop_work`) or the cache's reader thread,
    /// and a hit is answered from there; the rest goes to a worker and
    /// [`QuestionService::web_payload`].
    pub(crate) fn web_later(&self, later: Later) -> Result<(), Later> {
        let Ok(req) = proto::services::decode::<HttpRequest>(later.payload(), "HttpRequest") else { return Err(later) };
        let Some((key, topics)) = self.cacheable(&req) else { return Err(later) };
        let replies = self.replies.clone();
        self.versions.read_later(
            topics,
            Box::new(move |stamp| match stamp.and_then(|s| replies.get(&key, &s)) {
                Some(hit) => later.answer(|_| Ok(hit.0.clone())),
                None => later.to_pool(),
            }),
        );
        Ok(())
    }

    pub(crate) fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        let route = match web::routed(&req, route) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        match route {
            WebRoute::Create => authored::create(
                &self.auth,
                ctx,
                &req,
                create_request,
                |c| self.create_as(ctx, c),
                |row| web::created(&format!("{PREFIX}/{}", row.id), &json::question_json(row)),
            ),
            WebRoute::List => {
                web::reply(list_request(&req).map_err(Status::from).and_then(|l| self.list(ctx, l)), json::page_json)
            }
            WebRoute::Thread(id) => {
                let page = match optional_page(&req, "answers_page") {
                    Ok(p) => p,
                    Err(e) => return web::field_error(&e),
                };
                let viewer = self.auth.viewer(ctx, &req);
                let query = ThreadQuery { id, answer_page: page, viewer_id: viewer.as_ref().map_or(0, |u| u.id) };
                web::reply(self.thread_for(ctx, query), |t| json::thread_json(t, viewer.is_some()))
            }
            WebRoute::Edit(id) => self.web_edit(ctx, &req, id).unwrap_or_else(Stop::into_response),
            WebRoute::Revisions(id) => web::reply(self.revisions(ctx, Id { id }), json::revisions_json),
            WebRoute::Search => {
                let query = search_request(&req).map_err(Status::from);
                web::reply(query.and_then(|q| self.search(ctx, q)), json::page_json)
            }
            WebRoute::Tags => web::reply(self.tags(ctx, Empty {}), json::tags_json),
        }
    }

    fn web_edit(&self, ctx: &CallContext<'_>, req: &HttpRequest, id: i64) -> Result<HttpResponse, Stop> {
        let user = self.auth.require(ctx, req, LOG_IN_TO_EDIT)?;
        let body = Body::read(req)?;
        let mut edit = edit_request(&body)?;
        edit.id = id;
        edit.user_id = user.id;
        edit.request_id = ctx.request_id.to_string();
        Ok(HttpResponse::json(200, &json::question_json(&self.edit_as(ctx, edit)?)))
    }
}

/// A `CreateQuestion` from a form or JSON body (validated by `create`).
pub fn create_request(body: &Body, request_id: &str) -> Result<CreateQuestion, FieldError> {
    Ok(CreateQuestion {
        title: body.text("title")?.to_string(),
        body: body.text("body")?.to_string(),
        tags: vec![body.tags("tags")?.ok_or(FieldError::Missing("tags"))?],
        request_id: request_id.to_string(),
        ..Default::default()
    })
}

/// An `EditPost` from the fields given: each of title, body and tags may be
/// left out (kept as they are), but one that is there must be valid, so an
/// empty title is a 400 rather than "no change".
pub fn edit_request(body: &Body) -> Result<EditPost, FieldError> {
    let title = body.optional_text("title")?.map(|t| fields::clean_text(fields::TITLE, t)).transpose()?;
    let text = body.optional_text("body")?.map(|t| fields::clean_text(fields::QUESTION_BODY, t)).transpose()?;
    let tags = body.tags("tags")?.map(|t| fields::parse_tags(&t)).transpose()?;
    Ok(EditPost {
        title: title.unwrap_or_default(),
        body: text.unwrap_or_default(),
        tags: tags.unwrap_or_default(),
        ..Default::default()
    })
}

/// A page number from the query string, by the one rule every list follows
/// (`proto::http::page_param`: 1 when absent).
fn optional_page(req: &HttpRequest, name: &'static str) -> Result<u32, FieldError> {
    Ok(req.page(name)?)
}

fn per_page(req: &HttpRequest) -> Result<u32, FieldError> {
    let out_of_range = FieldError::OutOfRange { field: "per_page", max: fields::MAX_PER_PAGE };
    match req.query_param("per_page")? {
        Some(p) => fields::parse_id("per_page", &p)
            .ok()
            .filter(|n| *n <= i64::from(fields::MAX_PER_PAGE))
            .map(|n| n as u32)
            .ok_or(out_of_range),
        None => Ok(fields::DEFAULT_PER_PAGE),
    }
}

/// `?sort=&tag=&page=&per_page=`, all optional (checked again by `list`).
pub fn list_request(req: &HttpRequest) -> Result<ListQuestions, FieldError> {
    let sort = fields::parse_sort(&req.query_param("sort")?.unwrap_or_default())?;
    let tag = match req.query_param("tag")?.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(t) => fields::check_tag(t)?,
    };
    let after = match req.query_param("after")? {
        Some(a) => fields::parse_id("after", &a)?,
        None => 0,
    };
    Ok(ListQuestions {
        page: optional_page(req, "page")?,
        per_page: per_page(req)?,
        sort: sort.as_str().to_string(),
        tag,
        after,
    })
}

/// `?q=&page=`; a missing `q` is named, an empty one refused by `search`.
pub fn search_request(req: &HttpRequest) -> Result<SearchQuery, FieldError> {
    let q = req.query_param("q")?.ok_or(FieldError::Missing("q"))?;
    Ok(SearchQuery { q, page: optional_page(req, "page")?, per_page: per_page(req)? })
}

#[cfg(test)]
#[path = "../../tests/unit/doors/question_web.rs"]
mod tests;
