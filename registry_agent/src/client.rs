//! RPC to a service by name.
//!
//! Picks, among the instances in rotation (see `Rotation`: registry view,
//! self-preservation, health checks, outlier ejection), the one that sorts
//! first by `policy::SelectionKey`: not yet tried by this call, then the
//! fewest calls in flight on our own connection to it, then the load it
//! reports in the registry, then a turn that rotates per call; one
//! multiplexed connection per instance is kept open for reuse.
//!
//! Each call goes through `policy`'s attempt loop: retries that never
//! duplicate a write (a method may be sent again only when its proto marks it
//! `NO_SIDE_EFFECTS` or `IDEMPOTENT`), and hedges of those after a per-try
//! timeout derived from the instance's latency, within the retry budget.
//!
//! A `ServiceClient` is a `proto::Channel`: the typed clients generated from
//! the proto (`proto::services::question_service::Client<ServiceClient>`)
//! call a service by name this way.

use crate::health::HealthPolicy;
use crate::policy::{self, CallSpec, Idempotency};
use crate::rotation::Rotation;
use crate::Directory;
use proto::pb::Response;
use proto::{CallOptions, Channel, RpcError};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct ServiceClient {
    rotation: Rotation,
    service: String,
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
        ServiceClient { rotation, service: service.to_string() }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Health and ejections of the instances this client sees.
    pub fn rotation(&self) -> &Rotation {
        &self.rotation
    }
}

impl Channel for ServiceClient {
    /// One call through the attempt loop, all within `opts.timeout`.
    fn invoke(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>) -> Result<Response, RpcError> {
        let spec = CallSpec {
            service: self.service.clone(),
            method: method.to_string(),
            request_id: opts.request_id.to_string(),
            metadata: opts.metadata.to_vec(),
            payload,
            deadline: Instant::now() + opts.timeout,
            idempotency: Idempotency::of_rpc(method),
            unavailable: policy::rpc_unavailable,
        };
        policy::call_blocking(&self.rotation, spec)
    }
}
