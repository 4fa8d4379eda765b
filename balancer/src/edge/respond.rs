//! Answering a client connection's current request: the response side of
//! `conn.rs`'s state machine, which owns a [`Reply`] and tells it what to
//! send; the reply owns the output buffer and the request being answered.
//!
//! A response arrives in one of two shapes. A worker's reply (RPC services,
//! the catalog, the status page) or one of our own errors is whole and is
//! queued by `respond`. A static HTTP upstream's reply is streamed by the
//! event loop: `stream_head` rewrites the upstream's head (our framing, our
//! `Connection`, the request id; its hop-by-hop headers dropped),
//! `stream_data` appends body pieces (re-chunked when the length is
//! unknown and the client speaks HTTP/1.1, delimited by close for HTTP/1.0),
//! and `stream_end` finishes it. Either way the connection then writes the
//! output (`unsent` / `advance`) and goes on with the next request or closes.
//!
//! Every response is accounted for exactly once, in `finish`: the counters
//! per service and status, the latency histogram, the access-log line, and
//! for requests the loop proxied itself the worker `done` line. The request
//! stays counted as in flight for as long as its `Current` lives.

use crate::edge::env::Env;
use crate::http1::{self, Head, OutFraming, Response};
use crate::ops::access_log::{AccessLog, Entry};
use crate::ops::metrics::{self, GaugeGuard, StatusCounts};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The request being served, for its response, metrics and access-log line.
pub(crate) struct Current {
    request_line: String,
    keep_alive: bool,
    is_head: bool,
    minor: u8,
    request_id: String,
    started: Instant,
    /// The route's per-status counters (None: answered before routing).
    counts: Option<Arc<StatusCounts>>,
    /// Counts the request in `requests_in_flight` while it is routed.
    _flight: Option<GaugeGuard>,
    /// The loop logged a worker `start` line, so it owes a `done` line.
    worker_lines: bool,
}

impl Current {
    /// A request we answer without having parsed it (its connection closes).
    pub(crate) fn refused(request_line: String, request_id: String, started: Instant) -> Current {
        let (keep_alive, is_head, minor) = (false, false, 1);
        let (counts, _flight, worker_lines) = (None, None, false);
        Current { request_line, keep_alive, is_head, minor, request_id, started, counts, _flight, worker_lines }
    }

    /// The request `head` starts.
    pub(crate) fn of(head: &Head, request_id: String, started: Instant) -> Current {
        Current {
            keep_alive: head.keep_alive,
            is_head: head.is_head(),
            minor: head.minor,
            ..Current::refused(head.request_line(), request_id, started)
        }
    }
}

/// Bodies shorter than this are copied behind their head (one write of
/// both); longer ones are sent from their own buffer ([`Reply::respond`]).
const COPY_BELOW: usize = 4096;

/// A response being streamed.
struct Stream {
    status: u16,
    framing: OutFraming,
    bytes: u64,
}

/// The response side of one client connection.
#[derive(Default)]
pub(crate) struct Reply {
    out: Vec<u8>,
    out_pos: usize,
    /// A whole response's body, sent after `out` as it came from upstream
    /// instead of being copied behind its head (a page is tens of KiB, and
    /// the copy was the loop's largest cost); see [`Reply::respond`].
    body: bytes::Bytes,
    body_pos: usize,
    current: Option<Current>,
    stream: Option<Stream>,
    /// The connection closes once the response in progress is written.
    close_after: bool,
}

impl Reply {
    /// The current request's id (`-` between requests).
    pub(crate) fn request_id(&self) -> &str {
        self.current.as_ref().map_or("-", |c| c.request_id.as_str())
    }

