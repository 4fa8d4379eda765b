//! Every stackwire service, typed, generated from its `service` block in
//! proto/stackwire.proto by proto/build.rs. For `QuestionService`:
//!
//! - `question_service::NAME`: `"stackwire.QuestionService"`;
//! - `question_service::Server`: the trait a question server implements,
//!   one method per RPC, `fn get(&self, ctx, req: Id) -> Result<Question, Status>`;
//! - `question_service::dispatch(svc, ctx, payload)`: decodes the request of
//!   `ctx.method`, calls the method, encodes the reply; `None` for a method
//!   of another service. A process serving several services (every service
//!   also serves `Web`) tries their dispatchers in turn and ends with
//!   [`unimplemented`]; `serve` does that for a service alone;
//! - `question_service::Client<C>`: the same methods as calls, over any
//!   [`crate::rpc_client::Channel`] (a `Connection`, or registry_agent's
//!   `ServiceClient`), each with its [`crate::rpc_client::CallOptions`].
//!
//! So a method path, a request or a response type is written in the proto
//! and nowhere else: a server that misses a method, or a caller that sends
//! the wrong message, does not compile. The helpers below are what the
//! generated code calls.

use crate::frame;
use crate::status::{Code, Status};
use prost::Message;

include!(concat!(env!("OUT_DIR"), "/services.rs"));

/// Largest reply payload a typed method sends: the frame limit less room for
/// the envelope. A reply bigger than a frame may carry would make the
/// caller's connection reader reject the frame and drop the whole
/// multiplexed connection, failing every other call on it; so it becomes
/// RESOURCE_EXHAUSTED here, for this call alone.
pub const MAX_REPLY: usize = frame::DEFAULT_MAX_MESSAGE - 4096;

/// Decodes a request payload of type `Req` (`type_name` for the message).
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

/// Runs a typed method over an encoded payload: one arm of a dispatcher.
pub fn unary<Req, Resp>(
    payload: &[u8],
    type_name: &str,
    f: impl FnOnce(Req) -> Result<Resp, Status>,
) -> Result<Vec<u8>, Status>
where
    Req: Message + Default,
    Resp: Message,
{
    encode(&f(decode::<Req>(payload, type_name)?)?)
}

/// The status for a method path this server does not offer.
pub fn unimplemented(method: &str) -> Status {
    Status::new(Code::Unimplemented, format!("no method {method:?} here"))
}
