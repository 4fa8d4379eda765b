//! What every test harness of the workspace shares, written once: the
//! crates' own tests (balancer, services, webui) and the black-box tests
//! under `tests/` all depend on this crate, as a dev-dependency only.
//!
//! - [`wait_for`], [`poll`] and [`wait_exit`]: readiness is always polled
//!   with a deadline (a log line, a listing, an exit), never slept for.
//! - [`http`]: the one HTTP/1.1 response parser ([`http::parse_head`], with a
//!   lenient whole-reply form for load clients and a strict streaming
//!   [`http::Reader`] for framing tests), a one-request-per-connection
//!   client, and URL-encoded forms.
//! - [`spawn_listening`]: one of our binaries started with its log in a
//!   file, waited for until it announces `listening on IP:PORT`;
//!   [`listening_addr`] / [`admin_addr`] read those announcements.
//! - [`free_ports`]: a run of free ports below the ephemeral range, for
//!   harnesses that must choose their own (Redis Sentinel, operator scripts).
//! - [`Cluster`]: the whole-stackwire launcher of the black-box tests (every
//!   service, webui and a balancer as real processes, on a private registry
//!   prefix and a private database).

mod cluster;
pub mod http;

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub use cluster::{catalog_service, with_database, Cluster, Proc, Shape, TestEnv, CSRF_SECRET};
pub use http::{HttpClient, Reply};

/// How often a wait polls: often enough that a test does not idle, rarely
/// enough that polling an HTTP listing does not load the system under test.
const POLL: Duration = Duration::from_millis(20);

/// Polls `f` until it returns Some or `limit` passes: None then. For a
/// caller whose timeout is an answer, or whose panic wants what it saw.
pub fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `f` until it returns Some or `limit` passes; panics naming `what`.
#[track_caller]
pub fn wait_for<T>(what: &str, limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    match poll(limit, f) {
        Some(v) => v,
        None => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Waits (up to 10 s) until a statement of the database at `db_url` that
/// mentions `table` waits for a lock: a request the test holds up with a row
/// lock of its own has got as far as that row. Panics naming `what`.
#[track_caller]
pub fn wait_for_lock_wait(db_url: &str, table: &str, what: &str) {
    let mut watch = postgres::Client::connect(db_url, postgres::NoTls).expect("connect to the cluster database");
    let like = format!("%{table}%");
    wait_for(what, Duration::from_secs(10), || {
        let n: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1",
                &[&like],
            )
            .expect("pg_stat_activity")
            .get(0);
        (n > 0).then_some(())
    });
}

/// Waits up to `limit` for `child` to exit: its exit code, or None when it
/// is still running or died by a signal.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    poll(limit, || child.try_wait().ok().flatten()).and_then(|st| st.code())
}

/// Starts `cmd` with its stderr written to `log` and waits up to `limit` for
/// its `listening on` line; panics with the log when it exits first.
pub fn spawn_listening(label: &str, mut cmd: Command, log: &Path, limit: Duration) -> (Child, SocketAddr) {
    cmd.stderr(File::create(log).unwrap_or_else(|e| panic!("log file {}: {e}", log.display())));
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {label}: {e} (built? run scripts/test.sh)"));
    let addr = wait_for(&format!("{label} to log `listening on`"), limit, || {
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "{label} exited with {st} before listening; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        listening_addr(&std::fs::read_to_string(log).unwrap_or_default())
    });
    (child, addr)
}

/// The address from the first `listening on IP:PORT` line of a log.
pub fn listening_addr(log: &str) -> Option<SocketAddr> {
    log.lines().find_map(|l| {
        let rest = &l[l.find("listening on ")? + "listening on ".len()..];
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The address from the first `admin on IP:PORT` line of a log.
pub fn admin_addr(log: &str) -> Option<SocketAddr> {
    log.lines().find_map(|l| {
        let rest = &l[l.find("admin on ")? + "admin on ".len()..];
        rest.split_whitespace().next()?.trim_end_matches(':').parse().ok()
    })
}

/// The first of `n` consecutive free ports at or after a starting point
/// derived from our pid, below the kernel's ephemeral range (32768–60999
/// here, where a busy machine's outgoing connections could hold them), so
/// two test runs on one machine (two sessions, say) do not collide.
pub fn free_ports(n: u16) -> u16 {
    let mut base = 20_000 + (std::process::id() % 1000) as u16 * 10;
    loop {
        if (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
        base = if base + n + 10 > 32_000 { 20_000 } else { base + n + 10 };
    }
}

/// An address nothing listens on, so a connect to it is refused at once.
/// It is taken on 127.0.0.2, not 127.0.0.1: every test listener binds
/// 127.0.0.1:0, and a port freed here could otherwise be handed straight to
/// another test's (perhaps deliberately hanging) listener running in
/// parallel, turning "refused" into "connected, no answer".
pub fn refused_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2:0 (loopback /8)");
    l.local_addr().expect("local_addr of a bound listener")
}
