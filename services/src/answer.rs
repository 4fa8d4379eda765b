//! The answer service: stores answers to questions, lists a question's
//! answers a page at a time in thread order, accepts and edits them.
//!
//! An answer to a question that does not exist is refused by the foreign key
//! on `answers.question_id`, inside the create's transaction, and becomes
//! "question 7 does not exist", a NOT_FOUND (404). That one check is exact
//! (a question deleted a moment before is caught too) and costs no call to
//! the question service, whose rows these are: an answer is one RPC hop.
//!
//! HTTP (through `Web/Handle`):
//! - `POST /webserv/answer` (question_id, body) → 201 with the answer; login.
//! - `POST /webserv/answer/{id}/accept` → 200 the answer, `"accepted": true`;
//!   the asker only (403 otherwise).
//! - `POST /webserv/answer/{id}/edit` (body) → 200 the answer; the author only.
//! - `GET /webserv/answer/{id}/revisions` → the edit history, oldest first.

use crate::auth::{check_user_id, Auth};
use crate::changes;
use crate::doors::json;
use crate::doors::web::{self, Body, Stop};
use crate::fields::{self, FieldError, Target};
use crate::flows::authored;
use crate::flows::edits::{self, LOG_IN_TO_ACCEPT, LOG_IN_TO_EDIT};
use crate::flows::posting::{self, Created, Grouped, LOG_IN_TO_POST};
use crate::infra::db::Db;
use crate::infra::group_commit::GroupCommit;
use crate::store;
use coherent::Versions;
use proto::pb::{
    AcceptAnswer, Answer, AnswerList, AnswerQuery, CreateAnswer, EditPost, Exists, HttpRequest, HttpResponse, Id,
    RevisionList,
};
use proto::services::answer_service::{self, Server as _};
use proto::{CallContext, Status};
use std::sync::Arc;

pub const PREFIX: &str = "/webserv/answer";

/// Most answers one `ListForQuestion` call returns (also what a caller that
/// asks for "all", `per_page` 0, gets at most).
pub const MAX_PER_CALL: u32 = 1000;

/// Most answer creates one group commit writes together, and how many
/// groups of one instance run at once (each on one pooled connection). One
/// at a time gathered ~8 per group under bench_page's 200 writers and gave
/// more answers a second than two at a time (~4 per group): the groups'
/// commits, not their count, were what cost.
pub const GROUP_MAX: usize = 64;
pub const GROUP_LEADERS: usize = 1;

pub struct AnswerService {
    db: Db,
    auth: Auth,
    versions: Arc<Versions>,
    creates: GroupCommit<CreateAnswer, Grouped>,
}

impl AnswerService {
    pub fn new(db: Db, auth: Auth, versions: Arc<Versions>) -> AnswerService {
        AnswerService { db, auth, versions, creates: GroupCommit::new(GROUP_MAX, GROUP_LEADERS) }
    }

    pub fn create_as(&self, ctx: &CallContext<'_>, req: CreateAnswer) -> Result<Created<Answer>, Status> {
        check_user_id(req.author_id, LOG_IN_TO_POST)?;
        let question_id = fields::check_id("question_id", req.question_id)?;
        // Creates that arrive together are written together (one
        // transaction, one statement, one commit): see `posting::answers`.
        // What a group does not make, its caller makes alone.
        let grouped = if posting::groupable(&req) {
            self.creates.submit(req, ctx.deadline, |reqs| self.write_group(ctx, reqs))?
        } else {
            Grouped::Alone(req)
        };
        let created = match grouped {
            Grouped::Made(created) => created,
            Grouped::Alone(req) => {
                let mut conn = self.db.conn_for(ctx)?;
                let created = posting::answer(&mut conn, req)?;
                changes::created(&self.versions, created.row.question_id, created.row.author_id)?;
                created
            }
        };
        log::info!(target: "Answer::Worker", "{} answer {} to question {question_id}", created.verb(), created.row.id);
        Ok(created)
    }

