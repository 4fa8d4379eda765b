//! Unit tests of `services::user`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn req(method: &str, path: &str) -> HttpRequest {
    HttpRequest { method: method.into(), path: path.into(), ..Default::default() }
}

#[test]
fn routes_and_methods() {
    assert_eq!(route(&req("POST", "/webserv/user")), Ok(WebRoute::SignUp));
    assert_eq!(route(&req("POST", "/webserv/user/login")), Ok(WebRoute::Login));
    assert_eq!(route(&req("POST", "/webserv/user/logout")), Ok(WebRoute::Logout));
    assert_eq!(route(&req("GET", "/webserv/user/ann.b")), Ok(WebRoute::Page("ann.b".into())));
    assert_eq!(route(&req("GET", "/webserv/user")).unwrap_err().status, 405);
    assert_eq!(route(&req("GET", "/webserv/user/login")).unwrap_err().status, 405);
    assert_eq!(route(&req("POST", "/webserv/user/ann")).unwrap_err().status, 405);
    for path in ["/webserv/user/a b", "/webserv/user/x", "/webserv/user/ann/questions", "/webserv/users"] {
        assert_eq!(route(&req("GET", path)).unwrap_err().status, 404, "{path}");
    }
}
