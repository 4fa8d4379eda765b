//! The event loop: one thread, one `mio::Poll`, its clients and its
//! upstream connections.
//!
//! There are several loops (`--loops`), all watching the same listening
//! sockets (see `loops.rs`: a new connection wakes one idle loop), and the
//! loops share nothing on the request path but a few atomic counters. A
//! loop owns its client connections (a `slab::Slab` whose keys are their mio
//! tokens), its upstream connections and their idle pool (`Proxy`, static
//! mode), a route table, and the one `Env` it lends whatever it drives (the
//! time, the limits, the access-log buffer, whether it is draining). It never blocks on
//! anything but `poll` itself: registry-mode calls are sent from here when
//! that cannot wait (`upstream/rpc.rs`), and work that might wait (a call
//! that could not be sent so, the catalog) goes to the worker pool with
//! `try_send` (the requests of one turn of the poll in one message, see
//! `upstream/workers.rs`); the replies to registry-mode calls are read right
//! here, from the RPC connections the loop hosts (`upstream/replies.rs`),
//! and other results come back on a channel whose sender wakes the poll
//! through a `mio::Waker`; static HTTP upstreams are driven right here,
//! non-blocking (see `upstream/http/proxy.rs`).
//!
//! Each iteration:
//! 1. poll (at most 100 ms, which is also the timer resolution);
//! 2. accept new connections (beyond the connection limit: accept and close
//!    at once, so the kernel backlog cannot fill with clients we will never
//!    serve) and drive every connection an event names;
//! 3. apply the messages from other threads: replies, cancel handles, a new
//!    route table (SIGHUP), RPC connections to host, stop (SIGTERM/SIGINT);
//! 4. every 100 ms, scan connections for deadlines (header, idle, upstream);
//! 5. write out the access log when 16 KiB have gathered, or at the tick.
//!
//! Stopping is a drain: the listener closes (new connections are refused by
//! the kernel), idle keep-alive connections close, and requests in progress
//! finish with `Connection: close`; the loop returns once the last connection
//! is gone or the drain deadline passes.

use crate::edge::conn::{Conn, Outcome};
use crate::edge::env::{Env, Limits};
use crate::http1::{Request, Response};
use crate::ops::access_log::AccessLog;
use crate::ops::metrics::{self, StatusCounts};
use crate::routes::{RouteTable, Target};
use crate::upstream::http::backends::HttpUpstreams;
use crate::upstream::http::proxy::{Proxy, UP_BASE};
use crate::upstream::replies::{self, Hosted};
use crate::upstream::rpc::RpcUpstream;
use crate::upstream::workers::{self, Job, LoopMsg, Notifier, RequestJob};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX - 1);
/// Listener `k` has token `LISTENERS + k`.
const LISTENERS: usize = usize::MAX - 64;
const TICK: Duration = Duration::from_millis(100);
/// Connections accepted per readiness report of a listener.
const ACCEPT_BATCH: usize = 1;
/// Log bytes that are written out at once rather than at the next tick.
const LOG_BATCH: usize = 16 * 1024;
/// Most requests handed to the worker pool in one message.
const JOB_BATCH: usize = 32;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub limits: Limits,
    pub max_connections: usize,
    pub drain_timeout: Duration,
}

/// What every loop of the process shares.
pub struct Shared {
    /// Open client connections over all loops (for `max_connections`).
    pub live: AtomicUsize,
    /// Static mode: the upstreams the loops proxy to themselves.
    pub http: Option<&'static HttpUpstreams>,
    /// Registry mode: the services the loops send calls to themselves when
    /// that cannot wait (see `upstream/rpc.rs`).
    pub rpc: Option<Arc<RpcUpstream>>,
}

pub struct EventLoop {
    poll: Poll,
    /// Shared with the other loops; emptied when stopping.
    listeners: Vec<Arc<TcpListener>>,
    /// Client connections; a key is the connection's token.
    conns: Slab<Conn>,
    /// Static mode: this loop's upstream connections.
    proxy: Option<Proxy>,
    /// Registry mode: the RPC connections whose replies this loop reads.
    hosted: Hosted,
    /// Lent to every connection driven.
    env: Env,
    msgs: Receiver<LoopMsg>,
    notifier: Notifier,
    routes: Arc<RouteTable>,
    settings: Settings,
    shared: Arc<Shared>,
    /// Per-service metric tables, by route target name.
    counts: HashMap<String, Arc<StatusCounts>>,
    next_seq: u64,
    /// Requests read this turn, for the worker pool (see `flush_jobs`).
    batch: Vec<RequestJob>,
    /// Set once stopping: when to give up on the last connections.
    drain_deadline: Option<Instant>,
    /// An accept failed (e.g. out of descriptors): this loop retries at its
    /// next tick (the level-triggered listener is reported again, but
    /// `EPOLLEXCLUSIVE` may wake another loop for it).
    accept_pending: bool,
    refused: u64,
}

