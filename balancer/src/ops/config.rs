//! The command line, its environment variables and the `--config` file.
//!
//! Every setting is a flag declared once, in [`Cli`] (clap's derive): its
//! name, its `STACKWIRE_BALANCER_<FLAG>` variable and its line of `--help`.
//! The file (`--config FILE` or `STACKWIRE_BALANCER_CONFIG`) is TOML whose
//! keys are the flags without their dashes (`idle-timeout-ms = 5000`,
//! `upstream = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]`).
//!
//! Flags win over the environment, which wins over the file, setting by
//! setting; for the repeatable `--upstream` the strongest source that
//! mentions it supplies the whole list (from the environment, separated by
//! commas or spaces). clap reads the flags and the environment and keeps
//! every value as text; each value is then checked here, once, by the same
//! rules whatever its source, before anything starts, and a bad one stops
//! the process with exit status 2 and a message naming where it came from
//! (`--workers "0": …`, `STACKWIRE_BALANCER_WORKERS: …`,
//! `balancer.conf:3: workers: …`): a typo in a deployment must fail loudly
//! instead of running with a default nobody chose. A `STACKWIRE_BALANCER_*`
//! variable or a file key that names no setting is an error too: a misspelt
//! setting must not be silently ignored.
//!
//! Where the registry is (registry mode) is registry_agent's own flag group,
//! [`RegistryArgs`], flattened into [`Cli`]: `--redis-url` and the rest, from
//! the command line or their `STACKWIRE_REDIS_*` / `STACKWIRE_REGISTRY_*`
//! variables (a flag wins), as every other binary reads them; not from the file.

use crate::upstream::http::ewma::Balance;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use registry_agent::RegistryArgs;
use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ENV_PREFIX: &str = "STACKWIRE_BALANCER_";

