//! Where the configuration comes from: a file, the environment, the flags.
//!
//! Every setting is a flag (`config.rs` checks values and documents them in
//! `USAGE`), and the two other sources are spelled in terms of the flags so
//! that nothing has to be declared twice:
//!
//! - `--config FILE` (or `STACKWIRE_BALANCER_CONFIG`): `key = value` lines,
//!   `#` comments, the key being the flag without its dashes
//!   (`idle-timeout-ms = 5000`); a repeatable flag is repeated.
//! - `STACKWIRE_BALANCER_<FLAG>`, the flag upper-cased with `_` for `-`
//!   (`STACKWIRE_BALANCER_IDLE_TIMEOUT_MS=5000`); a list of upstreams is
//!   separated by commas or spaces.
//!
//! Flags win over the environment, which wins over the file, setting by
//! setting; for a repeatable flag the strongest source that mentions it
//! supplies the whole list. The result is one argument list for
//! `config::parse`, so the rules for values are the same everywhere. Each
//! value from the file or the environment is checked on its own first, so a
//! bad one is reported with where it came from (`balancer.conf:3`,
//! `STACKWIRE_BALANCER_WORKERS`), and so is a key or variable that names no
//! setting: a misspelt setting must not be silently ignored.

use crate::ops::config::{self, ConfigError, USAGE};
use std::path::Path;

const ENV_PREFIX: &str = "STACKWIRE_BALANCER_";
const ENV_CONFIG: &str = "STACKWIRE_BALANCER_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: expected `key = value`, got {text:?}")]
    Syntax { path: String, line: usize, text: String },
    #[error("{origin}: no such setting (see --help)")]
    UnknownKey { origin: String },
    #[error("{origin}: {error}")]
    Value { origin: String, error: ConfigError },
    #[error("--config needs a value")]
    MissingConfig,
}

/// Every flag `USAGE` documents, e.g. `--idle-timeout-ms`.
pub fn documented_flags() -> Vec<&'static str> {
    let mut flags: Vec<&str> = USAGE
        .lines()
        .filter_map(|l| l.strip_prefix("  --").map(|_| l.trim_start()))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|f| *f != "--help" && *f != "--config")
        .collect();
    flags.dedup();
    flags
}

/// `--idle-timeout-ms` → `STACKWIRE_BALANCER_IDLE_TIMEOUT_MS`.
pub fn env_name(flag: &str) -> String {
    format!("{ENV_PREFIX}{}", flag.trim_start_matches('-').replace('-', "_").to_ascii_uppercase())
}

/// One setting from the file or the environment.
struct Setting {
    flag: String,
    value: String,
}

/// Checks one value on its own, naming where it came from.
fn check(flag: &str, value: &str, origin: &str) -> Result<(), SourceError> {
    match config::parse([flag.to_string(), value.to_string()]) {
        Ok(_) => Ok(()),
        Err(ConfigError::Unknown(_)) => Err(SourceError::UnknownKey { origin: origin.to_string() }),
        Err(error) => Err(SourceError::Value { origin: origin.to_string(), error }),
    }
}

/// Reads `key = value` lines.
fn read_file(path: &Path) -> Result<Vec<Setting>, SourceError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read { path: shown.clone(), source })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(SourceError::Syntax { path: shown, line: i + 1, text: raw.to_string() });
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || key.starts_with('-') || key.contains(char::is_whitespace) {
            return Err(SourceError::Syntax { path: shown, line: i + 1, text: raw.to_string() });
        }
        let flag = format!("--{key}");
        check(&flag, value, &format!("{shown}:{}: {key}", i + 1))?;
        out.push(Setting { flag, value: value.to_string() });
    }
    Ok(out)
}

/// The settings named by `STACKWIRE_BALANCER_*` variables.
fn read_env(vars: &[(String, String)]) -> Result<Vec<Setting>, SourceError> {
    let flags = documented_flags();
    let mut out = Vec::new();
    for (name, value) in vars {
        if !name.starts_with(ENV_PREFIX) || name == ENV_CONFIG {
            continue;
        }
        let Some(flag) = flags.iter().find(|f| env_name(f) == *name) else {
            return Err(SourceError::UnknownKey { origin: name.clone() });
        };
        let values: Vec<&str> = if *flag == "--upstream" {
            value.split([',', ' ']).map(str::trim).filter(|v| !v.is_empty()).collect()
        } else {
            vec![value.as_str()]
        };
        for v in values {
            check(flag, v, name)?;
            out.push(Setting { flag: flag.to_string(), value: v.to_string() });
        }
    }
    Ok(out)
}

/// The flag an argument sets (`--a=b` and `--a b` alike).
fn flag_of(arg: &str) -> Option<&str> {
    arg.starts_with("--").then(|| arg.split_once('=').map_or(arg, |(f, _)| f))
}

/// Merges file, environment and `args` (the command line) into one argument
/// list for `config::parse`, strongest last.
pub fn gather(args: Vec<String>, vars: &[(String, String)]) -> Result<Vec<String>, SourceError> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(args);
    }
    let mut cli = Vec::with_capacity(args.len());
    let mut file = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            file = Some(it.next().ok_or(SourceError::MissingConfig)?);
        } else if let Some(path) = a.strip_prefix("--config=") {
            file = Some(path.to_string());
        } else {
            cli.push(a);
        }
    }
    let file = file.or_else(|| vars.iter().find(|(k, _)| k == ENV_CONFIG).map(|(_, v)| v.clone()));
    let from_file = match &file {
        Some(p) => read_file(Path::new(p))?,
        None => Vec::new(),
    };
    let from_env = read_env(vars)?;
    let in_cli: Vec<&str> = cli.iter().filter_map(|a| flag_of(a)).collect();
    let in_env: Vec<&str> = from_env.iter().map(|s| s.flag.as_str()).collect();
    let mut merged = Vec::new();
    for s in &from_file {
        if !in_cli.contains(&s.flag.as_str()) && !in_env.contains(&s.flag.as_str()) {
            merged.push(s.flag.clone());
            merged.push(s.value.clone());
        }
    }
    for s in &from_env {
        if !in_cli.contains(&s.flag.as_str()) {
            merged.push(s.flag.clone());
            merged.push(s.value.clone());
        }
    }
    merged.extend(cli);
    Ok(merged)
}

#[cfg(test)]
#[path = "../../tests/unit/ops/sources.rs"]
mod tests;
