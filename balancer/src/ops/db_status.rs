//! The database part of `/status`: the PostgreSQL nodes as their failover
//! engine (Patroni) sees them — which is the primary, which is the
//! synchronous standby, each one's state, timeline and replication lag.
//!
//! The balancer never talks to PostgreSQL; it asks Patroni's REST API
//! (`GET /cluster`, the engine's own view, the same on every node) at the
//! addresses in `STACKWIRE_PATRONI_URLS` (`host:port,…`; start_all.sh sets
//! it), the first that answers within [`TIMEOUT`]. Answers are reused for
//! [`CACHE`], since the page refreshes itself every second. Without the
//! variable (one PostgreSQL, or the tests) the section says so.

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(500);
const CACHE: Duration = Duration::from_millis(500);
/// Largest /cluster answer read (two members take about 500 bytes).
const MAX_BODY: u64 = 64 * 1024;

static LAST: Mutex<Option<(Instant, Value)>> = Mutex::new(None);

/// The database section of the status model (`null` when not configured).
pub fn view() -> Value {
    let Ok(list) = std::env::var("STACKWIRE_PATRONI_URLS") else { return Value::Null };
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, v)) = last.as_ref() {
        if at.elapsed() < CACHE {
            return v.clone();
        }
    }
    let mut error = String::from("no Patroni answered");
    let mut out = None;
    for addr in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        match cluster(addr) {
            Ok(doc) => {
                out = Some(model(addr, &doc));
                break;
            }
            Err(e) => error = format!("{addr}: {e}"),
        }
    }
    let v = out.unwrap_or_else(|| json!({"engine": "patroni", "source": Value::Null, "members": [], "error": error}));
    *last = Some((Instant::now(), v.clone()));
    v
}

fn model(source: &str, doc: &Value) -> Value {
    let members: Vec<Value> = doc["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "name": m["name"], "role": m["role"], "state": m["state"],
                "addr": format!("{}:{}", m["host"].as_str().unwrap_or("?"), m["port"].as_u64().unwrap_or(0)),
                "timeline": m["timeline"], "lag": m["lag"],
            })
        })
        .collect();
    json!({"engine": "patroni", "source": source, "members": members, "error": Value::Null})
}

/// `GET /cluster` over a plain HTTP/1.0 connection.
fn cluster(addr: &str) -> Result<Value, String> {
    let sock: SocketAddr =
        addr.to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or_else(|| "no address".to_string())?;
    let mut s = TcpStream::connect_timeout(&sock, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    s.write_all(format!("GET /cluster HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.take(MAX_BODY).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.") || head.split_whitespace().nth(1) != Some("200") {
        return Err(format!("answered {}", head.lines().next().unwrap_or("")));
    }
    serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))
}

/// The section of the HTML page.
pub fn render(d: &Value, h: &mut String, esc: fn(&str) -> String) {
    h.push_str("<h2>Database (PostgreSQL, failover by Patroni)</h2>");
    if d.is_null() {
        h.push_str("<p>Not configured (STACKWIRE_PATRONI_URLS is not set: one PostgreSQL).</p>");
        return;
    }
    if let Some(e) = d["error"].as_str() {
        let _ = write!(h, "<p class=\"down\">{}</p>", esc(e));
    }
    let _ = write!(h, "<p>Patroni's view, from <code>{}</code>.</p>", esc(d["source"].as_str().unwrap_or("-")));
    h.push_str(
        "<table><tr><th>node</th><th>role</th><th>address</th><th>state</th><th>timeline</th><th>lag (bytes)</th></tr>",
    );
    for m in d["members"].as_array().into_iter().flatten() {
        let state = m["state"].as_str().unwrap_or("");
        let class = if state == "running" || state == "streaming" { "up" } else { "down" };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => "-".into(),
            other => other.to_string(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&text(&m["name"])),
            esc(&text(&m["role"])),
            esc(&text(&m["addr"])),
            esc(state),
            esc(&text(&m["timeline"])),
            esc(&text(&m["lag"])),
        );
    }
    h.push_str("</table>");
}
