//! Arbitrary client bytes through the balancer's HTTP/1 request framing
//! (heads, Content-Length and chunked bodies, pipelining, forwarding); the
//! checks live in `balancer::fuzzing` so that the corpus replay test runs
//! exactly the same code on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    balancer::fuzzing::http1_request_stream(data);
    balancer::fuzzing::chunked_body(data);
});
