//! Registry mode: requests become `/stackwire.Web/Handle` calls to live
//! service instances.
//!
//! Instances are discovered only through the registry, and chosen through a
//! `registry_agent::Rotation`: the registry's view (kept fresh every 500 ms
//! and at once on register/deregister events), self-preservation when a
//! whole service vanishes at once, our own health opinion (a probe of every
//! instance each second, passive failures, outlier ejection) and one
//! multiplexed connection per instance, shared by every request to it.
//! Among the instances in rotation, the one with the fewest requests in
//! flight from us wins, ties broken by the load it reported, exact ties
//! rotated (see `select`).
//!
//! A worker picks the instance and calls `Connection::start`, which writes
//! the call and returns at once; the worker is free again while the service
//! works. The reply runs the completion on the connection's reader thread,
//! which turns it into a response for the event loop, or, when `retry` says
//! the request may go again, hands it to a small retry pool (the completion
//! must not block on dialing). So a slow service ties up no thread of ours.
//!
//! Failure handling follows from what is known to have happened:
//! - dialing fails, or the request never left (`RpcError::NotSent`): the
//!   instance is out of rotation at once and the next one is tried;
//! - the connection is lost after sending: out of rotation; the request is
//!   retried elsewhere only if its method is idempotent and the budget allows;
//! - the instance answers 502/503 (or RPC `UNAVAILABLE`): the same rule;
//! - no instance at all, or none reachable: 503 with `Retry-After: 1`;
//! - the service answers with a status: the HTTP status `Code::http_status`
//!   gives, with the service's message as a JSON error;
//! - no reply by the deadline: the event loop answers 504 and runs the cancel
//!   handle, which forgets whichever attempt is current.

use crate::forward;
use crate::http1::Response;
use crate::retry::{self, Decision, Failure};
use crate::routes::Target;
use crate::workers::{Done, RequestJob, Upstream};
use crossbeam_channel::Sender;
use prost::Message;
use proto::pb;
use proto::{Code, Connection, RpcError};
use registry_agent::{Agent, Directory, HealthPolicy, RegistryConfig, Rotation};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Threads that re-dispatch retried requests.
const RETRY_THREADS: usize = 2;

/// One client request across its attempts.
struct Call {
    service: String,
    method: String,
    request_id: String,
    payload: Vec<u8>,
    deadline: Instant,
    /// The attempt on the wire, for cancelling.
    current: Mutex<Option<(Connection, u64)>>,
}

impl Call {
    fn cancel(&self) {
        let cur = self.current.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((conn, id)) = cur {
            conn.cancel(id);
        }
    }
}

struct Attempt {
    call: Arc<Call>,
    done: Done,
    tried: Vec<SocketAddr>,
    attempts: u32,
}

pub(crate) struct Inner {
    pub(crate) rotation: Rotation,
    pub(crate) registry: Option<RegistryConfig>,
    pub(crate) agent: Mutex<Option<Agent>>,
    pub(crate) started: Instant,
    pub(crate) redis_cache: Mutex<Option<(Instant, registry_agent::RedisTopology)>>,
    rotate: AtomicUsize,
    retries: Sender<Attempt>,
}

pub struct RpcUpstream {
    inner: Arc<Inner>,
}

impl RpcUpstream {
    pub fn new(directory: Directory, connect_timeout: Duration) -> RpcUpstream {
        RpcUpstream::build(directory, None, connect_timeout)
    }

    /// Registry mode with the registry's settings, so the balancer can
    /// register itself and show the Redis nodes on `/status`.
    pub fn with_registry(cfg: RegistryConfig, connect_timeout: Duration) -> RpcUpstream {
        RpcUpstream::build(Directory::start(cfg.clone()), Some(cfg), connect_timeout)
    }

    fn build(directory: Directory, registry: Option<RegistryConfig>, connect_timeout: Duration) -> RpcUpstream {
        let rotation = Rotation::start(
            directory,
            registry_agent::rotation::all_but_balancers(),
            HealthPolicy::default(),
            connect_timeout,
        );
        let (tx, rx) = crossbeam_channel::unbounded::<Attempt>();
        let inner = Arc::new(Inner {
            rotation,
            registry,
            agent: Mutex::new(None),
            started: Instant::now(),
            redis_cache: Mutex::new(None),
            rotate: AtomicUsize::new(0),
            retries: tx,
        });
        for i in 0..RETRY_THREADS {
            let rx = rx.clone();
            let weak = Arc::downgrade(&inner);
            let spawned = std::thread::Builder::new().name(format!("retry-{i}")).spawn(move || {
                for a in rx.iter() {
                    match weak.upgrade() {
                        Some(inner) => dispatch(&inner, a),
                        None => return,
                    }
                }
            });
            if let Err(e) = spawned {
                log::error!(target: "balancer", "cannot start a retry thread: {e}");
            }
        }
        RpcUpstream { inner }
    }

