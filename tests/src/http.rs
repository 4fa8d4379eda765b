//! A deliberately plain HTTP/1.1 client for tests: one request per connection
//! (`Connection: close`), read to EOF, so what a test sees is exactly what the
//! balancer put on the wire. Raw writes for framing tests go through `raw`.

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

/// Parses one response with a Content-Length body (or a body to EOF).
pub fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let rest = &raw[end + 4..];
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(rest.len());
    Some(Reply { status, headers, body: rest[..len.min(rest.len())].to_vec() })
}
