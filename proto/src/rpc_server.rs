//! The RPC server every service runs.
//!
//! One thread accepts; one thread per connection reads frames; a fixed pool of
//! worker threads runs handlers. A connection's reader hands each call to the
//! pool through a bounded channel, so a client that floods us is slowed down
//! (its reader blocks) rather than buffered without limit, and calls on one
//! connection run concurrently. Replies go back through a per-connection write
//! lock in whatever order handlers finish; the caller matches them by call id.
//!
//! A peer that sends garbage, a length over the maximum, or a frame it never
//! finishes gets one `Response` with call id 0 naming the problem (when the
//! socket still takes it) and is disconnected; nothing it sent is allocated
//! past the maximum, and every other connection carries on.
//!
//! The server answers `/grpc.health.v1.Health/Check` itself: SERVING until
//! `drain()` is called, NOT_SERVING after, so balancers stop sending before
//! the process exits.

use crate::frame::{self, FrameError, ReadOutcome};
use crate::logger::JobScope;
use crate::methods;
use crate::pb::{health_check_response::ServingStatus, HealthCheckResponse, Request, Response};
use crate::status::{Code, Status};
use prost::Message;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a handler knows about the call it serves.
pub struct CallContext<'a> {
    pub method: &'a str,
    pub request_id: &'a str,
    /// When the caller stops waiting; handlers pass it on to their own calls.
    pub deadline: Option<Instant>,
    pub peer: SocketAddr,
}

impl CallContext<'_> {
    /// Time left before the deadline, capped by `cap`.
    pub fn remaining(&self, cap: Duration) -> Duration {
        match self.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).min(cap),
            None => cap,
        }
    }
}

/// A service's methods. Returns the encoded reply payload or a status.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status>;
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Log target of worker lines, e.g. `Question::Worker`.
    pub worker_class: String,
    pub workers: usize,
    pub max_message: usize,
    pub max_connections: usize,
    /// Calls queued for the workers before readers block.
    pub queue: usize,
    /// How long a peer may take to finish a frame it started.
    pub frame_timeout: Duration,
}

impl ServerConfig {
    pub fn new(worker_class: &str) -> ServerConfig {
        ServerConfig {
            worker_class: worker_class.to_string(),
            workers: 16,
            max_message: frame::DEFAULT_MAX_MESSAGE,
            max_connections: 1024,
            queue: 1024,
            frame_timeout: Duration::from_secs(10),
        }
    }
}

