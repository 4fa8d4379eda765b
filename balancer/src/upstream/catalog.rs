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
#[path = "../../tests/unit/upstream/catalog.rs"]
mod tests;
