//! The attempt loop: one RPC request across its attempts, driven by
//! completions and timers, so that the same code serves a blocking caller
//! (`ServiceClient`, which waits on a channel) and the balancer (whose
//! completion hands the response to its event loop).
//!
//! [`start`] sends the first attempt from the caller's thread and returns
//! at once. Each attempt's outcome, and each per-try timeout, goes through
//! `decide`: a retry or a hedge is started by a `timer::work` thread on the
//! best instance not already waiting on this request. A per-try timeout
//! hedges only when another instance of the service answered a call since
//! the attempt was sent: then the slowness is this instance's (frozen,
//! wedged), and another instance can do better. When nobody answered, the
//! whole service is slow (its database is failing over, say), a hedge would
//! only double the load on what is already struggling, and the check is
//! made again one per-try timeout later; the first reply that
//! is an answer (not a failure `decide` acted on) finishes the request, once.
//! Attempts still outstanding then are left to answer into the void (they
//! keep counting as in flight, which steers new calls away from a frozen
//! instance) and are cancelled at the request's deadline. [`Flight::cancel`]
//! ends the request early: every outstanding attempt is cancelled and the
//! finish runs with `DEADLINE_EXCEEDED`.
//!
//! Health bookkeeping happens here too, once for every caller: a refused or
//! lost connection takes the instance out (`Rotation::connection_failed`),
//! every reply feeds outlier detection and the instance's latency, and a
//! per-try timeout counts as an instance failure when a peer answered
//! meanwhile (`Rotation::timed_out`).

use super::decide::{decide, Decision, Failure, MAX_ATTEMPTS};
use super::idempotency::Idempotency;
use super::latency::per_try_timeout;
use super::timer;
use crate::rotation::Rotation;
use proto::pb::Response;
use proto::rpc_client::Completion;
use proto::{CallOptions, Code, Connection, RpcError, SendNow};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One request, as the attempt loop needs it.
pub struct CallSpec {
    pub service: String,
    pub method: String,
    pub request_id: String,
    /// Call metadata (the caller's credential), sent with every attempt.
    pub metadata: Vec<proto::metadata::Entry>,
    pub payload: Vec<u8>,
    pub deadline: Instant,
    pub idempotency: Idempotency,
    /// Whether a reply says "this instance cannot serve; try another".
    pub unavailable: fn(&Response) -> bool,
}

/// The RPC rule for [`CallSpec::unavailable`]: the status `UNAVAILABLE`.
pub fn rpc_unavailable(r: &Response) -> bool {
    Code::from_u32(r.status) == Code::Unavailable
}

/// Runs once with the request's outcome. Must not block.
pub type Finish = Box<dyn FnOnce(Result<Response, RpcError>) + Send>;

/// A request not sent yet: [`start`]ed from a thread that may wait, or
/// first offered to [`try_start`] by one that must not.
pub struct Unsent(Box<Parts>);

struct Parts {
    spec: CallSpec,
    finish: Finish,
    /// The instance [`try_start`] chose and could not send to without
    /// waiting: the first attempt goes there still, if it is a candidate.
    first: Option<SocketAddr>,
}

impl Unsent {
    pub fn new(spec: CallSpec, finish: Finish) -> Unsent {
        Unsent(Box::new(Parts { spec, finish, first: None }))
    }

    pub fn spec(&self) -> &CallSpec {
        &self.0.spec
    }

    /// Sends the first attempt from this thread, which may wait.
    pub fn start(self, rotation: &Rotation) -> Flight {
        let Parts { spec, finish, first } = *self.0;
        rotation.count_request();
        let call = CallState::new(rotation, spec, State { finish: Some(finish), first, ..State::default() });
        dispatch(&call);
        Flight { call }
    }

    /// Finishes the request with `error`, sending nothing.
    pub fn fail(self, error: RpcError) {
        (self.0.finish)(Err(error));
    }
}

