//! What each service says about itself in the registry: display name, title,
//! every RPC method with its request and response message names, and the HTTP
//! routes it answers. The balancer's `/webserv/services` catalog is built from
//! these, and its router can use the routes, so they must match what the
//! services' `Web/Handle` really serves; the tests below hold them to that.

use crate::args::ServiceKind;
use proto::methods::*;
use proto::services::{answer_service, comment_service, question_service, user_service, vote_service};
use registry_agent::{Descriptor, MethodDesc};

/// HTTP routes, as `METHOD /path` (`{id}` marks a path parameter).
pub fn routes(kind: ServiceKind) -> &'static [&'static str] {
    match kind {
        ServiceKind::Question => &[
            "POST /webserv/question",
            "GET /webserv/question",
            "GET /webserv/question/{id}",
            "POST /webserv/question/{id}/edit",
            "GET /webserv/question/{id}/revisions",
            "GET /webserv/search",
            "GET /webserv/tags",
        ],
        ServiceKind::Answer => &[
            "POST /webserv/answer",
            "POST /webserv/answer/{id}/accept",
            "POST /webserv/answer/{id}/edit",
            "GET /webserv/answer/{id}/revisions",
        ],
        ServiceKind::Comment => &["POST /webserv/comment"],
        ServiceKind::User => &[
            "POST /webserv/user",
            "POST /webserv/user/login",
            "POST /webserv/user/logout",
            "GET /webserv/user/{username}",
        ],
        ServiceKind::Vote => &["POST /webserv/vote"],
    }
}

/// The proto service whose methods a service kind serves.
pub fn proto_service(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Question => question_service::NAME,
        ServiceKind::Answer => answer_service::NAME,
        ServiceKind::Comment => comment_service::NAME,
        ServiceKind::User => user_service::NAME,
        ServiceKind::Vote => vote_service::NAME,
    }
}

/// Every method a service kind serves, as the proto declares it: its own,
/// then `Web/Handle` and the health check every service answers.
pub fn methods(kind: ServiceKind) -> impl Iterator<Item = &'static proto::methods::Method> {
    proto::methods::of_service(proto_service(kind))
        .chain([WEB_HANDLE, HEALTH_CHECK].into_iter().filter_map(proto::methods::find))
}

pub fn descriptor(kind: ServiceKind) -> Descriptor {
    let (name, title) = match kind {
        ServiceKind::Question => ("Question", "Webservice: Questioning"),
        ServiceKind::Answer => ("Answer", "Webservice: Answering"),
        ServiceKind::Comment => ("Comment", "Webservice: Commenting"),
        ServiceKind::User => ("User", "Webservice: Accounts"),
        ServiceKind::Vote => ("Vote", "Webservice: Voting"),
    };
    Descriptor {
        name: name.into(),
        title: title.into(),
        methods: methods(kind).map(MethodDesc::of).collect(),
        routes: routes(kind).iter().map(|r| r.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
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
                    ServiceKind::Question => crate::question_web::route(&req).is_ok(),
                    ServiceKind::Answer => crate::answer::route(&req).is_ok(),
                    ServiceKind::Comment => crate::comment::route(&req).is_ok(),
                    ServiceKind::User => crate::user::route(&req).is_ok(),
                    ServiceKind::Vote => crate::vote::route(&req).is_ok(),
                };
                assert!(ok, "{kind:?} does not route {r}");
            }
        }
    }
}
