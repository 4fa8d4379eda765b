//! How requests come into a service and go out of it: the HTTP side of
//! `Web/Handle` ([`web`]: bodies, headers, route helpers; `json`: the public
//! JSON shapes; `question_web`: the question service's routes) and the calls
//! a service makes to another (`rpc`, with a deadline). The typed RPC side
//! is generated (`proto::services`); each service implements it in its own
//! file one level up.

pub(crate) mod json;
pub(crate) mod question_web;
pub(crate) mod rpc;
pub mod web;
