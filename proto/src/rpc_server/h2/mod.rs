//! One HTTP/2 connection serving gRPC (h2c with prior knowledge), owned by
//! the event loop: frames in, calls out to the same handlers and worker pool
//! as the native frames, replies back as HEADERS, DATA and trailers.
//!
//! What it keeps per connection: the HPACK decoding context, both flow-control
//! windows in each direction, the open streams, a header block being
//! assembled from CONTINUATION frames, and counters that catch floods. What
//! the RFC calls a connection error ends in GOAWAY and a close; a stream error
//! in RST_STREAM, and every other stream carries on.
//!
//! Limits, each a precise error rather than growth: at most
//! `MAX_STREAMS` concurrent streams (more are refused with REFUSED_STREAM); a
//! header block of at most `MAX_BLOCK` bytes; a request body of at most one
//! maximum message (RESOURCE_EXHAUSTED); receive windows granted only as the
//! body is consumed; control frames that need an answer (SETTINGS, PING) and
//! streams reset or refused, counted per second, past which the peer is told
//! ENHANCE_YOUR_CALM and cut off; a streaming call whose client leaves more
//! than `MAX_UNSENT` bytes unread is ended with RESOURCE_EXHAUSTED.
//!
//! Unary calls are dispatched when the request stream ends (one message
//! exactly). `grpc.health.v1.Health/Watch` is served here: the current status
//! now, and again when the server starts draining. `grpc-timeout` becomes the
//! call's deadline; when it passes the stream gets DEADLINE_EXCEEDED and the
//! call is marked cancelled, as it is when the client resets the stream, so a
//! worker that has not started it skips it.

mod send;

use super::grpc::{self, Refusal, RequestHead};
use super::out::Shared;
use super::pool::{self, Call, Job, Pool, ReplyTo};
use super::{streaming, ReplyMetadata, State};
use crate::frame as msg;
use crate::h2::frame::{self, Frame};
use crate::h2::hpack::{self, HeaderList};
use crate::h2::{ErrorCode, H2Error};
use crate::methods;
use crate::status::{Code, Status};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent streams we allow a client (SETTINGS_MAX_CONCURRENT_STREAMS).
pub(crate) const MAX_STREAMS: usize = 256;
/// The receive window each stream starts with (SETTINGS_INITIAL_WINDOW_SIZE).
const STREAM_WINDOW: i64 = 1 << 20;
/// The connection's receive window, raised from 65,535 at the start.
const CONN_WINDOW: i64 = 16 << 20;
/// SETTINGS_MAX_HEADER_LIST_SIZE, and the largest header block we assemble.
const MAX_LIST: usize = 16 << 10;
const MAX_BLOCK: usize = 64 << 10;
/// Response bytes one stream may hold unsent (flow control) before it is ended.
const MAX_UNSENT: usize = 8 << 20;
/// Answers to control frames, and streams reset or refused, allowed per second.
const FLOOD: u32 = 2_000;
/// The read buffer: a whole frame of our maximum size fits.
const BUF: usize = 64 << 10;

enum Phase {
    /// Request frames still arriving.
    Receiving,
    /// The call is with a handler.
    Running,
    /// A health Watch: open until the client goes away.
    Watching,
    /// A streaming call on its thread; no sender once the client half-closed.
    Streaming(Option<crossbeam_channel::Sender<Vec<u8>>>, Arc<std::sync::atomic::AtomicUsize>),
}

struct Stream {
    phase: Phase,
    head: Option<RequestHead>,
    body: Vec<u8>,
    /// What the peer may still send us on this stream.
    recv_window: i64,
    /// What we may still send on this stream.
    send_window: i64,
    /// DATA bytes queued and the trailers to follow them, when flow control stops us.
    pending: Vec<u8>,
    sent: usize,
    trailers: Option<std::borrow::Cow<'static, [u8]>>,
    headers_sent: bool,
    deadline: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl Stream {
    /// The call this stream's request head starts, carrying `payload` (empty
    /// for a streaming call, whose messages arrive after it starts).
    fn call(&self, head: RequestHead, payload: Vec<u8>, ctx: &Ctx<'_>) -> Call {
        Call {
            method: head.path,
            request_id: head.request_id,
            deadline: self.deadline,
            received: ctx.now,
            peer: ctx.shared.peer,
            payload,
            metadata: head.metadata,
            cancelled: Some(self.cancelled.clone()),
        }
    }
}

pub(crate) struct H2 {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    decoder: hpack::Decoder,
    peer: frame::PeerSettings,
    send_window: i64,
    recv_window: i64,
    streams: HashMap<u32, Stream>,
    last_stream: u32,
    /// A header block waiting for its CONTINUATION frames.
    continuation: Option<(u32, bool, Vec<u8>)>,
    pub(crate) goaway_sent: bool,
    out: Vec<u8>,
    flood: u32,
    flood_since: Instant,
}

/// What an H2 connection needs from its loop for one pass.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a Arc<State>,
    pub(crate) pool: &'a Pool,
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) now: Instant,
}

