//! The two background helpers every attempt loop in a process shares: a
//! timer that fires per-try timeouts, and a couple of threads that start
//! retries and hedges.
//!
//! Completions and timers must not block (a completion runs on a
//! connection's reader, a thread or the balancer's event loop, and every
//! other reply it reads waits behind it), while starting an attempt may have to dial, which can
//! take up to the connect timeout. So completions and timers only decide,
//! and hand the dialing to [`work`]. Both are started on first use; if the
//! system refuses a thread, work runs on the caller's thread and timers do
//! not fire (no hedging), which is logged once.
//!
//! Every repeatable call sets a per-try timer, and almost every call is
//! answered long before it fires, so the timer is built for timers that
//! never fire: setting one wakes the timer thread only when it becomes the
//! earliest deadline the thread is not already waiting for, and an attempt
//! that is answered cancels its timer ([`cancel`]). The thread then wakes
//! about once per per-try timeout, not once per call (it used to be woken by
//! every call, twice: on the set and at the deadline, a context switch each
//! on the balancer's request path).

use crossbeam_channel::Sender;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

pub type Task = Box<dyn FnOnce() + Send>;

/// Threads that start retried and hedged attempts.
const WORKERS: usize = 2;

/// A timer that was set, for [`cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key(Instant, u64);

/// The timers not fired yet, and when the timer thread means to wake.
struct Timers {
    due: BTreeMap<Key, Task>,
    seq: u64,
    /// The deadline the thread sleeps until (`None`: none; it waits for a
    /// notification). A timer due later needs no wake-up.
    wake_at: Option<Instant>,
}

struct Shared {
    timers: Mutex<Timers>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn shared() -> Option<&'static Arc<Shared>> {
    static TIMER: OnceLock<Option<Arc<Shared>>> = OnceLock::new();
    TIMER
        .get_or_init(|| {
            let timers = Timers { due: BTreeMap::new(), seq: 0, wake_at: None };
            let shared = Arc::new(Shared { timers: Mutex::new(timers), wake: Condvar::new() });
            let me = shared.clone();
            match std::thread::Builder::new().name("policy-timer".into()).spawn(move || timer_loop(&me)) {
                Ok(_) => Some(shared),
                Err(e) => {
                    log::error!(target: "rpc", "cannot start the per-try timer: {e}; calls will not be hedged");
                    None
                }
            }
        })
        .as_ref()
}

/// Runs `task` on the timer thread at `when`, unless [`cancel`]led first.
/// It must not block. `None` when there is no timer thread.
pub fn at(when: Instant, task: Task) -> Option<Key> {
    let shared = shared()?;
    let mut t = shared.lock();
    t.seq += 1;
    let key = Key(when, t.seq);
    t.due.insert(key, task);
    if t.wake_at.is_none_or(|at| when < at) {
        t.wake_at = Some(when);
        shared.wake.notify_one();
    }
    Some(key)
}

/// Forgets the timer `key` if it has not fired; its task is dropped.
pub fn cancel(key: Key) {
    if let Some(shared) = shared() {
        let task = shared.lock().due.remove(&key);
        drop(task);
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

fn timer_loop(shared: &Shared) {
    let mut t = shared.lock();
    loop {
        let now = Instant::now();
        let mut ready = Vec::new();
        while let Some(entry) = t.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            ready.push(entry.remove());
        }
        if !ready.is_empty() {
            // Awake: a timer set meanwhile is seen on the next turn.
            t.wake_at = Some(now);
            drop(t);
            ready.into_iter().for_each(|task| task());
            t = shared.lock();
            continue;
        }
        match t.due.first_key_value().map(|(k, _)| k.0) {
            Some(when) => {
                t.wake_at = Some(when);
                t = shared.wake.wait_timeout(t, when - now).unwrap_or_else(|e| e.into_inner()).0;
            }
            None => {
                t.wake_at = None;
                t = shared.wake.wait(t).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

#[cfg(test)]
#[path = "../../tests/unit/policy/timer.rs"]
mod tests;
