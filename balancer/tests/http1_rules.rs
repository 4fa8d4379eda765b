//! One test per framing rule of `balancer::http1`, so that a rule cannot be
//! lost in a refactor without a test naming it going red.

use balancer::http1::*;

fn parse(s: &str) -> Result<Option<(Head, usize)>, FramingError> {
    parse_head(s.as_bytes())
}

fn err(s: &str) -> FramingError {
    parse(s).expect_err("should be rejected")
}

#[test]
fn a_plain_get_parses() {
    let raw = "GET /webserv/question/7?page=2 HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
    let (h, n) = parse(raw).unwrap().unwrap();
    assert_eq!(&raw[n..], "NEXT");
    assert_eq!(h.method, "GET");
    assert_eq!(h.path, "/webserv/question/7");
    assert_eq!(h.query, "page=2");
    assert_eq!(h.origin, "/webserv/question/7?page=2");
    assert_eq!(h.body, BodyKind::None);
    assert!(h.keep_alive);
    assert_eq!(h.request_line(), "GET /webserv/question/7?page=2 HTTP/1.1");
}

#[test]
fn partial_heads_wait_for_more() {
    assert!(parse("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
    assert!(parse("GE").unwrap().is_none());
    assert!(parse("").unwrap().is_none());
}

#[test]
fn path_is_decoded_and_absolute_form_reduced() {
    let (h, _) = parse("GET /a%20b/%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
    assert_eq!(h.path, "/a b/é");
    let (h, _) = parse("GET http://example.com/x?y=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
    assert_eq!((h.origin.as_str(), h.path.as_str(), h.query.as_str()), ("/x?y=1", "/x", "y=1"));
    let (h, _) = parse("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
    assert_eq!(h.path, "/");
    assert_eq!(err("GET example.com/x HTTP/1.1\r\nHost: x\r\n\r\n"), FramingError::BadTarget);
}

#[test]
fn http10_closes_unless_keep_alive_and_11_keeps_unless_close() {
    let (h, _) = parse("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
    assert!(!h.keep_alive, "1.0 needs no Host and closes by default");
    let (h, _) = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap().unwrap();
    assert!(h.keep_alive);
    let (h, _) = parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n").unwrap().unwrap();
    assert!(!h.keep_alive);
}

#[test]
fn request_line_over_8k_is_414_even_before_the_head_ends() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
    assert_eq!(err(&long), FramingError::RequestLineTooLong);
    assert_eq!(FramingError::RequestLineTooLong.status(), 414);
    // Incomplete, no newline yet, but already too long.
    let partial = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE + 10));
    assert_eq!(err(&partial), FramingError::RequestLineTooLong);
    // Exactly at the limit is fine.
    let path = "a".repeat(MAX_REQUEST_LINE - "GET / HTTP/1.1".len());
    let ok = format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(parse(&ok).unwrap().is_some());
}

#[test]
fn head_over_16k_is_431_complete_or_not() {
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "v".repeat(MAX_HEAD));
    assert_eq!(err(&big), FramingError::HeadTooLarge);
    assert_eq!(err(&big[..MAX_HEAD + 10]), FramingError::HeadTooLarge);
    assert_eq!(FramingError::HeadTooLarge.status(), 431);
    let many: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
    let e = err(&format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n"));
    assert_eq!((e, e.status()), (FramingError::TooManyHeaders, 431));
}

#[test]
fn content_length_rules() {
    let (h, _) = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n").unwrap().unwrap();
    assert_eq!(h.body, BodyKind::Length(12));
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::DuplicateContentLength, 400));
    for bad in ["-1", "+3", "3,3", "0x10", "", "1 2", "99999999999999999999"] {
        let e = err(&format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {bad}\r\n\r\n"));
        assert_eq!((e, e.status()), (FramingError::BadContentLength, 400), "{bad:?}");
    }
    let e = err(&format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1));
    assert_eq!((e, e.status()), (FramingError::BodyTooLarge, 413));
    let (h, _) = parse(&format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY}\r\n\r\n")).unwrap().unwrap();
    assert_eq!(h.body, BodyKind::Length(MAX_BODY));
}

#[test]
fn transfer_encoding_rules() {
    let (h, _) = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n").unwrap().unwrap();
    assert_eq!(h.body, BodyKind::Chunked);
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::LengthAndEncoding, 400));
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::NotChunked, 400));
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::NotChunked, 400));
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::NotChunked, 400));
    let e = err("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::UnsupportedCoding, 501));
    let e = err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::EncodingOnHttp10, 400));
}

