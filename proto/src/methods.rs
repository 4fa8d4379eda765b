//! Every RPC method path, in one place, so caller and callee cannot drift.

/// Every HTTP-serving service implements this: `HttpRequest` → `HttpResponse`.
pub const WEB_HANDLE: &str = "/stackwire.Web/Handle";
/// grpc.health.v1 semantics: `HealthCheckRequest` → `HealthCheckResponse`.
pub const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

pub const QUESTION_CREATE: &str = "/stackwire.QuestionService/Create";
pub const QUESTION_GET: &str = "/stackwire.QuestionService/Get";
pub const QUESTION_LIST: &str = "/stackwire.QuestionService/List";
pub const QUESTION_EXISTS: &str = "/stackwire.QuestionService/Exists";
pub const QUESTION_THREAD: &str = "/stackwire.QuestionService/Thread";

pub const ANSWER_CREATE: &str = "/stackwire.AnswerService/Create";
pub const ANSWER_EXISTS: &str = "/stackwire.AnswerService/Exists";
pub const ANSWER_GET: &str = "/stackwire.AnswerService/Get";
pub const ANSWER_LIST_FOR_QUESTION: &str = "/stackwire.AnswerService/ListForQuestion";

pub const COMMENT_CREATE: &str = "/stackwire.CommentService/Create";
pub const COMMENT_LIST_FOR_ANSWERS: &str = "/stackwire.CommentService/ListForAnswers";
