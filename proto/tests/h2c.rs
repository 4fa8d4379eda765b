//! gRPC over HTTP/2 (h2c with prior knowledge) on the RPC port, driven by a
//! raw-frame client written here from RFC 9113, so that every frame the
//! server sees is exactly the one the test means: calls and their trailers,
//! 415 for a non-gRPC request, deadlines and cancellation abandoning queued
//! work, health Watch, GOAWAY on a graceful stop, and abuse (a bad preface, a
//! frame over the maximum size, header and SETTINGS floods, a window
//! overflow, stream ids going backwards), each answered with the right
//! connection or stream error while every other connection is still served.
//! (grpcio, a client nobody here wrote, is driven by tests/tests/grpc_interop.rs.)

use prost::Message;
use proto::h2::frame::{self, Frame};
use proto::h2::hpack;
use proto::pb::{health_check_response::ServingStatus, HealthCheckResponse};
use proto::rpc_server::Later;
use proto::{CallContext, Code, Handler, ServerConfig, Status};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

/// `/test/Echo`; `/test/Sleep` sleeps payload[0]*10 ms; `/test/Count` counts
/// the times it ran; `/test/Meta` answers the value of metadata `x-echo-bin`.
struct Svc {
    ran: AtomicUsize,
}

impl Handler for Svc {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        match ctx.method {
            "/test/Echo" | "/test/LaterLost" => Ok(payload.to_vec()),
            "/test/Sleep" => {
                std::thread::sleep(Duration::from_millis(payload.first().copied().unwrap_or(0) as u64 * 10));
                Ok(payload.to_vec())
            }
            "/test/Count" => {
                self.ran.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            }
            "/test/Meta" => {
                Ok(ctx.metadata.iter().find(|(n, _)| n == "x-echo-bin").map(|(_, v)| v.clone()).unwrap_or_default())
            }
            other => Err(Status::new(Code::Unimplemented, format!("no méthode {other}"))),
        }
    }

    /// `/test/Later` is taken over on the loop and answered from a thread of
    /// its own with the payload reversed; `/test/LaterLost` is taken and
    /// dropped, so a worker answers it (as `/test/Echo`).
    fn take_over(&self, later: Later) -> Result<(), Later> {
        match later.method() {
            "/test/Later" => {
                std::thread::spawn(move || {
                    let mut out = later.payload().to_vec();
                    out.reverse();
                    later.answer(|_| Ok(out))
                });
                Ok(())
            }
            "/test/LaterLost" => {
                std::thread::spawn(move || drop(later));
                Ok(())
            }
            _ => Err(later),
        }
    }

    /// `/test/Flood` streams 1 MiB messages until nobody listens, counting them.
    fn is_streaming(&self, method: &str) -> bool {
        method == "/test/Flood"
    }

    fn handle_stream(
        &self,
        _ctx: &CallContext<'_>,
        _messages: &mut dyn Iterator<Item = Vec<u8>>,
        send: &mut dyn FnMut(Vec<u8>) -> bool,
    ) -> Result<(), Status> {
        while send(vec![0; 1 << 20]) {
            self.ran.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn start(workers: usize) -> (proto::ServerHandle, Arc<Svc>) {
    let svc = Arc::new(Svc { ran: AtomicUsize::new(0) });
    let mut cfg = ServerConfig::new("H2::Worker");
    cfg.workers = workers;
    cfg.frame_timeout = Duration::from_millis(500);
    let h = proto::rpc_server::serve(TcpListener::bind("127.0.0.1:0").unwrap(), svc.clone(), cfg).unwrap();
    (h, svc)
}

/// What the server sent on one stream.
#[derive(Debug, Default)]
struct Reply {
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    data: Vec<u8>,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
    reset: Option<u32>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .chain(&self.trailers)
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
    fn grpc_status(&self) -> Option<Code> {
        self.header("grpc-status").map(|s| Code::from_u32(s.parse().unwrap()))
    }
    fn message(&self) -> Vec<u8> {
        let (range, _) = proto::frame::decode(&self.data, usize::MAX).unwrap().expect("one whole message");
        self.data[range].to_vec()
    }
}

/// A raw HTTP/2 client connection.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
    dec: hpack::Decoder,
    next: u32,
    goaway: Option<(u32, u32)>,
    streams: std::collections::HashMap<u32, Reply>,
    done: Vec<u32>,
    block: Vec<u8>,
    block_end: bool,
}

impl Client {
    fn connect(h: &proto::ServerHandle) -> Client {
        let mut s = TcpStream::connect(h.local_addr()).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut out = frame::PREFACE.to_vec();
        // A window big enough that the server never waits for us.
        frame::settings(&mut out, &[(frame::SETTINGS_INITIAL_WINDOW_SIZE, frame::MAX_WINDOW as u32)]);
        frame::window_update(&mut out, 0, (frame::MAX_WINDOW - 65_535) as u32);
        s.write_all(&out).unwrap();
        Client {
            s,
            buf: Vec::new(),
            dec: hpack::Decoder::new(1 << 20),
            next: 1,
            goaway: None,
            streams: Default::default(),
            done: Vec::new(),
            block: Vec::new(),
            block_end: false,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    fn request_block(path: &str, content_type: &str, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut block = Vec::new();
        for (n, v) in [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "x"),
            ("content-type", content_type),
            ("te", "trailers"),
        ]
        .iter()
        .chain(extra)
        {
            hpack::encode_field(&mut block, n.as_bytes(), v.as_bytes());
        }
        block
    }

    /// Starts a call; returns its stream id. `payload: None` leaves the stream open.
    fn start(&mut self, path: &str, extra: &[(&str, &str)], payload: Option<&[u8]>) -> u32 {
        let id = self.next;
        self.next += 2;
        let mut out = Vec::new();
        frame::headers(&mut out, id, &Self::request_block(path, "application/grpc", extra), false, 16_384);
        if let Some(p) = payload {
            let mut m = Vec::new();
            proto::frame::encode_into(p, &mut m);
            for (i, chunk) in m.chunks(16_384).enumerate() {
                let last = (i + 1) * 16_384 >= m.len();
                frame::data_head(&mut out, id, chunk.len(), last);
                out.extend_from_slice(chunk);
            }
        }
        self.send(&out);
        id
    }

    /// Reads one frame; None when the connection closed.
    fn frame(&mut self) -> Option<(frame::Head, Vec<u8>)> {
        loop {
            if let Some((head, payload, used)) = frame::split(&self.buf, 1 << 24).unwrap() {
                let payload = payload.to_vec();
                self.buf.drain(..used);
                return Some((head, payload));
            }
            let mut chunk = [0u8; 65_536];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until stream `id` ends (END_STREAM or RST_STREAM); what arrives
    /// for other streams meanwhile is kept for them.
    fn reply(&mut self, id: u32) -> Reply {
        loop {
            if self.done.contains(&id) {
                self.done.retain(|&d| d != id);
                return self.streams.remove(&id).unwrap_or_default();
            }
            let (head, payload) = self.frame().expect("connection closed before the reply");
            let (stream, end) = match frame::decode(&head, &payload).unwrap() {
                Frame::Headers { stream, end_stream, end_headers, block } => {
                    self.block.extend_from_slice(block);
                    self.block_end = end_stream;
                    if !end_headers {
                        continue;
                    }
                    (stream, self.headers_done(stream))
                }
                Frame::Continuation { stream, end_headers, block } => {
                    self.block.extend_from_slice(block);
                    if !end_headers {
                        continue;
                    }
                    (stream, self.headers_done(stream))
                }
                Frame::Data { stream, data, end_stream, .. } => {
                    self.streams.entry(stream).or_default().data.extend_from_slice(data);
                    (stream, end_stream)
                }
                Frame::RstStream { stream, code } => {
                    self.streams.entry(stream).or_default().reset = Some(code);
                    (stream, true)
                }
                Frame::GoAway { last_stream, code } => {
                    self.goaway = Some((last_stream, code));
                    continue;
                }
                _ => continue,
            };
            if end {
                self.done.push(stream);
            }
        }
    }

    /// A whole header block arrived for `stream`; true if it ended the stream.
    fn headers_done(&mut self, stream: u32) -> bool {
        let list = self.dec.decode(&self.block).unwrap().fields;
        self.block.clear();
        let r = self.streams.entry(stream).or_default();
        if r.headers.is_empty() {
            r.headers = list;
        } else {
            r.trailers = list;
        }
        self.block_end
    }

    fn call(&mut self, path: &str, payload: &[u8]) -> Reply {
        let id = self.start(path, &[], Some(payload));
        self.reply(id)
    }

    /// Reads until the server closes; returns its GOAWAY (last stream, code).
    fn goaway(&mut self) -> Option<(u32, u32)> {
        while let Some((head, payload)) = self.frame() {
            if let Ok(Frame::GoAway { last_stream, code }) = frame::decode(&head, &payload) {
                self.goaway = Some((last_stream, code));
            }
        }
        self.goaway
    }
}

fn still_served(h: &proto::ServerHandle) {
    let mut c = Client::connect(h);
    let r = c.call("/test/Echo", b"fine");
    assert_eq!(r.grpc_status(), Some(Code::Ok));
    assert_eq!(r.message(), b"fine");
}

#[test]
fn unary_calls_answer_with_headers_message_and_trailers() {
    let (h, _) = start(4);
    let mut c = Client::connect(&h);
    let r = c.call("/test/Echo", b"hello");
    assert_eq!(r.header(":status").as_deref(), Some("200"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/grpc"));
    assert_eq!(r.message(), b"hello");
    assert_eq!(r.grpc_status(), Some(Code::Ok));
    // Many calls at once on one connection, answered out of order.
    let ids: Vec<u32> = (0..50u8).map(|i| c.start("/test/Sleep", &[], Some(&[i % 3]))).collect();
    for id in ids {
        assert_eq!(c.reply(id).grpc_status(), Some(Code::Ok));
    }
}

#[test]
fn a_call_taken_over_on_the_loop_answers_its_stream_from_another_thread() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let r = c.call("/test/Later", b"abc");
    assert_eq!(r.grpc_status(), Some(Code::Ok));
    assert_eq!(r.message(), b"cba");
    let r = c.call("/test/LaterLost", b"abc");
    assert_eq!((r.grpc_status(), r.message()), (Some(Code::Ok), b"abc".to_vec()), "a worker answered the lost one");
    // Many at once on one connection, taken and answered out of order.
    let ids: Vec<u32> = (0..50u8).map(|i| c.start("/test/Later", &[], Some(&[i, 1]))).collect();
    for (i, id) in ids.into_iter().enumerate() {
        let r = c.reply(id);
        assert_eq!((r.grpc_status(), r.message()), (Some(Code::Ok), vec![1, i as u8]));
    }
    still_served(&h);
}

#[test]
fn unknown_methods_fail_in_trailers_only_with_a_percent_encoded_message() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let r = c.call("/test/Nope", b"");
    assert!(r.data.is_empty() && r.trailers.is_empty(), "Trailers-Only: one header block");
    assert_eq!(r.header(":status").as_deref(), Some("200"));
    assert_eq!(r.grpc_status(), Some(Code::Unimplemented));
    assert_eq!(r.header("grpc-message").as_deref(), Some("no m%C3%A9thode /test/Nope"));
}

#[test]
fn a_request_that_is_not_grpc_gets_415() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let mut out = Vec::new();
    frame::headers(&mut out, 1, &Client::request_block("/test/Echo", "application/json", &[]), true, 16_384);
    c.send(&out);
    let r = c.reply(1);
    assert_eq!(r.header(":status").as_deref(), Some("415"));
    still_served(&h);
}

#[test]
fn binary_metadata_reaches_the_handler_decoded() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let id = c.start("/test/Meta", &[("x-echo-bin", "AAEC/w")], Some(b""));
    assert_eq!(c.reply(id).message(), [0, 1, 2, 255]);
}

#[test]
fn a_deadline_that_passes_gives_deadline_exceeded_and_the_work_is_abandoned() {
    let (h, svc) = start(1);
    let mut c = Client::connect(&h);
    // The only worker is busy for 300 ms; the counted call may wait 50.
    let busy = c.start("/test/Sleep", &[], Some(&[30]));
    let began = Instant::now();
    let late = c.start("/test/Count", &[("grpc-timeout", "50m")], Some(b""));
    let r = c.reply(late);
    assert_eq!(r.grpc_status(), Some(Code::DeadlineExceeded));
    assert!(began.elapsed() < Duration::from_millis(290), "answered at the deadline, not after the work");
    assert_eq!(c.reply(busy).grpc_status(), Some(Code::Ok));
    assert!(h.wait_idle(T));
    assert_eq!(svc.ran.load(Ordering::SeqCst), 0, "the expired call never ran");
}

#[test]
fn a_reset_stream_is_cancelled_before_it_runs() {
    let (h, svc) = start(1);
    let mut c = Client::connect(&h);
    let busy = c.start("/test/Sleep", &[], Some(&[20]));
    let doomed = c.start("/test/Count", &[], Some(b""));
    let mut out = Vec::new();
    frame::rst_stream(&mut out, doomed, proto::h2::ErrorCode::Cancel);
    c.send(&out);
    assert_eq!(c.reply(busy).grpc_status(), Some(Code::Ok));
    assert!(h.wait_idle(T));
    assert_eq!(svc.ran.load(Ordering::SeqCst), 0, "the cancelled call never ran");
    assert_eq!(c.call("/test/Count", b"").grpc_status(), Some(Code::Ok));
    assert_eq!(svc.ran.load(Ordering::SeqCst), 1);
}

#[test]
fn health_watch_streams_serving_then_not_serving_when_draining() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let id = c.start(proto::methods::HEALTH_WATCH, &[], Some(b""));
    let mut statuses = Vec::new();
    let mut data = Vec::new();
    let end = Instant::now() + T;
    while statuses.len() < 2 {
        assert!(Instant::now() < end);
        if statuses.len() == 1 {
            h.drain();
        }
        let (head, payload) = c.frame().expect("open");
        if let Frame::Data { stream, data: d, .. } = frame::decode(&head, &payload).unwrap() {
            assert_eq!(stream, id);
            data.extend_from_slice(d);
            while let Some((range, used)) = proto::frame::decode(&data, 1024).unwrap() {
                statuses.push(HealthCheckResponse::decode(&data[range]).unwrap().status);
                data.drain(..used);
            }
        }
    }
    assert_eq!(statuses, [ServingStatus::Serving as i32, ServingStatus::NotServing as i32]);
    let r = c.call(proto::methods::HEALTH_CHECK, b"");
    assert_eq!(HealthCheckResponse::decode(r.message().as_slice()).unwrap().status, ServingStatus::NotServing as i32);
}

#[test]
fn a_graceful_stop_sends_goaway_and_finishes_the_calls_in_flight() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let running = c.start("/test/Sleep", &[], Some(&[20]));
    while h.in_flight() == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    h.stop_accepting();
    let r = c.reply(running);
    assert_eq!(r.grpc_status(), Some(Code::Ok), "the call in flight finished");
    assert_eq!(c.goaway(), Some((running, 0)), "GOAWAY(NO_ERROR) naming the last stream, then a close");
}