    /// The current request's id, if there is one.
    pub(crate) fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.request_id.as_str())
    }

    pub(crate) fn has_current(&self) -> bool {
        self.current.is_some()
    }

    /// A request has been read (or refused): the next response answers it.
    pub(crate) fn begin(&mut self, c: Current) {
        self.current = Some(c);
    }

    /// Whether the connection closes after the response in progress.
    pub(crate) fn closes(&self) -> bool {
        self.close_after
    }

    /// The connection closes after the response in progress.
    pub(crate) fn close_after(&mut self) {
        self.close_after = true;
    }

    /// Output not yet accepted by the socket, in order: what `out` holds,
    /// then the body queued after it.
    pub(crate) fn unsent(&self) -> [IoSlice<'_>; 2] {
        [IoSlice::new(&self.out[self.out_pos..]), IoSlice::new(&self.body[self.body_pos..])]
    }

    /// How many bytes [`Reply::unsent`] holds.
    pub(crate) fn unsent_len(&self) -> usize {
        self.out.len() - self.out_pos + self.body.len() - self.body_pos
    }

    /// The socket took `n` more bytes.
    pub(crate) fn advance(&mut self, n: usize) {
        let from_out = n.min(self.out.len() - self.out_pos);
        self.out_pos += from_out;
        self.body_pos += n - from_out;
    }

    /// Everything queued has been written.
    pub(crate) fn flushed(&self) -> bool {
        self.unsent_len() == 0
    }

    /// `out`, to append to: a body still queued behind it is moved into it
    /// first (copied), so whatever is appended goes on the wire after it.
    fn tail(&mut self) -> &mut Vec<u8> {
        self.settle();
        &mut self.out
    }

    /// Moves a body still queued behind `out` into it (see [`Reply::tail`]).
    fn settle(&mut self) {
        if self.body_pos < self.body.len() {
            self.out.extend_from_slice(&self.body[self.body_pos..]);
        }
        self.body = bytes::Bytes::new();
        self.body_pos = 0;
    }

    /// Queues bytes that are not a response (an interim `100 Continue`).
    pub(crate) fn push_raw(&mut self, bytes: &[u8]) {
        self.tail().extend_from_slice(bytes);
    }

    /// After a write: forgets what was written, so a streamed response
    /// that keeps appending does not pile up written bytes, and gives back
    /// a large buffer once it is empty.
    pub(crate) fn compact(&mut self) {
        if self.body_pos == self.body.len() && self.body_pos > 0 {
            self.body = bytes::Bytes::new();
            self.body_pos = 0;
        }
        if self.out_pos == self.out.len() && self.out_pos > 0 {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > 256 * 1024 {
                self.out = Vec::new();
            }
        } else if self.out_pos > 64 * 1024 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// The request was routed: count it per service and as in flight; with
    /// `worker_lines`, log the worker `start` line a worker would have.
    pub(crate) fn routed(&mut self, counts: Arc<StatusCounts>, worker_lines: bool, access: &mut AccessLog) {
        if let Some(cur) = self.current.as_mut() {
            cur.counts = Some(counts);
            cur._flight = Some(GaugeGuard::new(&metrics::local().in_flight));
            if worker_lines {
                cur.worker_lines = true;
                access.worker_line(&cur.request_id, "start");
            }
        }
    }

    /// The current request, or a stand-in for a response to nothing parsed.
    fn take_current(&mut self, now: Instant) -> Current {
        self.current.take().unwrap_or_else(|| Current::refused("-".into(), proto::ids::new_request_id(), now))
    }

    /// Queues a whole response to the current request and logs it.
    pub(crate) fn respond(&mut self, resp: Response, peer: SocketAddr, env: &mut Env) {
        self.stream = None;
        let cur = self.take_current(env.now);
        let keep = cur.keep_alive && !self.close_after && !env.draining;
        let status = resp.status;
        let bytes = self.write(resp, &cur.request_id, keep, cur.is_head);
        finish(&cur, status, bytes as u64, peer, env);
        self.close_after |= !keep;
    }

    /// Queues `resp` (head, then body); returns the body bytes it sends. A
    /// large body is kept as it is, after `out` ([`Reply::body`]).
    fn write(&mut self, resp: Response, request_id: &str, keep: bool, is_head: bool) -> usize {
        let out = self.tail();
        if !http1::write_response_head(out, &resp, request_id, keep, is_head) {
            return 0;
        }
        let bytes = resp.body.len();
        if bytes < COPY_BELOW {
            out.extend_from_slice(&resp.body);
        } else {
            self.body = resp.body;
        }
        bytes
    }

    /// Starts a streamed response: writes the head with the upstream's
    /// end-to-end headers. `length` is the upstream's Content-Length when its
    /// body is delimited by one (None: chunked or until close).
    pub(crate) fn stream_head<'h>(
        &mut self,
        status: u16,
        headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
        length: Option<u64>,
        env: &mut Env,
    ) {
        let (keep_alive, is_head, minor) =
            self.current.as_ref().map(|c| (c.keep_alive, c.is_head, c.minor)).unwrap_or((false, false, 1));
        let (announce, framing) = if is_head {
            (length.map_or(OutFraming::None, OutFraming::Length), OutFraming::None)
        } else if http1::bodiless(status) {
            (OutFraming::None, OutFraming::None)
        } else if let Some(n) = length {
            (OutFraming::Length(n), OutFraming::Length(n))
        } else if minor == 1 {
            (OutFraming::Chunked, OutFraming::Chunked)
        } else {
            (OutFraming::Close, OutFraming::Close)
        };
        let keep = keep_alive && !self.close_after && !env.draining && framing != OutFraming::Close;
        self.settle();
        let id = self.current.as_ref().map(|c| c.request_id.as_str()).unwrap_or("-");
        http1::write_head(&mut self.out, status, headers, announce, keep, id);
        self.close_after |= !keep;
        self.stream = Some(Stream { status, framing, bytes: 0 });
    }

    /// Appends body bytes of the streamed response.
    pub(crate) fn stream_data(&mut self, data: &[u8]) {
        let Some(st) = self.stream.as_mut() else { return };
        let framing = st.framing;
        st.bytes += data.len() as u64;
        match framing {
            OutFraming::Length(_) | OutFraming::Close => self.tail().extend_from_slice(data),
            OutFraming::Chunked => http1::push_chunk(self.tail(), data),
            OutFraming::None => {}
        }
    }

    /// The streamed response is complete: end it and log it; false if no
    /// response was being streamed.
    pub(crate) fn stream_end(&mut self, peer: SocketAddr, env: &mut Env) -> bool {
        let Some(st) = self.stream.take() else { return false };
        if st.framing == OutFraming::Chunked {
            self.tail().extend_from_slice(b"0\r\n\r\n");
        }
        let cur = self.take_current(env.now);
        finish(&cur, st.status, st.bytes, peer, env);
        true
    }
}

/// Accounts for one response: metrics, access log, the worker `done` line.
fn finish(cur: &Current, status: u16, bytes: u64, peer: SocketAddr, env: &mut Env) {
    let secs = env.now.saturating_duration_since(cur.started).as_secs_f64();
    match &cur.counts {
        Some(c) => c.add(status),
        None => metrics::get().service("none").add(status),
    }
    metrics::local().observe(secs);
    env.access.record(&Entry {
        client: peer.ip(),
        request_line: &cur.request_line,
        status,
        bytes: bytes as usize,
        secs,
    });
    if cur.worker_lines {
        env.access.worker_done(&cur.request_id, secs);
    }
}

#[cfg(test)]
#[path = "../../tests/unit/edge/respond.rs"]
mod tests;
