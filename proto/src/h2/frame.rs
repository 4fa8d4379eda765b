//! HTTP/2 frames (RFC 9113 §4 and §6): the 9-byte header, each frame type's
//! payload checked against the rules the RFC makes a connection or stream
//! error, the encoders, and what a peer's SETTINGS change for a sender
//! ([`PeerSettings`], kept by the server and the h2c client alike). Sans-IO:
//! bytes in, typed frames out, so the fuzz target and the tests drive exactly
//! what the server runs.
//!
//! A frame longer than the receiver's SETTINGS_MAX_FRAME_SIZE is refused from
//! its header, before its payload is waited for or buffered. Padding counts
//! toward flow control ([`Frame::Data::flow_len`]) but is never handed on.
//! Unknown frame types decode as [`Frame::Unknown`] and are ignored, as the
//! RFC requires.

use super::{ErrorCode, H2Error};

/// What a client sends first on an h2c connection with prior knowledge.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const HEAD_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE before any SETTINGS (and the smallest allowed).
pub const DEFAULT_MAX_FRAME: usize = 16_384;
/// Largest flow-control window (2^31 - 1).
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const PRIORITY: u8 = 2;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PUSH_PROMISE: u8 = 5;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WINDOW_UPDATE: u8 = 8;
pub const CONTINUATION: u8 = 9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 1;
pub const SETTINGS_ENABLE_PUSH: u16 = 2;
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 4;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 5;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 6;

/// What the peer's SETTINGS tell a sender: the largest frame it takes and the
/// window each stream starts with (RFC 9113 §6.5.2: these defaults until its
/// first SETTINGS). The client and the server both keep one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerSettings {
    pub max_frame: usize,
    pub initial_window: i64,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings { max_frame: DEFAULT_MAX_FRAME, initial_window: 65_535 }
    }
}

impl PeerSettings {
    /// Takes one parameter of a SETTINGS frame. Returns how far every open
    /// stream's send window moves (§6.9.2: a new INITIAL_WINDOW_SIZE shifts
    /// the windows already open by the difference); 0 for anything else.
    pub fn apply(&mut self, id: u16, value: u32) -> i64 {
        match id {
            SETTINGS_INITIAL_WINDOW_SIZE => {
                let delta = value as i64 - self.initial_window;
                self.initial_window = value as i64;
                delta
            }
            SETTINGS_MAX_FRAME_SIZE => {
                self.max_frame = value as usize;
                0
            }
            _ => 0,
        }
    }
}

/// A frame's 9-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

/// One decoded frame; byte slices borrow from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Data { stream: u32, end_stream: bool, data: &'a [u8], flow_len: usize },
    Headers { stream: u32, end_stream: bool, end_headers: bool, block: &'a [u8] },
    Priority { stream: u32 },
    RstStream { stream: u32, code: u32 },
    Settings { ack: bool, params: Vec<(u16, u32)> },
    PushPromise,
    Ping { ack: bool, data: [u8; 8] },
    GoAway { last_stream: u32, code: u32 },
    WindowUpdate { stream: u32, increment: u32 },
    Continuation { stream: u32, end_headers: bool, block: &'a [u8] },
    Unknown,
}

fn conn(code: ErrorCode, reason: &'static str) -> H2Error {
    H2Error { code, stream: None, reason }
}

fn stream_err(stream: u32, code: ErrorCode, reason: &'static str) -> H2Error {
    H2Error { code, stream: Some(stream), reason }
}

/// One whole frame at the front of a buffer: its header, its payload, and
/// the bytes it occupies.
pub type Split<'a> = (Head, &'a [u8], usize);

/// Splits one whole frame off the front of `buf`: `Ok(None)` while more bytes
/// are needed; a frame over `max_frame` is an error as soon as its header is in.
pub fn split(buf: &[u8], max_frame: usize) -> Result<Option<Split<'_>>, H2Error> {
    if buf.len() < HEAD_LEN {
        return Ok(None);
    }
    let head = Head {
        len: (buf[0] as usize) << 16 | (buf[1] as usize) << 8 | buf[2] as usize,
        kind: buf[3],
        flags: buf[4],
        stream: u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff,
    };
    if head.len > max_frame {
        return Err(conn(ErrorCode::FrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE"));
    }
    let end = HEAD_LEN + head.len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((head, &buf[HEAD_LEN..end], end)))
}

