//! Unit tests of `services::doors::question_web`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn req(method: &str, path: &str, query: &str) -> HttpRequest {
    HttpRequest { method: method.into(), path: path.into(), query: query.into(), ..Default::default() }
}

fn allow_of(r: &HttpResponse) -> Option<&[u8]> {
    r.headers.iter().find(|h| h.name == "Allow").map(|h| h.value.as_slice())
}

#[test]
fn routes_methods_and_ids() {
    assert_eq!(route(&req("POST", "/webserv/question", "")), Ok(WebRoute::Create));
    assert_eq!(route(&req("GET", "/webserv/question", "page=2")), Ok(WebRoute::List));
    assert_eq!(route(&req("GET", "/webserv/question/12", "")), Ok(WebRoute::Thread(12)));
    assert_eq!(route(&req("POST", "/webserv/question/12/edit", "")), Ok(WebRoute::Edit(12)));
    assert_eq!(route(&req("GET", "/webserv/question/12/revisions", "")), Ok(WebRoute::Revisions(12)));
    assert_eq!(route(&req("GET", "/webserv/search", "q=x")), Ok(WebRoute::Search));
    assert_eq!(route(&req("GET", "/webserv/tags", "")), Ok(WebRoute::Tags));
    for path in [
        "/webserv/question/abc",
        "/webserv/question/",
        "/webserv/question/1/2",
        "/webserv/question/x/edit",
        "/webserv/questions",
        "/webserv/search/x",
        "/webserv/tags/rust",
        "/x",
    ] {
        assert_eq!(route(&req("GET", path, "")).unwrap_err().status, 404, "{path}");
    }
    let r = route(&req("DELETE", "/webserv/question", "")).unwrap_err();
    assert_eq!((r.status, allow_of(&r)), (405, Some(&b"GET, POST"[..])));
    let r = route(&req("POST", "/webserv/question/3", "")).unwrap_err();
    assert_eq!((r.status, allow_of(&r)), (405, Some(&b"GET"[..])));
    let r = route(&req("GET", "/webserv/question/3/edit", "")).unwrap_err();
    assert_eq!((r.status, allow_of(&r)), (405, Some(&b"POST"[..])));
    assert_eq!(route(&req("POST", "/webserv/search", "")).unwrap_err().status, 405);
    // A bad id is 404 whatever the method: it names nothing that could allow one.
    assert_eq!(route(&req("PUT", "/webserv/question/x", "")).unwrap_err().status, 404);
}

#[test]
fn list_query_parameters() {
    let l = |q: &str| list_request(&req("GET", PREFIX, q));
    let want = |page, per_page, sort: &str, tag: &str| {
        Ok(ListQuestions { page, per_page, sort: sort.into(), tag: tag.into(), after: 0 })
    };
    assert_eq!(l(""), want(1, 20, "newest", ""));
    assert_eq!(l("page=3&sort=votes"), want(3, 20, "votes", ""));
    assert_eq!(l("page=2&per_page=5&tag=Rust&sort=unanswered"), want(2, 5, "unanswered", "rust"));
    assert_eq!(l("page=0").unwrap_err().to_string(), "page must be a whole number from 1 to 50");
    assert!(l("page=x").is_err());
    assert!(l("page=").is_err());
    assert_eq!(l("per_page=101").unwrap_err().to_string(), "per_page must be 1 to 100");
    assert_eq!(l("sort=hot").unwrap_err(), FieldError::Sort("hot".into()));
    assert!(matches!(l("tag=a%20b"), Err(FieldError::Tag(_))));
}

#[test]
fn create_and_edit_requests_name_their_fields() {
    let form = |pairs: &[(&str, &str)]| Body::Form(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    assert_eq!(create_request(&form(&[("body", "b")]), "r").unwrap_err().to_string(), "title is required");
    assert_eq!(create_request(&form(&[("title", "t")]), "r").unwrap_err().to_string(), "body is required");
    assert_eq!(
        create_request(&form(&[("title", "t"), ("body", "b")]), "r").unwrap_err().to_string(),
        "tags is required"
    );
    let c = create_request(&form(&[("title", "t"), ("body", "b"), ("tags", "x y")]), "r1").unwrap();
    assert_eq!(
        (c.title.as_str(), c.body.as_str(), c.tags.clone(), c.request_id.as_str()),
        ("t", "b", vec!["x y".to_string()], "r1")
    );

    let e = edit_request(&form(&[("body", "new")])).unwrap();
    assert_eq!((e.title.as_str(), e.body.as_str(), e.tags.len()), ("", "new", 0));
    assert_eq!(edit_request(&form(&[("title", "  ")])).unwrap_err(), FieldError::Length { field: "title", max: 200 });
    assert_eq!(edit_request(&form(&[("tags", "Rust go")])).unwrap().tags, vec!["rust".to_string(), "go".to_string()]);
}

#[test]
fn search_parameters() {
    assert_eq!(search_request(&req("GET", SEARCH, "")).unwrap_err(), FieldError::Missing("q"));
    let s = search_request(&req("GET", SEARCH, "q=%5Brust%5D+borrow&page=2")).unwrap();
    assert_eq!((s.q.as_str(), s.page, s.per_page), ("[rust] borrow", 2, 20));
}
