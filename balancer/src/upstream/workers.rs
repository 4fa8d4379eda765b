//! The worker pool, and the messages that flow back to the event loop.
//!
//! The event loop must never wait, so everything that might (dialing an
//! instance, writing a call to one that is slow to read, reading the
//! registry snapshot for the catalog) happens on a fixed pool of worker
//! threads fed by a bounded crossbeam channel. The loop only `try_send`s: a
//! full queue is an immediate 503, not a stall. A service call that cannot
//! wait (an open connection with room, nearly every call) the loop sends
//! itself ([`start_here`]): a hand-off to a worker and back costs more than
//! the call.
//!
//! A loop hands over, in one message, every request it read in one turn of
//! its poll (`Job::Requests`): under load a turn reads several, and one
//! worker wake-up (a context switch, the most expensive part of the hop)
//! then starts them all; starting an RPC only writes it, so the batch does
//! not wait on itself. Replies wake the loop likewise once per turn, not once
//! each: [`Notifier`] skips the wake when one is already on its way.
//!
//! A job carries the connection's token and a sequence number unique to the
//! request. Whoever finishes the request (the worker itself, or the loop
//! reading the reply, `upstream/replies.rs`) sends `LoopMsg::Done` back and
//! wakes the loop through its `mio::Waker` (unless the loop is the sender); the loop checks the sequence number, so a
//! reply that arrives after a timeout, or for a connection whose token has
//! since been reused, is dropped instead of being written to a stranger.
//!
//! `Done` is a drop guard: a job that ends without a reply (a panic, a
//! cancelled RPC) still produces one, so no connection waits forever.
//!
//! Worker lines carry the request id (`JID-…`) through `JobScope`:
//! `Balancer::Worker … INFO: start` when a worker takes a job (or the loop
//! has sent a request's call itself) and `done: 0.009 sec` when its response
//! is ready, on whichever thread that is.

use crate::http1::{Request, Response};
use crate::routes::{RouteTable, Target};
use crate::upstream::rpc::{Call, RpcUpstream};
use crossbeam_channel::{Receiver, Sender};
use mio::Waker;
use proto::logger::JobScope;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Log target of worker lines.
pub const WORKER: &str = "Balancer::Worker";

/// Forgets a call whose client stopped waiting; runs on a worker.
pub type Cancel = Box<dyn FnOnce() + Send>;

/// Everything the event loop receives from other threads.
pub enum LoopMsg {
    Done {
        token: usize,
        seq: u64,
        response: Response,
    },
    /// The call for `seq` is on the wire; `cancel` forgets it.
    Started {
        token: usize,
        seq: u64,
        cancel: Cancel,
    },
    /// SIGTERM/SIGINT: stop accepting, drain, exit.
    Stop,
    /// SIGHUP: a freshly loaded route table.
    Routes(Arc<RouteTable>),
    /// An RPC connection whose replies the loop is to read
    /// (`upstream/replies.rs`).
    Host(proto::Replies),
}

/// Sends to the event loop and wakes it.
#[derive(Clone)]
pub struct Notifier {
    tx: Sender<LoopMsg>,
    waker: Arc<Waker>,
    /// A wake-up is on its way: the loop has not yet begun to read its
    /// messages since it was sent, and will see whatever is sent meanwhile.
    woken: Arc<AtomicBool>,
}

impl Notifier {
    pub fn new(tx: Sender<LoopMsg>, waker: Arc<Waker>) -> Notifier {
        Notifier { tx, waker, woken: Arc::new(AtomicBool::new(false)) }
    }

    pub fn send(&self, msg: LoopMsg) {
        let _ = self.try_send(msg);
    }

