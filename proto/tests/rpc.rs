//! The RPC server and client over real sockets, on the native frames (pinned,
//! whatever STACKWIRE_RPC_TRANSPORT says; h2c has tests/h2c.rs): calls multiplex on one
//! connection and complete out of order; a peer sending garbage, an oversized
//! length prefix or a truncated frame is answered with an error and cut off,
//! while every other connection keeps being served.

use prost::Message;
use proto::frame;
use proto::pb::{health_check_response::ServingStatus, HealthCheckRequest, HealthCheckResponse, Request, Response};
use proto::rpc_server::Later;
use proto::{CallContext, Code, Connection, Handler, ServerConfig, Status};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `/test/Echo` returns the payload; `/test/Sleep` sleeps payload[0]*10 ms first.
struct Echo;

impl Handler for Echo {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        match ctx.method {
            "/test/Echo" => Ok(payload.to_vec()),
            "/test/LaterToPool" | "/test/LaterDropped" => {
                Ok(std::thread::current().name().unwrap_or("").as_bytes().to_vec())
            }
            "/test/Sleep" => {
                std::thread::sleep(Duration::from_millis(payload.first().copied().unwrap_or(0) as u64 * 10));
                Ok(payload.to_vec())
            }
            "/test/RequestId" => Ok(ctx.request_id.as_bytes().to_vec()),
            "/test/Thread" => Ok(std::thread::current().name().unwrap_or("").as_bytes().to_vec()),
            other => Err(Status::new(Code::Unimplemented, format!("no method {other}"))),
        }
    }

    /// `/test/Inline` answers on the event loop itself.
    fn handle_inline(&self, ctx: &CallContext<'_>, _payload: &[u8]) -> Option<Result<Vec<u8>, Status>> {
        (ctx.method == "/test/Inline").then(|| Ok(std::thread::current().name().unwrap_or("").as_bytes().to_vec()))
    }

    /// Taken over on the loop and finished on a thread of the test's own
    /// (`later-N`, as the page cache's reader thread does): `/test/Later`
    /// answers with that thread's name, `/test/LaterToPool` hands the call
    /// to the pool and `/test/LaterDropped` loses it (both then run
    /// `handle`, as `/test/Thread`).
    fn take_over(&self, later: Later) -> Result<(), Later> {
        let method = later.method().to_string();
        if !method.starts_with("/test/Later") {
            return Err(later);
        }
        let n = LATER_THREADS.fetch_add(1, Ordering::Relaxed);
        std::thread::Builder::new()
            .name(format!("later-{n}"))
            .spawn(move || match method.as_str() {
                "/test/Later" => later.answer(|ctx| {
                    assert_eq!(ctx.method, "/test/Later");
                    Ok(std::thread::current().name().unwrap_or("").as_bytes().to_vec())
                }),
                "/test/LaterToPool" => later.to_pool(),
                _ => drop(later),
            })
            .map(|_| ())
            .map_err(|e| panic!("cannot start a thread: {e}"))
    }
}

static LATER_THREADS: AtomicUsize = AtomicUsize::new(0);

fn config() -> ServerConfig {
    let mut cfg = ServerConfig::new("Test::Worker");
    cfg.max_message = 256 * 1024;
    cfg.frame_timeout = Duration::from_millis(500);
    cfg
}

fn start() -> proto::ServerHandle {
    start_with(config())
}

fn start_with(cfg: ServerConfig) -> proto::ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    proto::rpc_server::serve(listener, Arc::new(Echo), cfg).unwrap()
}

fn connect(h: &proto::ServerHandle) -> Connection {
    Connection::connect_with(proto::Wire::Native, h.local_addr(), Duration::from_secs(1), 1 << 20).unwrap()
}

const T: Duration = Duration::from_secs(5);

