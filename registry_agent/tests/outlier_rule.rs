//! The outlier rule (issue 10), as pure state with a fake clock: only an
//! instance's own failures count against it, never the status of what it
//! answered, and a timeout counts only when a peer answered meanwhile.

use proto::Code;
use registry_agent::health::{instance_failure, HealthPolicy, HealthTable, Probe};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn a(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn pool(t: Instant) -> HealthTable {
    let mut h = HealthTable::new(HealthPolicy::default());
    for p in [1, 2, 3] {
        h.probe(a(p), "q", Probe::Serving, t);
    }
    h
}

#[test]
fn only_unavailable_is_a_failure_of_the_instance() {
    assert!(instance_failure(Code::Unavailable));
    for code in [Code::Ok, Code::Internal, Code::Unknown, Code::DeadlineExceeded, Code::InvalidArgument, Code::NotFound]
    {
        assert!(!instance_failure(code), "{code}");
    }
}

#[test]
fn a_hundred_handler_errors_in_a_row_eject_nobody() {
    let t = Instant::now();
    let mut h = pool(t);
    for _ in 0..100 {
        assert!(!h.reply(a(1), "q", instance_failure(Code::Internal), t));
    }
    assert!(h.available(&a(1), t));
    assert_eq!(h.view(&a(1), t).ejections, 0);
}

#[test]
fn five_unavailable_in_a_row_eject() {
    let t = Instant::now();
    let mut h = pool(t);
    for i in 0..5 {
        assert_eq!(h.reply(a(1), "q", instance_failure(Code::Unavailable), t), i == 4);
    }
    assert!(!h.available(&a(1), t));
}

#[test]
fn timeouts_count_only_when_a_peer_answered_meanwhile() {
    let t = Instant::now();
    let mut h = pool(t);
    let later = t + Duration::from_secs(5);
    // The whole service is slow: nobody answered since the calls were sent.
    for _ in 0..10 {
        assert!(!h.timed_out(a(1), "q", t, later));
    }
    assert!(h.available(&a(1), later));
    // A peer answered after the calls were sent: the slowness is a(1)'s.
    h.reply(a(2), "q", false, t + Duration::from_secs(1));
    for i in 0..5 {
        assert_eq!(h.timed_out(a(1), "q", t, later), i == 4);
    }
    assert!(!h.available(&a(1), later));
    // An answer from the slow instance resets its count.
    let t2 = later + Duration::from_secs(400);
    h.reply(a(3), "q", false, t2);
    for _ in 0..4 {
        h.timed_out(a(2), "q", t2, t2);
    }
    h.reply(a(2), "q", false, t2);
    assert!(!h.timed_out(a(2), "q", t2, t2));
    assert!(h.available(&a(2), t2));
}