impl EventLoop {
    /// Registers the listeners and a waker; returns the loop and the notifier other
    /// threads use to reach it.
    pub fn new(
        listeners: Vec<Arc<TcpListener>>,
        settings: Settings,
        routes: Arc<RouteTable>,
        shared: Arc<Shared>,
    ) -> std::io::Result<(EventLoop, Notifier)> {
        let poll = Poll::new()?;
        for (k, l) in listeners.iter().enumerate() {
            listener_ctl(&poll, l, libc::EPOLL_CTL_ADD, LISTENERS + k)?;
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, msgs) = crossbeam_channel::unbounded();
        if listeners.is_empty() {
            return Err(std::io::Error::other("an event loop needs a listener"));
        }
        let notifier = Notifier::new(tx, waker);
        let env = Env { now: Instant::now(), limits: settings.limits, access: AccessLog::new(), draining: false };
        let el = EventLoop {
            poll,
            listeners,
            conns: Slab::new(),
            proxy: shared.http.map(Proxy::new),
            hosted: Hosted::default(),
            env,
            msgs,
            notifier: notifier.clone(),
            routes,
            settings,
            shared,
            counts: HashMap::new(),
            next_seq: 1,
            batch: Vec::new(),
            drain_deadline: None,
            accept_pending: false,
            refused: 0,
        };
        Ok((el, notifier))
    }