/// The flags; every value is text until [`apply`] checks it.
#[derive(Parser, Debug)]
#[command(
    name = "balancer",
    version,
    about = "The stackwire HTTP edge. Without --upstream it runs in registry mode: services are found in the \
             Redis registry named by STACKWIRE_REDIS_URL (STACKWIRE_REGISTRY_PREFIX namespaces it). With \
             --upstream it forwards plain HTTP/1.1 to the given servers.",
    after_help = "Every flag can also come from the environment as STACKWIRE_BALANCER_<FLAG> (e.g. \
                  STACKWIRE_BALANCER_IDLE_TIMEOUT_MS=5000; a list of upstreams separated by commas or spaces) \
                  or from the --config file. Flags win over the environment, which wins over the file; a \
                  repeatable flag from a stronger source replaces the whole list.\n\n\
                  Signals: SIGTERM/SIGINT stop accepting, finish requests in flight, exit 0; SIGHUP reloads \
                  the --routes file. Access log on stdout, everything else on stderr.",
    args_override_self = true,
    allow_negative_numbers = true
)]
struct Cli {
    /// Address to listen on (default 0.0.0.0:8080; port 0 = any)
    #[arg(long, value_name = "ADDR", env = "STACKWIRE_BALANCER_LISTEN")]
    listen: Option<String>,
    /// Also listen here with SO_REUSEPORT, shared with other balancers
    #[arg(long, value_name = "ADDR", env = "STACKWIRE_BALANCER_SHARED_LISTEN")]
    shared_listen: Option<String>,
    /// Static upstream http://HOST:PORT (repeatable)
    #[arg(long, value_name = "URL", env = "STACKWIRE_BALANCER_UPSTREAM")]
    upstream: Vec<String>,
    /// Route table, `PREFIX SERVICE` per line (reloaded on SIGHUP)
    #[arg(long, value_name = "FILE", env = "STACKWIRE_BALANCER_ROUTES")]
    routes: Option<String>,
    /// Worker threads (default 32)
    #[arg(long, value_name = "N", env = "STACKWIRE_BALANCER_WORKERS")]
    workers: Option<String>,
    /// Batches of requests that may wait for a worker; past them, 503 with Retry-After (default 4096)
    #[arg(long, value_name = "N", env = "STACKWIRE_BALANCER_QUEUE")]
    queue: Option<String>,
    /// The whole request head must arrive within this (default 10000)
    #[arg(long, value_name = "MS", env = "STACKWIRE_BALANCER_HEADER_TIMEOUT_MS")]
    header_timeout_ms: Option<String>,
    /// Close idle keep-alive connections after this (default 60000)
    #[arg(long, value_name = "MS", env = "STACKWIRE_BALANCER_IDLE_TIMEOUT_MS")]
    idle_timeout_ms: Option<String>,
    /// Answer 504 when the upstream takes longer (default 30000)
    #[arg(long, value_name = "MS", env = "STACKWIRE_BALANCER_UPSTREAM_TIMEOUT_MS")]
    upstream_timeout_ms: Option<String>,
    /// On SIGTERM, wait this long for requests in flight (default 10000)
    #[arg(long, value_name = "MS", env = "STACKWIRE_BALANCER_DRAIN_TIMEOUT_MS")]
    drain_timeout_ms: Option<String>,
    /// Client connections; more are closed at once (default 10000)
    #[arg(long, value_name = "N", env = "STACKWIRE_BALANCER_MAX_CONNECTIONS")]
    max_connections: Option<String>,
    /// Give up connecting to an upstream after this: 504 (default 1000)
    #[arg(long, value_name = "MS", env = "STACKWIRE_BALANCER_CONNECT_TIMEOUT_MS")]
    connect_timeout_ms: Option<String>,
    /// Event loops (threads) serving the listeners (default: one per core less one, at least 1)
    #[arg(long, value_name = "N", env = "STACKWIRE_BALANCER_LOOPS")]
    loops: Option<String>,
    /// p2c-ewma (power of two choices on Peak-EWMA latency), round-robin or least-inflight (default p2c-ewma)
    #[arg(long, value_name = "NAME", env = "STACKWIRE_BALANCER_BALANCE")]
    balance: Option<String>,
    /// Serve GET /metrics (Prometheus), /healthz, /status and /status/json here (default: off); the public port never serves them
    #[arg(long, value_name = "ADDR", env = "STACKWIRE_BALANCER_ADMIN")]
    admin: Option<String>,
    /// TOML file of settings, keys as the flags without `--` (e.g. `upstream = ["http://127.0.0.1:9001"]`)
    #[arg(long, value_name = "FILE", env = "STACKWIRE_BALANCER_CONFIG")]
    config: Option<PathBuf>,
    /// Registry mode's Redis: registry_agent's flags, from the command line
    /// or their own variables only (not the file).
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{flag} {value:?}: {reason}")]
    BadValue { flag: String, value: String, reason: String },
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad or unknown flags, and also `--help` and `--version` (whose text
    /// clap prints with `exit`).
    #[error("{0}")]
    Cli(#[from] clap::Error),
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: not TOML: {message}")]
    Syntax { path: String, line: usize, message: String },
    #[error("{origin}: no such setting (see --help)")]
    UnknownKey { origin: String },
    #[error("{origin}: {error}")]
    Value { origin: String, error: ConfigError },
    #[error("{0}")]
    Flag(ConfigError),
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
    /// Jobs (each the requests one loop read in one turn) waiting for a worker, at most.
    pub queue: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub upstream_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_connections: usize,
    pub connect_timeout: Duration,
    /// Event loops; 0 means one per core less one (at least one).
    pub loops: usize,
    pub balance: Balance,
    /// Where to serve /metrics and /healthz.
    pub admin: Option<SocketAddr>,
    /// Where the registry is, for registry mode.
    pub registry: RegistryArgs,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            shared_listen: None,
            upstreams: Vec::new(),
            routes: None,
            workers: 32,
            queue: 4096,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            upstream_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            connect_timeout: Duration::from_secs(1),
            loops: 0,
            balance: Balance::P2cEwma,
            admin: None,
            registry: RegistryArgs::default(),
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

/// The settings, by the name of their flag without dashes (clap's argument
/// ids use `_` where the flags use `-`): every flag with a
/// `STACKWIRE_BALANCER_` variable but `--config` (so not the registry's).
fn settings() -> Vec<(String, Option<String>)> {
    Cli::command()
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| l != "config"))
        .filter(|a| a.get_env().is_some_and(|e| e.to_string_lossy().starts_with(ENV_PREFIX)))
        .map(|a| (a.get_long().unwrap_or_default().to_string(), a.get_env().map(|e| e.to_string_lossy().into_owned())))
        .collect()
}

/// Checks `value` for the setting `key` (a flag without dashes) and sets it.
fn apply(c: &mut Config, key: &str, v: &str) -> Result<(), ConfigError> {
    let flag = format!("--{key}");
    let flag = flag.as_str();
    match key {
        "listen" => c.listen = resolve(flag, v, v)?,
        "shared-listen" => c.shared_listen = Some(resolve(flag, v, v)?),
        "upstream" => c.upstreams.push(parse_upstream(v)?),
        "routes" if v.is_empty() => return Err(bad(flag, v, "empty path")),
        "routes" => c.routes = Some(PathBuf::from(v)),
        "workers" => c.workers = number(flag, v, 1, 1024)? as usize,
        "queue" => c.queue = number(flag, v, 1, 1_000_000)? as usize,
        "header-timeout-ms" => c.header_timeout = millis(flag, v)?,
        "idle-timeout-ms" => c.idle_timeout = millis(flag, v)?,
        "upstream-timeout-ms" => c.upstream_timeout = millis(flag, v)?,
        "drain-timeout-ms" => c.drain_timeout = millis(flag, v)?,
        "connect-timeout-ms" => c.connect_timeout = millis(flag, v)?,
        "loops" => c.loops = number(flag, v, 1, 256)? as usize,
        "balance" => {
            c.balance = Balance::parse(v).ok_or_else(|| bad(flag, v, format!("expected {}", Balance::NAMES)))?
        }
        "admin" => c.admin = Some(resolve(flag, v, v)?),
        "max-connections" => c.max_connections = number(flag, v, 1, 1_000_000)? as usize,
        _ => unreachable!("every flag of Cli is applied here: {key}"),
    }
    Ok(())
}

/// One setting from the file: its key, its values as text, where it was.
struct FileSetting {
    key: String,
    values: Vec<String>,
    origin: String,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads the TOML file: top-level keys, each a string, an integer, or (for
/// `upstream`) an array of strings.
fn read_file(path: &Path, known: &[(String, Option<String>)]) -> Result<Vec<FileSetting>, LoadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: shown.clone(), source })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| LoadError::Syntax {
        path: shown.clone(),
        line: e.span().map_or(1, |s| line_of(&text, s.start)),
        message: e.message().to_string(),
    })?;
    let mut out = Vec::new();
    for (key, value) in table {
        // The key's line, for the message (keys are unique in a TOML table).
        let line = text
            .lines()
            .position(|l| l.trim_start().strip_prefix(key.as_str()).is_some_and(|r| r.trim_start().starts_with('=')))
            .map_or(0, |i| i + 1);
        let origin = format!("{shown}:{line}: {key}");
        if !known.iter().any(|(k, _)| *k == key) {
            return Err(LoadError::UnknownKey { origin });
        }
        let text_of = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(n) => Some(n.to_string()),
            _ => None,
        };
        let values = match (&value, key.as_str()) {
            (toml::Value::Array(list), "upstream") => list.iter().map(text_of).collect::<Option<Vec<_>>>(),
            _ => text_of(&value).map(|v| vec![v]),
        };
        let Some(values) = values else {
            let error = bad(&format!("--{key}"), &value.to_string(), "expected a string or a whole number");
            return Err(LoadError::Value { origin, error });
        };
        out.push(FileSetting { key, values, origin });
    }
    Ok(out)
}

