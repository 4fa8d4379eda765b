//! Clients nobody here wrote, over h2c: Python grpcio (Debian's
//! python3-grpcio, with messages compiled by protoc --python_out) drives
//! `grpc.testing.TestService` (tests/src/bin/grpc_test_server.rs) through
//! gRPC's interop cases, and stackwire's own services: typed calls (the
//! creates acting as a user through a session token in metadata), health
//! Check and Watch through a graceful stop, reflection, deadlines,
//! cancellation, 4 MiB messages and 200 concurrent calls on one channel.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use testkit::TestEnv;

/// Debian's interpreter: python3-grpcio is installed for it (scripts/test.sh).
const PYTHON: &str = "/usr/bin/python3";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compiles `files` (relative to `include`) into flat `_pb2` modules.
fn protoc(name: &str, include: &Path, files: &[&str]) -> PathBuf {
    let out = std::env::temp_dir().join(format!("sw-grpc-py-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("protoc")
        .arg(format!("--python_out={}", out.display()))
        .arg(format!("-I{}", include.display()))
        .args(files)
        .status()
        .expect("protoc (protobuf-compiler) is installed by scripts/test.sh");
    assert!(status.success(), "protoc failed");
    out
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_test_server() -> Server {
    let bin = TestEnv::get().bin_dir.join("grpc_test_server");
    let mut child = Command::new(&bin)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected {line:?}")).to_string();
    Server(child, addr)
}

/// Runs a Python client; panics with its output unless it exits 0.
fn python(script: &str, args: &[String]) -> String {
    let out = Command::new(PYTHON)
        .arg(repo().join("tests/grpc").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{text}");
    text
}

#[test]
fn grpcio_passes_the_interop_cases() {
    let py = protoc("interop", &repo().join("tests/proto/grpc/testing"), &["messages.proto", "empty.proto"]);
    let server = start_test_server();
    let cases = [
        "empty_unary",
        "large_unary",
        "client_streaming",
        "server_streaming",
        "ping_pong",
        "status_code_and_message",
        "custom_metadata",
        "timeout_on_sleeping_server",
        "cancel_after_begin",
        "four_mib_both_ways",
        "two_hundred_concurrent_calls",
    ];
    let mut args = vec![py.display().to_string(), server.1.clone()];
    args.extend(cases.iter().map(|c| c.to_string()));
    let out = python("interop_client.py", &args);
    for case in cases {
        assert!(out.contains(&format!("PASS {case}\n")), "{case} did not pass:\n{out}");
    }
}

#[test]
fn grpcio_calls_every_service_reflects_and_watches_health_through_a_graceful_stop() {
    let proto_dir = repo().join("proto/proto");
    let py = protoc("services", &proto_dir, &["stackwire.proto"]);
    let refl = protoc("reflection", &proto_dir.join("grpc/reflection/v1"), &["reflection.proto"]);
    for f in std::fs::read_dir(&refl).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, py.join(f.file_name().unwrap())).unwrap();
    }
    let c = testkit::Cluster::start(
        "grpcio",
        testkit::Shape { questions: 1, answers: 1, comments: 1, users: 1, votes: 1, ..Default::default() },
    );
    let addr = |name: &str| c.procs_named(name)[0].addr.to_string();
    let addrs = serde_json::json!({
        "question": addr("question"), "answer": addr("answer"), "comment": addr("comment"),
        "user": addr("user"), "vote": addr("vote"),
    });
    let out = python("services_client.py", &[py.display().to_string(), addrs.to_string()]);
    assert!(out.contains("200 concurrent calls on one channel: all answered"), "{out}");
    assert!(
        out.contains("credential: creates acted as the token's user; none, a stale one or another's refused"),
        "{out}"
    );

    // Health Watch sees NOT_SERVING once a graceful stop begins.
    let vote = c.procs_named("vote")[0];
    let mut watcher = Command::new(PYTHON)
        .arg(repo().join("tests/grpc/watch.py"))
        .arg(vote.addr.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watcher.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "SERVING");
    vote.signal(libc::SIGTERM);
    assert_eq!(lines.next().unwrap().unwrap(), "NOT_SERVING");
    assert!(watcher.wait().unwrap().success());
}

#[test]
fn h2load_drives_the_h2c_endpoint() {
    let server = start_test_server();
    // One empty gRPC message: the compressed flag and a zero length.
    let body = std::env::temp_dir().join(format!("sw-h2load-{}", std::process::id()));
    std::fs::write(&body, [0u8; 5]).unwrap();
    let out = Command::new("h2load")
        .args(["-n", "2000", "-c", "4", "-m", "20", "-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg("-d")
        .arg(&body)
        .arg(format!("http://{}/grpc.testing.TestService/EmptyCall", server.1))
        .output()
        .expect("h2load (nghttp2-client) is installed by scripts/test.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2000 succeeded, 0 failed, 0 errored"), "{text}");
    assert!(text.contains("status codes: 2000 2xx"), "{text}");
}
