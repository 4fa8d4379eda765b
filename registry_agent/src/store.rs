//! The Redis commands behind the key layout in lib.rs; nothing else in the
//! crate speaks Redis.
//!
//! Every connection starts at `client`: with Sentinel configured it asks the
//! Sentinels for the current primary and checks it with `ROLE`, each step
//! bounded in time, so the address is never cached. Callers drop a connection on any
//! error, a `READONLY` reply included (the node was demoted), and the next
//! `connect` resolves the primary again.

use crate::{InstanceRecord, RegistryConfig, RegistryError, SentinelConfig};
use std::collections::BTreeMap;
use std::time::Duration;

/// A client for the registry's current primary.
pub fn client(cfg: &RegistryConfig) -> Result<redis::Client, RegistryError> {
    match &cfg.sentinel {
        None => Ok(redis::Client::open(cfg.url.as_str())?),
        Some(s) => primary(s),
    }
}

/// How long one Sentinel or candidate primary may take to connect or answer:
/// a host cut off from the network neither answers nor refuses, and without
/// a bound a connect waits out the kernel's SYN retries (about two minutes).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(1);

/// Asks each Sentinel in turn for the primary and checks with `ROLE` that it
/// is one (a Sentinel cut off from the others may still name the old one).
/// Written here rather than with the `redis` crate's `Sentinel::master_for`,
/// whose connections to the Sentinels and to the primary have no timeout.
fn primary(s: &SentinelConfig) -> Result<redis::Client, RegistryError> {
    let mut last = None;
    for host in &s.sentinels {
        match ask_sentinel(s, host) {
            Ok(client) => return Ok(client),
            Err(e) => last = Some(e),
        }
    }
    let source =
        last.unwrap_or_else(|| redis::RedisError::from((redis::ErrorKind::ClientError, "no Sentinel configured")));
    Err(RegistryError::NoPrimary { master: s.master.clone(), source })
}

fn bounded(client: &redis::Client) -> redis::RedisResult<redis::Connection> {
    let con = client.get_connection_with_timeout(RESOLVE_TIMEOUT)?;
    con.set_read_timeout(Some(RESOLVE_TIMEOUT))?;
    con.set_write_timeout(Some(RESOLVE_TIMEOUT))?;
    Ok(con)
}

fn ask_sentinel(s: &SentinelConfig, host: &str) -> redis::RedisResult<redis::Client> {
    let mut sentinel = bounded(&redis::Client::open(s.sentinel_url(host))?)?;
    let (ip, port): (String, u16) =
        redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(&s.master).query(&mut sentinel)?;
    let client = redis::Client::open(redis::ConnectionInfo {
        addr: redis::ConnectionAddr::Tcp(ip, port),
        redis: redis::RedisConnectionInfo { password: s.password.clone(), ..Default::default() },
    })?;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut bounded(&client)?)?;
    match role.first() {
        Some(redis::Value::BulkString(r)) if r.as_slice() == b"master" => Ok(client),
        _ => Err(redis::RedisError::from((
            redis::ErrorKind::ResponseError,
            "the node a Sentinel named is not a primary",
        ))),
    }
}

pub(crate) fn connect(cfg: &RegistryConfig) -> Result<redis::Connection, RegistryError> {
    let client = client(cfg)?;
    let con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    con.set_read_timeout(Some(Duration::from_secs(2)))?;
    con.set_write_timeout(Some(Duration::from_secs(2)))?;
    Ok(con)
}

/// Writes the record whole with its TTL and indexes it, atomically.
pub(crate) fn write(
    con: &mut redis::Connection,
    cfg: &RegistryConfig,
    rec: &InstanceRecord,
) -> Result<(), RegistryError> {
    let json = serde_json::to_string(rec)?;
    redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(cfg.instance_key(&rec.service, &rec.id))
        .arg(json)
        .arg("PX")
        .arg(cfg.ttl.as_millis() as u64)
        .ignore()
        .cmd("SADD")
        .arg(cfg.index_key(&rec.service))
        .arg(&rec.id)
        .ignore()
        .cmd("SADD")
        .arg(cfg.services_key())
        .arg(&rec.service)
        .ignore()
        .query::<()>(con)?;
    Ok(())
}

pub(crate) fn remove(
    con: &mut redis::Connection,
    cfg: &RegistryConfig,
    service: &str,
    id: &str,
) -> Result<(), RegistryError> {
    redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg(cfg.instance_key(service, id))
        .ignore()
        .cmd("SREM")
        .arg(cfg.index_key(service))
        .arg(id)
        .ignore()
        .query::<()>(con)?;
    Ok(())
}

pub(crate) fn publish(con: &mut redis::Connection, cfg: &RegistryConfig, event: &str) -> Result<(), RegistryError> {
    redis::cmd("PUBLISH").arg(cfg.events_channel()).arg(event).query::<()>(con)?;
    Ok(())
}

/// Every live instance, by service name; index entries whose record expired
/// are pruned on the way.
pub(crate) fn list(
    con: &mut redis::Connection,
    cfg: &RegistryConfig,
) -> Result<BTreeMap<String, Vec<InstanceRecord>>, RegistryError> {
    let services: Vec<String> = redis::cmd("SMEMBERS").arg(cfg.services_key()).query(con)?;
    let mut pipe = redis::pipe();
    for s in &services {
        pipe.cmd("SMEMBERS").arg(cfg.index_key(s));
    }
    let ids: Vec<Vec<String>> = if services.is_empty() { Vec::new() } else { pipe.query(con)? };
    let mut keys = Vec::new();
    for (s, ids) in services.iter().zip(&ids) {
        for id in ids {
            keys.push((s.as_str(), id.as_str(), cfg.instance_key(s, id)));
        }
    }
    let mut out: BTreeMap<String, Vec<InstanceRecord>> = services.iter().map(|s| (s.clone(), Vec::new())).collect();
    if keys.is_empty() {
        return Ok(out);
    }
    let values: Vec<Option<String>> =
        redis::cmd("MGET").arg(keys.iter().map(|k| k.2.as_str()).collect::<Vec<_>>()).query(con)?;
    let mut stale = redis::pipe();
    let mut any_stale = false;
    for ((service, id, _), value) in keys.iter().zip(values) {
        match value.map(|v| serde_json::from_str::<InstanceRecord>(&v)) {
            Some(Ok(rec)) => out.entry(rec.service.clone()).or_default().push(rec),
            Some(Err(e)) => log::warn!(target: "registry", "ignoring unreadable record {service}/{id}: {e}"),
            None => {
                stale.cmd("SREM").arg(cfg.index_key(service)).arg(*id).ignore();
                any_stale = true;
            }
        }
    }
    if any_stale {
        // Best effort: a heartbeat racing with this re-adds its own id.
        let _ = stale.query::<()>(con);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

/// One listing on a fresh connection (for the CLI and tests).
pub fn list_once(cfg: &RegistryConfig) -> Result<BTreeMap<String, Vec<InstanceRecord>>, RegistryError> {
    let mut con = connect(cfg)?;
    list(&mut con, cfg)
}
