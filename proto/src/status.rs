//! RPC status codes: gRPC's numbering, so an operator who knows gRPC reads our
//! logs without a table, and HTTP mappings so every service answers the edge
//! with the same status for the same failure.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    pub fn from_u32(n: u32) -> Code {
        use Code::*;
        match n {
            0 => Ok,
            1 => Cancelled,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            _ => Unknown,
        }
    }

    /// The HTTP status the edge shows for a failed call with this code.
    pub fn http_status(self) -> u16 {
        use Code::*;
        match self {
            Ok => 200,
            InvalidArgument | OutOfRange => 400,
            // The one use: an Idempotency-Key reused for a different request
            // (Stripe's and the IETF draft's 422).
            FailedPrecondition => 422,
            Unauthenticated => 401,
            PermissionDenied => 403,
            NotFound => 404,
            AlreadyExists | Aborted => 409,
            ResourceExhausted => 429,
            Cancelled => 499,
            Unimplemented => 501,
            Unavailable => 503,
            DeadlineExceeded => 504,
            Unknown | Internal | DataLoss => 500,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self, *self as u32)
    }
}

/// A failed call as the callee reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Status {
    pub code: Code,
    pub message: String,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status { code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Status {
        Status::new(Code::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Status {
        Status::new(Code::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Status {
        Status::new(Code::Internal, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Status {
        Status::new(Code::Unavailable, message)
    }
}

#[cfg(test)]
#[path = "../tests/unit/status.rs"]
mod tests;
