//! The ways out of the balancer.
//!
//! `http/`: static HTTP upstreams (`--upstream`), proxied by the event loop
//! itself. `workers`: the thread pool for work that blocks, with the
//! messages that carry replies back to a loop; `rpc`: registry mode's way
//! out, an RPC to a live instance through `registry_agent::policy`, whose
//! replies a loop reads (`replies`); `catalog`: `GET /webserv/services`,
//! built from either.

pub(crate) mod catalog;
pub(crate) mod http;
pub(crate) mod replies;
pub(crate) mod rpc;
pub(crate) mod workers;
