//! What a connection wants to do and what the socket allows, kept apart.
//!
//! mio registers every socket edge-triggered: an event says "this became
//! readable", once, and nothing more is said until a read returns
//! `WouldBlock`. So the loop remembers each event (`event`) until the socket
//! has been drained, and separately what the connection wants right now
//! (`interest`). It acts on `interest & event`. Backpressure is dropping
//! `READABLE` from `interest`: the bytes stay in the kernel, TCP's window
//! closes on the peer, and when interest comes back the remembered event says
//! there may be something to read without waiting for an edge that will never
//! come. This is Sōzu's `Readiness`, for the same reason.

use std::ops::{BitAnd, BitOr};

/// A set of readiness bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ready(u8);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(1);
    pub(crate) const WRITABLE: Ready = Ready(2);
    /// The peer hung up or the socket has an error: nothing more will come.
    pub(crate) const HUP: Ready = Ready(4);

    pub(crate) fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub(crate) fn insert(&mut self, other: Ready) {
        self.0 |= other.0;
    }

    pub(crate) fn remove(&mut self, other: Ready) {
        self.0 &= !other.0;
    }

    /// The bits a mio event reports.
    pub(crate) fn from_event(e: &mio::event::Event) -> Ready {
        let mut r = Ready::EMPTY;
        if e.is_readable() || e.is_read_closed() {
            r.insert(Ready::READABLE);
        }
        if e.is_writable() {
            r.insert(Ready::WRITABLE);
        }
        if e.is_error() || (e.is_read_closed() && e.is_write_closed()) {
            r.insert(Ready::HUP);
        }
        r
    }
}

impl BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, o: Ready) -> Ready {
        Ready(self.0 & o.0)
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, o: Ready) -> Ready {
        Ready(self.0 | o.0)
    }
}

/// What a connection wants and what its socket has reported.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Readiness {
    pub(crate) interest: Ready,
    pub(crate) event: Ready,
}

impl Readiness {
    /// A fresh connection: wants to read and write, nothing reported yet.
    pub(crate) fn new() -> Readiness {
        Readiness { interest: Ready::READABLE | Ready::WRITABLE, event: Ready::EMPTY }
    }

    /// What the connection may do now.
    pub(crate) fn ready(&self) -> Ready {
        self.interest & self.event
    }
}