    /// Serves until stopped and drained.
    pub fn run(mut self, jobs: Sender<Job>) -> std::io::Result<()> {
        metrics::own_shard();
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        loop {
            if let Err(e) = self.poll.poll(&mut events, Some(TICK)) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            let now = Instant::now();
            self.env.now = now;
            self.notifier.will_read();
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(t) if t >= LISTENERS => self.accept(t - LISTENERS, &jobs),
                    Token(t) if t >= replies::BASE => self.hosted.readable(self.poll.registry(), t - replies::BASE),
                    Token(t) if t >= UP_BASE => self.upstream_event(t - UP_BASE, ev, &jobs),
                    Token(i) => {
                        if let Some(conn) = self.conns.get_mut(i) {
                            conn.on_event(ev);
                            self.drive(i, &jobs);
                        }
                    }
                }
            }
            self.apply_messages(&jobs);
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                self.tick(&jobs);
                self.env.access.flush();
            } else if self.env.access.pending() >= LOG_BATCH {
                self.env.access.flush();
            }
            self.flush_jobs(&jobs);
            if let Some(deadline) = self.drain_deadline {
                let live = self.conns.len();
                if live == 0 || now >= deadline {
                    if live > 0 {
                        log::warn!(target: "balancer", "drain deadline passed; dropping {live} connections");
                    }
                    self.env.access.flush();
                    while let Some(i) = self.conns.iter().next().map(|(i, _)| i) {
                        self.remove(i);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Accepts one connection: the listener is level-triggered and shared,
    /// so while more wait, the next poll (of whichever loop is idle) reports
    /// it again; taking them one at a time spreads a burst over the loops.
    fn accept(&mut self, k: usize, jobs: &Sender<Job>) {
        for _ in 0..ACCEPT_BATCH {
            let Some(listener) = self.listeners.get(k) else { return };
            let (mut sock, peer) = match listener.accept() {
                Ok(a) => a,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!(target: "balancer", "accept failed: {e}; retrying shortly");
                    self.accept_pending = true;
                    return;
                }
            };
            if self.shared.live.load(Ordering::Relaxed) >= self.settings.max_connections {
                self.refused += 1;
                metrics::get().refused.fetch_add(1, Ordering::Relaxed);
                if self.refused.is_power_of_two() {
                    log::warn!(
                        target: "balancer",
                        "{} connections open: closed {peer} at once ({} refused by this loop so far)",
                        self.shared.live.load(Ordering::Relaxed),
                        self.refused
                    );
                }
                continue;
            }
            metrics::get().accepted.fetch_add(1, Ordering::Relaxed);
            let _ = sock.set_nodelay(true);
            let slot = self.conns.vacant_entry();
            let i = slot.key();
            if let Err(e) = self.poll.registry().register(&mut sock, Token(i), Interest::READABLE | Interest::WRITABLE)
            {
                log::warn!(target: "balancer", "cannot register {peer}: {e}");
                continue;
            }
            slot.insert(Conn::new(sock, peer, self.env.now));
            self.shared.live.fetch_add(1, Ordering::Relaxed);
            self.drive(i, jobs);
        }
    }

    /// Runs client `i` (and the upstream serving it) as far as they go.
    fn drive(&mut self, i: usize, jobs: &Sender<Job>) {
        loop {
            let Some(conn) = self.conns.get_mut(i) else { return };
            match conn.drive(&mut self.env) {
                Outcome::Idle => {
                    let (Some(j), Some(proxy)) = (conn.upstream(), self.proxy.as_mut()) else { return };
                    if !proxy.pump(&mut self.conns, &mut self.env, self.poll.registry(), i, j) {
                        return;
                    }
                }
                Outcome::Closed => {
                    self.remove(i);
                    return;
                }
                Outcome::Dispatch(req) => self.dispatch(i, req, jobs),
            }
        }
    }

    /// Queues `resp` as the answer to client `i`'s current request.
    fn respond(&mut self, i: usize, resp: Response) {
        if let Some(conn) = self.conns.get_mut(i) {
            conn.respond(resp, &mut self.env);
        }
    }

    /// Drives the client upstream `j` serves, if the event concerns one.
    fn upstream_event(&mut self, j: usize, ev: &mio::event::Event, jobs: &Sender<Job>) {
        let Some(proxy) = self.proxy.as_mut() else { return };
        if let Some(i) = proxy.on_event(self.poll.registry(), j, ev) {
            self.drive(i, jobs);
        }
    }

    /// Proxies a request here, hands it to the workers, or answers it at once.
    fn dispatch(&mut self, i: usize, req: Box<Request>, jobs: &Sender<Job>) {
        let now = self.env.now;
        let route = match self.routes.lookup(&req.head.path) {
            None | Some(Target::NotFound) => {
                let message = format!("no route for {} {}", req.head.method, req.head.path);
                self.respond(i, Response::error(404, &message));
                return;
            }
            Some(route) => route,
        };
        let in_loop = matches!(route, Target::Service(_)) && self.proxy.is_some();
        let counts = counts(&mut self.counts, route);
        // Only a worker needs its own copy of the target.
        let target = (!in_loop).then(|| route.clone());
        let Some(conn) = self.conns.get_mut(i) else { return };
        conn.routed(counts, in_loop, &mut self.env.access);
        let Some(target) = target else {
            if let Some(proxy) = self.proxy.as_mut() {
                proxy.start(&mut self.conns, &mut self.env, self.poll.registry(), i, req);
            }
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let deadline = now + self.settings.limits.upstream_timeout;
        let job = RequestJob {
            token: i,
            seq,
            request: *req,
            client: conn.peer(),
            request_id: conn.request_id().to_string(),
            target,
            deadline,
            dispatched: now,
            notifier: self.notifier.clone(),
        };
        conn.wait(seq, deadline);
        self.batch.push(job);
        if self.batch.len() >= JOB_BATCH {
            self.flush_jobs(jobs);
        }
    }

    /// Hands this turn's requests to the worker pool in one message; when the
    /// queue is full, each is answered 503 at once (its connection waits for
    /// exactly that sequence number, as for a reply).
    fn flush_jobs(&mut self, jobs: &Sender<Job>) {
        if let Some(rpc) = self.shared.rpc.clone() {
            self.send_calls(&rpc, jobs);
        }
        while !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            let Some((why, Job::Requests(refused))) = refusal(jobs.try_send(Job::Requests(batch))) else { return };
            metrics::get().shed.fetch_add(refused.len() as u64, Ordering::Relaxed);
            for job in refused {
                let Some(conn) = self.conns.get_mut(job.token) else { continue };
                log::warn!(target: "balancer", "{}: {why}; answering 503", conn.peer());
                let response = Response::error(503, why).with_header("Retry-After", "1");
                // Driving may read the connection's next request into `batch`.
                if conn.complete(job.seq, response, &mut self.env) {
                    self.drive(job.token, jobs);
                }
            }
        }
    }

    /// Registry mode: sends this turn's service calls from here where that
    /// cannot wait, and hands the others to the workers in one message
    /// (503 each when the queue is full), leaving the rest of the batch.
    fn send_calls(&mut self, rpc: &RpcUpstream, jobs: &Sender<Job>) {
        let mut later = Vec::new();
        for job in std::mem::take(&mut self.batch) {
            if !matches!(job.target, Target::Service(_)) {
                self.batch.push(job);
            } else if let Some(call) = workers::start_here(job, rpc) {
                later.push(call);
            }
        }
        if later.is_empty() {
            return;
        }
        let Some((why, Job::Calls(refused))) = refusal(jobs.try_send(Job::Calls(later))) else { return };
        metrics::get().shed.fetch_add(refused.len() as u64, Ordering::Relaxed);
        log::warn!(target: "balancer", "{} calls: {why}; answering 503", refused.len());
        refused.into_iter().for_each(|call| call.shed(why));
    }

    fn apply_messages(&mut self, jobs: &Sender<Job>) {
        self.notifier.rearm();
        while let Ok(msg) = self.msgs.try_recv() {
            match msg {
                LoopMsg::Done { token, seq, response } => {
                    let Some(conn) = self.conns.get_mut(token) else { continue };
                    if conn.complete(seq, response, &mut self.env) {
                        self.drive(token, jobs);
                    }
                }
                LoopMsg::Started { token, seq, cancel } => {
                    if let Some(conn) = self.conns.get_mut(token) {
                        if let Some(late) = conn.set_cancel(seq, cancel) {
                            let _ = jobs.try_send(Job::Cancel(late));
                        }
                    }
                }
                LoopMsg::Routes(table) => {
                    log::debug!(target: "balancer", "route table replaced ({} routes)", table.len());
                    self.routes = table;
                }
                LoopMsg::Stop => self.begin_drain(),
                LoopMsg::Host(r) => self.hosted.adopt(self.poll.registry(), r),
            }
        }
    }

    fn begin_drain(&mut self) {
        let now = self.env.now;
        if self.drain_deadline.is_some() {
            log::info!(target: "balancer", "second stop signal: exiting now");
            self.drain_deadline = Some(now);
            return;
        }
        self.drain_deadline = Some(now + self.settings.drain_timeout);
        self.env.draining = true;
        crate::ops::admin::set_draining();
        for l in std::mem::take(&mut self.listeners) {
            let _ = listener_ctl(&self.poll, &l, libc::EPOLL_CTL_DEL, 0);
        }
        let idle: Vec<usize> = self.conns.iter().filter(|(_, c)| c.is_idle()).map(|(i, _)| i).collect();
        for &i in &idle {
            self.remove(i);
        }
        log::info!(
            target: "balancer",
            "stopping: not accepting; closed {} idle connections, draining {} (up to {} ms)",
            idle.len(),
            self.conns.len(),
            self.settings.drain_timeout.as_millis()
        );
    }

    fn tick(&mut self, jobs: &Sender<Job>) {
        if std::mem::take(&mut self.accept_pending) {
            for k in 0..self.listeners.len() {
                self.accept(k, jobs);
            }
        }
        // Every key is below the capacity; empty slots are skipped.
        for i in 0..self.conns.capacity() {
            let Some(conn) = self.conns.get_mut(i) else { continue };
            let (changed, cancel) = conn.tick(&mut self.env);
            if let Some(cancel) = cancel {
                // Best effort: a full queue leaves the call to its own fate.
                let _ = jobs.try_send(Job::Cancel(cancel));
            }
            if changed {
                self.drive(i, jobs);
            }
        }
        let slots = self.proxy.as_ref().map_or(0, Proxy::slots);
        for j in 0..slots {
            let Some(proxy) = self.proxy.as_mut() else { break };
            if let Some(i) = proxy.tick(&mut self.conns, &mut self.env, self.poll.registry(), j) {
                self.drive(i, jobs);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        let Some(mut conn) = self.conns.try_remove(i) else { return };
        if let (Some(j), Some(proxy)) = (conn.upstream(), self.proxy.as_mut()) {
            proxy.close_up(self.poll.registry(), j);
        }
        conn.deregister(self.poll.registry());
        self.shared.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// This loop's metric table for `target`, created on first use.
/// Why the worker queue refused a job, and the job back; `None` once sent.
fn refusal(sent: Result<(), TrySendError<Job>>) -> Option<(&'static str, Job)> {
    match sent {
        Ok(()) => None,
        Err(TrySendError::Full(job)) => Some(("every worker is busy", job)),
        Err(TrySendError::Disconnected(job)) => Some(("the worker pool is gone", job)),
    }
}

fn counts(cache: &mut HashMap<String, Arc<StatusCounts>>, target: &Target) -> Arc<StatusCounts> {
    let name = match target {
        Target::Service(s) => s.as_str(),
        Target::Catalog => "catalog",
        Target::NotFound => "none",
    };
    if let Some(c) = cache.get(name) {
        return c.clone();
    }
    let c = metrics::get().service_shard(name);
    cache.insert(name.to_string(), c.clone());
    c
}

/// Adds (or removes) a listener shared by every loop to this loop's poll,
/// level-triggered and with `EPOLLEXCLUSIVE`: a new connection wakes one
/// loop that is waiting, not all of them, and a busy loop (not waiting) is
/// not the one woken. mio has no flag for this, so the listener goes into
/// mio's epoll directly; its events carry the token like mio's own.
fn listener_ctl(poll: &Poll, l: &TcpListener, op: libc::c_int, token: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut ev = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32, u64: token as u64 };
    // SAFETY: both descriptors are open for the duration of the call and
    // `ev` is a valid epoll_event.
    if unsafe { libc::epoll_ctl(poll.as_raw_fd(), op, l.as_raw_fd(), &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
