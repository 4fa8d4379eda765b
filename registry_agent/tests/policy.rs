//! The call policy's pure rules (`registry_agent::policy`), with fake
//! budgets and clocks: idempotency for RPC and HTTP, `decide`, the retry
//! budget, Peak-EWMA, the per-try timeout and the selection key's order.

use registry_agent::policy::{
    decide, is_slow, per_try_timeout, Budget, Decision, Failure, Idempotency, Latencies, PeakEwma, RetryBudget,
    SelectionKey, DEFAULT_DECAY, DEFAULT_RTT, MAX_ATTEMPTS, PER_TRY_CEILING, PER_TRY_FLOOR, SLOW_FLOOR, SLOW_MULTIPLE,
};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// A budget with `n` retries left, counting what was drawn.
struct Fake {
    left: Cell<u32>,
    drawn: Cell<u32>,
}

fn budget(n: u32) -> Fake {
    Fake { left: Cell::new(n), drawn: Cell::new(0) }
}

impl Budget for Fake {
    fn withdraw(&self) -> bool {
        if self.left.get() == 0 {
            return false;
        }
        self.left.set(self.left.get() - 1);
        self.drawn.set(self.drawn.get() + 1);
        true
    }
}

const R: Idempotency = Idempotency::Repeatable;
const O: Idempotency = Idempotency::Once;

#[test]
fn rpc_reads_are_told_from_writes_by_the_proto() {
    use proto::methods as m;
    for method in [
        m::QUESTION_GET,
        m::QUESTION_LIST,
        m::QUESTION_THREAD,
        m::QUESTION_EXISTS,
        m::ANSWER_LIST_FOR_QUESTION,
        m::COMMENT_LIST_FOR_ANSWERS,
        m::USER_AUTHENTICATE,
        m::HEALTH_CHECK,
    ] {
        assert_eq!(Idempotency::of_rpc(method), R, "{method}");
    }
    for method in [
        m::QUESTION_CREATE,
        m::ANSWER_CREATE,
        m::COMMENT_CREATE,
        m::ANSWER_ACCEPT,
        m::VOTE_CAST,
        m::USER_LOGIN,
        m::WEB_HANDLE,
        "/no.Such/Method",
    ] {
        assert_eq!(Idempotency::of_rpc(method), O, "{method}");
    }
}

#[test]
fn http_methods_follow_rfc_9110() {
    for method in ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] {
        assert_eq!(Idempotency::of_http(method), R, "{method}");
    }
    for method in ["POST", "PATCH", "CONNECT", "get", ""] {
        assert_eq!(Idempotency::of_http(method), O, "{method}");
    }
}

#[test]
fn never_sent_requests_are_retried_whatever_the_method_and_for_free() {
    let b = budget(0);
    for idem in [R, O] {
        assert_eq!(decide(Failure::NotSent, idem, 1, &b), Decision::Retry);
        assert_eq!(decide(Failure::NotSent, idem, 2, &b), Decision::Retry);
        assert_eq!(decide(Failure::NotSent, idem, MAX_ATTEMPTS, &b), Decision::GiveUp);
    }
    assert_eq!(b.drawn.get(), 0);
}

#[test]
fn sent_requests_go_again_only_when_repeatable_and_budgeted() {
    for f in [Failure::Lost, Failure::Unavailable] {
        let b = budget(1);
        assert_eq!(decide(f, O, 1, &b), Decision::GiveUp, "{f:?}: a write is never repeated");
        assert_eq!(b.drawn.get(), 0, "{f:?}: and draws nothing");
        assert_eq!(decide(f, R, 1, &b), Decision::Retry, "{f:?}");
        assert_eq!(decide(f, R, 2, &b), Decision::GiveUp, "{f:?}: the budget is spent");
        assert_eq!(decide(f, R, MAX_ATTEMPTS, &budget(9)), Decision::GiveUp, "{f:?}: attempts are capped");
    }
}

#[test]
fn a_slow_attempt_is_hedged_only_when_repeatable_and_budgeted() {
    let b = budget(1);
    assert_eq!(decide(Failure::Slow, O, 1, &b), Decision::GiveUp);
    assert_eq!(decide(Failure::Slow, R, 1, &b), Decision::Hedge);
    assert_eq!(decide(Failure::Slow, R, 2, &b), Decision::GiveUp, "no budget left");
    assert_eq!(decide(Failure::Slow, R, MAX_ATTEMPTS, &budget(9)), Decision::GiveUp);
}

#[test]
fn the_per_try_timeout_is_four_estimates_clamped_and_within_the_deadline() {
    let ms = Duration::from_millis;
    let long = Duration::from_secs(30);
    assert_eq!(per_try_timeout(ms(2), long), Some(PER_TRY_FLOOR), "a fast instance gets the floor");
    assert_eq!(per_try_timeout(ms(0), long), Some(PER_TRY_FLOOR), "an idle one too");
    assert_eq!(per_try_timeout(ms(50), long), Some(ms(200)));
    assert_eq!(per_try_timeout(ms(900), long), Some(PER_TRY_CEILING), "a slow one the ceiling");
    assert_eq!(per_try_timeout(ms(50), ms(200)), None, "no hedge that could not beat the deadline");
    assert_eq!(per_try_timeout(ms(50), ms(201)), Some(ms(200)));
}

