//! Static mode: plain HTTP/1.1 to a fixed list of upstreams.
//!
//! `--upstream http://HOST:PORT` (repeatable) runs the balancer without a
//! registry, as an ordinary reverse proxy: useful for trying it against any
//! HTTP server, for load tests, and for the integration tests, which need no
//! Redis. Every non-catalog request goes to one of the upstreams, chosen like
//! registry instances are (fewest requests in flight, rotating on ties).
//!
//! A worker performs the exchange with blocking sockets — simple, and the
//! pool bounds how many run at once. Connections are kept alive and pooled
//! per upstream. A pooled connection may have been closed by the upstream
//! while idle, so it is checked before use (a non-blocking peek must report
//! "nothing to read yet"), and if it still fails before a single response
//! byte arrives, the request is retried once on a fresh connection when that
//! is safe: the method is idempotent or the request could not be written.
//! Dial failures move on to the next upstream (nothing was sent).
//!
//! Responses are read with the same strictness as requests: a bounded head,
//! Content-Length or chunked framing (or read-to-close), a bounded body. A
//! connection is pooled again only when the response was cleanly delimited
//! and the upstream did not ask to close.

use crate::chunked::ChunkedDecoder;
use crate::config::UpstreamUrl;
use crate::forward;
use crate::http1::{self, Request, Response};
use crate::select::{self, Candidate};
use crate::workers::{Done, RequestJob, Upstream};
use registry_agent::{Descriptor, InstanceRecord};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_IDLE: usize = 64;
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connection closed before a response (write failed: {write_failed})")]
    NoResponse { write_failed: bool },
    #[error("no response within the deadline")]
    Timeout,
    #[error("i/o: {0}")]
    Io(std::io::Error),
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
}

struct Backend {
    url: UpstreamUrl,
    idle: Mutex<Vec<TcpStream>>,
    in_flight: AtomicUsize,
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Backend {
    /// A pooled connection that still looks open.
    fn take_idle(&self) -> Option<TcpStream> {
        loop {
            let s = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            if still_open(&s) {
                return Some(s);
            }
        }
    }

    fn put_idle(&self, s: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(s);
        }
    }
}

/// Open and quiet: a peek would block. EOF or unexpected bytes mean stale.
fn still_open(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let open = matches!(s.peek(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock);
    s.set_nonblocking(false).is_ok() && open
}

pub struct HttpUpstream {
    backends: Vec<Backend>,
    rotate: AtomicUsize,
    connect_timeout: Duration,
}

impl HttpUpstream {
    pub fn new(urls: &[UpstreamUrl], connect_timeout: Duration) -> HttpUpstream {
        HttpUpstream {
            backends: urls
                .iter()
                .map(|u| Backend { url: u.clone(), idle: Mutex::new(Vec::new()), in_flight: AtomicUsize::new(0) })
                .collect(),
            rotate: AtomicUsize::new(0),
            connect_timeout,
        }
    }

    fn exchange_any(&self, job: &RequestJob) -> Response {
        let cands: Vec<Candidate> = self
            .backends
            .iter()
            .map(|b| Candidate { in_flight: b.in_flight.load(Ordering::Relaxed), load: 0 })
            .collect();
        let is_head = job.request.head.is_head();
        let idempotent =
            matches!(job.request.head.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "TRACE");
        let mut last = None;
        for i in select::order(&cands, self.rotate.fetch_add(1, Ordering::Relaxed)) {
            let b = &self.backends[i];
            b.in_flight.fetch_add(1, Ordering::Relaxed);
            let _guard = InFlight(&b.in_flight);
            let wire = serialize(&job.request, job.client, &job.request_id, &b.url.authority);
            loop {
                let (stream, reused) = match b.take_idle() {
                    Some(s) => (s, true),
                    None => match TcpStream::connect_timeout(&b.url.addr, self.connect_timeout) {
                        Ok(s) => (s, false),
                        Err(e) => {
                            log::warn!(target: "balancer", "upstream {}: {e}; trying the next one", b.url.url);
                            last = Some(ExchangeError::Connect(e));
                            break;
                        }
                    },
                };
                match exchange(stream, &wire, is_head, job.deadline) {
                    Ok((resp, keep)) => {
                        if let Some(s) = keep {
                            b.put_idle(s);
                        }
                        return resp;
                    }
                    Err(ExchangeError::NoResponse { write_failed }) if reused && (write_failed || idempotent) => {
                        log::debug!(target: "balancer", "stale pooled connection to {}; retrying", b.url.url);
                    }
                    Err(ExchangeError::Timeout) => {
                        return Response::error(504, "the upstream did not answer in time");
                    }
                    Err(e) => {
                        log::warn!(target: "balancer", "upstream {}: {e}", b.url.url);
                        return Response::error(502, "bad gateway: the upstream failed");
                    }
                }
            }
        }
        let why = last.map(|e| e.to_string()).unwrap_or_else(|| "no upstream configured".into());
        Response::error(502, &format!("no upstream reachable ({why})"))
    }
}

impl Upstream for HttpUpstream {
    fn forward(&self, job: RequestJob, done: Done) {
        let resp = self.exchange_any(&job);
        done.finish(resp);
    }

    fn catalog(&self) -> serde_json::Value {
        let records: Vec<InstanceRecord> = self
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| InstanceRecord {
                service: "upstream".into(),
                id: format!("upstream-{i}"),
                addr: b.url.addr.to_string(),
                pid: 0,
                started_at_ms: 0,
                last_heartbeat_ms: 0,
                ttl_ms: 0,
                load: 0,
                descriptor: Descriptor {
                    name: "Upstream".into(),
                    title: "Static HTTP upstreams".into(),
                    methods: Vec::new(),
                    routes: vec!["* /".into()],
                },
            })
            .collect();
        let mut services = BTreeMap::new();
        services.insert("upstream".to_string(), records);
        let counts: BTreeMap<String, usize> =
            self.backends.iter().map(|b| (b.url.addr.to_string(), b.in_flight.load(Ordering::Relaxed))).collect();
        crate::catalog::build(&services, &|a| counts.get(a).copied().unwrap_or(0), false)
    }
}

