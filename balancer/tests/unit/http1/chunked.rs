//! Unit tests of `balancer/src/http1/chunked.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn decode_all(input: &[u8], max: usize) -> Result<(Vec<u8>, usize), FramingError> {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    let n = d.feed(input, &mut body, max)?;
    assert!(d.is_done(), "not finished after {n} bytes");
    Ok((body, n))
}

#[test]
fn decodes_chunks_extensions_and_trailers() {
    let input = b"5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /next";
    let (body, n) = decode_all(input, 100).unwrap();
    assert_eq!(body, b"hello world");
    assert_eq!(&input[n..], b"GET /next", "stops at the end of the body");
}

#[test]
fn byte_by_byte_equals_whole() {
    let input = b"A\r\n0123456789\r\n1 ; x\r\n!\r\n0\r\n\r\n";
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    for b in input.iter() {
        assert_eq!(d.feed(std::slice::from_ref(b), &mut body, 100).unwrap(), 1);
    }
    assert!(d.is_done());
    assert_eq!(body, b"0123456789!");
}

#[test]
fn rejects_bad_sizes_and_lines() {
    for bad in [&b"zz\r\n"[..], b"\r\n", b"-1\r\n", b"0x10\r\n", b"11111111111111111\r\n", b"5\nhello"] {
        let mut d = ChunkedDecoder::new();
        let e = d.feed(bad, &mut Vec::new(), 100).unwrap_err();
        assert!(matches!(e, FramingError::BadChunkSize | FramingError::BadChunk), "{bad:?} gave {e:?}");
        assert_eq!(e.status(), 400);
    }
    // Data not followed by CRLF.
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.feed(b"2\r\nabc\r\n", &mut Vec::new(), 100), Err(FramingError::BadChunk));
}

#[test]
fn enforces_the_maximum_before_accepting_data() {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    assert_eq!(d.feed(b"8\r\n", &mut body, 7), Err(FramingError::BodyTooLarge));
    assert!(body.is_empty());
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.feed(b"4\r\nabcd\r\n4\r\n", &mut Vec::new(), 7), Err(FramingError::BodyTooLarge));
    assert_eq!(
        ChunkedDecoder::new().feed(b"ffffffffffffffff\r\n", &mut Vec::new(), 7),
        Err(FramingError::BodyTooLarge)
    );
}
