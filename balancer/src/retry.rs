//! When the balancer may send a request again: retries that never duplicate
//! a write.
//!
//! What matters is whether the instance can have acted on the request:
//!
//! - **Never sent** (the connect was refused, the pooled connection was
//!   already closed, or it broke while the request was being written — a
//!   frame cut short is never handled): nothing happened anywhere, so any
//!   method is retried on another instance, without touching the budget.
//! - **Sent, then lost** (the connection reset before the reply, or the
//!   instance answered that it is unavailable: RPC `UNAVAILABLE`, HTTP 502 or
//!   503): the request may have run. Only idempotent methods (GET, HEAD,
//!   OPTIONS, PUT, DELETE: RFC 9110 §9.2.2) are sent again, and only within
//!   the retry budget (20% of requests, at least 3 a second), so retries
//!   cannot multiply the load on a cluster that is already failing. A POST
//!   gets its error back; the client may repeat it with the same
//!   `Idempotency-Key`, which the services honour.
//! - **Anything else** (a reply, a timeout): the answer stands. Retrying a
//!   timeout would exceed the client's deadline anyway.
//!
//! The number of attempts is capped at [`MAX_ATTEMPTS`] whatever the reason.

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request certainly did not reach the instance.
    NotSent,
    /// Sent, and the connection was lost before the reply.
    Lost,
    /// Sent, and the instance answered that it cannot serve (503 and kin).
    Unavailable,
}

/// What to do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Retry at no cost to the budget.
    Retry,
    /// Retry if the budget allows.
    RetryWithinBudget,
    /// Give the client this attempt's outcome.
    Answer,
}

/// RFC 9110 §9.2.2.
pub fn idempotent(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE")
}

/// HTTP statuses from an instance that mean "try someone else".
pub fn unavailable_status(status: u16) -> bool {
    matches!(status, 502 | 503)
}

/// The decision for attempt number `attempt` (1 for the first) of a
/// request with `method` that failed with `failure`.
pub fn decide(method: &str, failure: Failure, attempt: u32) -> Decision {
    if attempt >= MAX_ATTEMPTS {
        return Decision::Answer;
    }
    match failure {
        Failure::NotSent => Decision::Retry,
        Failure::Lost | Failure::Unavailable if idempotent(method) => Decision::RetryWithinBudget,
        _ => Decision::Answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_sent_requests_are_retried_whatever_the_method() {
        for m in ["GET", "POST", "PATCH", "DELETE"] {
            assert_eq!(decide(m, Failure::NotSent, 1), Decision::Retry, "{m}");
            assert_eq!(decide(m, Failure::NotSent, 2), Decision::Retry, "{m}");
            assert_eq!(decide(m, Failure::NotSent, MAX_ATTEMPTS), Decision::Answer, "{m}");
        }
    }

    #[test]
    fn sent_requests_are_retried_only_when_idempotent_and_budgeted() {
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] {
            assert_eq!(decide(m, Failure::Lost, 1), Decision::RetryWithinBudget, "{m}");
            assert_eq!(decide(m, Failure::Unavailable, 2), Decision::RetryWithinBudget, "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT", "get"] {
            assert_eq!(decide(m, Failure::Lost, 1), Decision::Answer, "{m}");
            assert_eq!(decide(m, Failure::Unavailable, 1), Decision::Answer, "{m}");
        }
    }

    #[test]
    fn only_502_and_503_ask_for_another_instance() {
        assert!(unavailable_status(502) && unavailable_status(503));
        for s in [200, 404, 500, 501, 504] {
            assert!(!unavailable_status(s), "{s}");
        }
    }
}
