//! The sink's promises: lines wait for the flusher below FLUSH_AT, urgent
//! ones go out at once and in order, and a write that hangs (a stalled disk)
//! does not make writers wait until the buffer passes HOLD_AT.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static WRITTEN: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static STALL: AtomicBool = AtomicBool::new(false);

fn record(b: &[u8]) {
    while STALL.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    lock(&WRITTEN).extend_from_slice(b);
}

static SINK: Sink = Sink::new(record);

#[test]
fn lines_wait_urgent_ones_go_in_order_and_a_stalled_write_does_not_block_writers() {
    // One test: the sink and the recorder are process-wide.
    SINK.append(b"one\n", false);
    SINK.append(b"two\n", false);
    assert!(lock(&WRITTEN).is_empty(), "below FLUSH_AT lines wait for the flusher");
    assert_eq!(SINK.pending(), 8);
    SINK.append(b"three: a warning\n", true);
    assert_eq!(lock(&WRITTEN).as_slice(), b"one\ntwo\nthree: a warning\n");
    assert_eq!(SINK.pending(), 0);

    // A write that hangs: the flusher is stuck in it with its lines.
    STALL.store(true, Ordering::SeqCst);
    SINK.append(b"four\n", false);
    let stuck = Arc::new(AtomicBool::new(false));
    let flusher = {
        let stuck = stuck.clone();
        std::thread::spawn(move || {
            stuck.store(true, Ordering::SeqCst);
            SINK.flush();
        })
    };
    while !stuck.load(Ordering::SeqCst) || SINK.pending() != 0 {
        std::thread::yield_now();
    }
    // Writers keep appending, past FLUSH_AT, without waiting for it.
    let line = [b'x'; 1023].iter().copied().chain([b'\n']).collect::<Vec<u8>>();
    let n = 2 * FLUSH_AT / line.len();
    let (done, appended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..n {
            SINK.append(&line, false);
        }
        let _ = done.send(());
    });
    let waited = appended.recv_timeout(Duration::from_secs(10)).is_err();
    STALL.store(false, Ordering::SeqCst);
    assert!(!waited, "appends waited for the stalled write");
    assert_eq!(SINK.pending(), n * 1024);
    flusher.join().unwrap();
    SINK.flush();
    let written = lock(&WRITTEN).clone();
    assert!(written.starts_with(b"one\ntwo\nthree: a warning\nfour\nxxx"));
    assert_eq!(written.len(), 25 + 5 + n * 1024);
    const { assert!(HOLD_AT > 2 * FLUSH_AT) };
}
