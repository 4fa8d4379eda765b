//! The stackwire balancer: the only HTTP edge of the system.
//!
//! A client's HTTP/1.1 request is read by an event loop (mio, edge-triggered,
//! one state machine per connection, several loops on shared listening
//! sockets), framed by strict rules on top of httparse, and routed
//! by path prefix. In static mode (`--upstream`) the loop proxies it itself
//! over pooled keep-alive connections, streaming the response back; in
//! registry mode it is handed to a worker pool and forwarded as an RPC to a
//! live instance found in the Redis registry, the reply coming back through
//! a channel and a waker. Responses leave in request order. The design
//! borrows from Sōzu (a mio reverse proxy: readiness bookkeeping, slab of
//! connections, timers by scan, a loop per core), Pingora (framing rules)
//! and linkerd (Peak-EWMA balancing), kept small: one file, one job.
//!
//! - `config`: flags; `sources`: the same from a file and the environment.
//!   `routes`: the prefix → service table (data, reloadable).
//! - `loops` / `listen`: one event loop per core and their listeners.
//!   `event_loop`: poll, accept, timers, dispatch. `conn` + `respond`: the
//!   client connection state machine. `http1` + `chunked`: request framing
//!   and response serialization. `access_log`: CLF and worker lines,
//!   buffered per loop iteration.
//! - `proxy` + `upconn` + `upstream_http`: static upstreams driven by the
//!   loop (choice, pool, retries, streaming). `ewma`: power of two choices
//!   on Peak-EWMA, round robin, least in flight.
//! - `workers`: the pool and the messages back to the loop. `forward`:
//!   hop-by-hop rules and the forwarded request. `upstream_rpc`: the RPC
//!   way out, through `registry_agent::policy`'s attempt loop (instance
//!   choice, retries, hedges). `catalog`: `GET /webserv/services`.
//! - `status`: `GET /status`.
//! - `metrics` + `admin`: `/metrics` (Prometheus) and `/healthz` on the
//!   admin port. (The fuzz targets' checks are test code:
//!   balancer/tests/fuzzing.)

pub mod access_log;
pub mod admin;
pub mod catalog;
pub mod chunked;
pub mod config;
pub mod conn;
mod db_status;
pub mod event_loop;
pub mod ewma;
pub mod forward;
pub mod http1;
pub mod listen;
pub mod loops;
pub mod metrics;
pub mod proxy;
pub mod respond;
pub mod routes;
pub mod sources;
pub mod status;
pub mod upconn;
pub mod upstream_http;
pub mod upstream_rpc;
pub mod workers;
