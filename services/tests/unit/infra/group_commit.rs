//! Unit tests of `infra::group_commit` with an in-memory write (a closure
//! that records the groups it was given), compiled into the library's test
//! binary through `#[path]`, kept out of `src/`.

use super::*;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Runs `n` submits at once while the first group's write is held until
/// all `n` are queued; gives each caller's result and the groups written.
fn burst(n: usize, max_group: usize) -> (Vec<Result<u32, Status>>, Vec<Vec<u32>>) {
    let q: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::new(max_group, 1));
    let groups = Arc::new(Mutex::new(Vec::new()));
    let (release, hold) = mpsc::channel::<()>();
    let hold = Arc::new(Mutex::new(hold));
    let mut handles = Vec::new();
    for i in 0..n as u32 {
        let (q1, groups, hold) = (q.clone(), groups.clone(), hold.clone());
        handles.push(thread::spawn(move || {
            q1.submit(i, None, |items: Vec<u32>| {
                // The first group waits until the test has queued the rest.
                if groups.lock().unwrap().is_empty() {
                    let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(10));
                }
                groups.lock().unwrap().push(items.clone());
                items.iter().map(|x| Ok(x * 10)).collect()
            })
        }));
        if i == 0 {
            // Item 0 leads alone: wait until it is running, then queue the rest.
            while q.lock().leaders == 0 {
                thread::yield_now();
            }
        }
    }
    while q.lock().queued.len() < n - 1 {
        thread::yield_now();
    }
    release.send(()).unwrap();
    let results = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let groups = groups.lock().unwrap().clone();
    (results, groups)
}

#[test]
fn writes_that_wait_together_are_written_together_and_each_gets_its_own_result() {
    let (results, groups) = burst(9, 64);
    assert_eq!(results, (0..9).map(|i| Ok(i * 10)).collect::<Vec<_>>());
    assert_eq!(groups[0], vec![0], "the first write leads alone, at once");
    assert_eq!(groups.len(), 2, "the eight that queued behind it go as one group: {groups:?}");
    let mut second = groups[1].clone();
    second.sort_unstable();
    assert_eq!(second, (1..9).collect::<Vec<_>>());
}

#[test]
fn a_group_holds_at_most_max_group_oldest_first() {
    let (results, groups) = burst(8, 3);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 8);
    assert!(groups.iter().all(|g| g.len() <= 3), "{groups:?}");
    assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 8);
}

#[test]
fn a_lone_write_is_a_group_of_one() {
    let q: GroupCommit<&str, usize> = GroupCommit::new(64, 1);
    assert_eq!(q.submit("alone", None, |items| items.iter().map(|s| Ok(s.len())).collect()), Ok(5));
}

#[test]
fn a_write_that_panics_fails_its_group_and_the_next_group_still_runs() {
    let q: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::new(64, 1));
    let q2 = q.clone();
    let panicked = thread::spawn(move || {
        q2.submit(1, None, |_: Vec<u32>| -> Vec<Result<u32, Status>> { panic!("the write blew up") })
    })
    .join();
    assert!(panicked.is_err(), "the leader's own thread sees its panic");
    let s = q.lock();
    assert_eq!((s.leaders, s.queued.len()), (0, 0), "the leader stepped down");
    assert_eq!(s.done.get(&0).map(|r| r.as_ref().map_err(|e| e.code)), Some(Err(proto::Code::Internal)));
    drop(s);
    assert_eq!(q.submit(2, None, |items| items.iter().map(|x| Ok(x + 1)).collect()), Ok(3));
}

#[test]
fn a_short_write_answers_the_rest_of_its_group_internal() {
    let q: GroupCommit<u32, u32> = GroupCommit::new(64, 1);
    let r = q.submit(7, None, |_| Vec::new());
    assert_eq!(r.map_err(|e| e.code), Err(proto::Code::Internal));
}

#[test]
fn a_caller_out_of_time_leaves_the_queue_and_is_never_written() {
    let q: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::new(64, 1));
    let (release, hold) = mpsc::channel::<()>();
    let written = Arc::new(Mutex::new(Vec::new()));
    let (q1, w1) = (q.clone(), written.clone());
    let leader = thread::spawn(move || {
        q1.submit(1, None, |items: Vec<u32>| {
            let _ = hold.recv_timeout(Duration::from_secs(10));
            w1.lock().unwrap().extend(items.iter().copied());
            items.iter().map(|x| Ok(*x)).collect()
        })
    });
    while q.lock().leaders == 0 {
        thread::yield_now();
    }
    let deadline = Instant::now() + Duration::from_millis(100);
    let late = q.submit(2, Some(deadline), |items| {
        written.lock().unwrap().extend(items.iter().copied());
        items.iter().map(|x| Ok(*x)).collect()
    });
    assert_eq!(late.map_err(|e| e.code), Err(proto::Code::DeadlineExceeded));
    release.send(()).unwrap();
    assert_eq!(leader.join().unwrap(), Ok(1));
    assert_eq!(*written.lock().unwrap(), vec![1], "the late one was never written");
    assert!(q.lock().queued.is_empty());
}
