//! Reading a native connection's replies: by a thread of its own, or by
//! the event loop of a process that has one.
//!
//! By default each connection has a reader thread that sleeps in `recv()`
//! and runs each reply's completion. For a process whose calls are made
//! and answered by an event loop (the balancer) that costs two wake-ups
//! per reply: the reader thread's, then the loop's, to which the
//! completion hands the reply. Such a process names a host instead
//! ([`read_on`]): every connection's reading side, a [`Replies`], goes into
//! the host's poll, and the loop reads the replies itself when the socket
//! is readable and runs their completions on the spot; a loop already
//! awake serving others reads them without anybody being woken.
//!
//! A connection dialed before the host is named (the health prober dials
//! every instance at start-up, before the loops run) starts with a thread,
//! which hands the reading over at its first frame boundary after the host
//! appears, with nothing read ahead (so no byte is lost in the move). A host
//! that cannot take one (its loop has stopped) hands it back, and the
//! thread goes on.
//!
//! Both ways share this file's buffer and rules: bytes are read into one
//! buffer and whole frames cut from its front without copies (a reply's
//! payload, and a page inside it, is a slice of what was read); what a frame
//! means and how a connection ends are `super::on_frame` and
//! `super::fail_all`, as they always were. The socket stays blocking for
//! the writers that share it: the loop reads with `MSG_DONTWAIT`, and until
//! the kernel has nothing more, since its poll reports a socket once per
//! arrival (edge-triggered).

use super::{fail_all, on_frame, Inner};
use crate::frame::{self, PREFIX_LEN};
use bytes::BytesMut;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{OnceLock, Weak};

/// Takes a connection's reading into an event loop, or hands it back.
pub type Host = Box<dyn Fn(Replies) -> Result<(), Replies> + Send + Sync>;

static HOST: OnceLock<Host> = OnceLock::new();

/// Room kept free in the buffer before each read.
const READ_ROOM: usize = 16 << 10;
/// What the buffer grows by when it lacks that room.
const READ_CHUNK: usize = 64 << 10;

/// Names the host that reads every native connection's replies from now
/// on (and, at their next frame boundary, those already open); once per
/// process. `false` if one was named already.
pub fn read_on(host: Host) -> bool {
    HOST.set(host).is_ok()
}

/// The reading side of one native connection.
pub struct Replies {
    stream: TcpStream,
    inner: Weak<Inner>,
    /// Bytes read and not yet cut into frames.
    buf: BytesMut,
    max_message: usize,
    /// The connection is over: its callers have been told.
    ended: bool,
}

impl Replies {
    pub(super) fn new(stream: TcpStream, inner: Weak<Inner>, max_message: usize) -> Replies {
        Replies { stream, inner, buf: BytesMut::new(), max_message, ended: false }
    }

    /// The socket, for the host's poll (readable interest).
    pub fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Reads every reply that has arrived, without waiting, and runs their
    /// completions. `false` once the connection is over (the host then
    /// deregisters [`Replies::fd`] and drops this).
    pub fn read_ready(&mut self) -> bool {
        loop {
            match self.fill(libc::MSG_DONTWAIT) {
                Some(true) => {}
                Some(false) => return false,
                None => return true,
            }
        }
    }

    /// One `recv` with `flags` and the frames it completes: `Some(true)`
    /// after bytes, `Some(false)` when the connection is over, `None` when
    /// nothing was there (`MSG_DONTWAIT`).
    fn fill(&mut self, flags: libc::c_int) -> Option<bool> {
        loop {
            if self.buf.capacity() - self.buf.len() < READ_ROOM {
                self.buf.reserve(READ_CHUNK);
            }
            let fd = self.fd();
            let spare = self.buf.spare_capacity_mut();
            // SAFETY: `recv` writes at most `spare.len()` bytes into the
            // buffer's spare capacity, and returns how many it wrote.
            let n = unsafe { libc::recv(fd, spare.as_mut_ptr().cast(), spare.len(), flags) };
            if n > 0 {
                // SAFETY: those `n` bytes were just initialised by `recv`.
                unsafe { self.buf.set_len(self.buf.len() + n as usize) };
                return Some(self.cut_frames());
            }
            if n == 0 {
                // The peer closed (between frames or not: either way the
                // calls still waiting will not be answered).
                return Some(self.end(None));
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => return None,
                _ => return Some(self.end(None)),
            }
        }
    }

    /// Hands every whole frame at the front of the buffer to its caller;
    /// `false` if one ended the connection.
    fn cut_frames(&mut self) -> bool {
        loop {
            match frame::decode(&self.buf, self.max_message) {
                Ok(Some((payload, end))) => {
                    let frame = self.buf.split_to(end).freeze().slice(payload);
                    let Some(inner) = self.inner.upgrade() else { return self.end(None) };
                    if let Err(why) = on_frame(&inner, frame) {
                        return self.end(Some(why));
                    }
                }
                Ok(None) => {
                    // A frame begun: room for all of it (its length was
                    // checked against the maximum), so that it is read in
                    // as few calls as the kernel allows.
                    if self.buf.len() >= PREFIX_LEN {
                        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
                        self.buf.reserve(PREFIX_LEN + len - self.buf.len());
                    }
                    return true;
                }
                Err(e) => {
                    let why = self.inner.upgrade().map(|i| format!("bad frame from {}: {e}", i.addr));
                    return self.end(why);
                }
            }
        }
    }

    /// The connection is over: every call still waiting fails (with `why`
    /// logged, when it is worth a line). Always `false`.
    fn end(&mut self, why: Option<String>) -> bool {
        if let Some(why) = why {
            log::warn!(target: "rpc", "{why}");
        }
        if !self.ended {
            self.ended = true;
            if let Some(inner) = self.inner.upgrade() {
                fail_all(&inner);
            }
        }
        false
    }
}

impl Drop for Replies {
    /// A reader dropped while its connection is open (its loop stopped)
    /// leaves nobody to read the replies: the calls fail now rather than
    /// wait for their deadlines.
    fn drop(&mut self) {
        self.end(None);
    }
}

/// Starts reading `replies`: on the host's loop when there is one, else on
/// a thread of its own (named `name`).
pub(super) fn start(replies: Replies, name: String) -> std::io::Result<()> {
    let Err(replies) = offer(replies) else { return Ok(()) };
    std::thread::Builder::new().name(name).spawn(move || read_on_thread(replies)).map(drop)
}

fn offer(replies: Replies) -> Result<(), Replies> {
    match HOST.get() {
        Some(host) => host(replies),
        None => Err(replies),
    }
}

/// The reader thread: blocking reads until the connection ends, or until a
/// host takes the reading at a frame boundary.
fn read_on_thread(mut replies: Replies) {
    loop {
        if replies.buf.is_empty() && HOST.get().is_some() {
            match offer(replies) {
                Ok(()) => return,
                Err(back) => replies = back,
            }
        }
        if replies.fill(0) == Some(false) {
            return;
        }
    }
}
