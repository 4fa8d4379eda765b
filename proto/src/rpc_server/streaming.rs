//! Streaming calls (client, server and bidirectional streaming over h2c):
//! each runs on a thread of its own, reading the client's messages from a
//! bounded channel the event loop fills and sending its own through the
//! loop, which owns the connection. A thread per stream is what a blocking
//! handler needs to be written as a plain loop; their number is capped
//! (`MAX_STREAMING`, past it a new stream gets RESOURCE_EXHAUSTED), and the
//! channel holds at most `QUEUE` messages (a client that outruns its handler
//! gets RESOURCE_EXHAUSTED rather than an unbounded buffer).
//!
//! gRPC server reflection is one of these, built in: each request message is
//! answered at once from the descriptor set (see `reflection`).

use super::out::Shared;
use super::pool::{self, Call};
use super::reply::{Done, Reply};
use super::{reflection, ReplyMetadata, State};
use crate::frame as msg;
use crate::methods;
use crate::status::{Code, Status};
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Streaming calls running at once, per server.
const MAX_STREAMING: usize = 128;
/// Client messages waiting for their handler, per stream.
pub(crate) const QUEUE: usize = 64;
/// Reply bytes a handler may have sent that the loop has not yet taken: past
/// it `send` says no (the client is not keeping up) and the call ends.
const MAX_IN_TRANSIT: usize = 16 << 20;

/// A streaming call as the loop holds it.
pub(crate) struct Handle {
    pub(crate) messages: Sender<Vec<u8>>,
    /// Reply bytes on their way from the handler to the loop.
    pub(crate) in_transit: Arc<AtomicUsize>,
}

/// True for the paths served as streams: reflection, and whatever the
/// handler declares.
pub(crate) fn is_streaming(state: &State, path: &str) -> bool {
    is_reflection(path) || state.handler.is_streaming(path)
}

fn is_reflection(path: &str) -> bool {
    path == methods::SERVER_REFLECTION_SERVER_REFLECTION_INFO
        || path == methods::SERVER_REFLECTION_V1ALPHA_SERVER_REFLECTION_INFO
}

/// Starts a streaming call's thread; returns where its messages go.
pub(crate) fn start(state: &Arc<State>, conn: &Arc<Shared>, stream: u32, call: Call) -> Result<Handle, Status> {
    if state.streams.fetch_add(1, Ordering::AcqRel) >= MAX_STREAMING {
        state.streams.fetch_sub(1, Ordering::AcqRel);
        return Err(Status::new(Code::ResourceExhausted, format!("{MAX_STREAMING} streaming calls already running")));
    }
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(QUEUE);
    conn.calls.fetch_add(1, Ordering::SeqCst);
    state.in_flight.fetch_add(1, Ordering::Relaxed);
    let in_transit = Arc::new(AtomicUsize::new(0));
    let (state, conn) = (state.clone(), conn.clone());
    let spawned = std::thread::Builder::new().name("rpc-stream".into()).spawn({
        let (state, conn, in_transit) = (state.clone(), conn.clone(), in_transit.clone());
        move || run(&state, &conn, stream, &call, rx, &in_transit)
    });
    if let Err(e) = spawned {
        state.streams.fetch_sub(1, Ordering::AcqRel);
        pool::finished(&state, &conn);
        return Err(Status::new(Code::ResourceExhausted, format!("cannot start a stream thread: {e}")));
    }
    Ok(Handle { messages: tx, in_transit })
}

fn run(
    state: &State,
    conn: &Arc<Shared>,
    stream: u32,
    call: &Call,
    rx: crossbeam_channel::Receiver<Vec<u8>>,
    in_transit: &AtomicUsize,
) {
    let meta = ReplyMetadata::default();
    let ctx = pool::context(call, Some(&meta));
    let mut headers_sent = false;
    let mut send = |m: Vec<u8>| -> bool {
        if call.cancelled.as_ref().is_some_and(|c| c.load(Ordering::Acquire)) {
            return false;
        }
        if in_transit.load(Ordering::Acquire) > MAX_IN_TRANSIT {
            log::warn!(target: "rpc", "{}: {} ended: the client is not reading", conn.peer, call.method);
            return false;
        }
        in_transit.fetch_add(m.len() + msg::PREFIX_LEN, Ordering::AcqRel);
        let headers = if headers_sent { Vec::new() } else { meta.take_headers() };
        headers_sent = true;
        let mut framed = Vec::with_capacity(msg::PREFIX_LEN + m.len());
        msg::encode_into(&m, &mut framed);
        send_to_loop(state, conn, stream, Reply::Message { framed, headers })
    };
    let mut messages = rx.iter();
    let status = if is_reflection(&call.method) {
        for m in messages.by_ref() {
            if !send(reflection::answer(&m)) {
                break;
            }
        }
        Ok(())
    } else {
        state.handler.handle_stream(&ctx, &mut messages, &mut send)
    };
    let trailers = meta.take_trailers();
    state.streams.fetch_sub(1, Ordering::AcqRel);
    send_to_loop(state, conn, stream, Reply::End { status, trailers });
}

fn send_to_loop(state: &State, conn: &Arc<Shared>, stream: u32, reply: Reply) -> bool {
    let ok = state.h2_done.send(Done { conn: conn.clone(), stream, reply }).is_ok();
    state.notice(conn.key, conn.id);
    ok
}
