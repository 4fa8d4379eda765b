//! The event loop: one thread, one `mio::Poll`, every client socket.
//!
//! The loop owns the listener, the connections (in a slab: a `Vec` of slots
//! whose index is the mio token, plus a free list), the route table and the
//! access log. It never blocks on anything but `poll` itself: work that might
//! wait is sent to the worker pool with `try_send`, and results come back on
//! a channel whose sender wakes the poll through a `mio::Waker`.
//!
//! Each iteration:
//! 1. poll (at most 100 ms, which is also the timer resolution);
//! 2. accept new connections (beyond the connection limit: accept and close
//!    at once, so the kernel backlog cannot fill with clients we will never
//!    serve) and drive every connection an event names;
//! 3. apply the messages from other threads: replies, cancel handles, a new
//!    route table (SIGHUP), stop (SIGTERM/SIGINT);
//! 4. every 100 ms, scan connections for deadlines (header, idle, upstream);
//! 5. flush the access log once.
//!
//! Stopping is a drain: the listener closes (new connections are refused by
//! the kernel), idle keep-alive connections close, and requests in progress
//! finish with `Connection: close`; the loop returns once the last connection
//! is gone or the drain deadline passes.

use crate::access_log::AccessLog;
use crate::conn::{Conn, Env, Limits, Outcome};
use crate::http1::{Request, Response};
use crate::routes::RouteTable;
use crate::workers::{Job, LoopMsg, Notifier, RequestJob};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub limits: Limits,
    pub max_connections: usize,
    pub drain_timeout: Duration,
}

pub struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    live: usize,
    msgs: Receiver<LoopMsg>,
    routes: Arc<RouteTable>,
    settings: Settings,
    access: AccessLog,
    next_seq: u64,
    /// Set once stopping: when to give up on the last connections.
    drain_deadline: Option<Instant>,
    /// An accept failed (e.g. out of descriptors): retry on the next tick,
    /// since an edge-triggered listener will not report the backlog again.
    accept_pending: bool,
    refused: u64,
}