/// Removes padding (PADDED flag) from a DATA or HEADERS payload.
fn unpad<'a>(head: &Head, p: &'a [u8]) -> Result<&'a [u8], H2Error> {
    if head.flags & PADDED == 0 {
        return Ok(p);
    }
    let Some((&pad, rest)) = p.split_first() else {
        return Err(conn(ErrorCode::FrameSize, "PADDED frame without a pad length"));
    };
    if pad as usize > rest.len() {
        return Err(conn(ErrorCode::Protocol, "padding longer than the frame"));
    }
    Ok(&rest[..rest.len() - pad as usize])
}

fn u32_at(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

/// Checks one frame's payload against its type's rules and decodes it.
pub fn decode<'a>(head: &Head, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    let s = head.stream;
    match head.kind {
        DATA => {
            if s == 0 {
                return Err(conn(ErrorCode::Protocol, "DATA on stream 0"));
            }
            let data = unpad(head, p)?;
            Ok(Frame::Data { stream: s, end_stream: head.flags & END_STREAM != 0, data, flow_len: p.len() })
        }
        HEADERS => {
            if s == 0 {
                return Err(conn(ErrorCode::Protocol, "HEADERS on stream 0"));
            }
            let mut block = unpad(head, p)?;
            if head.flags & PRIORITY_FLAG != 0 {
                if block.len() < 5 {
                    return Err(conn(ErrorCode::FrameSize, "HEADERS too short for its priority"));
                }
                if u32_at(block) & 0x7fff_ffff == s {
                    return Err(stream_err(s, ErrorCode::Protocol, "stream depends on itself"));
                }
                block = &block[5..];
            }
            Ok(Frame::Headers {
                stream: s,
                end_stream: head.flags & END_STREAM != 0,
                end_headers: head.flags & END_HEADERS != 0,
                block,
            })
        }
        PRIORITY => {
            if s == 0 {
                return Err(conn(ErrorCode::Protocol, "PRIORITY on stream 0"));
            }
            if p.len() != 5 {
                return Err(stream_err(s, ErrorCode::FrameSize, "PRIORITY is not 5 bytes"));
            }
            if u32_at(p) & 0x7fff_ffff == s {
                return Err(stream_err(s, ErrorCode::Protocol, "stream depends on itself"));
            }
            Ok(Frame::Priority { stream: s })
        }
        RST_STREAM => {
            if s == 0 {
                return Err(conn(ErrorCode::Protocol, "RST_STREAM on stream 0"));
            }
            if p.len() != 4 {
                return Err(conn(ErrorCode::FrameSize, "RST_STREAM is not 4 bytes"));
            }
            Ok(Frame::RstStream { stream: s, code: u32_at(p) })
        }
        SETTINGS => {
            if s != 0 {
                return Err(conn(ErrorCode::Protocol, "SETTINGS on a stream"));
            }
            let ack = head.flags & ACK != 0;
            if ack && !p.is_empty() {
                return Err(conn(ErrorCode::FrameSize, "SETTINGS ACK with a payload"));
            }
            if !p.len().is_multiple_of(6) {
                return Err(conn(ErrorCode::FrameSize, "SETTINGS not a multiple of 6 bytes"));
            }
            let mut params = Vec::with_capacity(p.len() / 6);
            for c in p.chunks_exact(6) {
                let (id, v) = (u16::from_be_bytes([c[0], c[1]]), u32_at(&c[2..]));
                match id {
                    SETTINGS_ENABLE_PUSH if v > 1 => return Err(conn(ErrorCode::Protocol, "ENABLE_PUSH not 0 or 1")),
                    SETTINGS_INITIAL_WINDOW_SIZE if v as i64 > MAX_WINDOW => {
                        return Err(conn(ErrorCode::FlowControl, "INITIAL_WINDOW_SIZE over 2^31-1"))
                    }
                    SETTINGS_MAX_FRAME_SIZE if !(DEFAULT_MAX_FRAME as u32..=(1 << 24) - 1).contains(&v) => {
                        return Err(conn(ErrorCode::Protocol, "MAX_FRAME_SIZE out of range"))
                    }
                    _ => params.push((id, v)),
                }
            }
            Ok(Frame::Settings { ack, params })
        }
        PUSH_PROMISE => Err(conn(ErrorCode::Protocol, "PUSH_PROMISE from a client")),
        PING => {
            if s != 0 {
                return Err(conn(ErrorCode::Protocol, "PING on a stream"));
            }
            if p.len() != 8 {
                return Err(conn(ErrorCode::FrameSize, "PING is not 8 bytes"));
            }
            let mut data = [0u8; 8];
            data.copy_from_slice(p);
            Ok(Frame::Ping { ack: head.flags & ACK != 0, data })
        }
        GOAWAY => {
            if s != 0 {
                return Err(conn(ErrorCode::Protocol, "GOAWAY on a stream"));
            }
            if p.len() < 8 {
                return Err(conn(ErrorCode::FrameSize, "GOAWAY shorter than 8 bytes"));
            }
            Ok(Frame::GoAway { last_stream: u32_at(p) & 0x7fff_ffff, code: u32_at(&p[4..]) })
        }
        WINDOW_UPDATE => {
            if p.len() != 4 {
                return Err(conn(ErrorCode::FrameSize, "WINDOW_UPDATE is not 4 bytes"));
            }
            let increment = u32_at(p) & 0x7fff_ffff;
            if increment == 0 {
                return Err(if s == 0 {
                    conn(ErrorCode::Protocol, "WINDOW_UPDATE of 0")
                } else {
                    stream_err(s, ErrorCode::Protocol, "WINDOW_UPDATE of 0")
                });
            }
            Ok(Frame::WindowUpdate { stream: s, increment })
        }
        CONTINUATION => {
            if s == 0 {
                return Err(conn(ErrorCode::Protocol, "CONTINUATION on stream 0"));
            }
            Ok(Frame::Continuation { stream: s, end_headers: head.flags & END_HEADERS != 0, block: p })
        }
        _ => Ok(Frame::Unknown),
    }
}

