//! Unit tests of `balancer/src/upstream/http/backends.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn ups(n: usize) -> HttpUpstreams {
    let urls: Vec<UpstreamUrl> = (0..n)
        .map(|i| crate::ops::config::parse_upstream(&format!("http://127.0.0.1:{}", 9000 + i)).unwrap())
        .collect();
    HttpUpstreams::new(&urls, Balance::RoundRobin, Duration::from_secs(1))
}

#[test]
fn pick_skips_tried_and_down_upstreams_but_falls_back_to_down_ones() {
    let u = ups(3);
    let now = Instant::now();
    assert_eq!(u.pick(bit(0) | bit(1), now), Some(2));
    assert_eq!(u.pick(bit(0) | bit(1) | bit(2), now), None);
    u.mark_down(2, now);
    assert_eq!(u.pick(bit(0), now), Some(1), "the down one is skipped");
    assert_eq!(u.pick(bit(0) | bit(1), now), Some(2), "but tried when nothing else is left");
    assert!((0..6).all(|_| u.pick(0, now) != Some(2)));
    assert!((0..6).any(|_| u.pick(0, now + DOWN_FOR) == Some(2)), "and back after a while");
}

#[test]
fn serialized_requests_carry_forwarding_headers_and_a_host() {
    let u = ups(1);
    let (head, _) =
        crate::http1::parse_head(b"POST /p?q=1 HTTP/1.0\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n").unwrap().unwrap();
    let req = Request { head, body: b"hi".to_vec() };
    let mut out = Vec::new();
    u.serialize(0, &req, "10.0.0.1:5".parse().unwrap(), "rid", &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nX-A: 1\r\nX-Forwarded-For: 10.0.0.1\r\n\
         X-Forwarded-Proto: http\r\nX-Request-Id: rid\r\nContent-Length: 2\r\n\r\nhi"
    );
}
