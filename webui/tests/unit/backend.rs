//! Unit tests of `webui::backend`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::Status;

#[test]
fn rpc_failures_map_to_what_a_page_can_do() {
    let invalid = RpcError::Status(Status::invalid("title must be 1 to 200 characters"));
    assert_eq!(
        BackendError::from_rpc("question", invalid),
        BackendError::Invalid("title must be 1 to 200 characters".into())
    );
    let missing = RpcError::Status(Status::not_found("question 7"));
    assert_eq!(BackendError::from_rpc("question", missing), BackendError::NotFound("question 7".into()));
    for (code, want) in [
        (Code::Unauthenticated, BackendError::Unauthenticated("m".into())),
        (Code::PermissionDenied, BackendError::Forbidden("m".into())),
        (Code::AlreadyExists, BackendError::Conflict("m".into())),
        (Code::ResourceExhausted, BackendError::RateLimited("m".into())),
    ] {
        assert_eq!(BackendError::from_rpc("user", RpcError::Status(Status::new(code, "m"))), want);
    }
    for e in [
        RpcError::NoInstance("question".into()),
        RpcError::ConnectionLost,
        RpcError::DeadlineExceeded(Duration::from_secs(1)),
        RpcError::Status(Status::internal("db down")),
        RpcError::Status(Status::unavailable("db down")),
    ] {
        assert!(matches!(BackendError::from_rpc("question", e), BackendError::Unavailable { service: "question", .. }));
    }
}

#[test]
fn timeouts_respect_the_callers_deadline() {
    let open = Call { request_id: "r".into(), deadline: None, token: None };
    assert_eq!(open.timeout(), Some(CALL_TIMEOUT));
    let soon = Call { request_id: "r".into(), deadline: Some(Instant::now() + Duration::from_secs(3)), token: None };
    let t = soon.timeout().unwrap();
    assert!(t <= Duration::from_secs(3) && t > Duration::from_secs(2), "{t:?}");
    let past = Call { request_id: "r".into(), deadline: Some(Instant::now()), token: None };
    assert_eq!(past.timeout(), None);
}
