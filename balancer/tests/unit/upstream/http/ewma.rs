//! Unit tests of `balancer/src/upstream/http/ewma.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn p(in_flight: usize, rtt_ms: f64) -> Plain {
    Plain { usable: true, in_flight, rtt_ns: rtt_ms * 1e6 }
}

#[test]
fn p2c_takes_the_cheaper_of_two_and_never_an_unusable_one() {
    let ch = Chooser::new(Balance::P2cEwma);
    let now = Instant::now();
    // Two candidates: whatever the draw, the cheaper one wins.
    let two = [p(0, 50.0), p(0, 5.0)];
    for r in 0..64u64 {
        assert_eq!(ch.pick_with(&two[..], now, r.wrapping_mul(0x9e37_79b9_7f4a_7c15)), Some(1));
    }
    // Busy beats fast: 5 ms × 10 in flight costs more than 20 ms × 1.
    assert_eq!(ch.pick_with(&[p(9, 5.0), p(0, 20.0)][..], now, 7), Some(1));
    // Over many draws among three, the most expensive is never chosen
    // (it always loses its pair) and both others are.
    let three = [p(0, 1.0), p(0, 100.0), p(0, 2.0)];
    let mut seen = [0usize; 3];
    for _ in 0..300 {
        seen[ch.pick(&three[..], now).unwrap()] += 1;
    }
    assert_eq!(seen[1], 0, "{seen:?}");
    assert!(seen[0] > 0 && seen[2] > 0, "{seen:?}");
    let mut masked = three;
    masked[0].usable = false;
    masked[2].usable = false;
    assert_eq!(ch.pick(&masked[..], now), Some(1), "the only usable one, however slow");
    masked[1].usable = false;
    assert_eq!(ch.pick(&masked[..], now), None);
}

#[test]
fn round_robin_cycles_over_usable_instances() {
    let ch = Chooser::new(Balance::RoundRobin);
    let now = Instant::now();
    let mut c = [p(5, 1.0), p(0, 1.0), p(9, 1.0)];
    let picks: Vec<usize> = (0..6).map(|_| ch.pick(&c[..], now).unwrap()).collect();
    assert_eq!(picks, [0, 1, 2, 0, 1, 2], "load is ignored");
    c[1].usable = false;
    let picks: Vec<usize> = (0..4).map(|_| ch.pick(&c[..], now).unwrap()).collect();
    assert!(picks.iter().all(|&i| i != 1) && picks.contains(&0) && picks.contains(&2), "{picks:?}");
}

#[test]
fn least_in_flight_prefers_idle_and_rotates_ties() {
    let ch = Chooser::new(Balance::LeastInFlight);
    let now = Instant::now();
    assert_eq!(ch.pick(&[p(3, 1.0), p(1, 99.0), p(2, 1.0)][..], now), Some(1), "latency is ignored");
    let ties = [p(0, 1.0), p(0, 1.0), p(0, 1.0)];
    let picks: Vec<usize> = (0..3).map(|_| ch.pick(&ties[..], now).unwrap()).collect();
    let mut sorted = picks.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1, 2], "ties are spread: {picks:?}");
}

#[test]
fn names_parse_back() {
    for b in [Balance::P2cEwma, Balance::RoundRobin, Balance::LeastInFlight] {
        assert_eq!(Balance::parse(b.name()), Some(b));
    }
    assert_eq!(Balance::parse("random"), None);
}
