//! Unit tests of `health`: passive outlier detection (probe counts, errors, ejection doubling and its reset) and the caps that keep a pool choosable.

use super::*;

fn a(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn fail() -> Probe {
    Probe::Failed("timed out".into())
}

#[test]
fn two_failed_probes_take_out_two_good_ones_bring_back() {
    let t0 = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    assert!(h.available(&a(1), t0), "unknown instances are available");
    h.probe(a(1), "q", fail(), t0);
    assert!(h.available(&a(1), t0), "one failure is not enough");
    h.probe(a(1), "q", Probe::Serving, t0);
    h.probe(a(1), "q", fail(), t0);
    assert!(h.available(&a(1), t0), "failures must be consecutive");
    h.probe(a(1), "q", Probe::NotServing, t0);
    assert!(!h.available(&a(1), t0), "NOT_SERVING counts as a failure");
    assert_eq!(h.view(&a(1), t0).reason, "health check says NOT_SERVING");
    h.probe(a(1), "q", Probe::Serving, t0);
    assert!(!h.available(&a(1), t0));
    h.probe(a(1), "q", Probe::Serving, t0);
    assert!(h.available(&a(1), t0));
}

#[test]
fn a_refused_connection_is_out_at_once_until_probes_pass() {
    let t0 = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    h.connection_failed(a(1), "q", "connection refused", t0);
    assert!(!h.available(&a(1), t0));
    assert_eq!(h.transitions(&a(1)).0, Some(t0));
    h.probe(a(1), "q", Probe::Serving, t0);
    assert!(!h.available(&a(1), t0));
    h.probe(a(1), "q", Probe::Serving, t0 + Duration::from_secs(1));
    assert!(h.available(&a(1), t0));
    assert_eq!(h.transitions(&a(1)).1, Some(t0 + Duration::from_secs(1)));
}

#[test]
fn five_errors_eject_for_30_s_doubling_up_to_5_minutes() {
    let mut t = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    // A pool of three: at most one may be ejected.
    for p in [1, 2, 3] {
        h.probe(a(p), "q", Probe::Serving, t);
    }
    let mut lengths = Vec::new();
    for _ in 0..6 {
        for i in 0..5 {
            assert!(h.available(&a(1), t));
            let ejected = h.reply(a(1), "q", true, t);
            assert_eq!(ejected, i == 4);
        }
        let v = h.view(&a(1), t);
        assert_eq!(v.state, "ejected");
        let len = v.ejected_for.unwrap();
        lengths.push(len.as_secs());
        assert!(!h.available(&a(1), t + len - Duration::from_millis(1)));
        t += len;
        assert!(h.available(&a(1), t), "back when the ejection ends");
    }
    assert_eq!(lengths, [30, 60, 120, 240, 300, 300]);
}

#[test]
fn a_success_resets_the_error_count() {
    let t = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    h.probe(a(2), "q", Probe::Serving, t);
    for _ in 0..4 {
        h.reply(a(1), "q", true, t);
    }
    h.reply(a(1), "q", false, t);
    for _ in 0..4 {
        assert!(!h.reply(a(1), "q", true, t));
    }
    assert!(h.available(&a(1), t));
    assert!(h.reply(a(1), "q", true, t));
}

#[test]
fn never_more_than_half_a_pool_is_ejected() {
    let t = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    for p in [1, 2] {
        h.probe(a(p), "q", Probe::Serving, t);
    }
    h.probe(a(9), "other", Probe::Serving, t);
    for _ in 0..5 {
        h.reply(a(1), "q", true, t);
    }
    assert!(!h.available(&a(1), t));
    for _ in 0..10 {
        assert!(!h.reply(a(2), "q", true, t), "the second of two stays");
    }
    assert!(h.available(&a(2), t));
    // A pool of one is never ejected.
    for _ in 0..10 {
        h.reply(a(9), "other", true, t);
    }
    assert!(h.available(&a(9), t));
}

#[test]
fn the_repeat_count_resets_after_good_behaviour() {
    let mut t = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    h.probe(a(2), "q", Probe::Serving, t);
    for _ in 0..5 {
        h.reply(a(1), "q", true, t);
    }
    t += Duration::from_secs(30);
    for _ in 0..5 {
        h.reply(a(1), "q", true, t);
    }
    assert_eq!(h.view(&a(1), t).ejected_for, Some(Duration::from_secs(60)));
    t += Duration::from_secs(60 + 300);
    for _ in 0..5 {
        h.reply(a(1), "q", true, t);
    }
    assert_eq!(h.view(&a(1), t).ejected_for, Some(Duration::from_secs(30)));
}

#[test]
fn when_nothing_is_available_everything_is_choosable() {
    let t = Instant::now();
    let mut h = HealthTable::new(HealthPolicy::default());
    let addrs = [a(1), a(2), a(3)];
    h.connection_failed(a(2), "q", "refused", t);
    assert_eq!(h.choosable(&addrs, t), vec![0, 2]);
    h.connection_failed(a(1), "q", "refused", t);
    h.connection_failed(a(3), "q", "refused", t);
    assert_eq!(h.choosable(&addrs, t), vec![0, 1, 2]);
    h.retain(|x| *x != a(1));
    assert!(h.available(&a(1), t), "forgotten instances start afresh");
}
