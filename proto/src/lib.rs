//! Everything on the wire between stackwire processes, in one crate, so that no
//! wire format is written twice.
//!
//! - `pb`: the prost types generated from `proto/stackwire.proto`.
//! - `frame`: gRPC's 5-byte length prefix, with a maximum checked before allocation.
//! - `rpc_client` / `rpc_server`: request/response envelopes multiplexed by call id
//!   over one TCP connection (the server: one mio event loop and a bounded worker
//!   pool); status codes in `status` use gRPC's numbers.
//! - `methods`: every method path and its idempotency, generated from the proto's
//!   `service` blocks; `services`: each service's typed server trait,
//!   dispatcher and client, generated from the same blocks.
//! - `metadata`: custom metadata of a call, and the bearer credential in it.
//! - `fields`: the limits of a post's fields and the question list's sort
//!   orders, read by the services (which enforce them) and the webui alike.
//! - `limits`: every per-user and per-address limit of the product, in one table.
//! - `http`: forms, query strings and `HttpResponse` builders used on both sides
//!   of the balancer → service hop.
//! - `logger`, `clock`, `ids`: the worker-log format and the request id (JID)
//!   that ties one request's lines together across processes.
//! - `signals`: SIGTERM/SIGHUP delivered as channel messages.
//! - `alloc`: the C allocator's trim threshold, set first thing by every server binary.

pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/", "stackwire.rs"));
    pub use health::{health_check_response, HealthCheckRequest, HealthCheckResponse};

    /// gRPC's standard health service, `grpc.health.v1` (its messages are
    /// re-exported above).
    mod health {
        include!(concat!(env!("OUT_DIR"), "/grpc.health.v1.rs"));
    }

    /// gRPC server reflection, `grpc.reflection.v1` (v1alpha has the same
    /// messages); only the server's reflection service reads it.
    #[allow(clippy::enum_variant_names)] // prost's names for the proto's oneof
    pub(crate) mod reflection {
        include!(concat!(env!("OUT_DIR"), "/grpc.reflection.v1.rs"));
    }
}

pub mod alloc;
pub mod clock;
pub mod fields;
pub mod frame;
pub mod h2;
pub mod headline;
pub mod http;
pub mod ids;
pub mod limits;
pub mod log_sink;
pub mod logger;
pub mod metadata;
pub mod methods;
pub mod rpc_client;
pub mod rpc_server;
pub mod services;
pub mod signals;
mod status;

pub use rpc_client::{CallOptions, Channel, Connection, Replies, RpcError, SendNow, Wire};
pub use rpc_server::{CallContext, Handler, ServerConfig, ServerHandle};
pub use status::{Code, Status};
