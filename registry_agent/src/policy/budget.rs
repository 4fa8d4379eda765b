//! A retry budget: retries may add at most 20% to the requests of the last
//! second, with a floor of 3 a second (Envoy's retry budget).
//!
//! Retries are how a client hides one instance's death from its callers; they
//! are also how a struggling cluster is pushed over the edge, when every
//! failed request comes back two or three times. A budget keeps the first and
//! prevents the second: while failures are rare every one can be retried,
//! and when most requests fail the extra load is bounded by a fifth.
//!
//! The window slides: the previous second's counts are weighted by how much
//! of it still overlaps the last second, so the budget does not reset to full
//! on a second boundary. Time is passed in (tests use a fake clock).
//!
//! Envoy's `retry_budget` bounds concurrent retries (20%, at least 3); gRPC's
//! `retryThrottling` is a token bucket that failures drain. Both exist to
//! stop retry storms; a rate over a sliding second is the simplest of the
//! three to reason about, and hedges draw on it like retries do.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where `decide` draws a retry or a hedge from.
pub trait Budget {
    /// Takes one retry if there is room; false when the budget is spent.
    fn withdraw(&self) -> bool;
}

impl Budget for Mutex<RetryBudget> {
    fn withdraw(&self) -> bool {
        self.lock().unwrap_or_else(|e| e.into_inner()).try_retry(Instant::now())
    }
}

#[derive(Debug, Clone)]
pub struct RetryBudget {
    ratio: f64,
    min_per_window: f64,
    window: Duration,
    start: Option<Instant>,
    cur: (u64, u64),
    prev: (u64, u64),
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(0.2, 3, Duration::from_secs(1))
    }
}

impl RetryBudget {
    /// `ratio` of the requests in `window`, but at least `min` retries per window.
    pub fn new(ratio: f64, min: u32, window: Duration) -> RetryBudget {
        RetryBudget { ratio, min_per_window: min as f64, window, start: None, cur: (0, 0), prev: (0, 0) }
    }

    fn roll(&mut self, now: Instant) -> f64 {
        let start = *self.start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= self.window * 2 {
            self.prev = (0, 0);
            self.cur = (0, 0);
            self.start = Some(now);
        } else if elapsed >= self.window {
            self.prev = self.cur;
            self.cur = (0, 0);
            self.start = Some(start + self.window);
        }
        let into = now.saturating_duration_since(self.start.unwrap_or(now));
        1.0 - (into.as_secs_f64() / self.window.as_secs_f64()).min(1.0)
    }

    /// Counts one original request.
    pub fn request(&mut self, now: Instant) {
        self.roll(now);
        self.cur.0 += 1;
    }

    /// Asks to retry once; counts the retry when allowed.
    pub fn try_retry(&mut self, now: Instant) -> bool {
        let w = self.roll(now);
        let requests = self.prev.0 as f64 * w + self.cur.0 as f64;
        let retries = self.prev.1 as f64 * w + self.cur.1 as f64;
        let allowed = (requests * self.ratio).max(self.min_per_window);
        if retries + 1.0 <= allowed {
            self.cur.1 += 1;
            true
        } else {
            false
        }
    }
}
