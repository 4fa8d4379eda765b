//! [`Backend`] over the registry: each service by name, least-loaded live
//! instance, one call of the service's typed client (generated from the
//! proto, `proto::services`) per method.
//!
//! Every call carries the request id of the page request, so one `grep JID-…`
//! over all logs shows a page view's whole path, and a timeout no longer than
//! what is left of our own caller's deadline: a page whose visitor has given
//! up stops costing the services anything; and the visitor's session token
//! as `authorization: Bearer` metadata, the one credential a service acts on
//! (see services/src/auth.rs). Only failures a visitor cannot
//! cause (the service is down or slow) are logged here; the rest are the
//! page's business.

use crate::backend::{Backend, BackendError, Call, Res};
use proto::pb::{
    AcceptAnswer, Answer, CastVote, Comment, CreateAnswer, CreateComment, CreateQuestion, EditPost, Empty, Id,
    ListQuestions, LogIn, Question, QuestionPage, RevisionList, SearchQuery, Session, SignUp, TagList, Thread,
    ThreadQuery, Token, User, UserPage, Username, ViewCounts, VoteResult,
};
use proto::services::{answer_service, comment_service, question_service, user_service, vote_service};
use proto::{metadata, CallOptions, RpcError};
use registry_agent::{Directory, ServiceClient};

/// One typed client per service, all over the same registry view.
pub struct RpcBackend {
    question: question_service::Client<ServiceClient>,
    answer: answer_service::Client<ServiceClient>,
    comment: comment_service::Client<ServiceClient>,
    user: user_service::Client<ServiceClient>,
    vote: vote_service::Client<ServiceClient>,
}

impl RpcBackend {
    pub fn new(directory: Directory) -> RpcBackend {
        let at = |service| ServiceClient::new(directory.clone(), service);
        RpcBackend {
            question: question_service::Client::new(at("question")),
            answer: answer_service::Client::new(at("answer")),
            comment: comment_service::Client::new(at("comment")),
            user: user_service::Client::new(at("user")),
            vote: vote_service::Client::new(at("vote")),
        }
    }
}

/// One typed call for the page request `call`: `f` makes it with the
/// request id, what is left of the page's deadline and the visitor's
/// session token as the call's credential.
fn unary<R>(service: &'static str, call: &Call, f: impl FnOnce(&CallOptions<'_>) -> Result<R, RpcError>) -> Res<R> {
    let Some(timeout) = call.timeout() else {
        return Err(BackendError::Unavailable {
            service,
            detail: "the request's deadline passed before the call".into(),
        });
    };
    let credential: Vec<metadata::Entry> = call.token.as_deref().map(metadata::bearer).into_iter().collect();
    f(&CallOptions::new(&call.request_id, timeout).with_metadata(&credential)).map_err(|e| {
        let err = BackendError::from_rpc(service, e);
        if let BackendError::Unavailable { .. } = err {
            log::warn!(target: "WebUI::Worker", "a call to the {service} service: {err}");
        }
        err
    })
}

impl Backend for RpcBackend {
    fn list_questions(&self, call: &Call, req: &ListQuestions) -> Res<QuestionPage> {
        unary("question", call, |o| self.question.list(o, req))
    }

    fn search(&self, call: &Call, req: &SearchQuery) -> Res<QuestionPage> {
        unary("question", call, |o| self.question.search(o, req))
    }

    fn tags(&self, call: &Call) -> Res<TagList> {
        unary("question", call, |o| self.question.tags(o, &Empty {}))
    }

    fn thread(&self, call: &Call, req: &ThreadQuery) -> Res<Thread> {
        let thread = unary("question", call, |o| self.question.thread(o, req))?;
        // A reply without its question is as good as none.
        if thread.question.is_none() {
            return Err(BackendError::NotFound(format!("question {}", req.id)));
        }
        Ok(thread)
    }

    fn get_question(&self, call: &Call, id: i64) -> Res<Question> {
        unary("question", call, |o| self.question.get(o, &Id { id }))
    }

    fn create_question(&self, call: &Call, req: &CreateQuestion) -> Res<Question> {
        unary("question", call, |o| self.question.create(o, req))
    }

    fn edit_question(&self, call: &Call, req: &EditPost) -> Res<Question> {
        unary("question", call, |o| self.question.edit(o, req))
    }

    fn question_revisions(&self, call: &Call, id: i64) -> Res<RevisionList> {
        unary("question", call, |o| self.question.revisions(o, &Id { id }))
    }

    fn create_answer(&self, call: &Call, req: &CreateAnswer) -> Res<Answer> {
        unary("answer", call, |o| self.answer.create(o, req))
    }

    fn get_answer(&self, call: &Call, id: i64) -> Res<Answer> {
        unary("answer", call, |o| self.answer.get(o, &Id { id }))
    }

    fn accept_answer(&self, call: &Call, req: &AcceptAnswer) -> Res<Answer> {
        unary("answer", call, |o| self.answer.accept(o, req))
    }

    fn edit_answer(&self, call: &Call, req: &EditPost) -> Res<Answer> {
        unary("answer", call, |o| self.answer.edit(o, req))
    }

    fn answer_revisions(&self, call: &Call, id: i64) -> Res<RevisionList> {
        unary("answer", call, |o| self.answer.revisions(o, &Id { id }))
    }

    fn create_comment(&self, call: &Call, req: &CreateComment) -> Res<Comment> {
        unary("comment", call, |o| self.comment.create(o, req))
    }

    fn vote(&self, call: &Call, req: &CastVote) -> Res<VoteResult> {
        unary("vote", call, |o| self.vote.cast(o, req))
    }

    fn sign_up(&self, call: &Call, req: &SignUp) -> Res<User> {
        unary("user", call, |o| self.user.create(o, req))
    }

    fn log_in(&self, call: &Call, req: &LogIn) -> Res<Session> {
        unary("user", call, |o| self.user.login(o, req))
    }

    fn log_out(&self, call: &Call, token: &str) -> Res<()> {
        unary("user", call, |o| self.user.logout(o, &Token { token: token.to_string() })).map(|_| ())
    }

    fn authenticate(&self, call: &Call, token: &str) -> Res<User> {
        unary("user", call, |o| self.user.authenticate(o, &Token { token: token.to_string() }))
    }

    fn user_page(&self, call: &Call, req: &Username) -> Res<UserPage> {
        unary("user", call, |o| self.user.get(o, req))
    }

    fn add_views(&self, call: &Call, req: &ViewCounts) -> Res<()> {
        unary("question", call, |o| self.question.add_views(o, req)).map(|_| ())
    }
}
