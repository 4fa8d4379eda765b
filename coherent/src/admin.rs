//! `GET /metrics` (and `/healthz`) on an address of its own, for processes
//! that have no HTTP side otherwise (the webui and the services speak RPC).
//!
//! Operations endpoints stay off the public port (the balancer never routes
//! here), so they are for whoever can reach the address, loopback in
//! `scripts/start_all.sh`. A scrape is a request every few seconds: one
//! blocking thread serves one short connection at a time, each bounded by a
//! two-second timeout and an 8 KiB request head, so a stuck client delays a
//! scrape and cannot stop the process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);

/// What `/metrics` shows: the Prometheus text of the process, made per scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Binds `addr`, serves it on a thread, returns the bound address.
pub fn start(addr: &str, render: Render) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("admin".into()).spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => serve(s, &render),
                Err(e) => {
                    log::warn!(target: "admin", "accept: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    })?;
    Ok(local)
}

fn serve(mut s: TcpStream, render: &Render) {
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let path = loop {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut fields);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) if req.method == Some("GET") => {
                break req.path.unwrap_or("").split('?').next().unwrap_or("").to_string()
            }
            Ok(httparse::Status::Complete(_)) => return reply(&mut s, 405, "use GET\n"),
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            _ => return reply(&mut s, 400, "bad request\n"),
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    match path.as_str() {
        "/metrics" => reply(&mut s, 200, &render()),
        "/healthz" => reply(&mut s, 200, "ok\n"),
        _ => reply(&mut s, 404, "not found\n"),
    }
}

fn reply(s: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body.as_bytes());
}