impl H2 {
    /// A connection whose preface has been read; `rest` is what followed it.
    pub(crate) fn new(rest: &[u8], now: Instant) -> H2 {
        let mut buf = vec![0; BUF.max(rest.len())];
        buf[..rest.len()].copy_from_slice(rest);
        let mut out = Vec::with_capacity(64);
        frame::settings(
            &mut out,
            &[
                (frame::SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS as u32),
                (frame::SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW as u32),
                (frame::SETTINGS_MAX_HEADER_LIST_SIZE, MAX_LIST as u32),
            ],
        );
        frame::window_update(&mut out, 0, (CONN_WINDOW - 65_535) as u32);
        H2 {
            buf,
            start: 0,
            end: rest.len(),
            decoder: hpack::Decoder::new(MAX_LIST),
            peer: frame::PeerSettings::default(),
            send_window: 65_535,
            recv_window: CONN_WINDOW,
            streams: HashMap::new(),
            last_stream: 0,
            continuation: None,
            goaway_sent: false,
            out,
            flood: 0,
            flood_since: now,
        }
    }

    /// Frames built and not yet handed to the socket.
    pub(crate) fn take_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Room to read into (compacting first).
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    pub(crate) fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Streams still owed an answer (health watchers excluded).
    pub(crate) fn busy(&self) -> bool {
        self.streams.values().any(|s| !matches!(s.phase, Phase::Watching))
    }

