//! The RPC client over gRPC/h2c: the same multiplexed, blocking-or-callback
//! `Connection` as the native frames, with each call an HTTP/2 stream. Chosen
//! with `STACKWIRE_RPC_TRANSPORT=h2c` (see `Connection::connect`), so the
//! whole system can run its inter-service traffic over stock gRPC framing.
//!
//! A call's id is its stream id. The writer lock covers both choosing the id
//! and writing the HEADERS, because RFC 9113 wants new streams opened in
//! increasing order. Requests are sent as far as the server's windows allow;
//! what is left waits in the stream's queue until a WINDOW_UPDATE or a
//! SETTINGS change, flushed by the reader thread. We advertise windows of
//! 2^31-1 so the server never waits for us, and top the connection window up
//! as replies are read; a reply larger than the maximum message fails its
//! call alone (RESOURCE_EXHAUSTED) and resets its stream.
//!
//! Failures map onto `RpcError` as for native frames: a stream refused
//! (REFUSED_STREAM) or past a GOAWAY's last stream was never processed, so it
//! is `NotSent`; a connection that breaks fails every waiting call with
//! `ConnectionLost`.

use super::{lock, CallOptions, Completion, RpcError};
use crate::frame as msg;
use crate::h2::frame::{self, Frame};
use crate::h2::{hpack, ErrorCode};
use crate::http::percent_decode;
use crate::metadata;
use crate::pb::Response;
use crate::status::Code;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The connection window we top up to, and when.
const WINDOW: i64 = frame::MAX_WINDOW;

struct Writer {
    stream: TcpStream,
    next_stream: u32,
    /// What the server lets us send, on the connection and per stream.
    send_window: i64,
    peer: frame::PeerSettings,
    /// Streams with request bytes waiting for window: (window, bytes, sent).
    blocked: HashMap<u32, (i64, Vec<u8>, usize)>,
}

struct Call {
    done: Completion,
    data: Vec<u8>,
    headers: bool,
}

pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    max_message: usize,
    writer: Mutex<Writer>,
    calls: Mutex<HashMap<u32, Call>>,
    pub(crate) dead: AtomicBool,
    pub(crate) in_flight: AtomicUsize,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(w) = self.writer.get_mut() {
            let _ = w.stream.shutdown(Shutdown::Both);
        }
    }
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr, timeout: Duration, max_message: usize) -> Result<Arc<Client>, RpcError> {
        let err = |source| RpcError::Connect { addr, source };
        let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(err)?;
        let _ = stream.set_nodelay(true);
        let mut hello = frame::PREFACE.to_vec();
        frame::settings(
            &mut hello,
            &[(frame::SETTINGS_ENABLE_PUSH, 0), (frame::SETTINGS_INITIAL_WINDOW_SIZE, WINDOW as u32)],
        );
        frame::window_update(&mut hello, 0, (WINDOW - 65_535) as u32);
        stream.write_all(&hello).map_err(err)?;
        let reader = stream.try_clone().map_err(err)?;
        let client = Arc::new(Client {
            addr,
            max_message,
            writer: Mutex::new(Writer {
                stream,
                next_stream: 1,
                send_window: 65_535,
                peer: frame::PeerSettings::default(),
                blocked: HashMap::new(),
            }),
            calls: Mutex::new(HashMap::new()),
            dead: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        });
        let weak = Arc::downgrade(&client);
        std::thread::Builder::new()
            .name(format!("rpc-h2-{addr}"))
            .spawn(move || read_loop(reader, weak))
            .map_err(err)?;
        Ok(client)
    }

    pub(crate) fn start(&self, method: &str, opts: &CallOptions<'_>, payload: Vec<u8>, done: Completion) -> u64 {
        if self.dead.load(Ordering::Acquire) {
            done(Err(RpcError::NotSent(self.addr)));
            return 0;
        }
        let mut block = Vec::with_capacity(128 + method.len());
        for (n, v) in [(":method", "POST"), (":scheme", "http"), (":path", method)] {
            hpack::encode_field(&mut block, n.as_bytes(), v.as_bytes());
        }
        hpack::encode_field(&mut block, b":authority", self.addr.to_string().as_bytes());
        hpack::encode_field(&mut block, b"content-type", b"application/grpc");
        hpack::encode_field(&mut block, b"te", b"trailers");
        let ms = opts.timeout.as_millis().max(1);
        let t = if ms < 100_000_000 { format!("{ms}m") } else { format!("{}S", (ms / 1000).min(99_999_999)) };
        hpack::encode_field(&mut block, b"grpc-timeout", t.as_bytes());
        if !opts.request_id.is_empty() {
            hpack::encode_field(&mut block, metadata::REQUEST_ID.as_bytes(), opts.request_id.as_bytes());
        }
        metadata::encode_fields(&mut block, opts.metadata);
        let mut body = Vec::with_capacity(msg::PREFIX_LEN + payload.len());
        msg::encode_into(&payload, &mut body);

        let mut w = lock(&self.writer);
        let id = w.next_stream;
        if id > (1 << 31) - 2 {
            drop(w);
            self.dead.store(true, Ordering::Release);
            done(Err(RpcError::NotSent(self.addr)));
            return 0;
        }
        w.next_stream += 2;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        lock(&self.calls).insert(id, Call { done, data: Vec::new(), headers: false });
        let mut out = Vec::with_capacity(block.len() + body.len() + 64);
        frame::headers(&mut out, id, &block, false, w.peer.max_frame);
        let window = w.peer.initial_window;
        w.blocked.insert(id, (window, body, 0));
        pump(&mut w, &mut out);
        if w.stream.write_all(&out).is_err() {
            drop(w);
            // Nothing of a stream the server never saw whole was processed.
            if let Some(c) = lock(&self.calls).remove(&id) {
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                self.kill();
                (c.done)(Err(RpcError::NotSent(self.addr)));
            }
            return id as u64;
        }
        id as u64
    }

    pub(crate) fn cancel(&self, call_id: u64) {
        let id = call_id as u32;
        if lock(&self.calls).remove(&id).is_some() {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut w = lock(&self.writer);
            w.blocked.remove(&id);
            let mut out = Vec::new();
            frame::rst_stream(&mut out, id, ErrorCode::Cancel);
            let _ = w.stream.write_all(&out);
        }
    }

    pub(crate) fn kill(&self) {
        self.dead.store(true, Ordering::Release);
        let _ = lock(&self.writer).stream.shutdown(Shutdown::Both);
        self.fail_streams(|_| true, || RpcError::ConnectionLost);
    }

    fn fail_streams(&self, which: impl Fn(u32) -> bool, err: impl Fn() -> RpcError) {
        let doomed: Vec<Call> = {
            let mut calls = lock(&self.calls);
            let ids: Vec<u32> = calls.keys().copied().filter(|&id| which(id)).collect();
            ids.into_iter().filter_map(|id| calls.remove(&id)).collect()
        };
        for c in doomed {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            (c.done)(Err(err()));
        }
    }

    fn finish(&self, id: u32, result: Result<Response, RpcError>) {
        let call = lock(&self.calls).remove(&id);
        if let Some(c) = call {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            (c.done)(result);
        }
        lock(&self.writer).blocked.remove(&id);
    }

    /// A whole header block for stream `id`: response headers, or trailers.
    fn on_headers(&self, id: u32, list: &hpack::HeaderList, end: bool) {
        let status = list.get(b"grpc-status");
        if !end && status.is_none() {
            let ok = list.get(b":status") == Some(b"200");
            if let Some(c) = lock(&self.calls).get_mut(&id) {
                c.headers = true;
            }
            if !ok {
                let http = list.get(b":status").map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default();
                let s = crate::status::Status::new(Code::Unknown, format!("HTTP status {http}"));
                self.finish(id, Err(RpcError::Status(s)));
            }
            return;
        }
        let code = status.and_then(|s| std::str::from_utf8(s).ok()?.parse::<u32>().ok());
        let message = list.get(b"grpc-message").map(|m| percent_decode(m, false)).unwrap_or_default();
        let Some(code) = code else {
            let http = list.get(b":status").map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default();
            let s = crate::status::Status::new(Code::Unknown, format!("no grpc-status (HTTP status {http})"));
            return self.finish(id, Err(RpcError::Status(s)));
        };
        let data = lock(&self.calls).get_mut(&id).map(|c| std::mem::take(&mut c.data)).unwrap_or_default();
        let payload = if code == 0 {
            match msg::decode(&data, self.max_message) {
                Ok(Some((range, used))) if used == data.len() => data[range].to_vec(),
                _ => {
                    let s = crate::status::Status::new(Code::Internal, "the reply is not exactly one message");
                    return self.finish(id, Err(RpcError::Status(s)));
                }
            }
        } else {
            Vec::new()
        };
        self.finish(id, Ok(Response { call_id: id as u64, status: code, message, payload: payload.into() }));
    }
}

