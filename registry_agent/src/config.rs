//! Registry settings, from the environment with defaults.
//!
//! Where Redis is: either one URL (`STACKWIRE_REDIS_URL`, a single node, the
//! way tests run) or a set of Sentinels (`STACKWIRE_REDIS_SENTINELS`, with
//! `STACKWIRE_REDIS_MASTER` and `STACKWIRE_REDIS_PASSWORD`), which is how a
//! replicated registry runs: every connection then asks a Sentinel for the
//! current primary, and asks again after any error, so a failover costs a
//! client one failed command, never a restart.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "STACKWIRE_REDIS_URL is not set (e.g. redis://:password@127.0.0.1:16379/), \
         nor STACKWIRE_REDIS_SENTINELS (e.g. 127.0.0.1:26380,127.0.0.1:26381)"
    )]
    NoUrl,
    #[error("STACKWIRE_REDIS_SENTINELS={0:?}: expected HOST:PORT[,HOST:PORT...]")]
    BadSentinels(String),
    #[error("no Sentinel knows a healthy primary for {master:?}: {source}")]
    NoPrimary { master: String, source: redis::RedisError },
    #[error("{name}={value:?} is not a number of milliseconds")]
    BadNumber { name: &'static str, value: String },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("record is not valid JSON: {0}")]
    Record(#[from] serde_json::Error),
}

/// A Redis primary found through Sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelConfig {
    /// `host:port` of every Sentinel.
    pub sentinels: Vec<String>,
    /// The master name the Sentinels monitor.
    pub master: String,
    /// AUTH for the data nodes, and for the Sentinels themselves.
    pub password: Option<String>,
}

impl SentinelConfig {
    /// `host:port,host:port`; whitespace around entries is ignored.
    pub fn parse(list: &str, master: &str, password: Option<String>) -> Result<SentinelConfig, RegistryError> {
        let sentinels: Vec<String> =
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        let ok = !sentinels.is_empty()
            && sentinels
                .iter()
                .all(|s| s.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()));
        if !ok {
            return Err(RegistryError::BadSentinels(list.to_string()));
        }
        Ok(SentinelConfig { sentinels, master: master.to_string(), password: password.filter(|p| !p.is_empty()) })
    }

    /// Connection URL of one Sentinel (with the password when there is one).
    pub fn sentinel_url(&self, hostport: &str) -> String {
        match &self.password {
            Some(p) => format!("redis://:{}@{hostport}/", proto::http::percent_encode(p)),
            None => format!("redis://{hostport}/"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The single Redis node, when `sentinel` is None. With Sentinel this is
    /// only a label for logs.
    pub url: String,
    pub sentinel: Option<SentinelConfig>,
    /// Namespace for every key, so that test clusters sharing one Redis never see each other.
    pub prefix: String,
    pub ttl: Duration,
    pub heartbeat: Duration,
    /// How often readers re-read the whole listing even without an event.
    pub resync: Duration,
}

impl RegistryConfig {
    pub fn new(url: &str) -> RegistryConfig {
        RegistryConfig {
            url: url.to_string(),
            sentinel: None,
            prefix: "stackwire".into(),
            ttl: Duration::from_millis(3000),
            heartbeat: Duration::from_millis(1000),
            resync: Duration::from_millis(500),
        }
    }

    /// `STACKWIRE_REDIS_SENTINELS` + `STACKWIRE_REDIS_MASTER` (default
    /// `stackwire`) + `STACKWIRE_REDIS_PASSWORD`, else `STACKWIRE_REDIS_URL`;
    /// then `STACKWIRE_REGISTRY_PREFIX`, `STACKWIRE_REGISTRY_TTL_MS`,
    /// `STACKWIRE_HEARTBEAT_MS`, `STACKWIRE_RESYNC_MS`.
    pub fn from_env() -> Result<RegistryConfig, RegistryError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut c = match var("STACKWIRE_REDIS_SENTINELS") {
            Some(list) => {
                let master = var("STACKWIRE_REDIS_MASTER").unwrap_or_else(|| "stackwire".into());
                let s = SentinelConfig::parse(&list, &master, var("STACKWIRE_REDIS_PASSWORD"))?;
                let mut c = RegistryConfig::new(&format!("sentinel://{}/{master}", s.sentinels.join(",")));
                c.sentinel = Some(s);
                c
            }
            None => RegistryConfig::new(&var("STACKWIRE_REDIS_URL").ok_or(RegistryError::NoUrl)?),
        };
        if let Ok(p) = std::env::var("STACKWIRE_REGISTRY_PREFIX") {
            c.prefix = p;
        }
        c.ttl = env_ms("STACKWIRE_REGISTRY_TTL_MS", c.ttl)?;
        c.heartbeat = env_ms("STACKWIRE_HEARTBEAT_MS", c.heartbeat)?;
        c.resync = env_ms("STACKWIRE_RESYNC_MS", c.resync)?;
        Ok(c)
    }

    pub fn instance_key(&self, service: &str, id: &str) -> String {
        format!("{}:instance:{service}:{id}", self.prefix)
    }
    pub fn index_key(&self, service: &str) -> String {
        format!("{}:instances:{service}", self.prefix)
    }
    pub fn services_key(&self) -> String {
        format!("{}:services", self.prefix)
    }
    pub fn events_channel(&self) -> String {
        format!("{}:events", self.prefix)
    }
}

/// The URL with any password replaced by `***`, for logs and pages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}***{}", &url[..scheme + 3], &url[at..]),
        _ => url.to_string(),
    }
}

fn env_ms(name: &'static str, default: Duration) -> Result<Duration, RegistryError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
            _ => Err(RegistryError::BadNumber { name, value: v }),
        },
    }
}

#[cfg(test)]
#[path = "../tests/unit/config.rs"]
mod tests;
