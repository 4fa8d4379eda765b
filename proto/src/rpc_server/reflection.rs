//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`, one
//! bidirectional stream per client, each request answered in order) from the
//! FileDescriptorSet proto/build.rs writes: list every service, and give the
//! file that declares a symbol or has a name, with its transitive
//! dependencies, as serialized FileDescriptorProtos. Tools (grpcurl,
//! grpcio's reflection client, Postman) can then describe and call every
//! method without a .proto file. Extensions do not exist in proto3 files:
//! those requests get NOT_FOUND.
//!
//! Only the few descriptor fields needed to find names are decoded (the
//! partial messages below, with descriptor.proto's field numbers); the files
//! are sent back as the exact bytes protoc wrote.

use crate::methods::FILE_DESCRIPTOR_SET;
use crate::pb::reflection::{
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse, ErrorResponse,
    FileDescriptorResponse, ListServiceResponse, ServerReflectionRequest, ServerReflectionResponse, ServiceResponse,
};
use crate::status::Code;
use prost::Message;
use std::sync::OnceLock;

#[derive(Clone, PartialEq, prost::Message)]
struct FileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct File {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    package: String,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    message_type: Vec<Described>,
    #[prost(message, repeated, tag = "5")]
    enum_type: Vec<Named>,
    #[prost(message, repeated, tag = "6")]
    service: Vec<Service>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Described {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, repeated, tag = "3")]
    nested_type: Vec<Described>,
    #[prost(message, repeated, tag = "4")]
    enum_type: Vec<Named>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Named {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Service {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, repeated, tag = "2")]
    method: Vec<Named>,
}

/// The descriptor set, indexed once.
struct Index {
    /// (file name, its bytes, its dependencies)
    files: Vec<(String, Vec<u8>, Vec<String>)>,
    /// Fully-qualified symbol → index into `files`.
    symbols: Vec<(String, usize)>,
    services: Vec<String>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let set = FileSet::decode(FILE_DESCRIPTOR_SET).unwrap_or_default();
        let mut idx = Index { files: Vec::new(), symbols: Vec::new(), services: Vec::new() };
        for (i, bytes) in set.file.into_iter().enumerate() {
            let Ok(f) = File::decode(bytes.as_slice()) else { continue };
            let prefix = if f.package.is_empty() { String::new() } else { format!("{}.", f.package) };
            for m in &f.message_type {
                messages(&mut idx.symbols, &prefix, m, i);
            }
            for e in &f.enum_type {
                idx.symbols.push((format!("{prefix}{}", e.name), i));
            }
            for s in &f.service {
                let full = format!("{prefix}{}", s.name);
                for m in &s.method {
                    idx.symbols.push((format!("{full}.{}", m.name), i));
                }
                idx.symbols.push((full.clone(), i));
                idx.services.push(full);
            }
            idx.files.push((f.name, bytes, f.dependency));
        }
        idx
    })
}

fn messages(out: &mut Vec<(String, usize)>, prefix: &str, m: &Described, file: usize) {
    let full = format!("{prefix}{}", m.name);
    for n in &m.nested_type {
        messages(out, &format!("{full}."), n, file);
    }
    for e in &m.enum_type {
        out.push((format!("{full}.{}", e.name), file));
    }
    out.push((full, file));
}

/// A file and everything it imports, itself first.
fn with_dependencies(idx: &Index, first: usize) -> Vec<Vec<u8>> {
    let mut order = vec![first];
    let mut i = 0;
    while i < order.len() {
        for dep in &idx.files[order[i]].2 {
            if let Some(d) = idx.files.iter().position(|f| &f.0 == dep) {
                if !order.contains(&d) {
                    order.push(d);
                }
            }
        }
        i += 1;
    }
    order.into_iter().map(|j| idx.files[j].1.clone()).collect()
}

fn not_found(what: String) -> MessageResponse {
    MessageResponse::ErrorResponse(ErrorResponse { error_code: Code::NotFound as i32, error_message: what })
}

/// Answers one reflection request.
pub(crate) fn answer(request: &[u8]) -> Vec<u8> {
    let idx = index();
    let req = ServerReflectionRequest::decode(request).unwrap_or_default();
    let response = match &req.message_request {
        Some(MessageRequest::ListServices(_)) => MessageResponse::ListServicesResponse(ListServiceResponse {
            service: idx.services.iter().map(|s| ServiceResponse { name: s.clone() }).collect(),
        }),
        Some(MessageRequest::FileByFilename(name)) => match idx.files.iter().position(|f| &f.0 == name) {
            Some(i) => file_response(idx, i),
            None => not_found(format!("no file {name:?}")),
        },
        Some(MessageRequest::FileContainingSymbol(sym)) => {
            match idx.symbols.iter().find(|(s, _)| s == sym.trim_start_matches('.')) {
                Some(&(_, i)) => file_response(idx, i),
                None => not_found(format!("no symbol {sym:?}")),
            }
        }
        Some(MessageRequest::FileContainingExtension(_)) | Some(MessageRequest::AllExtensionNumbersOfType(_)) => {
            not_found("no extensions are declared".into())
        }
        None => MessageResponse::ErrorResponse(ErrorResponse {
            error_code: Code::InvalidArgument as i32,
            error_message: "empty reflection request".into(),
        }),
    };
    ServerReflectionResponse {
        valid_host: req.host.clone(),
        original_request: Some(req),
        message_response: Some(response),
    }
    .encode_to_vec()
}

fn file_response(idx: &Index, i: usize) -> MessageResponse {
    MessageResponse::FileDescriptorResponse(FileDescriptorResponse { file_descriptor_proto: with_dependencies(idx, i) })
}