    /// A group of creates (run by whichever of their callers leads it):
    /// those it makes are announced with one bump of every topic they
    /// changed before any of them is answered, so each reply still comes
    /// after its change is visible everywhere (a failed bump fails each of
    /// them with UNAVAILABLE, as it fails a lone create). A group of one is
    /// written the same way: it holds the leader's place while it writes,
    /// which is what lets the next creates gather behind it. No free
    /// connection leaves every create to its own caller.
    fn write_group(&self, ctx: &CallContext<'_>, reqs: Vec<CreateAnswer>) -> Vec<Result<Grouped, Status>> {
        let Ok(mut conn) = self.db.conn_for(ctx) else {
            return reqs.into_iter().map(|req| Ok(Grouped::Alone(req))).collect();
        };
        let outcomes = posting::answers(&mut conn, reqs);
        drop(conn);
        let made: Vec<(i64, i64)> = outcomes
            .iter()
            .filter_map(|o| match o {
                Ok(Grouped::Made(c)) => Some((c.row.question_id, c.row.author_id)),
                _ => None,
            })
            .collect();
        let announced = changes::created_together(&self.versions, &made);
        outcomes
            .into_iter()
            .map(|o| match (o, &announced) {
                (Ok(Grouped::Made(_)), Err(e)) => Err(e.clone()),
                (o, _) => o,
            })
            .collect()
    }

    pub fn accept_as(&self, ctx: &CallContext<'_>, req: AcceptAnswer) -> Result<Answer, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        let (a, previous) = edits::accept(&mut conn, req)?;
        let author = Some(a.author_id).filter(|&a| a > 0);
        changes::announce(&self.versions, &changes::post(a.question_id, &[author, previous]))?;
        Ok(a)
    }

    pub fn edit_as(&self, ctx: &CallContext<'_>, req: EditPost) -> Result<Answer, Status> {
        let mut conn = self.db.conn_for(ctx)?;
        let a = edits::edit_answer(&mut conn, req)?;
        changes::announce(&self.versions, &changes::post(a.question_id, &[]))?;
        Ok(a)
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        let route = match web::routed(&req, route) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let result = match route {
            WebRoute::Create => {
                return authored::create(
                    &self.auth,
                    ctx,
                    &req,
                    create_request,
                    |c| self.create_as(ctx, c),
                    |row| web::created(&format!("{PREFIX}/{}", row.id), &json::answer_json(row)),
                )
            }
            WebRoute::Accept(answer_id) => self
                .auth
                .require(ctx, &req, LOG_IN_TO_ACCEPT)
                .and_then(|u| self.accept_as(ctx, AcceptAnswer { answer_id, user_id: u.id }))
                .map(|a| HttpResponse::json(200, &json::answer_json(&a))),
            WebRoute::Edit(id) => return self.web_edit(ctx, &req, id).unwrap_or_else(Stop::into_response),
            WebRoute::Revisions(id) => {
                self.revisions(ctx, Id { id }).map(|l| HttpResponse::json(200, &json::revisions_json(&l)))
            }
        };
        result.unwrap_or_else(|s| web::status_response(&s))
    }

    fn web_edit(&self, ctx: &CallContext<'_>, req: &HttpRequest, id: i64) -> Result<HttpResponse, Stop> {
        let user = self.auth.require(ctx, req, LOG_IN_TO_EDIT)?;
        let body = Body::read(req)?;
        let text = fields::clean_text(fields::ANSWER_BODY, body.text("body")?)?;
        let edit =
            EditPost { id, user_id: user.id, body: text, request_id: ctx.request_id.to_string(), ..Default::default() };
        Ok(HttpResponse::json(200, &json::answer_json(&self.edit_as(ctx, edit)?)))
    }
}

