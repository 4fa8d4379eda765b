//! The RPC server every service runs: one event loop, a bounded worker pool.
//!
//! One thread runs a `mio::Poll` over the listener and every connection (kept
//! in a slab). It reads whatever the kernel has, cuts it into frames, decodes
//! each `Request` envelope and hands the call to a fixed pool of worker
//! threads through a bounded queue; handlers block there (they do SQL), never
//! on the loop. A handler that can answer without blocking (an echo, a cache
//! hit, the built-in health check) answers on the loop itself
//! ([`Handler::handle_inline`]): no thread hand-off at all. Replies are written
//! by whoever has them, straight to the socket (see `out`), so a call costs one
//! hand-off to a worker and none back.
//!
//! Load is bounded everywhere and shed rather than queued without limit:
//! - a connection with `max_calls_per_connection` calls unanswered, or with
//!   more reply bytes queued than its peer reads, is not read any further
//!   (its read interest is dropped; TCP pushes back on the peer) until it
//!   catches up;
//! - when the pool's queue is full, a new call is answered at once with
//!   UNAVAILABLE ("overloaded"): it never started, so any caller may retry it
//!   anywhere;
//! - past `max_connections`, a new connection gets one RESOURCE_EXHAUSTED
//!   reply and is closed.
//!
//! A peer that sends garbage, a length over the maximum, or a frame it does
//! not finish within `frame_timeout` gets one `Response` with call id 0
//! naming the problem and is disconnected; nothing it sent is allocated past
//! the maximum, and every other connection carries on.
//!
//! The server answers `/grpc.health.v1.Health/Check` itself: SERVING until
//! [`ServerHandle::drain`], NOT_SERVING after, so balancers stop sending
//! before the process exits. [`ServerHandle::stop_accepting`] closes the
//! listener; calls already read still run and their replies are still sent.

mod event_loop;
mod grpc;
mod h2;
mod later;
mod native;
mod out;
mod pool;
mod queue;
mod readiness;
mod reflection;
mod reply;
mod streaming;

pub use later::Later;
pub use mio;

use crate::frame;
use crate::status::Status;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a handler knows about the call it serves.
pub struct CallContext<'a> {
    pub method: &'a str,
    pub request_id: &'a str,
    /// When the caller stops waiting; handlers pass it on to their own calls.
    pub deadline: Option<Instant>,
    pub peer: SocketAddr,
    /// Custom metadata the client sent (`-bin` values decoded): HTTP/2
    /// header fields, or the native envelope's `metadata`.
    pub metadata: &'a [(String, Vec<u8>)],
    /// Where `add_header` / `add_trailer` put the response's metadata.
    pub(crate) reply: Option<&'a ReplyMetadata>,
}

/// Metadata a handler adds to its response (`name`, value).
pub(crate) type Metadata = Vec<(String, Vec<u8>)>;

/// The response metadata of one call, filled by its handler.
#[derive(Default)]
pub(crate) struct ReplyMetadata {
    pub(crate) headers: std::sync::Mutex<Metadata>,
    pub(crate) trailers: std::sync::Mutex<Metadata>,
}

impl ReplyMetadata {
    pub(crate) fn take_headers(&self) -> Metadata {
        std::mem::take(&mut *self.headers.lock().unwrap_or_else(|e| e.into_inner()))
    }
    pub(crate) fn take_trailers(&self) -> Metadata {
        std::mem::take(&mut *self.trailers.lock().unwrap_or_else(|e| e.into_inner()))
    }
    pub(crate) fn take(&self) -> (Metadata, Metadata) {
        (self.take_headers(), self.take_trailers())
    }
}

