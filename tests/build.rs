//! Rust types for gRPC's interop test service (tests/proto/grpc/testing), which
//! the `grpc_test_server` binary implements for grpcio to drive.
fn main() {
    println!("cargo:rerun-if-changed=proto/grpc/testing");
    prost_build::compile_protos(&["proto/grpc/testing/test.proto"], &["proto/"])
        .expect("protoc failed on tests/proto; is protobuf-compiler installed?");
}
