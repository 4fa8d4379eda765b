//! Arbitrary peer bytes through the HTTP/2 frame layer and HPACK
//! (`proto::h2`); the checks live in proto/tests/fuzzing so that the corpus
//! replay test runs exactly the same code on stable Rust.
#![no_main]

#[path = "../../proto/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::h2_frames(data));
