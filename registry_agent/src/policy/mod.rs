//! The call policy: which instance a request goes to, whether it may go
//! again, when a slow attempt is hedged, and the loop that carries a request
//! across its attempts. Every client of a service calls this one module: the
//! balancer's registry path (`upstream::rpc`), its static HTTP path
//! (`proxy`, which shares the rules but drives its own connections), and
//! `ServiceClient` in the web UIs and the services; so the hops
//! balancer → web UI → service all behave alike.
//!
//! | part | rule |
//! |------|------|
//! | [`SelectionKey`] | the order instances are tried in; [`is_slow`] puts slow-but-answering ones last |
//! | [`Idempotency`] | whether a request may be sent twice (proto option for RPC, RFC 9110 for HTTP) |
//! | [`decide`] | retry, hedge or give up after a failure or a per-try timeout |
//! | [`RetryBudget`] | retries and hedges add at most 20% (at least 3 a second) |
//! | [`per_try_timeout`] | `clamp(4 × Peak-EWMA, 100 ms, 1 s)`, see `latency` for why |
//! | [`start`] / [`try_start`] / [`call_blocking`] | the attempt loop, from a completion, an event loop or a blocking caller |
//!
//! A gray failure — an instance frozen by `SIGSTOP`, wedged on a lock,
//! swapping — keeps its connections open and its registry record alive, so
//! neither a refused connect nor the registry notices it; only time does.
//! Without a per-try timeout every call already sent to it waits for the
//! caller's whole deadline. With one, a repeatable call is hedged on another
//! instance after a few multiples of the instance's usual latency, provided
//! another instance answered meanwhile (else the whole service is slow and a
//! hedge would only add load; `attempts`), the calls
//! stuck on it keep counting as in flight so new calls go elsewhere, and
//! each hedge that beats it counts towards its ejection (`health`).

mod attempts;
mod budget;
mod decide;
mod idempotency;
mod key;
mod latency;
mod timer;

pub use attempts::{call_blocking, rpc_unavailable, start, try_start, CallSpec, Finish, Flight, Unsent};
pub use budget::{Budget, RetryBudget};
pub use decide::{decide, Decision, Failure, MAX_ATTEMPTS};
pub use idempotency::Idempotency;
pub use key::{is_slow, SelectionKey, SLOW_FLOOR, SLOW_MULTIPLE};
pub use latency::{
    per_try_timeout, Latencies, PeakEwma, DEFAULT_DECAY, DEFAULT_RTT, PER_TRY_CEILING, PER_TRY_FLOOR, PER_TRY_MULTIPLE,
    RECENT_DECAY,
};
