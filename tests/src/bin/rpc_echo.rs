//! `rpc_echo --listen ADDR [--service NAME]`: the smallest RPC service that
//! answers `/stackwire.Web/Handle` (with a fixed 13-byte body), registered in
//! the registry like any other. The balancer benchmark puts two of these
//! behind the balancer to measure the edge and the RPC hop without a
//! database in the way; tests use it as a controllable backend: `/poison`
//! fails the handler (RPC `INTERNAL`, the way a request whose content hits a
//! bug fails) and `/poison-http` answers an HTTP 500, so a test can send a
//! query of death and watch what outlier detection makes of it.

use proto::pb::{HttpRequest, HttpResponse};
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor, MethodDesc, RegistryConfig};
use std::sync::Arc;
use std::time::Duration;

struct Echo;

impl Handler for Echo {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        use prost::Message;
        if ctx.method != proto::methods::WEB_HANDLE {
            return Err(Status::new(proto::Code::Unimplemented, ctx.method.to_string()));
        }
        let req = HttpRequest::decode(payload).map_err(|e| Status::invalid(e.to_string()))?;
        match req.path.as_str() {
            "/poison" => return Err(Status::internal("this request's content breaks the handler")),
            "/poison-http" => return Ok(HttpResponse::json_error(500, "database error").encode_to_vec()),
            _ => {}
        }
        let body = if req.path == "/echo" { req.body } else { b"Hello, world!".to_vec() };
        Ok(HttpResponse::with_body(200, "text/plain", body).encode_to_vec())
    }
}

fn main() {
    let signals = proto::signals::block();
    proto::logger::init();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let service = arg("--service").unwrap_or_else(|| "webui".into());
    let listener = match std::net::TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rpc_echo: cannot listen on {listen}: {e}");
            std::process::exit(2)
        }
    };
    let mut config = ServerConfig::new("Echo::Worker");
    config.workers = 4;
    let server = proto::rpc_server::serve(listener, Arc::new(Echo), config).expect("serve");
    let cfg = match RegistryConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rpc_echo: {e}");
            std::process::exit(2)
        }
    };
    let descriptor = Descriptor {
        name: "Echo".into(),
        title: "Webservice: Echoing".into(),
        methods: vec![MethodDesc::new(proto::methods::WEB_HANDLE, "HttpRequest", "HttpResponse")],
        routes: vec!["GET /".into()],
    };
    let s = server.clone();
    let agent =
        match Agent::start(cfg, &service, server.local_addr(), descriptor, Arc::new(move || s.in_flight() as u64)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("rpc_echo: {e}");
                std::process::exit(1)
            }
        };
    log::info!(target: "rpc_echo", "listening on {} as {service}", server.local_addr());
    registry_agent::lifecycle::wait_for_stop(&signals, "rpc_echo");
    let mut opts = registry_agent::lifecycle::ShutdownOptions::new("rpc_echo");
    opts.max_wait = Duration::from_secs(5);
    registry_agent::lifecycle::shutdown(agent, &server, &signals, &opts);
}
