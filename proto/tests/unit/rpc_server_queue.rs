//! Unit tests of `proto/src/rpc_server/queue.rs`, compiled into the library's own test binary
//! through `#[path]`.

use super::*;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_full_queue_hands_the_item_back() {
    let q = WorkQueue::new(2);
    assert!(q.try_push(1).is_ok());
    assert!(q.try_push(2).is_ok());
    assert_eq!(q.try_push(3), Err(3));
    assert_eq!(q.pop(), Some(1));
    assert!(q.try_push(3).is_ok());
    assert_eq!((q.pop(), q.pop()), (Some(2), Some(3)));
}

#[test]
fn sleeping_workers_wake_for_each_item_and_end_when_closed() {
    let q = Arc::new(WorkQueue::new(64));
    let (tx, rx) = crossbeam_channel::unbounded();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (q, tx) = (q.clone(), tx.clone());
            std::thread::spawn(move || {
                while let Some(n) = q.pop() {
                    tx.send(n).expect("test receiver");
                }
            })
        })
        .collect();
    // Each item is taken by some worker, whether they slept or not.
    for n in 0..40 {
        q.try_push(n).expect("room");
    }
    let mut got: Vec<i32> = (0..40).map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("an item")).collect();
    got.sort();
    assert_eq!(got, (0..40).collect::<Vec<_>>());
    // Closed: items still queued are served, then every worker ends.
    q.try_push(99).expect("room");
    q.close();
    assert_eq!(q.try_push(100), Err(100));
    for w in workers {
        w.join().expect("worker");
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![99]);
}
