//! The worker pool's queue: bounded, and a worker with nothing to do sleeps
//! at once.
//!
//! It used to be a crossbeam channel. Its receivers spin, then call
//! `sched_yield` a few times, before they sleep; a service runs 16 workers
//! that are idle most of the time, so every call woke one that, its call
//! done, spun and yielded its way back to sleep (in a profile of the webui
//! under wrk, `sched_yield` alone was 6% of its CPU). Here a mutex guards a
//! `VecDeque`, a condvar wakes one sleeping worker per call, and nobody is
//! woken when no worker sleeps (they are all busy and will look again).
//!
//! `try_push` never waits: a full queue hands the item back, so the event
//! loop can shed the call while refusing it is still cheap.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

pub(crate) struct WorkQueue<T> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
    capacity: usize,
}

struct Inner<T> {
    items: VecDeque<T>,
    /// Workers asleep in `pop`.
    sleeping: usize,
    closed: bool,
}

impl<T> WorkQueue<T> {
    pub(crate) fn new(capacity: usize) -> WorkQueue<T> {
        let inner = Inner { items: VecDeque::new(), sleeping: 0, closed: false };
        WorkQueue { inner: Mutex::new(inner), ready: Condvar::new(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`, or hands it back when the queue is full or closed.
    pub(crate) fn try_push(&self, item: T) -> Result<(), T> {
        let mut q = self.lock();
        if q.closed || q.items.len() >= self.capacity {
            return Err(item);
        }
        q.items.push_back(item);
        let wake = q.sleeping > 0;
        drop(q);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// The next item, sleeping until there is one; `None` once the queue is
    /// closed and empty.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut q = self.lock();
        loop {
            if let Some(item) = q.items.pop_front() {
                return Some(item);
            }
            if q.closed {
                return None;
            }
            q.sleeping += 1;
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            q.sleeping -= 1;
        }
    }

    /// No more items: workers finish what is queued, then `pop` says `None`.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
#[path = "../../tests/unit/rpc_server_queue.rs"]
mod tests;
