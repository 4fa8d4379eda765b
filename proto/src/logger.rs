//! The worker-log format of the original system, for every process.
//!
//! `2018-11-22T00:57:10.560Z 46071 TID-owtc6d6a7 Balancer::Worker JID-7a08… INFO: start`
//!
//! That is: UTC time, pid, kernel thread id in base 36, the log target (the
//! component, e.g. `Question::Worker`), the request id of the job this thread is
//! working on (set with [`JobScope`]), the level, and the message. The JID lives in
//! a thread-local so that every line a worker prints while serving a request is
//! tagged without threading the id through every function.
//!
//! Lines are buffered, not written one `write()` each: a request's path logs
//! a few lines in every process it crosses, and a system call per line was a
//! visible share of a page view's CPU. Whole lines go to the stderr buffer of
//! [`crate::log_sink`], whose background thread writes them every
//! [`FLUSH_EVERY`] (warnings and errors at once, after everything before
//! them, so the order stays), and at process exit (an `atexit` handler, so
//! `std::process::exit` and a return from `main` both flush). Only a `kill -9`
//! can lose lines: those of the last tick at most. Lines stay whole because
//! only whole lines enter the buffer. No thread that logs waits for the
//! disk (see that module for why that matters).

use std::cell::RefCell;
use std::io::Write;

pub use crate::log_sink::FLUSH_EVERY;

/// Writes out whatever is buffered.
pub fn flush() {
    crate::log_sink::STDERR.flush();
}

thread_local! {
    static JID: RefCell<Option<String>> = const { RefCell::new(None) };
    static TID: String = tid36();
}

/// This thread's kernel id in base 36, as every worker line prints it after
/// `TID-` (for writers that format worker lines themselves, like the
/// balancer's buffered log).
pub fn thread_tag() -> String {
    TID.with(|t| t.clone())
}

/// Marks the current thread as working on request `jid` until dropped.
pub struct JobScope(());

impl JobScope {
    pub fn enter(jid: &str) -> JobScope {
        JID.with(|j| *j.borrow_mut() = Some(jid.to_string()));
        JobScope(())
    }
}

impl Drop for JobScope {
    fn drop(&mut self) {
        JID.with(|j| *j.borrow_mut() = None);
    }
}

fn tid36() -> String {
    // SAFETY: gettid has no preconditions.
    let mut n = unsafe { libc::syscall(libc::SYS_gettid) } as u64;
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

struct Logger {
    level: log::LevelFilter,
    pid: u32,
}

thread_local! {
    /// The line being formatted, reused: a line costs no allocation.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The last timestamp this thread formatted, and its millisecond: lines
    /// come many to a millisecond under load, and each formatted it afresh.
    static STAMP: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

impl Logger {
    /// One whole line, in the format above, appended to `out`.
    fn format(&self, out: &mut Vec<u8>, record: &log::Record) {
        let now = crate::clock::now_ms();
        STAMP.with(|s| {
            let mut s = s.borrow_mut();
            if s.0 != now {
                *s = (now, crate::clock::iso8601(now));
            }
            out.extend_from_slice(s.1.as_bytes());
        });
        TID.with(|tid| {
            let _ = write!(out, " {} TID-{tid} {} ", self.pid, record.target());
        });
        JID.with(|j| {
            if let Some(jid) = j.borrow().as_deref() {
                let _ = write!(out, "JID-{jid} ");
            }
        });
        let _ = writeln!(out, "{}: {}", record.level(), record.args());
    }
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        LINE.with(|line| {
            // Re-entered only if formatting a message logs itself: then a
            // fresh buffer, not a panic.
            let mut own = Vec::new();
            let mut held = line.try_borrow_mut();
            let line = held.as_deref_mut().unwrap_or(&mut own);
            line.clear();
            self.format(line, record);
            crate::log_sink::STDERR.append(line, record.level() <= log::Level::Warn);
        });
    }

    fn flush(&self) {
        flush();
    }
}

/// Installs the logger; the level comes from `STACKWIRE_LOG` (error, warn, info,
/// debug, trace; default info). Calling it twice is harmless.
pub fn init() {
    let level = std::env::var("STACKWIRE_LOG")
        .ok()
        .and_then(|s| s.parse::<log::LevelFilter>().ok())
        .unwrap_or(log::LevelFilter::Info);
    let logger = Logger { level, pid: std::process::id() };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
        crate::log_sink::start_flusher();
    }
}

#[cfg(test)]
#[path = "../tests/unit/logger.rs"]
mod tests;
