//! Arbitrary peer bytes through the RPC frame decoder (`proto::frame`) and
//! the protobuf envelopes; the checks live in `balancer::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    balancer::fuzzing::rpc_frames(data);
});
