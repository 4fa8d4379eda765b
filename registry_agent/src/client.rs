//! RPC to a service by name.
//!
//! Picks, among the instances in rotation (see `Rotation`: registry view,
//! self-preservation, health checks, outlier ejection), the one with the
//! fewest calls in flight on our own connection to it, ties broken by the
//! load it reports in the registry; one multiplexed connection per instance
//! is kept open for reuse.
//!
//! Retries never duplicate a write:
//! - a call that certainly never reached an instance (connect refused, the
//!   connection was already closed or broke while the request was written)
//!   moves on to the next instance, whatever the method;
//! - a call that was sent and then lost its connection, or came back
//!   `UNAVAILABLE`, is repeated on another instance only when the method is a
//!   read ([`is_read_method`]), and only within the retry budget;
//! - everything else is the caller's answer.
//!
//! A `ServiceClient` is a `proto::Channel`: the typed clients generated from
//! the proto (`proto::services::question_service::Client<ServiceClient>`)
//! call a service by name this way.

use crate::health::HealthPolicy;
use crate::rotation::Rotation;
use crate::Directory;
use proto::pb::Response;
use proto::{CallOptions, Channel, Code, RpcError};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts per call, the first included.
const MAX_ATTEMPTS: usize = 3;

/// True for methods whose proto marks them `NO_SIDE_EFFECTS` or `IDEMPOTENT`
/// (`proto::methods::is_idempotent`, generated from stackwire.proto):
/// repeating one has no effect beyond its answer, so it may be retried after
/// it was sent.
pub fn is_read_method(method: &str) -> bool {
    proto::methods::is_idempotent(method)
}

#[derive(Clone)]
pub struct ServiceClient {
    rotation: Rotation,
    service: String,
    rotate: Arc<AtomicUsize>,
}

impl ServiceClient {
    pub fn new(directory: Directory, service: &str) -> ServiceClient {
        let name = service.to_string();
        let rotation = Rotation::start(
            directory,
            Box::new(move |s: &str| s == name),
            HealthPolicy::default(),
            Duration::from_millis(500),
        );
        ServiceClient { rotation, service: service.to_string(), rotate: Arc::new(AtomicUsize::new(0)) }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Health and ejections of the instances this client sees.
    pub fn rotation(&self) -> &Rotation {
        &self.rotation
    }

    pub fn call(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        payload: Vec<u8>,
    ) -> Result<Response, RpcError> {
        self.invoke(method, &CallOptions::new(request_id, timeout), payload)
    }

    pub fn unary<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        req: &Req,
    ) -> Result<Resp, RpcError> {
        proto::rpc_client::unary(self, method, &CallOptions::new(request_id, timeout), req)
    }
}

impl Channel for ServiceClient {
    /// One call on the best instance, moved on or repeated elsewhere by the
    /// rules above, all within `opts.timeout`.
    fn invoke(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>) -> Result<Response, RpcError> {
        let timeout = opts.timeout;
        let deadline = Instant::now() + timeout;
        let read = is_read_method(method);
        let mut tried: Vec<SocketAddr> = Vec::new();
        let mut last = RpcError::NoInstance(self.service.clone());
        self.rotation.count_request();
        for _ in 0..MAX_ATTEMPTS {
            let rotate = self.rotate.fetch_add(1, Ordering::Relaxed);
            let Some((addr, _)) = self.rotation.candidates(&self.service, &tried, rotate).into_iter().next() else {
                break;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RpcError::DeadlineExceeded(timeout));
            }
            tried.push(addr);
            let conn = match self.rotation.pool().connection(addr) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "rpc", "{} at {addr}: {e}; trying the next instance", self.service);
                    self.rotation.connection_failed(addr, &self.service, &e.to_string());
                    last = e;
                    continue;
                }
            };
            let sent = Instant::now();
            let result = {
                let _counted = self.rotation.pool().begin(addr);
                conn.call_with(method, &CallOptions { timeout: left, ..*opts }, payload.clone())
            };
            match result {
                Ok(resp) => {
                    self.rotation.answered(addr, &self.service, Code::from_u32(resp.status));
                    let unavailable = resp.status == Code::Unavailable as u32;
                    if unavailable && read && self.rotation.try_retry() {
                        log::warn!(target: "rpc", "{} at {addr}: {method} unavailable; retrying elsewhere", self.service);
                        last = RpcError::Status(proto::Status::new(Code::Unavailable, resp.message));
                        continue;
                    }
                    return Ok(resp);
                }
                Err(e) if e.never_sent() => {
                    log::warn!(target: "rpc", "{} at {addr}: {e}; trying the next instance", self.service);
                    self.rotation.connection_failed(addr, &self.service, &e.to_string());
                    last = e;
                }
                Err(RpcError::ConnectionLost) => {
                    self.rotation.connection_failed(addr, &self.service, "connection lost");
                    if !(read && self.rotation.try_retry()) {
                        return Err(RpcError::ConnectionLost);
                    }
                    log::warn!(target: "rpc", "{} at {addr}: connection lost during {method}; retrying elsewhere", self.service);
                    last = RpcError::ConnectionLost;
                }
                Err(e) => {
                    if matches!(e, RpcError::DeadlineExceeded(_)) {
                        self.rotation.timed_out(addr, &self.service, sent);
                    }
                    return Err(e);
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_from_writes() {
        for m in [
            proto::methods::QUESTION_GET,
            proto::methods::QUESTION_LIST,
            proto::methods::QUESTION_THREAD,
            proto::methods::QUESTION_EXISTS,
            proto::methods::ANSWER_LIST_FOR_QUESTION,
            proto::methods::COMMENT_LIST_FOR_ANSWERS,
            proto::methods::USER_AUTHENTICATE,
            proto::methods::HEALTH_CHECK,
        ] {
            assert!(is_read_method(m), "{m}");
        }
        for m in [
            proto::methods::QUESTION_CREATE,
            proto::methods::ANSWER_CREATE,
            proto::methods::COMMENT_CREATE,
            proto::methods::ANSWER_ACCEPT,
            proto::methods::VOTE_CAST,
            proto::methods::USER_LOGIN,
            proto::methods::WEB_HANDLE,
        ] {
            assert!(!is_read_method(m), "{m}");
        }
    }
}
