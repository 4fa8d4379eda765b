//! Issue 10, acceptance 2: random bytes through the decoders every request
//! meets at the edge of a service (the form and query decoder, the JSON body
//! reader, the page-number rule): never a panic, never a 5xx, and nothing a
//! decoder lets through holds a NUL.

use proptest::prelude::*;
use proto::http::{decode_form, page_param, FormError};
use proto::pb::{Header, HttpRequest};
use services::web::{self, Body};

fn request(content_type: &str, query: &[u8], body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/webserv/question".into(),
        query: String::from_utf8_lossy(query).into_owned(),
        headers: vec![Header { name: "Content-Type".into(), value: content_type.as_bytes().to_vec() }],
        body: body.to_vec(),
        ..Default::default()
    }
}

/// Bytes that look like forms often: separators and escapes over-represented.
fn formish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => Just(b'%'),
        2 => Just(b'&'),
        2 => Just(b'='),
        1 => Just(b'+'),
        2 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
    ];
    prop::collection::vec(byte, 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_form_decoder_never_panics_and_never_lets_a_nul_through(bytes in formish()) {
        match decode_form(&bytes) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    prop_assert!(!k.contains('\0') && !v.contains('\0'));
                }
            }
            Err(e) => prop_assert!(matches!(e, FormError::InvalidUtf8(_) | FormError::Nul(_))),
        }
    }

    #[test]
    fn bodies_and_queries_are_read_or_refused_with_a_4xx(
        body in formish(),
        query in formish(),
        json in any::<bool>(),
    ) {
        let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
        let req = request(ct, &query, &body);
        if let Err(resp) = web::check_query(&req) {
            prop_assert_eq!(resp.status, 400);
        }
        match Body::read(&req) {
            Ok(b) => {
                for field in ["title", "body", "tags", "question_id"] {
                    let _ = b.text(field);
                    let _ = b.id(field);
                    let _ = b.tags(field);
                }
            }
            Err(e) => prop_assert!((400..500).contains(&e.response().status)),
        }
    }

    #[test]
    fn page_numbers_follow_one_rule(raw in prop::option::of("[0-9a-z%+-]{0,12}")) {
        match page_param("page", raw.as_deref()) {
            Ok(n) => prop_assert!((1..=proto::http::MAX_PAGE).contains(&n)),
            Err(e) => prop_assert!(e.to_string().starts_with("page must be a whole number")),
        }
    }
}
