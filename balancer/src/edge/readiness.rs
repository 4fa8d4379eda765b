//! Readiness bookkeeping for an edge-triggered socket, as Sōzu keeps it.
//!
//! A socket is registered once for both directions, edge-triggered, so the
//! kernel reports each change once. `event` keeps what it has reported and
//! we have not used up: a read or write that returns `WouldBlock` clears its
//! bit, and so does a short read — on Linux an edge-triggered socket reports
//! every new arrival, so a read that did not fill the buffer has taken
//! everything there was, and trying again would only cost a system call that
//! says so. The exception is a peer's FIN reported along with the data
//! (`hup`): only a further read turns it into EOF, and no later event will
//! come for it, so then the read bit stays. `interest` is what the owner's
//! state wants right now (bytes only while reading, the write side only
//! while output is pending); acting on `event & interest` is what makes
//! backpressure cost no system call.
//!
//! Reads land in one scratch buffer per thread before being appended to the
//! owner's buffer, so an idle connection holds no read buffer and no read
//! pays for zeroing one. Both the client connections (`edge::conn`) and the
//! static upstream connections (`upstream::http::upconn`) use this.

use mio::event::Event;
use std::io::{ErrorKind, Read, Write};

/// A set of readiness bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    pub const READ: Ready = Ready(1);
    pub const WRITE: Ready = Ready(2);
    pub const BOTH: Ready = Ready(3);

    #[inline]
    pub fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    #[inline]
    fn insert(&mut self, other: Ready) {
        self.0 |= other.0;
    }

    #[inline]
    fn remove(&mut self, other: Ready) {
        self.0 &= !other.0;
    }
}

/// What the kernel reported and what the owner wants.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// Reported and not yet used up.
    pub event: Ready,
    /// Wanted in the owner's current state.
    pub interest: Ready,
    /// The peer's FIN (or an error) has been reported; never cleared.
    pub hup: bool,
}

/// Most bytes one read takes.
pub const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

impl Readiness {
    /// `event` as assumed before the first report; `interest` in both directions.
    pub fn new(event: Ready) -> Readiness {
        Readiness { event, interest: Ready::BOTH, hup: false }
    }

    /// Takes in what the poll reported.
    #[inline]
    pub fn on_event(&mut self, ev: &Event) {
        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
            self.event.insert(Ready::READ);
        }
        // The peer's FIN may arrive with the data: reading the data will not
        // show it, and no later event will come for it.
        self.hup |= ev.is_read_closed() || ev.is_error();
        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
            self.event.insert(Ready::WRITE);
        }
    }

    /// Sets whether the owner's state wants direction `d`.
    #[inline]
    pub fn want(&mut self, d: Ready, wanted: bool) {
        if wanted {
            self.interest.insert(d);
        } else {
            self.interest.remove(d);
        }
    }

    /// Whether acting in direction `d` may find the socket ready and is wanted.
    #[inline]
    pub fn can(&self, d: Ready) -> bool {
        self.event.contains(d) && self.interest.contains(d)
    }

    /// The socket answered `WouldBlock` in direction `d`.
    #[inline]
    pub fn blocked(&mut self, d: Ready) {
        self.event.remove(d);
    }

    /// Reads at most `max` bytes (≤ [`READ_CHUNK`]) from `sock` onto the end
    /// of `buf`, keeping the read bit as described above; `Ok(0)` is EOF.
    pub fn read(&mut self, sock: &mut impl Read, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
        let r: std::io::Result<(usize, bool)> = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let want = max.min(s.len());
            let n = sock.read(&mut s[..want])?;
            buf.extend_from_slice(&s[..n]);
            Ok((n, n < want))
        });
        match r {
            Ok((n, drained)) => {
                // A short read drained the socket, unless the peer's FIN was
                // reported with the data: then only reading again shows it.
                if n > 0 && drained && !self.hup {
                    self.blocked(Ready::READ);
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() == ErrorKind::WouldBlock {
                    self.blocked(Ready::READ);
                }
                Err(e)
            }
        }
    }

    /// Writes `data` once; `WouldBlock` clears the write bit.
    pub fn write(&mut self, sock: &mut impl Write, data: &[u8]) -> std::io::Result<usize> {
        let r = sock.write(data);
        if matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock) {
            self.blocked(Ready::WRITE);
        }
        r
    }

    /// [`Readiness::write`] of several buffers in one system call (`writev`).
    pub fn write_vectored(&mut self, sock: &mut impl Write, data: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        let r = sock.write_vectored(data);
        if matches!(&r, Err(e) if e.kind() == ErrorKind::WouldBlock) {
            self.blocked(Ready::WRITE);
        }
        r
    }
}
