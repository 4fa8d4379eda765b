//! Unit tests of `services::descriptor`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

const ALL: [ServiceKind; 5] =
    [ServiceKind::Question, ServiceKind::Answer, ServiceKind::Comment, ServiceKind::User, ServiceKind::Vote];

#[test]
fn names_and_titles_are_the_catalogs() {
    let d = descriptor(ServiceKind::Question);
    assert_eq!((d.name.as_str(), d.title.as_str()), ("Question", "Webservice: Questioning"));
    assert_eq!(descriptor(ServiceKind::Answer).title, "Webservice: Answering");
    assert_eq!(descriptor(ServiceKind::Comment).name, "Comment");
    let d = descriptor(ServiceKind::User);
    assert_eq!((d.name.as_str(), d.title.as_str()), ("User", "Webservice: Accounts"));
    let d = descriptor(ServiceKind::Vote);
    assert_eq!((d.name.as_str(), d.title.as_str()), ("Vote", "Webservice: Voting"));
}

#[test]
fn every_service_offers_web_and_health_and_its_own_methods_only() {
    for kind in ALL {
        let d = descriptor(kind);
        let names: Vec<&str> = d.methods.iter().map(|m| m.name.as_str()).collect();
        assert!(names.contains(&WEB_HANDLE) && names.contains(&HEALTH_CHECK));
        let own = match kind {
            ServiceKind::Question => question_service::NAME,
            ServiceKind::Answer => answer_service::NAME,
            ServiceKind::Comment => comment_service::NAME,
            ServiceKind::User => user_service::NAME,
            ServiceKind::Vote => vote_service::NAME,
        };
        let own = format!("/{own}/");
        assert!(names.iter().all(|n| n.starts_with(&own) || *n == WEB_HANDLE || *n == HEALTH_CHECK));
        assert!(d.routes.iter().all(|r| r.starts_with("GET /webserv/") || r.starts_with("POST /webserv/")));
    }
}

#[test]
fn routes_are_the_ones_each_service_serves() {
    use proto::pb::HttpRequest;
    for kind in ALL {
        for r in routes(kind) {
            let (method, path) = r.split_once(' ').unwrap();
            let path = path.replace("{id}", "7").replace("{username}", "ann");
            let req = HttpRequest { method: method.into(), path, ..Default::default() };
            let ok = match kind {
                ServiceKind::Question => crate::doors::question_web::route(&req).is_ok(),
                ServiceKind::Answer => crate::answer::route(&req).is_ok(),
                ServiceKind::Comment => crate::comment::route(&req).is_ok(),
                ServiceKind::User => crate::user::route(&req).is_ok(),
                ServiceKind::Vote => crate::vote::route(&req).is_ok(),
            };
            assert!(ok, "{kind:?} does not route {r}");
        }
    }
}
