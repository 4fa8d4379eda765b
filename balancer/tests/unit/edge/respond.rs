//! A large body is queued behind its head without being copied, and the
//! bytes still go out in order: through writes that stop anywhere, and when
//! more output is queued before the body has gone.

//! (`Reply::write`, the part of `respond` that queues bytes: `respond` also
//! counts the response in the process's metrics, which other tests of this
//! binary read.)

use super::*;

fn page(fill: u8, len: usize) -> Response {
    Response::new(200, "text/html", vec![fill; len])
}

/// Everything unsent, as the socket would get it in writes of `step` bytes.
fn drain(r: &mut Reply, step: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    while !r.flushed() {
        let [a, b] = r.unsent();
        let all: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        let n = step.min(all.len());
        wire.extend_from_slice(&all[..n]);
        r.advance(n);
        r.compact();
    }
    wire
}

fn expected(resps: &[(&str, Response)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, resp) in resps {
        crate::http1::write_response(&mut out, resp, id, true, false);
    }
    out
}

#[test]
fn a_large_body_is_queued_uncopied_and_written_after_its_head() {
    let mut r = Reply::default();
    assert_eq!(r.write(page(b'a', 20_000), "one", true, false), 20_000);
    assert_eq!(r.body.len(), 20_000, "the body was not copied behind the head");
    assert!(r.out.len() < 1_000);
    assert_eq!(r.unsent_len(), r.out.len() + 20_000);
    // A write that stops inside the head, then inside the body.
    assert_eq!(drain(&mut r, 7_001), expected(&[("one", page(b'a', 20_000))]));
    assert!(r.body.is_empty() && r.out.is_empty(), "both buffers are given back once sent");
}

#[test]
fn output_queued_before_the_body_has_gone_follows_it() {
    let mut r = Reply::default();
    r.write(page(b'a', 10_000), "one", true, false);
    let [head, _] = r.unsent();
    let part = head.len() + 3_000;
    let mut wire = drain_some(&mut r, part);
    // A pipelined request's response, then a small one, queued meanwhile.
    r.write(page(b'b', 9_000), "two", true, false);
    r.write(page(b'c', 10), "three", true, false);
    wire.extend(drain(&mut r, 4_096));
    let want = expected(&[("one", page(b'a', 10_000)), ("two", page(b'b', 9_000)), ("three", page(b'c', 10))]);
    assert_eq!(wire, want);
}

/// The first `n` unsent bytes, as one write would take them.
fn drain_some(r: &mut Reply, n: usize) -> Vec<u8> {
    let [a, b] = r.unsent();
    let all: Vec<u8> = a.iter().chain(b.iter()).copied().take(n).collect();
    r.advance(all.len());
    r.compact();
    all
}