#[test]
fn echo_status_and_request_id_travel() {
    let h = start();
    let c = connect(&h);
    let r = c.call("/test/Echo", "rid", T, b"hello".to_vec()).unwrap();
    assert_eq!(r.status, 0);
    assert_eq!(r.payload.as_ref(), &b"hello"[..]);
    let r = c.call("/test/RequestId", "JID-abc", T, Vec::new()).unwrap();
    assert_eq!(r.payload.as_ref(), &b"JID-abc"[..]);
    let r = c.call("/test/Nope", "rid", T, Vec::new()).unwrap();
    assert_eq!(Code::from_u32(r.status), Code::Unimplemented);
    assert!(r.message.contains("/test/Nope"));
}

#[test]
fn calls_multiplex_and_complete_out_of_order() {
    let h = start();
    let c = connect(&h);
    let (tx, rx) = crossbeam_channel::unbounded();
    // A slow call first, then a fast one on the same connection.
    for (tag, delay) in [("slow", 30u8), ("fast", 0u8)] {
        let tx = tx.clone();
        c.start("/test/Sleep", "rid", T, vec![delay], Box::new(move |r| tx.send((tag, r)).unwrap()));
    }
    let first = rx.recv_timeout(T).unwrap();
    let second = rx.recv_timeout(T).unwrap();
    assert_eq!(first.0, "fast", "the fast call must not wait behind the slow one");
    assert_eq!(second.0, "slow");
    assert_eq!(first.1.unwrap().payload, vec![0]);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn health_check_reports_serving_then_not_serving() {
    let h = start();
    let c = connect(&h);
    let check = |c: &Connection| {
        let r: HealthCheckResponse =
            c.unary(proto::methods::HEALTH_CHECK, "", T, &HealthCheckRequest { service: String::new() }).unwrap();
        r.status
    };
    assert_eq!(check(&c), ServingStatus::Serving as i32);
    h.drain();
    assert_eq!(check(&c), ServingStatus::NotServing as i32);
}

/// Reads the single rejection a server sends before it closes.
fn read_rejection(s: &mut TcpStream) -> Option<Response> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let (range, _) = frame::decode(&all, 1 << 20).ok()??;
    Response::decode(&all[range]).ok()
}

fn healthy_after(h: &proto::ServerHandle, c: &Connection) {
    let r = c.call("/test/Echo", "rid", T, b"still here".to_vec()).unwrap();
    assert_eq!(r.payload.as_ref(), &b"still here"[..]);
    // And a brand-new connection is accepted too.
    let fresh = connect(h);
    assert_eq!(fresh.call("/test/Echo", "rid", T, b"x".to_vec()).unwrap().payload.as_ref(), &b"x"[..]);
}

#[test]
fn garbage_is_rejected_and_others_keep_working() {
    let h = start();
    let good = connect(&h);
    let mut bad = TcpStream::connect(h.local_addr()).unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // 'G' = 0x47 is not a valid compressed flag.
    let r = read_rejection(&mut bad).expect("an error reply before the close");
    assert_eq!(Code::from_u32(r.status), Code::InvalidArgument);
    assert_eq!(r.call_id, 0);
    healthy_after(&h, &good);
}

#[test]
fn undecodable_envelope_is_rejected() {
    let h = start();
    let good = connect(&h);
    let mut bad = TcpStream::connect(h.local_addr()).unwrap();
    let mut out = Vec::new();
    frame::encode_into(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &mut out);
    bad.write_all(&out).unwrap();
    let r = read_rejection(&mut bad).expect("an error reply before the close");
    assert_eq!(Code::from_u32(r.status), Code::InvalidArgument);
    healthy_after(&h, &good);
}

#[test]
fn oversized_prefix_is_refused_without_allocating() {
    let h = start();
    let good = connect(&h);
    let mut bad = TcpStream::connect(h.local_addr()).unwrap();
    // Claims 4 GiB - 1; the server's maximum is 64 KiB.
    bad.write_all(&[0, 0xff, 0xff, 0xff, 0xff]).unwrap();
    let r = read_rejection(&mut bad).expect("an error reply before the close");
    assert_eq!(Code::from_u32(r.status), Code::ResourceExhausted);
    assert!(r.message.contains("exceeds"), "{}", r.message);
    healthy_after(&h, &good);
}

