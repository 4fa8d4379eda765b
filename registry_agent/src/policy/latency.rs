//! Each instance's observed latency, and the per-try timeout derived from it.
//!
//! ## Peak-EWMA
//! Per instance, an estimate of its response time that jumps up at once to
//! any slower observation (the "peak") and decays towards faster ones with a
//! time constant (10 s), so one slow reply makes an instance look slow
//! immediately while recovery is gradual. Reading the estimate also decays
//! it towards zero, so an instance that got no traffic because it once
//! looked slow is eventually tried again. A new instance starts at 30 ms
//! rather than zero. These are linkerd2-proxy's defaults and the algorithm
//! of `tower::load::PeakEwma`; the balancer's p2c chooser prices instances
//! with it too (`estimate × (in flight + 1)`).
//!
//! ## The per-try timeout
//! `per_try = clamp(4 × estimate, 100 ms, 1 s)`, and none at all when that
//! is not shorter than what is left of the caller's deadline. When an
//! attempt of a repeatable request has had no reply for that long, the
//! request is hedged on another instance (`decide`).
//!
//! Why derived, and why these numbers:
//! - Envoy's `per_try_timeout` (with `hedge_on_per_try_timeout`) and gRPC's
//!   `hedgingPolicy.hedgingDelay` are fixed numbers an operator writes per
//!   route or per method, and they go stale as soon as a page gets slower or
//!   the machine busier. "The Tail at Scale" (Dean and Barroso) hedges after
//!   the expected 95th percentile instead; a Peak-EWMA already tracks the
//!   slow end (it takes every peak at once), so a small multiple of it plays
//!   that role without keeping a histogram per instance.
//! - ×4: a healthy instance's next reply is rarely four times its recent
//!   peak, so hedges stay off the normal path; a frozen one is found within
//!   four of its typical replies.
//! - 100 ms floor: below that, a scheduler hiccup on a busy two-core machine
//!   would hedge healthy calls, and the estimate of an instance that gets no
//!   traffic decays towards zero. With two hops that each hedge (balancer →
//!   web UI → service), a frozen instance costs a request about 200–300 ms,
//!   well inside a 1 s p99 goal.
//! - 1 s ceiling: an instance whose estimate has grown large (a slow search
//!   page, a backlog) is still hedged within a visitor's patience.
//!
//! A per-try timeout that fired also counts as an observation of that many
//! milliseconds, so a frozen instance looks slow at once and the next
//! per-try timeout for it is longer (until it answers again).
//!
//! ## The recent estimate
//! A second Peak-EWMA per instance decays in one second instead of ten and
//! is also fed by the health probes' round trips (`Rotation`'s prober). It
//! only decides whether an instance is slow compared with the others
//! (`key::is_slow`): the ten-second one is too slow to forgive a healthy
//! instance's one hiccup for that, and gets no observations at all once calls
//! have moved away from an instance, where probes still measure it. It decays
//! between observations only, never by being read: probes reach every
//! instance each second, and a frozen one, which answers nothing, keeps its
//! last (high) value instead of decaying into the best of the lot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// linkerd2-proxy's default RTT for an instance with no observations yet.
pub const DEFAULT_RTT: Duration = Duration::from_millis(30);
/// linkerd2-proxy's default decay time constant.
pub const DEFAULT_DECAY: Duration = Duration::from_secs(10);
/// Decay of the recent estimate that tells a slow instance apart.
pub const RECENT_DECAY: Duration = Duration::from_secs(1);

/// The per-try timeout is this many times the instance's estimate...
pub const PER_TRY_MULTIPLE: u32 = 4;
/// ...but never shorter than this...
pub const PER_TRY_FLOOR: Duration = Duration::from_millis(100);
/// ...nor longer than this.
pub const PER_TRY_CEILING: Duration = Duration::from_secs(1);

/// How long to wait for one attempt before hedging, given the instance's
/// latency `estimate` and what is left of the caller's deadline; `None` when
/// there is no time for a second attempt to help.
pub fn per_try_timeout(estimate: Duration, remaining: Duration) -> Option<Duration> {
    let t = estimate.saturating_mul(PER_TRY_MULTIPLE).clamp(PER_TRY_FLOOR, PER_TRY_CEILING);
    (t < remaining).then_some(t)
}

/// A Peak-EWMA latency estimate, in nanoseconds.
#[derive(Debug)]
pub struct PeakEwma {
    state: Mutex<Estimate>,
    decay_ns: f64,
}

#[derive(Debug, Clone, Copy)]
struct Estimate {
    rtt_ns: f64,
    at: Instant,
}

impl Default for PeakEwma {
    fn default() -> Self {
        PeakEwma::new(DEFAULT_RTT, DEFAULT_DECAY, Instant::now())
    }
}

