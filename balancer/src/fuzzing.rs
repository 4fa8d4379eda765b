//! Fuzz entry points: what the cargo-fuzz targets in `fuzz/` run, and what
//! `tests/fuzz_corpus.rs` replays from the saved corpus on stable Rust.
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
//! - `rpc_frames`: the bytes are an RPC peer's stream. Frames are decoded
//!   with `proto::frame::decode` and each payload as the envelopes and the
//!   HTTP message; the blocking reader must agree with the buffer decoder,
//!   and a message that decodes must survive an encode/decode round trip.

use crate::chunked::ChunkedDecoder;
use crate::http1::{self, BodyReader, Request, MAX_BODY, MAX_HEAD};
use prost::Message;
use proto::frame::{self, FrameError, ReadOutcome};
use proto::pb;

/// Statuses a framing error may produce.
const FRAMING_STATUSES: [u16; 5] = [400, 413, 414, 431, 501];

/// A client byte stream through the request parser, body framing and the
/// forwarding rules.
pub fn http1_request_stream(data: &[u8]) {
    let client: std::net::SocketAddr = ([10, 0, 0, 1], 4242).into();
    let routes = crate::routes::RouteTable::default();
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
        crate::forward::for_each_header(&req, client, "fuzz-id", |n, v| {
            assert!(http1::valid_field(n, v), "forwarded header {n:?}: {v:?} could split the request");
            wire.extend_from_slice(v);
        });
        let rpc = crate::forward::http_request(req, client, "fuzz-id");
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

/// An RPC peer's byte stream through the frame decoder and the messages.
pub fn rpc_frames(data: &[u8]) {
    let max = 64 * 1024;
    let mut reader: &[u8] = data;
    let mut payload = Vec::new();
    let read = frame::read_frame(&mut reader, &mut payload, max);
    match (frame::decode(data, max), read) {
        (Ok(Some((range, used))), Ok(ReadOutcome::Frame)) => {
            assert_eq!(used, range.end);
            assert_eq!(&data[range], payload.as_slice(), "the two readers disagree on the payload");
        }
        (Ok(None), Ok(ReadOutcome::Closed)) => assert!(data.is_empty()),
        (Ok(None), Err(FrameError::Truncated)) => {}
        (Err(FrameError::BadFlag(a)), Err(FrameError::BadFlag(b))) => assert_eq!(a, b),
        (Err(FrameError::TooLarge { len: a, .. }), Err(FrameError::TooLarge { len: b, .. })) => assert_eq!(a, b),
        (d, r) => panic!("decode gave {d:?}, read_frame gave {:?}", r.map(|_| ())),
    }
    let mut buf = data;
    while let Ok(Some((range, used))) = frame::decode(buf, max) {
        let p = &buf[range];
        roundtrip::<pb::Request>(p);
        roundtrip::<pb::Response>(p);
        roundtrip::<pb::HttpRequest>(p);
        roundtrip::<pb::HttpResponse>(p);
        buf = &buf[used..];
    }
}

/// A message that decodes re-encodes to something that decodes the same.
fn roundtrip<M: Message + Default + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(m) = M::decode(bytes) {
        let again = M::decode(m.encode_to_vec().as_slice()).expect("our own encoding decodes");
        assert_eq!(m, again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_inputs_pass_the_checks() {
        http1_request_stream(
            b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        );
        http1_request_stream(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n");
        chunked_body(b"1\r\na\r\n0\r\n\r\n");
        let mut f = Vec::new();
        frame::encode_into(&pb::Request { call_id: 7, ..Default::default() }.encode_to_vec(), &mut f);
        rpc_frames(&f);
        rpc_frames(&f[..3]);
        rpc_frames(&[1, 0, 0, 0, 0]);
        rpc_frames(&[0, 0xff, 0xff, 0xff, 0xff]);
        rpc_frames(b"");
    }
}
