//! Unit tests of `registry_agent/src/policy/timer.rs`, compiled into the library's own test
//! binary through `#[path]`. The timer thread is the process's one; each test sets its own timers.

use super::*;
use std::time::Duration;

fn sender(tx: &crossbeam_channel::Sender<&'static str>, what: &'static str) -> Task {
    let tx = tx.clone();
    Box::new(move || {
        let _ = tx.send(what);
    })
}

#[test]
fn an_earlier_timer_set_while_the_thread_sleeps_on_a_later_one_fires_first() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let now = Instant::now();
    at(now + Duration::from_millis(400), sender(&tx, "late")).expect("timer thread");
    at(now + Duration::from_millis(20), sender(&tx, "early")).expect("timer thread");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("early"));
    assert!(now.elapsed() < Duration::from_millis(400), "the early timer waited for the late one");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("late"));
    assert!(now.elapsed() >= Duration::from_millis(400), "the late timer fired early");
}

#[test]
fn a_cancelled_timer_never_fires() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let now = Instant::now();
    let key = at(now + Duration::from_millis(30), sender(&tx, "cancelled")).expect("timer thread");
    at(now + Duration::from_millis(60), sender(&tx, "kept")).expect("timer thread");
    cancel(key);
    // Timers fire in deadline order: had the first one survived, it would come first.
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("kept"));
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_timer_set_from_a_firing_timer_fires_too() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let again = sender(&tx, "again");
    at(
        Instant::now() + Duration::from_millis(10),
        Box::new(move || {
            at(Instant::now() + Duration::from_millis(10), again);
        }),
    )
    .expect("timer thread");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("again"));
}
