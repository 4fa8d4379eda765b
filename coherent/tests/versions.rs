//! The version counters against a real Redis (STACKWIRE_TEST_REDIS_URL,
//! started by scripts/test.sh): a read sees every bump made before it, and
//! reads queued for the reader thread (`read_later`) get exactly what a read
//! of their own would have, many of them per round trip; bumps are announced
//! on the change feed several to a message.

mod common;

use coherent::{Stamp, Topic, Versions};
use common::{metric, versions};
use registry_agent::RegistryConfig;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn a_queued_read_sees_every_bump_made_before_it() {
    let v = versions("queued");
    let topics = [Topic::Thread(1), Topic::User(2)];
    v.bump(&topics[..1]).unwrap();
    v.bump(&topics).unwrap();
    let now = v.read(&topics).expect("a read");
    let (tx, rx) = mpsc::channel();
    v.read_later(topics.to_vec(), Box::new(move |s| tx.send(s).unwrap()));
    let queued = rx.recv_timeout(Duration::from_secs(5)).expect("the callback ran").expect("a stamp");
    assert_eq!(queued, now);
    v.bump(&topics[1..]).unwrap();
    let (tx, rx) = mpsc::channel();
    v.read_later(topics.to_vec(), Box::new(move |s| tx.send(s).unwrap()));
    let later = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_ne!(later, now, "a bump between two reads changes the stamp");
    assert_eq!(later.project(&topics[..1]), now.project(&topics[..1]), "and only the bumped topic's part");
}

#[test]
fn reads_queued_together_share_round_trips_and_each_gets_its_own_answer() {
    let v = versions("batched");
    for id in 1..=50 {
        for _ in 0..id % 4 {
            v.bump(&[Topic::Thread(id)]).unwrap();
        }
    }
    let want: Vec<Stamp> = (1..=50).map(|id| v.read(&[Topic::Thread(id)]).unwrap()).collect();
    // Queued faster than one round trip answers: most go together.
    let (tx, rx) = mpsc::channel();
    for round in 0..20 {
        for id in 1..=50i64 {
            let tx = tx.clone();
            v.read_later(vec![Topic::Thread(id)], Box::new(move |s| tx.send((round, id, s)).unwrap()));
        }
    }
    drop(tx);
    let mut got = 0;
    for (round, id, s) in rx.iter() {
        assert_eq!(s.as_ref(), Some(&want[id as usize - 1]), "round {round}, thread {id}");
        got += 1;
    }
    assert_eq!(got, 1000, "every callback ran once");
    assert_eq!(metric(&v, "stackwire_cache_version_reads_queued_total"), 1000);
    let batches = metric(&v, "stackwire_cache_version_read_batches_total");
    assert!((1..1000).contains(&batches), "{batches} round trips carried more than one read");
}

#[test]
fn a_read_of_nothing_fails_alone() {
    let v = versions("nothing");
    let (tx, rx) = mpsc::channel();
    for topics in [vec![], vec![Topic::Site]] {
        let tx = tx.clone();
        let empty = topics.is_empty();
        v.read_later(topics, Box::new(move |s| tx.send((empty, s.is_some())).unwrap()));
    }
    let mut answers: Vec<(bool, bool)> = (0..2).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    answers.sort();
    assert_eq!(answers, [(false, true), (true, false)], "the empty read gets no stamp, the other one does");
}

#[test]
fn an_unreachable_redis_answers_every_queued_read_with_none() {
    let dead = testkit::refused_addr();
    let v = Versions::new(RegistryConfig::new(&format!("redis://{dead}/")));
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        let tx = tx.clone();
        v.read_later(vec![Topic::Site], Box::new(move |s| tx.send(s).unwrap()));
    }
    for _ in 0..3 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), None);
    }
}

#[test]
fn bumps_are_announced_on_the_feed_several_to_a_message() {
    let v = versions("feed");
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL").unwrap();
    let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let mut ps = con.as_pubsub();
    ps.subscribe(coherent::feed::channel(v.config())).unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Fifty bumps, one after another, each acknowledged before the next.
    let bumped: Vec<Topic> = (1..=50).map(Topic::Thread).collect();
    for t in &bumped {
        v.bump(&[*t]).unwrap();
    }
    let (mut messages, mut seen) = (0, std::collections::BTreeSet::new());
    while seen.len() < bumped.len() {
        let msg = ps.get_message().expect("every bumped topic announced within 5 s");
        let payload: String = msg.get_payload().unwrap();
        messages += 1;
        seen.extend(payload.split_whitespace().map(|w| Topic::parse(w).expect(w)));
    }
    assert_eq!(seen, bumped.iter().copied().collect(), "exactly the topics bumped");
    assert!(messages < 25, "50 bumps took {messages} messages: the feed wakes every listener for each");
}
