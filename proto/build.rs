//! Generates the Rust types for proto/stackwire.proto with prost-build.
//! protoc comes from Debian's `protobuf-compiler` (scripts/start_all.sh installs it).
fn main() {
    println!("cargo:rerun-if-changed=proto/stackwire.proto");
    prost_build::compile_protos(&["proto/stackwire.proto"], &["proto/"])
        .expect("protoc failed on proto/stackwire.proto; is protobuf-compiler installed?");
}
