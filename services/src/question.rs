//! The question service: asks, reads and lists questions, and assembles a
//! whole thread (question, answers, their comments) for the question page.
//!
//! Answers and comments belong to their own services, so a thread is built by
//! calling them: one `AnswerService/ListForQuestion`, then one
//! `CommentService/ListForAnswers` carrying every answer id at once (split only
//! past the comment service's per-call cap), never one call per answer. No
//! database connection is held while those calls run, so a slow dependency
//! cannot starve the pool. If either call fails, the thread fails with the
//! dependency's status: a page silently missing its answers would look like a
//! question nobody answered.
//!
//! HTTP (through `Web/Handle`), under `/webserv/question`:
//! `POST` creates (201), `GET` lists a page (`?page=N`, optional
//! `&per_page=M`), `GET /{id}` is the thread; a non-numeric id is 404.

use crate::comment::MAX_IDS;
use crate::db::Db;
use crate::fields::{self, FieldError};
use crate::rpc::{self, Dependency};
use crate::store;
use crate::web::{self, Body};
use proto::methods::*;
use proto::pb::{
    Answer, AnswerList, AnswerWithComments, Comment, CommentList, CreateQuestion, Exists, HttpRequest, HttpResponse,
    Id, Ids, ListQuestions, Question, QuestionPage, Thread,
};
use proto::{CallContext, Handler, Status};
use registry_agent::Directory;
use std::collections::HashMap;

pub const PREFIX: &str = "/webserv/question";

pub struct QuestionService {
    db: Db,
    answers: Dependency,
    comments: Dependency,
}

impl QuestionService {
    pub fn new(db: Db, directory: Directory) -> QuestionService {
        QuestionService {
            db,
            answers: Dependency::new(directory.clone(), "answer"),
            comments: Dependency::new(directory, "comment"),
        }
    }

    pub fn create(&self, ctx: &CallContext<'_>, req: CreateQuestion) -> Result<Question, Status> {
        let title = fields::clean_text(fields::TITLE, &req.title)?;
        let body = fields::clean_text(fields::QUESTION_BODY, &req.body)?;
        let mut conn = self.db.conn_for(ctx)?;
        let q = store::insert_question(&mut conn, &title, &body).map_err(|e| e.to_status())?;
        log::info!(target: "Question::Worker", "created question {}", q.id);
        Ok(q)
    }

    pub fn get(&self, ctx: &CallContext<'_>, req: Id) -> Result<Question, Status> {
        let missing = || Status::not_found(format!("question {} does not exist", req.id));
        if req.id <= 0 {
            return Err(missing());
        }
        let mut conn = self.db.conn_for(ctx)?;
        store::get_question(&mut conn, req.id).map_err(|e| e.to_status())?.ok_or_else(missing)
    }

    pub fn list(&self, ctx: &CallContext<'_>, req: ListQuestions) -> Result<QuestionPage, Status> {
        let (page, per_page) = fields::page_window(req.page, req.per_page)?;
        let mut conn = self.db.conn_for(ctx)?;
        let (questions, has_more) = store::list_questions(&mut conn, page, per_page).map_err(|e| e.to_status())?;
        Ok(QuestionPage { questions, page, has_more })
    }

    pub fn exists(&self, ctx: &CallContext<'_>, req: Id) -> Result<Exists, Status> {
        if req.id <= 0 {
            return Ok(Exists { exists: false });
        }
        let mut conn = self.db.conn_for(ctx)?;
        let exists = store::question_exists(&mut conn, req.id).map_err(|e| e.to_status())?;
        Ok(Exists { exists })
    }

    pub fn thread(&self, ctx: &CallContext<'_>, req: Id) -> Result<Thread, Status> {
        let question = self.get(ctx, req)?;
        let answers: AnswerList = self.answers.call(ctx, ANSWER_LIST_FOR_QUESTION, &Id { id: question.id })?;
        let ids: Vec<i64> = answers.answers.iter().map(|a| a.id).collect();
        let mut comments = Vec::new();
        for chunk in ids.chunks(MAX_IDS) {
            let list: CommentList = self.comments.call(ctx, COMMENT_LIST_FOR_ANSWERS, &Ids { ids: chunk.to_vec() })?;
            comments.extend(list.comments);
        }
        Ok(assemble_thread(question, answers.answers, comments))
    }

