//! `GET /status`: the live topology, as this balancer sees it, for a person
//! watching a failure happen; `GET /status/json`: the same for scripts. Both
//! are served on the admin listener only (`crate::ops::admin`): process ids,
//! internal addresses and the Redis roles are for operators, not the public.
//!
//! Every service and instance from the registry (plus any kept by
//! self-preservation, marked as such) with its address, reported load, our
//! in-flight count, heartbeat age, health state (from our own probes and
//! passive checks) and ejections; the balancers registered as `balancer`;
//! the registry's Redis nodes: which is primary, which are replicas, which
//! Sentinels answer; and the PostgreSQL nodes as Patroni sees them
//! (`db_status`). The page refreshes itself every second (a meta refresh:
//! no JavaScript), so an instance can be watched leaving rotation and coming
//! back. Everything shown that came from outside is HTML-escaped.

use crate::http1::Response;
use registry_agent::{Descriptor, InstanceRecord, RedisTopology, RegistryConfig, Rotation};
use serde_json::{json, Value};
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a Redis topology answer is reused (the page refreshes each second).
const REDIS_CACHE: Duration = Duration::from_millis(500);

/// What the balancer publishes about itself in the registry.
pub fn descriptor() -> Descriptor {
    Descriptor {
        name: "Balancer".into(),
        title: "HTTP edge".into(),
        methods: Vec::new(),
        routes: vec!["GET /webserv/services".into()],
    }
}

/// HTML-escapes the five special characters.
pub use proto::http::html_escape as esc;

/// What the page shows, lent by registry mode's upstream (`upstream::rpc`).
pub struct Sources<'a> {
    pub rotation: &'a Rotation,
    pub registry: Option<&'a RegistryConfig>,
    /// This balancer's instance id in the registry, once registered.
    pub me: Option<String>,
    pub page: &'a Page,
}

/// The page's own state: when the process started, the last Redis topology.
pub struct Page {
    started: Instant,
    redis_cache: Mutex<Option<(Instant, RedisTopology)>>,
}

impl Page {
    pub fn new() -> Page {
        Page { started: Instant::now(), redis_cache: Mutex::new(None) }
    }
}

/// The page at `path` (the admin listener has checked the method).
pub fn serve(up: &Sources<'_>, path: &str) -> Response {
    let model = model(up);
    let resp = match path.trim_end_matches('/') {
        "/status" => Response::new(200, "text/html; charset=utf-8", render(&model).into_bytes()),
        "/status/json" => Response::new(200, "application/json", model.to_string().into_bytes()),
        _ => return Response::error(404, "try /status or /status/json"),
    };
    resp.with_header("Cache-Control", "no-store")
}

fn redis(up: &Sources<'_>) -> Option<RedisTopology> {
    let cfg = up.registry?;
    let mut cache = up.page.redis_cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, t)) = cache.as_ref() {
        if at.elapsed() < REDIS_CACHE {
            return Some(t.clone());
        }
    }
    let t = registry_agent::redis_topology(cfg);
    *cache = Some((Instant::now(), t.clone()));
    Some(t)
}

