//! Where log bytes wait to be written: one buffer per stream (stderr for the
//! worker log, stdout for the balancer's access log), written out by one
//! background thread, so that the threads serving requests never wait for
//! the disk.
//!
//! A `write()` to a log file is usually a copy into the page cache, but not
//! always: while the kernel writes dirty pages back, or throttles a process
//! that dirtied many, one can take tens of milliseconds. The balancer's event
//! loop used to make that call itself, every 16 KiB of access log, and
//! loggers waited on a lock held across the call: every few seconds, when
//! writeback ran, every request in flight waited with it (a page view's p99
//! went from 4 ms to 23–37 ms in those seconds). Now a writer appends whole
//! lines under a lock held only for the copy ([`Sink::append`]); the write
//! itself happens under a second lock ([`Sink::flush`]), taken by the flusher
//! thread every [`FLUSH_EVERY`] and at exit.
//!
//! Memory stays bounded and order is kept: past [`FLUSH_AT`] bytes a writer
//! writes the buffer out itself if no write is under way (what keeps the
//! buffer small when the disk is fast), and past [`HOLD_AT`] it waits for the
//! write under way and then writes (a disk that stays stuck slows the
//! writers down rather than growing the buffer without end). Urgent lines
//! (warnings, errors) are written at once, after everything before them.
//! Whole lines enter a buffer and buffers are written whole, in order, so
//! lines never interleave. Write errors (a closed stream) drop the bytes:
//! a log must not stop the process.

use std::io::Write;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

/// How long a line may wait in a buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A buffer this full is written by the thread that filled it, when no
/// write is under way.
pub const FLUSH_AT: usize = 64 * 1024;
/// A buffer this full makes its writers wait for the disk.
pub const HOLD_AT: usize = 4 << 20;

/// One stream's buffer.
pub struct Sink {
    /// Writes bytes to the stream, dropping them on error.
    write: fn(&[u8]),
    /// Lines waiting.
    pending: Mutex<Vec<u8>>,
    /// Held while writing; holds the buffer that is being written (swapped
    /// with `pending`, so both allocations are reused).
    writing: Mutex<Vec<u8>>,
}

/// The worker log's stream.
pub static STDERR: Sink = Sink::new(|b| {
    let _ = std::io::stderr().lock().write_all(b);
});
/// The access log's stream.
pub static STDOUT: Sink = Sink::new(|b| {
    let _ = std::io::stdout().lock().write_all(b);
});

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sink {
    /// A sink whose bytes go to `write` (the two streams above; a test's
    /// recorder).
    pub const fn new(write: fn(&[u8])) -> Sink {
        Sink { write, pending: Mutex::new(Vec::new()), writing: Mutex::new(Vec::new()) }
    }

    /// Queues `lines` (whole lines); `urgent` writes them out before returning.
    pub fn append(&self, lines: &[u8], urgent: bool) {
        if lines.is_empty() {
            return;
        }
        start_flusher();
        let len = {
            let mut p = lock(&self.pending);
            p.extend_from_slice(lines);
            p.len()
        };
        if urgent || len >= HOLD_AT {
            self.flush();
        } else if len >= FLUSH_AT {
            if let Ok(mut w) = self.writing.try_lock() {
                self.write_pending(&mut w);
            }
        }
    }

    /// Writes out everything queued so far (after any write under way).
    pub fn flush(&self) {
        let mut w = lock(&self.writing);
        self.write_pending(&mut w);
    }

    /// Bytes queued and not yet being written.
    pub fn pending(&self) -> usize {
        lock(&self.pending).len()
    }

    fn write_pending(&self, out: &mut Vec<u8>) {
        std::mem::swap(&mut *lock(&self.pending), out);
        if out.is_empty() {
            return;
        }
        (self.write)(out);
        out.clear();
        // A burst's buffer is not kept for good.
        if out.capacity() > HOLD_AT {
            *out = Vec::new();
        }
    }
}

/// Writes out both streams.
pub fn flush_all() {
    STDERR.flush();
    STDOUT.flush();
}

extern "C" fn flush_at_exit() {
    flush_all();
}

/// Starts the flushing thread and the exit hook, once per process.
pub fn start_flusher() {
    static START: Once = Once::new();
    START.call_once(|| {
        // SAFETY: registers a plain function with no captured state.
        unsafe { libc::atexit(flush_at_exit) };
        let _ = std::thread::Builder::new().name("log-flush".into()).spawn(|| loop {
            std::thread::sleep(FLUSH_EVERY);
            flush_all();
        });
    });
}

#[cfg(test)]
#[path = "../tests/unit/log_sink.rs"]
mod tests;
