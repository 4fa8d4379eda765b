//! Unit tests of `balancer/src/upstream/rpc.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

#[test]
fn statuses_map_through_http_status() {
    let r = |status: Code, msg: &str| {
        reply(Ok(pb::Response { call_id: 1, status: status as u32, message: msg.into(), payload: Default::default() }))
    };
    let nf = r(Code::NotFound, "no question 7");
    assert_eq!((nf.status, nf.body.as_ref()), (404, &br#"{"error":"no question 7"}"#[..]));
    assert_eq!(r(Code::InvalidArgument, "x").status, 400);
    let un = r(Code::Unavailable, "");
    assert_eq!(un.status, 503);
    assert!(un.headers.iter().any(|(n, v)| n == "Retry-After" && v == b"1"));
    assert_eq!(reply(Err(RpcError::ConnectionLost)).status, 503);
    assert_eq!(reply(Err(RpcError::DeadlineExceeded(Duration::from_secs(1)))).status, 504);
}

#[test]
fn ok_replies_decode_the_http_response() {
    let h = pb::HttpResponse {
        status: 201,
        headers: vec![pb::Header { name: "Content-Type".into(), value: b"application/json".to_vec() }],
        body: b"{}".to_vec().into(),
    };
    let ok =
        reply(Ok(pb::Response { call_id: 1, status: 0, message: String::new(), payload: h.encode_to_vec().into() }));
    assert_eq!((ok.status, ok.body.as_ref()), (201, &b"{}"[..]));
    let bad =
        reply(Ok(pb::Response { call_id: 1, status: 0, message: String::new(), payload: vec![0xff, 0xff].into() }));
    assert_eq!(bad.status, 502);
}

#[test]
fn wildcard_binds_advertise_loopback() {
    assert_eq!(advertised("0.0.0.0:8081".parse().unwrap()).to_string(), "127.0.0.1:8081");
    assert_eq!(advertised("127.0.0.2:8081".parse().unwrap()).to_string(), "127.0.0.2:8081");
}

#[test]
fn a_502_or_503_page_means_try_another_instance() {
    let page = |status: u32| {
        let h = pb::HttpResponse {
            status,
            headers: vec![pb::Header { name: "Retry-After".into(), value: b"1".to_vec() }],
            body: vec![b'x'; 300].into(),
        };
        pb::Response { call_id: 1, status: 0, message: String::new(), payload: h.encode_to_vec().into() }
    };
    // HttpStatus reads field 1 of the real message: this fails if the two drift apart.
    assert!(web_unavailable(&page(503)));
    assert!(web_unavailable(&page(502)));
    assert!(!web_unavailable(&page(200)));
    assert!(!web_unavailable(&page(500)));
    let rpc = |code: Code| pb::Response {
        call_id: 1,
        status: code as u32,
        message: String::new(),
        payload: Default::default(),
    };
    assert!(web_unavailable(&rpc(Code::Unavailable)));
    assert!(!web_unavailable(&rpc(Code::NotFound)));
}
