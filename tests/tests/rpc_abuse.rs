//! Acceptance 6: garbage, an oversized length prefix and a truncated frame sent
//! to a real service's RPC port. That connection gets an error or is closed;
//! the service keeps answering everyone else.

use prost::Message;
use proto::pb::{Id, Question, Request};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use testkit::{Cluster, Shape};

/// Reads what the service sends before closing; true if it closed within 15 s.
fn closes(mut s: TcpStream) -> (bool, Vec<u8>) {
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut out = Vec::new();
    let closed = s.read_to_end(&mut out).is_ok();
    (closed, out)
}

#[test]
fn abusive_peers_are_cut_off_and_the_service_keeps_serving() {
    let c =
        Cluster::start("rpc-abuse", Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() });
    let q = c.procs_named("question")[0].addr;
    let asker = c.http_as(&c.signup_and_login("abuser"));
    let qid = asker.post_form("/webserv/question", &[("title", "t"), ("body", "b"), ("tags", "rpc")]).json()["id"]
        .as_i64()
        .unwrap();

    // A well-behaved connection open through all of it.
    let good = proto::Connection::connect(q, Duration::from_secs(1), 1 << 20).unwrap();
    let ask = |conn: &proto::Connection| -> Question {
        conn.unary(proto::methods::QUESTION_GET, "abuse-test", Duration::from_secs(5), &Id { id: qid }).unwrap()
    };
    assert_eq!(ask(&good).id, qid);

    // Garbage.
    let mut s = TcpStream::connect(q).unwrap();
    s.write_all(b"\x16\x03\x01 this is not a frame at all").unwrap();
    let (closed, _) = closes(s);
    assert!(closed, "garbage connection closed");

    // A prefix claiming 2 GiB.
    let mut s = TcpStream::connect(q).unwrap();
    s.write_all(&[0, 0x7f, 0xff, 0xff, 0xff]).unwrap();
    let (closed, reply) = closes(s);
    assert!(closed, "oversized prefix closed");
    let (range, _) = proto::frame::decode(&reply, 1 << 20).unwrap().expect("an error reply");
    let resp = proto::pb::Response::decode(&reply[range]).unwrap();
    assert_eq!(proto::Code::from_u32(resp.status), proto::Code::ResourceExhausted);

    // A truncated frame: half a request, then silence.
    let mut s = TcpStream::connect(q).unwrap();
    let req = Request {
        call_id: 1,
        method: proto::methods::QUESTION_GET.into(),
        payload: Id { id: qid }.encode_to_vec(),
        ..Default::default()
    };
    let framed = proto::frame::encode_message(&req);
    s.write_all(&framed[..framed.len() - 3]).unwrap();
    let (closed, _) = closes(s);
    assert!(closed, "truncated frame closed within the frame timeout");

    // Everyone else is still served, on the old connection, a new one, and through the balancer.
    assert_eq!(ask(&good).id, qid);
    let fresh = proto::Connection::connect(q, Duration::from_secs(1), 1 << 20).unwrap();
    assert_eq!(ask(&fresh).id, qid);
    assert_eq!(c.http().get(&format!("/webserv/question/{qid}")).status, 200);
    let log = c.procs_named("question")[0].log_text();
    assert!(log.contains("WARN"), "abuse is logged:\n{log}");
}
