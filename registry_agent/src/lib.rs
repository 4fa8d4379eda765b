//! The service registry: how stackwire processes find each other.
//!
//! Every instance writes a record of itself into Redis with a TTL and rewrites
//! it whole every heartbeat; an instance that stops beating simply expires. A
//! record that vanished (Redis restarted, a failover lost it) is back in full
//! at the next beat, because a beat never patches, it rewrites.
//!
//! ## Key layout (prefix defaults to `stackwire`)
//!
//! | key                               | type    | content                                   |
//! |-----------------------------------|---------|-------------------------------------------|
//! | `{prefix}:instance:{service}:{id}`| string  | JSON `InstanceRecord`, `PX` = TTL          |
//! | `{prefix}:instances:{service}`    | set     | instance ids (an index; may hold expired ids) |
//! | `{prefix}:services`               | set     | service names                              |
//! | `{prefix}:events`                 | pub/sub | `register {service} {id}` / `deregister …` |
//!
//! The per-instance key with a TTL is the truth; the sets only say where to
//! look. Readers drop index entries whose record has expired. Pub/sub is only a
//! hint to look now: messages are lost while a subscriber is disconnected, so
//! every reader also re-reads the whole listing on a short period.
//!
//! ## Replication
//! With `STACKWIRE_REDIS_SENTINELS` set, every connection asks Sentinel for
//! the current primary and asks again after any error (`store`); heartbeats
//! retry at once after a failed write, so every record is back on a new
//! primary within one heartbeat; readers keep their last view while Redis is
//! unreachable, and keep a service whose records all vanished at once while
//! its instances pass health checks (`preserve`).
//!
//! ## Parts
//! - [`Agent`]: register, heartbeat, deregister one instance.
//! - [`Directory`]: a live, locally cached view of every instance, refreshed
//!   on events and on a timer.
//! - [`Rotation`]: the instances a client may use right now: registry view,
//!   self-preservation, active and passive health, outlier ejection, pooled
//!   connections, latency estimates, retry budget.
//! - [`policy`]: the order instances are tried in, retries that never repeat
//!   a write, hedges after per-try timeouts, and the attempt loop.
//! - [`ServiceClient`]: RPC to a service by name through a `Rotation` and
//!   the policy's attempt loop.
//! - [`lifecycle`]: the graceful SIGTERM sequence every RPC process runs.
//! - [`redis_topology`]: which Redis node is primary, replicas, Sentinels.
//! - `registry_agent list|watch`: the same view for operators.

mod agent;
mod client;
mod config;
mod directory;
pub mod health;
pub mod lifecycle;
pub mod policy;
mod pool;
mod preserve;
mod record;
mod redis_nodes;
mod rotation;
mod store;

pub use agent::Agent;
pub use client::ServiceClient;
pub use config::{redact, RegistryArgs, RegistryConfig, RegistryError, SentinelConfig};
pub use directory::{Directory, Snapshot};
pub use health::{HealthPolicy, HealthView};
pub use policy::RetryBudget;
pub use record::{Descriptor, InstanceRecord, MethodDesc};
pub use redis_nodes::{redis_topology, RedisNode, RedisTopology};
pub use rotation::{all_but_balancers, Rotation};
/// A client for the registry's current primary (through the Sentinels when
/// configured), for other users of the same Redis (the coherent caches).
pub use store::client as redis_primary;
pub use store::list_once;

/// The registry name every balancer registers under.
pub const BALANCER_SERVICE: &str = "balancer";
