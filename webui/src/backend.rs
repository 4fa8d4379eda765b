//! The webui's only way to the data: typed RPC calls to the question, answer,
//! comment, user and vote services.
//!
//! The pages never see a socket, a status number or a retry. They see
//! [`Backend`], whose errors are the things a page can act on: the user sent
//! something invalid (show the form again), the thing does not exist (404),
//! the visitor must log in (redirect to the login page), may not do this
//! (403), picked a name that is taken (409), is posting too fast (429), or a
//! service could not answer (503). Keeping that behind a trait also lets the
//! routing tests run against a fake; the real implementation over the
//! registry is in `backend_rpc`.
//!
//! The trait takes the services' own request messages: the page code fills
//! in `author_id`/`user_id`/`viewer_id` from the one USER_AUTHENTICATE it made
//! for the page request, and nothing here second-guesses them. The services
//! do: every call carries the visitor's session token ([`Call::token`]) and
//! a service acts as the token's user, refusing an id that is someone else's.

use proto::pb::{
    AcceptAnswer, Answer, CastVote, Comment, CreateAnswer, CreateComment, CreateQuestion, EditPost, ListQuestions,
    LogIn, Question, QuestionPage, RevisionList, SearchQuery, Session, SignUp, TagList, Thread, ThreadQuery, User,
    UserPage, Username, ViewCounts, VoteResult,
};
use proto::{Code, RpcError};
use std::time::{Duration, Instant};

/// Questions on one page of a list.
pub const PER_PAGE: u32 = 20;

/// The longest we wait for any one service call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What every call needs from the page request it serves.
#[derive(Debug, Clone)]
pub struct Call {
    pub request_id: String,
    pub deadline: Option<Instant>,
    /// The visitor's session token (their cookie), sent with every call as
    /// `authorization: Bearer` metadata: the services take the acting user
    /// from it, not from the ids in the request.
    pub token: Option<String>,
}

impl Call {
    /// Time we may spend on the next service call, or `None` if our caller's
    /// deadline has already passed.
    pub fn timeout(&self) -> Option<Duration> {
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
    /// No valid session (never logged in, logged out, expired).
    #[error("not logged in: {0}")]
    Unauthenticated(String),
    /// Logged in, but not allowed: someone else's post, one's own vote.
    #[error("{0}")]
    Forbidden(String),
    /// A name that is taken.
    #[error("{0}")]
    Conflict(String),
    /// A posting limit; the message says how long to wait.
    #[error("{0}")]
    RateLimited(String),
    /// No answer we can use: no instance, connection lost, timeout, internal error.
    #[error("the {service} service is unavailable: {detail}")]
    Unavailable { service: &'static str, detail: String },
}

impl BackendError {
    pub fn from_rpc(service: &'static str, e: RpcError) -> BackendError {
        let message = || e.to_status().message;
        match e.code() {
            Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => BackendError::Invalid(message()),
            Code::NotFound => BackendError::NotFound(message()),
            Code::Unauthenticated => BackendError::Unauthenticated(message()),
            Code::PermissionDenied => BackendError::Forbidden(message()),
            Code::AlreadyExists => BackendError::Conflict(message()),
            Code::ResourceExhausted => BackendError::RateLimited(message()),
            _ => BackendError::Unavailable { service, detail: e.to_string() },
        }
    }
}

/// Result of a backend call.
pub type Res<T> = Result<T, BackendError>;

/// The calls the pages make.
pub trait Backend: Send + Sync {
    fn list_questions(&self, call: &Call, req: &ListQuestions) -> Res<QuestionPage>;
    fn search(&self, call: &Call, req: &SearchQuery) -> Res<QuestionPage>;
    fn tags(&self, call: &Call) -> Res<TagList>;
    /// The question with one page of answers; `NotFound` when it does not exist.
    fn thread(&self, call: &Call, req: &ThreadQuery) -> Res<Thread>;
    fn get_question(&self, call: &Call, id: i64) -> Res<Question>;
    fn create_question(&self, call: &Call, req: &CreateQuestion) -> Res<Question>;
    fn edit_question(&self, call: &Call, req: &EditPost) -> Res<Question>;
    fn question_revisions(&self, call: &Call, id: i64) -> Res<RevisionList>;
    fn create_answer(&self, call: &Call, req: &CreateAnswer) -> Res<Answer>;
    fn get_answer(&self, call: &Call, id: i64) -> Res<Answer>;
    fn accept_answer(&self, call: &Call, req: &AcceptAnswer) -> Res<Answer>;
    fn edit_answer(&self, call: &Call, req: &EditPost) -> Res<Answer>;
    fn answer_revisions(&self, call: &Call, id: i64) -> Res<RevisionList>;
    fn create_comment(&self, call: &Call, req: &CreateComment) -> Res<Comment>;
    fn vote(&self, call: &Call, req: &CastVote) -> Res<VoteResult>;
    fn sign_up(&self, call: &Call, req: &SignUp) -> Res<User>;
    fn log_in(&self, call: &Call, req: &LogIn) -> Res<Session>;
    fn log_out(&self, call: &Call, token: &str) -> Res<()>;
    /// The user a session token belongs to; `Unauthenticated` for an unknown or expired one.
    fn authenticate(&self, call: &Call, token: &str) -> Res<User>;
    /// A user with one page of their questions and one of their answers.
    fn user_page(&self, call: &Call, req: &Username) -> Res<UserPage>;
    /// Adds a batch of counted page views (`crate::views`).
    fn add_views(&self, call: &Call, req: &ViewCounts) -> Res<()>;
}

#[cfg(test)]
#[path = "../tests/unit/backend.rs"]
mod tests;