/// Load and lifecycle of a running server.
#[derive(Clone)]
pub struct ServerHandle {
    addr: SocketAddr,
    in_flight: Arc<AtomicUsize>,
    draining: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Calls being handled right now (the load we report to the registry).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
    /// Health checks answer NOT_SERVING from now on; calls are still served.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }
    /// Stops accepting connections.
    pub fn stop_accepting(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            // Wake the accept loop.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        }
    }
    /// Waits until no call is running, up to `max`. Returns true if idle.
    pub fn wait_idle(&self, max: Duration) -> bool {
        let end = Instant::now() + max;
        while self.in_flight() > 0 {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

struct Job {
    req: Request,
    received: Instant,
    peer: SocketAddr,
    writer: Arc<Mutex<TcpStream>>,
}

/// Starts serving on `listener` and returns at once.
pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>, config: ServerConfig) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let handle = ServerHandle {
        addr,
        in_flight: Arc::new(AtomicUsize::new(0)),
        draining: Arc::new(AtomicBool::new(false)),
        stopped: Arc::new(AtomicBool::new(false)),
    };
    let (tx, rx) = crossbeam_channel::bounded::<Job>(config.queue);
    for i in 0..config.workers.max(1) {
        let rx = rx.clone();
        let handler = handler.clone();
        let h = handle.clone();
        let class = config.worker_class.clone();
        std::thread::Builder::new().name(format!("rpc-worker-{i}")).spawn(move || {
            for job in rx.iter() {
                run_job(&*handler, &h, &class, job);
            }
        })?;
    }
    let connections = Arc::new(AtomicUsize::new(0));
    let h = handle.clone();
    std::thread::Builder::new().name("rpc-accept".into()).spawn(move || {
        for stream in listener.incoming() {
            if h.stopped.load(Ordering::Acquire) {
                return;
            }
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    log::warn!(target: "rpc", "accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            if connections.load(Ordering::Relaxed) >= config.max_connections {
                log::warn!(target: "rpc", "refusing connection: {} open", config.max_connections);
                reject(&stream, Code::ResourceExhausted, "too many connections");
                continue;
            }
            connections.fetch_add(1, Ordering::Relaxed);
            let tx = tx.clone();
            let conns = connections.clone();
            let cfg = config.clone();
            let spawned = std::thread::Builder::new().name("rpc-conn".into()).spawn(move || {
                read_connection(stream, tx, &cfg);
                conns.fetch_sub(1, Ordering::Relaxed);
            });
            if let Err(e) = spawned {
                log::error!(target: "rpc", "cannot start a connection thread: {e}");
            }
        }
    })?;
    Ok(handle)
}

fn reject(stream: &TcpStream, code: Code, message: &str) {
    let resp = Response { call_id: 0, status: code as u32, message: message.to_string(), payload: Vec::new() };
    let mut s = stream;
    let _ = s.write_all(&frame::encode_message(&resp));
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_connection(stream: TcpStream, tx: crossbeam_channel::Sender<Job>, cfg: &ServerConfig) {
    let peer = match stream.peer_addr() {
        Ok(p) => p,
        Err(_) => return,
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(cfg.frame_timeout));
    // A peer that stops reading its replies must not pin a worker forever.
    let _ = stream.set_write_timeout(Some(cfg.frame_timeout));
    let writer = match stream.try_clone() {
        Ok(w) => Arc::new(Mutex::new(w)),
        Err(_) => return,
    };
    let mut reader = stream;
    let mut buf = Vec::new();
    loop {
        match frame::read_frame(&mut reader, &mut buf, cfg.max_message) {
            Ok(ReadOutcome::Frame) => match Request::decode(buf.as_slice()) {
                Ok(req) => {
                    let job = Job { req, received: Instant::now(), peer, writer: writer.clone() };
                    if tx.send(job).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    log::warn!(target: "rpc", "{peer}: undecodable request envelope: {e}; closing");
                    reject(&reader, Code::InvalidArgument, "undecodable request envelope");
                    return;
                }
            },
            Ok(ReadOutcome::Idle) => continue,
            Ok(ReadOutcome::Closed) => return,
            Err(FrameError::Io(_)) => return,
            Err(e @ FrameError::TooLarge { .. }) => {
                log::warn!(target: "rpc", "{peer}: {e}; closing");
                reject(&reader, Code::ResourceExhausted, &e.to_string());
                return;
            }
            Err(e) => {
                log::warn!(target: "rpc", "{peer}: {e}; closing");
                reject(&reader, Code::InvalidArgument, &e.to_string());
                return;
            }
        }
    }
}

fn run_job(handler: &dyn Handler, h: &ServerHandle, class: &str, job: Job) {
    let Job { req, received, peer, writer } = job;
    let _scope = JobScope::enter(if req.request_id.is_empty() { "-" } else { &req.request_id });
    let deadline = (req.timeout_ms > 0).then(|| received + Duration::from_millis(req.timeout_ms));
    let result = if req.method == methods::HEALTH_CHECK {
        let status =
            if h.draining.load(Ordering::Acquire) { ServingStatus::NotServing } else { ServingStatus::Serving };
        Ok(HealthCheckResponse { status: status as i32 }.encode_to_vec())
    } else if deadline.is_some_and(|d| Instant::now() >= d) {
        Err(Status::new(Code::DeadlineExceeded, "deadline passed while queued"))
    } else {
        h.in_flight.fetch_add(1, Ordering::Relaxed);
        log::info!(target: class, "start {}", req.method);
        let ctx = CallContext { method: &req.method, request_id: &req.request_id, deadline, peer };
        let r = handler.handle(&ctx, &req.payload);
        let secs = received.elapsed().as_secs_f64();
        match &r {
            Ok(_) => log::info!(target: class, "done: {secs:.3} sec"),
            Err(s) => log::info!(target: class, "fail: {secs:.3} sec {s}"),
        }
        h.in_flight.fetch_sub(1, Ordering::Relaxed);
        r
    };
    let resp = match result {
        Ok(payload) => Response { call_id: req.call_id, status: 0, message: String::new(), payload },
        Err(s) => Response { call_id: req.call_id, status: s.code as u32, message: s.message, payload: Vec::new() },
    };
    let bytes = frame::encode_message(&resp);
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = w.write_all(&bytes) {
        log::debug!(target: "rpc", "{peer}: reply lost: {e}");
    }
}
