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
#[path = "../tests/unit/descriptor.rs"]
mod tests;
