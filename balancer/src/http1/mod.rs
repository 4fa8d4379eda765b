//! HTTP/1.x request framing on top of httparse, and response serialization.
//!
//! httparse tells us where a request head ends and what its fields are; it
//! does not decide how long the body is, whether the head is too big, or what
//! to do with contradictory framing. Those decisions are the ones request
//! smuggling exploits, so they are made here, once, in a pure function that
//! the connection state machine calls and balancer/tests/http1_rules.rs pins
//! down rule by rule (the same rules Pingora and RFC 9112 apply):
//!
//! | condition                                              | status |
//! |--------------------------------------------------------|--------|
//! | request line longer than 8 KiB                         | 414    |
//! | head longer than 16 KiB, or too many fields            | 431    |
//! | more than one Content-Length, or a malformed one       | 400    |
//! | Content-Length together with Transfer-Encoding         | 400    |
//! | Transfer-Encoding on HTTP/1.0, or last coding not chunked | 400 |
//! | a coding other than chunked before it                  | 501    |
//! | HTTP/1.1 without Host, or two Hosts                    | 400    |
//! | Content-Length (or chunked total) over 1 MiB           | 413    |
//! | anything httparse rejects                              | 400    |
//!
//! Every error closes the connection after its response: once framing is in
//! doubt, nothing after it on the wire can be trusted to be a request.
//!
//! Responses are written by one head writer (`write_head`) whatever their
//! source: our status line, the end-to-end headers, our own framing
//! (`Content-Length` when the length is known, otherwise chunked for
//! HTTP/1.1 clients and close-delimited for HTTP/1.0 ones), an explicit
//! `Connection`, and the request id.

mod chunked;
pub(crate) mod forward;

pub use chunked::ChunkedDecoder;
pub use forward::{for_each_header, http_request};

pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
pub const MAX_BODY: usize = 1024 * 1024;
const MAX_HEADERS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("request header block exceeds 16 KiB")]
    HeadTooLarge,
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    #[error("request line exceeds 8 KiB")]
    RequestLineTooLong,
    #[error("request body exceeds 1 MiB")]
    BodyTooLarge,
    #[error("more than one Content-Length")]
    DuplicateContentLength,
    #[error("malformed Content-Length")]
    BadContentLength,
    #[error("Content-Length together with Transfer-Encoding")]
    LengthAndEncoding,
    #[error("Transfer-Encoding on an HTTP/1.0 request")]
    EncodingOnHttp10,
    #[error("the final transfer coding is not chunked")]
    NotChunked,
    #[error("unsupported transfer coding")]
    UnsupportedCoding,
    #[error("invalid chunk size")]
    BadChunkSize,
    #[error("malformed chunked body")]
    BadChunk,
    #[error("HTTP/1.1 request without Host")]
    MissingHost,
    #[error("more than one Host")]
    DuplicateHost,
    #[error("unsupported request target")]
    BadTarget,
    #[error("malformed request: {0}")]
    Parse(httparse::Error),
}

