//! What the balancer's fuzz targets check, shared by
//! `fuzz/fuzz_targets/http1_request_stream.rs` (cargo-fuzz, nightly) and
//! `balancer/tests/fuzz_corpus.rs` (the saved corpus replayed on stable in
//! CI), so both run exactly the same code. Test code, so it lives under
//! `tests/`, not in the balancer library.
//!
//! Each function takes arbitrary bytes and exercises a parser the way the
//! balancer uses it, checking invariants a bug would break, not merely the
//! absence of a panic:
//!
//! - `http1_request_stream`: the bytes are a client's stream. Requests are
//!   parsed one after another as a connection does (head, then the body its
//!   framing announces, then the next pipelined request), and every parsed
//!   request is turned into what an upstream would receive. Consumed counts
//!   never exceed the input, bodies never exceed the limit, every error maps
//!   to one of the statuses the framing rules allow, and a chunked body
//!   decodes to the same bytes whether it arrives whole or in two pieces.
//! - `chunked_body`: a chunked body alone.
//!
//! The RPC frame decoder's target (`rpc_frames`) is proto's and lives in
//! proto/tests/fuzzing.

use balancer::http1::ChunkedDecoder;
use balancer::http1::{self, BodyReader, Request, MAX_BODY, MAX_HEAD};
use prost::Message;

/// Statuses a framing error may produce.
const FRAMING_STATUSES: [u16; 5] = [400, 413, 414, 431, 501];

/// A client byte stream through the request parser, body framing and the
/// forwarding rules.
pub fn http1_request_stream(data: &[u8]) {
    let client: std::net::SocketAddr = ([10, 0, 0, 1], 4242).into();
    let routes = balancer::RouteTable::default();
    let mut buf = data;
    for _ in 0..32 {
        let (head, n) = match http1::parse_head(buf) {
            Ok(Some(found)) => found,
            Ok(None) => return,
            Err(e) => {
                assert!(FRAMING_STATUSES.contains(&e.status()), "{e:?} maps to {}", e.status());
                return;
            }
        };
        assert!(n > 0 && n <= buf.len() && n <= MAX_HEAD, "head of {n} bytes from {}", buf.len());
        assert!(head.path.starts_with('/') || head.origin == "*", "path {:?}", head.path);
        let _ = routes.lookup(&head.path);
        let _ = head.request_line();
        buf = &buf[n..];
        let mut body = Vec::new();
        if let Some(mut reader) = BodyReader::new(head.body) {
            let whole = reader.clone();
            match reader.feed(buf, &mut body, MAX_BODY) {
                Ok((used, done)) => {
                    assert!(used <= buf.len() && body.len() <= MAX_BODY);
                    if let BodyReader::Chunked(_) = whole {
                        split_agrees(whole, &buf[..used], &body);
                    }
                    if !done {
                        return;
                    }
                    buf = &buf[used..];
                }
                Err(e) => {
                    assert!(FRAMING_STATUSES.contains(&e.status()), "{e:?}");
                    return;
                }
            }
        }
        let req = Request { head, body };
        let mut wire = Vec::new();
        balancer::http1::for_each_header(&req, client, "fuzz-id", |n, v| {
            assert!(http1::valid_field(n, v), "forwarded header {n:?}: {v:?} could split the request");
            wire.extend_from_slice(v);
        });
        let rpc = balancer::http1::http_request(req, client, "fuzz-id");
        let _ = rpc.encode_to_vec();
    }
}

/// Decoding `input` in two pieces gives what decoding it whole gave.
fn split_agrees(reader: BodyReader, input: &[u8], whole: &[u8]) {
    let BodyReader::Chunked(mut d) = reader else { return };
    let cut = input.len() / 2;
    let mut body = Vec::new();
    let a = d.feed(&input[..cut], &mut body, MAX_BODY).expect("a prefix of a valid body is valid");
    assert_eq!(a, cut, "a prefix is consumed whole");
    let b = d.feed(&input[cut..], &mut body, MAX_BODY).expect("the rest of a valid body is valid");
    assert_eq!(a + b, input.len());
    assert_eq!(body, whole, "split and whole decodes differ");
}

/// A chunked body alone (what static upstreams send back, too).
pub fn chunked_body(data: &[u8]) {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    if let Ok(n) = d.feed(data, &mut body, MAX_BODY) {
        assert!(n <= data.len() && body.len() <= MAX_BODY && body.len() <= n);
    }
}
