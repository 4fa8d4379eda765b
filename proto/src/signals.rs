//! Unix signals as messages on a channel.
//!
//! `block()` must run in `main` before any thread is spawned: every thread
//! then inherits a mask that blocks SIGTERM, SIGINT and SIGHUP, and one thread
//! collects them with `sigwait`. Nothing runs in a signal handler, so shutdown
//! and reload are ordinary code on an ordinary thread.

use crossbeam_channel::Receiver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Interrupt,
    Hangup,
}

fn set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigemptyset.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        libc::sigaddset(&mut s, libc::SIGTERM);
        libc::sigaddset(&mut s, libc::SIGINT);
        libc::sigaddset(&mut s, libc::SIGHUP);
        s
    }
}

/// Blocks the signals in this thread and returns a channel that receives them.
pub fn block() -> Receiver<Signal> {
    let s = set();
    // SAFETY: s is a valid set; a null old-set pointer is allowed.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &s, std::ptr::null_mut()) };
    let (tx, rx) = crossbeam_channel::unbounded();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: both pointers are valid for the call.
        if unsafe { libc::sigwait(&s, &mut sig) } != 0 {
            continue;
        }
        let msg = match sig {
            libc::SIGTERM => Signal::Terminate,
            libc::SIGINT => Signal::Interrupt,
            _ => Signal::Hangup,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
    if let Err(e) = spawned {
        log::error!(target: "signals", "cannot start the signal thread: {e}");
    }
    rx
}
