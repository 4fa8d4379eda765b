//! A deliberately plain HTTP/1.1 client and the one response parser of the
//! tests, so what a test sees is exactly what a server put on the wire.
//!
//! [`parse_head`] reads a status line and fields; two body readers use it:
//! [`parse_reply`], lenient, for a reply read to EOF (a Content-Length body
//! cut short is returned short, so a load client can call it broken), and
//! [`Reader`], strict, for framing tests on one connection (Content-Length,
//! chunked without trailers, or delimited by close only when it says
//! `Connection: close`; bytes of the next response are kept). [`HttpClient`]
//! sends one request per connection (`Connection: close`); raw writes for
//! framing tests go through [`HttpClient::raw`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A response head at the start of `raw`: the reply without its body, and
/// the length of the head with its blank line; None until the head is
/// complete, or when it is not a response head.
pub fn parse_head(raw: &[u8]) -> Option<(Reply, usize)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    Some((Reply { status, headers, body: Vec::new() }, end + 4))
}

/// Parses one whole response with a Content-Length body (or a body to EOF).
pub fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let (mut reply, used) = parse_head(raw)?;
    let rest = &raw[used..];
    let len = reply.header("content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(rest.len());
    reply.body = rest[..len.min(rest.len())].to_vec();
    Some(reply)
}

/// Reads responses off one connection, strictly, keeping bytes that belong
/// to the next.
pub struct Reader<S: Read = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Reader<S> {
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }
}

impl<S: Read> Reader<S> {
    pub fn new(stream: S) -> Reader<S> {
        Reader { stream, buf: Vec::new() }
    }

    /// Reads what the peer has sent into `buf`: the count, 0 when it closed
    /// (a reset is a close too: a server that closes with our request
    /// unread resets). Running out of the stream's read timeout panics
    /// saying so, so a slow server is not reported as one that closed.
    fn fill(&mut self) -> usize {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted, TimedOut, WouldBlock};
        let mut chunk = [0u8; 65536];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == Interrupted => continue,
                Err(e) if matches!(e.kind(), ConnectionReset | ConnectionAborted) => break 0,
                Err(e) if matches!(e.kind(), WouldBlock | TimedOut) => {
                    panic!("no byte within the read timeout ({e}); {} bytes unread", self.buf.len())
                }
                Err(e) => panic!("reading a response: {e}"),
            }
        };
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// The first `n` buffered bytes, taken whole: bodies of tens of MiB are
    /// moved with one copy of what follows them, never byte by byte (the
    /// tests run unoptimised, where a per-byte drain of 64 MiB takes
    /// seconds of a loaded machine).
    fn take(&mut self, n: usize) -> Vec<u8> {
        let rest = self.buf.split_off(n);
        std::mem::replace(&mut self.buf, rest)
    }

    /// One response; `head` when it answers a HEAD request (no body follows).
    pub fn response(&mut self, head: bool) -> Reply {
        let (mut r, used) = loop {
            if self.buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break parse_head(&self.buf)
                    .unwrap_or_else(|| panic!("not a response head: {:?}", String::from_utf8_lossy(&self.buf)));
            }
            assert!(
                self.fill() > 0,
                "connection closed before a response head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        self.buf.drain(..used);
        let bodiless = head || r.status < 200 || r.status == 204 || r.status == 304;
        let chunked = r.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        match r.header("content-length").map(|v| v.parse::<usize>().expect("a numeric Content-Length")) {
            _ if bodiless => {}
            Some(len) => {
                assert!(!chunked, "Content-Length together with chunked");
                while self.buf.len() < len {
                    assert!(self.fill() > 0, "connection closed inside a body");
                }
                r.body = self.take(len);
            }
            None if chunked => r.body = self.chunked_body(),
            None => {
                assert_eq!(r.header("connection"), Some("close"), "a body delimited by close says so");
                while self.fill() > 0 {}
                r.body = std::mem::take(&mut self.buf);
            }
        }
        r
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..p].to_vec()).expect("an ASCII chunk line");
                self.buf.drain(..p + 2);
                return line;
            }
            assert!(self.fill() > 0, "connection closed inside a chunk line");
        }
    }

    /// A chunked body, strictly: hex sizes, CRLF after every chunk, no trailers.
    fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line();
            let n = usize::from_str_radix(&size_line, 16).unwrap_or_else(|_| panic!("chunk size {size_line:?}"));
            if n == 0 {
                assert_eq!(self.line(), "", "no trailers after the last chunk");
                return body;
            }
            while self.buf.len() < n + 2 {
                assert!(self.fill() > 0, "connection closed inside a chunk");
            }
            assert_eq!(&self.buf[n..n + 2], b"\r\n", "CRLF after chunk data");
            body.extend_from_slice(&self.buf[..n]);
            self.buf.drain(..n + 2);
        }
    }

    /// True if the server closed the connection (and sent nothing more).
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }
}

#[derive(Clone)]
pub struct HttpClient {
    pub addr: SocketAddr,
    /// Sent as `Authorization: Bearer <token>` unless the request sets its own.
    pub token: Option<String>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient { addr, token: None }
    }

    /// The same client, logged in: every request carries the bearer token.
    pub fn with_token(&self, token: &str) -> HttpClient {
        HttpClient { addr: self.addr, token: Some(token.to_string()) }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], b"")
    }

    /// POST an URL-encoded form built from `fields` (values are encoded here).
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form(fields);
        self.request("POST", path, &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes())
    }

    pub fn post_json(&self, path: &str, value: &serde_json::Value) -> Reply {
        self.request("POST", path, &[("Content-Type", "application/json")], value.to_string().as_bytes())
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(t) = &self.token {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
                req.push_str(&format!("Authorization: Bearer {t}\r\n"));
            }
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let raw = self.raw(&bytes);
        parse_reply(&raw)
            .unwrap_or_else(|| panic!("unparseable reply to {method} {path}: {:?}", String::from_utf8_lossy(&raw)))
    }

    /// Writes `bytes`, reads until the server closes (or 10 s), returns all it sent.
    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(self.addr).expect("connect to the balancer");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(bytes).expect("write request");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }
}

/// `a=1&b=two%20words`
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", proto::http::percent_encode(k), proto::http::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
