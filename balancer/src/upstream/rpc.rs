//! Registry mode: requests become `/stackwire.Web/Handle` calls to live
//! service instances.
//!
//! Instances are discovered only through the registry, and chosen through a
//! `registry_agent::Rotation`: the registry's view (kept fresh every 500 ms
//! and at once on register/deregister events), self-preservation when a
//! whole service vanishes at once, our own health opinion (a probe of every
//! instance each second, passive failures, outlier ejection) and one
//! multiplexed connection per instance, shared by every request to it.
//!
//! Each request runs `registry_agent::policy`'s attempt loop, the same one
//! `ServiceClient` runs in the web UIs and services. The event loop sends
//! the first attempt itself ([`Call::start_here`]) when that cannot wait: a
//! connection to the chosen instance is open, its writer is free and its
//! socket has nothing queued (`Connection::send_now`). That is nearly every
//! call, and it saves the hand-off to a worker thread and back, which cost
//! more CPU than everything else the balancer does for a page (measured in
//! issue 9: 44 → 26 µs per page). When sending could wait (a dial, a busy
//! writer, a peer slow to read, a large body) a worker sends it
//! ([`Call::start`]); either way the write returns at once and the reply's
//! completion turns the outcome into a response for the event loop. Whether a request may go
//! again after it may have run is its HTTP method's business
//! (`Idempotency::of_http`), not `Web/Handle`'s; besides RPC `UNAVAILABLE`,
//! an HTTP 502 or 503 inside the reply also means "try another instance"
//! ([`web_unavailable`]). So a GET is retried after a lost connection and
//! hedged after a per-try timeout, a POST never. What the client sees:
//! - no instance at all, or none reachable: 503 with `Retry-After: 1`;
//! - the service answers with a status: the HTTP status `Code::http_status`
//!   gives, with the service's message as a JSON error;
//! - no reply by the deadline: the event loop answers 504 and runs the cancel
//!   handle, which cancels every attempt still outstanding.

use crate::http1::forward;
use crate::http1::Response;
use crate::ops::metrics;
use crate::ops::status;
use crate::routes::Target;
use crate::upstream::workers::{Announcer, Done, RequestJob, Upstream};
use prost::Message;
use proto::pb;
use proto::{Code, RpcError};
use registry_agent::policy::{self, CallSpec, Finish, Idempotency, Unsent};
use registry_agent::{Agent, Directory, HealthPolicy, RegistryConfig, Rotation};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Inner {
    rotation: Rotation,
    registry: Option<RegistryConfig>,
    agent: Mutex<Option<Agent>>,
    page: status::Page,
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
        let rotation =
            Rotation::start(directory, registry_agent::all_but_balancers(), HealthPolicy::default(), connect_timeout);
        let inner = Arc::new(Inner { rotation, registry, agent: Mutex::new(None), page: status::Page::new() });
        RpcUpstream { inner }
    }
}

/// HTTP statuses inside a `Web/Handle` reply that mean "this instance
/// cannot serve; try another", as RPC `UNAVAILABLE` does.
pub fn unavailable_status(status: u16) -> bool {
    matches!(status, 502 | 503)
}

/// The `status` of an encoded `HttpResponse` (its field 1), read without
/// copying the headers and the body: every reply is checked for a 502/503
/// before it is decoded once, for the client (`reply`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HttpStatus {
    #[prost(uint32, tag = "1")]
    pub status: u32,
}

/// [`CallSpec::unavailable`] for `Web/Handle`: the RPC rule, or a 502/503 page.
fn web_unavailable(r: &pb::Response) -> bool {
    policy::rpc_unavailable(r)
        || (Code::from_u32(r.status) == Code::Ok
            && HttpStatus::decode(&r.payload[..]).is_ok_and(|h| unavailable_status(h.status as u16)))
}