#[test]
fn ping_is_acked_and_unknown_frames_and_settings_are_ignored() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    let mut out = Vec::new();
    frame::head(&mut out, 3, 0xfa, 0, 0); // an unknown frame type
    out.extend_from_slice(b"abc");
    frame::settings(&mut out, &[(0xfe03, 1)]); // grpc core's unknown setting
    frame::head(&mut out, 8, frame::PING, 0, 0);
    out.extend_from_slice(b"12345678");
    c.send(&out);
    loop {
        let (head, payload) = c.frame().expect("open");
        if let Frame::Ping { ack: true, data } = frame::decode(&head, &payload).unwrap() {
            assert_eq!(&data, b"12345678");
            break;
        }
    }
    assert_eq!(c.call("/test/Echo", b"x").message(), b"x");
}

/// Sends `bytes` on a fresh connection; returns the GOAWAY code it ends with.
fn abuse(h: &proto::ServerHandle, bytes: &[u8]) -> Option<u32> {
    let mut c = Client::connect(h);
    let _ = c.s.write_all(bytes);
    c.goaway().map(|(_, code)| code)
}

const PROTOCOL_ERROR: u32 = 0x1;
const FLOW_CONTROL_ERROR: u32 = 0x3;
const STREAM_CLOSED: u32 = 0x5;
const FRAME_SIZE_ERROR: u32 = 0x6;
const ENHANCE_YOUR_CALM: u32 = 0xb;