#[test]
fn truncated_frame_is_cut_off_after_the_frame_timeout() {
    let h = start();
    let good = connect(&h);
    let mut bad = TcpStream::connect(h.local_addr()).unwrap();
    let req = Request { call_id: 7, method: "/test/Echo".into(), payload: vec![1; 100], ..Default::default() };
    let framed = frame::encode_message(&req);
    bad.write_all(&framed[..framed.len() / 2]).unwrap();
    let began = Instant::now();
    let r = read_rejection(&mut bad).expect("an error reply before the close");
    assert_eq!(Code::from_u32(r.status), Code::InvalidArgument);
    assert!(began.elapsed() < Duration::from_secs(4), "cut off near the 500 ms frame timeout");
    healthy_after(&h, &good);
}

#[test]
fn server_going_away_fails_waiting_calls_instead_of_hanging() {
    // A server that accepts, reads the request, and closes without answering.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
    });
    let c = Connection::connect_with(proto::Wire::Native, addr, Duration::from_secs(1), 1 << 20).unwrap();
    let began = Instant::now();
    let err = c.call("/test/Echo", "rid", Duration::from_secs(10), b"x".to_vec()).unwrap_err();
    assert!(matches!(err, proto::RpcError::ConnectionLost), "{err:?}");
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(c.is_dead());
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn blocking_calls_run_on_workers_and_inline_ones_on_the_loop() {
    let h = start();
    let c = connect(&h);
    let worker = c.call("/test/Thread", "rid", T, Vec::new()).unwrap().payload;
    assert!(worker.starts_with(b"rpc-worker-"), "{}", String::from_utf8_lossy(&worker));
    let inline = c.call("/test/Inline", "rid", T, Vec::new()).unwrap().payload;
    assert_eq!(inline.as_ref(), &b"rpc-loop"[..]);
}