/// Appends a frame header.
pub fn head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
}

pub fn settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    head(out, params.len() * 6, SETTINGS, 0, 0);
    for (id, v) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
}

pub fn settings_ack(out: &mut Vec<u8>) {
    head(out, 0, SETTINGS, ACK, 0);
}

pub fn ping_ack(out: &mut Vec<u8>, data: &[u8; 8]) {
    head(out, 8, PING, ACK, 0);
    out.extend_from_slice(data);
}

pub fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

pub fn rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    head(out, 4, RST_STREAM, 0, stream);
    out.extend_from_slice(&(code as u32).to_be_bytes());
}

pub fn goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &str) {
    head(out, 8 + debug.len(), GOAWAY, 0, 0);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&(code as u32).to_be_bytes());
    out.extend_from_slice(debug.as_bytes());
}

/// A header block as HEADERS plus as many CONTINUATION frames as `max_frame` needs.
pub fn headers(out: &mut Vec<u8>, stream: u32, block: &[u8], end_stream: bool, max_frame: usize) {
    let mut chunks = block.chunks(max_frame.max(1)).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let last = chunks.peek().is_none();
    let flags = if end_stream { END_STREAM } else { 0 } | if last { END_HEADERS } else { 0 };
    head(out, first.len(), HEADERS, flags, stream);
    out.extend_from_slice(first);
    while let Some(c) = chunks.next() {
        let flags = if chunks.peek().is_none() { END_HEADERS } else { 0 };
        head(out, c.len(), CONTINUATION, flags, stream);
        out.extend_from_slice(c);
    }
}

/// A DATA frame's header; the caller appends (or queues) the `len` bytes.
pub fn data_head(out: &mut Vec<u8>, stream: u32, len: usize, end_stream: bool) {
    head(out, len, DATA, if end_stream { END_STREAM } else { 0 }, stream);
}
