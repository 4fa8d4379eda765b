//! stackwire's own framing on a connection: `Request` envelopes in, `Response`
//! envelopes out, each a gRPC length-prefixed message, matched by call id.
//!
//! The loop reads into one buffer per connection and cuts whole frames out of
//! it; the length prefix is checked against the maximum before the buffer
//! grows for it (see `frame::decode`), so a hostile prefix costs nothing.
//! A frame that has started and is not finished within the frame timeout is
//! noticed by the loop's tick through [`Native::partial_since`].
//!
//! Replies are framed without copying a large payload: the envelope's head
//! (call id, status, message and the payload's field header) is encoded into
//! a small buffer, and the payload follows as its own chunk.

use super::out::{Sent, Shared};
use crate::frame::{self, FrameError};
use crate::pb::Response;
use crate::status::{Code, Status};
use prost::Message;
use std::io::{self, Read};
use std::time::Instant;

/// Payloads up to this size are copied behind the envelope head; bigger ones
/// are sent from the handler's own buffer.
const COPY_LIMIT: usize = 4096;
/// The read buffer's size between large frames.
const BUF: usize = 16 * 1024;

/// A native connection's read side.
pub(crate) struct Native {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// When the unfinished frame at the front of the buffer began arriving.
    pub(crate) partial_since: Option<Instant>,
}

/// Why a connection must be cut off, with the status its peer is told.
pub(crate) struct Reject {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Reject {
    pub(crate) fn from_frame(e: FrameError) -> Reject {
        let code = match e {
            FrameError::TooLarge { .. } => Code::ResourceExhausted,
            _ => Code::InvalidArgument,
        };
        Reject { code, message: e.to_string() }
    }
}

impl Native {
    pub(crate) fn new() -> Native {
        Native { buf: vec![0; BUF], start: 0, end: 0, partial_since: None }
    }

    /// Bytes received and not yet consumed.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads once into the buffer (growing it for a frame whose prefix has
    /// been checked). Returns bytes read, 0 at EOF.
    pub(crate) fn read_from(&mut self, mut stream: &mio::net::TcpStream, max: usize) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > 4 * BUF {
                self.buf = vec![0; BUF];
            }
        }
        let need = match frame::decode(self.pending(), max) {
            // A checked prefix: room for the whole frame.
            Ok(None) if self.end - self.start >= frame::PREFIX_LEN => {
                let mut prefix = [0u8; frame::PREFIX_LEN];
                prefix.copy_from_slice(&self.buf[self.start..self.start + frame::PREFIX_LEN]);
                frame::check_prefix(&prefix, max).map_or(0, |len| len + frame::PREFIX_LEN)
            }
            _ => 0,
        };
        if self.start > 0 && (self.end == self.buf.len() || self.start + need > self.buf.len()) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if need > self.buf.len() {
            self.buf.resize(need, 0);
        } else if self.end == self.buf.len() {
            // A full buffer of whole frames not yet consumed: make room.
            self.buf.resize(self.buf.len() + BUF, 0);
        }
        loop {
            match stream.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next whole frame's payload, if the buffer holds one; the frame is
    /// consumed. Keeps `partial_since` up to date.
    pub(crate) fn next_frame(&mut self, max: usize, now: Instant) -> Result<Option<&[u8]>, Reject> {
        match frame::decode(self.pending(), max).map_err(Reject::from_frame)? {
            Some((range, used)) => {
                let (s, e) = (self.start + range.start, self.start + range.end);
                self.start += used;
                self.partial_since = None;
                Ok(Some(&self.buf[s..e]))
            }
            None => {
                if self.start == self.end {
                    self.partial_since = None;
                } else if self.partial_since.is_none() {
                    self.partial_since = Some(now);
                }
                Ok(None)
            }
        }
    }
}

/// Frames a reply: `(head, payload)` chunks, the payload empty when copied.
pub(crate) fn encode_reply(call_id: u64, result: Result<Vec<u8>, Status>) -> [Vec<u8>; 2] {
    let (status, message, payload) = match result {
        Ok(p) => (0, String::new(), p),
        Err(s) => (s.code as u32, s.message, Vec::new()),
    };
    let head = Response { call_id, status, message, payload: Default::default() };
    let plen = payload.len();
    let field = if plen > 0 { 1 + prost::encoding::encoded_len_varint(plen as u64) } else { 0 };
    let body = head.encoded_len() + field + plen;
    let copy = plen <= COPY_LIMIT;
    let mut out = Vec::with_capacity(frame::PREFIX_LEN + body - if copy { 0 } else { plen });
    out.push(0);
    out.extend_from_slice(&(body as u32).to_be_bytes());
    // Encoding into a Vec with room cannot fail.
    let _ = head.encode(&mut out);
    if plen > 0 {
        // Field 4 (`payload`), wire type 2 (length-delimited).
        out.push(4 << 3 | 2);
        prost::encoding::encode_varint(plen as u64, &mut out);
    }
    if copy {
        out.extend_from_slice(&payload);
        [out, Vec::new()]
    } else {
        [out, payload]
    }
}

/// Sends a reply on a native connection.
pub(crate) fn send_reply(conn: &Shared, call_id: u64, result: Result<Vec<u8>, Status>) {
    if conn.send(encode_reply(call_id, result)) == Sent::Closed {
        log::debug!(target: "rpc", "{}: reply to call {call_id} lost: connection closed", conn.peer);
    }
}
