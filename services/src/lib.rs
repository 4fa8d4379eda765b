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
//! Layout, by stage of a request, one job per module:
//! - [`args`]: the command line and which service to run; [`descriptor`]: what
//!   each service publishes about itself in the registry.
//! - `doors/`: how a request comes in and goes out: [`web`] (reading HTTP
//!   bodies and headers, route helpers), `json` (the JSON shapes),
//!   `question_web` (the question service's HTTP routes), `rpc` (calling
//!   other services with a deadline; each service serves and calls through
//!   the typed code generated from the proto, `proto::services`).
//! - `question`, `answer`, `comment`, `user`, `vote`: the services themselves,
//!   beside what they check and tell: `auth` (who is asking: bearer token →
//!   user service), `fields` (what a valid title, body, id, username, tag...
//!   is, shared by RPC and HTTP; the numbers are `proto::fields`'), `search`
//!   (search query syntax), `secrets` (password hashes and session tokens),
//!   `throttle` (failed-login delays, sign-ups per address), `ratelimit` (the
//!   posting limits), `changes` (which cache topics each write changes,
//!   bumped after it commits).
//! - `flows/`: the writes' steps, each once: `authored` (the one HTTP create
//!   flow: authenticate, idempotency key, body, store, 201), `posting` (the
//!   create transactions, with `idempotency` keys), `edits` (edits, revisions
//!   and accepting).
//! - [`store`]: every SQL statement, parameterised, one module per table family.
//! - `infra/`: [`db`] (the connection pool and running migrations),
//!   `migrations` (the schema), [`replicas`] (reads on the standby,
//!   unreplicated commits), `sql` (statements prepared once per connection).
//!
//! Only `args`, `db`, `replicas`, `store` and `web` are public (the binary and
//! `services/tests/` use them), with the service types re-exported below; the
//! rest is the crate's own. Each module's unit tests live in
//! `services/tests/unit/` (in the same folders), compiled into the library's
//! test binary through `#[path]`.

mod answer;
pub mod args;
mod auth;
mod changes;
mod comment;
mod descriptor;
mod doors;
mod fields;
mod flows;
mod infra;
mod question;
mod ratelimit;
mod search;
mod secrets;
pub mod store;
mod throttle;
mod user;
mod vote;

// What the binary (src/main.rs) starts; it also reads `args`, `db` and
// `replicas`, and the tests `db`, `store::answers` (with the answers'
// `ratelimit::ANSWERS` it takes) and `web`. Everything else is private.
pub use answer::AnswerService;
pub use auth::Auth;
pub use comment::CommentService;
pub use descriptor::descriptor;
pub use doors::web;
pub use infra::{db, replicas};
pub use question::{QuestionService, Reply};
pub use ratelimit::ANSWERS as ANSWER_LIMIT;
pub use user::UserService;
pub use vote::VoteService;
