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
//! ## Parts
//! - [`Agent`]: register, heartbeat, deregister one instance.
//! - [`Directory`]: a live, locally cached view of every instance, refreshed
//!   on events and on a timer.
//! - [`ServiceClient`]: RPC to a service by name over kept-open connections to
//!   its least-loaded live instance.
//! - `registry_agent list|watch`: the same view for operators.

mod agent;
mod client;
mod config;
mod directory;
mod record;
mod store;

pub use agent::Agent;
pub use client::ServiceClient;
pub use config::{RegistryConfig, RegistryError};
pub use directory::{Directory, Snapshot};
pub use record::{Descriptor, InstanceRecord, MethodDesc};
pub use store::list_once;
