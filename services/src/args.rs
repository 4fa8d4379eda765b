//! The command line: `service --service question|answer|comment|user|vote [--listen ADDR] [--admin ADDR]`,
//! with `--help` and `--version`, declared with `clap` (derive) as Rust
//! servers do.
//!
//! Parsing is a pure function over the argument list ([`parse`]) so that every
//! mistake an operator can make has a test, and clap's message names the flag
//! and says what it wants. Both `--flag value` and `--flag=value` are
//! accepted; a flag given twice is an error rather than a silent "last one
//! wins" (clap's `ArgumentConflict`), because with scripts passing flags
//! through several layers a duplicate is nearly always a mistake. Where the
//! registry is comes from registry_agent's flag group ([`RegistryArgs`]:
//! `--redis-url` or `STACKWIRE_REDIS_URL`, …; a flag wins). The settings
//! that are not flags come from the environment, read where they are used
//! (`DbConfig::from_env`, …); `--help` lists them.

use registry_agent::RegistryArgs;
use std::net::SocketAddr;

/// Which of the services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceKind {
    Question,
    Answer,
    Comment,
    User,
    Vote,
}

impl ServiceKind {
    /// The name other processes look us up by in the registry.
    pub fn registry_name(self) -> &'static str {
        match self {
            ServiceKind::Question => "question",
            ServiceKind::Answer => "answer",
            ServiceKind::Comment => "comment",
            ServiceKind::User => "user",
            ServiceKind::Vote => "vote",
        }
    }

    /// Log target of the RPC worker lines, e.g. `Question::Worker`.
    pub fn worker_class(self) -> &'static str {
        match self {
            ServiceKind::Question => "Question::Worker",
            ServiceKind::Answer => "Answer::Worker",
            ServiceKind::Comment => "Comment::Worker",
            ServiceKind::User => "User::Worker",
            ServiceKind::Vote => "Vote::Worker",
        }
    }

    /// Log target of lifecycle lines (start, shutdown), e.g. `Question::Main`.
    pub fn main_class(self) -> &'static str {
        match self {
            ServiceKind::Question => "Question::Main",
            ServiceKind::Answer => "Answer::Main",
            ServiceKind::Comment => "Comment::Main",
            ServiceKind::User => "User::Main",
            ServiceKind::Vote => "Vote::Main",
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(name = "service", version, about = "Runs one stackwire service.", after_help = ENVIRONMENT)]
pub struct Args {
    /// Which service to run.
    #[arg(long, value_enum, value_name = "NAME")]
    pub service: ServiceKind,
    /// RPC address to bind (the default is an OS-chosen port).
    #[arg(long, value_name = "IP:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Serve `GET /metrics` (caches, version counters) on this address; none when not given.
    #[arg(long, value_name = "IP:PORT")]
    pub admin: Option<SocketAddr>,
    /// Where the registry is (flags or their `STACKWIRE_REDIS_*` /
    /// `STACKWIRE_REGISTRY_*` variables; a flag wins).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The settings read from the environment, shown under `--help`.
pub const ENVIRONMENT: &str = "\
Environment:
  STACKWIRE_DATABASE_URL   PostgreSQL, e.g. postgresql://stackwire:pw@127.0.0.1:15432/stackwire (required)
  STACKWIRE_DB_POOL_SIZE (default 8), STACKWIRE_LOG (default info)
  STACKWIRE_CACHE_KB       byte budget of the question service's reply cache (default 32768; 0: off)";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// Parses the arguments after the program name. `--help` and `--version`
/// come back as errors of kind `DisplayHelp` / `DisplayVersion`, whose
/// `exit()` prints them and exits 0, as a mistake's prints it and exits 2.
pub fn parse<I, S>(args: I) -> Result<Args, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    <Args as clap::Parser>::try_parse_from(
        std::iter::once(std::ffi::OsString::from("service")).chain(args.into_iter().map(Into::into)),
    )
}

#[cfg(test)]
#[path = "../tests/unit/args.rs"]
mod tests;