    /// [`Notifier::send`]; the message back if the loop has stopped.
    fn try_send(&self, msg: LoopMsg) -> Result<(), LoopMsg> {
        self.tx.send(msg).map_err(|e| e.0)?;
        // Sent before the flag is read: either the flag was set and the loop
        // has yet to clear it (then it reads this message after clearing), or
        // we set it and wake the loop ourselves.
        if !self.woken.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.waker.wake() {
                log::error!(target: "balancer", "cannot wake the event loop: {e}");
            }
        }
        Ok(())
    }

    /// Hands an RPC connection's reading to the loop; back if the loop has
    /// stopped (its thread then goes on reading it).
    pub fn host(&self, replies: proto::Replies) -> Result<(), proto::Replies> {
        match self.try_send(LoopMsg::Host(replies)) {
            Err(LoopMsg::Host(back)) => Err(back),
            // Only the message sent can come back.
            _ => Ok(()),
        }
    }

    /// The loop calls this before it handles a turn's events: it reads its
    /// messages after them, so whatever is sent meanwhile (a reply read on
    /// the loop itself, `upstream/replies.rs`) needs no wake-up.
    pub fn will_read(&self) {
        self.woken.store(true, Ordering::SeqCst);
    }

    /// The loop calls this before it reads its messages: later ones wake it again.
    pub fn rearm(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Queues without waking: for messages that only matter when the loop
    /// wakes for another reason (a timer, a reply).
    pub fn send_quiet(&self, msg: LoopMsg) {
        let _ = self.tx.send(msg);
    }
}

/// One request, handed from the event loop to a worker.
pub struct RequestJob {
    pub token: usize,
    pub seq: u64,
    pub request: Request,
    pub client: SocketAddr,
    pub request_id: String,
    pub target: Target,
    /// When the event loop answers 504 on its own.
    pub deadline: Instant,
    pub dispatched: Instant,
    /// The event loop that owns the connection (there is one per core).
    pub notifier: Notifier,
}

pub enum Job {
    /// The requests one loop read in one turn, started in order.
    Requests(Vec<RequestJob>),
    /// Service calls of one turn that the loop could not send without
    /// waiting (see `upstream::rpc`).
    Calls(Vec<Call>),
    Cancel(Cancel),
}

/// Tells the event loop a call started (see `LoopMsg::Started`).
pub struct Announcer {
    notifier: Notifier,
    token: usize,
    seq: u64,
}

impl Announcer {
    pub fn started(&self, cancel: Cancel) {
        self.notifier.send_quiet(LoopMsg::Started { token: self.token, seq: self.seq, cancel });
    }
}

/// The obligation to answer one request, exactly once.
pub struct Done {
    notifier: Notifier,
    token: usize,
    seq: u64,
    request_id: String,
    dispatched: Instant,
    sent: bool,
}

impl Done {
    pub fn new(notifier: Notifier, job: &RequestJob) -> Done {
        Done {
            notifier,
            token: job.token,
            seq: job.seq,
            request_id: job.request_id.clone(),
            dispatched: job.dispatched,
            sent: false,
        }
    }

    pub fn announcer(&self) -> Announcer {
        Announcer { notifier: self.notifier.clone(), token: self.token, seq: self.seq }
    }

    pub fn finish(mut self, response: Response) {
        self.sent = true;
        let _scope = JobScope::enter(&self.request_id);
        let secs = self.dispatched.elapsed().as_secs_f64();
        log::info!(target: WORKER, "done: {secs:.3} sec");
        let msg = LoopMsg::Done { token: self.token, seq: self.seq, response };
        self.notifier.send(msg);
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if self.sent {
            return;
        }
        let _scope = JobScope::enter(&self.request_id);
        let secs = self.dispatched.elapsed().as_secs_f64();
        log::info!(target: WORKER, "fail: {secs:.3} sec no reply");
        let response = Response::error(502, "the upstream reply was lost");
        self.notifier.send(LoopMsg::Done { token: self.token, seq: self.seq, response });
    }
}

