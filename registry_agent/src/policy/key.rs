//! The order in which a client tries the instances of a service.
//!
//! Among the instances health allows (`health::HealthTable::choosable`), a
//! request goes to the one that sorts first by [`SelectionKey`]: fields are
//! compared in declaration order, so the rule reads top to bottom.
//!
//! ## Slow instances
//! Outlier detection ejects an instance that fails; one that answers, but
//! slowly (a host behind a congested or lossy link, a swapping machine),
//! fails nothing and would keep its share of calls: with two instances and
//! few calls in flight, every other request would wait for it. So an
//! instance whose recent latency ([`is_slow`]) is well above the best one's
//! sorts after every instance that is not, whatever their calls in flight.
//! "Recent" is a Peak-EWMA with a one-second decay (`latency`), fed by
//! calls and by the health probes (a probe with no answer counts as its whole
//! timeout), so it rises at the first slow reply, stays up while probes keep
//! finding the instance slow or silent although calls have moved away, and
//! falls within seconds of the instance being fast again. The
//! thresholds ask for both a ratio and an absolute gap, so that two healthy
//! instances a few milliseconds apart, or a scheduler hiccup on a busy
//! machine, do not move all traffic to one of them for long. (The floor was
//! 50 ms at first; 100 ms leaves a host behind a 200 ms link just as slow and
//! flips fewer healthy instances on a machine running at a load of 40.)

use std::time::Duration;

/// An instance is slow when its recent latency is over this many times the
/// best instance's...
pub const SLOW_MULTIPLE: u32 = 4;
/// ...and over this, whatever the best one's.
pub const SLOW_FLOOR: Duration = Duration::from_millis(100);

/// Whether an instance whose recent latency is `recent` counts as slow when
/// the fastest choosable instance's is `best`.
pub fn is_slow(recent: Duration, best: Duration) -> bool {
    recent > SLOW_FLOOR.max(best.saturating_mul(SLOW_MULTIPLE))
}

/// Sort key of one candidate instance; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SelectionKey {
    /// Already tried by this request: last, so a retry or a hedge goes
    /// elsewhere while anything else is left.
    pub tried: bool,
    /// Answering, but far slower than the others ([`is_slow`]): only when
    /// nothing else is left.
    pub slow: bool,
    /// Calls we have in flight to it. Calls stuck on a frozen instance stay
    /// counted (a hedged attempt is not cancelled), so it stops being chosen
    /// after a handful.
    pub in_flight: usize,
    /// The load it reports in its registry record (its own calls in flight).
    pub load: u64,
    /// A turn that rotates per request, so exact ties are spread evenly
    /// instead of always landing on the first instance listed.
    pub turn: usize,
}

impl SelectionKey {
    /// The turn of the instance at `index` of `n` for rotation counter `rotate`.
    pub fn turn(index: usize, n: usize, rotate: usize) -> usize {
        let n = n.max(1);
        (index + n - rotate % n) % n
    }
}
