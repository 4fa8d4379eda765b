//! The worker pool: a fixed set of threads that run blocking handlers, fed by
//! a bounded queue (`queue.rs`). `submit` never waits: a full queue hands the call back so
//! the loop can shed it with UNAVAILABLE while it is still cheap to refuse.
//!
//! [`run`] is the one place a call meets its handler, on a worker or on the
//! loop alike: the request id scope for log lines, the deadline check (a call
//! whose caller has already given up is not started), the start/done log
//! lines and their timing.

use super::native;
use super::out::Shared;
use super::queue::WorkQueue;
use super::reply::{Done, Reply};
use super::{CallContext, ReplyMetadata, State};
use crate::logger::JobScope;
use crate::status::{Code, Status};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A call as read off the wire.
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) request_id: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) received: Instant,
    pub(crate) peer: SocketAddr,
    pub(crate) payload: Vec<u8>,
    /// Custom metadata from the client (header fields, or the envelope's `metadata`).
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    /// Set when the client reset the stream or its deadline passed (h2c).
    pub(crate) cancelled: Option<Arc<AtomicBool>>,
}

/// Where a call's reply goes.
pub(crate) enum ReplyTo {
    /// Written by the worker itself (see `out`).
    Native { conn: Arc<Shared>, call_id: u64 },
    /// Handed to the loop, which owns the HTTP/2 connection's state.
    H2 { conn: Arc<Shared>, stream: u32 },
}

pub(crate) struct Job {
    pub(crate) call: Call,
    pub(crate) reply: ReplyTo,
}

/// The workers and their queue; dropping it lets them finish what is
/// queued and end.
pub(crate) struct Pool {
    queue: Arc<WorkQueue<Job>>,
}

impl Pool {
    pub(crate) fn start(state: Arc<State>) -> std::io::Result<Pool> {
        let queue = Arc::new(WorkQueue::new(state.config.queue));
        let pool = Pool { queue: queue.clone() };
        for i in 0..state.config.workers.max(1) {
            let queue = queue.clone();
            let state = state.clone();
            std::thread::Builder::new().name(format!("rpc-worker-{i}")).spawn(move || {
                while let Some(job) = queue.pop() {
                    let meta = ReplyMetadata::default();
                    let result = run(&state, &job.call, &meta);
                    deliver(&state, job.reply, result, meta);
                }
            })?;
        }
        Ok(pool)
    }

    /// The queue, for calls a handler took over and hands back later.
    pub(crate) fn queue(&self) -> &Arc<WorkQueue<Job>> {
        &self.queue
    }

    /// Queues a job; gives it back when the queue is full.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        self.queue.try_push(job).map_err(Box::new)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.queue.close();
    }
}

/// The status of a call shed because the pool is saturated.
pub(crate) fn overloaded(state: &State) -> Status {
    Status::new(Code::Unavailable, format!("overloaded: {} calls already queued", state.config.queue))
}

/// Runs a call's handler (on a worker: `handle`).
pub(crate) fn run(state: &State, call: &Call, meta: &ReplyMetadata) -> Result<Vec<u8>, Status> {
    let _scope = JobScope::enter(scope_id(call));
    if let Some(status) = expired(call) {
        return Err(status);
    }
    let class = state.config.worker_class.as_str();
    log::info!(target: class, "start {}", call.method);
    let r = state.handler.handle(&context(call, Some(meta)), &call.payload);
    log_end(state, call, &r);
    r
}

/// The request id a call's log lines carry.
pub(crate) fn scope_id(call: &Call) -> &str {
    if call.request_id.is_empty() {
        "-"
    } else {
        &call.request_id
    }
}

/// Why a call must not start: its caller gave up on it while it waited.
pub(crate) fn expired(call: &Call) -> Option<Status> {
    if call.deadline.is_some_and(|d| Instant::now() >= d) {
        return Some(Status::new(Code::DeadlineExceeded, "deadline passed while queued"));
    }
    if call.cancelled.as_ref().is_some_and(|c| c.load(Ordering::Acquire)) {
        return Some(Status::new(Code::Cancelled, "cancelled while queued"));
    }
    None
}

/// A call's closing log line, with the time since it was read.
pub(crate) fn log_end(state: &State, call: &Call, r: &Result<Vec<u8>, Status>) {
    let class = state.config.worker_class.as_str();
    let secs = call.received.elapsed().as_secs_f64();
    match r {
        Ok(_) => log::info!(target: class, "done: {secs:.3} sec"),
        Err(s) => log::info!(target: class, "fail: {secs:.3} sec {s}"),
    }
}

/// Offers a call to the handler's inline path, on the loop.
pub(crate) fn run_inline(state: &State, call: &Call, meta: &ReplyMetadata) -> Option<Result<Vec<u8>, Status>> {
    let ctx = context(call, Some(meta));
    let _scope = JobScope::enter(scope_id(call));
    state.handler.handle_inline(&ctx, &call.payload)
}

pub(crate) fn context<'a>(call: &'a Call, reply: Option<&'a ReplyMetadata>) -> CallContext<'a> {
    CallContext {
        method: &call.method,
        request_id: &call.request_id,
        deadline: call.deadline,
        peer: call.peer,
        metadata: &call.metadata,
        reply,
    }
}

/// Sends a reply and closes the call's books.
pub(crate) fn deliver(state: &State, reply: ReplyTo, result: Result<Vec<u8>, Status>, meta: ReplyMetadata) {
    match reply {
        ReplyTo::Native { conn, call_id } => {
            native::send_reply(&conn, call_id, result);
            finished(state, &conn);
        }
        // The loop answers the stream, then calls `finished`.
        ReplyTo::H2 { conn, stream } => {
            let key = (conn.key, conn.id);
            let (headers, trailers) = meta.take();
            let _ = state.h2_done.send(Done { conn, stream, reply: Reply::Unary { result, headers, trailers } });
            state.notice(key.0, key.1);
        }
    }
}

/// One call of `conn` is answered: the counters drop, and the loop hears of
/// it if it stopped reading this connection for its sake.
pub(crate) fn finished(state: &State, conn: &Shared) {
    conn.calls.fetch_sub(1, Ordering::SeqCst);
    state.in_flight.fetch_sub(1, Ordering::Relaxed);
    if conn.wants_notice.load(Ordering::SeqCst) && conn.wants_notice.swap(false, Ordering::SeqCst) {
        state.notice(conn.key, conn.id);
    }
}
