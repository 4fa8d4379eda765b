//! Choosing an instance: power of two choices over Peak-EWMA cost (the
//! linkerd/tower balancer), with round robin and least-in-flight kept for
//! comparison (`--balance p2c-ewma|round-robin|least-inflight`).
//!
//! Peak-EWMA (`registry_agent::policy::PeakEwma`, the latency estimate the
//! per-try timeouts also derive from) keeps, per instance, an estimate of its
//! response time that jumps up at once to slower observations and decays
//! towards faster ones; the cost of sending one more request there is
//! `estimate × (in_flight + 1)`: an instance that is both fast and idle is
//! cheapest. These are linkerd2-proxy's defaults and the algorithm of
//! `tower::load::PeakEwma`.
//!
//! Power of two choices (Mitzenmacher): pick two distinct instances at
//! random and take the cheaper. It is nearly as good as scanning for the
//! minimum, and much better under many balancers with stale views, because
//! it does not herd every balancer onto the same "best" instance.
//!
//! Everything here is pure bookkeeping for the static HTTP upstreams
//! (`backends`): callers describe their candidates through the
//! [`Candidates`] trait, including which ones may not be used (unhealthy,
//! already tried).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// How the balancer chooses among usable instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balance {
    /// Power of two choices on Peak-EWMA latency × (in flight + 1).
    #[default]
    P2cEwma,
    /// Each usable instance in turn.
    RoundRobin,
    /// Fewest requests in flight; ties rotate.
    LeastInFlight,
}

impl Balance {
    pub const NAMES: &'static str = "p2c-ewma, round-robin or least-inflight";

    pub fn parse(s: &str) -> Option<Balance> {
        match s {
            "p2c-ewma" | "p2c" | "ewma" => Some(Balance::P2cEwma),
            "round-robin" | "rr" => Some(Balance::RoundRobin),
            "least-inflight" | "least-in-flight" | "least-conn" => Some(Balance::LeastInFlight),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Balance::P2cEwma => "p2c-ewma",
            Balance::RoundRobin => "round-robin",
            Balance::LeastInFlight => "least-inflight",
        }
    }
}

/// What a chooser needs to know about a set of instances.
pub trait Candidates {
    fn len(&self) -> usize;
    /// Whether instance `i` may take this request at all.
    fn usable(&self, i: usize) -> bool;
    fn in_flight(&self, i: usize) -> usize;
    /// Peak-EWMA cost of one more request to `i`.
    fn cost(&self, i: usize, now: Instant) -> f64;
}

/// The chooser: a strategy and the counter it advances.
#[derive(Debug, Default)]
pub struct Chooser {
    balance: Balance,
    rotate: AtomicUsize,
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    let local = 0u8;
    // The address of a stack slot differs between threads started together.
    (t as u64 ^ (&local as *const u8 as u64).rotate_left(32)) | 1
}

/// xorshift64*: fast, good enough to pick two instances, no lock.
pub fn random() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

impl Chooser {
    pub fn new(balance: Balance) -> Chooser {
        Chooser { balance, rotate: AtomicUsize::new(0) }
    }

    pub fn balance(&self) -> Balance {
        self.balance
    }

    /// The instance for the next request, or None when none is usable.
    pub fn pick(&self, c: &(impl Candidates + ?Sized), now: Instant) -> Option<usize> {
        self.pick_with(c, now, random())
    }

    /// `pick` with the random number supplied (for tests).
    pub fn pick_with(&self, c: &(impl Candidates + ?Sized), now: Instant, rnd: u64) -> Option<usize> {
        let n = c.len();
        let usable = (0..n).filter(|&i| c.usable(i)).count();
        if usable == 0 {
            return None;
        }
        let nth = |k: usize| (0..n).filter(|&i| c.usable(i)).nth(k);
        match self.balance {
            Balance::RoundRobin => nth(self.rotate.fetch_add(1, Ordering::Relaxed) % usable),
            Balance::LeastInFlight => {
                let start = self.rotate.fetch_add(1, Ordering::Relaxed) % n;
                (0..n).map(|k| (start + k) % n).filter(|&i| c.usable(i)).min_by_key(|&i| c.in_flight(i))
            }
            Balance::P2cEwma => {
                if usable == 1 {
                    return nth(0);
                }
                let a = (rnd % usable as u64) as usize;
                let mut b = ((rnd >> 32) % (usable as u64 - 1)) as usize;
                if b >= a {
                    b += 1;
                }
                let (a, b) = (nth(a)?, nth(b)?);
                Some(if c.cost(b, now) < c.cost(a, now) { b } else { a })
            }
        }
    }
}

/// Candidates given as plain numbers (the RPC path and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plain {
    pub usable: bool,
    pub in_flight: usize,
    /// Estimated latency in nanoseconds (`PeakEwma::estimate_ns`).
    pub rtt_ns: f64,
}

impl Candidates for [Plain] {
    fn len(&self) -> usize {
        <[Plain]>::len(self)
    }
    fn usable(&self, i: usize) -> bool {
        self[i].usable
    }
    fn in_flight(&self, i: usize) -> usize {
        self[i].in_flight
    }
    fn cost(&self, i: usize, _now: Instant) -> f64 {
        self[i].rtt_ns * (self[i].in_flight as f64 + 1.0)
    }
}

#[cfg(test)]
#[path = "../../../tests/unit/upstream/http/ewma.rs"]
mod tests;
