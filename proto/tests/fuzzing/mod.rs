//! What proto's fuzz targets check, shared by `fuzz/fuzz_targets/{h2_frames,
//! hpack_blocks,rpc_frames}.rs` (cargo-fuzz, nightly) and
//! `proto/tests/fuzz_corpus.rs` (the saved corpus replayed on stable in CI),
//! so both run exactly the same code.
//!
//! - `h2_frames`, `hpack_blocks`: HTTP/2 frames and HPACK header blocks.
//! - `rpc_frames`: an RPC peer's stream through `proto::frame` (the buffer
//!   decoder and the blocking reader must agree on every input) and each
//!   payload as the envelopes and the HTTP message, which must survive an
//!   encode/decode round trip.

// Each fuzz target includes this file and uses one of its functions.
#![allow(dead_code)]

use prost::Message;
use proto::frame::{FrameError, ReadOutcome};
use proto::h2::frame::{self, Frame};
use proto::h2::hpack;
use proto::pb;

/// Peer bytes through the frame splitter and decoder, header blocks
/// (HEADERS + CONTINUATION) through HPACK: never a panic, and every frame
/// decoded is consistent with its header.
pub fn h2_frames(data: &[u8]) {
    let mut dec = hpack::Decoder::new(16 << 10);
    let mut rest = data;
    let mut block: Vec<u8> = Vec::new();
    loop {
        let (head, payload, used) = match frame::split(rest, frame::DEFAULT_MAX_FRAME) {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                assert!(e.stream.is_none(), "an oversized frame is a connection error");
                return;
            }
        };
        assert_eq!(payload.len(), head.len);
        assert!(head.len <= frame::DEFAULT_MAX_FRAME);
        rest = &rest[used..];
        let Ok(f) = frame::decode(&head, payload) else { continue };
        match f {
            Frame::Data { data, flow_len, .. } => {
                assert_eq!(flow_len, head.len);
                assert!(data.len() <= flow_len);
            }
            Frame::Headers { block: b, end_headers, .. } | Frame::Continuation { block: b, end_headers, .. } => {
                assert!(b.len() <= head.len);
                if block.len() + b.len() > 64 << 10 {
                    return;
                }
                block.extend_from_slice(b);
                if end_headers {
                    headers(&mut dec, &block);
                    block.clear();
                }
            }
            Frame::Settings { ack, params } => assert!(!ack || params.is_empty()),
            Frame::WindowUpdate { increment, .. } => assert!(increment > 0 && increment as i64 <= frame::MAX_WINDOW),
            _ => {}
        }
    }
}

fn headers(dec: &mut hpack::Decoder, block: &[u8]) {
    if let Ok(list) = dec.decode(block) {
        let size: usize = list.fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
        assert!(size <= 16 << 10, "a kept header list stays within the maximum");
    }
}

/// Bytes as a sequence of header blocks on one HPACK context (the first byte
/// of each block gives its length, up to 255), so the dynamic table carries state from
/// one block to the next as it does on a connection.
pub fn hpack_blocks(data: &[u8]) {
    let mut dec = hpack::Decoder::new(16 << 10);
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = (n as usize).min(tail.len());
        headers(&mut dec, &tail[..n]);
        rest = &tail[n..];
    }
}

/// An RPC peer's byte stream through the frame decoder and the messages.
pub fn rpc_frames(data: &[u8]) {
    let max = 64 * 1024;
    let mut reader: &[u8] = data;
    let mut payload = Vec::new();
    let read = proto::frame::read_frame(&mut reader, &mut payload, max);
    match (proto::frame::decode(data, max), read) {
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
    while let Ok(Some((range, used))) = proto::frame::decode(buf, max) {
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