impl FramingError {
    pub fn status(self) -> u16 {
        match self {
            FramingError::HeadTooLarge | FramingError::TooManyHeaders => 431,
            FramingError::RequestLineTooLong => 414,
            FramingError::BodyTooLarge => 413,
            FramingError::UnsupportedCoding => 501,
            _ => 400,
        }
    }
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(usize),
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct Head {
    pub method: String,
    /// The target exactly as received (for the access log).
    pub target: String,
    /// Origin-form path and query, undecoded (what static upstreams receive).
    pub origin: String,
    /// Percent-decoded path without the query.
    pub path: String,
    /// Raw query without `?`.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: BodyKind,
    pub keep_alive: bool,
    pub expect_continue: bool,
}

impl Head {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// `GET /path HTTP/1.1`, for the access log.
    pub fn request_line(&self) -> String {
        let mut line = String::with_capacity(self.method.len() + self.target.len() + 10);
        line.push_str(&self.method);
        line.push(' ');
        line.push_str(&self.target);
        line.push_str(if self.minor == 0 { " HTTP/1.0" } else { " HTTP/1.1" });
        line
    }
}

/// A whole request: head and decoded body.
#[derive(Debug, Clone)]
pub struct Request {
    pub head: Head,
    pub body: Vec<u8>,
}

/// Looks for a complete head at the start of `buf`. `Ok(None)` means more
/// bytes are needed (and the limits allow waiting for them); `Ok(Some((head,
/// n)))` means the head occupies `buf[..n]`.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, FramingError> {
    let window = &buf[..buf.len().min(MAX_REQUEST_LINE + 2)];
    match window.iter().position(|&c| c == b'\n') {
        Some(p) => {
            let line = if p > 0 && buf[p - 1] == b'\r' { p - 1 } else { p };
            if line > MAX_REQUEST_LINE {
                return Err(FramingError::RequestLineTooLong);
            }
        }
        None if buf.len() >= MAX_REQUEST_LINE + 2 => return Err(FramingError::RequestLineTooLong),
        None => {}
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let n = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(FramingError::HeadTooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(FramingError::TooManyHeaders),
        Err(e) => return Err(FramingError::Parse(e)),
    };
    if n > MAX_HEAD {
        return Err(FramingError::HeadTooLarge);
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let minor = req.version.unwrap_or(1);
    let headers: Vec<(String, Vec<u8>)> = req.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect();
    let body = body_kind(&headers, minor)?;
    let mut hosts = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("host"));
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => return Err(FramingError::DuplicateHost),
        (None, None) if minor == 1 => return Err(FramingError::MissingHost),
        _ => {}
    }
    let origin = origin_form(&method, &target)?;
    let (raw_path, query) = match origin.split_once('?') {
        Some((p, q)) => (p, q.to_string()),
        None => (origin.as_str(), String::new()),
    };
    let path = proto::http::percent_decode(raw_path.as_bytes(), false);
    let (close, keep) = connection_tokens(&headers);
    let keep_alive = !close && (minor == 1 || keep);
    let expect_continue = minor == 1
        && body != BodyKind::None
        && headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("expect") && v.trim_ascii().eq_ignore_ascii_case(b"100-continue"));
    let head = Head { method, target, origin, path, query, minor, headers, body, keep_alive, expect_continue };
    Ok(Some((head, n)))
}

/// The body framing rules (RFC 9112 §6).
fn body_kind(headers: &[(String, Vec<u8>)], minor: u8) -> Result<BodyKind, FramingError> {
    let mut length = None;
    let mut codings: Vec<Vec<u8>> = Vec::new();
    let mut has_te = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            if length.is_some() {
                return Err(FramingError::DuplicateContentLength);
            }
            length = Some(parse_length(value)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            has_te = true;
            codings.extend(
                value.split(|&c| c == b',').map(|t| t.trim_ascii().to_ascii_lowercase()).filter(|t| !t.is_empty()),
            );
        }
    }
    if has_te {
        if minor == 0 {
            return Err(FramingError::EncodingOnHttp10);
        }
        if length.is_some() {
            return Err(FramingError::LengthAndEncoding);
        }
        let Some((last, before)) = codings.split_last() else {
            return Err(FramingError::NotChunked);
        };
        if last.as_slice() != b"chunked" || before.iter().any(|c| c.as_slice() == b"chunked") {
            return Err(FramingError::NotChunked);
        }
        if !before.is_empty() {
            return Err(FramingError::UnsupportedCoding);
        }
        return Ok(BodyKind::Chunked);
    }
    match length {
        None | Some(0) => Ok(BodyKind::None),
        Some(n) if n > MAX_BODY as u64 => Err(FramingError::BodyTooLarge),
        Some(n) => Ok(BodyKind::Length(n as usize)),
    }
}

/// Content-Length is 1*DIGIT; no sign, no list, no spaces inside.
pub fn parse_length(value: &[u8]) -> Result<u64, FramingError> {
    let v = value.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(FramingError::BadContentLength);
    }
    Ok(v.iter().fold(0u64, |n, &d| n * 10 + (d - b'0') as u64))
}

/// (close, keep-alive) tokens of the Connection header(s).
fn connection_tokens(headers: &[(String, Vec<u8>)]) -> (bool, bool) {
    let mut close = false;
    let mut keep = false;
    for (_, v) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("connection")) {
        for t in v.split(|&c| c == b',').map(<[u8]>::trim_ascii) {
            close |= t.eq_ignore_ascii_case(b"close");
            keep |= t.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    (close, keep)
}

/// Origin-form (`/p?q`) as is; absolute-form reduced to its path and query;
/// `*` only for OPTIONS.
fn origin_form(method: &str, target: &str) -> Result<String, FramingError> {
    if target.starts_with('/') {
        return Ok(target.to_string());
    }
    if target == "*" && method == "OPTIONS" {
        return Ok("*".to_string());
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Err(FramingError::BadTarget);
    };
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => Ok(rest[i..].to_string()),
        Some(i) => Ok(format!("/{}", &rest[i..])),
        None => Ok("/".to_string()),
    }
}

