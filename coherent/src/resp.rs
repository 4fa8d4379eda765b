//! The few pieces of Redis's wire protocol (RESP2) that the version reads
//! made on an event loop need (`loop_reads`): a command written as an array
//! of bulk strings, and a reply cut from the front of a buffer that may hold
//! less than a whole reply (then: wait for more) or several.
//!
//! Everything else talks to Redis through the `redis` crate, whose
//! connections block; these replies arrive on a non-blocking socket a few
//! bytes at a time, so they are parsed here, with every length checked
//! against a bound before anything is allocated for it.

/// Longest bulk string accepted (an `INFO server` reply is ~1.5 KiB; a
/// counter is at most 20 digits).
const MAX_BULK: usize = 64 << 10;
/// Most elements accepted in an array (an `MGET` of a page's topics).
const MAX_ARRAY: usize = 1024;
/// Deepest nesting of arrays accepted (an `MGET` reply has one level).
const MAX_DEPTH: usize = 4;

/// One reply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Appends the command `args` to `out`.
pub(crate) fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The reply at the front of `buf` and the bytes it takes; `Ok(None)` when
/// `buf` holds only part of one; `Err` for bytes that are not RESP2 (the
/// connection cannot be trusted after that).
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    parse_at(buf, 0)
}

fn parse_at(buf: &[u8], depth: usize) -> Result<Option<(Reply, usize)>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() > MAX_BULK { Err("a reply line with no end".into()) } else { Ok(None) };
    };
    let (kind, line) = (buf.first().copied().unwrap_or(0), &buf[1..end]);
    let text = || String::from_utf8_lossy(line).into_owned();
    let number = || -> Result<i64, String> {
        std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).ok_or_else(|| format!("not a number: {:?}", text()))
    };
    let head = end + 2;
    match kind {
        b'+' => Ok(Some((Reply::Status(text()), head))),
        b'-' => Ok(Some((Reply::Error(text()), head))),
        b':' => Ok(Some((Reply::Int(number()?), head))),
        b'$' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), head)));
            }
            let n = usize::try_from(n).map_err(|e| e.to_string())?;
            if n > MAX_BULK {
                return Err(format!("a bulk string of {n} bytes"));
            }
            if buf.len() < head + n + 2 {
                return Ok(None);
            }
            if &buf[head + n..head + n + 2] != b"\r\n" {
                return Err("a bulk string without its CRLF".into());
            }
            Ok(Some((Reply::Bulk(Some(buf[head..head + n].to_vec())), head + n + 2)))
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), head)));
            }
            let n = usize::try_from(n).map_err(|e| e.to_string())?;
            if n > MAX_ARRAY || depth >= MAX_DEPTH {
                return Err(format!("an array of {n} elements at depth {depth}"));
            }
            let (mut items, mut at) = (Vec::with_capacity(n), head);
            for _ in 0..n {
                let Some((item, used)) = parse_at(&buf[at..], depth + 1)? else { return Ok(None) };
                items.push(item);
                at += used;
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        other => Err(format!("a reply starting with byte {other}")),
    }
}

#[cfg(test)]
#[path = "../tests/unit/resp.rs"]
mod tests;