/// The host part of an instance's address (what it binds: its machine's
/// address, so instances on one host show the same one).
fn host_of(addr: &str) -> String {
    match addr.parse::<SocketAddr>() {
        Ok(a) => a.ip().to_string(),
        Err(_) => addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr).to_string(),
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn instance(up: &Sources<'_>, r: &InstanceRecord, kept: bool, slow: &[(SocketAddr, Duration)], now_ms: i64) -> Value {
    let rot = up.rotation;
    let addr = r.addr.parse::<SocketAddr>().ok();
    let h = addr.map(|a| rot.health(&a));
    let (out, back) = addr.map(|a| rot.transitions(&a)).unwrap_or((None, None));
    let ago = |t: Option<Instant>| t.map(|t| ms(t.elapsed()));
    json!({
        "id": r.id,
        "addr": r.addr,
        "host": host_of(&r.addr),
        "pid": r.pid,
        "load": r.load,
        "in_flight": addr.map(|a| rot.pool().in_flight(&a)).unwrap_or(0),
        "heartbeat_age_ms": (now_ms - r.last_heartbeat_ms).max(0),
        "ttl_ms": r.ttl_ms,
        "kept": kept,
        "available": h.as_ref().map(|h| h.available).unwrap_or(false),
        // Available but far slower than the others: tried only when they are not.
        "slow": addr.is_some_and(|a| slow.iter().any(|(s, _)| *s == a)),
        "recent_latency_ms": addr.map(|a| ms(rot.recent_latency(a))),
        "state": h.as_ref().map(|h| h.state).unwrap_or("unknown"),
        "reason": h.as_ref().map(|h| h.reason.clone()).unwrap_or_default(),
        "ejections": h.as_ref().map(|h| h.ejections).unwrap_or(0),
        "ejected_for_ms": h.as_ref().and_then(|h| h.ejected_for).map(ms),
        "last_probe_ms_ago": h.as_ref().and_then(|h| h.last_probe_ago).map(ms),
        "last_probe_ok": h.as_ref().and_then(|h| h.last_probe_ok),
        "left_rotation_ms_ago": ago(out),
        "returned_ms_ago": ago(back),
    })
}

/// The page's content as JSON (also served as `/status/json`).
fn model(up: &Sources<'_>) -> Value {
    let rot = up.rotation;
    let snap = rot.directory().snapshot();
    let kept = rot.kept();
    let now = proto::clock::now_ms();
    let mut names: Vec<&String> = snap.services.keys().collect();
    names.extend(kept.iter().map(|r| &r.service));
    names.sort();
    names.dedup();
    let me = up.me.clone();
    let mut services = Vec::new();
    let mut balancers = Vec::new();
    for name in names {
        let listed = snap.instances(name);
        if name == registry_agent::BALANCER_SERVICE {
            for r in listed {
                balancers.push(json!({
                    "id": r.id, "addr": r.addr, "host": host_of(&r.addr), "pid": r.pid, "load": r.load,
                    "heartbeat_age_ms": (now - r.last_heartbeat_ms).max(0),
                    "this": me.as_deref() == Some(r.id.as_str()),
                }));
            }
            continue;
        }
        let slow = rot.slow(name);
        let mut list: Vec<Value> = listed.iter().map(|r| instance(up, r, false, &slow, now)).collect();
        list.extend(kept.iter().filter(|r| &r.service == name).map(|r| instance(up, r, true, &slow, now)));
        let d = listed.first().or_else(|| kept.iter().find(|r| &r.service == name)).map(|r| &r.descriptor);
        services.push(json!({
            "service": name,
            "name": d.map(|d| d.name.as_str()).unwrap_or(name),
            "title": d.map(|d| d.title.as_str()).unwrap_or(""),
            "instances": list,
        }));
    }
    json!({
        "generated_at": proto::clock::iso8601(now),
        "this_balancer": me,
        "uptime_s": up.page.started.elapsed().as_secs(),
        "registry": {
            "version": snap.version,
            "read_ms_ago": if snap.read_at_ms == 0 { Value::Null } else { json!((now - snap.read_at_ms).max(0)) },
        },
        "services": services,
        "balancers": balancers,
        "redis": redis(up),
        "database": crate::ops::db_status::view(),
    })
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn n(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::Null => "–".into(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// The cells of a registered process after its id: host, address, pid, load.
fn place(v: &Value) -> String {
    format!(
        "<td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>",
        esc(s(v, "host")),
        esc(s(v, "addr")),
        esc(&n(v, "pid")),
        esc(&n(v, "load"))
    )
}

/// The HTML page for `model`.
pub fn render(m: &Value) -> String {
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"1\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>stackwire status</title><style>\
         body{{font:14px system-ui,sans-serif;margin:1rem;color:#222;background:#fff}}\
         table{{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}}\
         th,td{{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;font-variant-numeric:tabular-nums}}\
         .healthy,.up{{color:#176b2c}}.unhealthy,.down,.ejected{{color:#b00020;font-weight:600}}\
         .kept{{color:#8a5a00}}code{{font-size:13px}}\
         @media (prefers-color-scheme:dark){{body{{background:#111;color:#ddd}}th,td{{border-color:#333}}\
         .healthy,.up{{color:#6fcf8a}}.unhealthy,.down,.ejected{{color:#ff6b81}}}}\
         </style></head><body><h1>stackwire status</h1><p>As seen by balancer <code>{}</code> at {} \
         (registry view version {}, read {} ms ago). Refreshes every second.</p>",
        esc(&n(m, "this_balancer")),
        esc(s(m, "generated_at")),
        esc(&n(&m["registry"], "version")),
        esc(&n(&m["registry"], "read_ms_ago")),
    );
    for svc in m["services"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<h2>{} <small>({}, {})</small></h2><table><tr><th>instance</th><th>host</th><th>address</th><th>pid</th>\
             <th>load</th><th>in flight</th><th>heartbeat age</th><th>health</th><th>ejections</th></tr>",
            esc(s(svc, "name")),
            esc(s(svc, "service")),
            esc(s(svc, "title")),
        );
        let list = svc["instances"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            h.push_str("<tr><td colspan=\"9\" class=\"down\">no live instance</td></tr>");
        }
        for i in &list {
            let state = s(i, "state");
            let mut health = esc(state);
            if !s(i, "reason").is_empty() {
                let _ = write!(health, ": {}", esc(s(i, "reason")));
            }
            if i["kept"] == true {
                health.push_str(" <span class=\"kept\">(kept: gone from the registry)</span>");
            }
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td>{}<td>{}</td><td>{} ms</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(s(i, "id")),
                place(i),
                esc(&n(i, "in_flight")),
                esc(&n(i, "heartbeat_age_ms")),
                esc(state),
                health,
                esc(&n(i, "ejections")),
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Balancers</h2><table><tr><th>instance</th><th>host</th><th>address</th><th>pid</th><th>in flight</th><th>heartbeat age</th></tr>");
    for b in m["balancers"].as_array().into_iter().flatten() {
        let me = if b["this"] == true { " (this one)" } else { "" };
        let _ = write!(
            h,
            "<tr><td><code>{}</code>{me}</td>{}<td>{} ms</td></tr>",
            esc(s(b, "id")),
            place(b),
            esc(&n(b, "heartbeat_age_ms")),
        );
    }
    h.push_str("</table><h2>Registry (Redis)</h2>");
    let r = &m["redis"];
    if r.is_null() {
        h.push_str("<p>Static mode: no registry.</p>");
    } else {
        let _ = write!(h, "<p>Mode: {}", esc(s(r, "mode")));
        if let Some(name) = r["master_name"].as_str() {
            let _ = write!(h, ", master name <code>{}</code>", esc(name));
        }
        if let Some(e) = r["error"].as_str() {
            let _ = write!(h, ". <span class=\"down\">{}</span>", esc(e));
        }
        h.push_str(".</p><table><tr><th>role</th><th>address</th><th>state</th><th>detail</th></tr>");
        for node in r["nodes"].as_array().into_iter().flatten() {
            let state = s(node, "state");
            let class = if state == "up" { "up" } else { "down" };
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"{class}\">{}</td><td>{}</td></tr>",
                esc(s(node, "role")),
                esc(s(node, "addr")),
                esc(state),
                esc(s(node, "detail")),
            );
        }
        h.push_str("</table>");
    }
    crate::ops::db_status::render(&m["database"], &mut h, esc);
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
#[path = "../../tests/unit/ops/status.rs"]
mod tests;
