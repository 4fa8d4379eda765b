//! Request ids: the JID that follows one user request through every process.
//!
//! The balancer makes one per request (or keeps a well-formed one the client
//! sent), forwards it in the RPC envelope, and every worker log line on every
//! hop prints it, so `grep JID-…` over all logs shows the request's whole path.

use rand::RngCore;

/// 12 random bytes as 24 lowercase hex digits, as in `JID-7a0861450b9a887e7e6a0335`.
pub fn new_request_id() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    let mut s = String::with_capacity(24);
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A client-supplied id is kept only if it cannot corrupt a log line or a
/// header: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn is_valid_request_id(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= 64 && s.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
#[path = "../tests/unit/ids.rs"]
mod tests;
