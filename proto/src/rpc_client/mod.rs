//! A blocking RPC client that multiplexes many calls over one TCP connection.
//!
//! Callers on any thread write a `Request` envelope (under a short write lock)
//! and park on their own channel; one reader per connection (a thread, or an
//! event loop that hosts it: `replies`) reads `Response` envelopes and hands
//! each to the waiter registered under its call id. So a connection is opened once and kept, calls complete out of
//! order, and a slow call never blocks a fast one behind it.
//!
//! A connection that breaks fails every waiting call with `Unavailable` and is
//! marked dead; pools (registry_agent's `ServiceClient`, the balancer) drop
//! dead connections and dial again.
//!
//! `STACKWIRE_RPC_TRANSPORT=h2c` makes every connection this process dials
//! speak gRPC over HTTP/2 instead (`h2c`), with the same API and the same
//! failure rules; unset or `native`, the native frames.
//!
//! What a call carries besides its message is [`CallOptions`]: the request
//! id, the timeout (sent as the call's deadline) and custom metadata (the
//! credential, see `crate::metadata`). [`Channel`] is anything that can make
//! a call: a `Connection`, or registry_agent's `ServiceClient` that picks an
//! instance; the typed clients generated from the proto
//! (`crate::services`) run over either.

mod h2c;
mod replies;

pub use replies::{read_on, Host, Replies};

use crate::frame;
use crate::pb::{Header, Request, Response};
use crate::status::{Code, Status};
use prost::Message;
use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: std::io::Error },
    #[error("connection lost before the reply")]
    ConnectionLost,
    /// The connection was already closed, or closed while the request was
    /// being written: no complete request left this process.
    #[error("connection to {0} closed before the request was sent")]
    NotSent(SocketAddr),
    #[error("no reply within {0:?}")]
    DeadlineExceeded(Duration),
    #[error("reply could not be decoded: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("{0}")]
    Status(#[from] Status),
    #[error("no live instance of {0}")]
    NoInstance(String),
}

impl RpcError {
    /// The status code a caller should report for this failure.
    pub fn code(&self) -> Code {
        match self {
            RpcError::Connect { .. } | RpcError::ConnectionLost | RpcError::NotSent(_) | RpcError::NoInstance(_) => {
                Code::Unavailable
            }
            RpcError::DeadlineExceeded(_) => Code::DeadlineExceeded,
            RpcError::Decode(_) => Code::Internal,
            RpcError::Status(s) => s.code,
        }
    }

    /// True when the request certainly never reached a handler, so any
    /// method may be retried on another instance.
    pub fn never_sent(&self) -> bool {
        matches!(self, RpcError::Connect { .. } | RpcError::NotSent(_) | RpcError::NoInstance(_))
    }

