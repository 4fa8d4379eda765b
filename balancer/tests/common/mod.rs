//! Test harness for the balancer binary: tiny HTTP/1.1 backends on std::net
//! threads that count their hits and echo what they received, the balancer
//! started as a real process, and a raw HTTP/1.1 response reader, so each
//! test sees exactly the bytes the balancer put on the wire.
//!
//! Readiness is polled (the `listening on` log line, hit counters), never
//! slept for.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Polls `f` every 10 ms until it returns Some or `limit` passes.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A backend that answers every request with a text body describing it:
/// `backend=NAME`, `method=…`, `path=…` (target as received), `len=…`,
/// `body=…`, and `h:NAME=VALUE` for every header (names lowercased).
/// `/slow?ms=N` waits N ms first. Large bodies on demand, each byte
/// `b'a' + i % 26`: `/big?n=N` with a Content-Length, `/chunked?n=N`
/// chunked, `/close?n=N` delimited by closing the connection.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// TCP connections accepted.
    pub conns: Arc<AtomicUsize>,
}

/// The body `/big`, `/chunked` and `/close` send.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

impl Backend {
    pub fn start(name: &str) -> Backend {
        Backend::start_with_delay(name, 0)
    }

    /// A backend that waits `delay_ms` before every answer.
    pub fn start_with_delay(name: &str, delay_ms: u64) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(AtomicUsize::new(0));
        let (n, h, c) = (name.to_string(), hits.clone(), conns.clone());
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                c.fetch_add(1, Ordering::SeqCst);
                let (n, h) = (n.clone(), h.clone());
                std::thread::spawn(move || serve(s, &n, &h, delay_ms));
            }
        });
        Backend { name: name.to_string(), addr, hits, conns }
    }

    pub fn conns(&self) -> usize {
        self.conns.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(s: TcpStream, name: &str, hits: &AtomicUsize, delay_ms: u64) {
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let parts: Vec<String> = line.split_whitespace().map(String::from).collect();
        if parts.len() != 3 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let len: usize = get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        hits.fetch_add(1, Ordering::SeqCst);
        let (method, path) = (&parts[0], &parts[1]);
        if let Some(ms) = path.strip_prefix("/slow?ms=") {
            let ms = ms.split('&').next().unwrap_or("0");
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
        }
        if delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        let size = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = size("/big?n=") {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nX-Backend: {name}\r\n\r\n");
            if w.write_all(head.as_bytes()).is_err() || (method != "HEAD" && w.write_all(&pattern(n)).is_err()) {
                return;
            }
            continue;
        }
        if let Some(n) = size("/chunked?n=") {
            let mut out =
                format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Backend: {name}\r\n\r\n").into_bytes();
            for piece in pattern(n).chunks(7777) {
                out.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\nX-Trailer: dropped\r\n\r\n");
            if w.write_all(&out).is_err() {
                return;
            }
            continue;
        }
        if let Some(n) = size("/close?n=") {
            let head = format!("HTTP/1.1 200 OK\r\nConnection: close\r\nX-Backend: {name}\r\n\r\n");
            let _ = w.write_all(head.as_bytes());
            let _ = w.write_all(&pattern(n));
            return;
        }
        let mut text = format!(
            "backend={name}\nmethod={method}\npath={path}\nlen={len}\nbody={}\n",
            String::from_utf8_lossy(&body)
        );
        for (k, v) in &headers {
            text.push_str(&format!("h:{k}={v}\n"));
        }
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Backend: {name}\r\n{}\r\n",
            text.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        if method != "HEAD" {
            out.extend_from_slice(text.as_bytes());
        }
        if w.write_all(&out).is_err() || close {
            return;
        }
    }
}

/// A running balancer process; killed on drop.
pub struct Balancer {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

impl Balancer {
    pub fn start(args: &[&str]) -> Balancer {
        Balancer::start_env(args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Balancer {
        let dir = std::env::temp_dir().join(format!(
            "balancer-test-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_balancer"));
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("access.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap());
        let mut child = cmd.spawn().expect("spawn balancer");
        let log = dir.join("stderr.log");
        let addr = wait_for("`listening on` in the balancer log", Duration::from_secs(15), || {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("balancer exited with {st}: {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines().find_map(|l| {
                let rest = &l[l.find("listening on ")? + "listening on ".len()..];
                rest.split_whitespace().next()?.parse().ok()
            })
        });
        Balancer { child, addr, dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on a child we spawned.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let child = &mut self.child;
        wait_for("the balancer to exit", limit, || child.try_wait().ok().flatten()).code()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The value of `key=` in a backend's echo body.
    pub fn echo(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        self.text().lines().find_map(|l| l.strip_prefix(&prefix).map(String::from))
    }
}

/// Reads responses off one connection, keeping bytes that belong to the next.
pub struct Reader {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Reader {
    pub fn new(stream: TcpStream) -> Reader {
        Reader { stream, buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// One response; `head` when it answers a HEAD request (no body follows).
    pub fn response(&mut self, head: bool) -> Resp {
        let end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            assert!(
                self.fill() > 0,
                "connection closed before a response head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head_text = String::from_utf8(self.buf[..end].to_vec()).unwrap();
        self.buf.drain(..end + 4);
        let mut lines = head_text.split("\r\n");
        let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
            .collect();
        let mut r = Resp { status, headers, body: Vec::new() };
        let bodiless = head || status < 200 || status == 204 || status == 304;
        let chunked = r.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        match r.header("content-length").map(|v| v.parse::<usize>().expect("a numeric Content-Length")) {
            _ if bodiless => {}
            Some(len) => {
                assert!(!chunked, "Content-Length together with chunked");
                while self.buf.len() < len {
                    assert!(self.fill() > 0, "connection closed inside a body");
                }
                r.body = self.buf.drain(..len).collect();
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
            body.extend(self.buf.drain(..n));
            assert_eq!(self.buf.drain(..2).collect::<Vec<u8>>(), b"\r\n", "CRLF after chunk data");
        }
    }

    /// True if the server closed the connection (and sent nothing more).
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }
}

/// Sends `req` on a new connection and reads one response.
pub fn request(b: &Balancer, req: &str) -> Resp {
    let mut r = Reader::new(b.connect());
    r.send(req.as_bytes());
    r.response(req.starts_with("HEAD "))
}

pub fn get(b: &Balancer, path: &str) -> Resp {
    request(b, &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
}

/// The admin address from the balancer's log (`--admin`).
pub fn admin_addr(bal: &Balancer) -> SocketAddr {
    wait_for("the admin address in the log", Duration::from_secs(5), || {
        bal.log()
            .lines()
            .find_map(|l| l.split("admin on ").nth(1)?.split(':').take(2).collect::<Vec<_>>().join(":").parse().ok())
    })
}

/// GET on the admin listener: status and body.
pub fn admin_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: admin\r\n\r\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}
