//! The parsers the harnesses trust: log lines, database URLs, response heads.

use testkit::http::{parse_reply, Reader};
use testkit::listening_addr;
use testkit::with_database;

#[test]
fn finds_the_listening_line() {
    let log =
        "x INFO: starting\n2026-01-01T00:00:00.000Z 1 TID-a service INFO: listening on 127.0.0.1:4321 (question)\n";
    assert_eq!(listening_addr(log), Some("127.0.0.1:4321".parse().unwrap()));
    assert_eq!(listening_addr("nothing"), None);
}

#[test]
fn swaps_the_database_name() {
    assert_eq!(with_database("postgresql://u:p@h:1/stackwire", "x"), "postgresql://u:p@h:1/x");
    assert_eq!(with_database("postgresql://u:p@h:1/db?sslmode=disable", "x"), "postgresql://u:p@h:1/x?sslmode=disable");
}

#[test]
fn a_short_body_stays_short_and_a_chunked_one_is_decoded() {
    let r = parse_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
    assert!(parse_reply(b"HTTP/1.1 200 OK\r\n").is_none());
    let wire: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No\r\n\r\n";
    let mut reader = Reader::new(wire);
    assert_eq!(reader.response(false).text(), "abc");
    assert_eq!(reader.response(false).status, 204);
    assert!(reader.closed());
}