#[test]
fn a_bad_preface_is_refused_as_garbage() {
    let (h, _) = start(2);
    let mut s = TcpStream::connect(h.local_addr()).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n").unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let (range, _) = proto::frame::decode(&all, 1 << 20).unwrap().expect("a native error reply");
    let r = proto::pb::Response::decode(&all[range]).unwrap();
    assert_eq!(Code::from_u32(r.status), Code::InvalidArgument);
    still_served(&h);
}

#[test]
fn a_frame_over_the_maximum_size_is_a_frame_size_error() {
    let (h, _) = start(2);
    let mut out = Vec::new();
    frame::head(&mut out, 20_000, frame::DATA, 0, 1);
    assert_eq!(abuse(&h, &out), Some(FRAME_SIZE_ERROR));
    still_served(&h);
}

#[test]
fn a_header_block_that_never_ends_is_cut_off() {
    let (h, _) = start(2);
    let mut out = Vec::new();
    frame::head(&mut out, 0, frame::HEADERS, 0, 1);
    for _ in 0..10 {
        frame::head(&mut out, 10_000, frame::CONTINUATION, 0, 1);
        out.extend_from_slice(&[0x40; 10_000]);
    }
    assert_eq!(abuse(&h, &out), Some(ENHANCE_YOUR_CALM));
    still_served(&h);
}