impl CallContext<'_> {
    /// Adds initial metadata to the response (gRPC over HTTP/2; native frames
    /// carry none). Names are lowercase; a `-bin` value is sent in base64.
    /// Streaming handlers add it before their first message.
    pub fn add_header(&self, name: &str, value: impl Into<Vec<u8>>) {
        if let Some(r) = self.reply {
            r.headers.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_ascii_lowercase(), value.into()));
        }
    }

    /// Adds trailing metadata, sent with the status.
    pub fn add_trailer(&self, name: &str, value: impl Into<Vec<u8>>) {
        if let Some(r) = self.reply {
            r.trailers.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_ascii_lowercase(), value.into()));
        }
    }

    /// The session token in the call's `authorization: Bearer` metadata
    /// (see [`crate::metadata`]).
    pub fn bearer_token(&self) -> Option<&str> {
        crate::metadata::bearer_token(self.metadata)
    }

    /// Time left before the deadline, capped by `cap`.
    pub fn remaining(&self, cap: Duration) -> Duration {
        match self.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).min(cap),
            None => cap,
        }
    }
}

/// A handler's own round trips, made by the server's event loop: a socket
/// of the handler's that the loop watches under [`LOOP_WORK_TOKEN`], so that
/// the calls it takes over ([`Handler::take_over`]) are answered on the loop
/// when that socket's replies arrive, with no thread woken in between (the
/// page cache's version reads: `coherent::loop_reads`). Every method runs on
/// the loop and must never block.
pub trait LoopWork: Send {
    /// The socket is ready: read (and write) what it can.
    fn ready(&mut self, registry: &mio::Registry);

    /// The end of each turn of the loop (after a turn's calls were read, and
    /// at least every 100 ms): send what the turn asked for, and give up on
    /// what has waited too long.
    fn turn_done(&mut self, registry: &mio::Registry);
}

/// The token a [`LoopWork`]'s socket is registered under.
pub const LOOP_WORK_TOKEN: mio::Token = mio::Token(usize::MAX);

/// A service's methods. Returns the encoded reply payload or a status.
pub trait Handler: Send + Sync + 'static {
    /// Runs on a worker thread; may block.
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status>;

    /// Runs on the event loop before the call is queued for a worker. A
    /// handler that can answer at once without blocking returns `Some`, and
    /// the call never leaves the loop; `None` (the default) queues it for
    /// [`Handler::handle`]. Must never block: every connection waits while it
    /// runs.
    fn handle_inline(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Option<Result<Vec<u8>, Status>> {
        None
    }

    /// Runs on the event loop when [`Handler::handle_inline`] declined: a
    /// handler whose answer waits only on a round trip that one of its own
    /// threads makes for many calls at once takes the call here and answers
    /// it from that thread ([`Later`]); `Err` gives it back, to be queued
    /// for [`Handler::handle`] (the default). Must never block, as
    /// `handle_inline` must not.
    fn take_over(&self, later: Later) -> Result<(), Later> {
        Err(later)
    }

    /// Work of the handler's own that runs on the event loop ([`LoopWork`]),
    /// asked for once when the loop starts; `None` (the default) for none.
    fn loop_work(&self) -> Option<Box<dyn LoopWork>> {
        None
    }

    /// True for a method served as a stream by [`Handler::handle_stream`]
    /// (client, server or bidirectional streaming). Only gRPC over HTTP/2
    /// carries streams.
    fn is_streaming(&self, _method: &str) -> bool {
        false
    }

    /// Serves one streaming call, on a thread of its own: `messages` yields
    /// the client's messages until it half-closes (or the call is cancelled
    /// or its deadline passes); `send` sends one message and returns false
    /// once nobody is listening any more. Returns the call's status.
    fn handle_stream(
        &self,
        ctx: &CallContext<'_>,
        _messages: &mut dyn Iterator<Item = Vec<u8>>,
        _send: &mut dyn FnMut(Vec<u8>) -> bool,
    ) -> Result<(), Status> {
        Err(Status::new(crate::status::Code::Unimplemented, format!("{} is not a streaming method", ctx.method)))
    }
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Log target of worker lines, e.g. `Question::Worker`.
    pub worker_class: String,
    pub workers: usize,
    pub max_message: usize,
    pub max_connections: usize,
    /// Calls queued for the workers; past it new calls are shed with UNAVAILABLE.
    pub queue: usize,
    /// Calls one connection may have unanswered before it is no longer read.
    pub max_calls_per_connection: usize,
    /// How long a peer may take to finish a frame it started.
    pub frame_timeout: Duration,
}