#[test]
fn host_rules() {
    let e = err("GET / HTTP/1.1\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::MissingHost, 400));
    let e = err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_eq!((e, e.status()), (FramingError::DuplicateHost, 400));
}

#[test]
fn httparse_errors_are_400() {
    for bad in [
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET\x01 / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
    ] {
        let e = err(bad);
        assert!(matches!(e, FramingError::Parse(_)), "{bad:?} gave {e:?}");
        assert_eq!(e.status(), 400);
    }
}

#[test]
fn expect_continue_only_with_a_body_on_11() {
    let (h, _) =
        parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n").unwrap().unwrap();
    assert!(h.expect_continue);
    let (h, _) = parse("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n").unwrap().unwrap();
    assert!(!h.expect_continue);
}

#[test]
fn body_reader_length_and_chunked() {
    let mut r = BodyReader::new(BodyKind::Length(5)).unwrap();
    let mut body = Vec::new();
    assert_eq!(r.feed(b"abc", &mut body, MAX_BODY).unwrap(), (3, false));
    assert_eq!(r.feed(b"deXX", &mut body, MAX_BODY).unwrap(), (2, true));
    assert_eq!(body, b"abcde");
    let mut r = BodyReader::new(BodyKind::Chunked).unwrap();
    let mut body = Vec::new();
    assert_eq!(r.feed(b"3\r\nabc\r\n0\r\n\r\nX", &mut body, MAX_BODY).unwrap(), (13, true));
    assert_eq!(body, b"abc");
    let mut r = BodyReader::new(BodyKind::Chunked).unwrap();
    let e = r.feed(b"100001\r\n", &mut Vec::new(), MAX_BODY).unwrap_err();
    assert_eq!((e, e.status()), (FramingError::BodyTooLarge, 413));
    let e = BodyReader::new(BodyKind::Chunked).unwrap().feed(b"xyz\r\n", &mut Vec::new(), MAX_BODY).unwrap_err();
    assert_eq!((e, e.status()), (FramingError::BadChunkSize, 400));
    assert!(BodyReader::new(BodyKind::None).is_none());
}

fn serialize(resp: &Response, keep: bool, head: bool) -> (String, usize) {
    let mut out = Vec::new();
    let n = write_response(&mut out, resp, "rid-1", keep, head);
    (String::from_utf8(out).unwrap(), n)
}

#[test]
fn responses_carry_length_connection_and_request_id() {
    let mut r = Response::new(200, "text/plain", b"hello".to_vec());
    r.headers.push(("Transfer-Encoding".into(), b"chunked".to_vec()));
    r.headers.push(("Content-Length".into(), b"999".to_vec()));
    r.headers.push(("X-Evil".into(), b"a\r\nSet-Cookie: x".to_vec()));
    r.headers.push(("X-Fine".into(), b"ok".to_vec()));
    let (s, n) = serialize(&r, true, false);
    assert_eq!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Fine: ok\r\nContent-Length: 5\r\n\
         Connection: keep-alive\r\nX-Request-Id: rid-1\r\n\r\nhello"
    );
    assert_eq!(n, 5);
    let (s, n) = serialize(&r, false, true);
    assert!(s.ends_with("Content-Length: 5\r\nConnection: close\r\nX-Request-Id: rid-1\r\n\r\n"), "{s}");
    assert_eq!(n, 0);
    let mut head = Response::new(200, "text/plain", Vec::new());
    head.head_length = Some(42);
    assert!(serialize(&head, true, true).0.contains("Content-Length: 42\r\n"));
    let (s, _) = serialize(&Response::new(204, "text/plain", b"x".to_vec()), true, false);
    assert!(!s.contains("Content-Length") && s.ends_with("\r\n\r\n"), "{s}");
}

#[test]
fn error_responses_are_json() {
    let r = Response::error(503, "no live instance of webui").with_header("Retry-After", "1");
    let (s, _) = serialize(&r, false, false);
    assert!(s.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    assert!(s.contains("Retry-After: 1\r\n"));
    assert!(s.ends_with("{\"error\":\"no live instance of webui\"}"), "{s}");
}