#[test]
fn a_headers_flood_is_refused_stream_by_stream_then_cut_off() {
    let (h, _) = start(1);
    let mut c = Client::connect(&h);
    // More streams than allowed at once: the ones past the limit are refused.
    let mut out = Vec::new();
    let block = Client::request_block("/test/Sleep", "application/grpc", &[]);
    for i in 0..300u32 {
        frame::headers(&mut out, 1 + 2 * i, &block, false, 16_384);
    }
    c.send(&out);
    let mut refused = 0;
    while refused < 300 - 256 {
        let (head, payload) = c.frame().expect("open");
        if let Frame::RstStream { code: 0x7, .. } = frame::decode(&head, &payload).unwrap() {
            refused += 1;
        }
    }
    // And a flood of them is a connection error.
    let mut out = Vec::new();
    for i in 0..3000u32 {
        frame::headers(&mut out, 1001 + 2 * i, &block, false, 16_384);
    }
    let _ = c.s.write_all(&out);
    assert_eq!(c.goaway().map(|(_, code)| code), Some(ENHANCE_YOUR_CALM));
    still_served(&h);
}

#[test]
fn a_settings_flood_is_cut_off() {
    let (h, _) = start(2);
    let mut out = Vec::new();
    for _ in 0..5000 {
        frame::settings(&mut out, &[(frame::SETTINGS_MAX_CONCURRENT_STREAMS, 10)]);
    }
    assert_eq!(abuse(&h, &out), Some(ENHANCE_YOUR_CALM));
    still_served(&h);
}

