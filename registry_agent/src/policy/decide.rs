//! What to do when an attempt failed or is late: retry, hedge, or give up.
//!
//! What matters is whether the instance can have acted on the request:
//!
//! - **Not sent** (the connect was refused, the pooled connection was
//!   already closed, or it broke while the request was being written — a
//!   frame cut short is never handled): nothing happened anywhere, so any
//!   request is retried on another instance, without touching the budget.
//! - **Lost** (the connection reset before the reply) or **Unavailable**
//!   (the instance answered that it cannot serve: RPC `UNAVAILABLE`, or an
//!   HTTP 502/503 inside a `Web/Handle` reply): the request may have run.
//!   Only a [`Repeatable`](Idempotency::Repeatable) request is sent again,
//!   and only within the retry budget.
//! - **Slow** (no reply by the attempt's per-try timeout, see `latency`): the
//!   instance may be frozen, or only slow. A repeatable request is *hedged*
//!   within the budget: a second attempt goes to another instance and the
//!   first reply wins; the slow attempt is not cancelled, because it may
//!   still be the first to answer. (The attempt loop asks only when another
//!   instance answered meanwhile: a slowness every instance shares is not
//!   helped by a second attempt.) A request sent once is left to its
//!   instance until the caller's deadline.
//! - Anything else (a reply, the caller's deadline) is the answer.
//!
//! Whatever the reason, no request makes more than [`MAX_ATTEMPTS`]
//! attempts, the first included (gRPC caps `maxAttempts` at 5; three are
//! enough to get past one dead and one frozen instance).

use super::budget::Budget;
use super::idempotency::Idempotency;

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// How an attempt went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request certainly did not reach the instance.
    NotSent,
    /// Sent, and the connection was lost before the reply.
    Lost,
    /// Sent, and the instance answered that it cannot serve.
    Unavailable,
    /// Sent, and no reply by the per-try timeout; still outstanding.
    Slow,
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request to another instance; this attempt is over.
    Retry,
    /// Send the request to another instance too; the slow attempt stays,
    /// and the first reply wins. (A caller that can hold only one attempt,
    /// the static HTTP path, abandons the slow one, as Envoy does without
    /// `hedge_on_per_try_timeout`.)
    Hedge,
    /// No more attempts: answer with this outcome, or keep waiting for the
    /// attempts still outstanding.
    GiveUp,
}

/// The decision for attempt number `attempt` (1 for the first) that ended
/// with `failure`; draws on `budget` only when it sends the request again
/// after it may have run.
pub fn decide(failure: Failure, idempotency: Idempotency, attempt: u32, budget: &dyn Budget) -> Decision {
    if attempt >= MAX_ATTEMPTS {
        return Decision::GiveUp;
    }
    let again = match failure {
        Failure::NotSent => return Decision::Retry,
        Failure::Lost | Failure::Unavailable => Decision::Retry,
        Failure::Slow => Decision::Hedge,
    };
    if idempotency.repeatable() && budget.withdraw() {
        again
    } else {
        Decision::GiveUp
    }
}
