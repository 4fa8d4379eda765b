//! The admin port: `GET /metrics`, `GET /healthz`, and the topology pages
//! `GET /status` and `GET /status/json`, away from user traffic.
//!
//! Operations endpoints live on their own address (`--admin`, loopback in
//! `start_all.sh`) so that the public port never exposes internals (process
//! ids, internal addresses, which Redis node is primary: the public port
//! answers 404 for all of these paths) and a scrape keeps working when the
//! public side is saturated or draining. The
//! traffic is a scrape every few seconds, so a plain blocking thread serves
//! it, one short connection at a time, each bounded by a two-second timeout
//! and an 8 KiB head: a stuck client delays a scrape, it cannot stop the
//! balancer.
//!
//! `/healthz` answers 200 `ok` while the balancer serves and 503 `draining`
//! once it has been told to stop, so a load balancer in front stops sending
//! to it before its listeners close.

use crate::http1::Response;
use crate::ops::metrics;
use crate::upstream::workers::Upstream;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);

static DRAINING: AtomicBool = AtomicBool::new(false);

/// From now on `/healthz` says 503.
pub fn set_draining() {
    DRAINING.store(true, Ordering::Relaxed);
}

/// Binds `addr` and serves it on a thread; returns the bound address.
/// `upstream` draws the `/status` pages.
pub fn start(addr: SocketAddr, upstream: Arc<dyn Upstream>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("admin".into()).spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => serve(s, &*upstream),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!(target: "balancer", "admin accept: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    })?;
    Ok(local)
}

fn serve(mut s: TcpStream, upstream: &dyn Upstream) {
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let (method, path) = loop {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut fields);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                break (req.method.unwrap_or("").to_string(), req.path.unwrap_or("").to_string());
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            _ => return reply(&mut s, 400, "text/plain", "bad request\n", false),
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return reply(&mut s, 405, "text/plain", "use GET\n", head_only);
    }
    let path = path.split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let text = metrics::get().render();
            reply(&mut s, 200, "text/plain; version=0.0.4; charset=utf-8", &text, head_only)
        }
        "/healthz" if DRAINING.load(Ordering::Relaxed) => reply(&mut s, 503, "text/plain", "draining\n", head_only),
        "/healthz" => reply(&mut s, 200, "text/plain", "ok\n", head_only),
        "/status" | "/status/" | "/status/json" => write_response(&mut s, &upstream.status(path), head_only),
        _ => reply(&mut s, 404, "text/plain", "try /metrics, /healthz, /status or /status/json\n", head_only),
    }
}

/// A whole `Response` (the status pages), then close.
fn write_response(s: &mut TcpStream, r: &Response, head_only: bool) {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, proto::http::reason(r.status));
    for (name, value) in &r.headers {
        head.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value)));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", r.body.len()));
    let _ = s.write_all(head.as_bytes());
    if !head_only {
        let _ = s.write_all(&r.body);
    }
}

fn reply(s: &mut TcpStream, status: u16, content_type: &str, body: &str, head_only: bool) {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        proto::http::reason(status),
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    if !head_only {
        let _ = s.write_all(body.as_bytes());
    }
}
