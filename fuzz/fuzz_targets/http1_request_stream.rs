//! Arbitrary client bytes through the balancer's HTTP/1 request framing
//! (heads, Content-Length and chunked bodies, pipelining, forwarding); the
//! checks live in balancer/tests/fuzzing so that the corpus replay test runs
//! exactly the same code on stable Rust.
#![no_main]

#[path = "../../balancer/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzzing::http1_request_stream(data);
    fuzzing::chunked_body(data);
});