/// The request as the upstream receives it.
fn serialize(req: &Request, client: SocketAddr, request_id: &str, authority: &str) -> Vec<u8> {
    let head = &req.head;
    let mut out = Vec::with_capacity(512 + req.body.len());
    out.extend_from_slice(format!("{} {} HTTP/1.1\r\n", head.method, head.origin).as_bytes());
    let headers = forward::request_headers(req, client, request_id);
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
    }
    for (n, v) in &headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&req.body);
    out
}

fn io_error(e: std::io::Error) -> ExchangeError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => ExchangeError::Timeout,
        _ => ExchangeError::Io(e),
    }
}

/// One request/response exchange; returns the stream if it can be reused.
fn exchange(
    mut s: TcpStream,
    wire: &[u8],
    is_head: bool,
    deadline: Instant,
) -> Result<(Response, Option<TcpStream>), ExchangeError> {
    let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let _ = s.set_nodelay(true);
    s.set_write_timeout(Some(left())).map_err(ExchangeError::Io)?;
    s.set_read_timeout(Some(left())).map_err(ExchangeError::Io)?;
    if let Err(e) = s.write_all(wire) {
        return Err(match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => ExchangeError::Timeout,
            _ => ExchangeError::NoResponse { write_failed: true },
        });
    }
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16 * 1024];
    let mut fill = |s: &mut TcpStream, buf: &mut Vec<u8>| -> Result<usize, ExchangeError> {
        s.set_read_timeout(Some(left())).map_err(ExchangeError::Io)?;
        loop {
            match s.read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if buf.is_empty() && e.kind() == ErrorKind::ConnectionReset => {
                    return Err(ExchangeError::NoResponse { write_failed: false })
                }
                Err(e) => return Err(io_error(e)),
            }
        }
    };
    // The head, skipping interim 1xx responses.
    let (status, headers, minor, head_len) = loop {
        let mut fields = [httparse::EMPTY_HEADER; 128];
        let mut r = httparse::Response::new(&mut fields);
        match r.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = r.code.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    buf.drain(..n);
                    continue;
                }
                if !(200..=599).contains(&status) {
                    return Err(ExchangeError::Malformed(format!("status {status}")));
                }
                let headers: Vec<(String, Vec<u8>)> =
                    r.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect();
                break (status, headers, r.version.unwrap_or(1), n);
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_RESPONSE_HEAD => {
                return Err(ExchangeError::TooLarge(MAX_RESPONSE_HEAD))
            }
            Ok(httparse::Status::Partial) => {
                let was_empty = buf.is_empty();
                if fill(&mut s, &mut buf)? == 0 {
                    return Err(if was_empty {
                        ExchangeError::NoResponse { write_failed: false }
                    } else {
                        ExchangeError::Malformed("closed inside the head".into())
                    });
                }
            }
            Err(e) => return Err(ExchangeError::Malformed(e.to_string())),
        }
    };
    buf.drain(..head_len);
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice());
    let te = header("transfer-encoding");
    let length = match header("content-length") {
        Some(v) => Some(http1::parse_length(v).map_err(|_| ExchangeError::Malformed("Content-Length".into()))?),
        None => None,
    };
    let token = |want: &[u8]| {
        headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(|&c| c == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(want))
        })
    };
    let close = token(b"close");
    let mut body = Vec::new();
    let mut delimited = true;
    if is_head || status == 204 || status == 304 {
        // No body follows, whatever the headers say.
    } else if let Some(te) = te {
        let chunked =
            te.split(|&c| c == b',').next_back().is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        if chunked {
            let mut dec = ChunkedDecoder::new();
            loop {
                let n = dec.feed(&buf, &mut body, MAX_RESPONSE_BODY).map_err(|e| match e {
                    http1::FramingError::BodyTooLarge => ExchangeError::TooLarge(MAX_RESPONSE_BODY),
                    e => ExchangeError::Malformed(e.to_string()),
                })?;
                buf.drain(..n);
                if dec.is_done() {
                    break;
                }
                if fill(&mut s, &mut buf)? == 0 {
                    return Err(ExchangeError::Malformed("closed inside a chunked body".into()));
                }
            }
        } else {
            delimited = false;
        }
    } else if let Some(n) = length {
        if n > MAX_RESPONSE_BODY as u64 {
            return Err(ExchangeError::TooLarge(MAX_RESPONSE_BODY));
        }
        let n = n as usize;
        while buf.len() < n {
            if fill(&mut s, &mut buf)? == 0 {
                return Err(ExchangeError::Malformed("closed inside the body".into()));
            }
        }
        body = buf.drain(..n).collect();
    } else {
        delimited = false;
    }
    if !delimited {
        // Read to close.
        while fill(&mut s, &mut buf)? > 0 {
            if buf.len() > MAX_RESPONSE_BODY {
                return Err(ExchangeError::TooLarge(MAX_RESPONSE_BODY));
            }
        }
        body = std::mem::take(&mut buf);
    }
    let reusable = delimited && !close && buf.is_empty() && (minor == 1 || token(b"keep-alive"));
    let head_length = if is_head { length } else { None };
    let resp = Response { status, headers: forward::end_to_end(&headers), body, head_length };
    Ok((resp, reusable.then_some(s)))
}