#[test]
fn a_call_taken_over_on_the_loop_is_answered_from_the_thread_that_has_it() {
    let h = start();
    let c = connect(&h);
    let thread = |method: &str| String::from_utf8(c.call(method, "", T, Vec::new()).unwrap().payload.to_vec()).unwrap();
    assert!(thread("/test/Later").starts_with("later-"), "answered by the handler's own thread");
    // Handed back, or lost by the handler: a worker answers it all the same.
    assert!(thread("/test/LaterToPool").starts_with("rpc-worker-"));
    assert!(thread("/test/LaterDropped").starts_with("rpc-worker-"));
    // Every call closed its books: nothing counts as in flight.
    let idle = Instant::now() + T;
    while h.in_flight() > 0 && Instant::now() < idle {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(h.in_flight(), 0);
}

#[test]
fn replies_are_byte_for_byte_what_prost_encodes() {
    let h = start();
    let mut s = TcpStream::connect(h.local_addr()).unwrap();
    // Small replies are copied behind the envelope head, large ones written
    // from the handler's own buffer: both must be one well-formed frame.
    for (id, payload) in [(1u64, b"tiny".to_vec()), (2, vec![7u8; 200_000]), (3, Vec::new())] {
        let req = Request { call_id: id, method: "/test/Echo".into(), payload: payload.clone(), ..Default::default() };
        s.write_all(&frame::encode_message(&req)).unwrap();
        let expect = frame::encode_message(&Response {
            call_id: id,
            status: 0,
            message: String::new(),
            payload: payload.into(),
        });
        let mut got = vec![0u8; expect.len()];
        s.set_read_timeout(Some(T)).unwrap();
        s.read_exact(&mut got).unwrap();
        assert!(got == expect, "reply {id} differs from prost's encoding");
    }
}

#[test]
fn a_connection_over_its_call_cap_is_not_read_until_it_catches_up() {
    let mut cfg = config();
    cfg.max_calls_per_connection = 2;
    let h = start_with(cfg);
    let c = connect(&h);
    let (tx, rx) = crossbeam_channel::unbounded();
    for _ in 0..8 {
        let tx = tx.clone();
        c.start("/test/Sleep", "rid", T, vec![5], Box::new(move |r| tx.send(r).unwrap()));
    }
    let mut most = 0;
    let mut done = 0;
    let end = Instant::now() + T;
    while done < 8 {
        assert!(Instant::now() < end, "calls never finished");
        most = most.max(h.in_flight());
        if let Ok(r) = rx.recv_timeout(Duration::from_millis(1)) {
            assert_eq!(r.unwrap().status, 0);
            done += 1;
        }
    }
    assert!(most <= 2, "{most} calls of one connection were taken at once; the cap is 2");
    assert!(most >= 1);
}

#[test]
fn a_full_worker_queue_sheds_calls_with_unavailable_and_health_still_answers() {
    let mut cfg = config();
    cfg.workers = 1;
    cfg.queue = 1;
    let h = start_with(cfg);
    let c = connect(&h);
    let (tx, rx) = crossbeam_channel::unbounded();
    for _ in 0..6 {
        let tx = tx.clone();
        c.start("/test/Sleep", "rid", T, vec![20], Box::new(move |r| tx.send(r).unwrap()));
    }
    // The built-in health check never waits behind the pool.
    let began = Instant::now();
    let r: HealthCheckResponse =
        c.unary(proto::methods::HEALTH_CHECK, "", T, &HealthCheckRequest { service: String::new() }).unwrap();
    assert_eq!(r.status, ServingStatus::Serving as i32);
    assert!(began.elapsed() < Duration::from_millis(150), "health waited {:?}", began.elapsed());
    let (mut ok, mut shed) = (0, 0);
    for _ in 0..6 {
        let r = rx.recv_timeout(T).unwrap().unwrap();
        match Code::from_u32(r.status) {
            Code::Ok => ok += 1,
            Code::Unavailable => {
                assert!(r.message.contains("overloaded"), "{}", r.message);
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok >= 1 && shed >= 1, "ok {ok}, shed {shed}");
    // A worker counts its call finished just after writing the reply, so the
    // client can see the last reply a moment before the count drops: poll.
    let end = Instant::now() + T;
    while h.in_flight() != 0 {
        assert!(Instant::now() < end, "{} calls still counted in flight", h.in_flight());
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn connections_past_the_maximum_are_refused_with_resource_exhausted() {
    let mut cfg = config();
    cfg.max_connections = 1;
    let h = start_with(cfg);
    let first = connect(&h);
    assert_eq!(first.call("/test/Echo", "rid", T, b"x".to_vec()).unwrap().payload.as_ref(), &b"x"[..]);
    let mut second = TcpStream::connect(h.local_addr()).unwrap();
    let r = read_rejection(&mut second).expect("an error reply before the close");
    assert_eq!(Code::from_u32(r.status), Code::ResourceExhausted);
    assert_eq!(first.call("/test/Echo", "rid", T, b"y".to_vec()).unwrap().payload.as_ref(), &b"y"[..]);
}

#[test]
fn stop_accepting_refuses_new_connections_and_finishes_running_calls() {
    let h = start();
    let c = connect(&h);
    let (tx, rx) = crossbeam_channel::bounded(1);
    c.start("/test/Sleep", "rid", T, vec![30], Box::new(move |r| tx.send(r).unwrap()));
    let end = Instant::now() + T;
    while h.in_flight() == 0 {
        assert!(Instant::now() < end, "the call never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    h.stop_accepting();
    let end = Instant::now() + T;
    while TcpStream::connect(h.local_addr()).is_ok() {
        assert!(Instant::now() < end, "still accepting");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(rx.recv_timeout(T).unwrap().unwrap().payload, vec![30], "the running call finished and replied");
    assert!(h.wait_idle(T));
    // The open connection is still served.
    assert_eq!(c.call("/test/Echo", "rid", T, b"z".to_vec()).unwrap().payload.as_ref(), &b"z"[..]);
}
