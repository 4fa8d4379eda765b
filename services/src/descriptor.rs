//! What each service says about itself in the registry: display name, title,
//! every RPC method with its request and response message names, and the HTTP
//! routes it answers. The balancer's `/webserv/services` catalog is built from
//! these, and its router can use the routes, so they must match what the
//! services' `Web/Handle` really serves; the tests below hold them to that.

use crate::args::ServiceKind;
use proto::methods::*;
use registry_agent::{Descriptor, MethodDesc};

/// HTTP routes, as `METHOD /path` (`{id}` marks a path parameter).
pub fn routes(kind: ServiceKind) -> &'static [&'static str] {
    match kind {
        ServiceKind::Question => &["POST /webserv/question", "GET /webserv/question", "GET /webserv/question/{id}"],
        ServiceKind::Answer => &["POST /webserv/answer"],
        ServiceKind::Comment => &["POST /webserv/comment"],
    }
}

/// `(method path, request message, response message)`.
pub fn methods(kind: ServiceKind) -> &'static [(&'static str, &'static str, &'static str)] {
    match kind {
        ServiceKind::Question => &[
            (QUESTION_CREATE, "CreateQuestion", "Question"),
            (QUESTION_GET, "Id", "Question"),
            (QUESTION_LIST, "ListQuestions", "QuestionPage"),
            (QUESTION_EXISTS, "Id", "Exists"),
            (QUESTION_THREAD, "Id", "Thread"),
            (WEB_HANDLE, "HttpRequest", "HttpResponse"),
            (HEALTH_CHECK, "HealthCheckRequest", "HealthCheckResponse"),
        ],
        ServiceKind::Answer => &[
            (ANSWER_CREATE, "CreateAnswer", "Answer"),
            (ANSWER_GET, "Id", "Answer"),
            (ANSWER_EXISTS, "Id", "Exists"),
            (ANSWER_LIST_FOR_QUESTION, "Id", "AnswerList"),
            (WEB_HANDLE, "HttpRequest", "HttpResponse"),
            (HEALTH_CHECK, "HealthCheckRequest", "HealthCheckResponse"),
        ],
        ServiceKind::Comment => &[
            (COMMENT_CREATE, "CreateComment", "Comment"),
            (COMMENT_LIST_FOR_ANSWERS, "Ids", "CommentList"),
            (WEB_HANDLE, "HttpRequest", "HttpResponse"),
            (HEALTH_CHECK, "HealthCheckRequest", "HealthCheckResponse"),
        ],
    }
}

pub fn descriptor(kind: ServiceKind) -> Descriptor {
    let (name, title) = match kind {
        ServiceKind::Question => ("Question", "Webservice: Questioning"),
        ServiceKind::Answer => ("Answer", "Webservice: Answering"),
        ServiceKind::Comment => ("Comment", "Webservice: Commenting"),
    };
    Descriptor {
        name: name.into(),
        title: title.into(),
        methods: methods(kind).iter().map(|(m, req, resp)| MethodDesc::new(m, req, resp)).collect(),
        routes: routes(kind).iter().map(|r| r.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_titles_are_the_catalogs() {
        let d = descriptor(ServiceKind::Question);
        assert_eq!((d.name.as_str(), d.title.as_str()), ("Question", "Webservice: Questioning"));
        assert_eq!(descriptor(ServiceKind::Answer).title, "Webservice: Answering");
        assert_eq!(descriptor(ServiceKind::Comment).name, "Comment");
    }

    #[test]
    fn every_service_offers_web_and_health_and_its_own_methods_only() {
        for kind in [ServiceKind::Question, ServiceKind::Answer, ServiceKind::Comment] {
            let d = descriptor(kind);
            let names: Vec<&str> = d.methods.iter().map(|m| m.name.as_str()).collect();
            assert!(names.contains(&WEB_HANDLE) && names.contains(&HEALTH_CHECK));
            let own = match kind {
                ServiceKind::Question => "/stackwire.QuestionService/",
                ServiceKind::Answer => "/stackwire.AnswerService/",
                ServiceKind::Comment => "/stackwire.CommentService/",
            };
            assert!(names.iter().all(|n| n.starts_with(own) || *n == WEB_HANDLE || *n == HEALTH_CHECK));
            assert!(d.routes.iter().all(|r| r.starts_with("GET /webserv/") || r.starts_with("POST /webserv/")));
        }
    }
}
