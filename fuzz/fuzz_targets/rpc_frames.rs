//! Arbitrary peer bytes through the RPC frame decoder (`proto::frame`) and
//! the protobuf envelopes; the checks live in proto/tests/fuzzing, shared
//! with the corpus replay test.
#![no_main]

#[path = "../../proto/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::rpc_frames(data));
