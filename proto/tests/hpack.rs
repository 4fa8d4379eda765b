//! The HPACK decoder against RFC 7541's own examples (Appendix C: literal and
//! Huffman-coded requests sharing one dynamic table, a Huffman-coded
//! response) and against hostile blocks, each a COMPRESSION_ERROR rather than
//! a panic: truncated integers (the input that made `hpack` 0.3 panic,
//! RUSTSEC-2023-0085), huge integers, bad Huffman padding, EOS, bad indexes,
//! table size updates over the limit or after a field, strings past the block.

use proto::h2::hpack::{self, Decoder};
use proto::h2::ErrorCode;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn fields(d: &mut Decoder, block: &str) -> Vec<(String, String)> {
    let list = d.decode(&hex(block)).unwrap();
    assert!(!list.too_large);
    list.fields.into_iter().map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap())).collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

const REQ1: &[(&str, &str)] =
    &[(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];

#[test]
fn rfc7541_c3_requests_without_huffman() {
    let mut d = Decoder::new(1 << 16);
    assert_eq!(fields(&mut d, "828684410f7777772e6578616d706c652e636f6d"), pairs(REQ1));
    assert_eq!(fields(&mut d, "828684be58086e6f2d6361636865"), pairs(REQ2));
    assert_eq!(fields(&mut d, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"), pairs(REQ3));
}

#[test]
fn rfc7541_c4_requests_with_huffman() {
    let mut d = Decoder::new(1 << 16);
    assert_eq!(fields(&mut d, "828684418cf1e3c2e5f23a6ba0ab90f4ff"), pairs(REQ1));
    assert_eq!(fields(&mut d, "828684be5886a8eb10649cbf"), pairs(REQ2));
    assert_eq!(fields(&mut d, "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"), pairs(REQ3));
}

#[test]
fn rfc7541_c6_1_a_huffman_response() {
    let mut d = Decoder::new(1 << 16);
    let block =
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3";
    assert_eq!(
        fields(&mut d, block),
        pairs(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ])
    );
}

#[test]
fn our_encoder_round_trips_through_the_decoder() {
    let mut block = Vec::new();
    hpack::encode_status(&mut block, 200);
    hpack::encode_status(&mut block, 415);
    hpack::encode_field(&mut block, b"grpc-message", "x".repeat(300).as_bytes());
    let mut d = Decoder::new(1 << 16);
    let list = d.decode(&block).unwrap();
    assert_eq!(list.get(b":status"), Some(&b"200"[..]));
    assert_eq!(list.fields[1].1, b"415");
    assert_eq!(list.get(b"grpc-message").unwrap().len(), 300);
}

#[test]
fn hostile_blocks_are_compression_errors() {
    for (why, block) in [
        ("truncated integer (RUSTSEC-2023-0085's input)", "3f"),
        ("huge integer", "1fffffffffffffffff01"),
        ("integer of endless zero continuation bytes", "1f80808080808080808080808001"),
        ("index 0", "80"),
        ("index past the table", "ff00"),
        ("table size over the limit", "3fe21f"),
        ("table size update after a field", "823fe11f"),
        ("string past the block", "0004ff61"),
        ("Huffman padding of zeros", "00008100"),
        ("Huffman padding longer than 7 bits", "000082ffff"),
        ("EOS in a Huffman string", "000084ffffffff"),
    ] {
        let mut d = Decoder::new(1 << 16);
        let err = d.decode(&hex(block)).err().unwrap_or_else(|| panic!("{why}: accepted"));
        assert_eq!(err.code, ErrorCode::Compression, "{why}");
    }
}

#[test]
fn a_list_past_the_maximum_is_flagged_and_not_kept_but_the_table_stays_in_step() {
    let mut d = Decoder::new(200);
    // A literal with incremental indexing of a 150-byte value, then the same
    // entry again by index: 2 × (10 + 150 + 32) bytes, over 200.
    let mut block = vec![0x40, 10];
    block.extend_from_slice(b"custom-key");
    block.push(0x7f);
    block.push(150 - 127);
    block.extend_from_slice(&[b'v'; 150]);
    block.push(0x80 | 62);
    let list = d.decode(&block).unwrap();
    assert!(list.too_large && list.fields.is_empty());
    // The entry was still added: the next block can refer to it.
    let list = d.decode(&[0x80 | 62]).unwrap();
    assert_eq!(list.get(b"custom-key").map(<[u8]>::len), Some(150));
}