    /// The error as a `Status`, for passing on to our own caller.
    pub fn to_status(&self) -> Status {
        match self {
            RpcError::Status(s) => s.clone(),
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

/// What a call carries besides its message.
#[derive(Clone, Copy, Debug)]
pub struct CallOptions<'a> {
    /// Follows one user request through every process (the JID); "" for none.
    pub request_id: &'a str,
    /// How long the caller waits: the call's deadline, sent with it.
    pub timeout: Duration,
    /// Custom metadata ([`crate::metadata`]): lowercase names, printable
    /// values unless the name ends in `-bin`.
    pub metadata: &'a [crate::metadata::Entry],
}

impl<'a> CallOptions<'a> {
    pub fn new(request_id: &'a str, timeout: Duration) -> CallOptions<'a> {
        CallOptions { request_id, timeout, metadata: &[] }
    }

    pub fn with_metadata(self, metadata: &'a [crate::metadata::Entry]) -> CallOptions<'a> {
        CallOptions { metadata, ..self }
    }
}

/// Something that makes unary calls: one connection, or a client that
/// chooses among a service's instances. The generated typed clients
/// (`crate::services`) are written over it.
pub trait Channel {
    /// Sends one call and waits for its reply (a status other than OK is in
    /// the `Response`, not an error).
    fn invoke(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>) -> Result<Response, RpcError>;
}

/// A typed call over any channel: encodes `req`, checks the status, decodes
/// the reply. What every generated client method is.
pub fn unary<C: Channel + ?Sized, Req: Message, Resp: Message + Default>(
    channel: &C,
    method: &str,
    opts: &CallOptions<'_>,
    req: &Req,
) -> Result<Resp, RpcError> {
    decode_reply(channel.invoke(method, opts, req.encode_to_vec())?)
}

impl Channel for Connection {
    fn invoke(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>) -> Result<Response, RpcError> {
        self.call_with(method, opts, payload)
    }
}

/// Called once with the outcome of a call, on the connection's reader (its thread, or the event loop hosting it)
/// (or the caller's thread if the write itself failed). Must not block.
pub type Completion = Box<dyn FnOnce(Result<Response, RpcError>) + Send>;

struct Inner {
    addr: SocketAddr,
    writer: Mutex<TcpStream>,
    pending: Mutex<HashMap<u64, Completion>>,
    next_id: AtomicU64,
    dead: AtomicBool,
    in_flight: AtomicUsize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the reader (a thread, or a loop hosting it), which holds only a weak reference.
        if let Ok(w) = self.writer.get_mut() {
            let _ = w.shutdown(Shutdown::Both);
        }
    }
}

/// A shared handle to one multiplexed connection. Cheap to clone.
#[derive(Clone)]
pub struct Connection {
    inner: Transport,
}

#[derive(Clone)]
enum Transport {
    Native(Arc<Inner>),
    H2c(Arc<h2c::Client>),
}

/// How this process's connections are dialled (`STACKWIRE_RPC_TRANSPORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Native,
    H2c,
}

impl Wire {
    /// The setting, read once: `h2c`, or `native` (the default).
    pub fn configured() -> Wire {
        static WIRE: std::sync::OnceLock<Wire> = std::sync::OnceLock::new();
        *WIRE.get_or_init(|| match std::env::var("STACKWIRE_RPC_TRANSPORT").as_deref() {
            Ok("h2c") => Wire::H2c,
            Ok("native") | Ok("") | Err(_) => Wire::Native,
            Ok(other) => {
                log::error!(target: "rpc", "STACKWIRE_RPC_TRANSPORT={other:?} is neither native nor h2c; using native");
                Wire::Native
            }
        })
    }
}

impl Connection {
    /// Dials `addr` over the configured wire ([`Wire::configured`]).
    pub fn connect(addr: SocketAddr, timeout: Duration, max_message: usize) -> Result<Connection, RpcError> {
        Connection::connect_with(Wire::configured(), addr, timeout, max_message)
    }

    /// Dials `addr` over `wire` and starts its reader (`replies`).
    pub fn connect_with(
        wire: Wire,
        addr: SocketAddr,
        timeout: Duration,
        max_message: usize,
    ) -> Result<Connection, RpcError> {
        match wire {
            Wire::H2c => Ok(Connection { inner: Transport::H2c(h2c::Client::connect(addr, timeout, max_message)?) }),
            Wire::Native => Connection::connect_native(addr, timeout, max_message),
        }
    }

    fn connect_native(addr: SocketAddr, timeout: Duration, max_message: usize) -> Result<Connection, RpcError> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|source| RpcError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let reader = stream.try_clone().map_err(|source| RpcError::Connect { addr, source })?;
        let inner = Arc::new(Inner {
            addr,
            writer: Mutex::new(stream),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            dead: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        });
        replies::start(Replies::new(reader, Arc::downgrade(&inner), max_message), format!("rpc-read-{addr}"))
            .map_err(|source| RpcError::Connect { addr, source })?;
        Ok(Connection { inner: Transport::Native(inner) })
    }

    pub fn addr(&self) -> SocketAddr {
        match &self.inner {
            Transport::Native(i) => i.addr,
            Transport::H2c(c) => c.addr,
        }
    }

    pub fn is_dead(&self) -> bool {
        match &self.inner {
            Transport::Native(i) => i.dead.load(Ordering::Acquire),
            Transport::H2c(c) => c.dead.load(Ordering::Acquire),
        }
    }

    /// Calls started on this connection and not yet completed.
    pub fn in_flight(&self) -> usize {
        match &self.inner {
            Transport::Native(i) => i.in_flight.load(Ordering::Relaxed),
            Transport::H2c(c) => c.in_flight.load(Ordering::Relaxed),
        }
    }

    /// Sends a call and returns at once; `done` runs when the reply arrives or
    /// the connection dies. Returns the call id (for `cancel`).
    pub fn start(&self, method: &str, request_id: &str, timeout: Duration, payload: Vec<u8>, done: Completion) -> u64 {
        self.start_with(method, &CallOptions::new(request_id, timeout), payload, done)
    }

    /// [`Connection::start`] with metadata. Metadata that may not be sent
    /// ([`crate::metadata::refusal`]) fails the call with INVALID_ARGUMENT
    /// before anything is written.
    pub fn start_with(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>, done: Completion) -> u64 {
        if let Some(why) = crate::metadata::refusal(opts.metadata) {
            done(Err(RpcError::Status(Status::invalid(why))));
            return 0;
        }
        match &self.inner {
            Transport::Native(i) => start_native(i, method, opts, payload, done),
            Transport::H2c(c) => c.start(method, opts, payload, done),
        }
    }

    /// Room to send one call of a `payload_len`-byte payload at once, for a
    /// thread that must not wait (the balancer's event loop): the writer is
    /// free and the socket's send buffer has room for what is queued on it
    /// and this frame several times over, so the frame goes in without
    /// blocking. `None` when it might wait (a
    /// busy writer, a peer that is not reading, a large payload, a dead
    /// connection, and always over h2c): send from a thread that may.
    pub fn send_now(&self, payload_len: usize) -> Option<SendNow<'_>> {
        let Transport::Native(inner) = &self.inner else { return None };
        if inner.dead.load(Ordering::Acquire) {
            return None;
        }
        let writer = inner.writer.try_lock().ok()?;
        let fd = writer.as_raw_fd();
        let (mut queued, mut sndbuf): (libc::c_int, libc::c_int) = (0, 0);
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: TIOCOUTQ (SIOCOUTQ on a TCP socket) writes one int, the
        // bytes not yet acknowledged, and SO_SNDBUF one int and its length,
        // into locals of that size.
        let ok = unsafe {
            libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) == 0
                && libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUF,
                    (&mut sndbuf as *mut libc::c_int).cast(),
                    &mut len,
                ) == 0
        };
        // A write blocks when the memory the queued data takes, several
        // times its bytes for small frames, reaches the send buffer's size.
        let room = ok && SEND_NOW_SLACK * (queued as usize + payload_len + 1024) <= sndbuf.max(0) as usize;
        room.then_some(SendNow { inner, writer })
    }

    /// Forgets a call whose caller stopped waiting; a late reply is dropped.
    pub fn cancel(&self, call_id: u64) {
        match &self.inner {
            Transport::Native(i) => {
                if lock(&i.pending).remove(&call_id).is_some() {
                    i.in_flight.fetch_sub(1, Ordering::Relaxed);
                }
            }
            Transport::H2c(c) => c.cancel(call_id),
        }
    }

    /// Sends a call and waits for its reply up to `timeout`.
    pub fn call(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        payload: Vec<u8>,
    ) -> Result<Response, RpcError> {
        self.call_with(method, &CallOptions::new(request_id, timeout), payload)
    }

    /// [`Connection::call`] with metadata.
    pub fn call_with(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>) -> Result<Response, RpcError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let id = self.start_with(
            method,
            opts,
            payload,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        match rx.recv_timeout(opts.timeout) {
            Ok(r) => r,
            Err(_) => {
                self.cancel(id);
                Err(RpcError::DeadlineExceeded(opts.timeout))
            }
        }
    }

    /// A typed call: encodes `req`, checks the status, decodes the reply.
    pub fn unary<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        req: &Req,
    ) -> Result<Resp, RpcError> {
        unary(self, method, &CallOptions::new(request_id, timeout), req)
    }

    /// Marks the connection dead and fails every waiting call.
    pub fn kill(&self) {
        match &self.inner {
            Transport::Native(i) => fail_all(i),
            Transport::H2c(c) => c.kill(),
        }
    }
}

