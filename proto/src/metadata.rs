//! Custom metadata of a call (gRPC's term for the headers an application adds
//! to a request or a response), and the one credential stackwire reads from
//! it.
//!
//! Both wires carry the same list of `(name, value)` pairs: over HTTP/2 each
//! pair is a header field (a `-bin` name's value in base64, as gRPC's
//! PROTOCOL-HTTP2 says), on the native frames the `metadata` field of the
//! `Request` envelope. Names are lowercase; names the transport itself owns
//! (pseudo-headers, `grpc-*`, `content-type`, `te`, ...) are never metadata,
//! so a caller cannot smuggle a deadline or a path through it, and a value
//! that is not `-bin` is printable ASCII (it is an HTTP/2 field value).
//!
//! The credential is a session token from `UserService/Login`, carried as
//! `authorization: Bearer <token>`, exactly as an HTTP client sends it: a
//! typed call that acts as a user (creates, edits, votes, accepting, a
//! thread read with the viewer's votes) takes the user from it, never from an
//! id in the request (see services/src/auth.rs).

use crate::h2::hpack;

/// One metadata entry: lowercase name, value (decoded, for `-bin` names).
pub type Entry = (String, Vec<u8>);

/// The metadata name of the credential.
pub const AUTHORIZATION: &str = "authorization";

/// The `authorization` entry carrying a session token.
pub fn bearer(token: &str) -> Entry {
    (AUTHORIZATION.to_string(), format!("Bearer {token}").into_bytes())
}

/// The session token of the first `authorization: Bearer <token>` entry
/// (scheme case-insensitive, as in HTTP); `None` without one.
pub fn bearer_token(metadata: &[Entry]) -> Option<&str> {
    let (_, value) = metadata.iter().find(|(n, _)| n == AUTHORIZATION)?;
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Names the transport owns; everything else is passed to the handler.
pub(crate) fn reserved(name: &[u8]) -> bool {
    name.starts_with(b":")
        || name.starts_with(b"grpc-")
        || matches!(name, b"content-type" | b"te" | b"user-agent" | b"content-length" | b"connection" | b"host")
}

/// Why a caller's metadata cannot be sent (or a native envelope's cannot
/// be served); `None` when it can.
pub fn refusal(metadata: &[Entry]) -> Option<String> {
    metadata.iter().find_map(|(name, value)| {
        let token_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(c);
        if name.is_empty() || !name.as_bytes().iter().all(token_char) {
            Some(format!("metadata name {name:?} is not lowercase letters, digits, '-', '_' or '.'"))
        } else if reserved(name.as_bytes()) || name == REQUEST_ID {
            Some(format!("metadata name {name:?} is the transport's own"))
        } else if !name.ends_with("-bin") && !value.iter().all(|b| (0x20..=0x7e).contains(b)) {
            Some(format!("metadata {name} is not printable ASCII (a {name}-bin entry may hold bytes)"))
        } else {
            None
        }
    })
}

/// The request id's header over HTTP/2 (a field of its own in the native
/// envelope).
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Appends `metadata` to an HPACK block, `-bin` values in base64.
pub(crate) fn encode_fields(out: &mut Vec<u8>, metadata: &[Entry]) {
    for (name, value) in metadata {
        if name.ends_with("-bin") {
            hpack::encode_field(out, name.as_bytes(), base64_encode(value).as_bytes());
        } else {
            hpack::encode_field(out, name.as_bytes(), value);
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 without padding, as gRPC asks senders to write `-bin` values.
pub(crate) fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Base64, padded or not (gRPC requires accepting both).
pub(crate) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = s.strip_suffix(b"==").or_else(|| s.strip_suffix(b"=")).unwrap_or(s);
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}