/// A request in flight.
#[derive(Clone)]
pub struct Flight {
    call: Arc<CallState>,
}

struct CallState {
    spec: CallSpec,
    rotation: Rotation,
    started: Instant,
    st: Mutex<State>,
}

struct Outstanding {
    n: u32,
    addr: SocketAddr,
    sent: Instant,
    on: Option<(Connection, u64)>,
    /// Its per-try timer, cancelled when it ends (see `timer`).
    timer: Option<timer::Key>,
}

impl Outstanding {
    /// The attempt ended (answered, abandoned, cancelled): its timer need not fire.
    fn ended(&self) {
        if let Some(key) = self.timer {
            timer::cancel(key);
        }
    }
}

#[derive(Default)]
struct State {
    finish: Option<Finish>,
    attempts: u32,
    tried: Vec<SocketAddr>,
    outstanding: Vec<Outstanding>,
    /// The outcome of the last failed attempt, answered if nothing better comes.
    last: Option<Result<Response, RpcError>>,
    /// Where the first attempt goes, chosen already ([`Unsent`]).
    first: Option<SocketAddr>,
}

impl CallState {
    /// A request starting now, over `rotation`'s instances.
    fn new(rotation: &Rotation, spec: CallSpec, state: State) -> Arc<CallState> {
        Arc::new(CallState { spec, rotation: rotation.clone(), started: Instant::now(), st: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts `spec` over `rotation`'s instances; `finish` gets the outcome.
pub fn start(rotation: &Rotation, spec: CallSpec, finish: Finish) -> Flight {
    Unsent::new(spec, finish).start(rotation)
}

/// [`start`] from a thread that must never wait (the balancer's event
/// loop): the first attempt goes out here only when sending it cannot wait,
/// that is when a connection to the instance [`start`] would choose is open
/// already and takes the call at once ([`Connection::send_now`]). Otherwise
/// nothing has been sent and the call comes back, to be started with
/// [`Unsent::start`] from a thread that may wait (to dial, or to write to a
/// peer slow to read), at the same instance first. Later attempts (retries,
/// hedges) run where they always do.
pub fn try_start(rotation: &Rotation, mut call: Unsent) -> Result<Flight, Unsent> {
    let spec = &call.0.spec;
    let remaining = spec.deadline.saturating_duration_since(Instant::now());
    let Some(addr) = rotation.candidates(&spec.service, &[]).into_iter().next() else { return Err(call) };
    call.0.first = Some(addr);
    let Some(conn) = rotation.pool().open(addr) else { return Err(call) };
    let now = match conn.send_now(spec.payload.len()) {
        Some(now) if !remaining.is_zero() => now,
        _ => return Err(call),
    };
    rotation.count_request();
    let Parts { spec, finish, .. } = *call.0;
    let state = State { finish: Some(finish), attempts: 1, tried: vec![addr], ..State::default() };
    let call = CallState::new(rotation, spec, state);
    send(&call, 1, addr, &conn, remaining, Some(now));
    Ok(Flight { call })
}

/// [`start`], waiting for the outcome until the deadline.
pub fn call_blocking(rotation: &Rotation, spec: CallSpec) -> Result<Response, RpcError> {
    let deadline = spec.deadline;
    let timeout = deadline.saturating_duration_since(Instant::now());
    let (tx, rx) = crossbeam_channel::bounded(1);
    let flight = start(
        rotation,
        spec,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    match rx.recv_deadline(deadline) {
        Ok(r) => r,
        Err(_) => {
            flight.cancel();
            Err(RpcError::DeadlineExceeded(timeout))
        }
    }
}

impl Flight {
    /// Gives up on the request: cancels every attempt still outstanding and
    /// finishes with `DEADLINE_EXCEEDED` unless it finished already.
    pub fn cancel(&self) {
        let c = &self.call;
        let (finish, outstanding) = {
            let mut st = c.lock();
            (st.finish.take(), std::mem::take(&mut st.outstanding))
        };
        abandon(c, outstanding);
        if let Some(f) = finish {
            f(Err(RpcError::DeadlineExceeded(c.started.elapsed())));
        }
    }
}

/// Cancels attempts that got no reply by the deadline, and says so to health.
fn abandon(c: &CallState, outstanding: Vec<Outstanding>) {
    for o in outstanding {
        o.ended();
        if let Some((conn, id)) = o.on {
            conn.cancel(id);
        }
        c.rotation.timed_out(o.addr, &c.spec.service, o.sent);
    }
}

/// Finishes with `result` (outside the lock).
fn finish(c: &Arc<CallState>, mut st: MutexGuard<'_, State>, result: Result<Response, RpcError>) {
    let Some(f) = st.finish.take() else { return };
    let leftover = !st.outstanding.is_empty();
    drop(st);
    f(result);
    if leftover {
        let me = c.clone();
        timer::at(
            c.spec.deadline,
            Box::new(move || {
                let left = std::mem::take(&mut me.lock().outstanding);
                abandon(&me, left);
            }),
        );
    }
}

/// Finishes with the last failure when nothing is outstanding any more.
fn finish_if_idle(c: &Arc<CallState>, mut st: MutexGuard<'_, State>) {
    if st.outstanding.is_empty() {
        let service = &c.spec.service;
        let last = st.last.take().unwrap_or_else(|| Err(RpcError::NoInstance(service.clone())));
        finish(c, st, last);
    }
}

/// Sends the next attempt to the best instance not already waiting on it.
fn dispatch(c: &Arc<CallState>) {
    let spec = &c.spec;
    loop {
        let (n, tried, busy, first) = {
            let mut st = c.lock();
            if st.finish.is_none() {
                return;
            }
            if st.attempts >= MAX_ATTEMPTS {
                return finish_if_idle(c, st);
            }
            let busy: Vec<SocketAddr> = st.outstanding.iter().map(|o| o.addr).collect();
            (st.attempts + 1, st.tried.clone(), busy, st.first.take())
        };
        let candidates = c.rotation.candidates(&spec.service, &tried);
        let choice =
            first.filter(|a| candidates.contains(a)).or_else(|| candidates.into_iter().find(|a| !busy.contains(a)));
        let remaining = spec.deadline.saturating_duration_since(Instant::now());
        let mut st = c.lock();
        let Some(addr) = choice else {
            if st.tried.is_empty() {
                log::warn!(target: "rpc", "no live instance of {}", spec.service);
            }
            return finish_if_idle(c, st);
        };
        if remaining.is_zero() {
            if st.outstanding.is_empty() {
                let elapsed = c.started.elapsed();
                finish(c, st, Err(RpcError::DeadlineExceeded(elapsed)));
            }
            return;
        }
        st.attempts = n;
        st.tried.push(addr);
        drop(st);
        let conn = match c.rotation.pool().connection(addr) {
            Ok(conn) => conn,
            Err(e) => {
                log::warn!(target: "rpc", "{} at {addr}: {e}; trying the next instance", spec.service);
                c.rotation.connection_failed(addr, &spec.service, &e.to_string());
                let mut st = c.lock();
                st.last = Some(Err(e));
                match decide(Failure::NotSent, spec.idempotency, n, c.rotation.budget()) {
                    Decision::GiveUp => return finish_if_idle(c, st),
                    _ => continue,
                }
            }
        };
        return send(c, n, addr, &conn, remaining, None);
    }
}

/// Sends attempt `n` to `addr` over `conn` (through `now`, the writer the
/// caller already holds, if any), with `remaining` of the deadline left.
fn send(c: &Arc<CallState>, n: u32, addr: SocketAddr, conn: &Connection, remaining: Duration, now: Option<SendNow>) {
    let spec = &c.spec;
    let sent = Instant::now();
    let timer = match per_try_timeout(c.rotation.latency(addr), remaining) {
        Some(t) if spec.idempotency.repeatable() => {
            let me = c.clone();
            timer::at(sent + t, Box::new(move || slow(&me, n, t)))
        }
        _ => None,
    };
    c.lock().outstanding.push(Outstanding { n, addr, sent, on: None, timer });
    let counted = c.rotation.pool().begin(addr);
    let me = c.clone();
    let opts = CallOptions::new(&spec.request_id, remaining).with_metadata(&spec.metadata);
    let done: Completion = Box::new(move |result| {
        drop(counted);
        completed(&me, n, addr, sent, result);
    });
    let id = match now {
        Some(now) => now.start_with(&spec.method, &opts, spec.payload.clone(), done),
        None => conn.start_with(&spec.method, &opts, spec.payload.clone(), done),
    };
    if let Some(o) = c.lock().outstanding.iter_mut().find(|o| o.n == n) {
        o.on = Some((conn.clone(), id));
    }
}

/// Attempt `n` to `addr` ended with `result`.
fn completed(c: &Arc<CallState>, n: u32, addr: SocketAddr, sent: Instant, result: Result<Response, RpcError>) {
    let spec = &c.spec;
    let failure = match &result {
        Ok(r) => {
            // Only the instance's own failures count against it, never the
            // status of what it answered (registry_agent::health).
            c.rotation.answered(addr, &spec.service, Code::from_u32(r.status), sent.elapsed());
            (spec.unavailable)(r).then_some(Failure::Unavailable)
        }
        Err(e) if e.never_sent() => {
            c.rotation.connection_failed(addr, &spec.service, &e.to_string());
            Some(Failure::NotSent)
        }
        Err(RpcError::ConnectionLost) => {
            c.rotation.connection_failed(addr, &spec.service, "connection lost");
            Some(Failure::Lost)
        }
        Err(_) => None,
    };
    let mut st = c.lock();
    let Some(i) = st.outstanding.iter().position(|o| o.n == n) else { return };
    st.outstanding.swap_remove(i).ended();
    if st.finish.is_none() {
        return;
    }
    let Some(failure) = failure else { return finish(c, st, result) };
    st.last = Some(result);
    match decide(failure, spec.idempotency, st.attempts, c.rotation.budget()) {
        Decision::GiveUp => finish_if_idle(c, st),
        _ => {
            drop(st);
            log::warn!(target: "rpc", "{} at {addr}: {} {failure:?}; retrying on another instance", spec.service, spec.method);
            let me = c.clone();
            timer::work(Box::new(move || dispatch(&me)));
        }
    }
}

/// Attempt `n`'s per-try timeout `per_try` passed: hedge it if its
/// slowness is its own and `decide` says so; else look again later.
fn slow(c: &Arc<CallState>, n: u32, per_try: std::time::Duration) {
    let spec = &c.spec;
    let (addr, sent, attempts) = {
        let st = c.lock();
        let Some(o) = st.outstanding.iter().find(|o| o.n == n) else { return };
        if st.finish.is_none() {
            return;
        }
        (o.addr, o.sent, st.attempts)
    };
    let waited = sent.elapsed();
    if !c.rotation.peer_answered(addr, &spec.service, sent) {
        let again = Instant::now() + per_try;
        if again < spec.deadline {
            let me = c.clone();
            let key = timer::at(again, Box::new(move || slow(&me, n, per_try)));
            if let Some(o) = c.lock().outstanding.iter_mut().find(|o| o.n == n) {
                o.timer = key;
            }
        }
        return;
    }
    c.rotation.timed_out(addr, &spec.service, sent);
    c.rotation.observe_latency(addr, waited);
    if decide(Failure::Slow, spec.idempotency, attempts, c.rotation.budget()) == Decision::Hedge {
        log::warn!(
            target: "rpc",
            "{} at {addr}: no reply to {} in {} ms; hedging on another instance",
            spec.service,
            spec.method,
            waited.as_millis()
        );
        let me = c.clone();
        timer::work(Box::new(move || dispatch(&me)));
    }
}
