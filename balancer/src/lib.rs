//! The stackwire balancer: the only HTTP edge of the system.
//!
//! A client's HTTP/1.1 request is read by an event loop (mio, one state
//! machine per connection, several loops on shared listening sockets),
//! framed by strict rules on top of httparse, and routed by path prefix.
//! Then it takes one of two paths out:
//!
//! ```text
//!  client ──TCP──▶ edge/: listen + loops (shared listeners, one event loop per core)
//!                  event_loop: poll, accept, timers ──▶ conn: read, frame (http1/)
//!                                    │ routes.rs: prefix → service
//!            ┌───────────────────────┴───────────────────────────┐
//!            ▼ static mode (--upstream)                          ▼ registry mode
//!  upstream/http/proxy: choose (ewma), pool, retry   upstream/rpc: registry_agent::policy's attempt
//!  upstream/http/upconn: non-blocking HTTP/1.1 in      loop (instance, retries, hedges) ──RPC──▶ service,
//!    the same event loop, the body streamed            sent by the loop, or by upstream/workers (try_send)
//!                                                      when sending could wait
//!            │                                                   │ reply: channel + mio waker
//!            ▼                                                   ▼
//!  edge/respond: our framing, responses in request order ──▶ client
//!  (ops/access_log and ops/metrics count every response)
//! ```
//!
//! In static mode the loop proxies the request itself over pooled
//! keep-alive connections, streaming the response back; in registry mode it
//! is forwarded as an RPC to a live instance found in the Redis registry,
//! sent by the loop itself when that cannot wait (an open connection with
//! room, nearly every call) and by a worker pool when it could, the reply
//! coming back through a channel and a waker. Responses leave in request order. The design borrows from Sōzu
//! (a mio reverse proxy: readiness bookkeeping, slab of connections, timers
//! by scan, a loop per core), Pingora (framing rules) and linkerd
//! (Peak-EWMA balancing), kept small: one file, one job.
//!
//! | folder | what it holds |
//! |---|---|
//! | `edge/` | listeners, the event loops, the client connection state machine and its response side |
//! | `http1/` | request framing (the rule table), chunked decoding, response serialization, hop-by-hop rules |
//! | `routes.rs` | the prefix → service table (data, reloaded on SIGHUP) |
//! | `upstream/http/` | static upstreams driven by the loop: choice (Peak-EWMA), pool, retries, streaming |
//! | `upstream/` | the RPC way out (`rpc.rs`), the worker pool for what could wait (`workers.rs`) and `GET /webserv/services` (`catalog.rs`) |
//! | `ops/` | flags, their environment variables and the TOML file (clap, serde), the admin port, `/metrics`, `/status`, the access log |
//!
//! Modules are private; what the binary (`main.rs`), the tests and the fuzz
//! targets use is re-exported below. (The fuzz targets' checks are test
//! code: balancer/tests/fuzzing.)

mod edge;
pub mod http1;
mod ops;
mod routes;
mod upstream;

pub use edge::{start_loops, Limits, Settings, Shared};
pub use ops::admin::start as start_admin;
pub use ops::config::{load as load_config, Config, LoadError};
pub use routes::{RouteError, RouteTable};
pub use upstream::http::{HttpCatalog, HttpUpstreams};
pub use upstream::replies::read_on as read_replies_on;
pub use upstream::rpc::{unavailable_status, RpcUpstream};
pub use upstream::workers::{start as start_workers, LoopMsg, Notifier, Upstream};