impl Upstream for RpcUpstream {
    fn wait_ready(&self, services: &[String], limit: Duration) -> bool {
        let directory = self.inner.rotation.directory();
        let end = Instant::now() + limit;
        let mut snap = directory.snapshot();
        loop {
            if services.iter().all(|s| !snap.instances(s).is_empty()) {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            snap = directory.wait_newer(snap.version, end - now);
        }
    }

    fn forward(&self, job: RequestJob, done: Done) {
        if let Some(call) = self.call(job, done) {
            call.start();
        }
    }

    fn catalog(&self) -> serde_json::Value {
        let snap = self.inner.rotation.directory().snapshot();
        let pool = self.inner.rotation.pool();
        let in_flight = |addr: &str| addr.parse::<SocketAddr>().map(|a| pool.in_flight(&a)).unwrap_or(0);
        crate::upstream::catalog::build(&snap.services, &in_flight, true)
    }

    fn status(&self, path: &str) -> Response {
        let inner = &self.inner;
        let agent = inner.agent.lock().unwrap_or_else(|e| e.into_inner());
        let me = agent.as_ref().map(|a| a.instance_id().to_string());
        drop(agent);
        let sources =
            status::Sources { rotation: &inner.rotation, registry: inner.registry.as_ref(), me, page: &inner.page };
        status::serve(&sources, path)
    }

    fn register(&self, listen: SocketAddr) {
        let Some(cfg) = self.inner.registry.clone() else { return };
        let pool = self.inner.clone();
        let load = Arc::new(move || pool.rotation.pool().total_in_flight() as u64);
        match Agent::start(cfg, registry_agent::BALANCER_SERVICE, advertised(listen), status::descriptor(), load) {
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

impl RpcUpstream {
    /// `job` as a `Web/Handle` call, not sent yet; `None` when it was
    /// answered instead (not a service route).
    pub fn call(&self, job: RequestJob, done: Done) -> Option<Call> {
        let Target::Service(service) = &job.target else {
            done.finish(Response::error(500, "not a service route"));
            return None;
        };
        let spec = CallSpec {
            service: service.clone(),
            method: proto::methods::WEB_HANDLE.to_string(),
            request_id: job.request_id.clone(),
            metadata: Vec::new(),
            idempotency: Idempotency::of_http(&job.request.head.method),
            payload: forward::http_request(job.request, job.client, &job.request_id).encode_to_vec(),
            deadline: job.deadline,
            unavailable: web_unavailable,
        };
        let announcer = done.announcer();
        let finish: Finish = Box::new(move |r| done.finish(reply(r)));
        Some(Call { inner: self.inner.clone(), unsent: Unsent::new(spec, finish), announcer })
    }
}

/// One request's call, built on the event loop and sent from there when
/// that cannot wait ([`Call::start_here`]), else by a worker ([`Call::start`]).
pub struct Call {
    inner: Arc<Inner>,
    unsent: Unsent,
    announcer: Announcer,
}

impl Call {
    pub fn request_id(&self) -> &str {
        &self.unsent.spec().request_id
    }

    /// Sends the call from a thread that must not wait, if it can be sent
    /// without waiting (`policy::try_start`); else hands it back.
    pub fn start_here(self) -> Option<Call> {
        let Call { inner, unsent, announcer } = self;
        match policy::try_start(&inner.rotation, unsent) {
            Ok(flight) => {
                metrics::get().sent_by_loop.fetch_add(1, Ordering::Relaxed);
                announcer.started(Box::new(move || flight.cancel()));
                None
            }
            Err(unsent) => Some(Call { inner, unsent, announcer }),
        }
    }

    /// Sends the call; may wait (to dial, or for a peer slow to read).
    pub fn start(self) {
        metrics::get().sent_by_worker.fetch_add(1, Ordering::Relaxed);
        let flight = self.unsent.start(&self.inner.rotation);
        self.announcer.started(Box::new(move || flight.cancel()));
    }

    /// Answers 503 + `Retry-After: 1` (`why`) without sending the call.
    pub fn shed(self, why: &str) {
        self.unsent.fail(RpcError::Status(proto::Status::new(Code::Unavailable, why)));
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
        Ok(r) if r.status == Code::Ok as u32 => match pb::HttpResponse::decode(r.payload) {
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
#[path = "../../tests/unit/upstream/rpc.rs"]
mod tests;
