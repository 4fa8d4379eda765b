//! Header compression (RFC 7541). Decoding is complete (static and dynamic
//! tables, size updates, Huffman) because real clients index and Huffman-code
//! everything: it is `loona-hpack`'s decoder (a maintained fork of `hpack` that
//! returns errors where the original panicked, RUSTSEC-2023-0085), held to two
//! limits of ours. The dynamic table may not grow past the 4,096 bytes we
//! advertise. A decoded header list past `max_list` bytes (RFC 9113's
//! SETTINGS_MAX_HEADER_LIST_SIZE measure: name + value + 32 per field) is not
//! kept: the block is still decoded to the end, so the table stays in step
//! with the peer's, but its fields are dropped and the caller refuses the
//! stream. Indexed fields can repeat a 4 KiB table entry for each byte of
//! input, so without that cap a 16 KiB block could expand to 64 MiB.
//!
//! The encoder is the minimal one the RFC allows: `:status 200` from the
//! static table, every other field a literal that is never indexed, no
//! Huffman; responses carry few headers and the peer's table stays empty.

use super::{ErrorCode, H2Error};

/// The dynamic table size we accept (the protocol's default).
pub const TABLE_SIZE: usize = 4096;

/// A header list as decoded: names and values as bytes, in order.
#[derive(Debug, Default)]
pub struct HeaderList {
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// The list exceeded the maximum; `fields` is incomplete.
    pub too_large: bool,
}

impl HeaderList {
    /// The first value of `name` (lowercase, as HTTP/2 requires).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// One connection's decoding context.
pub struct Decoder {
    inner: loona_hpack::Decoder<'static>,
    max_list: usize,
}

impl Decoder {
    pub fn new(max_list: usize) -> Decoder {
        let mut inner = loona_hpack::Decoder::new();
        inner.set_max_allowed_table_size(TABLE_SIZE);
        Decoder { inner, max_list }
    }

    /// Decodes one complete header block (HEADERS and its CONTINUATIONs).
    /// An error is a COMPRESSION_ERROR: the connection cannot go on.
    pub fn decode(&mut self, block: &[u8]) -> Result<HeaderList, H2Error> {
        let mut list = HeaderList::default();
        let mut size = 0usize;
        let max = self.max_list;
        self.inner
            .decode_with_cb(block, |name, value| {
                size = size.saturating_add(name.len() + value.len() + 32);
                if size > max {
                    list.too_large = true;
                    list.fields.clear();
                } else if !list.too_large {
                    list.fields.push((name.into_owned(), value.into_owned()));
                }
            })
            .map_err(|e| {
                log::debug!(target: "rpc", "HPACK: {e:?}");
                H2Error { code: ErrorCode::Compression, stream: None, reason: "undecodable header block" }
            })?;
        Ok(list)
    }
}

/// Appends an HPACK integer with an `n`-bit prefix; `first` holds the bits above it.
fn integer(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    integer(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// `:status` (index 8 of the static table is `:status 200`).
pub fn encode_status(out: &mut Vec<u8>, status: u16) {
    if status == 200 {
        out.push(0x88);
    } else {
        // Literal without indexing, name from static index 8.
        integer(out, 0x00, 4, 8);
        string(out, status.to_string().as_bytes());
    }
}

/// A literal field that is never indexed, with a literal name.
pub fn encode_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x10);
    string(out, name);
    string(out, value);
}
