//! Unit tests of `frame`: round trips, partial input that needs more, and lengths refused before any allocation.

use super::*;

#[test]
fn roundtrip_through_decode() {
    let mut out = Vec::new();
    encode_into(b"hello", &mut out);
    encode_into(b"", &mut out);
    let (range, used) = decode(&out, 100).unwrap().unwrap();
    assert_eq!(&out[range], b"hello");
    let (range, used2) = decode(&out[used..], 100).unwrap().unwrap();
    assert!(range.is_empty());
    assert_eq!(used + used2, out.len());
}

#[test]
fn partial_prefix_and_partial_payload_need_more() {
    let mut out = Vec::new();
    encode_into(b"abcdef", &mut out);
    for cut in 0..out.len() {
        assert!(decode(&out[..cut], 100).unwrap().is_none(), "cut at {cut}");
    }
}

#[test]
fn oversized_length_is_refused_before_allocation() {
    let buf = [0u8, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(decode(&buf, 1024), Err(FrameError::TooLarge { len: 0xffff_ffff, max: 1024 })));
    let mut r: &[u8] = &buf;
    let mut v = Vec::new();
    assert!(matches!(read_frame(&mut r, &mut v, 1024), Err(FrameError::TooLarge { .. })));
    assert_eq!(v.capacity(), 0, "nothing was allocated for the refused frame");
}

#[test]
fn compressed_flag_is_refused() {
    assert!(matches!(decode(&[1, 0, 0, 0, 0], 10), Err(FrameError::BadFlag(1))));
}

#[test]
fn truncated_stream_is_an_error_not_a_hang() {
    let mut out = Vec::new();
    encode_into(b"abcdef", &mut out);
    let mut r: &[u8] = &out[..7];
    let mut v = Vec::new();
    assert!(matches!(read_frame(&mut r, &mut v, 100), Err(FrameError::Truncated)));
    let mut r: &[u8] = &out[..3];
    assert!(matches!(read_frame(&mut r, &mut v, 100), Err(FrameError::Truncated)));
    let mut r: &[u8] = &[];
    assert!(matches!(read_frame(&mut r, &mut v, 100), Ok(ReadOutcome::Closed)));
}
