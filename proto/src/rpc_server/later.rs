//! Calls a handler takes over on the event loop and answers later, from
//! another thread, without a worker.
//!
//! The pool costs every call a hand-off: the loop queues it, a worker wakes
//! (a context switch), runs it and writes the reply. A handler whose answer
//! waits only on a short round trip that one thread can make for many calls
//! at once (the page cache's version read: one pipelined Redis request for
//! every page asked for at that moment) does better taking the call at the
//! loop ([`Handler::take_over`](super::Handler::take_over)), starting that
//! round trip, and answering from the thread that gets its reply. Whatever
//! it cannot answer there (a miss: SQL to run) goes to the pool after all
//! ([`Later::to_pool`]), exactly as if it had never been taken.
//!
//! A `Later` is the obligation to do one or the other, once: dropping it
//! unanswered sends the call to the pool, so a handler that loses one (a
//! panic, a thread that died) costs a hand-off, never a caller left waiting.
//! Answers go through the same doors a worker's do (`pool::run_with` for the
//! deadline check and the start/done log lines, `pool::deliver` for the
//! reply), so a taken call looks the same on the wire and in the log.

use super::pool::{self, Job, Pool};
use super::queue::WorkQueue;
use super::{CallContext, ReplyMetadata, State};
use crate::logger::JobScope;
use crate::status::Status;
use std::sync::Arc;

/// Offers `job` to its handler's [`Handler::take_over`](super::Handler::take_over)
/// on the loop; the job back when the handler declines it (to be queued as usual).
pub(crate) fn offer(state: &Arc<State>, pool: &Pool, job: Job) -> Option<Job> {
    let later = Later { state: state.clone(), queue: pool.queue().clone(), job: Some(Box::new(job)) };
    state.handler.take_over(later).err().and_then(Later::into_job)
}

/// One call taken over by a handler: answer it ([`Later::answer`]) or
/// hand it to the pool ([`Later::to_pool`]).
pub struct Later {
    state: Arc<State>,
    queue: Arc<WorkQueue<Job>>,
    /// Boxed: a `Later` travels by value through callbacks and `Result`s.
    job: Option<Box<Job>>,
}

impl Later {
    /// The job back, for the loop to queue as usual (the handler declined).
    fn into_job(mut self) -> Option<Job> {
        self.job.take().map(|j| *j)
    }

    /// The call's method.
    pub fn method(&self) -> &str {
        self.job.as_ref().map(|j| j.call.method.as_str()).unwrap_or_default()
    }

    /// The call's request payload.
    pub fn payload(&self) -> &[u8] {
        self.job.as_ref().map(|j| j.call.payload.as_slice()).unwrap_or_default()
    }

    /// Answers with what `f` gives, on this thread, as a worker would: the
    /// start and done lines around it, under the call's request id. A call
    /// whose caller has already given up goes to the pool instead, which
    /// answers it as it answers every such call.
    pub fn answer(mut self, f: impl FnOnce(&CallContext<'_>) -> Result<Vec<u8>, Status>) {
        let Some(job) = self.job.take() else { return };
        if pool::expired(&job.call).is_some() {
            return submit(&self.state, &self.queue, *job);
        }
        let _scope = JobScope::enter(pool::scope_id(&job.call));
        log::info!(target: self.state.config.worker_class.as_str(), "start {}", job.call.method);
        let result = f(&pool::context(&job.call, None));
        pool::log_end(&self.state, &job.call, &result);
        let Job { reply, .. } = *job;
        pool::deliver(&self.state, reply, result, ReplyMetadata::default());
    }

    /// Hands the call to the worker pool, as if it had never been taken; a
    /// full queue sheds it with UNAVAILABLE as the loop would have.
    pub fn to_pool(mut self) {
        if let Some(job) = self.job.take() {
            submit(&self.state, &self.queue, *job);
        }
    }
}

impl Drop for Later {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            submit(&self.state, &self.queue, *job);
        }
    }
}

fn submit(state: &State, queue: &WorkQueue<Job>, job: Job) {
    if let Err(job) = queue.try_push(job) {
        log::warn!(target: "rpc", "{}: {} shed: the worker queue is full", job.call.peer, job.call.method);
        pool::deliver(state, job.reply, Err(pool::overloaded(state)), Default::default());
    }
}