    fn web(&self, ctx: &CallContext<'_>, req: HttpRequest) -> HttpResponse {
        let route = match route(&req) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        match route {
            WebRoute::Create => {
                let create = match Body::read(&req) {
                    Ok(body) => create_request(&body, ctx.request_id),
                    Err(e) => return e.response(),
                };
                match create.map_err(Status::from).and_then(|c| self.create(ctx, c)) {
                    Ok(q) => web::created(&format!("{PREFIX}/{}", q.id), &web::question_json(&q)),
                    Err(s) => web::status_response(&s),
                }
            }
            WebRoute::List => match list_request(&req).map_err(Status::from).and_then(|l| self.list(ctx, l)) {
                Ok(page) => HttpResponse::json(200, &web::page_json(&page)),
                Err(s) => web::status_response(&s),
            },
            WebRoute::Thread(id) => match self.thread(ctx, Id { id }) {
                Ok(t) => HttpResponse::json(200, &web::thread_json(&t)),
                Err(s) => web::status_response(&s),
            },
        }
    }
}

impl Handler for QuestionService {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        match ctx.method {
            QUESTION_CREATE => rpc::unary(payload, "CreateQuestion", |r| self.create(ctx, r)),
            QUESTION_GET => rpc::unary(payload, "Id", |r| self.get(ctx, r)),
            QUESTION_LIST => rpc::unary(payload, "ListQuestions", |r| self.list(ctx, r)),
            QUESTION_EXISTS => rpc::unary(payload, "Id", |r| self.exists(ctx, r)),
            QUESTION_THREAD => rpc::unary(payload, "Id", |r| self.thread(ctx, r)),
            WEB_HANDLE => rpc::unary(payload, "HttpRequest", |r| Ok(self.web(ctx, r))),
            other => Err(rpc::unimplemented(other)),
        }
    }
}

/// The question routes, decided from method and path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebRoute {
    Create,
    List,
    Thread(i64),
}

pub fn route(req: &HttpRequest) -> Result<WebRoute, HttpResponse> {
    match web::below(&req.path, PREFIX).as_deref() {
        Some([]) => {
            web::allow(req, &["GET", "POST"])?;
            Ok(if req.method == "POST" { WebRoute::Create } else { WebRoute::List })
        }
        Some([segment]) => {
            let id = web::path_id(segment).ok_or_else(|| web::not_found(req))?;
            web::allow(req, &["GET"])?;
            Ok(WebRoute::Thread(id))
        }
        _ => Err(web::not_found(req)),
    }
}

/// A `CreateQuestion` from a form or JSON body (validated by `create`).
pub fn create_request(body: &Body, request_id: &str) -> Result<CreateQuestion, FieldError> {
    Ok(CreateQuestion {
        title: body.text("title")?.to_string(),
        body: body.text("body")?.to_string(),
        request_id: request_id.to_string(),
        ..Default::default()
    })
}

/// `?page=N&per_page=M`, both optional.
pub fn list_request(req: &HttpRequest) -> Result<ListQuestions, FieldError> {
    let page = match req.query_param("page") {
        Some(p) => fields::parse_page("page", &p)?,
        None => 1,
    };
    let per_page = match req.query_param("per_page") {
        Some(p) => fields::parse_page("per_page", &p)
            .ok()
            .filter(|n| *n <= fields::MAX_PER_PAGE)
            .ok_or(FieldError::OutOfRange { field: "per_page", max: fields::MAX_PER_PAGE })?,
        None => fields::DEFAULT_PER_PAGE,
    };
    Ok(ListQuestions { page, per_page, ..Default::default() })
}