#[test]
fn a_window_overflow_is_a_flow_control_error() {
    let (h, _) = start(2);
    let mut out = Vec::new();
    // The client's setup already raised the connection window to the maximum.
    frame::window_update(&mut out, 0, 1);
    assert_eq!(abuse(&h, &out), Some(FLOW_CONTROL_ERROR));
    // On a stream it is a stream error: RST_STREAM, and the connection lives.
    let mut c = Client::connect(&h);
    let id = c.start("/test/Sleep", &[], Some(&[10]));
    let mut out = Vec::new();
    frame::window_update(&mut out, id, frame::MAX_WINDOW as u32);
    c.send(&out);
    assert_eq!(c.reply(id).reset, Some(FLOW_CONTROL_ERROR));
    assert_eq!(c.call("/test/Echo", b"y").message(), b"y");
}

#[test]
fn a_stream_id_going_backwards_is_a_connection_error() {
    let (h, _) = start(2);
    let mut c = Client::connect(&h);
    assert_eq!(c.call("/test/Echo", b"a").message(), b"a");
    let mut out = Vec::new();
    frame::headers(&mut out, 7, &Client::request_block("/test/Echo", "application/grpc", &[]), false, 16_384);
    frame::headers(&mut out, 5, &Client::request_block("/test/Echo", "application/grpc", &[]), false, 16_384);
    c.send(&out);
    let code = c.goaway().map(|(_, code)| code);
    assert!(matches!(code, Some(PROTOCOL_ERROR | STREAM_CLOSED)), "{code:?}");
    still_served(&h);
}

/// stackwire's own client over h2c (`Wire::H2c`, what
/// `STACKWIRE_RPC_TRANSPORT=h2c` selects): the same calls, statuses and
/// multiplexing as over the native frames.
mod own_client {
    use super::*;
    use proto::{Connection, RpcError, Wire};

    fn connect(h: &proto::ServerHandle) -> Connection {
        Connection::connect_with(Wire::H2c, h.local_addr(), T, 8 << 20).unwrap()
    }

