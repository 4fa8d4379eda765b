//! An incremental decoder for `Transfer-Encoding: chunked`.
//!
//! Bytes arrive from a socket in whatever pieces the network chose, so the
//! decoder is a state machine fed slice by slice: it consumes what it can,
//! appends chunk data to the caller's body buffer, and remembers where it
//! stopped. Nothing is buffered inside it, so the caller's input buffer can be
//! drained as it goes and never has to hold a whole body.
//!
//! It is deliberately strict, because a proxy that is lenient where its
//! upstream is strict (or the other way round) is how request smuggling
//! happens: a chunk size is 1 to 16 hex digits, optionally followed by
//! whitespace or `;extensions`, and every line ends in CRLF. Anything else is
//! `BadChunkSize` / `BadChunk`. The decoded total is checked against the
//! caller's maximum *before* a chunk's data is accepted, and trailer fields
//! are read, bounded, and dropped (we never forward them).
//!
//! The same decoder reads chunked responses from static-mode upstreams.

use super::request::FramingError;

/// Longest chunk-extension text accepted on one size line.
const MAX_EXTENSION: usize = 1024;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Reading hex digits of a chunk size.
    Size {
        value: u64,
        digits: u8,
    },
    /// After the digits: whitespace or `;ext`, up to CR.
    Extension {
        value: u64,
        len: usize,
    },
    /// CR seen at the end of a size line; LF must follow.
    SizeLf {
        value: u64,
    },
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// Trailer section: `line` bytes into the current line, `cr` if CR seen.
    Trailer {
        line: usize,
        cr: bool,
        total: usize,
    },
    Done,
}

#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    st: St,
    decoded: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder { st: St::Size { value: 0, digits: 0 }, decoded: 0 }
    }
}

impl ChunkedDecoder {
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder::default()
    }

    pub fn is_done(&self) -> bool {
        self.st == St::Done
    }

    /// Consumes a prefix of `input`, appending chunk data to `body`. Returns
    /// how many bytes were consumed; `is_done()` tells whether the body ended.
    /// Bytes after the end of the body are left unconsumed (the next request).
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>, max: usize) -> Result<usize, FramingError> {
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            self.st = match self.st {
                St::Done => return Ok(i),
                St::Data { remaining } => {
                    let take = remaining.min((input.len() - i) as u64) as usize;
                    body.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = remaining - take as u64;
                    self.st = if left == 0 { St::DataCr } else { St::Data { remaining: left } };
                    continue;
                }
                St::Size { value, digits } => match proto::http::hex_digit(c) {
                    Some(d) => {
                        if digits >= 16 {
                            return Err(FramingError::BadChunkSize);
                        }
                        St::Size { value: value << 4 | d as u64, digits: digits + 1 }
                    }
                    None if digits == 0 => return Err(FramingError::BadChunkSize),
                    None => match c {
                        b';' | b' ' | b'\t' => St::Extension { value, len: 0 },
                        b'\r' => St::SizeLf { value },
                        _ => return Err(FramingError::BadChunkSize),
                    },
                },
                St::Extension { value, len } => match c {
                    b'\r' => St::SizeLf { value },
                    b'\n' => return Err(FramingError::BadChunk),
                    _ if len >= MAX_EXTENSION => return Err(FramingError::BadChunk),
                    c if c == b'\t' || (0x20..0x7f).contains(&c) => St::Extension { value, len: len + 1 },
                    _ => return Err(FramingError::BadChunk),
                },
                St::SizeLf { value } => {
                    if c != b'\n' {
                        return Err(FramingError::BadChunk);
                    }
                    if value == 0 {
                        St::Trailer { line: 0, cr: false, total: 0 }
                    } else {
                        let total = self.decoded.saturating_add(value);
                        if total > max as u64 {
                            return Err(FramingError::BodyTooLarge);
                        }
                        self.decoded = total;
                        St::Data { remaining: value }
                    }
                }
                St::DataCr if c == b'\r' => St::DataLf,
                St::DataLf if c == b'\n' => St::Size { value: 0, digits: 0 },
                St::DataCr | St::DataLf => return Err(FramingError::BadChunk),
                St::Trailer { line, cr, total } => match (c, cr) {
                    (b'\n', true) if line == 0 => St::Done,
                    (b'\n', true) => St::Trailer { line: 0, cr: false, total },
                    (b'\r', false) => St::Trailer { line, cr: true, total },
                    (_, true) | (b'\n', false) => return Err(FramingError::BadChunk),
                    _ if total >= MAX_TRAILERS => return Err(FramingError::HeadTooLarge),
                    _ => St::Trailer { line: line + 1, cr: false, total: total + 1 },
                },
            };
            i += 1;
        }
        Ok(i)
    }
}

#[cfg(test)]
#[path = "../../tests/unit/http1/chunked.rs"]
mod tests;
