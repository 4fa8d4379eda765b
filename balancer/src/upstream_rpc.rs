//! Registry mode: requests become `/stackwire.Web/Handle` calls to live
//! service instances.
//!
//! Instances are discovered only through the registry: `Directory` keeps a
//! snapshot fresh (every 500 ms and at once on register/deregister events),
//! and every request reads the current snapshot, so a new instance takes
//! traffic as soon as the balancer has seen it, and a vanished one stops
//! being chosen.
//!
//! One multiplexed `proto::Connection` per instance is kept open and shared
//! by every request to it. A worker picks the instance (`select::order` over
//! our own in-flight counts, ties broken by the load the instance reported),
//! then calls `Connection::start`, which writes the call and returns at once;
//! the worker is free again while the service works. The reply runs the
//! completion on the connection's reader thread, which turns it into a
//! response and hands it to the event loop. So a slow service ties up no
//! thread of ours, only a table entry.
//!
//! Failure handling follows from what is known to have happened:
//! - dialing fails: the call was never sent, so the next instance is tried;
//! - a pooled connection is dead (`is_dead`): it is dropped and re-dialed;
//! - no instance at all, or none reachable: 503 with `Retry-After: 1`;
//! - the service answers with a status: the HTTP status `Code::http_status`
//!   gives, with the service's message as a JSON error;
//! - no reply by the deadline: the event loop answers 504 and sends us the
//!   cancel handle, which forgets the call (and releases its in-flight count).

use crate::forward;
use crate::http1::Response;
use crate::routes::Target;
use crate::select::{self, Candidate};
use crate::workers::{Done, RequestJob, Upstream};
use prost::Message;
use proto::pb;
use proto::{Code, Connection, RpcError};
use registry_agent::Directory;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    /// Requests we are waiting on at this instance.
    in_flight: Arc<AtomicUsize>,
}

/// Decrements an in-flight count when the call ends, however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct RpcUpstream {
    directory: Directory,
    pool: Mutex<HashMap<SocketAddr, Slot>>,
    rotate: AtomicUsize,
    /// Snapshot version whose instances the pool was last pruned to.
    pruned: AtomicU64,
    connect_timeout: Duration,
}

impl RpcUpstream {
    pub fn new(directory: Directory, connect_timeout: Duration) -> RpcUpstream {
        RpcUpstream {
            directory,
            pool: Mutex::new(HashMap::new()),
            rotate: AtomicUsize::new(0),
            pruned: AtomicU64::new(0),
            connect_timeout,
        }
    }

    fn pool(&self) -> MutexGuard<'_, HashMap<SocketAddr, Slot>> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A live connection to `addr` and its in-flight counter, dialing if needed.
    fn connection(&self, addr: SocketAddr) -> Result<(Connection, Arc<AtomicUsize>), RpcError> {
        {
            let mut pool = self.pool();
            let slot = pool.entry(addr).or_default();
            match &slot.conn {
                Some(c) if !c.is_dead() => return Ok((c.clone(), slot.in_flight.clone())),
                Some(_) => {
                    log::info!(target: "balancer", "connection to {addr} is dead; re-dialing");
                    slot.conn = None;
                }
                None => {}
            }
        }
        // Dial without the lock, so one unreachable instance cannot stall
        // workers serving the others.
        let fresh = Connection::connect(addr, self.connect_timeout, proto::frame::DEFAULT_MAX_MESSAGE)?;
        let mut pool = self.pool();
        let slot = pool.entry(addr).or_default();
        match &slot.conn {
            Some(c) if !c.is_dead() => Ok((c.clone(), slot.in_flight.clone())),
            _ => {
                slot.conn = Some(fresh.clone());
                Ok((fresh, slot.in_flight.clone()))
            }
        }
    }

    /// Closes connections to instances that left the registry.
    fn prune(&self, snap: &registry_agent::Snapshot) {
        if self.pruned.swap(snap.version, Ordering::Relaxed) == snap.version {
            return;
        }
        let live: Vec<SocketAddr> = snap.services.values().flatten().filter_map(|r| r.addr.parse().ok()).collect();
        self.pool().retain(|addr, slot| live.contains(addr) || slot.in_flight.load(Ordering::Relaxed) > 0);
    }

    fn in_flight_of(&self, addr: &str) -> usize {
        let Ok(a) = addr.parse::<SocketAddr>() else { return 0 };
        self.pool().get(&a).map(|s| s.in_flight.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

impl Upstream for RpcUpstream {
    fn forward(&self, job: RequestJob, done: Done) {
        let Target::Service(service) = &job.target else {
            done.finish(Response::error(500, "not a service route"));
            return;
        };
        let snap = self.directory.snapshot();
        self.prune(&snap);
        let instances: Vec<(SocketAddr, u64)> = snap
            .instances(service)
            .iter()
            .filter_map(|r| r.addr.parse::<SocketAddr>().ok().map(|a| (a, r.load)))
            .collect();
        let cands: Vec<Candidate> = {
            let pool = self.pool();
            instances
                .iter()
                .map(|(a, load)| Candidate {
                    in_flight: pool.get(a).map(|s| s.in_flight.load(Ordering::Relaxed)).unwrap_or(0),
                    load: *load,
                })
                .collect()
        };
        let order = select::order(&cands, self.rotate.fetch_add(1, Ordering::Relaxed));
        let service = service.clone();
        let timeout = job.deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let request_id = job.request_id.clone();
        let payload = forward::http_request(job.request, job.client, &request_id).encode_to_vec();
        for i in order {
            let addr = instances[i].0;
            let (conn, counter) = match self.connection(addr) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "balancer", "{service} at {addr}: {e}; trying the next instance");
                    continue;
                }
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let guard = InFlight(counter);
            let announcer = done.announcer();
            let call = conn.start(
                proto::methods::WEB_HANDLE,
                &request_id,
                timeout,
                payload,
                Box::new(move |result| {
                    drop(guard);
                    done.finish(reply(result));
                }),
            );
            announcer.started(Box::new(move || conn.cancel(call)));
            return;
        }
        let msg = if instances.is_empty() {
            format!("no live instance of {service}")
        } else {
            format!("no reachable instance of {service}")
        };
        log::warn!(target: "balancer", "{msg}; answering 503");
        done.finish(Response::error(503, &msg).with_header("Retry-After", "1"));
    }

    fn catalog(&self) -> serde_json::Value {
        let snap = self.directory.snapshot();
        crate::catalog::build(&snap.services, &|addr| self.in_flight_of(addr), true)
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
}
