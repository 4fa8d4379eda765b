//! `rpc_bench serve ADDR [--pool]` | `rpc_bench call ADDR IN_FLIGHT SECS`
//!
//! stackwire's side of scripts/bench_rpc.sh: a unary echo of `/bench.Echo/Echo`
//! over the native frames. The server answers on the event loop
//! (`Handler::handle_inline`, as tonic's echo runs on its runtime's thread),
//! or with `--pool` on the worker pool the way services' blocking handlers
//! run. The client runs IN_FLIGHT threads that call in a loop over one
//! multiplexed `proto::Connection`, as services call each other. Prints
//! `calls N secs S` like the tonic anchor.

use proto::{CallContext, Connection, Handler, ServerConfig, Status};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

const METHOD: &str = "/bench.Echo/Echo";

struct Echo {
    inline: bool,
}

impl Handler for Echo {
    fn handle(&self, _ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        Ok(payload.to_vec())
    }
    fn handle_inline(&self, _ctx: &CallContext<'_>, payload: &[u8]) -> Option<Result<Vec<u8>, Status>> {
        self.inline.then(|| Ok(payload.to_vec()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = args.get(2).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let inline = !args.iter().any(|a| a == "--pool");
            let listener = TcpListener::bind(addr).expect("bind");
            let server =
                proto::rpc_server::serve(listener, Arc::new(Echo { inline }), ServerConfig::new("Bench::Worker"))
                    .expect("serve");
            println!("listening on {}", server.local_addr());
            loop {
                std::thread::park();
            }
        }
        Some("call") => {
            let in_flight: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
            let secs: f64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
            let conn =
                Connection::connect(addr, Duration::from_secs(2), proto::frame::DEFAULT_MAX_MESSAGE).expect("connect");
            // The same 22 bytes tonic sends: `Msg { data: 20 × 'x' }`.
            let mut payload = vec![0x0a, 20];
            payload.extend_from_slice(&[b'x'; 20]);
            let began = Instant::now();
            let end = began + Duration::from_secs_f64(secs);
            let threads: Vec<_> = (0..in_flight)
                .map(|_| {
                    let conn = conn.clone();
                    let payload = payload.clone();
                    std::thread::spawn(move || {
                        let mut n = 0u64;
                        while Instant::now() < end {
                            let r = conn.call(METHOD, "", Duration::from_secs(5), payload.clone()).expect("echo");
                            assert_eq!(r.payload.len(), payload.len());
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
            println!("calls {total} secs {:.3}", began.elapsed().as_secs_f64());
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: rpc_bench serve ADDR [--pool] | rpc_bench call ADDR IN_FLIGHT SECS");
    std::process::exit(2);
}