#[test]
fn peak_ewma_jumps_up_and_decays_down() {
    let t0 = Instant::now();
    let e = PeakEwma::new(DEFAULT_RTT, DEFAULT_DECAY, t0);
    assert_eq!(e.estimate_ns(t0), 30e6, "starts at the default RTT");
    e.observe(Duration::from_millis(100), t0);
    assert_eq!(e.estimate_ns(t0), 100e6, "a slower reply is taken at once (the peak)");
    // A faster reply 10 s (one time constant) later moves 1 - 1/e of the way.
    e.observe(Duration::from_millis(10), t0 + DEFAULT_DECAY);
    let want = 100e6 / std::f64::consts::E + 10e6 * (1.0 - 1.0 / std::f64::consts::E);
    let got = e.estimate_ns(t0 + DEFAULT_DECAY);
    assert!((got - want).abs() < 1e3, "{got} vs {want}");
    // With no traffic the estimate decays towards zero.
    assert!(e.estimate_ns(t0 + DEFAULT_DECAY * 10) < 1e4, "e^-10 of ~46 ms");
    // Cost scales with what is already in flight.
    let f = PeakEwma::new(Duration::from_millis(10), DEFAULT_DECAY, t0);
    assert_eq!(f.cost(3, t0), 40e6);
}

#[test]
fn the_selection_key_reads_top_to_bottom() {
    let k = |tried, slow, in_flight, load, turn| SelectionKey { tried, slow, in_flight, load, turn };
    let mut keys = vec![
        k(true, false, 0, 0, 0),
        k(false, true, 0, 0, 0),
        k(false, false, 3, 0, 0),
        k(false, false, 1, 9, 0),
        k(false, false, 1, 2, 1),
        k(false, false, 1, 2, 0),
    ];
    keys.sort();
    assert_eq!(
        keys,
        vec![
            k(false, false, 1, 2, 0),
            k(false, false, 1, 2, 1),
            k(false, false, 1, 9, 0),
            k(false, false, 3, 0, 0),
            k(false, true, 0, 0, 0),
            k(true, false, 0, 0, 0),
        ]
    );
    // Exact ties take turns: each instance comes first once per n calls.
    let n = 3;
    for rotate in 0..n {
        let first = (0..n).min_by_key(|&i| SelectionKey::turn(i, n, rotate)).unwrap();
        assert_eq!(first, rotate);
    }
    assert_eq!(SelectionKey::turn(0, 0, 5), 0, "an empty list does not divide by zero");
}

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

#[test]
fn slow_means_both_a_ratio_and_a_gap_above_the_best() {
    let ms = Duration::from_millis;
    // A host behind a 200 ms link next to one answering in 5 ms.
    assert!(is_slow(ms(205), ms(5)));
    // Healthy instances a few milliseconds apart, or both slow alike: neither.
    assert!(!is_slow(ms(9), ms(2)), "under the floor");
    assert!(!is_slow(ms(45), ms(1)), "a hiccup under the floor");
    assert!(!is_slow(ms(300), ms(100)), "within the ratio of the best");
    assert!(is_slow(ms(401), ms(100)));
    assert!(!is_slow(SLOW_FLOOR, Duration::ZERO), "the floor itself is not slow");
    assert_eq!(SLOW_MULTIPLE, 4);
}

#[test]
fn the_recent_estimate_rises_at_once_and_forgives_within_seconds() {
    let t0 = Instant::now();
    let l = Latencies::default();
    let a: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    l.observe(a, Duration::from_millis(300), t0);
    assert!(l.recent(a) >= Duration::from_millis(300), "one slow call is seen at once");
    // Probes that find it fast again: within a few seconds it is not slow.
    for s in 1..=5 {
        l.observe_probe(a, Duration::from_millis(1), t0 + Duration::from_secs(s));
    }
    let t = t0 + Duration::from_secs(5);
    assert!(!is_slow(l.recent(a), Duration::from_millis(1)), "{:?}", l.recent(a));
    // The call estimate still remembers (ten-second decay) and probes do not feed it.
    assert!(l.estimate(a, t) > Duration::from_millis(150), "{:?}", l.estimate(a, t));
    // Probes that keep finding it slow keep it slow with no calls at all.
    let b: std::net::SocketAddr = "127.0.0.1:2".parse().unwrap();
    for s in 0..=5 {
        l.observe_probe(b, Duration::from_millis(210), t0 + Duration::from_secs(s));
    }
    assert!(is_slow(l.recent(b), Duration::from_millis(2)));
    // Nothing more heard from it (frozen): it does not fade into the fastest.
    let c: std::net::SocketAddr = "127.0.0.1:3".parse().unwrap();
    l.observe(c, Duration::from_millis(800), t0);
    assert_eq!(l.recent(c), Duration::from_millis(800), "reading does not decay it");
}

#[test]
fn recent_all_reads_each_instance_as_recent_does() {
    let t0 = Instant::now();
    let l = Latencies::default();
    let addr = |p: u16| std::net::SocketAddr::from(([127, 0, 0, 1], p));
    l.observe(addr(1), Duration::from_millis(300), t0);
    l.observe_probe(addr(2), Duration::from_millis(120), t0);
    // A third never heard of: the default estimate, as `recent` gives it.
    let all = l.recent_all([addr(1), addr(2), addr(3)].into_iter());
    assert_eq!(all, vec![Duration::from_millis(300), Duration::from_millis(120), DEFAULT_RTT]);
    assert_eq!(all, vec![l.recent(addr(1)), l.recent(addr(2)), l.recent(addr(3))]);
}
