//! The comment service: stores short comments on answers and lists the
//! comments of many answers in one call.
//!
//! As with answers, a comment on an answer that does not exist is refused by
//! the foreign key on `comments.answer_id` inside the create's transaction,
//! and becomes "answer 7 does not exist", a NOT_FOUND; no call to the answer
//! service is needed.
//!
//! `ListForAnswers` takes every answer id of a thread at once so that a page
//! costs one call and one query however many answers it has. The number of
//! ids per call is capped ([`MAX_IDS`]); a caller over the cap gets
//! INVALID_ARGUMENT rather than an unbounded query, and the question service
//! splits a larger thread into calls under the cap.
//!
//! HTTP (through `Web/Handle`): `POST /webserv/comment` with `answer_id` and
//! `body` → 201 with the comment; it needs a login (`Authorization: Bearer`)
//! and honours an `Idempotency-Key` header like the other creates
//! ([`crate::flows::posting`]).

use crate::auth::{check_user_id, Auth};
use crate::changes;
use crate::doors::json;
use crate::doors::web::{self, Body};
use crate::fields::{self, FieldError};
use crate::flows::authored;
use crate::flows::posting::{self, Created, LOG_IN_TO_POST};
use crate::infra::db::Db;
use crate::store;
use coherent::Versions;
use proto::pb::{Comment, CommentList, CreateComment, HttpRequest, HttpResponse, Ids};
use proto::services::comment_service;
use proto::{CallContext, Status};
use std::sync::Arc;

pub const PREFIX: &str = "/webserv/comment";

/// Most answer ids one `ListForAnswers` call may carry.
pub const MAX_IDS: usize = 1000;

pub struct CommentService {
    db: Db,
    auth: Auth,
    versions: Arc<Versions>,
}

impl CommentService {
    pub fn new(db: Db, auth: Auth, versions: Arc<Versions>) -> CommentService {
        CommentService { db, auth, versions }
    }

    pub fn create_as(&self, ctx: &CallContext<'_>, req: CreateComment) -> Result<Created<Comment>, Status> {
        check_user_id(req.author_id, LOG_IN_TO_POST)?;
        let answer_id = fields::check_id("answer_id", req.answer_id)?;
        fields::clean_text(fields::COMMENT_BODY, &req.body)?;
        let mut conn = self.db.conn_for(ctx)?;
        let created = posting::comment(&mut conn, req)?;
        let question = store::answers::question_of(&mut *conn, answer_id)?.unwrap_or(0);
        changes::created(&self.versions, question, created.row.author_id)?;
        log::info!(target: "Comment::Worker", "{} comment {} on answer {answer_id}", created.verb(), created.row.id);
        Ok(created)
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        if let Err(resp) = web::routed(&req, route) {
            return resp;
        }
        authored::create(
            &self.auth,
            ctx,
            &req,
            create_request,
            |c| self.create_as(ctx, c),
            |row| HttpResponse::json(201, &json::comment_json(row)),
        )
    }
}

/// The typed methods, as the proto declares them (`proto::services::comment_service`).
impl comment_service::Server for CommentService {
    fn create(&self, ctx: &CallContext<'_>, mut req: CreateComment) -> Result<Comment, Status> {
        req.author_id = self.auth.acting(ctx, req.author_id, LOG_IN_TO_POST)?;
        self.create_as(ctx, req).map(|c| c.row)
    }

    fn list_for_answers(&self, ctx: &CallContext<'_>, req: Ids) -> Result<CommentList, Status> {
        let ids = check_ids(req.ids)?;
        if ids.is_empty() {
            return Ok(CommentList::default());
        }
        let comments = self.db.read(ctx, |c| store::comments::for_answers(&mut **c, &ids))?;
        Ok(CommentList { comments })
    }
}

web::rpc_faces!(CommentService, comment_service);

/// The ids to look up: at most [`MAX_IDS`], sorted, without duplicates or
/// ids that cannot exist (≤ 0).
pub fn check_ids(mut ids: Vec<i64>) -> Result<Vec<i64>, Status> {
    if ids.len() > MAX_IDS {
        return Err(Status::invalid(format!("ids must hold at most {MAX_IDS} answer ids, not {}", ids.len())));
    }
    ids.retain(|&id| id > 0);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `POST /webserv/comment` is the only route; anything else under the prefix is 404.
pub fn route(req: &HttpRequest) -> Result<(), HttpResponse> {
    match web::below(&req.path, PREFIX).as_deref() {
        Some([]) => web::allow(req, &["POST"]),
        _ => Err(web::not_found(req)),
    }
}

/// A `CreateComment` from a form or JSON body.
pub fn create_request(body: &Body, request_id: &str) -> Result<CreateComment, FieldError> {
    Ok(CreateComment {
        answer_id: body.id("answer_id")?,
        body: body.text("body")?.to_string(),
        request_id: request_id.to_string(),
        ..Default::default()
    })
}

#[cfg(test)]
#[path = "../tests/unit/comment.rs"]
mod tests;
