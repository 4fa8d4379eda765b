//! The stackwire balancer: the only HTTP edge of the system.
//!
//! A client's HTTP/1.1 request is read by one event loop (mio, edge-triggered,
//! one state machine per connection), framed by strict rules on top of
//! httparse, routed by path prefix to a service, handed to a worker pool, and
//! forwarded either as an RPC to a live instance found in the Redis registry
//! (registry mode) or as plain HTTP to fixed upstreams (static mode). The
//! reply comes back to the event loop through a channel and a waker, and is
//! written in request order. The design borrows from Sōzu (a mio reverse
//! proxy: readiness bookkeeping, slab of connections, timers by scan) and
//! Pingora (framing rules), kept small: one file, one job.
//!
//! - `config`: flags. `routes`: the prefix → service table (data, reloadable).
//! - `event_loop`: poll, accept, timers, dispatch. `conn`: per-connection
//!   state machine. `http1` + `chunked`: request framing and response
//!   serialization. `access_log`: CLF lines, buffered per loop iteration.
//! - `workers`: the pool and the messages back to the loop. `forward`:
//!   hop-by-hop rules and the forwarded request. `select`: least-loaded
//!   choice. `upstream_rpc` / `upstream_http`: the two ways out.
//!   `catalog`: `GET /webserv/services`.

pub mod access_log;
pub mod catalog;
pub mod chunked;
pub mod config;
pub mod conn;
pub mod event_loop;
pub mod forward;
pub mod http1;
pub mod routes;
pub mod select;
pub mod upstream_http;
pub mod upstream_rpc;
pub mod workers;
