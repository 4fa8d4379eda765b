//! HTTP/2 pieces that have nothing to do with sockets: the frame codec
//! (`frame`) and header compression (`hpack`). The server's connection state
//! machine (`rpc_server::h2`) and the fuzz targets are built on these.

pub mod frame;
pub mod hpack;
mod huffman_table;

/// RFC 9113 §7 error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCode {
    NoError = 0x0,
    Protocol = 0x1,
    Internal = 0x2,
    FlowControl = 0x3,
    SettingsTimeout = 0x4,
    StreamClosed = 0x5,
    FrameSize = 0x6,
    RefusedStream = 0x7,
    Cancel = 0x8,
    Compression = 0x9,
    Connect = 0xa,
    EnhanceYourCalm = 0xb,
    InadequateSecurity = 0xc,
    Http11Required = 0xd,
}

/// A protocol violation: a connection error (`stream: None`: GOAWAY, close)
/// or a stream error (RST_STREAM on that stream, the connection lives on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} on {}: {reason}", stream.map_or("the connection".to_string(), |s| format!("stream {s}")))]
pub struct H2Error {
    pub code: ErrorCode,
    pub stream: Option<u32>,
    pub reason: &'static str,
}
