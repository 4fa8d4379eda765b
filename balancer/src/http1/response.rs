//! Response serialization: one head writer (`write_head`) whatever the
//! response's source (our status line, the end-to-end headers, our own
//! framing, an explicit `Connection`, the request id), whole responses
//! (`write_response`) and the pieces a streamed one is made of
//! (`push_chunk`).

/// A response to send: from an upstream, the catalog, or the balancer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Shared, not owned: a page decoded from an upstream's reply is a slice
    /// of the buffer the reply was read into (see `proto::rpc_client`).
    pub body: bytes::Bytes,
    /// For HEAD: the length the upstream announced (it sent no body).
    pub head_length: Option<u64>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.as_bytes().to_vec())],
            body: body.into(),
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
    if !write_response_head(out, resp, request_id, keep_alive, head_request) {
        return 0;
    }
    out.extend_from_slice(&resp.body);
    resp.body.len()
}

/// Appends the response's head to `out`; true when its body must follow
/// (not a HEAD, not a bodiless status), which the caller then sends as it
/// is, without copying it behind the head.
pub fn write_response_head(
    out: &mut Vec<u8>,
    resp: &Response,
    request_id: &str,
    keep_alive: bool,
    head_request: bool,
) -> bool {
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
    !(head_request || framing == OutFraming::None)
}
