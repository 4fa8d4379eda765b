//! `webcall ADDR METHOD PATH[?QUERY] [BODY] [CONTENT-TYPE]`: sends one HTTP
//! request to a service's `Web/Handle` over RPC, the way the balancer would,
//! and prints the status, headers and body. For poking at a running service
//! without a balancer in front of it, e.g.
//!
//! ```text
//! cargo run -p services --example webcall -- 127.0.0.1:9001 POST /webserv/question 'title=Hi&body=There'
//! cargo run -p services --example webcall -- 127.0.0.1:9001 GET '/webserv/question?page=1'
//! ```

use proto::pb::{Header, HttpRequest, HttpResponse};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: webcall ADDR METHOD PATH[?QUERY] [BODY] [CONTENT-TYPE]");
        std::process::exit(2);
    }
    let addr = match args[0].parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("webcall: {:?} is not IP:PORT: {e}", args[0]);
            std::process::exit(2);
        }
    };
    let (path, query) = args[2].split_once('?').unwrap_or((&args[2], ""));
    let jid = proto::ids::new_request_id();
    let req = HttpRequest {
        method: args[1].clone(),
        path: path.to_string(),
        query: query.to_string(),
        headers: args
            .get(4)
            .map(|ct| vec![Header { name: "Content-Type".into(), value: ct.as_bytes().to_vec() }])
            .unwrap_or_default(),
        body: args.get(3).map(|b| b.as_bytes().to_vec()).unwrap_or_default(),
        client_addr: "127.0.0.1:0".into(),
        request_id: jid.clone(),
    };
    let result = proto::Connection::connect(addr, Duration::from_secs(2), proto::frame::DEFAULT_MAX_MESSAGE)
        .and_then(|c| c.unary::<_, HttpResponse>(proto::methods::WEB_HANDLE, &jid, Duration::from_secs(10), &req));
    match result {
        Ok(resp) => {
            println!("{} {}", resp.status, proto::http::reason(resp.status as u16));
            for h in &resp.headers {
                println!("{}: {}", h.name, String::from_utf8_lossy(&h.value));
            }
            println!("\n{}", String::from_utf8_lossy(&resp.body));
        }
        Err(e) => {
            eprintln!("webcall: {e}");
            std::process::exit(1);
        }
    }
}
