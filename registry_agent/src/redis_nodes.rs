//! Which Redis node is the registry's primary, which are replicas, and which
//! Sentinels answer: for status pages and operators.
//!
//! Asked fresh each time (a few small commands with short timeouts), because
//! the point of showing it is to watch it change during a failover. With a
//! single Redis URL there is one node and its `ROLE`.

use crate::{RegistryConfig, SentinelConfig};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisNode {
    pub addr: String,
    /// `primary`, `replica` or `sentinel`.
    pub role: String,
    /// `up`, `down`, or the flags Sentinel reports (`s_down`, …).
    pub state: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisTopology {
    /// `sentinel` or `single`.
    pub mode: String,
    pub master_name: Option<String>,
    pub nodes: Vec<RedisNode>,
    /// Set when nothing could be asked.
    pub error: Option<String>,
}

fn open(url: &str) -> redis::RedisResult<redis::Connection> {
    let con = redis::Client::open(url)?.get_connection_with_timeout(TIMEOUT)?;
    con.set_read_timeout(Some(TIMEOUT))?;
    con.set_write_timeout(Some(TIMEOUT))?;
    Ok(con)
}

fn node(addr: String, role: &str, state: &str, detail: String) -> RedisNode {
    RedisNode { addr, role: role.into(), state: state.into(), detail }
}

/// The registry's Redis nodes as they are right now.
pub fn redis_topology(cfg: &RegistryConfig) -> RedisTopology {
    match &cfg.sentinel {
        Some(s) => through_sentinels(s),
        None => single(cfg),
    }
}

fn single(cfg: &RegistryConfig) -> RedisTopology {
    let addr = crate::config::redact(&cfg.url);
    let role: redis::RedisResult<Vec<redis::Value>> = open(&cfg.url).and_then(|mut c| redis::cmd("ROLE").query(&mut c));
    let n = match role {
        Ok(v) => {
            let r = v.first().and_then(|x| redis::from_redis_value::<String>(x).ok()).unwrap_or_default();
            let role = if r == "master" { "primary" } else { "replica" };
            node(addr, role, "up", format!("ROLE {r}"))
        }
        Err(e) => node(addr, "primary", "down", e.to_string()),
    };
    RedisTopology { mode: "single".into(), master_name: None, nodes: vec![n], error: None }
}

fn through_sentinels(s: &SentinelConfig) -> RedisTopology {
    let mut sentinels = Vec::new();
    let mut asked: Option<redis::Connection> = None;
    for hostport in &s.sentinels {
        match open(&s.sentinel_url(hostport)).and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).map(|_| c)) {
            Ok(c) => {
                sentinels.push(node(hostport.clone(), "sentinel", "up", String::new()));
                if asked.is_none() {
                    asked = Some(c);
                }
            }
            Err(e) => sentinels.push(node(hostport.clone(), "sentinel", "down", e.to_string())),
        }
    }
    let mut out =
        RedisTopology { mode: "sentinel".into(), master_name: Some(s.master.clone()), nodes: Vec::new(), error: None };
    let Some(mut con) = asked else {
        out.error = Some("no Sentinel answers".into());
        out.nodes = sentinels;
        return out;
    };
    let master: redis::RedisResult<HashMap<String, String>> =
        redis::cmd("SENTINEL").arg("MASTER").arg(&s.master).query(&mut con);
    match master {
        Ok(m) => {
            let addr = format!("{}:{}", m.get("ip").map_or("?", |v| v), m.get("port").map_or("?", |v| v));
            let flags = m.get("flags").cloned().unwrap_or_default();
            let state = if flags == "master" { "up".to_string() } else { flags };
            let detail = format!(
                "{} other Sentinel(s), quorum {}",
                m.get("num-other-sentinels").map_or("?", |v| v),
                m.get("quorum").map_or("?", |v| v)
            );
            out.nodes.push(node(addr, "primary", &state, detail));
        }
        Err(e) => out.error = Some(format!("SENTINEL MASTER {}: {e}", s.master)),
    }
    let replicas: redis::RedisResult<Vec<HashMap<String, String>>> =
        redis::cmd("SENTINEL").arg("REPLICAS").arg(&s.master).query(&mut con);
    for r in replicas.unwrap_or_default() {
        let addr = format!("{}:{}", r.get("ip").map_or("?", |v| v), r.get("port").map_or("?", |v| v));
        let flags = r.get("flags").cloned().unwrap_or_default();
        let state = if flags == "slave" { "up".to_string() } else { flags };
        let detail = format!("link to primary {}", r.get("master-link-status").map_or("?", |v| v));
        out.nodes.push(node(addr, "replica", &state, detail));
    }
    out.nodes.extend(sentinels);
    out
}
