//! HTTP/1.x request framing on top of httparse, and response serialization.
//!
//! httparse tells us where a request head ends and what its fields are; it
//! does not decide how long the body is, whether the head is too big, or what
//! to do with contradictory framing. Those decisions are the ones request
//! smuggling exploits, so they are made here, once, in a pure function that
//! the connection state machine calls and balancer/tests/http1_rules.rs pins
//! down rule by rule (the same rules Pingora and RFC 9112 apply):
//!
//! | condition                                              | status |
//! |--------------------------------------------------------|--------|
//! | request line longer than 8 KiB                         | 414    |
//! | head longer than 16 KiB, or too many fields            | 431    |
//! | more than one Content-Length, or a malformed one       | 400    |
//! | Content-Length together with Transfer-Encoding         | 400    |
//! | Transfer-Encoding on HTTP/1.0, or last coding not chunked | 400 |
//! | a coding other than chunked before it                  | 501    |
//! | HTTP/1.1 without Host, or two Hosts                    | 400    |
//! | Content-Length (or chunked total) over 1 MiB           | 413    |
//! | anything httparse rejects                              | 400    |
//!
//! Every error closes the connection after its response: once framing is in
//! doubt, nothing after it on the wire can be trusted to be a request.
//!
//! Responses are written by one head writer (`write_head`) whatever their
//! source: our status line, the end-to-end headers, our own framing
//! (`Content-Length` when the length is known, otherwise chunked for
//! HTTP/1.1 clients and close-delimited for HTTP/1.0 ones), an explicit
//! `Connection`, and the request id.
//!
//! `request.rs` holds the rules and `parse_head`; `body.rs` and
//! `chunked.rs` read a body; `response.rs` writes responses; `forward.rs`
//! decides what crosses the balancer (hop-by-hop headers, `X-Forwarded-*`).

mod body;
mod chunked;
pub(crate) mod forward;
mod request;
mod response;

pub use body::BodyReader;
pub use chunked::ChunkedDecoder;
pub use forward::{for_each_header, http_request};
pub use request::{
    parse_head, parse_length, BodyKind, FramingError, Head, Request, MAX_BODY, MAX_HEAD, MAX_REQUEST_LINE,
};
pub use response::{
    bodiless, named_by_connection, push_chunk, push_decimal, valid_field, write_head, write_response,
    write_response_head, OutFraming, Response,
};
