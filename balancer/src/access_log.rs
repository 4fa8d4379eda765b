//! The access log: one line per response on stdout, in Common Log Format
//! followed by the seconds the request took.
//!
//! `127.0.0.1 - - [21/Nov/2018:19:57:10 +0000] "GET /perform HTTP/1.1" 200 20 0.0015`
//!
//! The event loop writes every line, so the log must cost no system call per
//! request: lines go into a large `BufWriter` and the loop flushes it once at
//! the end of each iteration, however many responses that iteration produced.
//! The CLF timestamp only changes once a second, so it is formatted once a
//! second. The request line comes from the client; quotes, backslashes and
//! non-printable bytes are escaped so that no client can forge or break a line.

use std::io::{BufWriter, Stdout, Write};
use std::net::IpAddr;

/// One finished response.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub client: IpAddr,
    /// `GET /path HTTP/1.1`, or `-` when the request line never parsed.
    pub request_line: &'a str,
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: usize,
    pub secs: f64,
}

/// Writes one line, newline included.
pub fn write_line(out: &mut impl Write, when: &str, e: &Entry<'_>) -> std::io::Result<()> {
    write!(out, "{} - - [{when}] \"", e.client)?;
    for &c in e.request_line.as_bytes() {
        match c {
            b'"' => out.write_all(b"\\\"")?,
            b'\\' => out.write_all(b"\\\\")?,
            0x20..=0x7e => out.write_all(&[c])?,
            _ => write!(out, "\\x{c:02x}")?,
        }
    }
    writeln!(out, "\" {} {} {:.4}", e.status, e.bytes, e.secs)
}

pub struct AccessLog {
    out: BufWriter<Stdout>,
    second: i64,
    when: String,
}

impl Default for AccessLog {
    fn default() -> Self {
        AccessLog::new()
    }
}

impl AccessLog {
    pub fn new() -> AccessLog {
        AccessLog { out: BufWriter::with_capacity(64 * 1024, std::io::stdout()), second: -1, when: String::new() }
    }

    pub fn record(&mut self, e: &Entry<'_>) {
        let now = proto::clock::now_ms();
        if now.div_euclid(1000) != self.second {
            self.second = now.div_euclid(1000);
            self.when = proto::clock::clf(now);
        }
        // A closed stdout must not stop the balancer.
        let _ = write_line(&mut self.out, &self.when, e);
    }

    /// Called once per event-loop iteration.
    pub fn flush(&mut self) {
        if !self.out.buffer().is_empty() {
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(e: &Entry<'_>) -> String {
        let mut v = Vec::new();
        write_line(&mut v, "21/Nov/2018:19:57:10 +0000", e).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn matches_the_original_format() {
        let e = Entry {
            client: "127.0.0.1".parse().unwrap(),
            request_line: "GET /perform HTTP/1.1",
            status: 200,
            bytes: 20,
            secs: 0.00151,
        };
        assert_eq!(line(&e), "127.0.0.1 - - [21/Nov/2018:19:57:10 +0000] \"GET /perform HTTP/1.1\" 200 20 0.0015\n");
    }

    #[test]
    fn escapes_what_could_forge_a_line() {
        let e = Entry {
            client: "::1".parse().unwrap(),
            request_line: "GET /a\"b\\c\n\u{e9} HTTP/1.1",
            status: 404,
            bytes: 0,
            secs: 2.0,
        };
        assert_eq!(
            line(&e),
            "::1 - - [21/Nov/2018:19:57:10 +0000] \"GET /a\\\"b\\\\c\\x0a\\xc3\\xa9 HTTP/1.1\" 404 0 2.0000\n"
        );
    }

    #[test]
    fn clf_timestamps_have_the_expected_shape() {
        let when = proto::clock::clf(proto::clock::now_ms());
        assert_eq!(when.len(), 26, "{when}");
        assert!(when.ends_with(" +0000"));
    }
}
