//! Just enough of the W3C WebDriver protocol to drive headless Chromium
//! through chromedriver: HTTP/1.1 with JSON bodies over a plain TcpStream,
//! one request per connection, so the test needs no client crate.
//!
//! [`Driver::start`] runs `chromedriver` on a free port and polls `/status`
//! until it is ready; [`Session`] is one browser with a fresh profile. Every
//! command fails loudly with WebDriver's own error message, and both the
//! session and chromedriver are ended on drop, so a failing test leaves no
//! browser running.

use serde_json::{json, Value};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::http::Reader;
use testkit::{poll, wait_for};

/// The key WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The first of `names` found on PATH (or as given, when absolute).
pub fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        let direct = PathBuf::from(n);
        if direct.is_absolute() && direct.is_file() {
            return Some(direct);
        }
        std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file())
    })
}

/// One HTTP exchange: method, path, optional JSON body → (status, JSON).
/// chromedriver keeps the connection open despite `Connection: close`, so
/// the body is read by its framing ([`testkit::http::Reader`]), not to EOF.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if body.is_some() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", payload.len()));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    let mut reader = Reader::new(s);
    reader.stream.write_all(req.as_bytes())?;
    let reply = reader.response(false);
    let value =
        if reply.body.is_empty() { Value::Null } else { serde_json::from_slice(&reply.body).unwrap_or(Value::Null) };
    Ok((reply.status, value))
}

/// Decodes standard base64 (as WebDriver screenshots are sent).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A running chromedriver.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub fn start(chromedriver: &Path, log: &Path) -> Driver {
        // A port the OS just gave out; chromedriver binds it right after.
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let log_file = std::fs::File::create(log).expect("chromedriver log");
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut d = Driver { child, port };
        wait_for("chromedriver to be ready", Duration::from_secs(30), || {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("chromedriver exited with {st}; log: {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            matches!(http(port, "GET", "/status", None), Ok((200, v)) if v["value"]["ready"] == true).then_some(())
        });
        d
    }

    /// A new headless browser with a fresh profile in `profile`.
    pub fn session(&self, chromium: &Path, profile: &Path) -> Session {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-proxy-server",
            "--hide-scrollbars",
            "--window-size=1280,1600",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let (status, v) = http(self.port, "POST", "/session", Some(&caps)).expect("POST /session");
        assert_eq!(status, 200, "new session: {v}");
        let id = v["value"]["sessionId"].as_str().expect("sessionId").to_string();
        Session { port: self.port, id }
    }
}

/// One browser window.
pub struct Session {
    port: u16,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

impl Session {
    /// A command of this session; panics with WebDriver's error on failure.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.id);
        let (status, v) = http(self.port, method, &full, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: chromedriver unreachable: {e}"));
        assert_eq!(status, 200, "{method} {path}: {}", v["value"]);
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    pub fn source(&self) -> String {
        self.cmd("GET", "/source", None).as_str().unwrap_or_default().to_string()
    }

    /// The first element matching `css`; panics (with the URL) if none.
    pub fn find(&self, css: &str) -> String {
        let full = format!("/session/{}/element", self.id);
        let body = json!({"using": "css selector", "value": css});
        let (status, v) = http(self.port, "POST", &full, Some(&body)).expect("find element");
        if status != 200 {
            panic!("no element {css:?} on {}: {}\npage:\n{}", self.url(), v["value"]["message"], self.source());
        }
        v["value"][ELEMENT].as_str().unwrap_or_else(|| panic!("no element id in {v}")).to_string()
    }

    pub fn count(&self, css: &str) -> usize {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        v.as_array().map(|a| a.len()).unwrap_or(0)
    }

    pub fn text_of(&self, css: &str) -> String {
        let el = self.find(css);
        self.cmd("GET", &format!("/element/{el}/text"), None).as_str().unwrap_or_default().to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd("POST", &format!("/element/{el}/value"), Some(json!({ "text": text })));
    }

    /// Clicks something that submits a form or follows a link, and waits
    /// until the page it leads to has replaced this one and loaded. The old
    /// document is marked first: a click returns before the navigation it
    /// starts, so "readyState is complete" alone could still be the old page.
    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.script("window.__stackwire_old_page = true; return null");
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
        let mut state = None;
        let loaded = poll(Duration::from_secs(30), || {
            // Mid-navigation a script may fail; that is one more poll.
            state = self.try_script("return window.__stackwire_old_page ? 'old' : document.readyState");
            state.as_ref().is_some_and(|s| s == "complete").then_some(())
        });
        assert!(loaded.is_some(), "clicking {css:?} did not load a new page (still {state:?})");
    }

    fn try_script(&self, js: &str) -> Option<Value> {
        let full = format!("/session/{}/execute/sync", self.id);
        let (status, v) = http(self.port, "POST", &full, Some(&json!({"script": js, "args": []}))).ok()?;
        (status == 200).then(|| v["value"].clone())
    }

    pub fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    /// The visible part of the page as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.cmd("GET", "/screenshot", None);
        base64_decode(b64.as_str().expect("base64 screenshot")).expect("valid base64")
    }
}
