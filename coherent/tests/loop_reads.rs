//! Version reads made on an RPC server's event loop (`loop_reads`), against
//! a real Redis (STACKWIRE_TEST_REDIS_URL, started by scripts/test.sh) and a
//! real RPC server over a real socket.
//!
//! The server's handler takes every call over and answers it with the stamp
//! of the topics it names, read with `read_later` (so on the loop once the
//! loop has its connection); a call whose read got no stamp goes to a worker,
//! which answers "pool".
//!
//! - Read-your-writes: a bump acknowledged before a call is in the stamp the
//!   call answers with, 60 times in a row, and those reads were made on the
//!   loop (`stackwire_cache_version_reads_on_loop_total`).
//! - The loop's connection killed by Redis (`CLIENT KILL`): no call hangs,
//!   the loop connects again, and its reads are right again.

mod common;

use coherent::{loop_client_name, Topic, Versions};
use common::{metric, versions};
use proto::rpc_server::{Later, LoopWork};
use proto::{CallContext, Connection, Handler, ServerConfig, Status};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn on_loop(v: &Versions) -> u64 {
    metric(v, "stackwire_cache_version_reads_on_loop_total")
}

/// Answers a call whose payload is a thread id with that thread's stamp.
struct Stamps(Arc<Versions>);

impl Handler for Stamps {
    fn handle(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Result<Vec<u8>, Status> {
        Ok(b"pool".to_vec())
    }

    fn take_over(&self, later: Later) -> Result<(), Later> {
        let id: i64 = std::str::from_utf8(later.payload()).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        self.0.read_later(
            vec![Topic::Thread(id)],
            Box::new(move |stamp| match stamp {
                Some(s) => later.answer(|_| Ok(format!("{s:?}").into_bytes())),
                None => later.to_pool(),
            }),
        );
        Ok(())
    }

    fn loop_work(&self) -> Option<Box<dyn LoopWork>> {
        Some(self.0.loop_work())
    }
}

fn serve(v: &Arc<Versions>) -> Connection {
    let server = proto::rpc_server::serve(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Arc::new(Stamps(v.clone())),
        ServerConfig::new("T"),
    )
    .unwrap();
    let addr = server.local_addr();
    std::mem::forget(server); // serves until the test process ends
    Connection::connect(addr, Duration::from_secs(2), proto::frame::DEFAULT_MAX_MESSAGE).unwrap()
}

/// The answer to a call for thread `id` (its stamp, or "pool").
fn ask(c: &Connection, id: i64) -> String {
    let r = c.call("/t/Stamp", "", Duration::from_secs(5), id.to_string().into_bytes()).expect("an answer");
    assert_eq!(r.status, 0, "{}", r.message);
    String::from_utf8(r.payload.to_vec()).unwrap()
}

/// What a blocking read of thread `id` says now.
fn now(v: &Versions, id: i64) -> String {
    format!("{:?}", v.read(&[Topic::Thread(id)]).expect("a read"))
}

/// Asks until a read is made on the loop (the loop's connection is made a
/// moment after its first turn).
fn until_on_loop(v: &Versions, c: &Connection) {
    let limit = Instant::now() + Duration::from_secs(10);
    let before = on_loop(v);
    while on_loop(v) == before {
        assert!(Instant::now() < limit, "no read was made on the loop in 10 s");
        ask(c, 1);
    }
}

#[test]
fn reads_on_the_loop_see_every_bump_acknowledged_before_them() {
    let v = versions("ryw");
    let c = serve(&v);
    until_on_loop(&v, &c);
    let before = on_loop(&v);
    for i in 0..60 {
        let id = 1 + i % 3;
        v.bump(&[Topic::Thread(id)]).unwrap();
        assert_eq!(ask(&c, id), now(&v, id), "call {i}: the stamp of thread {id} after its bump");
    }
    assert!(on_loop(&v) - before >= 60, "the 60 reads were made on the loop: {}", on_loop(&v) - before);
}

#[test]
fn a_killed_connection_is_made_again_and_no_call_hangs() {
    let v = versions("killed");
    let c = serve(&v);
    until_on_loop(&v, &c);
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL").unwrap();
    let mut admin = redis::Client::open(url).unwrap().get_connection().unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    // This test's loop only: the other test's runs beside it.
    let name = loop_client_name(&v.config().prefix);
    let ids: Vec<String> = list
        .lines()
        .filter(|l| l.contains(&format!(" name={name} ")))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(String::from))
        .collect();
    assert_eq!(ids.len(), 1, "one connection named {name} in CLIENT LIST:\n{list}");
    for id in &ids {
        let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query(&mut admin).unwrap();
    }
    // Every call is answered, quickly: with its stamp, or by the pool.
    for _ in 0..20 {
        let t = Instant::now();
        let got = ask(&c, 2);
        assert!(got == "pool" || got == now(&v, 2), "{got}");
        assert!(t.elapsed() < Duration::from_secs(2), "a call took {:?}", t.elapsed());
    }
    // The loop connects again (a second later at most) and reads right.
    until_on_loop(&v, &c);
    v.bump(&[Topic::Thread(2)]).unwrap();
    let (want, limit) = (now(&v, 2), Instant::now() + Duration::from_secs(5));
    loop {
        let got = ask(&c, 2);
        if got == want {
            break;
        }
        assert_eq!(got, "pool", "a stamp other than the one after the bump");
        assert!(Instant::now() < limit, "the loop's reads did not come back in 5 s");
    }
}
