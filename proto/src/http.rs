//! Small HTTP helpers that more than one crate needs: reading URL-encoded forms
//! and query strings, and building the `HttpResponse` messages that services
//! send back through the balancer. The balancer's own HTTP/1 framing lives in
//! the balancer; this is only what sits on either side of the RPC hop.
//!
//! Forms and query strings are the client's bytes, so they are decoded
//! strictly, once, here: a value that is not UTF-8 once its `%XX` escapes are
//! undone, or that holds a NUL (which no field of ours can store: PostgreSQL
//! text refuses it), is a [`FormError`] naming the parameter, which every
//! service and the webui answer with 400. Nothing downstream ever sees a
//! replacement character standing in for bytes the user did not type, and
//! no such value can reach SQL and fail there.
//!
//! One page-number rule serves every list, JSON and HTML alike
//! ([`page_param`]): absent means page 1, otherwise a whole number from 1 to
//! [`MAX_PAGE`].

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
        422 => "Unprocessable Content",
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

/// Decodes `%XX` escapes and, when `plus_is_space`, `+` as a space. Invalid
/// escapes are kept literally; invalid UTF-8 becomes U+FFFD. For request
/// paths, which name a page or nothing (an undecodable one names nothing and
/// is a 404); fields use the strict [`decode_form`].
pub fn percent_decode(s: &[u8], plus_is_space: bool) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s, plus_is_space)).into_owned()
}

/// The bytes behind `%XX` escapes (and `+` as a space when `plus_is_space`).
fn percent_decode_bytes(s: &[u8], plus_is_space: bool) -> Vec<u8> {
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
    out
}

/// Longest parameter name a [`FormError`] repeats back.
const SHOWN_NAME: usize = 40;

/// A form field or query parameter that cannot be read; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("{0} must be valid UTF-8")]
    InvalidUtf8(String),
    #[error("{0} must not contain NUL characters")]
    Nul(String),
    #[error("{name} must be a whole number from 1 to {max}")]
    Page { name: String, max: u32 },
}

impl FormError {
    /// The parameter the error is about.
    pub fn name(&self) -> &str {
        match self {
            FormError::InvalidUtf8(n) | FormError::Nul(n) => n,
            FormError::Page { name, .. } => name,
        }
    }
}

/// One decoded name or value; `name` is what an error calls it.
fn decode_part(raw: &[u8], name: &str) -> Result<String, FormError> {
    let text = String::from_utf8(percent_decode_bytes(raw, true)).map_err(|_| FormError::InvalidUtf8(name.into()))?;
    if text.contains('\0') {
        return Err(FormError::Nul(name.into()));
    }
    Ok(text)
}

/// Parses `a=1&b=two+words` into decoded pairs, in order, refusing a name or
/// value that is not UTF-8 or holds a NUL. Keys without `=` get an empty
/// value; empty segments are skipped.
pub fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    body.split(|&c| c == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (raw_name, raw_value) = match seg.iter().position(|&c| c == b'=') {
                Some(eq) => (&seg[..eq], &seg[eq + 1..]),
                None => (seg, &seg[seg.len()..]),
            };
            let name = decode_part(raw_name, "a parameter name")?;
            let shown: String = name.chars().take(SHOWN_NAME).collect();
            Ok((name, decode_part(raw_value, &shown)?))
        })
        .collect()
}

/// The highest page number of any list. A page number is an OFFSET, and a
/// bounded OFFSET keeps every list's cost independent of the site's size:
/// page 100,000 would cost the database a walk over two million rows. Past
/// it, question lists continue with `after=ID` (keyset), as their "Next"
/// links always do, at the cost of page 1.
pub const MAX_PAGE: u32 = 50;

/// A page number as every list reads it: `None` (absent) is page 1; anything
/// else must be a whole number from 1 to [`MAX_PAGE`].
pub fn page_param(name: &str, raw: Option<&str>) -> Result<u32, FormError> {
    let Some(raw) = raw else { return Ok(1) };
    let bad = || FormError::Page { name: name.chars().take(SHOWN_NAME).collect(), max: MAX_PAGE };
    if raw.is_empty() || raw.len() > 6 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    raw.parse::<u32>().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(bad)
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

    /// Query parameters, decoded ([`decode_form`]).
    pub fn query_pairs(&self) -> Result<Vec<(String, String)>, FormError> {
        decode_form(self.query.as_bytes())
    }

    /// First value of query parameter `name`; an undecodable query string is
    /// an error whichever parameter is asked for.
    pub fn query_param(&self, name: &str) -> Result<Option<String>, FormError> {
        Ok(self.query_pairs()?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v))
    }

    /// Page number `name` from the query string, by [`page_param`].
    pub fn page(&self, name: &str) -> Result<u32, FormError> {
        page_param(name, self.query_param(name)?.as_deref())
    }
}

impl HttpResponse {
    pub fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: status as u32,
            headers: vec![Header { name: "Content-Type".into(), value: content_type.as_bytes().to_vec() }],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> HttpResponse {
        HttpResponse::with_body(status, "application/json", value.to_string().into_bytes())
    }

    /// `{"error": message}` with the given status.
    pub fn json_error(status: u16, message: &str) -> HttpResponse {
        HttpResponse::json(status, &serde_json::json!({ "error": message }))
    }

    /// 204: no body, so no Content-Type either.
    pub fn no_content() -> HttpResponse {
        HttpResponse { status: 204, headers: Vec::new(), body: Default::default() }
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
#[path = "../tests/unit/http.rs"]
mod tests;
