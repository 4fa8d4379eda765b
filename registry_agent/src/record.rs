//! What an instance says about itself in the registry.

use serde::{Deserialize, Serialize};

/// One RPC method a service offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDesc {
    pub name: String,
    pub request: String,
    pub response: String,
}

impl MethodDesc {
    pub fn new(name: &str, request: &str, response: &str) -> MethodDesc {
        MethodDesc { name: name.into(), request: request.into(), response: response.into() }
    }

    /// A method as the proto declares it (`proto::methods::ALL`).
    pub fn of(m: &proto::methods::Method) -> MethodDesc {
        MethodDesc::new(m.path, m.request, m.response)
    }

    /// The method at `path` as the proto declares it; None for a path no
    /// proto declares.
    pub fn of_path(path: &str) -> Option<MethodDesc> {
        proto::methods::find(path).map(MethodDesc::of)
    }
}

/// A service's self-description, published with every registration; the
/// balancer's `/webserv/services` catalog is built from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Display name, e.g. `Question`.
    pub name: String,
    /// e.g. `Webservice: Questioning`.
    pub title: String,
    pub methods: Vec<MethodDesc>,
    /// HTTP routes the service answers, e.g. `POST /webserv/question`.
    pub routes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Registry service name, e.g. `question`.
    pub service: String,
    pub id: String,
    /// RPC address, `ip:port`.
    pub addr: String,
    pub pid: u32,
    pub started_at_ms: i64,
    pub last_heartbeat_ms: i64,
    pub ttl_ms: u64,
    /// Calls the instance is handling, as it last reported.
    pub load: u64,
    pub descriptor: Descriptor,
}
