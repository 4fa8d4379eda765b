//! Arbitrary header blocks through one HPACK decoding context (hand-written,
//! `proto::h2::hpack`); checks in proto/tests/fuzzing, shared with the corpus
//! replay test.
#![no_main]

#[path = "../../proto/tests/fuzzing/mod.rs"]
mod fuzzing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::hpack_blocks(data));
