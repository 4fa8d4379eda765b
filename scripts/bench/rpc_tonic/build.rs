fn main() {
    tonic_build::compile_protos("proto/echo.proto").expect("protoc (Debian's protobuf-compiler) is needed");
}
