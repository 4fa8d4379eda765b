//! One connection to a static HTTP upstream, driven by the event loop.
//!
//! ```text
//!   Connecting ──▶ Sending ──▶ Head ──▶ Body (relay) ──▶ Idle (pooled) ──▶ Sending …
//!        │            │          │           │
//!        └────────────┴──────────┴───────────┴──▶ closed (error, or not reusable)
//! ```
//!
//! The request is serialized whole into `out` (head and the already
//! decoded, length-delimited body) and written as the socket allows. The
//! response head is parsed with httparse as strictly as a request head:
//! bounded size, one consistent Content-Length, Transfer-Encoding only with
//! chunked last, 1xx interim responses skipped, no protocol switch. Then the
//! body is relayed to the client connection piece by piece through
//! `Conn::stream_data`: Content-Length bodies are copied as they come,
//! chunked ones are decoded (and re-chunked by the client side, which also
//! drops trailers), close-delimited ones run to EOF. Nothing holds a whole
//! response; when the client's output passes a high-water mark the relay
//! stops reading, and TCP pushes back on the upstream.
//!
//! `pump` reports what happened in terms the loop can act on without
//! knowing the details: still pending; done (and whether the connection can
//! be pooled); failed before the client saw anything (so the loop may retry
//! or answer an error status); broken after the response began (so the
//! client connection has to be closed to signal the truncation).
//!
//! Readiness bookkeeping is the client side's (`edge/readiness.rs`): the
//! socket is registered once, edge-triggered, for both directions; each
//! state wants one direction (the write side while connecting and sending,
//! the read side after).

use crate::edge::conn::Conn;
use crate::edge::env::Env;
use crate::edge::readiness::{Readiness, Ready, READ_CHUNK};
use crate::http1::ChunkedDecoder;
use crate::http1::{self, Request};
use crate::ops::metrics::{self, GaugeGuard};
use mio::event::Event;
use mio::net::TcpStream;
use registry_agent::policy::Idempotency;
use std::io::ErrorKind;
use std::time::Instant;

/// Largest response head accepted from an upstream.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_RESPONSE_HEADERS: usize = 128;
/// Stop reading the upstream while this much output waits for the client.
const HIGH_WATER: usize = 256 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("no response within the deadline")]
    Timeout,
    #[error("connection closed before a response (request fully written: {written})")]
    Closed { written: bool },
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("malformed response: {0}")]
    Malformed(&'static str),
}

/// What `pump` achieved.
pub enum Pump {
    /// Waiting for the socket (or for the client to drain); `progressed`
    /// means output was added to the client connection.
    Pending { progressed: bool },
    /// The response is complete.
    Done { reusable: bool },
    /// Failed before any response reached the client.
    Failed(UpError),
    /// Failed after the response head was sent to the client.
    Broken(UpError),
}

/// One request in flight on an upstream connection.
pub struct Exchange {
    /// The client connection's index in the loop.
    pub client: usize,
    /// Kept until the response head arrives, to retry elsewhere if needed.
    pub req: Option<Box<Request>>,
    pub client_addr: std::net::SocketAddr,
    /// When the client side answers 504 for us.
    pub deadline: Instant,
    pub attempts: u32,
    /// Backends already tried (bit `i % 64`).
    pub tried: u64,
    pub idempotency: Idempotency,
    /// When the current attempt was sent, and when it is hedged elsewhere if
    /// no response head has come (`policy::per_try_timeout`).
    pub sent: Instant,
    pub per_try: Option<Instant>,
    pub is_head: bool,
    /// Some connect attempt timed out (so "nothing reachable" is a 504).
    pub connect_timed_out: bool,
    /// An attempt was abandoned at its per-try timeout (so "nothing else
    /// reachable" is the slow upstream's 504).
    pub abandoned_slow: bool,
    /// A pooled connection turned out to be stale: its siblings may be
    /// too, so the next attempt dials a fresh one.
    pub fresh_only: bool,
}

enum UpState {
    Connecting,
    Sending,
    Head,
    Body(Relay),
    Idle,
}

