//! [`Backend`] over the registry: each service by name, least-loaded live
//! instance, one typed unary call per method.
//!
//! Every call carries the request id of the page request, so one `grep JID-…`
//! over all logs shows a page view's whole path, and a timeout no longer than
//! what is left of our own caller's deadline: a page whose visitor has given
//! up stops costing the services anything. Only failures a visitor cannot
//! cause (the service is down or slow) are logged here; the rest are the
//! page's business.

use crate::backend::{Backend, BackendError, Call, Res};
use proto::methods;
use proto::pb::{
    AcceptAnswer, Answer, CastVote, Comment, CreateAnswer, CreateComment, CreateQuestion, EditPost, Empty, Id,
    ListQuestions, LogIn, Question, QuestionPage, RevisionList, SearchQuery, Session, SignUp, TagList, Thread,
    ThreadQuery, Token, User, UserPage, Username, ViewCounts, VoteResult,
};
use registry_agent::{Directory, ServiceClient};

/// One client per service, all over the same registry view.
pub struct RpcBackend {
    question: ServiceClient,
    answer: ServiceClient,
    comment: ServiceClient,
    user: ServiceClient,
    vote: ServiceClient,
}

impl RpcBackend {
    pub fn new(directory: Directory) -> RpcBackend {
        RpcBackend {
            question: ServiceClient::new(directory.clone(), "question"),
            answer: ServiceClient::new(directory.clone(), "answer"),
            comment: ServiceClient::new(directory.clone(), "comment"),
            user: ServiceClient::new(directory.clone(), "user"),
            vote: ServiceClient::new(directory, "vote"),
        }
    }

    fn q<Req: prost::Message, Resp: prost::Message + Default>(&self, m: &str, call: &Call, req: &Req) -> Res<Resp> {
        unary(&self.question, "question", m, call, req)
    }

    fn a<Req: prost::Message, Resp: prost::Message + Default>(&self, m: &str, call: &Call, req: &Req) -> Res<Resp> {
        unary(&self.answer, "answer", m, call, req)
    }

    fn u<Req: prost::Message, Resp: prost::Message + Default>(&self, m: &str, call: &Call, req: &Req) -> Res<Resp> {
        unary(&self.user, "user", m, call, req)
    }
}

fn unary<Req: prost::Message, Resp: prost::Message + Default>(
    client: &ServiceClient,
    service: &'static str,
    method: &str,
    call: &Call,
    req: &Req,
) -> Res<Resp> {
    let Some(timeout) = call.timeout() else {
        return Err(BackendError::Unavailable {
            service,
            detail: "the request's deadline passed before the call".into(),
        });
    };
    client.unary(method, &call.request_id, timeout, req).map_err(|e| {
        let err = BackendError::from_rpc(service, e);
        if let BackendError::Unavailable { .. } = err {
            log::warn!(target: "WebUI::Worker", "{method}: {err}");
        }
        err
    })
}

impl Backend for RpcBackend {
    fn list_questions(&self, call: &Call, req: &ListQuestions) -> Res<QuestionPage> {
        self.q(methods::QUESTION_LIST, call, req)
    }

    fn search(&self, call: &Call, req: &SearchQuery) -> Res<QuestionPage> {
        self.q(methods::QUESTION_SEARCH, call, req)
    }

    fn tags(&self, call: &Call) -> Res<TagList> {
        self.q(methods::QUESTION_TAGS, call, &Empty {})
    }

    fn thread(&self, call: &Call, req: &ThreadQuery) -> Res<Thread> {
        let thread: Thread = self.q(methods::QUESTION_THREAD, call, req)?;
        // A reply without its question is as good as none.
        if thread.question.is_none() {
            return Err(BackendError::NotFound(format!("question {}", req.id)));
        }
        Ok(thread)
    }

    fn get_question(&self, call: &Call, id: i64) -> Res<Question> {
        self.q(methods::QUESTION_GET, call, &Id { id })
    }

    fn create_question(&self, call: &Call, req: &CreateQuestion) -> Res<Question> {
        self.q(methods::QUESTION_CREATE, call, req)
    }

    fn edit_question(&self, call: &Call, req: &EditPost) -> Res<Question> {
        self.q(methods::QUESTION_EDIT, call, req)
    }

    fn question_revisions(&self, call: &Call, id: i64) -> Res<RevisionList> {
        self.q(methods::QUESTION_REVISIONS, call, &Id { id })
    }

    fn create_answer(&self, call: &Call, req: &CreateAnswer) -> Res<Answer> {
        self.a(methods::ANSWER_CREATE, call, req)
    }

    fn get_answer(&self, call: &Call, id: i64) -> Res<Answer> {
        self.a(methods::ANSWER_GET, call, &Id { id })
    }

    fn accept_answer(&self, call: &Call, req: &AcceptAnswer) -> Res<Answer> {
        self.a(methods::ANSWER_ACCEPT, call, req)
    }

    fn edit_answer(&self, call: &Call, req: &EditPost) -> Res<Answer> {
        self.a(methods::ANSWER_EDIT, call, req)
    }

    fn answer_revisions(&self, call: &Call, id: i64) -> Res<RevisionList> {
        self.a(methods::ANSWER_REVISIONS, call, &Id { id })
    }

    fn create_comment(&self, call: &Call, req: &CreateComment) -> Res<Comment> {
        unary(&self.comment, "comment", methods::COMMENT_CREATE, call, req)
    }

    fn vote(&self, call: &Call, req: &CastVote) -> Res<VoteResult> {
        unary(&self.vote, "vote", methods::VOTE_CAST, call, req)
    }

    fn sign_up(&self, call: &Call, req: &SignUp) -> Res<User> {
        self.u(methods::USER_CREATE, call, req)
    }

    fn log_in(&self, call: &Call, req: &LogIn) -> Res<Session> {
        self.u(methods::USER_LOGIN, call, req)
    }

    fn log_out(&self, call: &Call, token: &str) -> Res<()> {
        let _: Empty = self.u(methods::USER_LOGOUT, call, &Token { token: token.to_string() })?;
        Ok(())
    }

    fn authenticate(&self, call: &Call, token: &str) -> Res<User> {
        self.u(methods::USER_AUTHENTICATE, call, &Token { token: token.to_string() })
    }

    fn user_page(&self, call: &Call, req: &Username) -> Res<UserPage> {
        self.u(methods::USER_GET, call, req)
    }

    fn add_views(&self, call: &Call, req: &ViewCounts) -> Res<()> {
        self.q::<_, Empty>(methods::QUESTION_ADD_VIEWS, call, req).map(|_| ())
    }
}
