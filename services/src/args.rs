//! The command line: `service --service question|answer|comment|user|vote [--listen ADDR] [--admin ADDR]`.
//!
//! Parsing is a pure function over the argument list so that every mistake an
//! operator can make has a test and a message that says what to type instead.
//! Both `--flag value` and `--flag=value` are accepted; a flag given twice is
//! an error rather than a silent "last one wins", because with scripts passing
//! flags through several layers a duplicate is nearly always a mistake.

use std::net::SocketAddr;

/// Which of the services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Question,
    Answer,
    Comment,
    User,
    Vote,
}

impl ServiceKind {
    pub fn parse(s: &str) -> Option<ServiceKind> {
        match s {
            "question" => Some(ServiceKind::Question),
            "answer" => Some(ServiceKind::Answer),
            "comment" => Some(ServiceKind::Comment),
            "user" => Some(ServiceKind::User),
            "vote" => Some(ServiceKind::Vote),
            _ => None,
        }
    }

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub service: ServiceKind,
    pub listen: SocketAddr,
    /// Where to serve `GET /metrics` (none when not given).
    pub admin: Option<SocketAddr>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Args),
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{0} given more than once")]
    Repeated(&'static str),
    #[error("--service must be question, answer, comment, user or vote, not {0:?}")]
    BadService(String),
    #[error("--listen wants IP:PORT (e.g. 127.0.0.1:0), not {0:?}")]
    BadListen(String),
    #[error("--admin wants IP:PORT (e.g. 127.0.0.1:8101), not {0:?}")]
    BadAdmin(String),
    #[error("--service is required")]
    NoService,
}

pub const USAGE: &str = "\
usage: service --service question|answer|comment|user|vote [--listen IP:PORT] [--admin IP:PORT]

  --service NAME   which service to run: question, answer, comment, user or vote
  --listen ADDR    RPC address to bind (default 127.0.0.1:0, an OS-chosen port)
  --admin ADDR     serve GET /metrics (caches, version counters) on this address
  -h, --help       print this help

environment:
  STACKWIRE_DATABASE_URL   PostgreSQL, e.g. postgresql://stackwire:pw@127.0.0.1:15432/stackwire (required)
  STACKWIRE_REDIS_URL      the service registry, e.g. redis://127.0.0.1:16379/ (required)
  STACKWIRE_REGISTRY_PREFIX, STACKWIRE_DB_POOL_SIZE (default 8), STACKWIRE_LOG (default info)
  STACKWIRE_CACHE_KB       byte budget of the question service's reply cache (default 32768; 0: off)
";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:0";

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut service: Option<String> = None;
    let mut listen: Option<String> = None;
    let mut admin: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        let (name, slot) = match flag {
            "--service" => ("--service", &mut service),
            "--listen" => ("--listen", &mut listen),
            "--admin" => ("--admin", &mut admin),
            _ => return Err(ArgsError::Unknown(arg.to_string())),
        };
        let value = match inline {
            Some(v) => v,
            None => it.next().map(|v| v.as_ref().to_string()).ok_or(ArgsError::MissingValue(name))?,
        };
        if value.is_empty() {
            return Err(ArgsError::MissingValue(name));
        }
        if slot.replace(value).is_some() {
            return Err(ArgsError::Repeated(name));
        }
    }
    let service = service.ok_or(ArgsError::NoService)?;
    let service = ServiceKind::parse(&service).ok_or(ArgsError::BadService(service))?;
    let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen = listen.parse::<SocketAddr>().map_err(|_| ArgsError::BadListen(listen))?;
    let admin = admin.map(|a| a.parse::<SocketAddr>().map_err(|_| ArgsError::BadAdmin(a))).transpose()?;
    Ok(Command::Run(Args { service, listen, admin }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, ArgsError> {
        parse(args.iter().copied())
    }

    #[test]
    fn both_flag_spellings_work_and_listen_defaults() {
        assert_eq!(
            run(&["--service", "answer", "--listen", "127.0.0.1:9001"]),
            Ok(Command::Run(Args {
                service: ServiceKind::Answer,
                listen: "127.0.0.1:9001".parse().unwrap(),
                admin: None
            }))
        );
        assert_eq!(
            run(&["--service=comment"]),
            Ok(Command::Run(Args {
                service: ServiceKind::Comment,
                listen: "127.0.0.1:0".parse().unwrap(),
                admin: None
            }))
        );
        assert_eq!(run(&["--service", "question", "--help"]), Ok(Command::Help));
        assert_eq!(run(&["-h"]), Ok(Command::Help));
        assert_eq!(
            run(&["--service", "vote"]),
            Ok(Command::Run(Args { service: ServiceKind::Vote, listen: "127.0.0.1:0".parse().unwrap(), admin: None }))
        );
        assert_eq!(ServiceKind::parse("user").map(ServiceKind::registry_name), Some("user"));
    }

    #[test]
    fn every_mistake_has_its_own_error() {
        assert_eq!(run(&[]), Err(ArgsError::NoService));
        assert_eq!(run(&["--service"]), Err(ArgsError::MissingValue("--service")));
        assert_eq!(run(&["--service="]), Err(ArgsError::MissingValue("--service")));
        assert_eq!(run(&["--service", "webui"]), Err(ArgsError::BadService("webui".into())));
        assert_eq!(
            run(&["--service", "question", "--listen", "localhost"]),
            Err(ArgsError::BadListen("localhost".into()))
        );
        assert_eq!(run(&["--service", "question", "--service", "answer"]), Err(ArgsError::Repeated("--service")));
        assert_eq!(run(&["--service", "question", "--port", "1"]), Err(ArgsError::Unknown("--port".into())));
        assert_eq!(run(&["question"]), Err(ArgsError::Unknown("question".into())));
    }

    #[test]
    fn errors_tell_the_operator_what_to_type() {
        assert_eq!(
            ArgsError::BadService("x".into()).to_string(),
            "--service must be question, answer, comment, user or vote, not \"x\""
        );
        assert!(ArgsError::BadListen("x".into()).to_string().contains("IP:PORT"));
    }
}