/// Hangs each comment under its answer, keeping the answers' order (oldest
/// first) and each answer's comments in the order given (oldest first).
pub fn assemble_thread(question: Question, answers: Vec<Answer>, comments: Vec<Comment>) -> Thread {
    let mut by_answer: HashMap<i64, Vec<Comment>> = HashMap::new();
    for c in comments {
        by_answer.entry(c.answer_id).or_default().push(c);
    }
    let answers = answers
        .into_iter()
        .map(|a| AnswerWithComments { comments: by_answer.remove(&a.id).unwrap_or_default(), answer: Some(a) })
        .collect();
    Thread { question: Some(question), answers, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, query: &str) -> HttpRequest {
        HttpRequest { method: method.into(), path: path.into(), query: query.into(), ..Default::default() }
    }

    #[test]
    fn routes_methods_and_ids() {
        assert_eq!(route(&req("POST", "/webserv/question", "")), Ok(WebRoute::Create));
        assert_eq!(route(&req("GET", "/webserv/question", "page=2")), Ok(WebRoute::List));
        assert_eq!(route(&req("GET", "/webserv/question/12", "")), Ok(WebRoute::Thread(12)));
        for path in ["/webserv/question/abc", "/webserv/question/", "/webserv/question/1/2", "/webserv/questions", "/x"]
        {
            assert_eq!(route(&req("GET", path, "")).unwrap_err().status, 404, "{path}");
        }
        let r = route(&req("DELETE", "/webserv/question", "")).unwrap_err();
        assert_eq!(r.status, 405);
        assert!(r.headers.iter().any(|h| h.name == "Allow" && h.value == b"GET, POST"));
        let r = route(&req("POST", "/webserv/question/3", "")).unwrap_err();
        assert_eq!(r.status, 405);
        assert!(r.headers.iter().any(|h| h.name == "Allow" && h.value == b"GET"));
        // A bad id is 404 whatever the method: it names nothing that could allow one.
        assert_eq!(route(&req("PUT", "/webserv/question/x", "")).unwrap_err().status, 404);
    }

    #[test]
    fn list_query_parameters() {
        assert_eq!(
            list_request(&req("GET", PREFIX, "")),
            Ok(ListQuestions { page: 1, per_page: 20, ..Default::default() })
        );
        assert_eq!(
            list_request(&req("GET", PREFIX, "page=3")),
            Ok(ListQuestions { page: 3, per_page: 20, ..Default::default() })
        );
        assert_eq!(
            list_request(&req("GET", PREFIX, "page=2&per_page=5")),
            Ok(ListQuestions { page: 2, per_page: 5, ..Default::default() })
        );
        assert_eq!(
            list_request(&req("GET", PREFIX, "page=0")).unwrap_err().to_string(),
            "page must be a positive integer"
        );
        assert!(list_request(&req("GET", PREFIX, "page=x")).is_err());
        assert!(list_request(&req("GET", PREFIX, "page=")).is_err());
        assert_eq!(
            list_request(&req("GET", PREFIX, "per_page=101")).unwrap_err().to_string(),
            "per_page must be 1 to 100"
        );
    }

    #[test]
    fn create_request_names_the_missing_field() {
        let body = Body::Form(vec![("body".into(), "b".into())]);
        assert_eq!(create_request(&body, "r").unwrap_err().to_string(), "title is required");
        let body = Body::Form(vec![("title".into(), "t".into())]);
        assert_eq!(create_request(&body, "r").unwrap_err().to_string(), "body is required");
        let body = Body::Form(vec![("title".into(), "t".into()), ("body".into(), "b".into())]);
        let c = create_request(&body, "r1").unwrap();
        assert_eq!((c.title.as_str(), c.body.as_str(), c.request_id.as_str()), ("t", "b", "r1"));
    }

    #[test]
    fn threads_group_comments_under_their_answers_in_order() {
        let q = Question { id: 1, ..Default::default() };
        let a = |id| Answer { id, question_id: 1, ..Default::default() };
        let c = |id, answer_id| Comment { id, answer_id, ..Default::default() };
        let t = assemble_thread(q, vec![a(10), a(11), a(12)], vec![c(1, 10), c(2, 12), c(3, 10), c(4, 99)]);
        let got: Vec<(i64, Vec<i64>)> = t
            .answers
            .iter()
            .map(|awc| (awc.answer.as_ref().unwrap().id, awc.comments.iter().map(|c| c.id).collect()))
            .collect();
        assert_eq!(got, vec![(10, vec![1, 3]), (11, vec![]), (12, vec![2])]);
        assert_eq!(t.question.unwrap().id, 1);
    }
}
