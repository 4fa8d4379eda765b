//! Unit tests of `balancer/src/routes.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn svc(s: &str) -> Option<Target> {
    Some(Target::Service(s.into()))
}

#[test]
fn defaults_route_the_stackwire_layout() {
    let t = RouteTable::default();
    assert_eq!(t.lookup("/webserv/question").cloned(), svc("question"));
    assert_eq!(t.lookup("/webserv/question/7").cloned(), svc("question"));
    assert_eq!(t.lookup("/webserv/answer").cloned(), svc("answer"));
    assert_eq!(t.lookup("/webserv/comment/").cloned(), svc("comment"));
    assert_eq!(t.lookup("/webserv/services").cloned(), Some(Target::Catalog));
    assert_eq!(t.lookup("/status").cloned(), svc("webui"), "operators' pages are on the admin port only");
    assert_eq!(t.lookup("/webserv/user/alice").cloned(), svc("user"));
    assert_eq!(t.lookup("/webserv/vote").cloned(), svc("vote"));
    assert_eq!(t.lookup("/webserv/search").cloned(), svc("question"));
    assert_eq!(t.lookup("/webserv/tags").cloned(), svc("question"));
    assert_eq!(t.lookup("/").cloned(), svc("webui"));
    assert_eq!(t.lookup("/questions/3").cloned(), svc("webui"));
    assert_eq!(t.lookup("/webserv").cloned(), Some(Target::NotFound));
    assert_eq!(t.lookup("/webserv/nothing/here").cloned(), Some(Target::NotFound));
}

#[test]
fn prefixes_match_only_at_segment_boundaries() {
    let t = RouteTable::default();
    assert_eq!(t.lookup("/webserv/questionnaire").cloned(), Some(Target::NotFound));
    assert_eq!(t.lookup("/webserv/answers").cloned(), Some(Target::NotFound));
    assert_eq!(t.lookup("/webserv/services2").cloned(), Some(Target::NotFound));
    assert_eq!(t.lookup("/webservice").cloned(), svc("webui"));
}

#[test]
fn the_longest_prefix_wins_and_files_override() {
    let t = RouteTable::parse(
        "# comment\n\n/webserv/question/special  special # trailing\n/webserv/answer answer2\n/api/ @catalog\n",
    )
    .unwrap();
    assert_eq!(t.lookup("/webserv/question/special/1").cloned(), svc("special"));
    assert_eq!(t.lookup("/webserv/question/1").cloned(), svc("question"));
    assert_eq!(t.lookup("/webserv/answer/1").cloned(), svc("answer2"));
    assert_eq!(t.lookup("/api").cloned(), Some(Target::Catalog));
    assert_eq!(t.lookup("/api/x").cloned(), Some(Target::Catalog));
    assert_eq!(t.len(), RouteTable::default().len() + 2);
    let t = RouteTable::parse("/ front\n").unwrap();
    assert_eq!(t.lookup("/anything").cloned(), svc("front"));
}

#[test]
fn bad_lines_name_their_line() {
    let e = RouteTable::parse("/ok webui\n/a b c\n").unwrap_err();
    assert!(matches!(e, RouteError::Syntax { line: 2, .. }), "{e}");
    let e = RouteTable::parse("nope webui\n").unwrap_err();
    assert!(matches!(e, RouteError::Prefix { line: 1, .. }), "{e}");
    let e = RouteTable::parse("/x Web UI\n").unwrap_err();
    assert!(matches!(e, RouteError::Syntax { .. }), "{e}");
    let e = RouteTable::parse("/x WebUI\n").unwrap_err();
    assert!(matches!(e, RouteError::Service { line: 1, .. }), "{e}");
    let e = RouteTable::load(Path::new("/nonexistent/routes")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/routes"), "{e}");
}
