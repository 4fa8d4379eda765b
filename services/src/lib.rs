//! The question, answer and comment services of stackwire, as one library and
//! one binary (`service --service question|answer|comment`).
//!
//! The three services are one crate because they share almost everything but
//! their methods: the database pool and schema, the way a form or JSON body is
//! read and validated, the JSON shapes of the public contract, and the way one
//! service calls another. Each still runs as its own process with its own
//! registry entry, so they scale and fail independently; only the code is shared.
//!
//! Layout, one job per module:
//! - [`args`]: the command line and which service to run.
//! - [`db`]: the connection pool and the schema migrations.
//! - [`store`]: every SQL statement, parameterised.
//! - [`fields`]: what a valid title, body or id is (shared by RPC and HTTP).
//! - [`web`]: reading HTTP bodies, JSON shapes, route helpers.
//! - [`rpc`]: decoding payloads and calling other services with a deadline.
//! - [`question`], [`answer`], [`comment`]: the services themselves.
//! - [`descriptor`]: what each service publishes about itself in the registry.

pub mod answer;
pub mod args;
pub mod comment;
pub mod db;
pub mod descriptor;
pub mod fields;
pub mod question;
pub mod rpc;
pub mod store;
pub mod web;