impl EventLoop {
    /// Registers the listener and a waker; returns the loop and the
    /// notifier other threads use to reach it.
    pub fn new(
        mut listener: TcpListener,
        settings: Settings,
        routes: Arc<RouteTable>,
    ) -> std::io::Result<(EventLoop, Notifier)> {
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, msgs) = crossbeam_channel::unbounded();
        let local_addr = listener.local_addr()?;
        let el = EventLoop {
            poll,
            listener: Some(listener),
            local_addr,
            conns: Vec::new(),
            free: Vec::new(),
            live: 0,
            msgs,
            routes,
            settings,
            access: AccessLog::new(),
            next_seq: 1,
            drain_deadline: None,
            accept_pending: false,
            refused: 0,
        };
        Ok((el, Notifier::new(tx, waker)))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until stopped and drained.
    pub fn run(mut self, jobs: Sender<Job>) -> std::io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        loop {
            if let Err(e) = self.poll.poll(&mut events, Some(TICK)) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            let now = Instant::now();
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(now, &jobs),
                    WAKER => {}
                    Token(i) => {
                        if let Some(Some(conn)) = self.conns.get_mut(i) {
                            conn.on_event(ev);
                            self.drive(i, now, &jobs);
                        }
                    }
                }
            }
            self.apply_messages(now, &jobs);
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                self.tick(now, &jobs);
            }
            self.access.flush();
            if let Some(deadline) = self.drain_deadline {
                if self.live == 0 || now >= deadline {
                    if self.live > 0 {
                        log::warn!(target: "balancer", "drain deadline passed; dropping {} connections", self.live);
                    }
                    log::info!(target: "balancer", "stopped");
                    self.access.flush();
                    return Ok(());
                }
            }
        }
    }

    fn accept(&mut self, now: Instant, jobs: &Sender<Job>) {
        self.accept_pending = false;
        loop {
            let Some(listener) = self.listener.as_ref() else { return };
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
            if self.live >= self.settings.max_connections {
                self.refused += 1;
                if self.refused.is_power_of_two() {
                    log::warn!(
                        target: "balancer",
                        "{} connections open: closed {peer} at once ({} refused so far)",
                        self.live,
                        self.refused
                    );
                }
                continue;
            }
            let _ = sock.set_nodelay(true);
            let i = match self.free.pop() {
                Some(i) => i,
                None => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
            };
            if let Err(e) = self.poll.registry().register(&mut sock, Token(i), Interest::READABLE | Interest::WRITABLE)
            {
                log::warn!(target: "balancer", "cannot register {peer}: {e}");
                self.free.push(i);
                continue;
            }
            self.conns[i] = Some(Conn::new(sock, peer, now));
            self.live += 1;
            self.drive(i, now, jobs);
        }
    }

    fn drive(&mut self, i: usize, now: Instant, jobs: &Sender<Job>) {
        loop {
            let Some(Some(conn)) = self.conns.get_mut(i) else { return };
            let mut env = Env {
                now,
                limits: &self.settings.limits,
                access: &mut self.access,
                draining: self.drain_deadline.is_some(),
            };
            match conn.drive(&mut env) {
                Outcome::Idle => return,
                Outcome::Closed => {
                    self.remove(i);
                    return;
                }
                Outcome::Dispatch(req, request_id) => self.dispatch(i, *req, request_id, now, jobs),
            }
        }
    }

    /// Hands a request to the workers, or answers it at once.
    fn dispatch(&mut self, i: usize, req: Request, request_id: String, now: Instant, jobs: &Sender<Job>) {
        let Some(Some(conn)) = self.conns.get_mut(i) else { return };
        let mut env = Env {
            now,
            limits: &self.settings.limits,
            access: &mut self.access,
            draining: self.drain_deadline.is_some(),
        };
        let Some(target) = self.routes.lookup(&req.head.path).cloned() else {
            conn.respond(Response::error(404, "no route for this path"), &mut env);
            return;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let deadline = now + self.settings.limits.upstream_timeout;
        let job = RequestJob {
            token: i,
            seq,
            request: req,
            client: conn.peer,
            request_id,
            target,
            deadline,
            dispatched: now,
        };
        match jobs.try_send(Job::Request(Box::new(job))) {
            Ok(()) => conn.wait(seq, deadline),
            Err(e) => {
                let why = match e {
                    TrySendError::Full(_) => "every worker is busy",
                    TrySendError::Disconnected(_) => "the worker pool is gone",
                };
                log::warn!(target: "balancer", "{}: {why}; answering 503", conn.peer);
                let resp = Response::error(503, why).with_header("Retry-After", "1");
                conn.respond(resp, &mut env);
            }
        }
    }

    fn apply_messages(&mut self, now: Instant, jobs: &Sender<Job>) {
        while let Ok(msg) = self.msgs.try_recv() {
            match msg {
                LoopMsg::Done { token, seq, response } => {
                    let Some(Some(conn)) = self.conns.get_mut(token) else { continue };
                    let mut env = Env {
                        now,
                        limits: &self.settings.limits,
                        access: &mut self.access,
                        draining: self.drain_deadline.is_some(),
                    };
                    if conn.complete(seq, response, &mut env) {
                        self.drive(token, now, jobs);
                    }
                }
                LoopMsg::Started { token, seq, cancel } => {
                    if let Some(Some(conn)) = self.conns.get_mut(token) {
                        if let Some(late) = conn.set_cancel(seq, cancel) {
                            let _ = jobs.try_send(Job::Cancel(late));
                        }
                    }
                }
                LoopMsg::Routes(table) => {
                    log::info!(target: "balancer", "route table replaced ({} routes)", table.len());
                    self.routes = table;
                }
                LoopMsg::Stop => self.begin_drain(now),
            }
        }
    }

    fn begin_drain(&mut self, now: Instant) {
        if self.drain_deadline.is_some() {
            log::info!(target: "balancer", "second stop signal: exiting now");
            self.drain_deadline = Some(now);
            return;
        }
        self.drain_deadline = Some(now + self.settings.drain_timeout);
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        let idle: Vec<usize> =
            (0..self.conns.len()).filter(|&i| matches!(&self.conns[i], Some(c) if c.is_idle())).collect();
        for &i in &idle {
            self.remove(i);
        }
        log::info!(
            target: "balancer",
            "stopping: not accepting; closed {} idle connections, draining {} (up to {} ms)",
            idle.len(),
            self.live,
            self.settings.drain_timeout.as_millis()
        );
    }

    fn tick(&mut self, now: Instant, jobs: &Sender<Job>) {
        if self.accept_pending {
            self.accept(now, jobs);
        }
        for i in 0..self.conns.len() {
            let Some(Some(conn)) = self.conns.get_mut(i) else { continue };
            let mut env = Env {
                now,
                limits: &self.settings.limits,
                access: &mut self.access,
                draining: self.drain_deadline.is_some(),
            };
            let (changed, cancel) = conn.tick(&mut env);
            if let Some(cancel) = cancel {
                // Best effort: a full queue leaves the call to its own fate.
                let _ = jobs.try_send(Job::Cancel(cancel));
            }
            if changed {
                self.drive(i, now, jobs);
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if let Some(mut conn) = self.conns.get_mut(i).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut conn.sock);
            self.live -= 1;
            self.free.push(i);
        }
    }
}
