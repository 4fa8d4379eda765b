//! gRPC's rules for HTTP/2 headers (grpc/grpc doc/PROTOCOL-HTTP2.md), apart
//! from the connection machinery: which requests are gRPC at all, the
//! deadline in `grpc-timeout`, custom metadata (with `-bin` values in
//! base64), and the response's header blocks: headers, trailers with
//! `grpc-status` and a percent-encoded `grpc-message`, and Trailers-Only for a
//! call that fails before any message.

use crate::h2::hpack::{self, HeaderList};
use crate::metadata;
use crate::status::{Code, Status};
use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

/// A request's head as the handler sees it.
pub(crate) struct RequestHead {
    pub(crate) path: String,
    pub(crate) timeout: Option<Duration>,
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    /// Our request id, carried as `x-request-id` metadata.
    pub(crate) request_id: String,
}

/// Why a request is refused before it reaches a handler.
pub(crate) enum Refusal {
    /// An HTTP status without gRPC semantics (415: not gRPC; 405: not POST).
    Http(u16),
    /// A gRPC status in Trailers-Only.
    Grpc(Status),
}

/// Checks a request's headers (RFC 9113 §8.3 pseudo-headers, gRPC's
/// content-type) and pulls out what the call needs.
pub(crate) fn request_head(h: &HeaderList) -> Result<RequestHead, Refusal> {
    if h.too_large {
        return Err(Refusal::Grpc(Status::new(Code::ResourceExhausted, "header list too large")));
    }
    if h.get(b":method") != Some(b"POST") {
        return Err(Refusal::Http(405));
    }
    let ct = h.get(b"content-type").unwrap_or(b"");
    if !(ct == b"application/grpc" || ct.starts_with(b"application/grpc+") || ct.starts_with(b"application/grpc;")) {
        return Err(Refusal::Http(415));
    }
    let Some(path) = h.get(b":path").and_then(|p| std::str::from_utf8(p).ok()) else {
        return Err(Refusal::Grpc(Status::new(Code::Unimplemented, "no :path")));
    };
    if let Some(enc) = h.get(b"grpc-encoding") {
        if enc != b"identity" {
            return Err(Refusal::Grpc(Status::new(Code::Unimplemented, "compression is not supported")));
        }
    }
    let timeout = match h.get(b"grpc-timeout") {
        Some(v) => Some(parse_timeout(v).ok_or_else(|| Refusal::Grpc(Status::invalid("malformed grpc-timeout")))?),
        None => None,
    };
    let mut metadata = Vec::new();
    let mut request_id = String::new();
    for (name, value) in &h.fields {
        if metadata::reserved(name) {
            continue;
        }
        let Ok(name) = std::str::from_utf8(name) else { continue };
        let value = if name.ends_with("-bin") {
            metadata::base64_decode(value)
                .ok_or_else(|| Refusal::Grpc(Status::invalid(format!("{name} is not base64"))))?
        } else {
            value.clone()
        };
        if name == metadata::REQUEST_ID {
            request_id = String::from_utf8_lossy(&value).into_owned();
        }
        metadata.push((name.to_string(), value));
    }
    Ok(RequestHead { path: path.to_string(), timeout, metadata, request_id })
}

/// `grpc-timeout`: 1 to 8 digits and a unit (H M S m u n).
pub(crate) fn parse_timeout(v: &[u8]) -> Option<Duration> {
    let (&unit, digits) = v.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `grpc-message`: bytes outside printable ASCII, and `%`, as `%XX`.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The response's first header block: `:status 200`, gRPC's content-type,
/// and the handler's initial metadata (the usual block, without any, is
/// built once).
pub(crate) fn response_headers(metadata: &[(String, Vec<u8>)]) -> Cow<'static, [u8]> {
    static PLAIN: OnceLock<Vec<u8>> = OnceLock::new();
    if metadata.is_empty() {
        return Cow::Borrowed(PLAIN.get_or_init(|| headers_block(&[])));
    }
    Cow::Owned(headers_block(metadata))
}

fn headers_block(metadata: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    hpack::encode_status(&mut out, 200);
    hpack::encode_field(&mut out, b"content-type", b"application/grpc");
    metadata::encode_fields(&mut out, metadata);
    out
}

/// The trailers: `grpc-status`, `grpc-message` when there is one, and the
/// handler's trailing metadata. With `trailers_only` the block also carries
/// what the headers would have (the call ends before any message).
pub(crate) fn trailers(
    status: &Result<(), Status>,
    metadata: &[(String, Vec<u8>)],
    trailers_only: bool,
) -> Cow<'static, [u8]> {
    static OK: OnceLock<Vec<u8>> = OnceLock::new();
    if status.is_ok() && metadata.is_empty() && !trailers_only {
        return Cow::Borrowed(OK.get_or_init(|| trailers_block(&Ok(()), &[], false)));
    }
    Cow::Owned(trailers_block(status, metadata, trailers_only))
}

fn trailers_block(status: &Result<(), Status>, metadata: &[(String, Vec<u8>)], trailers_only: bool) -> Vec<u8> {
    let mut out = if trailers_only { headers_block(&[]) } else { Vec::with_capacity(32) };
    let (code, message) = match status {
        Ok(()) => (Code::Ok, ""),
        Err(s) => (s.code, s.message.as_str()),
    };
    hpack::encode_field(&mut out, b"grpc-status", (code as u32).to_string().as_bytes());
    if !message.is_empty() {
        hpack::encode_field(&mut out, b"grpc-message", percent_encode(message).as_bytes());
    }
    metadata::encode_fields(&mut out, metadata);
    out
}

/// A response that is only an HTTP status (the request was not gRPC).
pub(crate) fn http_status(status: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    hpack::encode_status(&mut out, status);
    out
}
