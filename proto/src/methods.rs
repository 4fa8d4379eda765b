//! Every RPC method path, in one place, so caller and callee cannot drift.

/// Every HTTP-serving service implements this: `HttpRequest` → `HttpResponse`.
pub const WEB_HANDLE: &str = "/stackwire.Web/Handle";
/// grpc.health.v1 semantics: `HealthCheckRequest` → `HealthCheckResponse`.
pub const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

pub const QUESTION_CREATE: &str = "/stackwire.QuestionService/Create";
pub const QUESTION_GET: &str = "/stackwire.QuestionService/Get";
pub const QUESTION_LIST: &str = "/stackwire.QuestionService/List";
pub const QUESTION_EXISTS: &str = "/stackwire.QuestionService/Exists";
/// `ThreadQuery` (or `Id`) → `Thread`.
pub const QUESTION_THREAD: &str = "/stackwire.QuestionService/Thread";
/// `SearchQuery` → `QuestionPage`, ranked.
pub const QUESTION_SEARCH: &str = "/stackwire.QuestionService/Search";
/// `Empty` → `TagList`, by count.
pub const QUESTION_TAGS: &str = "/stackwire.QuestionService/Tags";
/// `EditPost` → `Question`.
pub const QUESTION_EDIT: &str = "/stackwire.QuestionService/Edit";
/// `Id` → `RevisionList`, oldest first.
pub const QUESTION_REVISIONS: &str = "/stackwire.QuestionService/Revisions";

pub const ANSWER_CREATE: &str = "/stackwire.AnswerService/Create";
pub const ANSWER_EXISTS: &str = "/stackwire.AnswerService/Exists";
pub const ANSWER_GET: &str = "/stackwire.AnswerService/Get";
pub const ANSWER_LIST_FOR_QUESTION: &str = "/stackwire.AnswerService/ListForQuestion";
/// `AcceptAnswer` → `Answer`.
pub const ANSWER_ACCEPT: &str = "/stackwire.AnswerService/Accept";
/// `EditPost` → `Answer`.
pub const ANSWER_EDIT: &str = "/stackwire.AnswerService/Edit";
/// `Id` → `RevisionList`, oldest first.
pub const ANSWER_REVISIONS: &str = "/stackwire.AnswerService/Revisions";

pub const COMMENT_CREATE: &str = "/stackwire.CommentService/Create";
pub const COMMENT_LIST_FOR_ANSWERS: &str = "/stackwire.CommentService/ListForAnswers";

/// `SignUp` → `User`; ALREADY_EXISTS for a taken name.
pub const USER_CREATE: &str = "/stackwire.UserService/Create";
/// `LogIn` → `Session`; UNAUTHENTICATED for a wrong name or password.
pub const USER_LOGIN: &str = "/stackwire.UserService/Login";
/// `Token` → `Empty`.
pub const USER_LOGOUT: &str = "/stackwire.UserService/Logout";
/// `Token` → `User`; UNAUTHENTICATED for an unknown or expired token.
pub const USER_AUTHENTICATE: &str = "/stackwire.UserService/Authenticate";
/// `Username` → `UserPage`.
pub const USER_GET: &str = "/stackwire.UserService/Get";

/// `CastVote` → `VoteResult`.
pub const VOTE_CAST: &str = "/stackwire.VoteService/Cast";
