//! Group commit: requests that arrive while a write is under way wait for it
//! to end and are then written together, by one of them, in one go.
//!
//! A create that runs alone pays for its transaction: a BEGIN, a COMMIT
//! (the WAL flush, and the wait for the synchronous standby), and a round
//! trip per statement, each a send, a wake-up and a receive on both sides.
//! Measured with pgbench on this machine's PostgreSQL pair, those are most of
//! a small insert's cost: one row per transaction ran ~7,600 a second, ten
//! rows per statement ~65,000 rows a second. So when many writers post at
//! once, the first becomes the *leader*: it takes what is queued (itself
//! included, oldest first, at most `max_group`), runs it with one function
//! call (which may write it all in one statement), hands every waiter its
//! own result, and steps down; a waiter still queued then leads the next
//! group. A lone request leads a group of one at once: no timer, no added
//! wait when the system is idle (the design of LevelDB's write queue).
//!
//! At most `max_leaders` groups run at a time, so a burst cannot take every
//! connection of the pool. A waiter whose caller gives up while it is still
//! queued leaves the queue (DEADLINE_EXCEEDED); once its group has started it
//! waits for the result, which the statement timeout bounds. A leader that
//! panics hands its group INTERNAL instead of leaving it waiting for ever.
//!
//! What a group does, and what it does when a group's write fails, is the
//! caller's: this file only gathers and hands back.

use proto::Status;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

// Process-wide counts for `/metrics` (a service process runs one kind of
// service, so one set of counters says what its group commits did).
static GROUPS: AtomicU64 = AtomicU64::new(0);
static ITEMS: AtomicU64 = AtomicU64::new(0);
static LARGEST: AtomicU64 = AtomicU64::new(0);

/// The group-commit lines of a service process's `/metrics`: groups run,
/// items written in them (items / groups is the mean group size; 1 when
/// writes never overlap) and the largest group.
pub fn render_metrics(service: &str, out: &mut String) {
    let metrics = [
        ("groups_total", "counter", "Group commits run (a lone write is a group of one).", &GROUPS),
        ("items_total", "counter", "Writes those groups carried.", &ITEMS),
        ("largest", "gauge", "The most writes one group carried.", &LARGEST),
    ];
    for (name, kind, help, value) in metrics {
        let _ = writeln!(out, "# HELP stackwire_group_commit_{name} {help}");
        let _ = writeln!(out, "# TYPE stackwire_group_commit_{name} {kind}");
        let _ =
            writeln!(out, "stackwire_group_commit_{name}{{service=\"{service}\"}} {}", value.load(Ordering::Relaxed));
    }
}

/// The queue of one kind of write (say, answer creates), shared by the
/// threads that serve those calls.
pub struct GroupCommit<T, R> {
    state: Mutex<State<T, R>>,
    turn: Condvar,
    max_group: usize,
    max_leaders: usize,
}

struct State<T, R> {
    next_ticket: u64,
    /// Queued items, oldest first, with their tickets.
    queued: Vec<(u64, T)>,
    /// Results not yet collected by their waiters.
    done: HashMap<u64, Result<R, Status>>,
    leaders: usize,
}

impl<T, R> GroupCommit<T, R> {
    /// A queue whose groups hold at most `max_group` items (≥ 1), of which
    /// at most `max_leaders` (≥ 1) run at once.
    pub fn new(max_group: usize, max_leaders: usize) -> GroupCommit<T, R> {
        GroupCommit {
            state: Mutex::new(State { next_ticket: 0, queued: Vec::new(), done: HashMap::new(), leaders: 0 }),
            turn: Condvar::new(),
            max_group: max_group.max(1),
            max_leaders: max_leaders.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T, R>> {
        // A panic never happens with the lock held (the work runs without
        // it), so a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `item`, alone or in a group, and gives its result. `write`
    /// is called with a group (oldest first) and must give one result per
    /// item, in the same order; it runs on the thread of whichever caller
    /// leads that group. `deadline` is when this caller stops waiting in
    /// the queue.
    pub fn submit(
        &self,
        item: T,
        deadline: Option<Instant>,
        write: impl Fn(Vec<T>) -> Vec<Result<R, Status>>,
    ) -> Result<R, Status> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queued.push((ticket, item));
        loop {
            if let Some(result) = state.done.remove(&ticket) {
                return result;
            }
            if state.leaders < self.max_leaders && !state.queued.is_empty() {
                state = self.lead(state, &write);
                continue;
            }
            state = match deadline {
                None => self.turn.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        if let Some(at) = state.queued.iter().position(|(t, _)| *t == ticket) {
                            state.queued.remove(at);
                            return Err(Status::new(
                                proto::Code::DeadlineExceeded,
                                "the caller's deadline passed while the write waited its turn",
                            ));
                        }
                    }
                    // Still queued with time left, or in a running group:
                    // wake up at the deadline to check again.
                    let left = if left.is_zero() { std::time::Duration::from_millis(50) } else { left };
                    self.turn.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    /// Takes the oldest queued items, writes them without the lock, files
    /// their results and wakes every waiter.
    fn lead<'s>(
        &'s self,
        mut state: MutexGuard<'s, State<T, R>>,
        write: &impl Fn(Vec<T>) -> Vec<Result<R, Status>>,
    ) -> MutexGuard<'s, State<T, R>> {
        let take = state.queued.len().min(self.max_group);
        let (tickets, items): (Vec<u64>, Vec<T>) = state.queued.drain(..take).unzip();
        GROUPS.fetch_add(1, Ordering::Relaxed);
        ITEMS.fetch_add(take as u64, Ordering::Relaxed);
        LARGEST.fetch_max(take as u64, Ordering::Relaxed);
        state.leaders += 1;
        drop(state);
        let mut handed = Handed { group: self, tickets, results: None };
        let results = write(items);
        handed.results = Some(results);
        drop(handed);
        self.lock()
    }
}

/// A running group's tickets: when dropped (after the write, or while a
/// panic unwinds out of it) it files one result per ticket, steps the leader
/// down and wakes the waiters.
struct Handed<'g, T, R> {
    group: &'g GroupCommit<T, R>,
    tickets: Vec<u64>,
    results: Option<Vec<Result<R, Status>>>,
}

impl<T, R> Drop for Handed<'_, T, R> {
    fn drop(&mut self) {
        let mut results = self.results.take().unwrap_or_default().into_iter();
        let mut state = self.group.lock();
        for &ticket in &self.tickets {
            let result = results.next().unwrap_or_else(|| {
                log::error!(target: "group_commit", "a group's write gave no result for one of its items");
                Err(Status::internal("the write this request was grouped with failed"))
            });
            state.done.insert(ticket, result);
        }
        state.leaders -= 1;
        drop(state);
        self.group.turn.notify_all();
    }
}

#[cfg(test)]
#[path = "../../tests/unit/infra/group_commit.rs"]
mod tests;