    pub fn rotation(&self) -> &Rotation {
        &self.inner.rotation
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

/// Sends the attempt to the best untried instance, dialing as needed.
fn dispatch(inner: &Arc<Inner>, mut a: Attempt) {
    let mut last: Option<RpcError> = None;
    loop {
        let service = a.call.service.clone();
        let rotate = inner.rotate.fetch_add(1, Ordering::Relaxed);
        let cands = inner.rotation.candidates(&service, &a.tried, rotate);
        let Some((addr, _)) = cands.first().filter(|_| a.attempts < retry::MAX_ATTEMPTS) else {
            let resp = match last {
                Some(e) => reply(Err(e)),
                None if a.tried.is_empty() => {
                    let msg = format!("no live instance of {service}");
                    log::warn!(target: "balancer", "{msg}; answering 503");
                    Response::error(503, &msg).with_header("Retry-After", "1")
                }
                None => {
                    Response::error(503, &format!("no reachable instance of {service}")).with_header("Retry-After", "1")
                }
            };
            a.done.finish(resp);
            return;
        };
        let addr = *addr;
        a.attempts += 1;
        a.tried.push(addr);
        let timeout = a.call.deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            a.done.finish(Response::error(504, "no time left for the upstream"));
            return;
        }
        let conn = match inner.rotation.pool().connection(addr) {
            Ok(c) => c,
            Err(e) => {
                log::warn!(target: "balancer", "{service} at {addr}: {e}; trying the next instance");
                crate::metrics::get().upstream_connect_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                inner.rotation.connection_failed(addr, &service, &e.to_string());
                last = Some(e);
                continue;
            }
        };
        let counted = inner.rotation.pool().begin(addr);
        let call = a.call.clone();
        let me = inner.clone();
        let id = conn.start(
            proto::methods::WEB_HANDLE,
            &call.request_id,
            timeout,
            call.payload.clone(),
            Box::new(move |result| {
                drop(counted);
                complete(&me, addr, result, a);
            }),
        );
        *call.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((conn, id));
        return;
    }
}

/// An attempt ended: answer, or queue a retry.
fn complete(inner: &Arc<Inner>, addr: SocketAddr, result: Result<pb::Response, RpcError>, a: Attempt) {
    let service = a.call.service.as_str();
    let failure = match &result {
        Ok(r) => {
            let code = Code::from_u32(r.status);
            let http = if code == Code::Ok {
                pb::HttpResponse::decode(r.payload.as_slice()).ok().map(|h| h.status)
            } else {
                None
            };
            // Only the instance's own failures count against it, never the
            // status of the page it answered with (registry_agent::health).
            inner.rotation.answered(addr, service, code);
            let unavailable = code == Code::Unavailable || http.is_some_and(|s| retry::unavailable_status(s as u16));
            unavailable.then_some(Failure::Unavailable)
        }
        Err(e) if e.never_sent() => {
            inner.rotation.connection_failed(addr, service, &e.to_string());
            Some(Failure::NotSent)
        }
        Err(RpcError::ConnectionLost) => {
            inner.rotation.connection_failed(addr, service, "connection lost");
            Some(Failure::Lost)
        }
        Err(_) => None,
    };
    let again = match failure.map(|f| retry::decide(&a.call.method, f, a.attempts)) {
        Some(Decision::Retry) => true,
        Some(Decision::RetryWithinBudget) => inner.rotation.try_retry(),
        _ => false,
    };
    if again && Instant::now() < a.call.deadline {
        log::warn!(
            target: "balancer",
            "{service} at {addr}: {} {failure:?}; retrying on another instance",
            a.call.method
        );
        if let Err(e) = inner.retries.send(a) {
            e.into_inner().done.finish(reply(result));
        }
        return;
    }
    a.done.finish(reply(result));
}

impl Upstream for RpcUpstream {
    fn wait_ready(&self, services: &[String], limit: Duration) -> bool {
        let directory = self.inner.rotation.directory();
        let end = std::time::Instant::now() + limit;
        let mut snap = directory.snapshot();
        loop {
            if services.iter().all(|s| !snap.instances(s).is_empty()) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= end {
                return false;
            }
            snap = directory.wait_newer(snap.version, end - now);
        }
    }

    fn forward(&self, job: RequestJob, done: Done) {
        let Target::Service(service) = &job.target else {
            done.finish(Response::error(500, "not a service route"));
            return;
        };
        self.inner.rotation.count_request();
        let method = job.request.head.method.clone();
        let call = Arc::new(Call {
            service: service.clone(),
            method,
            request_id: job.request_id.clone(),
            payload: forward::http_request(job.request, job.client, &job.request_id).encode_to_vec(),
            deadline: job.deadline,
            current: Mutex::new(None),
        });
        let c = call.clone();
        done.announcer().started(Box::new(move || c.cancel()));
        dispatch(&self.inner, Attempt { call, done, tried: Vec::new(), attempts: 0 });
    }