    /// Processes every whole frame in the buffer.
    pub(crate) fn process(&mut self, ctx: &Ctx<'_>) -> Result<(), H2Error> {
        // The buffer is lent out while its frames are handled, so payloads
        // are borrowed, not copied.
        let buf = std::mem::take(&mut self.buf);
        let mut result = Ok(());
        loop {
            match frame::split(&buf[self.start..self.end], frame::DEFAULT_MAX_FRAME) {
                Ok(Some((head, payload, used))) => {
                    self.start += used;
                    if let Err(e) = self.on_frame(&head, payload, ctx) {
                        result = Err(e);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.buf = buf;
        result
    }

    fn calm(&mut self, now: Instant) -> Result<(), H2Error> {
        if now.duration_since(self.flood_since) >= Duration::from_secs(1) {
            self.flood_since = now;
            self.flood = 0;
        }
        self.flood += 1;
        if self.flood > FLOOD {
            return Err(H2Error { code: ErrorCode::EnhanceYourCalm, stream: None, reason: "frame flood" });
        }
        Ok(())
    }

    fn on_frame(&mut self, head: &frame::Head, payload: &[u8], ctx: &Ctx<'_>) -> Result<(), H2Error> {
        let f = match frame::decode(head, payload) {
            Ok(f) => f,
            Err(e @ H2Error { stream: Some(id), .. }) => {
                self.reset(id, e.code, ctx);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if let Some((id, _, _)) = &self.continuation {
            let id = *id;
            if !matches!(f, Frame::Continuation { stream, .. } if stream == id) {
                return Err(proto_err("a header block was interrupted"));
            }
        }
        match f {
            Frame::Data { stream, end_stream, data, flow_len } => self.on_data(stream, end_stream, data, flow_len, ctx),
            Frame::Headers { stream, end_stream, end_headers, block } => {
                if end_headers {
                    self.on_header_block(stream, end_stream, block, ctx)
                } else {
                    if block.len() > MAX_BLOCK {
                        return Err(calm_err("header block too large"));
                    }
                    self.continuation = Some((stream, end_stream, block.to_vec()));
                    Ok(())
                }
            }
            Frame::Continuation { stream, end_headers, block } => {
                let Some((_, end_stream, mut acc)) = self.continuation.take() else {
                    return Err(proto_err("CONTINUATION without HEADERS"));
                };
                if acc.len() + block.len() > MAX_BLOCK {
                    return Err(calm_err("header block too large"));
                }
                if block.is_empty() && !end_headers {
                    self.calm(ctx.now)?;
                }
                acc.extend_from_slice(block);
                if end_headers {
                    self.on_header_block(stream, end_stream, &acc, ctx)
                } else {
                    self.continuation = Some((stream, end_stream, acc));
                    Ok(())
                }
            }
            Frame::Priority { .. } | Frame::Unknown => Ok(()),
            Frame::RstStream { stream, .. } => {
                if stream > self.last_stream {
                    return Err(proto_err("RST_STREAM on an idle stream"));
                }
                if let Some(s) = self.streams.remove(&stream) {
                    s.cancelled.store(true, Ordering::Release);
                    self.calm(ctx.now)?;
                }
                Ok(())
            }
            Frame::Settings { ack: true, .. } => Ok(()),
            Frame::Settings { ack: false, params } => {
                for (id, v) in params {
                    let delta = self.peer.apply(id, v);
                    if delta == 0 {
                        continue;
                    }
                    for s in self.streams.values_mut() {
                        s.send_window += delta;
                        if s.send_window > frame::MAX_WINDOW {
                            return Err(H2Error {
                                code: ErrorCode::FlowControl,
                                stream: None,
                                reason: "INITIAL_WINDOW_SIZE overflows a window",
                            });
                        }
                    }
                }
                frame::settings_ack(&mut self.out);
                self.calm(ctx.now)?;
                self.pump();
                Ok(())
            }
            Frame::Ping { ack: true, .. } | Frame::GoAway { .. } => Ok(()),
            Frame::Ping { ack: false, data } => {
                frame::ping_ack(&mut self.out, &data);
                self.calm(ctx.now)
            }
            Frame::WindowUpdate { stream: 0, increment } => {
                self.send_window += increment as i64;
                if self.send_window > frame::MAX_WINDOW {
                    return Err(H2Error {
                        code: ErrorCode::FlowControl,
                        stream: None,
                        reason: "connection window over 2^31-1",
                    });
                }
                self.pump();
                Ok(())
            }
            Frame::WindowUpdate { stream, increment } => {
                if stream > self.last_stream {
                    return Err(proto_err("WINDOW_UPDATE on an idle stream"));
                }
                let Some(s) = self.streams.get_mut(&stream) else { return Ok(()) };
                s.send_window += increment as i64;
                if s.send_window > frame::MAX_WINDOW {
                    self.reset(stream, ErrorCode::FlowControl, ctx);
                    return Ok(());
                }
                self.pump();
                Ok(())
            }
            Frame::PushPromise => Err(proto_err("PUSH_PROMISE from a client")),
        }
    }

    fn on_data(&mut self, id: u32, end: bool, data: &[u8], flow_len: usize, ctx: &Ctx<'_>) -> Result<(), H2Error> {
        if id > self.last_stream {
            return Err(proto_err("DATA on an idle stream"));
        }
        if flow_len as i64 > self.recv_window {
            return Err(H2Error { code: ErrorCode::FlowControl, stream: None, reason: "DATA past the window" });
        }
        self.recv_window -= flow_len as i64;
        // The connection window is returned at once: the stream limits below
        // bound what is buffered.
        if self.recv_window < CONN_WINDOW / 2 {
            frame::window_update(&mut self.out, 0, (CONN_WINDOW - self.recv_window) as u32);
            self.recv_window = CONN_WINDOW;
        }
        if data.is_empty() && !end {
            self.calm(ctx.now)?;
        }
        let max = ctx.state.config.max_message + msg::PREFIX_LEN;
        let Some(s) = self.streams.get_mut(&id) else {
            // A stream we closed or reset: its data is dropped.
            frame::rst_stream(&mut self.out, id, ErrorCode::StreamClosed);
            return Ok(());
        };
        if !matches!(s.phase, Phase::Receiving | Phase::Streaming(Some(_), _)) {
            self.reset(id, ErrorCode::StreamClosed, ctx);
            return Ok(());
        }
        if flow_len as i64 > s.recv_window {
            self.reset(id, ErrorCode::FlowControl, ctx);
            return Ok(());
        }
        s.recv_window -= flow_len as i64;
        if s.body.len() + data.len() > max {
            let status = Status::new(Code::ResourceExhausted, format!("request larger than {max} bytes"));
            self.finish(id, Err(status), ctx);
            frame::rst_stream(&mut self.out, id, ErrorCode::NoError);
            return Ok(());
        }
        s.body.extend_from_slice(data);
        if !end && s.recv_window < STREAM_WINDOW / 2 {
            let grant = (STREAM_WINDOW - s.recv_window) as u32;
            s.recv_window = STREAM_WINDOW;
            frame::window_update(&mut self.out, id, grant);
        }
        if let Phase::Streaming(Some(tx), _) = &s.phase {
            if let Err(status) = forward(&mut s.body, tx, max) {
                self.finish(id, Err(status), ctx);
                frame::rst_stream(&mut self.out, id, ErrorCode::NoError);
                return Ok(());
            }
            if end {
                if let Phase::Streaming(tx, _) = &mut s.phase {
                    *tx = None;
                }
            }
        } else if end {
            self.dispatch(id, ctx);
        }
        Ok(())
    }

    fn on_header_block(&mut self, id: u32, end: bool, block: &[u8], ctx: &Ctx<'_>) -> Result<(), H2Error> {
        let list = self.decoder.decode(block)?;
        if let Some(s) = self.streams.get_mut(&id) {
            // Trailers from the client: they must end the stream.
            if !end || !matches!(s.phase, Phase::Receiving | Phase::Streaming(Some(_), _)) {
                self.reset(id, ErrorCode::Protocol, ctx);
                return Ok(());
            }
            if let Phase::Streaming(tx, _) = &mut s.phase {
                *tx = None;
            } else {
                self.dispatch(id, ctx);
            }
            return Ok(());
        }
        if id.is_multiple_of(2) {
            return Err(proto_err("a client opened an even-numbered stream"));
        }
        if id <= self.last_stream {
            return Err(H2Error { code: ErrorCode::StreamClosed, stream: None, reason: "stream id went backwards" });
        }
        self.last_stream = id;
        if self.goaway_sent || self.streams.len() >= MAX_STREAMS {
            frame::rst_stream(&mut self.out, id, ErrorCode::RefusedStream);
            return self.calm(ctx.now);
        }
        self.open(id, end, &list, ctx);
        Ok(())
    }

    fn open(&mut self, id: u32, end: bool, list: &HeaderList, ctx: &Ctx<'_>) {
        let head = match grpc::request_head(list) {
            Ok(h) => h,
            Err(Refusal::Http(status)) => {
                frame::headers(&mut self.out, id, &grpc::http_status(status), true, self.peer.max_frame);
                if !end {
                    frame::rst_stream(&mut self.out, id, ErrorCode::NoError);
                }
                return;
            }
            Err(Refusal::Grpc(status)) => {
                let block = grpc::trailers(&Err(status), &[], true);
                frame::headers(&mut self.out, id, &block, true, self.peer.max_frame);
                if !end {
                    frame::rst_stream(&mut self.out, id, ErrorCode::NoError);
                }
                return;
            }
        };
        let deadline = head.timeout.and_then(|t| ctx.now.checked_add(t));
        let streaming = streaming::is_streaming(ctx.state, &head.path);
        self.streams.insert(
            id,
            Stream {
                phase: Phase::Receiving,
                head: Some(head),
                body: Vec::new(),
                recv_window: STREAM_WINDOW,
                send_window: self.peer.initial_window,
                pending: Vec::new(),
                sent: 0,
                trailers: None,
                headers_sent: false,
                deadline,
                cancelled: Arc::new(AtomicBool::new(false)),
            },
        );
        if streaming {
            self.start_streaming(id, end, ctx);
        } else if end {
            self.dispatch(id, ctx);
        }
    }

    fn start_streaming(&mut self, id: u32, end: bool, ctx: &Ctx<'_>) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        let Some(head) = s.head.take() else { return };
        let call = s.call(head, Vec::new(), ctx);
        match streaming::start(ctx.state, ctx.shared, id, call) {
            Ok(h) => s.phase = Phase::Streaming((!end).then_some(h.messages), h.in_transit),
            Err(status) => self.finish(id, Err(status), ctx),
        }
    }

    /// The request stream has ended: start the call.
    fn dispatch(&mut self, id: u32, ctx: &Ctx<'_>) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        let Some(head) = s.head.take() else { return };
        let payload = match one_message(&s.body) {
            Ok(p) => p.to_vec(),
            Err(status) => return self.finish(id, Err(status), ctx),
        };
        s.body = Vec::new();
        if head.path == methods::HEALTH_WATCH {
            s.phase = Phase::Watching;
            let status = super::health(ctx.state);
            self.send_message(id, status);
            return;
        }
        if head.path == methods::HEALTH_CHECK {
            return self.finish(id, Ok(super::health_payload(ctx.state)), ctx);
        }
        s.phase = Phase::Running;
        let call = s.call(head, payload, ctx);
        ctx.shared.calls.fetch_add(1, Ordering::SeqCst);
        ctx.state.in_flight.fetch_add(1, Ordering::Relaxed);
        let meta = ReplyMetadata::default();
        if let Some(result) = pool::run_inline(ctx.state, &call, &meta) {
            pool::finished(ctx.state, ctx.shared);
            let (headers, trailers) = meta.take();
            return self.answer(id, result, &headers, &trailers);
        }
        let job = Job { call, reply: ReplyTo::H2 { conn: ctx.shared.clone(), stream: id } };
        let Some(job) = super::later::offer(ctx.state, ctx.pool, job) else { return };
        if let Err(job) = ctx.pool.submit(job) {
            log::warn!(target: "rpc", "{}: {} shed: the worker queue is full", ctx.shared.peer, job.call.method);
            pool::finished(ctx.state, ctx.shared);
            self.finish(id, Err(pool::overloaded(ctx.state)), ctx);
        }
    }

    /// RST_STREAM for a stream error; the call, if any, is abandoned.
    fn reset(&mut self, id: u32, code: ErrorCode, ctx: &Ctx<'_>) {
        if let Some(s) = self.streams.remove(&id) {
            s.cancelled.store(true, Ordering::Release);
        }
        frame::rst_stream(&mut self.out, id, code);
        let _ = self.calm(ctx.now);
    }

    /// Streams whose deadline has passed get DEADLINE_EXCEEDED; their calls
    /// are abandoned.
    pub(crate) fn expire(&mut self, ctx: &Ctx<'_>) {
        let late: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.deadline.is_some_and(|d| ctx.now >= d) && !matches!(s.phase, Phase::Watching))
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            if let Some(s) = self.streams.get(&id) {
                s.cancelled.store(true, Ordering::Release);
            }
            self.finish(id, Err(Status::new(Code::DeadlineExceeded, "deadline exceeded")), ctx);
            if self.streams.remove(&id).is_some() {
                frame::rst_stream(&mut self.out, id, ErrorCode::Cancel);
            }
        }
    }

    /// The server started draining: every watcher hears NOT_SERVING.
    pub(crate) fn health_changed(&mut self, ctx: &Ctx<'_>) {
        let watchers: Vec<u32> =
            self.streams.iter().filter(|(_, s)| matches!(s.phase, Phase::Watching)).map(|(&id, _)| id).collect();
        for id in watchers {
            self.send_message(id, super::health(ctx.state));
        }
    }

    /// A graceful stop: no new streams; those open finish.
    pub(crate) fn go_away(&mut self) {
        if !self.goaway_sent {
            self.goaway_sent = true;
            frame::goaway(&mut self.out, self.last_stream, ErrorCode::NoError, "");
        }
    }

    /// The GOAWAY of a connection error.
    pub(crate) fn fail(&mut self, e: &H2Error) {
        self.goaway_sent = true;
        for s in self.streams.values() {
            s.cancelled.store(true, Ordering::Release);
        }
        frame::goaway(&mut self.out, self.last_stream, e.code, e.reason);
    }
}

/// Hands every whole message at the front of `body` to a streaming call.
fn forward(body: &mut Vec<u8>, tx: &crossbeam_channel::Sender<Vec<u8>>, max: usize) -> Result<(), Status> {
    let mut used_all = 0;
    let result = loop {
        match msg::decode(&body[used_all..], max) {
            Ok(Some((range, used))) => {
                let m = body[used_all + range.start..used_all + range.end].to_vec();
                used_all += used;
                if tx.try_send(m).is_err() {
                    break Err(Status::new(Code::ResourceExhausted, "the stream's handler is not keeping up"));
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(Status::new(Code::ResourceExhausted, e.to_string())),
        }
    };
    body.drain(..used_all);
    result
}

/// The single message of a unary request body.
fn one_message(body: &[u8]) -> Result<&[u8], Status> {
    match msg::decode(body, usize::MAX) {
        Ok(Some((range, used))) if used == body.len() => Ok(&body[range]),
        Ok(Some(_)) => Err(Status::new(Code::Unimplemented, "more than one request message for a unary method")),
        Ok(None) => Err(Status::new(Code::Internal, "the request stream ended without a whole message")),
        Err(_) => Err(Status::new(Code::Internal, "compressed message without grpc-encoding")),
    }
}

fn proto_err(reason: &'static str) -> H2Error {
    H2Error { code: ErrorCode::Protocol, stream: None, reason }
}

fn calm_err(reason: &'static str) -> H2Error {
    H2Error { code: ErrorCode::EnhanceYourCalm, stream: None, reason }
}
