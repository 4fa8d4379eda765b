//! `GET /webserv/services`: what is running, built from the registry.
//!
//! The catalog is how a person (or a test) sees the system: every service,
//! what it says about itself, and every live instance with its load. Nothing
//! here is configured: names, titles, methods and routes come from the
//! descriptor the first instance of each service published; the instances are
//! whatever the registry holds right now; `in_flight` is this balancer's own
//! count of requests it is waiting on at each instance.
//!
//! The four stackwire services come first in a fixed order (question 0,
//! answer 1, comment 2, webui 3) and are always listed, even with no live
//! instance, so their ids never shift; any other service follows
//! alphabetically when it has an instance.
//!
//! ```json
//! {"services":[{"id":0,"service":"question","name":"Question","title":"Webservice: Questioning",
//!   "methods":[{"name":"…","request":"…","response":"…"}],"routes":["POST /webserv/question"],
//!   "instances":[{"id":"question-4100-77","addr":"127.0.0.1:4100","pid":77,"load":0,
//!                 "in_flight":0,"last_heartbeat_ms":…,"ttl_ms":3000}]}]}
//! ```

use registry_agent::InstanceRecord;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// (registry name, display name, title) of the services listed first.
const KNOWN: [(&str, &str, &str); 4] = [
    ("question", "Question", "Webservice: Questioning"),
    ("answer", "Answer", "Webservice: Answering"),
    ("comment", "Comment", "Webservice: Commenting"),
    ("webui", "WebUI", "Web pages"),
];

/// A service to list: registry name, instances, built-in (display, title).
type Listed<'a> = (&'a str, &'a [InstanceRecord], Option<(&'a str, &'a str)>);

/// The catalog document. `known_always` lists the four stackwire services
/// even without instances (registry mode); `in_flight` maps an instance
/// address to our count.
pub fn build(
    services: &BTreeMap<String, Vec<InstanceRecord>>,
    in_flight: &dyn Fn(&str) -> usize,
    known_always: bool,
) -> Value {
    let empty = Vec::new();
    let mut order: Vec<Listed<'_>> = Vec::new();
    for (name, display, title) in KNOWN {
        let instances = services.get(name).unwrap_or(&empty);
        if known_always || !instances.is_empty() {
            order.push((name, instances.as_slice(), Some((display, title))));
        }
    }
    for (name, instances) in services {
        if !instances.is_empty() && !KNOWN.iter().any(|k| k.0 == name) {
            order.push((name, instances.as_slice(), None));
        }
    }
    let list: Vec<Value> = order
        .into_iter()
        .enumerate()
        .map(|(id, (name, instances, known))| service(id, name, instances, known, in_flight))
        .collect();
    json!({ "services": list })
}

fn service(
    id: usize,
    name: &str,
    instances: &[InstanceRecord],
    known: Option<(&str, &str)>,
    in_flight: &dyn Fn(&str) -> usize,
) -> Value {
    let (display, title, methods, routes) = match instances.first() {
        Some(first) => {
            let d = &first.descriptor;
            let methods: Vec<Value> = d
                .methods
                .iter()
                .map(|m| json!({ "name": m.name, "request": m.request, "response": m.response }))
                .collect();
            (d.name.clone(), d.title.clone(), methods, d.routes.clone())
        }
        None => {
            let (display, title) = known.unwrap_or((name, ""));
            (display.to_string(), title.to_string(), Vec::new(), Vec::new())
        }
    };
    let instances: Vec<Value> = instances
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "addr": r.addr,
                "pid": r.pid,
                "load": r.load,
                "in_flight": in_flight(&r.addr),
                "last_heartbeat_ms": r.last_heartbeat_ms,
                "ttl_ms": r.ttl_ms,
            })
        })
        .collect();
    json!({
        "id": id,
        "service": name,
        "name": display,
        "title": title,
        "methods": methods,
        "routes": routes,
        "instances": instances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_agent::{Descriptor, MethodDesc};

    fn rec(service: &str, n: u16, display: &str) -> InstanceRecord {
        InstanceRecord {
            service: service.into(),
            id: format!("{service}-{n}-1"),
            addr: format!("127.0.0.1:{n}"),
            pid: 1,
            started_at_ms: 5,
            last_heartbeat_ms: 10,
            ttl_ms: 3000,
            load: 2,
            descriptor: Descriptor {
                name: display.into(),
                title: format!("{display} title"),
                methods: vec![MethodDesc::new(proto::methods::WEB_HANDLE, "HttpRequest", "HttpResponse")],
                routes: vec![format!("GET /{service}")],
            },
        }
    }

    #[test]
    fn shape_and_order() {
        let mut s = BTreeMap::new();
        s.insert("zeta".to_string(), vec![rec("zeta", 9, "Zeta")]);
        s.insert("alpha".to_string(), vec![rec("alpha", 8, "Alpha")]);
        s.insert("empty".to_string(), vec![]);
        s.insert("webui".to_string(), vec![rec("webui", 7, "WebUI"), rec("webui", 6, "WebUI")]);
        s.insert("question".to_string(), vec![rec("question", 5, "Question")]);
        let v = build(&s, &|addr| if addr == "127.0.0.1:5" { 4 } else { 0 }, true);
        let list = v["services"].as_array().unwrap();
        let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Question", "Answer", "Comment", "WebUI", "Alpha", "Zeta"]);
        for (i, s) in list.iter().enumerate() {
            assert_eq!(s["id"], i);
        }
        let q = &list[0];
        assert_eq!(q["title"], "Question title");
        assert_eq!(q["routes"], json!(["GET /question"]));
        assert_eq!(
            q["methods"],
            json!([{"name": proto::methods::WEB_HANDLE, "request": "HttpRequest", "response": "HttpResponse"}])
        );
        assert_eq!(
            q["instances"],
            json!([{"id": "question-5-1", "addr": "127.0.0.1:5", "pid": 1, "load": 2, "in_flight": 4,
                    "last_heartbeat_ms": 10, "ttl_ms": 3000}])
        );
        let a = &list[1];
        assert_eq!((a["title"].as_str(), a["instances"].as_array().unwrap().len()), (Some("Webservice: Answering"), 0));
        assert_eq!(list[3]["instances"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn static_mode_lists_only_what_exists() {
        let mut s = BTreeMap::new();
        s.insert("upstream".to_string(), vec![rec("upstream", 1, "Upstream")]);
        let v = build(&s, &|_| 0, false);
        let list = v["services"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0]["id"].as_u64(), list[0]["service"].as_str()), (Some(0), Some("upstream")));
    }
}
