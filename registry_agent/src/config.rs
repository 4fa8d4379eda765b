//! Registry settings: flags, each with its environment variable, and
//! defaults.
//!
//! Where Redis is: either one URL (`--redis-url`, `STACKWIRE_REDIS_URL`, a
//! single node, the way tests run) or a set of Sentinels
//! (`--redis-sentinels`, `STACKWIRE_REDIS_SENTINELS`, with the master name
//! and password), which is how a replicated registry runs: every connection
//! then asks a Sentinel for the current primary, and asks again after any
//! error, so a failover costs a client one failed command, never a restart.
//!
//! [`RegistryArgs`] is a clap argument group: a binary puts it in its own
//! parser with `#[command(flatten)]` and gets the flags, the environment
//! variables, their `--help` and their errors, flags winning over the
//! environment. [`RegistryConfig::from_env`] reads the same group from the
//! environment alone, for callers without a command line of their own.

use clap::Parser;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "STACKWIRE_REDIS_URL (--redis-url) is not set (e.g. redis://:password@127.0.0.1:16379/), \
         nor STACKWIRE_REDIS_SENTINELS (--redis-sentinels; e.g. 127.0.0.1:26380,127.0.0.1:26381)"
    )]
    NoUrl,
    #[error("STACKWIRE_REDIS_SENTINELS (--redis-sentinels) {0:?}: expected HOST:PORT[,HOST:PORT...]")]
    BadSentinels(String),
    #[error("no Sentinel knows a healthy primary for {master:?}: {source}")]
    NoPrimary { master: String, source: redis::RedisError },
    /// A setting clap refused; the text names the flag and its variable.
    #[error("{0}")]
    Setting(String),
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

    /// The settings of [`RegistryArgs`] from the environment alone
    /// (`STACKWIRE_REDIS_SENTINELS` + `_MASTER` + `_PASSWORD`, else
    /// `STACKWIRE_REDIS_URL`; `STACKWIRE_REGISTRY_PREFIX`,
    /// `STACKWIRE_REGISTRY_TTL_MS`, `STACKWIRE_HEARTBEAT_MS`,
    /// `STACKWIRE_RESYNC_MS`).
    pub fn from_env() -> Result<RegistryConfig, RegistryError> {
        /// No command line: clap reads only the variables.
        #[derive(Parser)]
        #[command(no_binary_name = true)]
        struct FromEnv {
            #[command(flatten)]
            registry: RegistryArgs,
        }
        let parsed = FromEnv::try_parse_from(std::iter::empty::<String>()).map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            RegistryError::Setting(first.trim_start_matches("error: ").to_string())
        })?;
        parsed.registry.config()
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

/// Where the registry is and how often instances beat: a clap argument group
/// for a binary's parser (`#[command(flatten)]`). Every flag has an
/// environment variable; a flag given wins over its variable. An empty
/// Redis setting counts as unset (an `env` file may hold `X=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct RegistryArgs {
    /// The registry's Redis when it is a single node (tests, a laptop).
    #[arg(long, env = "STACKWIRE_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The Sentinels of a replicated registry, HOST:PORT[,HOST:PORT...]; wins over --redis-url.
    #[arg(long, env = "STACKWIRE_REDIS_SENTINELS", value_name = "LIST")]
    pub redis_sentinels: Option<String>,
    /// The master name the Sentinels monitor [default: stackwire].
    #[arg(long, env = "STACKWIRE_REDIS_MASTER", value_name = "NAME")]
    pub redis_master: Option<String>,
    /// AUTH for the Redis nodes and the Sentinels.
    #[arg(long, env = "STACKWIRE_REDIS_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    pub redis_password: Option<String>,
    /// Namespace of every key, so test clusters sharing one Redis never meet [default: stackwire].
    #[arg(long, env = "STACKWIRE_REGISTRY_PREFIX", value_name = "PREFIX")]
    pub registry_prefix: Option<String>,
    /// How long a record outlives its last heartbeat [default: 3000].
    #[arg(long, env = "STACKWIRE_REGISTRY_TTL_MS", value_name = "MS",
          value_parser = positive_ms("STACKWIRE_REGISTRY_TTL_MS"))]
    pub registry_ttl_ms: Option<Duration>,
    /// How often an instance rewrites its record [default: 1000].
    #[arg(long, env = "STACKWIRE_HEARTBEAT_MS", value_name = "MS", value_parser = positive_ms("STACKWIRE_HEARTBEAT_MS"))]
    pub heartbeat_ms: Option<Duration>,
    /// How often readers re-read the whole listing even without an event [default: 500].
    #[arg(long, env = "STACKWIRE_RESYNC_MS", value_name = "MS", value_parser = positive_ms("STACKWIRE_RESYNC_MS"))]
    pub resync_ms: Option<Duration>,
}

impl RegistryArgs {
    /// The configuration these settings describe: the Sentinels when given,
    /// else the single URL; the defaults of [`RegistryConfig::new`] for the rest.
    pub fn config(&self) -> Result<RegistryConfig, RegistryError> {
        let set = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let mut c = match set(&self.redis_sentinels) {
            Some(list) => {
                let master = set(&self.redis_master).unwrap_or_else(|| "stackwire".into());
                let s = SentinelConfig::parse(&list, &master, set(&self.redis_password))?;
                let mut c = RegistryConfig::new(&format!("sentinel://{}/{master}", s.sentinels.join(",")));
                c.sentinel = Some(s);
                c
            }
            None => RegistryConfig::new(&set(&self.redis_url).ok_or(RegistryError::NoUrl)?),
        };
        if let Some(p) = &self.registry_prefix {
            c.prefix = p.clone();
        }
        c.ttl = self.registry_ttl_ms.unwrap_or(c.ttl);
        c.heartbeat = self.heartbeat_ms.unwrap_or(c.heartbeat);
        c.resync = self.resync_ms.unwrap_or(c.resync);
        Ok(c)
    }
}

/// A value parser for a positive number of milliseconds; its error names
/// the variable too, since clap's own message names only the flag.
fn positive_ms(var: &'static str) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |v: &str| match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
        _ => Err(format!("not a positive number of milliseconds (the flag, or {var})")),
    }
}

#[cfg(test)]
#[path = "../tests/unit/config.rs"]
mod tests;
