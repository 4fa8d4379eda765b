//! The server's event loop: one thread, one `mio::Poll`, the listener and
//! every connection in a slab, keyed by token.
//!
//! Each connection is driven by [`EventLoop::drive`] whenever its socket
//! reports something or a worker sends a notice about it: flush what is
//! queued, resume reading if it had been paused and has caught up, consume
//! whole frames from its buffer (up to the per-connection cap), read more, and
//! close it once the peer has hung up and every call has been answered.
//!
//! A connection being cut off (garbage, a prefix over the maximum, a frame
//! left unfinished) gets its one error reply, then the write side is shut
//! and what the peer still sends is read and discarded until it closes or
//! [`LINGER`] passes, so the error is not lost to a TCP reset (closing a
//! socket with unread bytes resets it, and a reset can discard the peer's
//! unread copy of our reply).
//!
//! A 100 ms tick closes lingering connections whose time is up and cuts off
//! peers that started a frame and did not finish it within the frame timeout.

use super::h2::{Ctx, H2};
use super::native::{self, Native, Reject};
use super::out::{Sent, Shared};
use super::pool::{self, Call, Job, Pool, ReplyTo};
use super::readiness::{Readiness, Ready};
use super::reply::Done;
use super::{LoopWork, State, LOOP_WORK_TOKEN};
use crate::h2::frame::PREFACE;
use crate::h2::H2Error;
use crate::metadata;
use crate::methods;
use crate::pb::Request;
use crate::status::{Code, Status};
use crossbeam_channel::Receiver;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use prost::Message;
use slab::Slab;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const WAKER: Token = Token(0);
const LISTENER: Token = Token(1);
/// Connection tokens are slab keys plus this.
const FIRST: usize = 2;
const TICK: Duration = Duration::from_millis(100);
/// How long a connection being cut off is read and discarded at most.
const LINGER: Duration = Duration::from_secs(1);
/// Reply bytes queued for one peer past which it is no longer read.
const MAX_QUEUED: usize = 8 << 20;

/// Why a connection is being cut off.
enum Cut {
    Native(Reject),
    H2(H2Error),
}

impl From<Reject> for Cut {
    fn from(r: Reject) -> Cut {
        Cut::Native(r)
    }
}

struct Conn {
    shared: Arc<Shared>,
    readiness: Readiness,
    /// Native until the first bytes turn out to be the HTTP/2 preface.
    native: Native,
    h2: Option<Box<H2>>,
    /// No byte has ruled out the HTTP/2 preface yet.
    detecting: bool,
    /// Being cut off: discard input until the peer closes or this instant.
    closing: Option<Instant>,
    write_shut: bool,
    /// The peer closed its side; close ours once every call is answered.
    peer_closed: bool,
}

pub(crate) struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    conns: Slab<Conn>,
    state: Arc<State>,
    pool: Pool,
    noticed: Receiver<(usize, u64)>,
    h2_finished: Receiver<Done>,
    /// The loop has told health watchers the server is draining.
    drain_told: bool,
    /// GOAWAY has been sent on every HTTP/2 connection.
    goaway_told: bool,
    next_id: u64,
    /// An accept failed (out of descriptors, say): try again at the tick.
    accept_failed: bool,
    /// The handler's own work on the loop (`Handler::loop_work`).
    work: Option<Box<dyn LoopWork>>,
}

