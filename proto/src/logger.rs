//! The worker-log format of the original system, for every process.
//!
//! `2018-11-22T00:57:10.560Z 46071 TID-owtc6d6a7 Balancer::Worker JID-7a08… INFO: start`
//!
//! That is: UTC time, pid, kernel thread id in base 36, the log target (the
//! component, e.g. `Question::Worker`), the request id of the job this thread is
//! working on (set with [`JobScope`]), the level, and the message. The JID lives in
//! a thread-local so that every line a worker prints while serving a request is
//! tagged without threading the id through every function.

use std::cell::RefCell;
use std::io::Write;

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

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = JID.with(|j| {
            TID.with(|tid| {
                let jid = j.borrow();
                let ts = crate::clock::iso8601(crate::clock::now_ms());
                match jid.as_deref() {
                    Some(jid) => format!(
                        "{ts} {} TID-{tid} {} JID-{jid} {}: {}\n",
                        self.pid,
                        record.target(),
                        record.level(),
                        record.args()
                    ),
                    None => format!(
                        "{ts} {} TID-{tid} {} {}: {}\n",
                        self.pid,
                        record.target(),
                        record.level(),
                        record.args()
                    ),
                }
            })
        });
        // One write per line keeps lines whole when threads interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
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
    }
}
