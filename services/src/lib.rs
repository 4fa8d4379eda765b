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
//! - [`fields`]: what a valid title, body, id, username, tag... is (shared by RPC and HTTP).
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

pub mod answer;
pub mod args;
pub mod auth;
pub mod authored;
pub mod changes;
pub mod comment;
pub mod db;
pub mod descriptor;
pub mod edits;
pub mod fields;
pub mod idempotency;
pub mod json;
pub mod migrations;
pub mod posting;
pub mod question;
pub mod question_web;
pub mod ratelimit;
pub mod replicas;
pub mod rpc;
pub mod search;
pub mod secrets;
pub mod sql;
pub mod store;
pub mod throttle;
pub mod user;
pub mod vote;
pub mod web;
