//! Answering a client connection's current request: the response side of
//! `conn.rs`'s state machine.
//!
//! A response arrives in one of two shapes. A worker's reply (RPC services,
//! the catalog, the status page) or one of our own errors is whole and is
//! queued by `respond`. A static HTTP upstream's reply is streamed by the
//! event loop: `stream_head` rewrites the upstream's head (our framing, our
//! `Connection`, the request id; its hop-by-hop headers dropped),
//! `stream_data` appends body pieces (re-chunked when the length is
//! unknown and the client speaks HTTP/1.1, delimited by close for HTTP/1.0),
//! and `stream_end` finishes it. Either way the connection then writes the
//! output and goes on with the next request or closes.
//!
//! Every response is accounted for exactly once, in `finish`: the counters
//! per service and status, the latency histogram, the access-log line, and
//! for requests the loop proxied itself the worker `done` line. The request
//! stays counted as in flight for as long as its `Current` lives.

use crate::edge::conn::{Conn, Env, State};
use crate::http1::{self, OutFraming, Response};
use crate::ops::access_log::{AccessLog, Entry};
use crate::ops::metrics::{self, GaugeGuard, StatusCounts};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The request being served, for its response, metrics and access-log line.
pub(crate) struct Current {
    pub(crate) request_line: String,
    pub(crate) keep_alive: bool,
    pub(crate) is_head: bool,
    pub(crate) minor: u8,
    pub(crate) request_id: String,
    pub(crate) started: Instant,
    /// The route's per-status counters (None: answered before routing).
    pub(crate) counts: Option<Arc<StatusCounts>>,
    /// Counts the request in `requests_in_flight` while it is routed.
    pub(crate) _flight: Option<GaugeGuard>,
    /// The loop logged a worker `start` line, so it owes a `done` line.
    pub(crate) worker_lines: bool,
}

/// A response being streamed.
pub(crate) struct Stream {
    pub(crate) status: u16,
    pub(crate) framing: OutFraming,
    pub(crate) bytes: u64,
}

impl Conn {
    /// The current request's id (`-` between requests).
    pub fn request_id(&self) -> &str {
        self.current.as_ref().map_or("-", |c| c.request_id.as_str())
    }

    /// The request was routed: count it per service and as in flight; with
    /// `worker_lines`, log the worker `start` line a worker would have.
    pub fn routed(&mut self, counts: Arc<StatusCounts>, worker_lines: bool, access: &mut AccessLog) {
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
    pub(crate) fn take_current(&mut self, now: Instant) -> Current {
        self.current.take().unwrap_or_else(|| Current {
            request_line: "-".into(),
            keep_alive: false,
            is_head: false,
            minor: 1,
            request_id: proto::ids::new_request_id(),
            started: now,
            counts: None,
            _flight: None,
            worker_lines: false,
        })
    }

    /// Queues a whole response to the current request and logs it.
    pub fn respond(&mut self, resp: Response, env: &mut Env<'_>) {
        self.up = None;
        self.stream = None;
        let cur = self.take_current(env.now);
        let keep = cur.keep_alive && !self.close_after && !env.draining;
        let bytes = http1::write_response(&mut self.out, &resp, &cur.request_id, keep, cur.is_head);
        finish(&cur, resp.status, bytes as u64, self.peer, env);
        self.close_after |= !keep;
        self.state = State::Writing;
    }

    /// Starts a streamed response: writes the head with the upstream's
    /// end-to-end headers. `length` is the upstream's Content-Length when its
    /// body is delimited by one (None: chunked or until close).
    pub fn stream_head<'h>(
        &mut self,
        status: u16,
        headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
        length: Option<u64>,
        env: &mut Env<'_>,
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
        let id = self.current.as_ref().map(|c| c.request_id.as_str()).unwrap_or("-");
        http1::write_head(&mut self.out, status, headers, announce, keep, id);
        self.close_after |= !keep;
        self.stream = Some(Stream { status, framing, bytes: 0 });
    }

    /// Appends body bytes of the streamed response.
    pub fn stream_data(&mut self, data: &[u8]) {
        let Some(st) = self.stream.as_mut() else { return };
        match st.framing {
            OutFraming::Length(_) | OutFraming::Close => self.out.extend_from_slice(data),
            OutFraming::Chunked => http1::push_chunk(&mut self.out, data),
            OutFraming::None => return,
        }
        st.bytes += data.len() as u64;
    }

    /// The streamed response is complete: end it, log it, write it out.
    pub fn stream_end(&mut self, env: &mut Env<'_>) {
        self.up = None;
        let Some(st) = self.stream.take() else { return };
        if st.framing == OutFraming::Chunked {
            self.out.extend_from_slice(b"0\r\n\r\n");
        }
        let cur = self.take_current(env.now);
        finish(&cur, st.status, st.bytes, self.peer, env);
        self.state = State::Writing;
    }
}

/// Accounts for one response: metrics, access log, the worker `done` line.
fn finish(cur: &Current, status: u16, bytes: u64, peer: SocketAddr, env: &mut Env<'_>) {
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
