//! The sending half of an HTTP/2 connection: replies that come back from
//! workers and streaming threads, each answered as response headers, DATA as
//! far as both flow-control windows allow, and trailers (or Trailers-Only
//! when nothing was sent), and the pump that sends what was waiting for
//! window when a WINDOW_UPDATE or a SETTINGS change arrives.

use super::{Ctx, Phase, H2, MAX_UNSENT};
use crate::frame as msg;
use crate::h2::frame;
use crate::h2::ErrorCode;
use crate::rpc_server::grpc;
use crate::rpc_server::reply::Reply;
use crate::status::{Code, Status};
use std::sync::atomic::Ordering;

impl H2 {
    /// A worker's or a streaming thread's reply arrived.
    pub(crate) fn complete(&mut self, id: u32, reply: Reply, _ctx: &Ctx<'_>) {
        let Some(s) = self.streams.get(&id) else { return };
        if let (Reply::Message { framed, .. }, Phase::Streaming(_, in_transit)) = (&reply, &s.phase) {
            in_transit.fetch_sub(framed.len(), Ordering::AcqRel);
        }
        match reply {
            Reply::Unary { result, headers, trailers } if matches!(s.phase, Phase::Running) => {
                self.answer(id, result, &headers, &trailers)
            }
            Reply::Message { .. } | Reply::End { .. }
                if matches!(s.phase, Phase::Streaming(..)) && s.pending.len() - s.sent > MAX_UNSENT =>
            {
                // The client does not read (or grant window) as fast as the
                // handler writes: the stream ends rather than the buffer growing.
                s.cancelled.store(true, Ordering::Release);
                let status = Status::new(Code::ResourceExhausted, "the client is not reading the stream");
                self.finish(id, Err(status), _ctx);
                frame::rst_stream(&mut self.out, id, ErrorCode::Cancel);
                self.streams.remove(&id);
            }
            Reply::Message { framed, headers } if matches!(s.phase, Phase::Streaming(..)) => {
                self.send_message_with(id, framed, &headers)
            }
            Reply::End { status, trailers } if matches!(s.phase, Phase::Streaming(..)) => {
                self.end(id, status, &[], &trailers)
            }
            _ => {}
        }
    }

    /// Fails a stream without metadata.
    pub(super) fn finish(&mut self, id: u32, result: Result<Vec<u8>, Status>, _ctx: &Ctx<'_>) {
        self.answer(id, result, &[], &[]);
    }

    /// Answers a unary call: one message and OK trailers, or Trailers-Only.
    pub(super) fn answer(
        &mut self,
        id: u32,
        result: Result<Vec<u8>, Status>,
        headers: &[(String, Vec<u8>)],
        trailers: &[(String, Vec<u8>)],
    ) {
        match result {
            Ok(payload) => {
                let mut m = Vec::with_capacity(msg::PREFIX_LEN + payload.len());
                msg::encode_into(&payload, &mut m);
                self.send_message_with(id, m, headers);
                self.end(id, Ok(()), headers, trailers);
            }
            Err(status) => self.end(id, Err(status), headers, trailers),
        }
    }

    /// Ends a stream with its status: trailers after what was sent, or
    /// Trailers-Only when nothing was.
    pub(super) fn end(
        &mut self,
        id: u32,
        status: Result<(), Status>,
        headers: &[(String, Vec<u8>)],
        trailers: &[(String, Vec<u8>)],
    ) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        if s.headers_sent {
            s.trailers = Some(grpc::trailers(&status, trailers, false));
            self.pump_stream(id);
        } else {
            let mut all: Vec<(String, Vec<u8>)> = headers.to_vec();
            all.extend_from_slice(trailers);
            let block = grpc::trailers(&status, &all, true);
            frame::headers(&mut self.out, id, &block, true, self.peer.max_frame);
            self.streams.remove(&id);
        }
    }

    /// Queues one length-prefixed message (and the headers first, once).
    pub(super) fn send_message(&mut self, id: u32, framed: Vec<u8>) {
        self.send_message_with(id, framed, &[]);
    }

    pub(super) fn send_message_with(&mut self, id: u32, framed: Vec<u8>, headers: &[(String, Vec<u8>)]) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        if !s.headers_sent {
            s.headers_sent = true;
            frame::headers(&mut self.out, id, &grpc::response_headers(headers), false, self.peer.max_frame);
        }
        if s.pending.is_empty() {
            s.pending = framed;
        } else {
            s.pending.extend_from_slice(&framed);
        }
        self.pump_stream(id);
    }

    /// Sends queued DATA as far as both windows allow, then any trailers.
    pub(super) fn pump(&mut self) {
        let ids: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.sent < s.pending.len() || s.trailers.is_some())
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.pump_stream(id);
        }
    }

    /// One stream's share of `pump`: what a new message or status needs.
    pub(super) fn pump_stream(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        while s.sent < s.pending.len() && s.send_window > 0 && self.send_window > 0 {
            let n = (s.pending.len() - s.sent)
                .min(self.peer.max_frame)
                .min(s.send_window as usize)
                .min(self.send_window as usize);
            frame::data_head(&mut self.out, id, n, false);
            self.out.extend_from_slice(&s.pending[s.sent..s.sent + n]);
            s.sent += n;
            s.send_window -= n as i64;
            self.send_window -= n as i64;
        }
        if s.sent == s.pending.len() {
            s.pending.clear();
            s.sent = 0;
            if let Some(t) = s.trailers.take() {
                frame::headers(&mut self.out, id, &t, true, self.peer.max_frame);
                self.streams.remove(&id);
            }
        }
    }
}
