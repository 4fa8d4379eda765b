//! Small HTTP helpers that more than one crate needs: reading URL-encoded forms
//! and query strings, and building the `HttpResponse` messages that services
//! send back through the balancer. The balancer's own HTTP/1 framing lives in
//! the balancer; this is only what sits on either side of the RPC hop.

use crate::pb::{Header, HttpRequest, HttpResponse};

/// Reason phrase for the status line.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Decodes `%XX` escapes and, when `plus_is_space`, `+` as a space (forms and
/// queries). Invalid escapes are kept literally; invalid UTF-8 becomes U+FFFD,
/// so hostile bytes can never make a handler fail to read a field.
pub fn percent_decode(s: &[u8], plus_is_space: bool) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex_digit(s[i + 1]), hex_digit(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hexadecimal digit (percent escapes here, chunk sizes in the balancer).
pub fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Escapes the five HTML-special characters, for text content and quoted
/// attribute values alike (the webui's pages and the balancer's /status page).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses `a=1&b=two+words` into decoded pairs, in order. Keys without `=` get
/// an empty value; empty segments are skipped.
pub fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&c| c == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.iter().position(|&c| c == b'=') {
            Some(eq) => (percent_decode(&seg[..eq], true), percent_decode(&seg[eq + 1..], true)),
            None => (percent_decode(seg, true), String::new()),
        })
        .collect()
}

/// Percent-encodes a string for a URL path segment or form value.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HttpRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_slice())
    }

    /// The media type of the body without parameters, lowercased.
    pub fn content_type(&self) -> String {
        let v = self.header("content-type").unwrap_or(b"");
        let v = String::from_utf8_lossy(v);
        v.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }

    /// Query parameters, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_urlencoded(self.query.as_bytes())
    }

    /// First value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

impl HttpResponse {
    pub fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: status as u32,
            headers: vec![Header { name: "Content-Type".into(), value: content_type.as_bytes().to_vec() }],
            body,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> HttpResponse {
        HttpResponse::with_body(status, "application/json", value.to_string().into_bytes())
    }

    /// `{"error": message}` with the given status.
    pub fn json_error(status: u16, message: &str) -> HttpResponse {
        HttpResponse::json(status, &serde_json::json!({ "error": message }))
    }

    pub fn html(status: u16, body: String) -> HttpResponse {
        HttpResponse::with_body(status, "text/html; charset=utf-8", body.into_bytes())
    }

    /// 303 See Other to `location` (after a form POST).
    pub fn see_other(location: &str) -> HttpResponse {
        let mut r = HttpResponse::with_body(303, "text/plain; charset=utf-8", Vec::new());
        r.headers.push(Header { name: "Location".into(), value: location.as_bytes().to_vec() });
        r
    }

    pub fn header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push(Header { name: name.into(), value: value.as_bytes().to_vec() });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_escapes() {
        let got = parse_urlencoded(b"title=Hello+world&body=a%26b%3Dc&empty=&flag&&x=%zz%4");
        assert_eq!(
            got,
            vec![
                ("title".into(), "Hello world".into()),
                ("body".into(), "a&b=c".into()),
                ("empty".into(), "".into()),
                ("flag".into(), "".into()),
                ("x".into(), "%zz%4".into()),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(percent_decode(b"%FF%FEa", false), "\u{FFFD}\u{FFFD}a");
        assert_eq!(percent_decode(b"%", false), "%");
        assert_eq!(percent_decode(b"%4", false), "%4");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let s = "a b&c=d/é<>";
        assert_eq!(percent_decode(percent_encode(s).as_bytes(), true), s);
    }
}
