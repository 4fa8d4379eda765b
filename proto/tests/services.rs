//! The typed code generated from the proto's `service` blocks
//! (`proto::services`) and the call metadata it carries (`proto::metadata`):
//! a dispatcher decodes, calls the typed method and encodes; an oversized reply is RESOURCE_EXHAUSTED; a
//! typed client and a real server agree end to end on both wires, with the
//! bearer credential passed through as metadata.

use prost::Message;
use proto::metadata;
use proto::pb::{Id, LogIn, QuestionPage, Session, SignUp, Token, User, UserPage, Username};
use proto::rpc_server::{self, ServerConfig};
use proto::services::{self, question_service, user_service};
use proto::{CallContext, CallOptions, Code, Connection, Handler, RpcError, Status, Wire};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn unary_decodes_runs_and_encodes() {
    let out = services::unary(&Id { id: 7 }.encode_to_vec(), "Id", |req: Id| Ok(Id { id: req.id * 2 })).unwrap();
    assert_eq!(Id::decode(out.as_slice()).unwrap().id, 14);
    let err = services::unary(&[0xff, 0xff], "Id", |req: Id| Ok(req)).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(err.message.starts_with("payload is not a valid Id"), "{}", err.message);
    let err = services::unary(&[], "Id", |_: Id| Err::<Id, _>(Status::not_found("nope"))).unwrap_err();
    assert_eq!(err, Status::not_found("nope"));
}

#[test]
fn oversized_replies_are_refused_not_sent() {
    let big = proto::pb::Question { body: "x".repeat(services::MAX_REPLY), ..Default::default() };
    let page = QuestionPage { questions: vec![big], page: 1, has_more: false };
    assert_eq!(services::encode(&page).unwrap_err().code, Code::ResourceExhausted);
}

/// A user service that answers `Authenticate` with the user whose name is
/// the bearer token in the call's metadata, and `Get` with the token in the
/// request; everything else NOT_FOUND.
struct Users;

impl user_service::Server for Users {
    fn create(&self, _: &CallContext<'_>, req: SignUp) -> Result<User, Status> {
        Ok(User { id: 1, username: req.username, ..Default::default() })
    }
    fn login(&self, _: &CallContext<'_>, _: LogIn) -> Result<Session, Status> {
        Err(Status::not_found("no login here"))
    }
    fn logout(&self, _: &CallContext<'_>, _: Token) -> Result<proto::pb::Empty, Status> {
        Err(Status::not_found("no logout here"))
    }
    fn authenticate(&self, ctx: &CallContext<'_>, req: Token) -> Result<User, Status> {
        let bearer = ctx.bearer_token().ok_or_else(|| Status::new(Code::Unauthenticated, "no credential"))?;
        Ok(User { id: 2, username: format!("{bearer}/{}", req.token), ..Default::default() })
    }
    fn get(&self, _: &CallContext<'_>, _: Username) -> Result<UserPage, Status> {
        Err(Status::not_found("nobody"))
    }
}

impl Handler for Users {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        user_service::serve(self, ctx, payload)
    }
}

#[test]
fn bearer_tokens_are_read_from_metadata() {
    let m = |v: &str| vec![(metadata::AUTHORIZATION.to_string(), v.as_bytes().to_vec())];
    assert_eq!(metadata::bearer_token(&[metadata::bearer("abc")]), Some("abc"));
    assert_eq!(metadata::bearer_token(&m("bearer  abc ")), Some("abc"));
    assert_eq!(metadata::bearer_token(&m("Basic abc")), None);
    assert_eq!(metadata::bearer_token(&m("Bearer ")), None);
    assert_eq!(metadata::bearer_token(&[]), None);
}

#[test]
fn metadata_the_transport_owns_or_cannot_carry_is_refused() {
    let one = |n: &str, v: &[u8]| vec![(n.to_string(), v.to_vec())];
    assert_eq!(metadata::refusal(&[metadata::bearer("t")]), None);
    assert_eq!(metadata::refusal(&one("trace-bin", &[0, 255])), None);
    assert!(metadata::refusal(&one("grpc-timeout", b"1S")).is_some());
    assert!(metadata::refusal(&one(":path", b"/x")).is_some());
    assert!(metadata::refusal(&one("x-request-id", b"r")).is_some());
    assert!(metadata::refusal(&one("Authorization", b"x")).is_some());
    assert!(metadata::refusal(&one("note", b"line\nbreak")).is_some());
}

/// A typed client over a real connection to a real server, on both wires:
/// the credential arrives as metadata, an unknown method is UNIMPLEMENTED,
/// metadata that may not be sent fails the call before it is written.
#[test]
fn typed_clients_carry_metadata_on_both_wires() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = rpc_server::serve(listener, Arc::new(Users), ServerConfig::new("Test::Worker")).unwrap();
    for wire in [Wire::Native, Wire::H2c] {
        let conn = Connection::connect_with(wire, server.local_addr(), Duration::from_secs(5), 1 << 20).unwrap();
        let users = user_service::Client::new(conn);
        let creds = [metadata::bearer("ann-token")];
        let opts = CallOptions::new("jid-1", Duration::from_secs(5)).with_metadata(&creds);
        let u = users.authenticate(&opts, &Token { token: "t".into() }).unwrap();
        assert_eq!(u.username, "ann-token/t", "{wire:?}");
        let bare = CallOptions::new("jid-2", Duration::from_secs(5));
        match users.authenticate(&bare, &Token::default()) {
            Err(RpcError::Status(s)) => assert_eq!(s.code, Code::Unauthenticated, "{wire:?}"),
            other => panic!("{wire:?}: {other:?}"),
        }
        let bad = [("grpc-status".to_string(), b"0".to_vec())];
        match users.authenticate(&bare.with_metadata(&bad), &Token::default()) {
            Err(RpcError::Status(s)) => assert_eq!(s.code, Code::InvalidArgument, "{wire:?}"),
            other => panic!("{wire:?}: {other:?}"),
        }
        let questions = question_service::Client::new(users.channel().clone());
        match questions.get(&bare, &Id { id: 1 }) {
            Err(RpcError::Status(s)) => assert_eq!(s.code, Code::Unimplemented, "{wire:?}"),
            other => panic!("{wire:?}: {other:?}"),
        }
    }
    assert_eq!(question_service::NAME, "stackwire.QuestionService");
}
