//! One client connection as an explicit state machine.
//!
//! ```text
//!            ┌──────────── keep-alive: next (possibly pipelined) request ───────────────┐
//!            ▼                                                                          │
//!   ReadingHead ──head──▶ ReadingBody ──body──▶ Dispatching ─┬─▶ Waiting (worker) ─reply─▶ Writing
//!        │                     │                    │        └─▶ Proxying (upstream in   │
//!        │                     │                    │            this loop, streamed) ──▶┘
//!        └──framing error──────┴──▶ Writing (status, Connection: close) ──▶ Lingering ──▶ Closed
//! ```
//!
//! Readiness follows Sōzu (`readiness.rs`): the socket is registered once
//! for both directions, edge-triggered; the connection keeps what the kernel
//! reported and we have not used up (`event`), and sets what its state wants
//! (`interest`) before each read or write: bytes only while reading a
//! request, the socket's write side only while output is pending. Acting on
//! `event & interest` means backpressure costs no system call: while a request is in flight or its response is
//! still being written we simply do not read, the kernel buffers fill, and
//! TCP pushes back on the client. It also keeps pipelining honest: the next
//! buffered request is parsed only after the previous response has been
//! written, so responses leave in request order without any reordering.
//!
//! A response reaches the connection whole (`respond`, from a worker or
//! from us) or streamed by the event loop from a static HTTP upstream
//! (`stream_head` / `stream_data` / `stream_end`, never held whole: the loop
//! stops reading the upstream while more than a bounded amount of output is
//! waiting for this client); that side, with the output buffer, is the
//! connection's `Reply` (`respond.rs`).
//!
//! Every buffer is bounded: the input buffer holds at most a head's worth (or
//! 64 KiB while a body is drained into the body buffer, itself capped at
//! 1 MiB by the framing rules), and output holds one response (or, streamed,
//! what the upstream sent beyond the high-water mark in one read).
//!
//! Timers are checked by `tick`, which the event loop calls every 100 ms: the
//! whole head must arrive within the header timeout counted from its first
//! byte (so a byte every few seconds does not keep a slowloris alive), a body
//! must keep moving, an idle keep-alive connection is closed, and a request
//! whose worker has not answered by its deadline gets a 504 (upstreams in the
//! loop have their own deadlines, checked on their side).
//!
//! Every response also feeds the metrics (per service and status, latency)
//! and the access log; requests the loop proxies itself also get the
//! `Balancer::Worker … start` / `done` lines a worker would have written.

use crate::edge::env::{Env, Limits};
use crate::edge::readiness::{Readiness, Ready, READ_CHUNK};
use crate::edge::respond::{Current, Reply};
use crate::http1::{self, BodyReader, Head, Request, Response, MAX_BODY, MAX_HEAD};
use crate::ops::access_log::AccessLog;
use crate::ops::metrics::{self, GaugeGuard, StatusCounts, Timeout};
use crate::upstream::workers::Cancel;
use mio::event::Event;
use mio::net::TcpStream;
use mio::Registry;
use proto::logger::JobScope;
use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most input buffered while a body is being decoded out of it.
const BODY_INPUT: usize = 64 * 1024;
/// After an error response: how long, and how much, we keep reading and
/// discarding so the client sees our response instead of a reset.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub enum Outcome {
    /// Nothing more to do until the next event.
    Idle,
    /// A whole request; the loop must call `wait`, `proxying` or `respond`.
    Dispatch(Box<Request>),
    Closed,
}

enum State {
    ReadingHead,
    ReadingBody {
        head: Head,
        reader: BodyReader,
    },
    Dispatching,
    Waiting {
        seq: u64,
        deadline: Instant,
        cancel: Option<Cancel>,
    },
    /// An upstream connection of this loop (`Conn::up`) produces the response.
    Proxying,
    Writing,
    Lingering {
        until: Instant,
        discarded: usize,
    },
    Closed,
}