    #[test]
    fn calls_statuses_and_request_ids_travel() {
        let (h, _) = start(4);
        let c = connect(&h);
        assert_eq!(c.call("/test/Echo", "rid", T, b"hello".to_vec()).unwrap().payload.as_ref(), &b"hello"[..]);
        let r = c.call("/test/Nope", "rid", T, Vec::new()).unwrap();
        assert_eq!(Code::from_u32(r.status), Code::Unimplemented);
        assert_eq!(r.message, "no méthode /test/Nope", "grpc-message percent-decoded");
        let health: HealthCheckResponse =
            c.unary(proto::methods::HEALTH_CHECK, "", T, &proto::pb::HealthCheckRequest::default()).unwrap();
        assert_eq!(health.status, ServingStatus::Serving as i32);
    }

    #[test]
    fn four_mib_each_way_and_many_calls_at_once() {
        let (h, _) = start(4);
        let c = connect(&h);
        let big = vec![7u8; 4 << 20];
        assert_eq!(c.call("/test/Echo", "rid", T, big.clone()).unwrap().payload, big);
        let (tx, rx) = crossbeam_channel::unbounded();
        for i in 0..200u32 {
            let tx = tx.clone();
            c.start("/test/Echo", "rid", T, i.to_be_bytes().to_vec(), Box::new(move |r| tx.send((i, r)).unwrap()));
        }
        for _ in 0..200 {
            let (i, r) = rx.recv_timeout(T).unwrap();
            assert_eq!(r.unwrap().payload.as_ref(), &i.to_be_bytes()[..]);
        }
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn a_slow_call_past_its_timeout_is_deadline_exceeded_and_the_server_abandons_it() {
        let (h, svc) = start(1);
        let c = connect(&h);
        let busy = c.call("/test/Sleep", "rid", Duration::from_millis(50), vec![30]);
        assert!(
            matches!(busy, Err(RpcError::DeadlineExceeded(_)))
                || busy.is_ok_and(|r| r.status == Code::DeadlineExceeded as u32)
        );
        let r = c.call("/test/Count", "rid", Duration::from_millis(20), Vec::new());
        assert!(r.is_err() || r.is_ok_and(|r| r.status == Code::DeadlineExceeded as u32));
        assert!(h.wait_idle(T));
        assert_eq!(svc.ran.load(Ordering::SeqCst), 0, "the call queued past its deadline never ran");
    }

    #[test]
    fn a_graceful_stop_refuses_new_calls_as_not_sent() {
        let (h, _) = start(2);
        let c = connect(&h);
        assert_eq!(c.call("/test/Echo", "rid", T, b"a".to_vec()).unwrap().payload.as_ref(), &b"a"[..]);
        h.stop_accepting();
        let end = Instant::now() + T;
        while !c.is_dead() {
            assert!(Instant::now() < end, "GOAWAY never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        let err = c.call("/test/Echo", "rid", T, b"b".to_vec()).unwrap_err();
        assert!(err.never_sent(), "{err:?}");
    }
}

#[test]
fn a_stream_whose_client_reads_nothing_is_ended_not_buffered_without_limit() {
    let (h, svc) = start(2);
    let mut s = TcpStream::connect(h.local_addr()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut out = frame::PREFACE.to_vec();
    // No window at all for the server's replies.
    frame::settings(&mut out, &[(frame::SETTINGS_INITIAL_WINDOW_SIZE, 0)]);
    frame::headers(&mut out, 1, &Client::request_block("/test/Flood", "application/grpc", &[]), true, 16_384);
    s.write_all(&out).unwrap();
    let mut c = Client {
        s,
        buf: Vec::new(),
        dec: hpack::Decoder::new(1 << 20),
        next: 3,
        goaway: None,
        streams: Default::default(),
        done: Vec::new(),
        block: Vec::new(),
        block_end: false,
    };
    assert_eq!(c.reply(1).reset, Some(0x8), "RST_STREAM(CANCEL)");
    let end = Instant::now() + T;
    while h.in_flight() > 0 {
        assert!(Instant::now() < end, "the flooding handler was never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = svc.ran.load(Ordering::SeqCst);
    // 8 MiB may wait for window and 16 MiB be on the way to the loop.
    assert!(sent <= 26, "{sent} MiB produced for a client that reads nothing");
    still_served(&h);
}