/// Sends blocked request bytes as far as the windows allow.
fn pump(w: &mut Writer, out: &mut Vec<u8>) {
    let mut done = Vec::new();
    for (&id, (window, body, sent)) in w.blocked.iter_mut() {
        while *sent < body.len() && *window > 0 && w.send_window > 0 {
            let n = (body.len() - *sent).min(w.peer.max_frame).min(*window as usize).min(w.send_window as usize);
            let end = *sent + n == body.len();
            frame::data_head(out, id, n, end);
            out.extend_from_slice(&body[*sent..*sent + n]);
            *sent += n;
            *window -= n as i64;
            w.send_window -= n as i64;
        }
        if *sent == body.len() {
            done.push(id);
        }
    }
    for id in done {
        w.blocked.remove(&id);
    }
}

fn read_loop(mut stream: TcpStream, weak: Weak<Client>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut dec = hpack::Decoder::new(64 << 10);
    let mut block: Option<(u32, bool, Vec<u8>)> = None;
    let mut unacked: i64 = 0;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let Some(client) = weak.upgrade() else { return };
        if n == 0 {
            client.kill();
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut used_all = 0;
        let mut out = Vec::new();
        let broken = loop {
            let (head, payload, used) = match frame::split(&buf[used_all..], frame::DEFAULT_MAX_FRAME) {
                Ok(Some(f)) => f,
                Ok(None) => break false,
                Err(_) => break true,
            };
            used_all += used;
            let f = match frame::decode(&head, payload) {
                Ok(f) => f,
                Err(e) if e.stream.is_some() => continue,
                Err(_) => break true,
            };
            match f {
                Frame::Settings { ack: false, params } => {
                    let mut w = lock(&client.writer);
                    for (k, v) in params {
                        let delta = w.peer.apply(k, v);
                        for b in w.blocked.values_mut() {
                            b.0 += delta;
                        }
                    }
                    frame::settings_ack(&mut out);
                    pump(&mut w, &mut out);
                }
                Frame::Ping { ack: false, data } => frame::ping_ack(&mut out, &data),
                Frame::WindowUpdate { stream: 0, increment } => {
                    let mut w = lock(&client.writer);
                    w.send_window += increment as i64;
                    pump(&mut w, &mut out);
                }
                Frame::WindowUpdate { stream, increment } => {
                    let mut w = lock(&client.writer);
                    if let Some(b) = w.blocked.get_mut(&stream) {
                        b.0 += increment as i64;
                    }
                    pump(&mut w, &mut out);
                }
                Frame::Headers { stream, end_stream, end_headers, block: b } => {
                    if end_headers {
                        match dec.decode(b) {
                            Ok(list) => client.on_headers(stream, &list, end_stream),
                            Err(_) => break true,
                        }
                    } else {
                        block = Some((stream, end_stream, b.to_vec()));
                    }
                }
                Frame::Continuation { stream, end_headers, block: b } => {
                    let Some((id, end, mut acc)) = block.take() else { break true };
                    if id != stream || acc.len() + b.len() > 1 << 20 {
                        break true;
                    }
                    acc.extend_from_slice(b);
                    if end_headers {
                        match dec.decode(&acc) {
                            Ok(list) => client.on_headers(id, &list, end),
                            Err(_) => break true,
                        }
                    } else {
                        block = Some((id, end, acc));
                    }
                }
                Frame::Data { stream, data, flow_len, .. } => {
                    unacked += flow_len as i64;
                    let over = {
                        let mut calls = lock(&client.calls);
                        match calls.get_mut(&stream) {
                            Some(c) if c.data.len() + data.len() > client.max_message + msg::PREFIX_LEN => true,
                            Some(c) => {
                                c.data.extend_from_slice(data);
                                false
                            }
                            None => false,
                        }
                    };
                    if over {
                        frame::rst_stream(&mut out, stream, ErrorCode::Cancel);
                        let s = crate::status::Status::new(Code::ResourceExhausted, "reply larger than the maximum");
                        client.finish(stream, Err(RpcError::Status(s)));
                    }
                }
                Frame::RstStream { stream, code } => {
                    let err = if code == ErrorCode::RefusedStream as u32 {
                        RpcError::NotSent(client.addr)
                    } else {
                        RpcError::ConnectionLost
                    };
                    client.finish(stream, Err(err));
                }
                Frame::GoAway { last_stream, .. } => {
                    client.dead.store(true, Ordering::Release);
                    let addr = client.addr;
                    client.fail_streams(|id| id > last_stream, || RpcError::NotSent(addr));
                }
                _ => {}
            }
        };
        buf.drain(..used_all);
        if unacked > WINDOW / 2 {
            frame::window_update(&mut out, 0, unacked as u32);
            unacked = 0;
        }
        if !out.is_empty() && lock(&client.writer).stream.write_all(&out).is_err() {
            client.kill();
            return;
        }
        if broken {
            log::warn!(target: "rpc", "{}: HTTP/2 protocol error from the server; closing", client.addr);
            client.kill();
            return;
        }
    }
}
