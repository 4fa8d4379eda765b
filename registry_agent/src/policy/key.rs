//! The order in which a client tries the instances of a service.
//!
//! Among the instances health allows (`health::HealthTable::choosable`), a
//! request goes to the one that sorts first by [`SelectionKey`]: fields are
//! compared in declaration order, so the rule reads top to bottom.

/// Sort key of one candidate instance; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SelectionKey {
    /// Already tried by this request: last, so a retry or a hedge goes
    /// elsewhere while anything else is left.
    pub tried: bool,
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