/// The configuration from `args` (without the program name), the process
/// environment and the file they name.
pub fn load(args: impl IntoIterator<Item = OsString>) -> Result<Config, LoadError> {
    let m = Cli::command().try_get_matches_from(std::iter::once(OsString::from("balancer")).chain(args))?;
    let known = settings();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with(ENV_PREFIX)
            && name != "STACKWIRE_BALANCER_CONFIG"
            && !known.iter().any(|(_, env)| env.as_deref() == Some(&*name))
        {
            return Err(LoadError::UnknownKey { origin: name.into_owned() });
        }
    }
    let mut c = Config { registry: RegistryArgs::from_arg_matches(&m)?, ..Config::default() };
    if let Some(path) = m.get_one::<PathBuf>("config") {
        for s in read_file(path, &known)? {
            if given(&m, &s.key).is_some() {
                continue;
            }
            for v in &s.values {
                apply(&mut c, &s.key, v).map_err(|error| LoadError::Value { origin: s.origin.clone(), error })?;
            }
        }
    }
    for (key, env) in &known {
        let Some(source) = given(&m, key) else { continue };
        let values = m.get_many::<String>(&key.replace('-', "_")).into_iter().flatten();
        if key == "upstream" {
            c.upstreams.clear();
        }
        for v in values {
            match (source, env) {
                (ValueSource::EnvVariable, Some(env)) => {
                    let parts: Vec<&str> = if key == "upstream" {
                        v.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()).collect()
                    } else {
                        vec![v.as_str()]
                    };
                    for p in parts {
                        apply(&mut c, key, p).map_err(|error| LoadError::Value { origin: env.clone(), error })?;
                    }
                }
                _ => apply(&mut c, key, v).map_err(LoadError::Flag)?,
            }
        }
    }
    Ok(c)
}

/// Where the setting `key` came from, if a flag or a variable gave it.
fn given(m: &ArgMatches, key: &str) -> Option<ValueSource> {
    m.value_source(&key.replace('-', "_")).filter(|s| matches!(s, ValueSource::CommandLine | ValueSource::EnvVariable))
}

#[cfg(test)]
#[path = "../../tests/unit/ops/config.rs"]
mod tests;
