//! Unit tests of `services::args`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

use clap::error::ErrorKind;

/// The parse with its registry settings left out: those come from the
/// environment the tests run in (`the_registry_flags_win_over_their_variables`
/// checks them).
fn run(args: &[&str]) -> Result<Args, ErrorKind> {
    parse(args.iter().copied()).map(|a| Args { registry: RegistryArgs::default(), ..a }).map_err(|e| e.kind())
}

/// The message clap prints for `args`.
fn message(args: &[&str]) -> String {
    parse(args.iter().copied()).unwrap_err().to_string()
}

#[test]
fn both_flag_spellings_work_and_listen_defaults() {
    assert_eq!(
        run(&["--service", "answer", "--listen", "127.0.0.1:9001"]),
        Ok(Args {
            service: ServiceKind::Answer,
            listen: "127.0.0.1:9001".parse().unwrap(),
            admin: None,
            registry: RegistryArgs::default()
        })
    );
    assert_eq!(
        run(&["--service=comment"]),
        Ok(Args {
            service: ServiceKind::Comment,
            listen: "127.0.0.1:0".parse().unwrap(),
            admin: None,
            registry: RegistryArgs::default()
        })
    );
    assert_eq!(run(&["--service", "question", "--help"]), Err(ErrorKind::DisplayHelp));
    assert_eq!(run(&["-h"]), Err(ErrorKind::DisplayHelp));
    assert_eq!(run(&["--version"]), Err(ErrorKind::DisplayVersion));
    assert_eq!(
        run(&["--service", "vote"]),
        Ok(Args {
            service: ServiceKind::Vote,
            listen: "127.0.0.1:0".parse().unwrap(),
            admin: None,
            registry: RegistryArgs::default()
        })
    );
    assert_eq!(
        run(&["--service", "user", "--admin=127.0.0.1:8101"]).map(|a| (a.service.registry_name(), a.admin)),
        Ok(("user", Some("127.0.0.1:8101".parse().unwrap())))
    );
}

#[test]
fn every_mistake_has_its_own_error() {
    assert_eq!(run(&[]), Err(ErrorKind::MissingRequiredArgument));
    assert_eq!(run(&["--service"]), Err(ErrorKind::InvalidValue));
    assert_eq!(run(&["--service="]), Err(ErrorKind::InvalidValue));
    assert_eq!(run(&["--service", "webui"]), Err(ErrorKind::InvalidValue));
    assert_eq!(run(&["--service", "question", "--listen", "localhost"]), Err(ErrorKind::ValueValidation));
    assert_eq!(run(&["--service", "question", "--admin", "8101"]), Err(ErrorKind::ValueValidation));
    assert_eq!(run(&["--service", "question", "--service", "answer"]), Err(ErrorKind::ArgumentConflict));
    assert_eq!(run(&["--service", "question", "--port", "1"]), Err(ErrorKind::UnknownArgument));
    assert_eq!(run(&["question"]), Err(ErrorKind::UnknownArgument));
}

#[test]
fn errors_tell_the_operator_what_to_type() {
    let bad = message(&["--service", "x"]);
    assert!(bad.contains("--service"), "{bad}");
    assert!(bad.contains("question, answer, comment, user, vote"), "{bad}");
    let listen = message(&["--service", "question", "--listen", "x"]);
    assert!(listen.contains("--listen") && listen.contains("IP:PORT"), "{listen}");
    assert!(message(&[]).contains("--service"));
    let help = message(&["--help"]);
    assert!(help.contains("STACKWIRE_DATABASE_URL") && help.contains("--admin"), "{help}");
}

#[test]
fn the_registry_flags_win_over_their_variables() {
    // Whatever STACKWIRE_REDIS_URL the tests run with, the flag is what counts.
    let a = parse(["--service", "question", "--redis-url", "redis://127.0.0.1:1/", "--heartbeat-ms=250"]).unwrap();
    assert_eq!(a.registry.redis_url.as_deref(), Some("redis://127.0.0.1:1/"));
    let c = a.registry.config().unwrap();
    assert_eq!((c.url.as_str(), c.heartbeat), ("redis://127.0.0.1:1/", std::time::Duration::from_millis(250)));
    assert_eq!(run(&["--service", "question", "--heartbeat-ms", "0"]), Err(ErrorKind::ValueValidation));
    let help = message(&["--help"]);
    assert!(help.contains("--redis-url") && help.contains("STACKWIRE_REDIS_URL"), "{help}");
}