impl ServerConfig {
    pub fn new(worker_class: &str) -> ServerConfig {
        ServerConfig {
            worker_class: worker_class.to_string(),
            workers: 16,
            max_message: frame::DEFAULT_MAX_MESSAGE,
            max_connections: 1024,
            queue: 1024,
            max_calls_per_connection: 512,
            frame_timeout: Duration::from_secs(10),
        }
    }
}

/// What the loop, the workers and the handle share.
pub(crate) struct State {
    pub(crate) config: ServerConfig,
    pub(crate) handler: Arc<dyn Handler>,
    /// Calls read and not yet answered, queued ones included.
    pub(crate) in_flight: AtomicUsize,
    pub(crate) draining: AtomicBool,
    pub(crate) stopped: AtomicBool,
    /// Wakes the loop (stop_accepting, a paused connection to resume).
    pub(crate) waker: mio::Waker,
    /// Connections (slab key, id) a worker wants the loop to look at again.
    pub(crate) notices: crossbeam_channel::Sender<(usize, u64)>,
    /// Replies for HTTP/2 streams, which the loop writes.
    pub(crate) h2_done: crossbeam_channel::Sender<reply::Done>,
    /// Streaming calls running, each on its own thread.
    pub(crate) streams: AtomicUsize,
}

/// The built-in health check's reply, as a payload.
pub(crate) fn health_payload(state: &State) -> Vec<u8> {
    use crate::pb::{health_check_response::ServingStatus, HealthCheckResponse};
    use prost::Message;
    let status =
        if state.draining.load(Ordering::Acquire) { ServingStatus::NotServing } else { ServingStatus::Serving };
    HealthCheckResponse { status: status as i32 }.encode_to_vec()
}

/// The same, framed as one gRPC message.
pub(crate) fn health(state: &State) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_into(&health_payload(state), &mut out);
    out
}

impl State {
    /// Tells the loop to look at a connection again.
    pub(crate) fn notice(&self, key: usize, id: u64) {
        let _ = self.notices.send((key, id));
        if let Err(e) = self.waker.wake() {
            log::error!(target: "rpc", "cannot wake the event loop: {e}");
        }
    }
}

/// Load and lifecycle of a running server.
#[derive(Clone)]
pub struct ServerHandle {
    addr: SocketAddr,
    state: Arc<State>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Calls read and not yet answered (the load we report to the registry).
    pub fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::Relaxed)
    }
    /// Health checks answer NOT_SERVING from now on; calls are still served.
    pub fn drain(&self) {
        if !self.state.draining.swap(true, Ordering::AcqRel) {
            // Health watchers hear of it from the loop.
            if let Err(e) = self.state.waker.wake() {
                log::error!(target: "rpc", "cannot wake the event loop: {e}");
            }
        }
    }
    /// Stops accepting connections: the listener is closed, so new
    /// connections are refused; open ones are still served.
    pub fn stop_accepting(&self) {
        if !self.state.stopped.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.state.waker.wake() {
                log::error!(target: "rpc", "cannot wake the event loop: {e}");
            }
        }
    }
    /// Waits until no call is running, up to `max`. Returns true if idle.
    pub fn wait_idle(&self, max: Duration) -> bool {
        let end = Instant::now() + max;
        while self.in_flight() > 0 {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// Starts serving on `listener` and returns at once.
pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>, config: ServerConfig) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let poll = mio::Poll::new()?;
    let waker = mio::Waker::new(poll.registry(), event_loop::WAKER)?;
    let (notices, noticed) = crossbeam_channel::unbounded();
    let (h2_done, h2_finished) = crossbeam_channel::unbounded();
    let state = Arc::new(State {
        config,
        handler,
        in_flight: AtomicUsize::new(0),
        draining: AtomicBool::new(false),
        stopped: AtomicBool::new(false),
        waker,
        notices,
        h2_done,
        streams: AtomicUsize::new(0),
    });
    let pool = pool::Pool::start(state.clone())?;
    let lp = event_loop::EventLoop::new(
        poll,
        mio::net::TcpListener::from_std(listener),
        state.clone(),
        pool,
        noticed,
        h2_finished,
    )?;
    std::thread::Builder::new().name("rpc-loop".into()).spawn(move || lp.run())?;
    Ok(ServerHandle { addr, state })
}