/// The typed methods, as the proto declares them (`proto::services::answer_service`).
impl answer_service::Server for AnswerService {
    fn create(&self, ctx: &CallContext<'_>, mut req: CreateAnswer) -> Result<Answer, Status> {
        req.author_id = self.auth.acting(ctx, req.author_id, LOG_IN_TO_POST)?;
        self.create_as(ctx, req).map(|c| c.row)
    }

    fn get(&self, ctx: &CallContext<'_>, req: Id) -> Result<Answer, Status> {
        let missing = fields::lookup("answer", req.id)?;
        self.db.read(ctx, |c| store::answers::get(&mut **c, req.id))?.ok_or_else(missing)
    }

    fn exists(&self, ctx: &CallContext<'_>, req: Id) -> Result<Exists, Status> {
        if req.id <= 0 {
            return Ok(Exists { exists: false });
        }
        Ok(Exists { exists: self.db.read(ctx, |c| store::answers::exists(&mut **c, req.id))? })
    }

    /// One page of a question's answers in thread order; an unknown question
    /// has none. `per_page` 0 (a caller sending a bare `Id`) means all, up
    /// to [`MAX_PER_CALL`].
    fn list_for_question(&self, ctx: &CallContext<'_>, req: AnswerQuery) -> Result<AnswerList, Status> {
        if req.id <= 0 {
            return Ok(AnswerList::default());
        }
        let per_page = match req.per_page {
            0 => MAX_PER_CALL,
            n => n.min(MAX_PER_CALL),
        };
        let (answers, has_more) =
            self.db.read(ctx, |c| store::answers::for_question(&mut **c, req.id, req.page.max(1), per_page))?;
        Ok(AnswerList { answers, has_more })
    }

    fn accept(&self, ctx: &CallContext<'_>, mut req: AcceptAnswer) -> Result<Answer, Status> {
        req.user_id = self.auth.acting(ctx, req.user_id, LOG_IN_TO_ACCEPT)?;
        self.accept_as(ctx, req)
    }

    fn edit(&self, ctx: &CallContext<'_>, mut req: EditPost) -> Result<Answer, Status> {
        req.user_id = self.auth.acting(ctx, req.user_id, LOG_IN_TO_EDIT)?;
        self.edit_as(ctx, req)
    }

    fn revisions(&self, ctx: &CallContext<'_>, req: Id) -> Result<RevisionList, Status> {
        edits::revisions(&self.db, ctx, Target::Answer, req.id)
    }
}

web::rpc_faces!(AnswerService, answer_service);

/// The answer routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebRoute {
    Create,
    Accept(i64),
    Edit(i64),
    Revisions(i64),
}

pub fn route(req: &HttpRequest) -> Result<WebRoute, HttpResponse> {
    let rest = web::below(&req.path, PREFIX).ok_or_else(|| web::not_found(req))?;
    let id = |segment: &str| web::path_id(segment).ok_or_else(|| web::not_found(req));
    match rest[..] {
        [] => web::allow(req, &["POST"]).map(|_| WebRoute::Create),
        [segment, "accept"] => {
            let id = id(segment)?;
            web::allow(req, &["POST"]).map(|_| WebRoute::Accept(id))
        }
        [segment, "edit"] => {
            let id = id(segment)?;
            web::allow(req, &["POST"]).map(|_| WebRoute::Edit(id))
        }
        [segment, "revisions"] => {
            let id = id(segment)?;
            web::allow(req, &["GET"]).map(|_| WebRoute::Revisions(id))
        }
        _ => Err(web::not_found(req)),
    }
}

/// A `CreateAnswer` from a form or JSON body; `question_id` is checked first
/// so a client that forgot it hears about that, not about the body.
pub fn create_request(body: &Body, request_id: &str) -> Result<CreateAnswer, FieldError> {
    Ok(CreateAnswer {
        question_id: body.id("question_id")?,
        body: body.text("body")?.to_string(),
        request_id: request_id.to_string(),
        ..Default::default()
    })
}

#[cfg(test)]
#[path = "../tests/unit/answer.rs"]
mod tests;
