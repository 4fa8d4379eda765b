//! `rpc_tonic serve ADDR` | `rpc_tonic call ADDR IN_FLIGHT SECS`
//!
//! tonic's unary echo, as scripts/bench_rpc.sh measures it: the server on
//! tokio's multi-threaded runtime; the client with IN_FLIGHT tasks sharing one
//! channel (one HTTP/2 connection), each calling in a loop for SECS seconds.
//! Prints `calls N secs S`. It can also call any gRPC server with the
//! `/bench.Echo/Echo` method, stackwire's h2c endpoint included.

use std::time::{Duration, Instant};
use tonic::{Request, Response, Status};

pub mod pb {
    tonic::include_proto!("bench");
}

struct Echo;

#[tonic::async_trait]
impl pb::echo_server::Echo for Echo {
    async fn echo(&self, req: Request<pb::Msg>) -> Result<Response<pb::Msg>, Status> {
        Ok(Response::new(req.into_inner()))
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let addr = args[2].parse().expect("ADDR");
            println!("listening on {addr}");
            tonic::transport::Server::builder()
                .add_service(pb::echo_server::EchoServer::new(Echo))
                .serve(addr)
                .await
                .expect("serve");
        }
        Some("call") => {
            let addr = format!("http://{}", args[2]);
            let in_flight: usize = args[3].parse().expect("IN_FLIGHT");
            let secs: f64 = args[4].parse().expect("SECS");
            let channel = tonic::transport::Endpoint::from_shared(addr).unwrap().connect().await.expect("connect");
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let began = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..in_flight {
                let mut client = pb::echo_client::EchoClient::new(channel.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < end {
                        let r = client.echo(pb::Msg { data: vec![b'x'; 20] }).await.expect("echo");
                        assert_eq!(r.into_inner().data.len(), 20);
                        n += 1;
                    }
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            println!("calls {total} secs {:.3}", began.elapsed().as_secs_f64());
        }
        _ => {
            eprintln!("usage: rpc_tonic serve ADDR | rpc_tonic call ADDR IN_FLIGHT SECS");
            std::process::exit(2);
        }
    }
}