enum Relay {
    Length(u64),
    Chunked(ChunkedDecoder),
    Close,
}

pub struct UpConn {
    pub sock: TcpStream,
    pub backend: usize,
    state: UpState,
    readiness: Readiness,
    out: Vec<u8>,
    out_pos: usize,
    inbuf: Vec<u8>,
    scratch: Vec<u8>,
    pub job: Option<Exchange>,
    /// Counts the exchange in its backend's in-flight number.
    flight: Option<GaugeGuard>,
    /// It has carried a response before: the pooled-connection race applies.
    pub reused: bool,
    /// The upstream agreed to keep the connection open after this response.
    keep: bool,
    pub last_io: Instant,
    /// While connecting: when to give up.
    pub connect_deadline: Option<Instant>,
    /// When the request was fully written (the start of the RTT sample).
    pub sent_at: Instant,
    /// From `sent_at` to the response head: the latency sample.
    pub rtt: std::time::Duration,
    _open: GaugeGuard,
}

impl UpConn {
    /// A connection being dialed (non-blocking connect in progress).
    pub fn connecting(sock: TcpStream, backend: usize, now: Instant, connect_deadline: Instant) -> UpConn {
        UpConn {
            sock,
            backend,
            state: UpState::Connecting,
            readiness: Readiness::new(Ready::default()),
            out: Vec::new(),
            out_pos: 0,
            inbuf: Vec::new(),
            scratch: Vec::new(),
            job: None,
            flight: None,
            reused: false,
            keep: false,
            last_io: now,
            connect_deadline: Some(connect_deadline),
            sent_at: now,
            rtt: std::time::Duration::ZERO,
            _open: GaugeGuard::new(&metrics::get().upstream_connections),
        }
    }

    pub fn on_event(&mut self, ev: &Event) {
        self.readiness.on_event(ev);
    }

