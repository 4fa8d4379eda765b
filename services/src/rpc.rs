//! The RPC plumbing the three services share: typed method bodies, reply size
//! limits, and calls to other services.
//!
//! [`unary`] turns `payload → Req → Result<Resp, Status> → bytes`, so each
//! method is written as a typed function and an undecodable payload is one
//! INVALID_ARGUMENT naming the expected message, never a panic.
//!
//! A reply bigger than a frame may carry would make the caller's connection
//! reader reject the frame and drop the whole multiplexed connection, failing
//! every other call on it; so an oversized reply becomes RESOURCE_EXHAUSTED
//! here, for this call alone.
//!
//! [`Dependency`] is a service we call. Every call carries the request id of
//! the call we are serving (so one user request has one JID in every log) and
//! a timeout no longer than what our own caller has left, capped; a call we
//! have no time left for is not started. A failed call becomes a `Status`: the
//! callee's own status when it answered, UNAVAILABLE or DEADLINE_EXCEEDED when
//! it could not, with the dependency named in the message and the log. When
//! no instance is known, the registry is re-read once before giving up, so a
//! process that started moments before its dependency does not fail its first
//! calls on a stale view.

use prost::Message;
use proto::{CallContext, Code, Status};
use registry_agent::{Directory, ServiceClient};
use std::time::Duration;

/// Largest reply payload we send: the frame limit less room for the envelope.
pub const MAX_REPLY: usize = proto::frame::DEFAULT_MAX_MESSAGE - 4096;

/// Longest we wait for another service, even when our caller would wait longer.
pub const DEPENDENCY_CAP: Duration = Duration::from_secs(5);

/// Decodes a request payload of type `Req`.
pub fn decode<Req: Message + Default>(payload: &[u8], type_name: &str) -> Result<Req, Status> {
    Req::decode(payload).map_err(|e| Status::invalid(format!("payload is not a valid {type_name}: {e}")))
}

/// Encodes a reply, refusing one too large for a frame.
pub fn encode<Resp: Message>(resp: &Resp) -> Result<Vec<u8>, Status> {
    let len = resp.encoded_len();
    if len > MAX_REPLY {
        log::warn!(target: "rpc", "reply of {len} bytes exceeds the {MAX_REPLY}-byte limit");
        return Err(Status::new(Code::ResourceExhausted, format!("reply of {len} bytes is too large")));
    }
    Ok(resp.encode_to_vec())
}

/// Runs a typed method body over an encoded payload.
pub fn unary<Req, Resp>(
    payload: &[u8],
    type_name: &str,
    f: impl FnOnce(Req) -> Result<Resp, Status>,
) -> Result<Vec<u8>, Status>
where
    Req: Message + Default,
    Resp: Message,
{
    let req = decode::<Req>(payload, type_name)?;
    encode(&f(req)?)
}

/// The status for a method path this service does not offer.
pub fn unimplemented(method: &str) -> Status {
    Status::new(Code::Unimplemented, format!("no method {method:?} here"))
}

/// How long a call that found no instance waits for a fresher registry view.
const REFRESH_WAIT: Duration = Duration::from_millis(300);

/// Another service we call by registry name.
#[derive(Clone)]
pub struct Dependency {
    client: ServiceClient,
    directory: Directory,
    cap: Duration,
}

impl Dependency {
    pub fn new(directory: Directory, service: &str) -> Dependency {
        Dependency { client: ServiceClient::new(directory.clone(), service), directory, cap: DEPENDENCY_CAP }
    }

    pub fn service(&self) -> &str {
        self.client.service()
    }

    /// One typed call within our caller's deadline.
    pub fn call<Req: Message, Resp: Message + Default>(
        &self,
        ctx: &CallContext<'_>,
        method: &str,
        req: &Req,
    ) -> Result<Resp, Status> {
        let timeout = ctx.remaining(self.cap);
        if timeout < Duration::from_millis(1) {
            return Err(Status::new(
                Code::DeadlineExceeded,
                format!("no time left to call the {} service", self.service()),
            ));
        }
        let mut result = self.client.unary::<Req, Resp>(method, ctx.request_id, timeout, req);
        if matches!(result, Err(proto::RpcError::NoInstance(_))) {
            // Our view may predate the dependency's registration (both just
            // started, say): re-read the registry once before giving up. The
            // call never left this process, so repeating it is safe.
            let version = self.directory.snapshot().version;
            self.directory.refresh_now();
            self.directory.wait_newer(version, ctx.remaining(REFRESH_WAIT));
            let timeout = ctx.remaining(self.cap);
            if timeout >= Duration::from_millis(1) {
                result = self.client.unary::<Req, Resp>(method, ctx.request_id, timeout, req);
            }
        }
        result.map_err(|e| {
            log::warn!(target: "rpc", "{} {method} failed: {e}", self.service());
            match e {
                proto::RpcError::Status(s) => s,
                other => Status::new(other.code(), format!("{} service: {other}", self.service())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::{Id, QuestionPage};

    #[test]
    fn unary_decodes_runs_and_encodes() {
        let out = unary(&Id { id: 7 }.encode_to_vec(), "Id", |req: Id| Ok(Id { id: req.id * 2 })).unwrap();
        assert_eq!(Id::decode(out.as_slice()).unwrap().id, 14);
        let err = unary(&[0xff, 0xff], "Id", |req: Id| Ok(req)).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument);
        assert!(err.message.starts_with("payload is not a valid Id"), "{}", err.message);
        let err = unary(&[], "Id", |_: Id| Err::<Id, _>(Status::not_found("nope"))).unwrap_err();
        assert_eq!(err, Status::not_found("nope"));
    }

    #[test]
    fn oversized_replies_are_refused_not_sent() {
        let big = proto::pb::Question { body: "x".repeat(MAX_REPLY), ..Default::default() };
        let page = QuestionPage { questions: vec![big], page: 1, has_more: false };
        assert_eq!(encode(&page).unwrap_err().code, Code::ResourceExhausted);
    }
}
