//! The line format, byte for byte, with and without a request id.

use super::*;

fn line(logger: &Logger, target: &str, level: log::Level, msg: &str) -> String {
    let mut out = Vec::new();
    logger.format(&mut out, &log::Record::builder().args(format_args!("{msg}")).target(target).level(level).build());
    String::from_utf8(out).unwrap()
}

#[test]
fn lines_keep_the_original_format() {
    let logger = Logger { level: log::LevelFilter::Info, pid: 4242 };
    let tid = thread_tag();
    let plain = line(&logger, "Question::Worker", log::Level::Info, "start");
    let (ts, rest) = plain.split_at(24);
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.', "{plain}");
    assert_eq!(rest, format!(" 4242 TID-{tid} Question::Worker INFO: start\n"));
    let _scope = JobScope::enter("7a0861450b9a887e7e6a0335");
    let tagged = line(&logger, "WebUI::Worker", log::Level::Warn, "done: 0.001 sec");
    assert_eq!(
        &tagged[24..],
        format!(" 4242 TID-{tid} WebUI::Worker JID-7a0861450b9a887e7e6a0335 WARN: done: 0.001 sec\n")
    );
    // Two lines in one millisecond share the formatted time; a later one has its own.
    let again = line(&logger, "x", log::Level::Info, "y");
    assert!(again.len() > 24 && again[..24] >= tagged[..24], "{again}");
}
