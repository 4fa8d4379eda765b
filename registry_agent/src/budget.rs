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

use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_three_retries_a_second() {
        let t = Instant::now();
        let mut b = RetryBudget::default();
        b.request(t);
        assert!(b.try_retry(t));
        assert!(b.try_retry(t));
        assert!(b.try_retry(t));
        assert!(!b.try_retry(t), "the fourth retry with one request is refused");
        // Two windows later the budget is whole again.
        let later = t + Duration::from_secs(2);
        assert!(b.try_retry(later));
    }

    #[test]
    fn twenty_percent_of_requests_under_load() {
        let t = Instant::now();
        let mut b = RetryBudget::default();
        for _ in 0..100 {
            b.request(t);
        }
        let granted = (0..100).filter(|_| b.try_retry(t)).count();
        assert_eq!(granted, 20);
    }

    #[test]
    fn the_window_slides_instead_of_resetting() {
        let t = Instant::now();
        let mut b = RetryBudget::default();
        for _ in 0..100 {
            b.request(t);
        }
        assert_eq!((0..100).filter(|_| b.try_retry(t)).count(), 20);
        // Half a second into the next window, half of the last one still counts:
        // 50 requests' worth (10 retries allowed), 10 retries already spent.
        let half = t + Duration::from_millis(1500);
        assert!(!b.try_retry(half));
        // Later in the window the old retries weigh less and room appears.
        let late = t + Duration::from_millis(1900);
        assert!(b.try_retry(late));
    }
}
