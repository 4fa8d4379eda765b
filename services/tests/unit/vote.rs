//! Unit tests of `services::vote`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn voting_again_takes_back_and_the_other_way_flips() {
    assert_eq!(next_vote(None, 1), (Some(1), 1));
    assert_eq!(next_vote(Some(1), 1), (None, -1));
    assert_eq!(next_vote(Some(1), -1), (Some(-1), -2));
    assert_eq!(next_vote(Some(-1), -1), (None, 1));
    assert_eq!(next_vote(Some(-1), 1), (Some(1), 2));
}

#[test]
fn cast_requests_name_their_fields() {
    let form = |pairs: &[(&str, &str)]| Body::Form(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    let c = cast_request(&form(&[("target", "answer"), ("id", "4"), ("direction", "down")])).unwrap();
    assert_eq!((c.target.as_str(), c.id, c.direction.as_str()), ("answer", 4, "down"));
    assert_eq!(cast_request(&form(&[("id", "4")])).unwrap_err(), FieldError::Missing("target"));
    assert_eq!(cast_request(&form(&[("target", "comment")])).unwrap_err(), FieldError::Target);
    assert_eq!(
        cast_request(&form(&[("target", "answer"), ("id", "4"), ("direction", "x")])).unwrap_err(),
        FieldError::Direction
    );
    let r = route(&HttpRequest { method: "GET".into(), path: PREFIX.into(), ..Default::default() }).unwrap_err();
    assert_eq!(r.status, 405);
}
