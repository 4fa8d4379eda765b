//! Reading a request body whose framing `parse_head` settled: a
//! Content-Length count, or the chunked decoder (`chunked.rs`), fed slice
//! by slice from the connection's input buffer.

use super::chunked::ChunkedDecoder;
use super::request::{BodyKind, FramingError};

/// Reads a body of known framing, slice by slice.
#[derive(Debug, Clone)]
pub enum BodyReader {
    Length { remaining: usize },
    Chunked(ChunkedDecoder),
}

impl BodyReader {
    pub fn new(kind: BodyKind) -> Option<BodyReader> {
        match kind {
            BodyKind::None => None,
            BodyKind::Length(n) => Some(BodyReader::Length { remaining: n }),
            BodyKind::Chunked => Some(BodyReader::Chunked(ChunkedDecoder::new())),
        }
    }

    /// Moves body bytes from `input` to `body`; returns (consumed, complete).
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>, max: usize) -> Result<(usize, bool), FramingError> {
        match self {
            BodyReader::Length { remaining } => {
                let take = (*remaining).min(input.len());
                body.extend_from_slice(&input[..take]);
                *remaining -= take;
                Ok((take, *remaining == 0))
            }
            BodyReader::Chunked(d) => {
                let n = d.feed(input, body, max)?;
                Ok((n, d.is_done()))
            }
        }
    }
}
