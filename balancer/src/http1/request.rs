//! Request framing: the rules of `http1`'s table, in one pure function
//! (`parse_head`) that the connection state machine calls on its input
//! buffer, and what it produces (`Head`, the body's `BodyKind`, or the
//! `FramingError` whose status answers the client).

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
