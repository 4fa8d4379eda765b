//! What comes back to an HTTP/2 stream from the threads that answer it: a
//! worker's unary reply, or a streaming call's messages and end. They travel
//! to the event loop, which owns the connection's HTTP/2 state, on the
//! `State::h2_done` channel.
//!
//! Its own file because three parts speak it (the pool and the streaming
//! threads send it, the h2 connection answers it) and none of them should
//! have to import another for it.

use super::out::Shared;
use super::Metadata;
use crate::status::Status;
use std::sync::Arc;

/// What a worker or a streaming call's thread hands back to a stream.
pub(crate) enum Reply {
    /// A unary call's answer, with the handler's metadata.
    Unary { result: Result<Vec<u8>, Status>, headers: Metadata, trailers: Metadata },
    /// One framed message of a streaming call (the first carries the initial metadata).
    Message { framed: Vec<u8>, headers: Metadata },
    /// A streaming call's end.
    End { status: Result<(), Status>, trailers: Metadata },
}

impl Reply {
    /// True when the call is over (its books close when the loop has it).
    pub(crate) fn ends_call(&self) -> bool {
        !matches!(self, Reply::Message { .. })
    }
}

/// A reply on its way back to its stream.
pub(crate) struct Done {
    pub(crate) conn: Arc<Shared>,
    pub(crate) stream: u32,
    pub(crate) reply: Reply,
}
