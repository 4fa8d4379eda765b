//! The Redis commands behind the key layout in lib.rs; nothing else in the
//! crate speaks Redis.
//!
//! Every connection starts at `client`: with Sentinel configured it asks the
//! Sentinels for the current primary (the `redis` crate checks it with
//! `ROLE`), so the address is never cached. Callers drop a connection on any
//! error, a `READONLY` reply included (the node was demoted), and the next
//! `connect` resolves the primary again.

use crate::{InstanceRecord, RegistryConfig, RegistryError, SentinelConfig};
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use std::collections::BTreeMap;
use std::time::Duration;

/// A client for the registry's current primary.
pub fn client(cfg: &RegistryConfig) -> Result<redis::Client, RegistryError> {
    match &cfg.sentinel {
        None => Ok(redis::Client::open(cfg.url.as_str())?),
        Some(s) => primary(s),
    }
}

fn primary(s: &SentinelConfig) -> Result<redis::Client, RegistryError> {
    let urls: Vec<String> = s.sentinels.iter().map(|h| s.sentinel_url(h)).collect();
    let mut sentinel = Sentinel::build(urls)?;
    let node = SentinelNodeConnectionInfo {
        tls_mode: None,
        redis_connection_info: Some(redis::RedisConnectionInfo { password: s.password.clone(), ..Default::default() }),
    };
    sentinel
        .master_for(&s.master, Some(&node))
        .map_err(|source| RegistryError::NoPrimary { master: s.master.clone(), source })
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
