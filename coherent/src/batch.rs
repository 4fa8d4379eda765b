//! Version reads made together: every read asked for while the last round
//! trip was out goes to Redis in the next one, as one pipeline.
//! (`S` is a [`Stamp`](crate::Stamp); generic only so that this file needs
//! nothing from `versions`, which uses it.)
//!
//! A cache hit costs a version read and nothing else, so under load the
//! Redis round trip is most of a hit: a system call each way in the caller,
//! two in Redis, and a thread that sleeps until the reply. Callers that can
//! wait for a callback ([`Versions::read_later`](crate::Versions::read_later)) hand their topics to one
//! reader thread per [`Versions`](crate::Versions) instead; it takes every read queued at
//! that moment, sends their `MGET`s in one write, gets every answer in one
//! read, and runs each caller's callback with its stamp. Fifty pages asked
//! for at once cost Redis one read and one write instead of fifty of each.
//! (An RPC loop that makes its own reads, `loop_reads`, saves the thread's
//! wake-ups too; this thread serves every other caller, and the loop while
//! it has no connection.)
//!
//! The queue is bounded ([`MAX_QUEUED`]): past it a read is answered at once
//! with `None` ("no stamp": the caller serves without the cache), never
//! queued without limit. The thread holds the counters only weakly and ends
//! when they go.

use crate::Topic;
use std::sync::{Arc, Condvar, Mutex, Once, Weak};
use std::time::Duration;

/// Reads waiting for the next round trip, at most.
pub const MAX_QUEUED: usize = 4096;

/// What a caller of [`Versions::read_later`](crate::Versions::read_later)
/// gets: the stamp (`S`), or `None` when Redis could not be read (serve
/// without the cache).
pub type Then<S> = Box<dyn FnOnce(Option<S>) + Send>;

/// What makes the reads: one round trip for many, and the batcher it owns.
pub(crate) trait ReadMany<S>: Send + Sync + 'static {
    fn read_many(&self, reads: &[&[Topic]]) -> Vec<Option<S>>;
    fn batcher(&self) -> &Batcher<S>;
}

struct Queued<S> {
    topics: Vec<Topic>,
    then: Then<S>,
}

pub(crate) struct Batcher<S> {
    queue: Mutex<Vec<Queued<S>>>,
    ready: Condvar,
    started: Once,
}

impl<S> Default for Batcher<S> {
    fn default() -> Self {
        Batcher { queue: Mutex::new(Vec::new()), ready: Condvar::new(), started: Once::new() }
    }
}

impl<S: 'static> Batcher<S> {
    /// Queues a read (starting the reader thread on first use); `then` runs
    /// at once with `None` if the queue is full or the thread cannot start.
    pub(crate) fn push<R: ReadMany<S>>(&self, reader: &Arc<R>, topics: Vec<Topic>, then: Then<S>) {
        let mut spawned = true;
        self.started.call_once(|| spawned = spawn(Arc::downgrade(reader)));
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if !spawned || queue.len() >= MAX_QUEUED {
            drop(queue);
            then(None);
            return;
        }
        queue.push(Queued { topics, then });
        if queue.len() == 1 {
            self.ready.notify_one();
        }
    }

    /// Everything queued, waiting up to `idle` for the first.
    fn take(&self, idle: Duration) -> Vec<Queued<S>> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.is_empty() {
            queue = self.ready.wait_timeout(queue, idle).unwrap_or_else(|e| e.into_inner()).0;
        }
        std::mem::take(&mut *queue)
    }
}

fn spawn<S: 'static, R: ReadMany<S>>(reader: Weak<R>) -> bool {
    let spawned = std::thread::Builder::new().name("version-read".into()).spawn(move || run(reader));
    if let Err(e) = &spawned {
        log::error!(target: "cache", "cannot start the version reader: {e}; reading without the cache");
    }
    spawned.is_ok()
}

fn run<S: 'static, R: ReadMany<S>>(reader: Weak<R>) {
    loop {
        let Some(v) = reader.upgrade() else { return };
        let batch = v.batcher().take(Duration::from_secs(1));
        if batch.is_empty() {
            continue;
        }
        let topics: Vec<&[Topic]> = batch.iter().map(|q| q.topics.as_slice()).collect();
        let stamps = v.read_many(&topics);
        drop(v);
        for (q, stamp) in batch.into_iter().zip(stamps) {
            // A callback's bug must cost its own read, not this thread (and
            // with it every read queued after it).
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || (q.then)(stamp))).is_err() {
                log::error!(target: "cache", "a version read's callback panicked");
            }
        }
    }
}
