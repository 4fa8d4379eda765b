//! Test harness for the balancer binary: tiny HTTP/1.1 backends on std::net
//! threads that count their hits and echo what they received, the balancer
//! started as a real process, and the strict HTTP/1.1 response reader of
//! `testkit`, so each test sees exactly the bytes the balancer put on the wire.
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
use std::time::Duration;

pub use testkit::http::{Reader, Reply as Resp};
pub use testkit::wait_for;

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
/// Built by doubling whole alphabets, a few copies instead of one closure
/// call a byte: the tests run unoptimised, and 64 MiB a byte at a time took
/// seconds of a loaded machine on each side of the slow-reader test.
pub fn pattern(n: usize) -> Vec<u8> {
    let mut out = b"abcdefghijklmnopqrstuvwxyz".to_vec();
    while out.len() < n {
        out.extend_from_within(..out.len().min(n - out.len()));
    }
    out.truncate(n);
    out
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
            .stdout(std::fs::File::create(dir.join("access.log")).unwrap());
        let (child, addr) =
            testkit::spawn_listening("the balancer", cmd, &dir.join("stderr.log"), Duration::from_secs(15));
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

/// The value of `key=` in a backend's echo body.
pub trait Echo {
    fn echo(&self, key: &str) -> Option<String>;
}

impl Echo for Resp {
    fn echo(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        self.text().lines().find_map(|l| l.strip_prefix(&prefix).map(String::from))
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
    wait_for("the admin address in the log", Duration::from_secs(5), || testkit::admin_addr(&bal.log()))
}

/// GET on the admin listener: status and body.
pub fn admin_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: admin\r\n\r\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let reply = testkit::http::parse_reply(&out)
        .unwrap_or_else(|| panic!("not an HTTP reply from the admin listener: {:?}", String::from_utf8_lossy(&out)));
    (reply.status, reply.text())
}

/// A registry of the test's own in the test Redis: `STACKWIRE_TEST_REDIS_URL`
/// (scripts/test.sh sets it; without it the test fails rather than pass
/// unchecked), keys under a prefix no other test or process uses.
pub struct TestRegistry {
    pub url: String,
    pub cfg: registry_agent::RegistryConfig,
}

impl TestRegistry {
    pub fn new(name: &str) -> TestRegistry {
        let url = std::env::var("STACKWIRE_TEST_REDIS_URL")
            .expect("STACKWIRE_TEST_REDIS_URL is not set: run scripts/test.sh");
        let mut cfg = registry_agent::RegistryConfig::new(&url);
        cfg.prefix = format!("{name}-{}", std::process::id());
        TestRegistry { url, cfg }
    }

    /// The environment that points a balancer at this registry.
    pub fn env(&self) -> [(&str, &str); 2] {
        [("STACKWIRE_REDIS_URL", self.url.as_str()), ("STACKWIRE_REGISTRY_PREFIX", self.cfg.prefix.as_str())]
    }
}

/// How the test instances describe themselves: a web UI serving
/// `Web/Handle` for every path.
pub fn webui_descriptor() -> registry_agent::Descriptor {
    registry_agent::Descriptor {
        name: "WebUI".into(),
        title: "Web pages".into(),
        methods: vec![registry_agent::MethodDesc::new(proto::methods::WEB_HANDLE, "HttpRequest", "HttpResponse")],
        routes: vec!["GET /".into()],
    }
}

/// For instances written by hand in the native frames: reads calls on `s`,
/// answering health checks (SERVING) on the way, until the first other call,
/// which it returns; `None` when the connection ends first (or a frame is not
/// a call, or a reply cannot be written).
pub fn next_call(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<proto::pb::Request> {
    use prost::Message;
    use proto::pb::health_check_response::ServingStatus;
    loop {
        let Ok(proto::frame::ReadOutcome::Frame) = proto::frame::read_frame(s, buf, proto::frame::DEFAULT_MAX_MESSAGE)
        else {
            return None;
        };
        let req = proto::pb::Request::decode(buf.as_slice()).ok()?;
        if req.method != proto::methods::HEALTH_CHECK {
            return Some(req);
        }
        let h = proto::pb::HealthCheckResponse { status: ServingStatus::Serving as i32 };
        let resp = proto::pb::Response {
            call_id: req.call_id,
            status: 0,
            message: String::new(),
            payload: h.encode_to_vec().into(),
        };
        s.write_all(&proto::frame::encode_message(&resp)).ok()?;
    }
}