impl EventLoop {
    pub(crate) fn new(
        poll: Poll,
        mut listener: TcpListener,
        state: Arc<State>,
        pool: Pool,
        noticed: Receiver<(usize, u64)>,
        h2_finished: Receiver<Done>,
    ) -> io::Result<EventLoop> {
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            conns: Slab::new(),
            state,
            pool,
            noticed,
            h2_finished,
            drain_told: false,
            goaway_told: false,
            next_id: 1,
            accept_failed: false,
            work: None,
        })
    }

    pub(crate) fn run(mut self) {
        self.work = self.state.handler.loop_work();
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + TICK;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!(target: "rpc", "poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let mut woke = false;
            for ev in events.iter() {
                match ev.token() {
                    WAKER => woke = true,
                    LISTENER => self.accept(),
                    LOOP_WORK_TOKEN => {
                        if let Some(w) = self.work.as_mut() {
                            w.ready(self.poll.registry());
                        }
                    }
                    Token(t) => self.on_event(t - FIRST, Ready::from_event(ev)),
                }
            }
            if woke {
                self.on_wake();
            }
            if let Some(w) = self.work.as_mut() {
                w.turn_done(self.poll.registry());
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
            }
        }
    }

    fn accept(&mut self) {
        while let Some(listener) = &self.listener {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if self.conns.len() >= self.state.config.max_connections {
                        log::warn!(target: "rpc", "refusing {peer}: {} connections open", self.conns.len());
                        refuse(stream);
                        continue;
                    }
                    if let Err(e) = self.add(stream, peer) {
                        log::warn!(target: "rpc", "cannot register {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!(target: "rpc", "accept failed: {e}");
                    self.accept_failed = true;
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream, peer: std::net::SocketAddr) -> io::Result<()> {
        let _ = stream.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        self.poll.registry().register(&mut stream, Token(key + FIRST), Interest::READABLE | Interest::WRITABLE)?;
        let id = self.next_id;
        self.next_id += 1;
        entry.insert(Conn {
            shared: Arc::new(Shared::new(stream, peer, id, key)),
            readiness: Readiness::new(),
            native: Native::new(),
            h2: None,
            detecting: true,
            closing: None,
            write_shut: false,
            peer_closed: false,
        });
        Ok(())
    }

    fn on_event(&mut self, key: usize, ready: Ready) {
        let Some(c) = self.conns.get_mut(key) else { return };
        if ready.contains(Ready::HUP) {
            self.close(key);
            return;
        }
        c.readiness.event.insert(ready);
        self.drive(key);
    }

    fn on_wake(&mut self) {
        if self.state.stopped.load(Ordering::Acquire) {
            if let Some(mut l) = self.listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
                log::info!(target: "rpc", "no longer accepting connections");
            }
        }
        while let Ok(done) = self.h2_finished.try_recv() {
            let Done { conn, stream, reply } = done;
            let ends = reply.ends_call();
            let (key, id) = (conn.key, conn.id);
            if let Some(c) = self.conns.get_mut(key).filter(|c| c.shared.id == id) {
                if let Some(h) = c.h2.as_mut() {
                    let ctx = Ctx { state: &self.state, pool: &self.pool, shared: &conn, now: Instant::now() };
                    h.complete(stream, reply, &ctx);
                    let out = h.take_out();
                    conn.send([out]);
                }
            }
            if ends {
                pool::finished(&self.state, &conn);
            }
        }
        let draining = self.state.draining.load(Ordering::Acquire) && !self.drain_told;
        let stopping = self.state.stopped.load(Ordering::Acquire) && !self.goaway_told;
        if draining || stopping {
            self.drain_told |= draining;
            self.goaway_told |= stopping;
            let now = Instant::now();
            for (_, c) in self.conns.iter_mut() {
                let Some(h) = c.h2.as_mut() else { continue };
                let ctx = Ctx { state: &self.state, pool: &self.pool, shared: &c.shared, now };
                if draining {
                    h.health_changed(&ctx);
                }
                if stopping {
                    h.go_away();
                }
                let out = h.take_out();
                c.shared.send([out]);
            }
            let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
            for key in keys {
                self.maybe_close(key);
            }
        }
        while let Ok((key, id)) = self.noticed.try_recv() {
            if self.conns.get(key).is_some_and(|c| c.shared.id == id) {
                self.drive(key);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        if self.accept_failed {
            self.accept_failed = false;
            self.accept();
        }
        let frame_timeout = self.state.config.frame_timeout;
        let mut expired = Vec::new();
        let mut stalled = Vec::new();
        for (_, c) in self.conns.iter_mut() {
            if let (Some(h), None) = (c.h2.as_mut(), c.closing) {
                let ctx = Ctx { state: &self.state, pool: &self.pool, shared: &c.shared, now };
                h.expire(&ctx);
                let out = h.take_out();
                c.shared.send([out]);
            }
        }
        for (key, c) in self.conns.iter() {
            match (c.closing, c.native.partial_since) {
                (Some(until), _) if now >= until => expired.push(key),
                (None, Some(since)) if now.duration_since(since) >= frame_timeout => stalled.push(key),
                _ => {}
            }
        }
        for key in expired {
            self.close(key);
        }
        for key in stalled {
            let message = format!("frame not finished within {frame_timeout:?}");
            self.reject(key, Cut::Native(Reject { code: Code::InvalidArgument, message }));
        }
    }

    /// Does whatever a connection can do now.
    fn drive(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else { return };
        if c.readiness.ready().contains(Ready::WRITABLE) {
            // Edge-triggered: this event is consumed by this flush.
            c.readiness.event.remove(Ready::WRITABLE);
            if c.shared.flush() == Sent::Closed {
                self.close(key);
                return;
            }
        }
        if c.closing.is_some() {
            self.linger(key);
            return;
        }
        if !c.readiness.interest.contains(Ready::READABLE) && !c.peer_closed && !self.over_cap(key) {
            let c = &mut self.conns[key];
            c.readiness.interest.insert(Ready::READABLE);
        }
        if self.conns[key].readiness.interest.contains(Ready::READABLE) {
            if let Err(cut) = self.read(key) {
                self.reject(key, cut);
                return;
            }
        }
        self.maybe_close(key);
    }

    fn over_cap(&self, key: usize) -> bool {
        let s = &self.conns[key].shared;
        s.calls.load(Ordering::SeqCst) >= self.state.config.max_calls_per_connection || s.queued() > MAX_QUEUED
    }

    /// Consumes buffered frames and reads more while the socket has bytes and
    /// the connection is under its caps. Replies queued meanwhile leave in one
    /// write at the end.
    fn read(&mut self, key: usize) -> Result<(), Cut> {
        let shared = self.conns[key].shared.clone();
        shared.cork();
        let r = self.read_corked(key, &shared);
        if shared.uncork() == Sent::Closed {
            self.close(key);
            return Ok(());
        }
        r
    }

    fn read_corked(&mut self, key: usize, shared: &Arc<Shared>) -> Result<(), Cut> {
        let max = self.state.config.max_message;
        let now = Instant::now();
        loop {
            if self.conns[key].h2.is_some() {
                let c = &mut self.conns[key];
                let Some(h) = c.h2.as_mut() else { return Ok(()) };
                let ctx = Ctx { state: &self.state, pool: &self.pool, shared, now };
                let r = h.process(&ctx);
                let out = h.take_out();
                shared.send([out]);
                r.map_err(Cut::H2)?;
            } else if !self.conns[key].detecting {
                loop {
                    if self.over_cap(key) {
                        // Ask the workers for a notice, then look again: one may
                        // have finished in between.
                        shared.wants_notice.store(true, Ordering::SeqCst);
                        if self.over_cap(key) {
                            self.conns[key].readiness.interest.remove(Ready::READABLE);
                            return Ok(());
                        }
                    }
                    let c = &mut self.conns[key];
                    let Some(payload) = c.native.next_frame(max, now)? else { break };
                    dispatch(&self.state, &self.pool, shared, payload, now)?;
                }
            }
            let c = &mut self.conns[key];
            if !c.readiness.event.contains(Ready::READABLE) {
                return Ok(());
            }
            let read = match c.h2.as_mut() {
                Some(h) => read_into(&shared.stream, h.spare()).inspect(|&n| h.filled(n)),
                None => c.native.read_from(&shared.stream, max),
            };
            match read {
                Ok(0) => {
                    c.peer_closed = true;
                    c.readiness.interest.remove(Ready::READABLE);
                    if c.native.partial_since.is_some() {
                        return Err(Reject::from_frame(crate::frame::FrameError::Truncated).into());
                    }
                    return Ok(());
                }
                Ok(_) => {
                    if c.detecting {
                        detect(c, now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.readiness.event.remove(Ready::READABLE),
                Err(e) => {
                    log::debug!(target: "rpc", "{}: read failed: {e}", shared.peer);
                    c.peer_closed = true;
                    c.readiness.interest.remove(Ready::READABLE);
                    shared.close();
                    return Ok(());
                }
            }
        }
    }

    /// Closes a connection whose peer has gone once nothing is owed to it.
    fn maybe_close(&mut self, key: usize) {
        let Some(c) = self.conns.get(key) else { return };
        let finished_h2 = c.h2.as_ref().is_some_and(|h| h.goaway_sent && !h.busy());
        if !c.peer_closed && !finished_h2 {
            return;
        }
        // Ask first, then check, so a worker finishing in between is heard.
        c.shared.wants_notice.store(true, Ordering::SeqCst);
        if c.shared.calls.load(Ordering::SeqCst) == 0 && c.shared.queued() == 0 {
            self.close(key);
        }
    }

    /// Sends the one error reply and starts the lingering close.
    fn reject(&mut self, key: usize, cut: Cut) {
        let Some(c) = self.conns.get_mut(key) else { return };
        c.closing = Some(Instant::now() + LINGER);
        c.readiness.interest.insert(Ready::READABLE);
        match (cut, c.h2.as_mut()) {
            (Cut::H2(e), Some(h)) => {
                log::warn!(target: "rpc", "{}: HTTP/2 {e}; closing", c.shared.peer);
                h.fail(&e);
                let out = h.take_out();
                c.shared.send([out]);
            }
            (Cut::Native(rej), _) => {
                log::warn!(target: "rpc", "{}: {}; closing", c.shared.peer, rej.message);
                native::send_reply(&c.shared, 0, Err(Status::new(rej.code, rej.message)));
            }
            (Cut::H2(e), None) => log::warn!(target: "rpc", "{}: {e}; closing", c.shared.peer),
        }
        self.linger(key);
    }

    /// A connection being cut off: shut our side once the error reply is out,
    /// discard what the peer sends, close at its EOF.
    fn linger(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else { return };
        if !c.write_shut && c.shared.queued() == 0 {
            let _ = c.shared.stream.shutdown(Shutdown::Write);
            c.write_shut = true;
        }
        let mut scratch = [0u8; 4096];
        loop {
            match (&c.shared.stream).read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        if c.write_shut || c.shared.queued() == 0 {
            self.close(key);
        }
    }

    fn close(&mut self, key: usize) {
        if !self.conns.contains(key) {
            return;
        }
        let c = self.conns.remove(key);
        c.shared.close();
        let fd = c.shared.stream.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut mio::unix::SourceFd(&fd));
    }
}

/// Decodes one request envelope and starts its call: the health check and
/// inline-capable calls answered here, the rest queued or shed.
fn dispatch(state: &Arc<State>, pool: &Pool, shared: &Arc<Shared>, frame: &[u8], now: Instant) -> Result<(), Reject> {
    let req = Request::decode(frame).map_err(|e| {
        log::debug!(target: "rpc", "{}: undecodable request envelope: {e}", shared.peer);
        Reject { code: Code::InvalidArgument, message: "undecodable request envelope".into() }
    })?;
    let deadline = (req.timeout_ms > 0).then(|| now.checked_add(Duration::from_millis(req.timeout_ms))).flatten();
    let metadata: Vec<metadata::Entry> = req.metadata.into_iter().map(|h| (h.name, h.value)).collect();
    let refused = metadata::refusal(&metadata);
    let call = Call {
        method: req.method,
        request_id: req.request_id,
        deadline,
        received: now,
        peer: shared.peer,
        payload: req.payload,
        metadata,
        cancelled: None,
    };
    shared.calls.fetch_add(1, Ordering::SeqCst);
    state.in_flight.fetch_add(1, Ordering::Relaxed);
    let call_id = req.call_id;
    let inline = if let Some(why) = refused {
        // What HTTP/2 could not have carried is not served on the native frames either.
        Some(Err(Status::invalid(why)))
    } else if call.method == methods::HEALTH_CHECK {
        Some(Ok(super::health_payload(state)))
    } else {
        pool::run_inline(state, &call, &super::ReplyMetadata::default())
    };
    if let Some(result) = inline {
        native::send_reply(shared, call_id, result);
        pool::finished(state, shared);
        return Ok(());
    }
    let job = Job { call, reply: ReplyTo::Native { conn: shared.clone(), call_id } };
    let Some(job) = super::later::offer(state, pool, job) else { return Ok(()) };
    if let Err(job) = pool.submit(job) {
        log::warn!(target: "rpc", "{}: {} shed: the worker queue is full", shared.peer, job.call.method);
        pool::deliver(state, job.reply, Err(pool::overloaded(state)), Default::default());
    }
    Ok(())
}

/// A connection's first bytes: the HTTP/2 preface turns it into an h2c
/// connection (the bytes after the preface are its first frames); any other
/// start is the native frames'.
fn detect(c: &mut Conn, now: Instant) {
    let got = c.native.pending();
    if got.len() >= PREFACE.len() && got.starts_with(PREFACE) {
        c.h2 = Some(Box::new(H2::new(&got[PREFACE.len()..], now)));
        c.detecting = false;
        c.native.partial_since = None;
    } else if got.len() >= PREFACE.len() || !PREFACE.starts_with(got) {
        c.detecting = false;
    } else {
        // Part of a preface: the frame timeout runs as for a partial frame.
        c.native.partial_since.get_or_insert(now);
    }
}

fn read_into(mut stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Tells a connection over the limit why it is closed, and closes it.
fn refuse(mut stream: TcpStream) {
    let [head, payload] = native::encode_reply(0, Err(Status::new(Code::ResourceExhausted, "too many connections")));
    let _ = stream.write_all(&[head, payload].concat());
    let _ = stream.shutdown(Shutdown::Both);
}
