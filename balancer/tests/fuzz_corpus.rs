//! Replays the saved fuzz corpus (`fuzz/corpus/<target>/*`) through the same
//! functions the cargo-fuzz targets run, on stable Rust, so that every input
//! that once found a path through the parsers keeps passing their checks.
//! A missing or empty corpus fails the test: it is part of the repository.
//! (The RPC frame decoder's corpus is proto's: proto/tests/fuzz_corpus.rs.)

mod fuzzing;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} holds only {} inputs", dir.display(), files.len());
    files
}

/// Runs `f` on every input, naming the one that fails.
fn replay(target: &str, f: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        if std::panic::catch_unwind(|| f(&bytes)).is_err() {
            panic!("corpus input {} fails (reproduce: cargo fuzz run {target} {0})", path.display());
        }
    }
}

#[test]
fn http1_request_stream_corpus() {
    replay("http1_request_stream", |d| {
        fuzzing::http1_request_stream(d);
        fuzzing::chunked_body(d);
    });
}

#[test]
fn sample_inputs_pass_the_checks() {
    fuzzing::http1_request_stream(
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    );
    fuzzing::http1_request_stream(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n");
    fuzzing::chunked_body(b"1\r\na\r\n0\r\n\r\n");
}
