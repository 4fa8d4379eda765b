//! Whether a request may be sent twice: the one place that says so, for RPC
//! methods and for HTTP methods alike.
//!
//! An RPC method's answer comes from its proto (`idempotency_level`, read by
//! `proto::methods::is_idempotent`): `NO_SIDE_EFFECTS` and `IDEMPOTENT` may
//! be repeated, an unmarked method may not. An HTTP request's answer comes
//! from its method (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and
//! DELETE are idempotent; the names are case-sensitive, so `get` is not).
//! A POST is never repeated by the infrastructure; its client may repeat it
//! with the same `Idempotency-Key`, which the services honour.

/// Whether sending a request again, after it may have run, is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Running it twice is the same as once: it may be retried or hedged.
    Repeatable,
    /// It may change state: once sent, it is never sent again.
    Once,
}

impl Idempotency {
    fn of(repeatable: bool) -> Idempotency {
        if repeatable {
            Idempotency::Repeatable
        } else {
            Idempotency::Once
        }
    }

    /// An RPC method, by path, as its proto declares it.
    pub fn of_rpc(method: &str) -> Idempotency {
        Idempotency::of(proto::methods::is_idempotent(method))
    }

    /// An HTTP method (RFC 9110 §9.2.2).
    pub fn of_http(method: &str) -> Idempotency {
        Idempotency::of(matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"))
    }

    pub fn repeatable(self) -> bool {
        self == Idempotency::Repeatable
    }
}
