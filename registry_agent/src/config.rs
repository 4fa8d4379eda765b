//! Registry settings, from the environment with defaults.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("STACKWIRE_REDIS_URL is not set (e.g. redis://:password@127.0.0.1:16379/)")]
    NoUrl,
    #[error("{name}={value:?} is not a number of milliseconds")]
    BadNumber { name: &'static str, value: String },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("record is not valid JSON: {0}")]
    Record(#[from] serde_json::Error),
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub url: String,
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
            prefix: "stackwire".into(),
            ttl: Duration::from_millis(3000),
            heartbeat: Duration::from_millis(1000),
            resync: Duration::from_millis(500),
        }
    }

    /// `STACKWIRE_REDIS_URL` (required), `STACKWIRE_REGISTRY_PREFIX`,
    /// `STACKWIRE_REGISTRY_TTL_MS`, `STACKWIRE_HEARTBEAT_MS`, `STACKWIRE_RESYNC_MS`.
    pub fn from_env() -> Result<RegistryConfig, RegistryError> {
        let url = std::env::var("STACKWIRE_REDIS_URL").map_err(|_| RegistryError::NoUrl)?;
        let mut c = RegistryConfig::new(&url);
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

fn env_ms(name: &'static str, default: Duration) -> Result<Duration, RegistryError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
            _ => Err(RegistryError::BadNumber { name, value: v }),
        },
    }
}
