//! Unit tests of `balancer/src/upstream/http/upconn.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn f(raw: &str) -> Result<Framing, UpError> {
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut r = httparse::Response::new(&mut fields);
    assert!(r.parse(raw.as_bytes()).unwrap().is_complete());
    framing(r.headers)
}

#[test]
fn response_framing_rules() {
    let x = f("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").unwrap();
    assert_eq!((x.length, x.chunked, x.close), (Some(5), false, false), "equal duplicates are one length");
    assert!(matches!(
        f("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        Err(UpError::Malformed(_))
    ));
    assert!(matches!(f("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), Err(UpError::Malformed(_))));
    let x = f("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
    assert!(x.chunked && !x.other_coding && !x.close);
    let x = f("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n").unwrap();
    assert!(x.chunked && x.length.is_none() && x.close, "TE overrides CL, and the connection is not reused");
    let x = f("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap();
    assert!(x.other_coding && !x.chunked, "read until close");
    let x = f("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
    assert!(x.keep_alive && !x.close);
    let x = f("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n\r\n").unwrap();
    assert!(x.close);
}
