//! What the HTTP/2 fuzz targets check, shared by `fuzz/fuzz_targets/h2_*.rs`
//! (cargo-fuzz, nightly) and `proto/tests/fuzz_corpus.rs` (the saved corpus
//! replayed on stable in CI), so both run exactly the same code.

use proto::h2::frame::{self, Frame};
use proto::h2::hpack;

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