/// Reads a body of known framing, slice by slice.
#[derive(Debug, Clone)]
pub enum BodyReader {
    Length { remaining: usize },
    Chunked(ChunkedDecoder),
}

impl BodyReader {
    pub fn new(kind: BodyKind) -> Option<BodyReader> {
        match kind {
            BodyKind::None => None,
            BodyKind::Length(n) => Some(BodyReader::Length { remaining: n }),
            BodyKind::Chunked => Some(BodyReader::Chunked(ChunkedDecoder::new())),
        }
    }

    /// Moves body bytes from `input` to `body`; returns (consumed, complete).
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>, max: usize) -> Result<(usize, bool), FramingError> {
        match self {
            BodyReader::Length { remaining } => {
                let take = (*remaining).min(input.len());
                body.extend_from_slice(&input[..take]);
                *remaining -= take;
                Ok((take, *remaining == 0))
            }
            BodyReader::Chunked(d) => {
                let n = d.feed(input, body, max)?;
                Ok((n, d.is_done()))
            }
        }
    }
}

/// A response to send: from an upstream, the catalog, or the balancer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// For HEAD: the length the upstream announced (it sent no body).
    pub head_length: Option<u64>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.as_bytes().to_vec())],
            body,
            head_length: None,
        }
    }

    /// `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Response {
        let body = serde_json::json!({ "error": message }).to_string().into_bytes();
        Response::new(status, "application/json", body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.as_bytes().to_vec()));
        self
    }
}

/// Headers we always write ourselves, so an upstream's copy is dropped.
fn ours(name: &str) -> bool {
    const OURS: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "x-request-id",
    ];
    OURS.iter().any(|o| name.eq_ignore_ascii_case(o))
}

/// A header from an upstream must not be able to split the response.
pub fn valid_field(name: &str, value: &[u8]) -> bool {
    !name.is_empty()
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
        && value.iter().all(|&c| c == b'\t' || (c >= 0x20 && c != 0x7f))
}

/// How a response body is delimited toward the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFraming {
    /// No body (HEAD, 1xx, 204, 304) and no length announced.
    None,
    /// `Content-Length: n` (for HEAD: the length a GET would have had).
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 clients, length unknown).
    Chunked,
    /// Delimited by closing the connection (HTTP/1.0 clients, length unknown).
    Close,
}

/// Statuses that never carry a body.
pub fn bodiless(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// Writes a response head: our status line, the given end-to-end headers
/// (minus any we own, and any an upstream's `Connection` names), our framing,
/// `Connection` and `X-Request-Id`.
pub fn write_head<'h>(
    out: &mut Vec<u8>,
    status: u16,
    headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
    framing: OutFraming,
    keep_alive: bool,
    request_id: &str,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, status as u64);
    out.push(b' ');
    out.extend_from_slice(proto::http::reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers.clone() {
        if ours(name) || !valid_field(name, value) || named_by_connection(name, headers.clone()) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        OutFraming::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        OutFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        OutFraming::None | OutFraming::Close => {}
    }
    let keep = keep_alive && framing != OutFraming::Close;
    out.extend_from_slice(if keep { b"Connection: keep-alive\r\n" } else { b"Connection: close\r\n" });
    out.extend_from_slice(b"X-Request-Id: ");
    out.extend_from_slice(request_id.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// True if a `Connection` header among `headers` lists `name` (RFC 9110 §7.6.1).
pub fn named_by_connection<'h>(name: &str, headers: impl Iterator<Item = (&'h str, &'h [u8])>) -> bool {
    headers
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .any(|(_, v)| v.split(|&c| c == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(name.as_bytes())))
}

/// Appends `n` in decimal without going through `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends one chunk of a chunked body (nothing for empty data, which
/// would end the body).
pub fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = data.len();
    loop {
        i -= 1;
        digits[i] = HEX[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the serialized response to `out`; returns the body bytes written.
pub fn write_response(
    out: &mut Vec<u8>,
    resp: &Response,
    request_id: &str,
    keep_alive: bool,
    head_request: bool,
) -> usize {
    let framing = if bodiless(resp.status) {
        OutFraming::None
    } else {
        match resp.head_length {
            Some(n) if head_request => OutFraming::Length(n),
            _ => OutFraming::Length(resp.body.len() as u64),
        }
    };
    let headers = resp.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()));
    write_head(out, resp.status, headers, framing, keep_alive, request_id);
    if head_request || framing == OutFraming::None {
        return 0;
    }
    out.extend_from_slice(&resp.body);
    resp.body.len()
}