/// How many times its bytes the data queued on a socket may take in its
/// send buffer (`skb` overhead: a 600-byte frame takes about 1.3 KiB)
/// with a margin: [`Connection::send_now`] needs that much room.
const SEND_NOW_SLACK: usize = 4;

/// A call that can be sent without waiting ([`Connection::send_now`]): holds
/// the connection's writer until it is used.
pub struct SendNow<'c> {
    inner: &'c Arc<Inner>,
    writer: std::sync::MutexGuard<'c, TcpStream>,
}

impl SendNow<'_> {
    /// [`Connection::start_with`], through the writer already held.
    pub fn start_with(self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>, done: Completion) -> u64 {
        let SendNow { inner, writer } = self;
        if let Some(why) = crate::metadata::refusal(opts.metadata) {
            drop(writer);
            done(Err(RpcError::Status(Status::invalid(why))));
            return 0;
        }
        write_call(inner, writer, method, opts, payload, done)
    }
}

fn start_native(inner: &Arc<Inner>, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>, done: Completion) -> u64 {
    write_call(inner, lock(&inner.writer), method, opts, payload, done)
}

/// Registers `done` and writes the call through `writer` (the connection's
/// own, held by the caller).
fn write_call(
    inner: &Arc<Inner>,
    mut writer: std::sync::MutexGuard<'_, TcpStream>,
    method: &str,
    opts: &CallOptions<'_>,
    payload: Vec<u8>,
    done: Completion,
) -> u64 {
    let call_id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    if inner.dead.load(Ordering::Acquire) {
        // A completion runs with none of the connection's locks held.
        drop(writer);
        done(Err(RpcError::NotSent(inner.addr)));
        return call_id;
    }
    let req = Request {
        call_id,
        method: method.to_string(),
        timeout_ms: opts.timeout.as_millis() as u64,
        request_id: opts.request_id.to_string(),
        payload,
        metadata: opts
            .metadata
            .iter()
            .map(|(name, value)| Header { name: name.clone(), value: value.clone() })
            .collect(),
    };
    let bytes = frame::encode_message(&req);
    inner.in_flight.fetch_add(1, Ordering::Relaxed);
    lock(&inner.pending).insert(call_id, done);
    let wrote = writer.write_all(&bytes);
    // `fail_all` takes the writer to shut the socket down.
    drop(writer);
    if wrote.is_err() {
        // A frame cut short is never handled by the server, so this call
        // is reported as not sent (callers may retry it anywhere); the
        // others on the connection may have been, and get ConnectionLost.
        if let Some(own) = lock(&inner.pending).remove(&call_id) {
            inner.in_flight.fetch_sub(1, Ordering::Relaxed);
            fail_all(inner);
            own(Err(RpcError::NotSent(inner.addr)));
            return call_id;
        }
        fail_all(inner);
    }
    call_id
}