pub struct Conn {
    sock: TcpStream,
    peer: SocketAddr,
    /// The upstream connection (an index in the loop's table) serving the
    /// current request, while `Proxying`.
    up: Option<usize>,
    state: State,
    readiness: Readiness,
    inbuf: Vec<u8>,
    body: Vec<u8>,
    /// The response side: output buffer, the request being answered.
    reply: Reply,
    /// `inbuf` holds bytes not yet looked at by the parser.
    fresh: bool,
    /// First byte of the request being read.
    head_started: Option<Instant>,
    last_io: Instant,
    linger_after: bool,
    /// Responses completed on this connection.
    served: u32,
    /// The last request answered 504, whose cancel handle may still arrive.
    timed_out: Option<u64>,
    _open: GaugeGuard,
}

enum ReadResult {
    Data,
    Eof,
    NotNow,
    Failed,
}

/// What writing pending output achieved.
enum Flush {
    /// Bytes went out.
    Moved,
    /// Nothing to write, or the socket would not take more.
    Stalled,
    /// The socket failed: the connection is over.
    Failed,
}

enum Parsed {
    NeedMore,
    Request(Request),
    Responded,
}

impl Conn {
    pub fn new(sock: TcpStream, peer: SocketAddr, now: Instant) -> Conn {
        Conn {
            sock,
            peer,
            up: None,
            state: State::ReadingHead,
            // Optimistic: a fresh socket can be written, and may already hold bytes.
            readiness: Readiness::new(Ready::BOTH),
            inbuf: Vec::new(),
            body: Vec::new(),
            reply: Reply::default(),
            fresh: false,
            head_started: None,
            last_io: now,
            linger_after: false,
            served: 0,
            timed_out: None,
            _open: GaugeGuard::new(&metrics::get().client_connections),
        }
    }

