//! Calls to other services, with a deadline.
//!
//! [`Dependency`] is a service we call, through its typed client generated
//! from the proto (`proto::services`). Every call carries the request id of
//! the call we are serving (so one user request has one JID in every log) and
//! a timeout no longer than what our own caller has left, capped; a call we
//! have no time left for is not started. A failed call becomes a `Status`: the
//! callee's own status when it answered, UNAVAILABLE or DEADLINE_EXCEEDED when
//! it could not, with the dependency named in the message and the log. When
//! no instance is known, the registry is re-read once before giving up, so a
//! process that started moments before its dependency does not fail its first
//! calls on a stale view.
//!
//! (Decoding requests and encoding replies, with the reply size limit, is the
//! generated dispatchers' job: `proto::services`.)

use proto::{CallContext, CallOptions, Code, RpcError, Status};
use registry_agent::{Directory, ServiceClient};
use std::time::Duration;

/// Longest we wait for another service, even when our caller would wait longer.
pub const DEPENDENCY_CAP: Duration = Duration::from_secs(5);

/// How long a call that found no instance waits for a fresher registry view.
const REFRESH_WAIT: Duration = Duration::from_millis(300);

/// Another service we call by registry name, through its typed client `C`
/// (e.g. `proto::services::user_service::Client<ServiceClient>`).
#[derive(Clone)]
pub struct Dependency<C> {
    client: C,
    service: String,
    directory: Directory,
    cap: Duration,
}

impl<C> Dependency<C> {
    /// `typed` wraps the service's channel in its typed client, e.g.
    /// `user_service::Client::new`.
    pub fn new(directory: Directory, service: &str, typed: impl FnOnce(ServiceClient) -> C) -> Dependency<C> {
        let client = typed(ServiceClient::new(directory.clone(), service));
        Dependency { client, service: service.to_string(), directory, cap: DEPENDENCY_CAP }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// One typed call within our caller's deadline: `call` makes it with the
    /// options given (it may be run twice, see the module's notes).
    pub fn call<R>(
        &self,
        ctx: &CallContext<'_>,
        call: impl Fn(&C, &CallOptions<'_>) -> Result<R, RpcError>,
    ) -> Result<R, Status> {
        let timeout = ctx.remaining(self.cap);
        if timeout < Duration::from_millis(1) {
            return Err(Status::new(
                Code::DeadlineExceeded,
                format!("no time left to call the {} service", self.service()),
            ));
        }
        let mut result = call(&self.client, &CallOptions::new(ctx.request_id, timeout));
        if matches!(result, Err(RpcError::NoInstance(_))) {
            // Our view may predate the dependency's registration (both just
            // started, say): re-read the registry once before giving up. The
            // call never left this process, so repeating it is safe.
            let version = self.directory.snapshot().version;
            self.directory.refresh_now();
            self.directory.wait_newer(version, ctx.remaining(REFRESH_WAIT));
            let timeout = ctx.remaining(self.cap);
            if timeout >= Duration::from_millis(1) {
                result = call(&self.client, &CallOptions::new(ctx.request_id, timeout));
            }
        }
        result.map_err(|e| {
            log::warn!(target: "rpc", "a call to the {} service failed: {e}", self.service());
            match e {
                RpcError::Status(s) => s,
                other => Status::new(other.code(), format!("{} service: {other}", self.service())),
            }
        })
    }
}
