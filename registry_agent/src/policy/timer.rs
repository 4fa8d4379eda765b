//! The two background helpers every attempt loop in a process shares: a
//! timer that fires per-try timeouts, and a couple of threads that start
//! retries and hedges.
//!
//! Completions and timers must not block (a completion runs on a
//! connection's reader thread, and every other reply on that connection
//! waits behind it), while starting an attempt may have to dial, which can
//! take up to the connect timeout. So completions and timers only decide,
//! and hand the dialing to [`work`]. Both are started on first use; if the
//! system refuses a thread, work runs on the caller's thread and timers do
//! not fire (no hedging), which is logged once.

use crossbeam_channel::{Receiver, Sender};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub type Task = Box<dyn FnOnce() + Send>;

/// Threads that start retried and hedged attempts.
const WORKERS: usize = 2;

/// Runs `task` on the timer thread at `when`. It must not block.
pub fn at(when: Instant, task: Task) {
    static TIMER: OnceLock<Option<Sender<(Instant, Task)>>> = OnceLock::new();
    let tx = TIMER.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded();
        match std::thread::Builder::new().name("policy-timer".into()).spawn(move || timer_loop(rx)) {
            Ok(_) => Some(tx),
            Err(e) => {
                log::error!(target: "rpc", "cannot start the per-try timer: {e}; calls will not be hedged");
                None
            }
        }
    });
    if let Some(tx) = tx {
        let _ = tx.send((when, task));
    }
}

/// Runs `task` soon on a worker thread; it may block briefly (dialing).
pub fn work(task: Task) {
    static WORK: OnceLock<Option<Sender<Task>>> = OnceLock::new();
    let tx = WORK.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded::<Task>();
        let mut any = false;
        for i in 0..WORKERS {
            let rx = rx.clone();
            match std::thread::Builder::new().name(format!("retry-{i}")).spawn(move || rx.iter().for_each(|t| t())) {
                Ok(_) => any = true,
                Err(e) => log::error!(target: "rpc", "cannot start a retry thread: {e}"),
            }
        }
        any.then_some(tx)
    });
    match tx {
        Some(tx) => {
            if let Err(e) = tx.send(task) {
                (e.into_inner())();
            }
        }
        None => task(),
    }
}

fn timer_loop(rx: Receiver<(Instant, Task)>) {
    let mut due: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut tasks: HashMap<u64, Task> = HashMap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while due.peek().is_some_and(|Reverse((when, _))| *when <= now) {
            if let Some(Reverse((_, n))) = due.pop() {
                if let Some(t) = tasks.remove(&n) {
                    t();
                }
            }
        }
        let next = due.peek().map(|Reverse((when, _))| *when).unwrap_or(now + Duration::from_secs(3600));
        match rx.recv_deadline(next) {
            Ok((when, task)) => {
                seq += 1;
                due.push(Reverse((when, seq)));
                tasks.insert(seq, task);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
    }
}