    pub fn on_event(&mut self, ev: &Event) {
        self.readiness.on_event(ev);
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The upstream connection serving the current request, if any.
    pub fn upstream(&self) -> Option<usize> {
        self.up
    }

    /// Takes the socket out of the poll (the connection is being dropped).
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.sock);
    }

    /// The current request's id (`-` between requests).
    pub fn request_id(&self) -> &str {
        self.reply.request_id()
    }

    /// The request was routed: count it per service and as in flight; with
    /// `worker_lines`, log the worker `start` line a worker would have.
    pub fn routed(&mut self, counts: Arc<StatusCounts>, worker_lines: bool, access: &mut AccessLog) {
        self.reply.routed(counts, worker_lines, access);
    }

    /// Queues a whole response to the current request and logs it.
    pub fn respond(&mut self, resp: Response, env: &mut Env) {
        self.up = None;
        self.reply.respond(resp, self.peer, env);
        self.state = State::Writing;
    }

    /// Starts a streamed response (see `Reply::stream_head`).
    pub fn stream_head<'h>(
        &mut self,
        status: u16,
        headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
        length: Option<u64>,
        env: &mut Env,
    ) {
        self.reply.stream_head(status, headers, length, env);
    }

    /// Appends body bytes of the streamed response.
    pub fn stream_data(&mut self, data: &[u8]) {
        self.reply.stream_data(data);
    }

    /// The streamed response is complete: end it, log it, write it out.
    pub fn stream_end(&mut self, env: &mut Env) {
        self.up = None;
        if self.reply.stream_end(self.peer, env) {
            self.state = State::Writing;
        }
    }

    /// Between requests with nothing buffered, after at least one answered:
    /// safe to close when draining. A connection that has not sent its first
    /// request yet is not idle: its client may have written the request a
    /// moment ago, and closing it now would answer that request with nothing.
    pub fn is_idle(&self) -> bool {
        self.served > 0 && matches!(self.state, State::ReadingHead) && self.inbuf.is_empty() && self.reply.flushed()
    }

    /// Output bytes not yet accepted by the socket.
    pub fn out_pending(&self) -> usize {
        self.reply.unsent_len()
    }

    /// Runs the state machine as far as the socket and buffers allow.
    pub fn drive(&mut self, env: &mut Env) -> Outcome {
        loop {
            let mut progressed = match self.flush_output(env.now) {
                Flush::Moved => true,
                Flush::Stalled => false,
                Flush::Failed => self.close(),
            };
            if self.reply.flushed() && matches!(self.state, State::Writing) {
                self.response_sent(env.now);
                progressed = true;
            }
            if matches!(self.state, State::Closed) {
                return Outcome::Closed;
            }
            if self.fresh {
                self.fresh = false;
                match self.parse(env) {
                    Parsed::Request(req) => return Outcome::Dispatch(Box::new(req)),
                    Parsed::Responded => progressed = true,
                    // Parsing may have queued output (an interim 100 Continue);
                    // the socket is already writable, so no new edge will come
                    // to flush it: loop once more instead of waiting.
                    Parsed::NeedMore => progressed |= !self.reply.flushed(),
                }
            }
            match self.read_input(env.now) {
                ReadResult::Data => progressed = true,
                ReadResult::Eof => {
                    if !matches!(self.state, State::Lingering { .. }) && !self.inbuf.is_empty() {
                        log::debug!(target: "balancer", "{}: closed in the middle of a request", self.peer);
                    }
                    self.close();
                }
                ReadResult::Failed => {
                    self.close();
                }
                ReadResult::NotNow => {}
            }
            if !progressed && !matches!(self.state, State::Closed) {
                return Outcome::Idle;
            }
        }
    }

    fn close(&mut self) -> bool {
        self.state = State::Closed;
        true
    }

    /// Gives up on the connection (an upstream broke in the middle of a
    /// streamed response: the client must see the truncation).
    pub fn abort(&mut self) {
        self.up = None;
        self.state = State::Closed;
    }

    /// The request was handed to a worker as `seq`.
    pub fn wait(&mut self, seq: u64, deadline: Instant) {
        self.state = State::Waiting { seq, deadline, cancel: None };
    }

    /// An upstream connection of the loop now produces the response.
    pub fn proxying(&mut self, up: usize) {
        self.up = Some(up);
        self.state = State::Proxying;
    }

    /// Keeps the way to forget call `seq` while we wait for it. If `seq` already
    /// timed out (the handle arrived late), hands it back to be run now.
    pub fn set_cancel(&mut self, seq: u64, c: Cancel) -> Option<Cancel> {
        match &mut self.state {
            State::Waiting { seq: s, cancel, .. } if *s == seq => {
                *cancel = Some(c);
                None
            }
            _ if self.timed_out == Some(seq) => Some(c),
            _ => None,
        }
    }

    /// The reply for `seq` arrived; false if nobody is waiting for it any more.
    pub fn complete(&mut self, seq: u64, resp: Response, env: &mut Env) -> bool {
        match &self.state {
            State::Waiting { seq: s, .. } if *s == seq => {
                self.respond(resp, env);
                true
            }
            _ => false,
        }
    }

    /// Checks the timers; returns a cancel to run on a worker, if a call timed out.
    /// `changed` tells the caller to drive the connection.
    pub fn tick(&mut self, env: &mut Env) -> (bool, Option<Cancel>) {
        let now = env.now;
        let lim = env.limits;
        let since_io = now.saturating_duration_since(self.last_io);
        let quiet = self.reply.flushed();
        match &mut self.state {
            State::ReadingHead => match self.head_started {
                Some(t) if now.saturating_duration_since(t) >= lim.header_timeout => {
                    metrics::get().timeout(Timeout::Header);
                    let ms = lim.header_timeout.as_millis();
                    self.fail(408, &format!("request head not received within {ms} ms"), env);
                    (true, None)
                }
                // A connection that never sent a byte gets the header timeout,
                // not the keep-alive one: holding sockets open costs nothing
                // to an attacker and a descriptor to us.
                None if quiet && ((env.draining && self.served > 0) || since_io >= self.idle_limit(&lim)) => {
                    if !env.draining {
                        metrics::get().timeout(Timeout::Idle);
                    }
                    (self.close(), None)
                }
                _ => (false, None),
            },
            State::ReadingBody { .. } if since_io >= lim.header_timeout => {
                metrics::get().timeout(Timeout::Body);
                let ms = lim.header_timeout.as_millis();
                self.fail(408, &format!("request body stalled for {ms} ms"), env);
                (true, None)
            }
            State::Waiting { seq, deadline, cancel } if now >= *deadline => {
                metrics::get().timeout(Timeout::Response);
                self.timed_out = Some(*seq);
                let cancel = cancel.take();
                let msg = format!("no reply from upstream within {} ms", lim.upstream_timeout.as_millis());
                let _jid = self.reply.current_id().map(JobScope::enter);
                log::warn!(target: "balancer", "{}: {msg}; answering 504", self.peer);
                self.respond(Response::error(504, &msg), env);
                (true, cancel)
            }
            State::Writing if since_io >= lim.idle_timeout => (self.close(), None),
            State::Lingering { until, .. } if now >= *until => (self.close(), None),
            _ => (false, None),
        }
    }

    fn idle_limit(&self, lim: &Limits) -> Duration {
        if self.served == 0 {
            lim.header_timeout
        } else {
            lim.idle_timeout
        }
    }

    /// Answers a request we refuse, then closes.
    fn fail(&mut self, status: u16, reason: &str, env: &mut Env) {
        log::info!(target: "balancer", "{}: {reason}; answering {status} and closing", self.peer);
        if !self.reply.has_current() {
            let started = self.head_started.unwrap_or(env.now);
            let request_id = proto::ids::new_request_id();
            self.reply.begin(Current::refused(first_line(&self.inbuf), request_id, started));
        }
        self.reply.close_after();
        self.linger_after = true;
        self.inbuf.clear();
        self.respond(Response::error(status, reason), env);
    }

    fn parse(&mut self, env: &mut Env) -> Parsed {
        if matches!(self.state, State::ReadingHead) {
            if self.inbuf.is_empty() {
                return Parsed::NeedMore;
            }
            let (head, n) = match http1::parse_head(&self.inbuf) {
                Ok(Some(found)) => found,
                Ok(None) => return Parsed::NeedMore,
                Err(e) => {
                    self.fail(e.status(), &e.to_string(), env);
                    return Parsed::Responded;
                }
            };
            self.inbuf.drain(..n);
            let request_id = match head.header("x-request-id") {
                Some(v) if proto::ids::is_valid_request_id(v) => String::from_utf8_lossy(v).into_owned(),
                _ => proto::ids::new_request_id(),
            };
            let started = self.head_started.unwrap_or(env.now);
            self.reply.begin(Current::of(&head, request_id, started));
            let Some(reader) = BodyReader::new(head.body) else {
                self.state = State::Dispatching;
                return Parsed::Request(Request { head, body: Vec::new() });
            };
            if head.expect_continue && self.inbuf.is_empty() {
                self.reply.push_raw(CONTINUE);
            }
            if let http1::BodyKind::Length(n) = head.body {
                self.body.reserve(n.min(BODY_INPUT));
            }
            self.state = State::ReadingBody { head, reader };
        }
        let State::ReadingBody { reader, .. } = &mut self.state else {
            return Parsed::NeedMore;
        };
        match reader.feed(&self.inbuf, &mut self.body, MAX_BODY) {
            Ok((n, done)) => {
                self.inbuf.drain(..n);
                if !done {
                    return Parsed::NeedMore;
                }
            }
            Err(e) => {
                self.fail(e.status(), &e.to_string(), env);
                return Parsed::Responded;
            }
        }
        let State::ReadingBody { head, .. } = std::mem::replace(&mut self.state, State::Dispatching) else {
            return Parsed::NeedMore;
        };
        Parsed::Request(Request { head, body: std::mem::take(&mut self.body) })
    }

    /// How much input we are willing to hold in this state (0: do not read).
    fn read_cap(&self) -> usize {
        match self.state {
            State::ReadingHead => MAX_HEAD + 1,
            State::ReadingBody { .. } | State::Lingering { .. } => BODY_INPUT,
            _ => 0,
        }
    }

    fn read_input(&mut self, now: Instant) -> ReadResult {
        let cap = self.read_cap();
        self.readiness.want(Ready::READ, self.inbuf.len() < cap);
        if !self.readiness.can(Ready::READ) {
            return ReadResult::NotNow;
        }
        let want = READ_CHUNK.min(cap - self.inbuf.len());
        if matches!(self.state, State::Lingering { .. }) {
            self.inbuf.clear();
        }
        match self.readiness.read(&mut self.sock, &mut self.inbuf, want) {
            Ok(0) => ReadResult::Eof,
            Ok(n) => {
                self.last_io = now;
                if let State::Lingering { discarded, .. } = &mut self.state {
                    self.inbuf.clear();
                    *discarded += n;
                    if *discarded > LINGER_BYTES {
                        return ReadResult::Eof;
                    }
                    return ReadResult::Data;
                }
                if matches!(self.state, State::ReadingHead) && self.inbuf.len() == n {
                    self.head_started.get_or_insert(now);
                }
                self.fresh = true;
                ReadResult::Data
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => ReadResult::NotNow,
            Err(e) if e.kind() == ErrorKind::Interrupted => ReadResult::Data,
            Err(e) => {
                log::debug!(target: "balancer", "{}: read: {e}", self.peer);
                ReadResult::Failed
            }
        }
    }

    /// Writes pending output.
    fn flush_output(&mut self, now: Instant) -> Flush {
        let mut moved = Flush::Stalled;
        self.readiness.want(Ready::WRITE, !self.reply.flushed());
        while !self.reply.flushed() && self.readiness.can(Ready::WRITE) {
            match self.readiness.write_vectored(&mut self.sock, &self.reply.unsent()) {
                Ok(0) => return Flush::Failed,
                Ok(n) => {
                    self.reply.advance(n);
                    self.last_io = now;
                    moved = Flush::Moved;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => {
                    log::debug!(target: "balancer", "{}: write: {e}", self.peer);
                    return Flush::Failed;
                }
            }
        }
        self.reply.compact();
        moved
    }

    /// The whole response is on the wire: close, or wait for the next request.
    fn response_sent(&mut self, now: Instant) {
        self.served = self.served.saturating_add(1);
        if self.reply.closes() {
            // Unread input (a pipelined request we will not serve) would turn
            // our close into a reset that can destroy the response in flight.
            if self.linger_after || !self.inbuf.is_empty() {
                let _ = self.sock.shutdown(Shutdown::Write);
                self.state = State::Lingering { until: now + LINGER, discarded: 0 };
            } else {
                self.state = State::Closed;
            }
            return;
        }
        self.state = State::ReadingHead;
        if self.body.capacity() > BODY_INPUT {
            self.body = Vec::new();
        }
        self.last_io = now;
        self.head_started = (!self.inbuf.is_empty()).then_some(now);
        self.fresh = !self.inbuf.is_empty();
    }
}

/// The request line for the access log of a request that never parsed.
fn first_line(buf: &[u8]) -> String {
    let end = buf.iter().position(|&c| c == b'\r' || c == b'\n').unwrap_or(buf.len()).min(200);
    let line = String::from_utf8_lossy(&buf[..end]);
    if line.split(' ').count() == 3 && !line.is_empty() {
        line.into_owned()
    } else {
        "-".to_string()
    }
}