    fn catalog(&self) -> serde_json::Value {
        let snap = self.inner.rotation.directory().snapshot();
        let pool = self.inner.rotation.pool();
        let in_flight = |addr: &str| addr.parse::<SocketAddr>().map(|a| pool.in_flight(&a)).unwrap_or(0);
        crate::catalog::build(&snap.services, &in_flight, true)
    }

    fn status(&self, path: &str) -> Response {
        crate::status::serve(self, path)
    }

    fn register(&self, listen: SocketAddr) {
        let Some(cfg) = self.inner.registry.clone() else { return };
        let pool = self.inner.clone();
        let load = Arc::new(move || pool.rotation.pool().total_in_flight() as u64);
        match Agent::start(cfg, registry_agent::BALANCER_SERVICE, advertised(listen), crate::status::descriptor(), load)
        {
            Ok(agent) => *self.inner.agent.lock().unwrap_or_else(|e| e.into_inner()) = Some(agent),
            Err(e) => log::warn!(target: "balancer", "cannot register as {}: {e}", registry_agent::BALANCER_SERVICE),
        }
    }

    fn deregister(&self) {
        if let Some(agent) = self.inner.agent.lock().unwrap_or_else(|e| e.into_inner()).take() {
            agent.deregister();
        }
    }
}

/// The address others should use: a wildcard bind is reachable through loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip: std::net::IpAddr =
            if addr.is_ipv4() { std::net::Ipv4Addr::LOCALHOST.into() } else { std::net::Ipv6Addr::LOCALHOST.into() };
        SocketAddr::new(ip, addr.port())
    } else {
        addr
    }
}

/// A call's outcome as the response the client gets.
fn reply(result: Result<pb::Response, RpcError>) -> Response {
    let failed = |code: Code, message: &str| {
        let status = code.http_status();
        let message = if message.is_empty() { code.to_string() } else { message.to_string() };
        let resp = Response::error(status, &message);
        if status == 503 {
            resp.with_header("Retry-After", "1")
        } else {
            resp
        }
    };
    match result {
        Ok(r) if r.status == Code::Ok as u32 => match pb::HttpResponse::decode(r.payload.as_slice()) {
            Ok(h) => forward::from_http_response(h),
            Err(e) => {
                log::warn!(target: "balancer", "undecodable HttpResponse: {e}");
                Response::error(502, "the upstream reply could not be decoded")
            }
        },
        Ok(r) => failed(Code::from_u32(r.status), &r.message),
        Err(e) => {
            log::warn!(target: "balancer", "call failed: {e}");
            failed(e.code(), &e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_through_http_status() {
        let r = |status: Code, msg: &str| {
            reply(Ok(pb::Response { call_id: 1, status: status as u32, message: msg.into(), payload: vec![] }))
        };
        let nf = r(Code::NotFound, "no question 7");
        assert_eq!((nf.status, nf.body.as_slice()), (404, &br#"{"error":"no question 7"}"#[..]));
        assert_eq!(r(Code::InvalidArgument, "x").status, 400);
        let un = r(Code::Unavailable, "");
        assert_eq!(un.status, 503);
        assert!(un.headers.iter().any(|(n, v)| n == "Retry-After" && v == b"1"));
        assert_eq!(reply(Err(RpcError::ConnectionLost)).status, 503);
        assert_eq!(reply(Err(RpcError::DeadlineExceeded(Duration::from_secs(1)))).status, 504);
    }

    #[test]
    fn ok_replies_decode_the_http_response() {
        let h = pb::HttpResponse {
            status: 201,
            headers: vec![pb::Header { name: "Content-Type".into(), value: b"application/json".to_vec() }],
            body: b"{}".to_vec(),
        };
        let ok = reply(Ok(pb::Response { call_id: 1, status: 0, message: String::new(), payload: h.encode_to_vec() }));
        assert_eq!((ok.status, ok.body.as_slice()), (201, &b"{}"[..]));
        let bad = reply(Ok(pb::Response { call_id: 1, status: 0, message: String::new(), payload: vec![0xff, 0xff] }));
        assert_eq!(bad.status, 502);
    }

    #[test]
    fn wildcard_binds_advertise_loopback() {
        assert_eq!(advertised("0.0.0.0:8081".parse().unwrap()).to_string(), "127.0.0.1:8081");
        assert_eq!(advertised("127.0.0.2:8081".parse().unwrap()).to_string(), "127.0.0.2:8081");
    }
}
