//! Header compression (RFC 7541). Decoding is complete (static and dynamic
//! tables, size updates, Huffman) because real clients index and Huffman-code
//! everything. It is written here: `loona-hpack` (the maintained fork of
//! `hpack`, which panicked on hostile input, RUSTSEC-2023-0085) builds a
//! Huffman decoding table for every Huffman-coded string, which profiled at
//! 80% of the h2c server's CPU. Here the canonical code is indexed once.
//!
//! Hostile input is an error, never a panic or a large allocation: integers
//! are capped, string lengths checked against the block before anything is
//! copied, Huffman padding checked (at most 7 bits, all ones, never EOS), and
//! the dynamic table may not grow past the 4,096 bytes we advertise. A
//! decoded header list past `max_list` bytes (RFC 9113's
//! SETTINGS_MAX_HEADER_LIST_SIZE measure: name + value + 32 per field) is not
//! kept: the block is still decoded to the end, so the table stays in step
//! with the peer's, but its fields are dropped and the caller refuses the
//! stream. Indexed fields can repeat a 4 KiB table entry for each byte of
//! input, so without that cap a 16 KiB block could expand to 64 MiB.
//!
//! The encoder is the minimal one the RFC allows: `:status 200` from the
//! static table, every other field a literal that is never indexed, no
//! Huffman; responses carry few headers and the peer's table stays empty.

use super::huffman_table::CODES;
use super::{ErrorCode, H2Error};
use std::collections::VecDeque;
use std::sync::OnceLock;

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

/// RFC 7541 Appendix A.
const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Integers past this are refused (no header needs more).
const MAX_INT: usize = 1 << 24;

fn bad(reason: &'static str) -> H2Error {
    H2Error { code: ErrorCode::Compression, stream: None, reason }
}

/// One connection's decoding context.
pub struct Decoder {
    table: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max_size: usize,
    max_list: usize,
}

/// A block being read.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, H2Error> {
        let b = *self.buf.get(self.pos).ok_or_else(|| bad("header block ends inside a field"))?;
        self.pos += 1;
        Ok(b)
    }

    /// An integer with an `n`-bit prefix (RFC 7541 §5.1).
    fn integer(&mut self, n: u32) -> Result<usize, H2Error> {
        let max = (1usize << n) - 1;
        let mut v = (self.byte()? as usize) & max;
        if v < max {
            return Ok(v);
        }
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            // Continuation bytes of zeros would shift past the word without
            // ever growing the value: the count of bytes is capped too.
            if shift > 28 {
                return Err(bad("integer too long"));
            }
            v += ((b & 0x7f) as usize) << shift;
            shift += 7;
            if v > MAX_INT {
                return Err(bad("integer too large"));
            }
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    }

    /// A string literal, Huffman-decoded if flagged (RFC 7541 §5.2).
    fn string(&mut self) -> Result<Vec<u8>, H2Error> {
        let huffman = self.buf.get(self.pos).is_some_and(|b| b & 0x80 != 0);
        let len = self.integer(7)?;
        let end =
            self.pos.checked_add(len).filter(|&e| e <= self.buf.len()).ok_or_else(|| bad("string past the block"))?;
        let raw = &self.buf[self.pos..end];
        self.pos = end;
        if huffman {
            huffman_decode(raw)
        } else {
            Ok(raw.to_vec())
        }
    }
}

/// The canonical code indexed by length: for each bit length, the first code
/// and where its symbols start in `symbols`.
struct Canonical {
    first: [u32; 31],
    count: [u32; 31],
    start: [usize; 31],
    symbols: Vec<u16>,
}

fn canonical() -> &'static Canonical {
    static C: OnceLock<Canonical> = OnceLock::new();
    C.get_or_init(|| {
        let mut by_len: Vec<(u8, u32, u16)> = CODES.iter().enumerate().map(|(s, &(c, l))| (l, c, s as u16)).collect();
        by_len.sort_unstable();
        let mut c = Canonical { first: [0; 31], count: [0; 31], start: [0; 31], symbols: Vec::with_capacity(257) };
        for (i, &(l, code, sym)) in by_len.iter().enumerate() {
            let l = l as usize;
            if c.count[l] == 0 {
                c.first[l] = code;
                c.start[l] = i;
            }
            c.count[l] += 1;
            c.symbols.push(sym);
        }
        c
    })
}

/// Huffman-decodes a string (RFC 7541 §5.2, Appendix B).
pub fn huffman_decode(raw: &[u8]) -> Result<Vec<u8>, H2Error> {
    let c = canonical();
    let mut out = Vec::with_capacity(raw.len() * 8 / 5 + 1);
    let (mut code, mut len) = (0u32, 0usize);
    for &byte in raw {
        for i in (0..8).rev() {
            code = code << 1 | (byte >> i & 1) as u32;
            len += 1;
            if len > 30 {
                return Err(bad("invalid Huffman code"));
            }
            if c.count[len] > 0 && code >= c.first[len] && code - c.first[len] < c.count[len] {
                let sym = c.symbols[c.start[len] + (code - c.first[len]) as usize];
                if sym == 256 {
                    return Err(bad("EOS inside a Huffman string"));
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            }
        }
    }
    // What is left must be a prefix of EOS (all ones) of at most 7 bits.
    if len > 7 || code != (1 << len) - 1 {
        return Err(bad("invalid Huffman padding"));
    }
    Ok(out)
}

impl Decoder {
    pub fn new(max_list: usize) -> Decoder {
        Decoder { table: VecDeque::new(), size: 0, max_size: TABLE_SIZE, max_list }
    }

    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), H2Error> {
        match index {
            0 => Err(bad("index 0")),
            1..=61 => {
                let (n, v) = STATIC[index - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self
                .table
                .get(index - 62)
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .ok_or_else(|| bad("index past the table")),
        }
    }

    fn evict_to(&mut self, max: usize) {
        while self.size > max {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => break,
            }
        }
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let size = name.len() + value.len() + 32;
        if size > self.max_size {
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        self.table.push_front((name, value));
    }

    /// Decodes one complete header block (HEADERS and its CONTINUATIONs).
    /// An error is a COMPRESSION_ERROR: the connection cannot go on.
    pub fn decode(&mut self, block: &[u8]) -> Result<HeaderList, H2Error> {
        let mut list = HeaderList::default();
        let mut size = 0usize;
        let mut r = Reader { buf: block, pos: 0 };
        let mut first = true;
        while r.pos < block.len() {
            let b = block[r.pos];
            let (name, value) = if b & 0x80 != 0 {
                let i = r.integer(7)?;
                let (n, v) = self.entry(i)?;
                (n.to_vec(), v.to_vec())
            } else if b & 0xe0 == 0x20 {
                // Dynamic table size update: only at the start of a block.
                if !first {
                    return Err(bad("table size update after a field"));
                }
                let max = r.integer(5)?;
                if max > TABLE_SIZE {
                    return Err(bad("table size over SETTINGS_HEADER_TABLE_SIZE"));
                }
                self.max_size = max;
                self.evict_to(max);
                continue;
            } else {
                let (prefix, index) = if b & 0xc0 == 0x40 { (6, true) } else { (4, false) };
                let i = r.integer(prefix)?;
                let name = if i == 0 { r.string()? } else { self.entry(i)?.0.to_vec() };
                let value = r.string()?;
                if index {
                    self.insert(name.clone(), value.clone());
                }
                (name, value)
            };
            first = false;
            size = size.saturating_add(name.len() + value.len() + 32);
            if size > self.max_list {
                list.too_large = true;
                list.fields.clear();
            } else if !list.too_large {
                list.fields.push((name, value));
            }
        }
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
