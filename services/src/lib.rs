//! The webservices of stackwire (question, answer, comment, user, vote), as
//! one library and one binary (`service --service NAME`).
//!
//! The services are one crate because they share almost everything but
//! their methods: the database pool and schema, the way a form or JSON body is
//! read and validated, the JSON shapes of the public contract, authentication,
//! and the way one service calls another. Each still runs as its own process
//! with its own registry entry, so they scale and fail independently; only the
//! code is shared.
//!
//! Layout, one job per module:
//! - [`args`]: the command line and which service to run.
//! - [`db`]: the connection pool and running migrations; [`migrations`]: the schema;
//!   [`replicas`]: reads on the standby, unreplicated commits.
//! - [`store`]: every SQL statement, parameterised, one module per table family.
//! - [`fields`]: what a valid title, body, id, username, tag... is (shared by RPC and HTTP;
//!   the numbers are `proto::fields`').
//! - [`web`]: reading HTTP bodies and headers, route helpers; [`json`]: the JSON shapes.
//! - [`auth`]: who is asking (bearer token → user service); [`secrets`]: password
//!   hashes and session tokens.
//! - [`changes`]: which cache topics each write changes, bumped after it commits.
//! - [`authored`]: the one HTTP create flow (authenticate, idempotency key,
//!   body, store, 201) of questions, answers and comments.
//! - [`posting`]: the create transactions ([`idempotency`] keys, [`ratelimit`]);
//!   [`edits`]: edits, revisions and accepting; [`search`]: search query syntax.
//! - [`throttle`]: failed-login delays and sign-ups per address.
//! - [`rpc`]: calling other services with a deadline (each service serves and
//!   calls through the typed code generated from the proto, `proto::services`).
//! - [`question`] (+ [`question_web`]), [`answer`], [`comment`], [`user`],
//!   [`vote`]: the services themselves.
//! - [`descriptor`]: what each service publishes about itself in the registry.
//!
//! Only `args`, `db`, `replicas`, `store` and `web` are public (the binary and
//! `services/tests/` use them), with the service types re-exported below; the
//! rest is the crate's own. Each module's unit tests live in
//! `services/tests/unit/`, compiled into the library's test binary through
//! `#[path]`.

mod answer;
pub mod args;
mod auth;
mod authored;
mod changes;
mod comment;
pub mod db;
mod descriptor;
mod edits;
mod fields;
mod idempotency;
mod json;
mod migrations;
mod posting;
mod question;
mod question_web;
mod ratelimit;
pub mod replicas;
mod rpc;
mod search;
mod secrets;
mod sql;
pub mod store;
mod throttle;
mod user;
mod vote;
pub mod web;

// What the binary (src/main.rs) starts; it also reads `args`, `db` and
// `replicas`, and the tests `db`, `store::answers` and `web`. Everything else is private.
pub use answer::AnswerService;
pub use auth::Auth;
pub use comment::CommentService;
pub use descriptor::descriptor;
pub use question::{QuestionService, Reply};
pub use user::UserService;
pub use vote::VoteService;
