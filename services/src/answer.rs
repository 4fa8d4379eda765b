//! The answer service: stores answers to questions and lists them per question.
//!
//! Questions belong to the question service, so before storing an answer we
//! ask it (`QuestionService/Exists`) whether the question is there; "question
//! 7 does not exist" is a NOT_FOUND (404) for the caller, and a question
//! service we cannot reach is UNAVAILABLE, not a guess. The check and the
//! insert are two steps, so the question could vanish in between; the foreign
//! key on `answers.question_id` then refuses the insert and that, too, becomes
//! the same NOT_FOUND instead of a database error.
//!
//! HTTP (through `Web/Handle`): `POST /webserv/answer` with `question_id` and
//! `body` → 201 with the answer.

use crate::db::Db;
use crate::fields::{self, FieldError};
use crate::rpc::{self, Dependency};
use crate::store;
use crate::web::{self, Body};
use proto::methods::*;
use proto::pb::{Answer, AnswerList, CreateAnswer, Exists, HttpRequest, HttpResponse, Id};
use proto::{CallContext, Handler, Status};
use registry_agent::Directory;

pub const PREFIX: &str = "/webserv/answer";

pub struct AnswerService {
    db: Db,
    questions: Dependency,
}

fn no_question(id: i64) -> Status {
    Status::not_found(format!("question {id} does not exist"))
}

impl AnswerService {
    pub fn new(db: Db, directory: Directory) -> AnswerService {
        AnswerService { db, questions: Dependency::new(directory, "question") }
    }

    pub fn create(&self, ctx: &CallContext<'_>, req: CreateAnswer) -> Result<Answer, Status> {
        let question_id = fields::check_id("question_id", req.question_id)?;
        let body = fields::clean_text(fields::ANSWER_BODY, &req.body)?;
        let found: Exists = self.questions.call(ctx, QUESTION_EXISTS, &Id { id: question_id })?;
        if !found.exists {
            return Err(no_question(question_id));
        }
        let mut conn = self.db.conn_for(ctx)?;
        let answer = store::insert_answer(&mut conn, question_id, &body).map_err(|e| {
            if e.is_foreign_key_violation() {
                no_question(question_id)
            } else {
                e.to_status()
            }
        })?;
        log::info!(target: "Answer::Worker", "created answer {} to question {question_id}", answer.id);
        Ok(answer)
    }

    pub fn get(&self, ctx: &CallContext<'_>, req: Id) -> Result<Answer, Status> {
        let missing = || Status::not_found(format!("answer {} does not exist", req.id));
        if req.id <= 0 {
            return Err(missing());
        }
        let mut conn = self.db.conn_for(ctx)?;
        store::get_answer(&mut conn, req.id).map_err(|e| e.to_status())?.ok_or_else(missing)
    }

    pub fn exists(&self, ctx: &CallContext<'_>, req: Id) -> Result<Exists, Status> {
        if req.id <= 0 {
            return Ok(Exists { exists: false });
        }
        let mut conn = self.db.conn_for(ctx)?;
        let exists = store::answer_exists(&mut conn, req.id).map_err(|e| e.to_status())?;
        Ok(Exists { exists })
    }

    /// A question's answers, oldest first; an unknown question has none.
    pub fn list_for_question(&self, ctx: &CallContext<'_>, req: Id) -> Result<AnswerList, Status> {
        if req.id <= 0 {
            return Ok(AnswerList::default());
        }
        let mut conn = self.db.conn_for(ctx)?;
        let answers = store::answers_for_question(&mut conn, req.id).map_err(|e| e.to_status())?;
        Ok(AnswerList { answers })
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        if let Err(resp) = route(&req) {
            return resp;
        }
        let create = match Body::read(&req) {
            Ok(body) => create_request(&body, ctx.request_id),
            Err(e) => return e.response(),
        };
        match create.map_err(Status::from).and_then(|c| self.create(ctx, c)) {
            Ok(a) => HttpResponse::json(201, &web::answer_json(&a)),
            Err(s) => web::status_response(&s),
        }
    }
}

impl Handler for AnswerService {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        match ctx.method {
            ANSWER_CREATE => rpc::unary(payload, "CreateAnswer", |r| self.create(ctx, r)),
            ANSWER_GET => rpc::unary(payload, "Id", |r| self.get(ctx, r)),
            ANSWER_EXISTS => rpc::unary(payload, "Id", |r| self.exists(ctx, r)),
            ANSWER_LIST_FOR_QUESTION => rpc::unary(payload, "Id", |r| self.list_for_question(ctx, r)),
            WEB_HANDLE => rpc::unary(payload, "HttpRequest", |r| Ok(self.web(ctx, r))),
            other => Err(rpc::unimplemented(other)),
        }
    }
}

/// `POST /webserv/answer` is the only route; anything else under the prefix is 404.
pub fn route(req: &HttpRequest) -> Result<(), HttpResponse> {
    match web::below(&req.path, PREFIX).as_deref() {
        Some([]) => web::allow(req, &["POST"]),
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
mod tests {
    use super::*;

    fn req(method: &str, path: &str) -> HttpRequest {
        HttpRequest { method: method.into(), path: path.into(), ..Default::default() }
    }

    #[test]
    fn only_post_on_the_prefix_is_served() {
        assert_eq!(route(&req("POST", "/webserv/answer")), Ok(()));
        let r = route(&req("GET", "/webserv/answer")).unwrap_err();
        assert_eq!(r.status, 405);
        assert!(r.headers.iter().any(|h| h.name == "Allow" && h.value == b"POST"));
        assert_eq!(route(&req("POST", "/webserv/answer/1")).unwrap_err().status, 404);
        assert_eq!(route(&req("POST", "/webserv/answers")).unwrap_err().status, 404);
    }

    #[test]
    fn create_request_reads_and_names_fields() {
        let body = Body::Form(vec![("question_id".into(), "9".into()), ("body".into(), "x".into())]);
        let c = create_request(&body, "jid").unwrap();
        assert_eq!((c.question_id, c.body.as_str(), c.request_id.as_str()), (9, "x", "jid"));
        let body = Body::Form(vec![("body".into(), "x".into())]);
        assert_eq!(create_request(&body, "").unwrap_err().to_string(), "question_id is required");
        let body = Body::Form(vec![("question_id".into(), "nine".into()), ("body".into(), "x".into())]);
        assert_eq!(create_request(&body, "").unwrap_err().to_string(), "question_id must be a positive integer");
        let body = Body::Form(vec![("question_id".into(), "9".into())]);
        assert_eq!(create_request(&body, "").unwrap_err().to_string(), "body is required");
    }

    #[test]
    fn missing_question_message_names_the_id() {
        let s = no_question(7);
        assert_eq!((s.code, s.message.as_str()), (proto::Code::NotFound, "question 7 does not exist"));
    }
}
