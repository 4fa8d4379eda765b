//! gRPC Length-Prefixed-Message framing.
//!
//! Every message between stackwire processes is `[flag:1][len:4 BE][payload:len]`.
//! The flag must be 0: we never compress, and a peer that claims to has sent
//! something we cannot read. The length is checked against a maximum *before*
//! a single byte of payload is allocated, so a hostile prefix cannot make us
//! reserve 4 GiB. Two readers share these rules: `decode` works on a buffer
//! (event loops, fuzzing) and `read_frame` on a blocking stream (RPC threads).

use std::io::{self, Read};

/// Bytes before the payload: flag + length.
pub const PREFIX_LEN: usize = 5;
/// Default largest payload a peer may send us.
pub const DEFAULT_MAX_MESSAGE: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("compressed-flag {0} is not supported (only 0)")]
    BadFlag(u8),
    #[error("message of {len} bytes exceeds the maximum of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// Appends `payload` framed to `out`.
pub fn encode_into(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(PREFIX_LEN + payload.len());
    out.push(0);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Encodes a prost message as one frame.
pub fn encode_message<M: prost::Message>(msg: &M) -> Vec<u8> {
    let len = msg.encoded_len();
    let mut out = Vec::with_capacity(PREFIX_LEN + len);
    out.push(0);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    // Encoding into a Vec cannot run out of space.
    msg.encode(&mut out).expect("Vec has room");
    out
}

/// Checks a prefix and returns the payload length it announces.
pub fn check_prefix(prefix: &[u8; PREFIX_LEN], max: usize) -> Result<usize, FrameError> {
    if prefix[0] != 0 {
        return Err(FrameError::BadFlag(prefix[0]));
    }
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len)
}

/// Looks for one whole frame at the start of `buf`.
/// Returns `Ok(None)` when more bytes are needed, or the payload range and the
/// number of bytes the frame occupies.
pub fn decode(buf: &[u8], max: usize) -> Result<Option<(std::ops::Range<usize>, usize)>, FrameError> {
    if buf.len() < PREFIX_LEN {
        return Ok(None);
    }
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&buf[..PREFIX_LEN]);
    let len = check_prefix(&prefix, max)?;
    let end = PREFIX_LEN + len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((PREFIX_LEN..end, end)))
}

/// Outcome of a blocking read at a frame boundary.
pub enum ReadOutcome {
    /// A whole frame's payload is in the buffer.
    Frame,
    /// The peer closed cleanly between frames.
    Closed,
    /// The read timed out before the first byte of a frame (an idle peer).
    Idle,
}

/// Reads one frame from a blocking stream into `buf` (cleared first).
///
/// A read timeout set on the socket counts as idleness only at a frame
/// boundary; once a frame has started, the peer must finish it or lose the
/// connection, so a stalled half-frame cannot pin a thread forever.
pub fn read_frame<R: Read>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> Result<ReadOutcome, FrameError> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match r.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(ReadOutcome::Closed),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && got == 0 => return Ok(ReadOutcome::Idle),
            Err(e) if is_timeout(&e) => return Err(FrameError::Truncated),
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = check_prefix(&prefix, max)?;
    buf.clear();
    // Room for exactly the frame, filled by reads straight into the spare
    // capacity (not zeroed first: a page-sized frame is read every call).
    buf.reserve_exact(len);
    while buf.len() < len {
        let want = (len - buf.len()) as u64;
        match r.by_ref().take(want).read_to_end(buf) {
            Ok(0) => return Err(FrameError::Truncated),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return Err(FrameError::Truncated),
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(ReadOutcome::Frame)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
#[path = "../tests/unit/frame.rs"]
mod tests;