impl PeakEwma {
    pub fn new(initial: Duration, decay: Duration, now: Instant) -> PeakEwma {
        PeakEwma {
            state: Mutex::new(Estimate { rtt_ns: initial.as_nanos() as f64, at: now }),
            decay_ns: (decay.as_nanos() as f64).max(1.0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Estimate> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds in one observed response time.
    pub fn observe(&self, rtt: Duration, now: Instant) {
        let mut e = self.lock();
        update(&mut e, rtt.as_nanos() as f64, now, self.decay_ns);
    }

    /// The current estimate, decayed towards zero for the time since the
    /// last update (as tower does when it computes load).
    pub fn estimate_ns(&self, now: Instant) -> f64 {
        let mut e = self.lock();
        update(&mut e, 0.0, now, self.decay_ns)
    }

    pub fn estimate(&self, now: Instant) -> Duration {
        Duration::from_nanos(self.estimate_ns(now) as u64)
    }

    /// The estimate as of the last observation, with no decay for the time
    /// since: an instance that stopped answering keeps what it last showed.
    pub fn last_observed(&self) -> Duration {
        Duration::from_nanos(self.lock().rtt_ns as u64)
    }

    /// The cost of sending one more request: estimate × (in flight + 1).
    pub fn cost(&self, in_flight: usize, now: Instant) -> f64 {
        self.estimate_ns(now) * (in_flight as f64 + 1.0)
    }
}

fn update(e: &mut Estimate, rtt_ns: f64, now: Instant, decay_ns: f64) -> f64 {
    if rtt_ns > e.rtt_ns {
        e.rtt_ns = rtt_ns;
    } else {
        let elapsed = now.saturating_duration_since(e.at).as_nanos() as f64;
        let decay = (-elapsed / decay_ns).exp();
        e.rtt_ns = e.rtt_ns * decay + rtt_ns * (1.0 - decay);
    }
    e.at = now;
    e.rtt_ns
}

/// The two estimates of one instance.
struct Estimates {
    /// Decays in `DEFAULT_DECAY`; prices calls and sets per-try timeouts.
    peak: PeakEwma,
    /// Decays in `RECENT_DECAY`; calls and probes; tells slow instances apart.
    recent: PeakEwma,
}

impl Default for Estimates {
    fn default() -> Self {
        let now = Instant::now();
        Estimates {
            peak: PeakEwma::new(DEFAULT_RTT, DEFAULT_DECAY, now),
            recent: PeakEwma::new(DEFAULT_RTT, RECENT_DECAY, now),
        }
    }
}

/// The estimates of every instance a client talks to.
#[derive(Default)]
pub struct Latencies {
    by_addr: Mutex<HashMap<SocketAddr, Arc<Estimates>>>,
}

impl Latencies {
    fn get(&self, addr: SocketAddr) -> Arc<Estimates> {
        self.by_addr.lock().unwrap_or_else(|e| e.into_inner()).entry(addr).or_default().clone()
    }

    /// A call's response time (or a wait with no reply): both estimates.
    pub fn observe(&self, addr: SocketAddr, rtt: Duration, now: Instant) {
        let e = self.get(addr);
        e.peak.observe(rtt, now);
        e.recent.observe(rtt, now);
    }

    /// A health probe's round trip: the recent estimate only (a probe is
    /// cheaper than a call, so it says nothing about a call's timeout).
    pub fn observe_probe(&self, addr: SocketAddr, rtt: Duration, now: Instant) {
        self.get(addr).recent.observe(rtt, now);
    }

    pub fn estimate(&self, addr: SocketAddr, now: Instant) -> Duration {
        self.get(addr).peak.estimate(now)
    }

    /// The recent estimate (`RECENT_DECAY`) as of its last observation, for
    /// `key::is_slow`. Not decayed by reading: a frozen instance, which
    /// answers nothing, would otherwise soon look the fastest of all and push
    /// a healthy one into "slow".
    pub fn recent(&self, addr: SocketAddr) -> Duration {
        self.get(addr).recent.last_observed()
    }

    /// [`Latencies::recent`] of each of `addrs`, under one lock of the map
    /// (a choice reads every candidate's).
    pub fn recent_all(&self, addrs: impl Iterator<Item = SocketAddr>) -> Vec<Duration> {
        let mut by_addr = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        addrs.map(|a| by_addr.entry(a).or_default().recent.last_observed()).collect()
    }

    /// Forgets instances `keep` rejects (gone, or a new process there).
    pub fn retain(&self, keep: impl Fn(&SocketAddr) -> bool) {
        self.by_addr.lock().unwrap_or_else(|e| e.into_inner()).retain(|a, _| keep(a));
    }
}
