//! `grpc_test_server --listen ADDR`: gRPC's interop test service
//! (`grpc.testing.TestService`, tests/proto/grpc/testing) on stackwire's RPC
//! server, for clients nobody here wrote to drive over h2c
//! (tests/grpc/interop_client.py runs grpcio's side of the interop cases).
//! Behaviour per grpc/grpc doc/interop-test-descriptions.md: payloads of
//! zeros of the sizes asked for, `response_status` echoed as the call's
//! status, `x-grpc-test-echo-initial` echoed in the headers and
//! `x-grpc-test-echo-trailing-bin` in the trailers.

use prost::Message;
use proto::{CallContext, Code, Handler, ServerConfig, Status};
use std::sync::Arc;

mod pb {
    include!(concat!(env!("OUT_DIR"), "/grpc.testing.rs"));
}

const PREFIX: &str = "/grpc.testing.TestService/";

struct TestService;

fn payload(size: i32) -> Option<pb::Payload> {
    Some(pb::Payload { r#type: 0, body: vec![0; size.max(0) as usize] })
}

fn decode<M: Message + Default>(b: &[u8]) -> Result<M, Status> {
    M::decode(b).map_err(|e| Status::invalid(e.to_string()))
}

/// The status a request asks for (`response_status`), if any.
fn asked(s: &Option<pb::EchoStatus>) -> Result<(), Status> {
    match s {
        Some(s) if s.code != 0 => Err(Status::new(Code::from_u32(s.code as u32), s.message.clone())),
        _ => Ok(()),
    }
}

fn echo_metadata(ctx: &CallContext<'_>) {
    for (name, value) in ctx.metadata {
        match name.as_str() {
            "x-grpc-test-echo-initial" => ctx.add_header(name, value.clone()),
            "x-grpc-test-echo-trailing-bin" => ctx.add_trailer(name, value.clone()),
            _ => {}
        }
    }
}

impl Handler for TestService {
    fn handle(&self, ctx: &CallContext<'_>, body: &[u8]) -> Result<Vec<u8>, Status> {
        echo_metadata(ctx);
        match ctx.method.strip_prefix(PREFIX) {
            Some("EmptyCall") => Ok(decode::<pb::Empty>(body)?.encode_to_vec()),
            Some("UnaryCall") => {
                let req: pb::SimpleRequest = decode(body)?;
                asked(&req.response_status)?;
                Ok(pb::SimpleResponse { payload: payload(req.response_size), ..Default::default() }.encode_to_vec())
            }
            _ => Err(Status::new(Code::Unimplemented, format!("{} is not implemented", ctx.method))),
        }
    }

    fn is_streaming(&self, method: &str) -> bool {
        matches!(
            method.strip_prefix(PREFIX),
            Some("StreamingOutputCall" | "StreamingInputCall" | "FullDuplexCall" | "HalfDuplexCall")
        )
    }

    fn handle_stream(
        &self,
        ctx: &CallContext<'_>,
        messages: &mut dyn Iterator<Item = Vec<u8>>,
        send: &mut dyn FnMut(Vec<u8>) -> bool,
    ) -> Result<(), Status> {
        echo_metadata(ctx);
        let mut respond = |req: &pb::StreamingOutputCallRequest| -> Result<(), Status> {
            for p in &req.response_parameters {
                if p.interval_us > 0 {
                    std::thread::sleep(std::time::Duration::from_micros(p.interval_us as u64));
                }
                let out = pb::StreamingOutputCallResponse { payload: payload(p.size) };
                if !send(out.encode_to_vec()) {
                    return Err(Status::new(Code::Cancelled, "the client went away"));
                }
            }
            asked(&req.response_status)
        };
        match ctx.method.strip_prefix(PREFIX) {
            Some("StreamingInputCall") => {
                let mut total = 0usize;
                for m in messages {
                    let req: pb::StreamingInputCallRequest = decode(&m)?;
                    total += req.payload.map_or(0, |p| p.body.len());
                }
                let r = pb::StreamingInputCallResponse { aggregated_payload_size: total as i32 };
                send(r.encode_to_vec());
                Ok(())
            }
            Some("StreamingOutputCall") | Some("FullDuplexCall") => {
                for m in messages {
                    respond(&decode(&m)?)?;
                }
                Ok(())
            }
            Some("HalfDuplexCall") => {
                let all: Vec<Vec<u8>> = messages.collect();
                for m in all {
                    respond(&decode(&m)?)?;
                }
                Ok(())
            }
            _ => Err(Status::new(Code::Unimplemented, ctx.method.to_string())),
        }
    }
}

fn main() {
    proto::logger::init();
    let args: Vec<String> = std::env::args().collect();
    let listen = args.iter().position(|a| a == "--listen").and_then(|i| args.get(i + 1)).cloned();
    let listen = listen.unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = match std::net::TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("grpc_test_server: cannot listen on {listen}: {e}");
            std::process::exit(2)
        }
    };
    let server = proto::rpc_server::serve(listener, Arc::new(TestService), ServerConfig::new("Interop::Worker"))
        .unwrap_or_else(|e| {
            eprintln!("grpc_test_server: {e}");
            std::process::exit(1)
        });
    println!("listening on {}", server.local_addr());
    loop {
        std::thread::park();
    }
}