/// Checks a reply's status and decodes its payload.
pub fn decode_reply<Resp: Message + Default>(resp: Response) -> Result<Resp, RpcError> {
    if resp.status != Code::Ok as u32 {
        return Err(RpcError::Status(Status::new(Code::from_u32(resp.status), resp.message)));
    }
    Ok(Resp::decode(resp.payload)?)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking completion must not wedge every later call.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn fail_all(inner: &Inner) {
    inner.dead.store(true, Ordering::Release);
    let _ = lock(&inner.writer).shutdown(Shutdown::Both);
    let waiters: Vec<Completion> = lock(&inner.pending).drain().map(|(_, c)| c).collect();
    for done in waiters {
        inner.in_flight.fetch_sub(1, Ordering::Relaxed);
        done(Err(RpcError::ConnectionLost));
    }
}

/// What one reply frame means for its connection: a call answered (or a
/// late reply to a call its caller gave up on, dropped), or the end of the
/// connection, with why.
fn on_frame(inner: &Inner, frame: bytes::Bytes) -> Result<(), String> {
    // The frame's buffer becomes the reply's: its payload (and a page
    // inside it, for a caller that decodes one from `Bytes`) is a slice of
    // it, not a copy.
    let resp = Response::decode(frame).map_err(|e| format!("undecodable reply from {}: {e}", inner.addr))?;
    let waiter = lock(&inner.pending).remove(&resp.call_id);
    if let Some(done) = waiter {
        inner.in_flight.fetch_sub(1, Ordering::Relaxed);
        done(Ok(resp));
        return Ok(());
    }
    if resp.call_id != 0 {
        return Ok(());
    }
    // The server rejected the connection as a whole.
    Err(format!("{} closed the connection: {}", inner.addr, resp.message))
}

#[cfg(test)]
#[path = "../../tests/unit/rpc_client.rs"]
mod tests;
