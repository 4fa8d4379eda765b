//! The access log: one line per response on stdout, in Common Log Format
//! followed by the seconds the request took.
//!
//! `127.0.0.1 - - [21/Nov/2018:19:57:10 +0000] "GET /perform HTTP/1.1" 200 20 0.0015`
//!
//! The event loop writes every line, so the log must cost no system call per
//! request, and the loop must never wait for the disk: lines go into a
//! buffer of the loop's own that it hands to [`proto::log_sink`] when it
//! holds 16 KiB or at its 100 ms tick, whichever comes first (a copy under a
//! lock); that module's thread writes them out within its own tick, whole
//! buffers in order, so lines from several loops never interleave. The CLF
//! timestamp only changes once a second, so it is formatted once a second.
//! The request line comes from the client; quotes, backslashes and
//! non-printable bytes are escaped so that no client can forge or break a line.
//!
//! Requests the loop proxies itself (static HTTP upstreams) never visit a
//! worker thread, but their `Balancer::Worker … JID-… INFO: start` and
//! `done: 0.009 sec` lines are part of the log contract, so the loop writes
//! them here in exactly the format `proto::logger` uses, buffered the same
//! way and flushed to stderr with the access log.

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

/// Writes one line, newline included. Hand-formatted (no `fmt`): the
/// event loop writes one per request.
pub fn write_line(out: &mut Vec<u8>, when: &str, client: &str, e: &Entry<'_>) {
    out.extend_from_slice(client.as_bytes());
    out.extend_from_slice(b" - - [");
    out.extend_from_slice(when.as_bytes());
    out.extend_from_slice(b"] \"");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in e.request_line.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(&[b'\\', b'x', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
        }
    }
    out.extend_from_slice(b"\" ");
    crate::http1::push_decimal(out, e.status as u64);
    out.push(b' ');
    crate::http1::push_decimal(out, e.bytes as u64);
    out.push(b' ');
    push_fixed(out, e.secs, 4);
    out.push(b'\n');
}

/// `secs` with `places` decimals, as `{:.N}` would print it.
pub fn push_fixed(out: &mut Vec<u8>, secs: f64, places: u32) {
    let scale = 10u64.pow(places);
    let t = (secs.max(0.0) * scale as f64).round() as u64;
    crate::http1::push_decimal(out, t / scale);
    out.push(b'.');
    let mut frac = t % scale;
    let mut digits = [b'0'; 9];
    let places = (places as usize).min(digits.len());
    for d in digits[..places].iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    out.extend_from_slice(&digits[..places]);
}

pub struct AccessLog {
    out: Vec<u8>,
    second: i64,
    when: String,
    /// Worker lines for stderr.
    err: Vec<u8>,
    /// Millisecond and ISO-8601 text of the last worker line.
    err_ms: i64,
    err_when: String,
    /// `PID TID-xxx`, computed on the loop's own thread at first use.
    who: String,
    /// The last client address and its text (keep-alive: the same many times).
    client: Option<IpAddr>,
    client_text: String,
}

impl Default for AccessLog {
    fn default() -> Self {
        AccessLog::new()
    }
}

impl AccessLog {
    pub fn new() -> AccessLog {
        AccessLog {
            out: Vec::with_capacity(64 * 1024),
            second: -1,
            when: String::new(),
            err: Vec::new(),
            err_ms: -1,
            err_when: String::new(),
            who: String::new(),
            client: None,
            client_text: String::new(),
        }
    }

    pub fn record(&mut self, e: &Entry<'_>) {
        let now = proto::clock::now_ms();
        if now.div_euclid(1000) != self.second {
            self.second = now.div_euclid(1000);
            self.when = proto::clock::clf(now);
        }
        if self.client != Some(e.client) {
            self.client = Some(e.client);
            self.client_text = e.client.to_string();
        }
        write_line(&mut self.out, &self.when, &self.client_text, e);
    }

    /// A `Balancer::Worker` line for request `jid`, if INFO is enabled.
    pub fn worker_line(&mut self, jid: &str, msg: &str) {
        if log::max_level() < log::LevelFilter::Info {
            return;
        }
        self.worker_prefix(jid);
        self.err.extend_from_slice(msg.as_bytes());
        self.err.push(b'\n');
    }

    /// The worker `done: 0.009 sec` line.
    pub fn worker_done(&mut self, jid: &str, secs: f64) {
        if log::max_level() < log::LevelFilter::Info {
            return;
        }
        self.worker_prefix(jid);
        self.err.extend_from_slice(b"done: ");
        push_fixed(&mut self.err, secs, 3);
        self.err.extend_from_slice(b" sec\n");
    }

    fn worker_prefix(&mut self, jid: &str) {
        let now = proto::clock::now_ms();
        if now != self.err_ms {
            self.err_ms = now;
            self.err_when = proto::clock::iso8601(now);
        }
        if self.who.is_empty() {
            self.who = format!("{} TID-{}", std::process::id(), proto::logger::thread_tag());
        }
        for part in [
            self.err_when.as_str(),
            " ",
            self.who.as_str(),
            " ",
            crate::upstream::workers::WORKER,
            " JID-",
            jid,
            " INFO: ",
        ] {
            self.err.extend_from_slice(part.as_bytes());
        }
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.out.len() + self.err.len()
    }

    /// Hands everything to the log writer ([`proto::log_sink`]), which
    /// writes it out on its own thread.
    pub fn flush(&mut self) {
        if !self.out.is_empty() {
            proto::log_sink::STDOUT.append(&self.out, false);
            self.out.clear();
            if self.out.capacity() > 1 << 20 {
                self.out = Vec::with_capacity(64 * 1024);
            }
        }
        if !self.err.is_empty() {
            proto::log_sink::STDERR.append(&self.err, false);
            self.err.clear();
            if self.err.capacity() > 1 << 20 {
                self.err = Vec::new();
            }
        }
    }
}

#[cfg(test)]
#[path = "../../tests/unit/ops/access_log.rs"]
mod tests;