/// Where requests go: static HTTP upstreams or registry services.
pub trait Upstream: Send + Sync + 'static {
    /// Forwards `job`; `done` is finished now or later by another thread.
    fn forward(&self, job: RequestJob, done: Done);
    /// The catalog document.
    fn catalog(&self) -> serde_json::Value;
    /// `/status` or `/status/json` (`path`) for the admin listener; only
    /// registry mode has a topology to show.
    fn status(&self, _path: &str) -> Response {
        Response::error(404, "no status page in static mode")
    }
    /// Waits until every service in `services` has at least one instance in
    /// view, up to `limit`; true when ready. Static mode is always ready.
    fn wait_ready(&self, _services: &[String], _limit: std::time::Duration) -> bool {
        true
    }
    /// Registers this balancer in the registry (registry mode only).
    fn register(&self, _listen: SocketAddr) {}
    /// Removes the registration made by `register`.
    fn deregister(&self) {}
}

/// Starts `n` workers; returns the job queue.
pub fn start(n: usize, queue: usize, upstream: Arc<dyn Upstream>) -> std::io::Result<Sender<Job>> {
    let (tx, rx) = crossbeam_channel::bounded::<Job>(queue);
    let watched = rx.clone();
    crate::ops::metrics::get().watch_queue(move || watched.len());
    for i in 0..n.max(1) {
        let rx = rx.clone();
        let up = upstream.clone();
        std::thread::Builder::new().name(format!("worker-{i}")).spawn(move || run(rx, &*up))?;
    }
    Ok(tx)
}

fn run(rx: Receiver<Job>, upstream: &dyn Upstream) {
    for job in rx.iter() {
        match job {
            Job::Cancel(cancel) => cancel(),
            Job::Requests(jobs) => jobs.into_iter().for_each(|job| serve(job, upstream)),
            Job::Calls(calls) => calls.into_iter().for_each(start_call),
        }
    }
}

fn serve(job: RequestJob, upstream: &dyn Upstream) {
    let _scope = JobScope::enter(&job.request_id);
    log::info!(target: WORKER, "start");
    let done = Done::new(job.notifier.clone(), &job);
    if Instant::now() >= job.deadline {
        done.finish(Response::error(504, "the request waited too long for a worker"));
        return;
    }
    // A bug must cost one request, not a worker; `done` answers on unwind.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || match job.target {
        Target::Catalog => done.finish(serve_catalog(upstream, &job.request)),
        Target::NotFound => done.finish(Response::error(404, "no route for this path")),
        Target::Service(_) => upstream.forward(job, done),
    }));
    if outcome.is_err() {
        log::error!(target: WORKER, "worker panicked; answered 502");
    }
}

/// A service call the event loop handed over, sent here (it may wait).
fn start_call(call: Call) {
    let _scope = JobScope::enter(call.request_id());
    log::info!(target: WORKER, "start");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || call.start()));
    if outcome.is_err() {
        log::error!(target: WORKER, "worker panicked; answered 502");
    }
}

/// Sends a service request's call from the event loop when that cannot
/// wait; the call comes back when it could (for a worker to send). A panic
/// costs the request (its `Done` answers 502 on unwind), never the loop.
pub fn start_here(job: RequestJob, rpc: &RpcUpstream) -> Option<Call> {
    let _scope = JobScope::enter(&job.request_id);
    let done = Done::new(job.notifier.clone(), &job);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || rpc.call(job, done)?.start_here()));
    match outcome {
        // Sent: the request's `start` line (a worker writes it for the others).
        Ok(None) => {
            log::info!(target: WORKER, "start");
            None
        }
        Ok(later) => later,
        Err(_) => {
            log::error!(target: WORKER, "panic while starting a call on the event loop; answered 502");
            None
        }
    }
}

fn serve_catalog(upstream: &dyn Upstream, req: &Request) -> Response {
    if req.head.method != "GET" && req.head.method != "HEAD" {
        return Response::error(405, "use GET").with_header("Allow", "GET, HEAD");
    }
    let body = upstream.catalog().to_string().into_bytes();
    Response::new(200, "application/json", body)
}
