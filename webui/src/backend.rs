//! The webui's only way to the data: typed RPC calls to the question, answer
//! and comment services.
//!
//! The pages never see a socket, a status number or a retry. They see
//! [`Backend`], whose errors are the three things a page can act on: the user
//! sent something invalid (show the form again), the thing does not exist
//! (404), or a service could not answer (503). Keeping that behind a trait
//! also lets the routing tests run against a fake.
//!
//! Every call carries the request id of the page request, so one `grep JID-…`
//! over all logs shows a page view's whole path, and a timeout no longer than
//! what is left of our own caller's deadline: a page whose visitor has given
//! up stops costing the services anything.

use proto::methods;
use proto::pb::{
    Answer, Comment, CreateAnswer, CreateComment, CreateQuestion, Id, ListQuestions, Question, QuestionPage, Thread,
};
use proto::{Code, RpcError};
use registry_agent::{Directory, ServiceClient};
use std::time::{Duration, Instant};

/// Questions on one page of the index.
pub const PER_PAGE: u32 = 20;

/// The longest we wait for any one service call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What every call needs from the page request it serves.
#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    pub deadline: Option<Instant>,
}

impl Call {
    /// Time we may spend on the next service call, or `None` if our caller's
    /// deadline has already passed.
    fn timeout(&self) -> Option<Duration> {
        let t = match self.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).min(CALL_TIMEOUT),
            None => CALL_TIMEOUT,
        };
        // Under a millisecond the callee would see timeout_ms = 0, "no deadline".
        (t >= Duration::from_millis(1)).then_some(t)
    }
}

/// A failed backend call, as the pages need to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The service rejected the input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// No answer we can use: no instance, connection lost, timeout, internal error.
    #[error("the {service} service is unavailable: {detail}")]
    Unavailable { service: &'static str, detail: String },
}

impl BackendError {
    fn from_rpc(service: &'static str, e: RpcError) -> BackendError {
        match e.code() {
            Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
                BackendError::Invalid(e.to_status().message)
            }
            Code::NotFound => BackendError::NotFound(e.to_status().message),
            _ => BackendError::Unavailable { service, detail: e.to_string() },
        }
    }
}

/// The calls the pages make.
pub trait Backend: Send + Sync {
    fn list_questions(&self, call: &Call, page: u32) -> Result<QuestionPage, BackendError>;
    fn thread(&self, call: &Call, question_id: i64) -> Result<Thread, BackendError>;
    fn create_question(&self, call: &Call, title: &str, body: &str) -> Result<Question, BackendError>;
    fn create_answer(&self, call: &Call, question_id: i64, body: &str) -> Result<Answer, BackendError>;
    fn get_answer(&self, call: &Call, answer_id: i64) -> Result<Answer, BackendError>;
    fn create_comment(&self, call: &Call, answer_id: i64, body: &str) -> Result<Comment, BackendError>;
}

/// [`Backend`] over the registry: each service by name, least-loaded instance.
pub struct RpcBackend {
    question: ServiceClient,
    answer: ServiceClient,
    comment: ServiceClient,
}

impl RpcBackend {
    pub fn new(directory: Directory) -> RpcBackend {
        RpcBackend {
            question: ServiceClient::new(directory.clone(), "question"),
            answer: ServiceClient::new(directory.clone(), "answer"),
            comment: ServiceClient::new(directory, "comment"),
        }
    }
}

fn unary<Req: prost::Message, Resp: prost::Message + Default>(
    client: &ServiceClient,
    service: &'static str,
    method: &str,
    call: &Call,
    req: &Req,
) -> Result<Resp, BackendError> {
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
    fn list_questions(&self, call: &Call, page: u32) -> Result<QuestionPage, BackendError> {
        let req = ListQuestions { page, per_page: PER_PAGE, ..Default::default() };
        unary(&self.question, "question", methods::QUESTION_LIST, call, &req)
    }

    fn thread(&self, call: &Call, question_id: i64) -> Result<Thread, BackendError> {
        let thread: Thread =
            unary(&self.question, "question", methods::QUESTION_THREAD, call, &Id { id: question_id })?;
        // A reply without its question is as good as none.
        if thread.question.is_none() {
            return Err(BackendError::NotFound(format!("question {question_id}")));
        }
        Ok(thread)
    }

    fn create_question(&self, call: &Call, title: &str, body: &str) -> Result<Question, BackendError> {
        let req = CreateQuestion {
            title: title.to_string(),
            body: body.to_string(),
            request_id: call.request_id.clone(),
            ..Default::default()
        };
        unary(&self.question, "question", methods::QUESTION_CREATE, call, &req)
    }

    fn create_answer(&self, call: &Call, question_id: i64, body: &str) -> Result<Answer, BackendError> {
        let req = CreateAnswer {
            question_id,
            body: body.to_string(),
            request_id: call.request_id.clone(),
            ..Default::default()
        };
        unary(&self.answer, "answer", methods::ANSWER_CREATE, call, &req)
    }

    fn get_answer(&self, call: &Call, answer_id: i64) -> Result<Answer, BackendError> {
        unary(&self.answer, "answer", methods::ANSWER_GET, call, &Id { id: answer_id })
    }

    fn create_comment(&self, call: &Call, answer_id: i64, body: &str) -> Result<Comment, BackendError> {
        let req = CreateComment {
            answer_id,
            body: body.to_string(),
            request_id: call.request_id.clone(),
            ..Default::default()
        };
        unary(&self.comment, "comment", methods::COMMENT_CREATE, call, &req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Status;

    #[test]
    fn rpc_failures_map_to_what_a_page_can_do() {
        let invalid = RpcError::Status(Status::invalid("title must be 1 to 200 characters"));
        assert_eq!(
            BackendError::from_rpc("question", invalid),
            BackendError::Invalid("title must be 1 to 200 characters".into())
        );
        let missing = RpcError::Status(Status::not_found("question 7"));
        assert_eq!(BackendError::from_rpc("question", missing), BackendError::NotFound("question 7".into()));
        for e in [
            RpcError::NoInstance("question".into()),
            RpcError::ConnectionLost,
            RpcError::DeadlineExceeded(Duration::from_secs(1)),
            RpcError::Status(Status::internal("db down")),
            RpcError::Status(Status::unavailable("db down")),
        ] {
            assert!(matches!(
                BackendError::from_rpc("question", e),
                BackendError::Unavailable { service: "question", .. }
            ));
        }
    }

    #[test]
    fn timeouts_respect_the_callers_deadline() {
        let open = Call { request_id: "r".into(), deadline: None };
        assert_eq!(open.timeout(), Some(CALL_TIMEOUT));
        let soon = Call { request_id: "r".into(), deadline: Some(Instant::now() + Duration::from_secs(3)) };
        let t = soon.timeout().unwrap();
        assert!(t <= Duration::from_secs(3) && t > Duration::from_secs(2), "{t:?}");
        let past = Call { request_id: "r".into(), deadline: Some(Instant::now()) };
        assert_eq!(past.timeout(), None);
    }
}
