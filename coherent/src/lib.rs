//! Caches that every instance keeps coherent: a read served from memory is
//! never older than a write that was acknowledged before the read began, on
//! this instance or any other.
//!
//! The pieces:
//! - [`Topic`]: what a cached value depends on: one thread (`q:{id}`), one
//!   user (`u:{id}`: reputation, counts), one user's sessions (`s:{id}`: a
//!   logout), or the site as a whole (lists, tags, search, user pages).
//! - [`Versions`]: one counter per topic in Redis (the registry's Redis,
//!   found the same way, through the Sentinels when configured). Every write
//!   bumps the counters of the topics it changed, after its transaction
//!   committed and before it is acknowledged ([`Versions::bump`]); a failed
//!   bump is a failed write for the caller (retried with its idempotency key).
//!   A reader reads the counters of its topics (one `MGET`, no SQL) before it
//!   reads anything else ([`Versions::read`], a [`Stamp`]); readers that can
//!   take the answer in a callback share one round trip among all the reads
//!   asked for at that moment ([`Versions::read_later`]), made by the RPC
//!   loop that asked for them when its handler offers it the work
//!   (`loop_reads`, [`Versions::loop_work`]), else by a reader thread
//!   (`batch`).
//! - [`Store`]: a byte-bounded LRU map of values, each kept with the stamp it
//!   was read under. A value is served only if its stamp equals the one just
//!   read: no write to its topics was acknowledged since it was read.
//! - [`feed`]: the change feed. Each bump also announces its topics (with
//!   the other bumps of that moment, `publish`); every instance listens and
//!   drops the values of those topics at once, so memory goes to live values
//!   and the invalidations are counted. The feed is what
//!   keeps the caches tidy, the stamp is what keeps them right: a message
//!   arrives a moment after the write is acknowledged, and is lost while a
//!   listener reconnects; a stamp is checked on every read.
//! - [`Sessions`]: sessions the user service confirmed, kept under the
//!   version of the user's sessions, so that checking a session costs no call
//!   until one of them ends (a logout bumps it); a vote that moves the user's
//!   reputation leaves it alone.
//! - [`admin`]: `GET /metrics` on an address of its own, with every store's
//!   hits, misses, invalidations, evictions and size.
//!
//! Why a read is never stale. A write commits, then bumps (the counter is
//! now higher than any stamp read before it), then answers its client. A
//! reader stamps, then reads the database, then stores the value under that
//! stamp. A value is served when a later read's stamp equals its own: the
//! counter has not moved since the value was read, so every write
//! acknowledged before this read had bumped it before the value's own stamp
//! was taken, and so had committed before the value was read from the
//! database. Counters only grow while a Redis primary lives; a Redis that
//! lost writes (a restart, a failover with unreplicated counts) could hand
//! out an old number again, so every new connection to Redis asks the node
//! for its `run_id`, and a node other than the last one (another primary, or
//! the same one restarted) starts a new epoch; stamps carry it, and values
//! from an older epoch are never served (the store drops them). A failover
//! always breaks connections (Sentinel kills the clients of a demoted node),
//! and the next one reaches another node, so it always starts an epoch.
//! When Redis cannot be reached, nothing is served from a store and nothing
//! is stored: reads go to the database, and writes, which cannot bump, fail.

pub mod admin;
mod batch;
pub mod feed;
mod loop_reads;
mod publish;
mod resp;
mod sessions;
mod store;
mod topic;
mod versions;

pub use sessions::{Checked, Sessions};
pub use store::{Store, StoreStats, Weigh};
pub use topic::Topic;
pub use versions::{loop_client_name, BumpError, Stamp, Versions};

/// `STACKWIRE_CACHE_FEED`: `off` runs the stores without the change feed.
/// Reads stay exactly as right (the stamps decide every read); changed
/// values then linger until they are read or evicted. For tests that check
/// the stamps alone, and for sites whose Redis forbids pub/sub.
pub fn feed_enabled() -> bool {
    std::env::var("STACKWIRE_CACHE_FEED").map_or(true, |v| v.trim() != "off")
}

/// `STACKWIRE_CACHE_KB`: the byte budget of each store of a process, in KiB
/// (0 turns the stores off: every read goes to the database); `default_kb`
/// when unset or not a number.
pub fn budget_from_env(default_kb: usize) -> usize {
    std::env::var("STACKWIRE_CACHE_KB").ok().and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(default_kb) * 1024
}

/// The registry's Redis primary (through the Sentinels when configured), as
/// a client; every connection of this crate is made through it.
pub(crate) fn primary(cfg: &registry_agent::RegistryConfig) -> redis::RedisResult<redis::Client> {
    registry_agent::redis_primary(cfg)
        .map_err(|e| redis::RedisError::from((redis::ErrorKind::IoError, "no Redis primary", e.to_string())))
}
