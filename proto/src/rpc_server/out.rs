//! A connection's socket and its queue of bytes to send, shared by the event
//! loop and the worker threads.
//!
//! A worker that finishes a call writes its reply straight to the socket when
//! nothing is queued ahead of it: no hand-off back to the loop, no wake-up, no
//! copy into a loop-owned buffer. What the kernel does not take at once is
//! queued, and the loop sends the rest when the socket reports writable (the
//! socket is registered for both directions, edge-triggered, so that report
//! comes exactly when space opens after a short write). While the loop is
//! answering a batch of calls read in one go it *corks* the queue, so the
//! batch leaves in one `writev` instead of one write per reply.
//!
//! Replies are queued as the chunks they were built from: a large payload is
//! its own chunk, written with `writev` from the handler's own buffer.

use mio::net::TcpStream;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, MutexGuard};

/// Chunks at most this big are appended to the previous chunk instead of
/// being queued on their own (fewer iovecs; copying them costs nothing).
const COALESCE: usize = 16 * 1024;
/// Chunks handed to one `writev`.
const IOVECS: usize = 64;

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes of the front chunk already written.
    offset: usize,
    /// Bytes queued and not yet written.
    bytes: usize,
    /// The loop is answering a batch: queue, don't write; it flushes after.
    corked: bool,
    /// The connection is gone: replies are dropped.
    closed: bool,
}

/// One connection as the loop and the workers share it.
pub(crate) struct Shared {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// Identifies the connection across slab slot reuse.
    pub(crate) id: u64,
    /// Slab key, for workers that must wake the loop about this connection.
    pub(crate) key: usize,
    queue: Mutex<Queue>,
    /// Calls read from this connection and not yet answered.
    pub(crate) calls: AtomicUsize,
    /// The loop stopped reading because `calls` reached its cap, or the peer
    /// half-closed: the worker that answers a call must tell the loop.
    pub(crate) wants_notice: AtomicBool,
}

/// What a send left behind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Everything queued is on the wire.
    All,
    /// Bytes remain queued for the loop to send.
    Queued(usize),
    /// The connection is closed or broken; the bytes were dropped.
    Closed,
}

impl Shared {
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, id: u64, key: usize) -> Shared {
        Shared {
            stream,
            peer,
            id,
            key,
            queue: Mutex::new(Queue::default()),
            calls: AtomicUsize::new(0),
            wants_notice: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `chunks` and writes what the socket takes now (unless corked).
    pub(crate) fn send(&self, chunks: impl IntoIterator<Item = Vec<u8>>) -> Sent {
        let mut q = self.lock();
        if q.closed {
            return Sent::Closed;
        }
        for c in chunks {
            if c.is_empty() {
                continue;
            }
            q.bytes += c.len();
            match q.chunks.back_mut() {
                Some(last) if c.len() <= COALESCE && last.len() + c.len() <= 4 * COALESCE => last.extend_from_slice(&c),
                _ => q.chunks.push_back(c),
            }
        }
        if q.corked {
            return Sent::Queued(q.bytes);
        }
        self.flush_locked(&mut q)
    }

    /// Stops writing until `uncork`: the loop is answering a batch.
    pub(crate) fn cork(&self) {
        self.lock().corked = true;
    }

    /// Writes everything the batch queued.
    pub(crate) fn uncork(&self) -> Sent {
        let mut q = self.lock();
        q.corked = false;
        self.flush_locked(&mut q)
    }

    /// Writes what is queued (the loop, on a writable event).
    pub(crate) fn flush(&self) -> Sent {
        let mut q = self.lock();
        if q.corked {
            return Sent::Queued(q.bytes);
        }
        self.flush_locked(&mut q)
    }

    /// Bytes waiting for the socket.
    pub(crate) fn queued(&self) -> usize {
        self.lock().bytes
    }

    /// Drops whatever is queued and refuses later sends.
    pub(crate) fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        q.chunks.clear();
        q.bytes = 0;
    }

    fn flush_locked(&self, q: &mut Queue) -> Sent {
        if q.closed {
            return Sent::Closed;
        }
        while !q.chunks.is_empty() {
            let mut slices = [IoSlice::new(&[]); IOVECS];
            let mut n = 0;
            for (i, c) in q.chunks.iter().take(IOVECS).enumerate() {
                slices[i] = IoSlice::new(if i == 0 { &c[q.offset..] } else { c });
                n += 1;
            }
            match (&self.stream).write_vectored(&slices[..n]) {
                Ok(0) => {
                    q.closed = true;
                    return Sent::Closed;
                }
                Ok(mut written) => {
                    q.bytes -= written;
                    while written > 0 {
                        let front = q.chunks.front().map_or(0, |c| c.len()) - q.offset;
                        if written >= front {
                            written -= front;
                            q.chunks.pop_front();
                            q.offset = 0;
                        } else {
                            q.offset += written;
                            written = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Sent::Queued(q.bytes),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!(target: "rpc", "{}: write failed: {e}", self.peer);
                    q.closed = true;
                    q.chunks.clear();
                    q.bytes = 0;
                    return Sent::Closed;
                }
            }
        }
        Sent::All
    }
}
