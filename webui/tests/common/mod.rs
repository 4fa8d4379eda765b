//! What the webui process tests share: a Redis to register in, the real
//! binary started the way scripts start it, and page requests sent over RPC
//! the way the balancer sends them.

#![allow(dead_code)] // each test file uses its own subset

use proto::pb::{Header, HttpRequest, HttpResponse};
use proto::{methods, Connection};
use registry_agent::RegistryConfig;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A registry config under a prefix no other run uses. Panics when
/// `STACKWIRE_TEST_REDIS_URL` is not set: a test that skipped silently would
/// pass with the feature missing.
pub fn registry(test: &str) -> Option<RegistryConfig> {
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL")
        .unwrap_or_else(|_| panic!("STACKWIRE_TEST_REDIS_URL is not set: run {test} through scripts/test.sh"));
    let mut cfg = RegistryConfig::new(&url);
    cfg.prefix = format!("webui-{test}-{}-{}", std::process::id(), proto::clock::now_ms());
    Some(cfg)
}

/// The CSRF secret the webui under test runs with.
pub const CSRF_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The key for computing the tokens its forms carry.
pub fn csrf_key() -> webui::csrf::Key {
    webui::csrf::Key::from_hex(CSRF_SECRET).expect("a valid test secret")
}

/// The running binary; killed if the test fails before stopping it cleanly.
pub struct Webui {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Webui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Webui {
    /// Starts `webui --listen 127.0.0.1:0` and waits for `listening on ADDR`.
    pub fn start(cfg: &RegistryConfig) -> Webui {
        let mut child = Command::new(env!("CARGO_BIN_EXE_webui"))
            .args(["--listen", "127.0.0.1:0"])
            .env("STACKWIRE_REDIS_URL", &cfg.url)
            .env("STACKWIRE_REGISTRY_PREFIX", &cfg.prefix)
            .env(webui::csrf::SECRET_VAR, CSRF_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn webui");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = crossbeam_channel::unbounded::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("webui: {line}");
                // Keep draining after the test stops listening, so the child
                // never blocks on a full pipe.
                let _ = tx.send(line);
            }
        });
        let mut webui = Webui { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("webui never logged `listening on`");
            if line.contains("listening on ") {
                webui.addr = testkit::listening_addr(&line).expect("a socket address after `listening on`");
                return webui;
            }
        }
    }

    pub fn connect(&self) -> Connection {
        Connection::connect(self.addr, Duration::from_secs(2), proto::frame::DEFAULT_MAX_MESSAGE)
            .expect("connect to webui")
    }

    /// Sends SIGTERM and waits (polling, up to 15 s) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(killed.success());
        let child = &mut self.child;
        testkit::wait_for("webui to exit after SIGTERM", Duration::from_secs(15), || child.try_wait().expect("wait"))
    }
}

/// One page request through `WEB_HANDLE`, as the balancer sends it.
pub fn web(conn: &Connection, request_id: &str, method: &str, target: &str, form: Option<&str>) -> HttpResponse {
    web_with(conn, request_id, method, target, form, "")
}

/// [`web`] with a `Cookie` header (`a=1; b=2`; none when empty).
pub fn web_with(
    conn: &Connection,
    request_id: &str,
    method: &str,
    target: &str,
    form: Option<&str>,
    cookies: &str,
) -> HttpResponse {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    if form.is_some() {
        headers.push(Header { name: "Content-Type".into(), value: b"application/x-www-form-urlencoded".to_vec() });
    }
    if !cookies.is_empty() {
        headers.push(Header { name: "Cookie".into(), value: cookies.as_bytes().to_vec() });
    }
    let req = HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: form.unwrap_or("").as_bytes().to_vec(),
        request_id: request_id.into(),
        ..Default::default()
    };
    conn.unary(methods::WEB_HANDLE, request_id, Duration::from_secs(10), &req).expect("WEB_HANDLE reply")
}

/// The value of cookie `name` set by a response (`Set-Cookie: name=value; …`).
pub fn set_cookie(r: &HttpResponse, name: &str) -> Option<String> {
    r.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("set-cookie")).find_map(|h| {
        let v = String::from_utf8_lossy(&h.value).into_owned();
        let pair = v.split(';').next()?.to_string();
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| val.to_string())
    })
}

pub fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

pub fn header(r: &HttpResponse, name: &str) -> Option<String> {
    r.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&h.value).into_owned())
}

/// Live `webui` instances with the WebUI descriptor in the registry.
pub fn registered(cfg: &RegistryConfig) -> usize {
    registry_agent::list_once(cfg)
        .expect("registry listing")
        .get("webui")
        .map(|v| v.iter().filter(|r| r.descriptor.name == "WebUI").count())
        .unwrap_or(0)
}
