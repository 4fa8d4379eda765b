//! What crosses the balancer: which headers go on, which stop here, and what
//! the balancer adds.
//!
//! Hop-by-hop headers describe one connection, not the request, so they end
//! at every proxy (RFC 9110 §7.6.1): `Connection`, `Keep-Alive`,
//! `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, and
//! any header the `Connection` header names. We forward the decoded body with
//! our own `Content-Length`, add `X-Forwarded-For` (appending to a client's
//! list) and `X-Forwarded-Proto: http`, and replace any `X-Request-Id` with
//! the one we settled on, so the service logs the same JID we do.
//!
//! Upstream responses lose their hop-by-hop headers the same way before we
//! write our own framing (see `http1::write_response`).

use super::request::{BodyKind, Request};
use super::response::{named_by_connection, push_decimal, Response};
use proto::pb;
use std::net::SocketAddr;

const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// True for a hop-by-hop header: a fixed one or one `Connection` names.
fn hop_by_hop<'h>(name: &str, all: impl Iterator<Item = (&'h str, &'h [u8])>) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) || named_by_connection(name, all)
}

/// Calls `f` with every header an upstream receives for `req`, in order,
/// without allocating in the common case (no `X-Forwarded-For` from the client).
pub fn for_each_header(req: &Request, client: SocketAddr, request_id: &str, mut f: impl FnMut(&str, &[u8])) {
    let all = || req.head.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()));
    let mut prior: Option<Vec<u8>> = None;
    for (name, value) in &req.head.headers {
        if hop_by_hop(name, all()) {
            continue;
        }
        if name.eq_ignore_ascii_case("x-forwarded-for") {
            let p = prior.get_or_insert_with(Vec::new);
            if !p.is_empty() {
                p.extend_from_slice(b", ");
            }
            p.extend_from_slice(value.trim_ascii());
        } else if !["content-length", "x-request-id", "x-forwarded-proto"].iter().any(|o| name.eq_ignore_ascii_case(o))
        {
            f(name, value);
        }
    }
    let mut ip = [0u8; 64];
    let ip = ip_text(client, &mut ip);
    match prior {
        Some(mut p) => {
            p.extend_from_slice(b", ");
            p.extend_from_slice(ip);
            f("X-Forwarded-For", &p);
        }
        None => f("X-Forwarded-For", ip),
    }
    f("X-Forwarded-Proto", b"http");
    f("X-Request-Id", request_id.as_bytes());
    if req.head.body != BodyKind::None || !req.body.is_empty() {
        let mut len = Vec::with_capacity(20);
        push_decimal(&mut len, req.body.len() as u64);
        f("Content-Length", &len);
    }
}

thread_local! {
    /// The last client address formatted on this thread, and its text: a
    /// keep-alive connection sends many requests from one address.
    static LAST_IP: std::cell::RefCell<(Option<std::net::IpAddr>, [u8; 64], usize)> =
        const { std::cell::RefCell::new((None, [0; 64], 0)) };
}

/// The client's address as text, written into `buf`.
fn ip_text(client: SocketAddr, buf: &mut [u8; 64]) -> &[u8] {
    let n = LAST_IP.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != Some(client.ip()) {
            use std::io::Write;
            let mut cur = std::io::Cursor::new(&mut last.1[..]);
            let _ = write!(cur, "{}", client.ip());
            last.2 = cur.position() as usize;
            last.0 = Some(client.ip());
        }
        buf[..last.2].copy_from_slice(&last.1[..last.2]);
        last.2
    });
    &buf[..n]
}

/// The headers an upstream receives for `req`.
pub fn request_headers(req: &Request, client: SocketAddr, request_id: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(req.head.headers.len() + 4);
    for_each_header(req, client, request_id, |n, v| out.push((n.to_string(), v.to_vec())));
    out
}

/// The RPC payload for `/stackwire.Web/Handle`.
pub fn http_request(req: Request, client: SocketAddr, request_id: &str) -> pb::HttpRequest {
    let headers =
        request_headers(&req, client, request_id).into_iter().map(|(name, value)| pb::Header { name, value }).collect();
    pb::HttpRequest {
        method: req.head.method,
        path: req.head.path,
        query: req.head.query,
        headers,
        body: req.body,
        client_addr: client.to_string(),
        request_id: request_id.to_string(),
    }
}

/// A service's reply as a response we can write; nonsense statuses are 502.
pub fn from_http_response(r: pb::HttpResponse) -> Response {
    if !(200..=599).contains(&r.status) {
        log::warn!(target: "balancer", "upstream sent status {}; answering 502", r.status);
        return Response::error(502, "upstream sent an invalid status");
    }
    Response {
        status: r.status as u16,
        headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: r.body,
        head_length: None,
    }
}

#[cfg(test)]
#[path = "../../tests/unit/http1/forward.rs"]
mod tests;
