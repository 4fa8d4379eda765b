//! Unit tests of `balancer/src/http1/forward.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;
use crate::http1::request::parse_head;

fn req(raw: &str, body: &[u8]) -> Request {
    let (head, _) = parse_head(raw.as_bytes()).unwrap().unwrap();
    Request { head, body: body.to_vec() }
}

fn names(h: &[(String, Vec<u8>)]) -> Vec<String> {
    h.iter().map(|(n, _)| n.to_ascii_lowercase()).collect()
}

#[test]
fn hop_by_hop_and_connection_named_headers_stop_here() {
    let r = req(
        "POST /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\n\
         X-Secret: s\r\nTE: trailers\r\nUpgrade: ws\r\nProxy-Connection: x\r\nTrailer: y\r\n\
         Transfer-Encoding: chunked\r\nX-Keep: k\r\nX-Request-Id: theirs\r\n\r\n",
        b"abc",
    );
    let client: SocketAddr = "10.0.0.9:5555".parse().unwrap();
    let h = request_headers(&r, client, "ours");
    assert_eq!(names(&h), ["host", "x-keep", "x-forwarded-for", "x-forwarded-proto", "x-request-id", "content-length"]);
    let get = |n: &str| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    assert_eq!(get("x-forwarded-for").unwrap(), b"10.0.0.9");
    assert_eq!(get("x-forwarded-proto").unwrap(), b"http");
    assert_eq!(get("x-request-id").unwrap(), b"ours");
    assert_eq!(get("content-length").unwrap(), b"3");
}

#[test]
fn forwarded_for_appends_to_the_clients_list() {
    let r = req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", b"");
    let h = request_headers(&r, "127.0.0.1:1".parse().unwrap(), "id");
    let xff = h.iter().find(|(k, _)| k == "X-Forwarded-For").unwrap();
    assert_eq!(xff.1, b"1.2.3.4, 127.0.0.1");
    assert!(!names(&h).contains(&"content-length".to_string()), "no body, no length");
}

#[test]
fn the_rpc_request_carries_everything() {
    let r = req("PUT /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n", b"hi");
    let p = http_request(r, "127.0.0.1:9".parse().unwrap(), "rid");
    assert_eq!((p.method.as_str(), p.path.as_str(), p.query.as_str()), ("PUT", "/a b", "x=1"));
    assert_eq!((p.body.as_ref(), p.client_addr.as_str(), p.request_id.as_str()), (&b"hi"[..], "127.0.0.1:9", "rid"));
    assert_eq!(p.header("content-length"), Some(&b"2"[..]));
}

#[test]
fn invalid_upstream_status_is_502() {
    let r = from_http_response(pb::HttpResponse { status: 42, headers: vec![], body: Default::default() });
    assert_eq!(r.status, 502);
    let r = from_http_response(pb::HttpResponse { status: 201, headers: vec![], body: b"x".to_vec().into() });
    assert_eq!((r.status, r.body.as_ref()), (201, &b"x"[..]));
}
