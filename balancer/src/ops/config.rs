//! Command-line flags.
//!
//! Every value is checked here, before anything starts, and a bad one stops
//! the process with a message naming the flag and what was wrong with it, so
//! that a typo in a deployment script fails loudly instead of running with a
//! default nobody chose. `--flag value` and `--flag=value` are both accepted.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: balancer [--listen ADDR] [--shared-listen ADDR] [--upstream http://HOST:PORT]... [--routes FILE] [--workers N]
                [--header-timeout-ms MS] [--idle-timeout-ms MS] [--upstream-timeout-ms MS]
                [--drain-timeout-ms MS] [--max-connections N] [--connect-timeout-ms MS]
                [--loops N] [--balance p2c-ewma|round-robin|least-inflight] [--admin ADDR]
                [--config FILE]

The stackwire HTTP edge. Without --upstream it runs in registry mode: services are
found in the Redis registry named by STACKWIRE_REDIS_URL (STACKWIRE_REGISTRY_PREFIX
namespaces it). With --upstream it forwards plain HTTP/1.1 to the given servers.

  --listen ADDR              address to listen on (default 0.0.0.0:8080; port 0 = any)
  --shared-listen ADDR       also listen here with SO_REUSEPORT, shared with other balancers
  --upstream URL             static upstream http://HOST:PORT (repeatable)
  --routes FILE              route table, `PREFIX SERVICE` per line (reloaded on SIGHUP)
  --workers N                worker threads (default 32)
  --header-timeout-ms MS     whole request head must arrive within this (default 10000)
  --idle-timeout-ms MS       close idle keep-alive connections after this (default 60000)
  --upstream-timeout-ms MS   answer 504 when the upstream takes longer (default 30000)
  --drain-timeout-ms MS      on SIGTERM, wait this long for requests in flight (default 10000)
  --max-connections N        client connections; more are closed at once (default 10000)
  --connect-timeout-ms MS    give up connecting to an upstream after this: 504 (default 1000)
  --loops N                  event loops (threads) serving the listeners (default: one per core
                             less one, at least 1)
  --balance NAME             p2c-ewma (power of two choices on Peak-EWMA latency), round-robin
                             or least-inflight (default p2c-ewma)
  --admin ADDR               serve GET /metrics (Prometheus), /healthz, /status and /status/json
                             here (default: off); the public port never serves them
  --config FILE              `key = value` lines, keys as the flags without `--` (e.g.
                             `upstream = http://127.0.0.1:9001`, repeatable keys repeated)
  --help                     this text

Every flag can also come from the environment as STACKWIRE_BALANCER_<FLAG> (e.g.
STACKWIRE_BALANCER_IDLE_TIMEOUT_MS=5000; a list of upstreams separated by commas or spaces)
or from the --config file (or STACKWIRE_BALANCER_CONFIG). Flags win over the environment,
which wins over the file; a repeatable flag from a stronger source replaces the whole list.

Signals: SIGTERM/SIGINT stop accepting, finish requests in flight, exit 0;
SIGHUP reloads the --routes file. Access log on stdout, everything else on stderr.";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("help requested")]
    Help,
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("{flag} {value:?}: {reason}")]
    BadValue { flag: String, value: String, reason: String },
}

/// A static upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// As given, for logs.
    pub url: String,
    /// `HOST:PORT`, the Host header when the client sent none.
    pub authority: String,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    /// A second address, bound with SO_REUSEPORT so that several balancers share it.
    pub shared_listen: Option<SocketAddr>,
    pub upstreams: Vec<UpstreamUrl>,
    pub routes: Option<PathBuf>,
    pub workers: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub upstream_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_connections: usize,
    pub connect_timeout: Duration,
    /// Event loops; 0 means one per core less one (at least one).
    pub loops: usize,
    pub balance: crate::upstream::http::ewma::Balance,
    /// Where to serve /metrics and /healthz.
    pub admin: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            shared_listen: None,
            upstreams: Vec::new(),
            routes: None,
            workers: 32,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            upstream_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            connect_timeout: Duration::from_secs(1),
            loops: 0,
            balance: crate::upstream::http::ewma::Balance::P2cEwma,
            admin: None,
        }
    }
}

fn bad(flag: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::BadValue { flag: flag.into(), value: value.into(), reason: reason.into() }
}

fn resolve(flag: &str, value: &str, hostport: &str) -> Result<SocketAddr, ConfigError> {
    match hostport.to_socket_addrs() {
        Ok(mut it) => it.next().ok_or_else(|| bad(flag, value, "resolves to no address")),
        Err(e) => Err(bad(flag, value, format!("not HOST:PORT ({e})"))),
    }
}

fn number(flag: &str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(flag, value, format!("expected a whole number from {min} to {max}"))),
    }
}

fn millis(flag: &str, value: &str) -> Result<Duration, ConfigError> {
    number(flag, value, 1, 86_400_000).map(Duration::from_millis)
}

/// `http://HOST:PORT` with an optional trailing `/`.
pub fn parse_upstream(value: &str) -> Result<UpstreamUrl, ConfigError> {
    let flag = "--upstream";
    let Some(rest) = value.strip_prefix("http://") else {
        return Err(bad(flag, value, "must start with http://"));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad(flag, value, "expected http://HOST:PORT with no path"));
    }
    let hostport = if authority.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = resolve(flag, value, &hostport)?;
    Ok(UpstreamUrl { url: value.to_string(), authority: authority.to_string(), addr })
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Config, ConfigError> {
    let mut c = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Err(ConfigError::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        const FLAGS: &[&str] = &[
            "--listen",
            "--shared-listen",
            "--upstream",
            "--routes",
            "--workers",
            "--header-timeout-ms",
            "--idle-timeout-ms",
            "--upstream-timeout-ms",
            "--drain-timeout-ms",
            "--max-connections",
            "--connect-timeout-ms",
            "--loops",
            "--balance",
            "--admin",
        ];
        if !FLAGS.contains(&flag.as_str()) {
            return Err(ConfigError::Unknown(arg));
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| ConfigError::MissingValue(flag.clone()))?,
        };
        let v = value.as_str();
        match flag.as_str() {
            "--listen" => c.listen = resolve(&flag, v, v)?,
            "--shared-listen" => c.shared_listen = Some(resolve(&flag, v, v)?),
            "--upstream" => c.upstreams.push(parse_upstream(v)?),
            "--routes" if v.is_empty() => return Err(bad(&flag, v, "empty path")),
            "--routes" => c.routes = Some(PathBuf::from(v)),
            "--workers" => c.workers = number(&flag, v, 1, 1024)? as usize,
            "--header-timeout-ms" => c.header_timeout = millis(&flag, v)?,
            "--idle-timeout-ms" => c.idle_timeout = millis(&flag, v)?,
            "--upstream-timeout-ms" => c.upstream_timeout = millis(&flag, v)?,
            "--drain-timeout-ms" => c.drain_timeout = millis(&flag, v)?,
            "--connect-timeout-ms" => c.connect_timeout = millis(&flag, v)?,
            "--loops" => c.loops = number(&flag, v, 1, 256)? as usize,
            "--balance" => {
                let names = crate::upstream::http::ewma::Balance::NAMES;
                c.balance = crate::upstream::http::ewma::Balance::parse(v)
                    .ok_or_else(|| bad(&flag, v, format!("expected {names}")))?
            }
            "--admin" => c.admin = Some(resolve(&flag, v, v)?),
            _ => c.max_connections = number(&flag, v, 1, 1_000_000)? as usize,
        }
    }
    Ok(c)
}

#[cfg(test)]
#[path = "../../tests/unit/ops/config.rs"]
mod tests;