    /// A pooled connection got an event. Ok if it is still open and quiet
    /// (the event was stale); anything else means it cannot be reused.
    pub fn still_quiet(&mut self) -> bool {
        if !self.readiness.event.contains(Ready::READ) {
            return true;
        }
        let mut b = [0u8; 1];
        match self.sock.peek(&mut b) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.readiness.blocked(Ready::READ);
                true
            }
            _ => false,
        }
    }

    pub fn is_connecting(&self) -> bool {
        matches!(self.state, UpState::Connecting)
    }

    /// Whether the response head has been read.
    pub fn responding(&self) -> bool {
        matches!(self.state, UpState::Body(_))
    }

    /// The buffer to serialize the next request into (emptied).
    pub fn request_buffer(&mut self) -> &mut Vec<u8> {
        self.out.clear();
        self.out_pos = 0;
        &mut self.out
    }

    /// Takes on `job`, whose request is in `request_buffer`.
    pub fn start(&mut self, job: Exchange, flight: GaugeGuard, now: Instant) {
        self.inbuf.clear();
        self.job = Some(job);
        self.flight = Some(flight);
        self.keep = false;
        self.last_io = now;
        if !matches!(self.state, UpState::Connecting) {
            self.state = UpState::Sending;
        }
    }

    /// The exchange is over (done or failed): forget it; the connection is
    /// ready for the pool if `reusable`.
    pub fn finish(&mut self, now: Instant) -> Option<Exchange> {
        self.flight = None;
        self.state = UpState::Idle;
        self.reused = true;
        self.last_io = now;
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        if self.inbuf.capacity() > 64 * 1024 {
            self.inbuf = Vec::new();
        }
        self.job.take()
    }

    /// Runs the exchange as far as the socket and the client's buffer allow.
    pub fn pump(&mut self, conn: &mut Conn, env: &mut Env) -> Pump {
        let mut progressed = false;
        loop {
            match &mut self.state {
                UpState::Idle => return Pump::Pending { progressed },
                UpState::Connecting => {
                    self.readiness.interest = Ready::WRITE;
                    if !self.readiness.can(Ready::WRITE) {
                        return Pump::Pending { progressed };
                    }
                    match self.sock.take_error() {
                        Ok(Some(e)) | Err(e) => return Pump::Failed(UpError::Connect(e)),
                        Ok(None) => {}
                    }
                    match self.sock.peer_addr() {
                        Ok(_) => {
                            self.connect_deadline = None;
                            self.state = UpState::Sending;
                        }
                        Err(e) if e.kind() == ErrorKind::NotConnected => {
                            self.readiness.blocked(Ready::WRITE);
                            return Pump::Pending { progressed };
                        }
                        Err(e) => return Pump::Failed(UpError::Connect(e)),
                    }
                }
                UpState::Sending => {
                    self.readiness.interest = Ready::WRITE;
                    while self.out_pos < self.out.len() {
                        if !self.readiness.can(Ready::WRITE) {
                            return Pump::Pending { progressed };
                        }
                        match self.readiness.write(&mut self.sock, &self.out[self.out_pos..]) {
                            Ok(0) => return Pump::Failed(UpError::Closed { written: false }),
                            Ok(n) => self.out_pos += n,
                            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                            Err(_) => return Pump::Failed(UpError::Closed { written: false }),
                        }
                    }
                    self.out.clear();
                    self.out_pos = 0;
                    self.sent_at = env.now;
                    self.last_io = env.now;
                    self.readiness.interest = Ready::READ;
                    self.state = UpState::Head;
                }
                UpState::Head => {
                    if !self.inbuf.is_empty() {
                        match self.head(conn, env) {
                            Ok(true) => {
                                progressed = true;
                                continue;
                            }
                            Ok(false) => {}
                            Err(e) => return Pump::Failed(e),
                        }
                    }
                    if self.inbuf.len() > MAX_RESPONSE_HEAD {
                        return Pump::Failed(UpError::Malformed("response head too large"));
                    }
                    match self.read(env.now) {
                        Ok(Some(_)) => {}
                        Ok(None) => return Pump::Pending { progressed },
                        Err(UpError::Closed { .. }) if !self.inbuf.is_empty() => {
                            return Pump::Failed(UpError::Malformed("closed inside the head"))
                        }
                        Err(e) => return Pump::Failed(e),
                    }
                }
                UpState::Body(relay) => {
                    let done = match relay {
                        Relay::Length(left) => {
                            let take = (*left).min(self.inbuf.len() as u64) as usize;
                            if take > 0 {
                                conn.stream_data(&self.inbuf[..take]);
                                self.inbuf.drain(..take);
                                *left -= take as u64;
                                progressed = true;
                            }
                            *left == 0
                        }
                        Relay::Chunked(dec) => {
                            self.scratch.clear();
                            let n = match dec.feed(&self.inbuf, &mut self.scratch, usize::MAX) {
                                Ok(n) => n,
                                Err(_) => return Pump::Broken(UpError::Malformed("bad chunked body")),
                            };
                            self.inbuf.drain(..n);
                            if !self.scratch.is_empty() {
                                conn.stream_data(&self.scratch);
                                progressed = true;
                            }
                            dec.is_done()
                        }
                        Relay::Close => {
                            if !self.inbuf.is_empty() {
                                conn.stream_data(&self.inbuf);
                                self.inbuf.clear();
                                progressed = true;
                            }
                            false
                        }
                    };
                    if done {
                        // Bytes beyond the response: the upstream cannot be trusted with another.
                        let reusable = self.keep && !self.readiness.hup && self.inbuf.is_empty();
                        conn.stream_end(env);
                        return Pump::Done { reusable };
                    }
                    if conn.out_pending() >= HIGH_WATER {
                        return Pump::Pending { progressed };
                    }
                    match self.read(env.now) {
                        Ok(Some(_)) => {}
                        Ok(None) => return Pump::Pending { progressed },
                        Err(UpError::Closed { .. }) if matches!(self.state, UpState::Body(Relay::Close)) => {
                            conn.stream_end(env);
                            return Pump::Done { reusable: false };
                        }
                        Err(UpError::Closed { .. }) => {
                            return Pump::Broken(UpError::Malformed("closed inside the body"))
                        }
                        Err(e) => return Pump::Broken(e),
                    }
                }
            }
        }
    }

    /// Reads into `inbuf`: Some(n) bytes, None for "not now", or the error
    /// (EOF is `Closed`).
    fn read(&mut self, now: Instant) -> Result<Option<usize>, UpError> {
        if !self.readiness.can(Ready::READ) {
            return Ok(None);
        }
        match self.readiness.read(&mut self.sock, &mut self.inbuf, READ_CHUNK) {
            Ok(0) => Err(UpError::Closed { written: true }),
            Ok(n) => {
                self.last_io = now;
                Ok(Some(n))
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(Some(0)),
            Err(e)
                if self.inbuf.is_empty() && matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) =>
            {
                Err(UpError::Closed { written: true })
            }
            Err(e) => Err(UpError::Io(e)),
        }
    }

    /// Parses the response head if it is complete; Ok(true) once the client
    /// has been given the head (the state is then `Body`, or the exchange
    /// is done and the state says so through an empty `Length(0)` relay).
    fn head(&mut self, conn: &mut Conn, env: &mut Env) -> Result<bool, UpError> {
        let is_head = self.job.as_ref().is_some_and(|j| j.is_head);
        loop {
            let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            let mut r = httparse::Response::new(&mut fields);
            let n = match r.parse(&self.inbuf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(false),
                Err(httparse::Error::TooManyHeaders) => return Err(UpError::Malformed("too many header fields")),
                Err(_) => return Err(UpError::Malformed("unparsable head")),
            };
            let status = r.code.unwrap_or(0);
            if status == 101 {
                return Err(UpError::Malformed("protocol switch (101) is not supported"));
            }
            if (100..200).contains(&status) {
                self.inbuf.drain(..n);
                continue;
            }
            if !(200..=599).contains(&status) {
                return Err(UpError::Malformed("status out of range"));
            }
            let f = framing(r.headers)?;
            let no_body = is_head || http1::bodiless(status);
            let relay = if no_body {
                Relay::Length(0)
            } else if f.chunked {
                Relay::Chunked(ChunkedDecoder::new())
            } else if f.other_coding {
                Relay::Close
            } else if let Some(n) = f.length {
                Relay::Length(n)
            } else {
                Relay::Close
            };
            let announced = match relay {
                Relay::Length(n) if !no_body => Some(n),
                _ if is_head => f.length,
                _ => None,
            };
            let minor = r.version.unwrap_or(1);
            self.keep = !matches!(relay, Relay::Close) && !f.close && (minor == 1 || f.keep_alive);
            let headers = r.headers.iter().map(|h| (h.name, h.value));
            conn.stream_head(status, headers, announced, env);
            self.rtt = env.now.saturating_duration_since(self.sent_at);
            self.inbuf.drain(..n);
            self.state = UpState::Body(relay);
            if let Some(job) = self.job.as_mut() {
                job.req = None;
            }
            return Ok(true);
        }
    }
}

/// The body framing an upstream's response head announces.
struct Framing {
    length: Option<u64>,
    chunked: bool,
    /// A transfer coding other than a final `chunked`: read until close.
    other_coding: bool,
    close: bool,
    keep_alive: bool,
}

fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, UpError> {
    let mut f = Framing { length: None, chunked: false, other_coding: false, close: false, keep_alive: false };
    let mut te = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = http1::parse_length(h.value).map_err(|_| UpError::Malformed("bad Content-Length"))?;
            if f.length.is_some_and(|m| m != n) {
                return Err(UpError::Malformed("conflicting Content-Length"));
            }
            f.length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            te = true;
            let last = h.value.split(|&c| c == b',').map(<[u8]>::trim_ascii).rfind(|t| !t.is_empty());
            f.chunked = last.is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for t in h.value.split(|&c| c == b',').map(<[u8]>::trim_ascii) {
                f.close |= t.eq_ignore_ascii_case(b"close");
                f.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    if te {
        // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a
        // connection that carried both is not trusted with another message.
        f.close |= f.length.is_some();
        f.length = None;
        f.other_coding = !f.chunked;
    }
    Ok(f)
}

#[cfg(test)]
#[path = "../../../tests/unit/upstream/http/upconn.rs"]
mod tests;
